/**
 * Products from the SDB: list (filter by burst), and per product its metadata, FITS primary header,
 * cut-out / stack thumbnails (PNG rendered on the server from the product's image HDUs), candidates,
 * light curves (SVG), and the FITS file itself, read from local storage with its digest verified.
 */
import type { HduInfo } from '../../lib/fits/index.ts';
import type { Deps } from '../deps.ts';
import { HttpError, sendBytes, sendHtml, type Ctx } from '../http/context.ts';
import { fmtBytes, fmtNum, fmtTime, html, qs, trusted, type SafeHtml } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { chart, type PlotSeries } from '../plot/svg.ts';
import { thumbnail } from '../plot/png.ts';
import type { LightCurvePoint, Product } from '../data/sdb.ts';
import { candidatesTable, productsTable } from './dashboard.ts';
import { live, page } from './layout.ts';

const MAX_THUMBS = 24;

/** The FITS reader, loaded on first use (the other pages do not depend on it). */
const fits = () => import('../../lib/fits/index.ts');

/** Product bytes, verified against the SDB's digest; a few kept in memory for the thumbnails. */
class ProductFiles {
  private cache = new Map<string, Buffer>();
  constructor(private readonly d: Deps) {}
  async get(p: Product): Promise<Buffer | null> {
    if (!p.storageUri) return null;
    const key = `${p.storageUri}|${p.sha256}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let ref: string | { uri: string; sha256: string; size: number; kind: string } = p.storageUri;
    if (p.sha256 && p.size !== null) ref = { uri: p.storageUri, sha256: p.sha256, size: p.size, kind: 'product' };
    try {
      if (!(await this.d.storage.has(ref))) return null;
    } catch {
      return null; // not a local-storage URI
    }
    const buf = await this.d.storage.get(ref); // throws IntegrityError on a corrupt object
    this.cache.set(key, buf);
    if (this.cache.size > 4) this.cache.delete(this.cache.keys().next().value!);
    return buf;
  }
}

function imageHdus(hdus: HduInfo[]): HduInfo[] {
  return hdus.filter((h) => (h.type === 'image' || h.type === 'compressed-image') && h.shape.length >= 2 && h.shape[0] > 1 && h.shape[1] > 1).slice(0, MAX_THUMBS);
}

export function lightCurvePlot(points: LightCurvePoint[], maxCandidates = 8): string {
  const by = new Map<string, LightCurvePoint[]>();
  for (const p of points) {
    if (!(p.tSinceT0 > 0) || !Number.isFinite(p.mag)) continue;
    const arr = by.get(p.candidateId) ?? [];
    arr.push(p);
    by.set(p.candidateId, arr);
  }
  const series: PlotSeries[] = [...by.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .slice(0, maxCandidates)
    .map(([id, pts]) => ({ label: id, points: pts.map((p) => ({ x: p.tSinceT0, y: p.mag, lo: p.mag - p.magErr, hi: p.mag + p.magErr })) }));
  return chart(series, { title: 'Light curves', unit: 'mag', xType: 'log', xLabel: 't − T0 (s)', invertY: true, mode: 'points', id: 'lightcurve', width: 720, height: 300 });
}

function headerTable(hdus: HduInfo[]): SafeHtml {
  const cards = hdus[0]?.header.cards ?? [];
  const lines = cards
    .filter((c) => c.key && c.key !== 'END')
    .slice(0, 200)
    .map((c) => `${c.key.padEnd(8)}= ${c.value === undefined ? '' : typeof c.value === 'string' ? `'${c.value}'` : String(c.value)}${c.comment ? ` / ${c.comment}` : ''}`);
  const ext = hdus.map((h) => `${h.index}: ${h.type}${h.extname ? ` ${h.extname}` : ''}${h.shape.length ? ` [${h.shape.join('×')}]` : ''}`);
  return html`<h2>HDUs</h2><p class="muted" id="hdus">${ext.join(' · ')}</p><h2>Primary header</h2><pre class="header">${lines.join('\n')}</pre>`;
}

function safeFilename(s: string): string {
  return (s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'product') + (/\.fits(\.fz)?$/i.test(s) ? '' : '.fits');
}

export function registerProducts(r: Router, d: Deps): void {
  const files = new ProductFiles(d);

  const listSection = async (burst: string) => {
    const avail = await d.sdb.available();
    if (!avail.products) return html`<p class="empty" id="sdb-missing">The SDB (database ${d.sdb.database}) has no products table yet.</p>`;
    return productsTable(await d.sdb.products({ burstId: burst || undefined, limit: 200 }));
  };

  r.get('/products', 'view', async (ctx) => {
    const burst = (ctx.url.searchParams.get('burst') ?? '').trim().slice(0, 64);
    const cands = await d.sdb.candidates({ burstId: burst || undefined, limit: 50 });
    sendHtml(ctx, 200, page(ctx, {
      title: 'Products',
      active: 'products',
      body: html`<form method="get" action="/products" class="inline card"><label>Burst id <input name="burst" value="${burst}" placeholder="sb19101601"></label><button type="submit">Filter</button>${burst ? html`<a href="/products">all bursts</a>` : ''}</form>
<div class="card"><h2>Products${burst ? html` of ${burst}` : ''}</h2>${live(`/fragment/products${qs({ burst })}`, await listSection(burst))}</div>
<div class="card"><h2>Candidates${burst ? html` of ${burst}` : ' (latest)'}</h2>${candidatesTable(cands)}</div>`,
    }));
  });
  r.get('/fragment/products', 'view', async (ctx) => sendHtml(ctx, 200, await listSection((ctx.url.searchParams.get('burst') ?? '').trim().slice(0, 64))));

  const product = async (ctx: Ctx) => {
    const p = await d.sdb.product(ctx.params.id);
    if (!p) throw new HttpError(404, `no product '${ctx.params.id}'`);
    return p;
  };

  r.get('/products/:id', 'view', async (ctx) => {
    const p = await product(ctx);
    const [cands, lcByProduct, revisions] = await Promise.all([d.sdb.candidates({ productId: p.productId, limit: 500 }), d.sdb.lightCurve({ productId: p.productId }), d.sdb.revisions(p.productId)]);
    const accepted = revisions.find((r) => r.status === 'accepted' || r.status === '');
    const lc = lcByProduct.length ? lcByProduct : await d.sdb.lightCurve({ burstId: p.burstId });
    let fileSection: SafeHtml;
    let buf: Buffer | null = null;
    let problem = '';
    try {
      buf = await files.get(p);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (buf) {
      let hdus: HduInfo[] = [];
      try {
        hdus = (await fits()).readHeaders(buf);
      } catch (e) {
        problem = `not readable as FITS: ${(e as Error).message}`;
      }
      const imgs = imageHdus(hdus);
      fileSection = html`<p><a class="button" id="download" href="/products/${encodeURIComponent(p.productId)}/download">Download FITS</a> <span class="muted">${fmtBytes(buf.length)} · sha256 ${p.sha256 || '—'}</span></p>
<p><button type="button" id="fits-check" data-url="/products/${encodeURIComponent(p.productId)}/download">Read it in this browser (fitsjs)</button> <span id="fits-check-result" class="muted"></span></p><script src="/static/fits.js" defer></script>
${problem ? html`<p class="flash error">${problem}</p>` : ''}
${imgs.length ? html`<h2>Images</h2><div class="thumbs" id="thumbs">${imgs.map((h) => html`<figure><img src="/products/${encodeURIComponent(p.productId)}/thumb/${h.index}?v=${p.sha256.slice(0, 12)}" alt="HDU ${h.index} ${h.extname ?? ''}" loading="lazy"><figcaption>${h.extname ?? `HDU ${h.index}`} ${h.shape.slice(0, 2).join('×')}</figcaption></figure>`)}</div>` : html`<p class="empty">No image HDUs (cut-outs) in this product.</p>`}
${hdus.length ? headerTable(hdus) : ''}`;
    } else {
      fileSection = html`<p class="empty" id="no-file">The product file is not in local storage${problem ? html`: ${problem}` : ''}.</p>`;
    }
    sendHtml(ctx, 200, page(ctx, {
      title: `Product ${p.productId}`,
      active: 'products',
      body: html`<div class="card"><table class="meta"><tbody>
<tr><th>burst</th><td><a href="/products${qs({ burst: p.burstId })}">${p.burstId}</a></td><th>observation</th><td>${p.obsId}</td></tr>
<tr><th>epoch</th><td>${p.epochMinutes === null ? 'final' : `T0 + ${fmtNum(p.epochMinutes, 0)} min`}</td><th>revision</th><td>${p.revision}</td></tr>
<tr><th>card</th><td>${p.card}</td><th>data model</th><td>${p.prdmVersion}</td></tr>
<tr><th>created</th><td>${fmtTime(p.createdAt)}</td><th>status</th><td>${p.status}</td></tr>
<tr><th>storage</th><td colspan="3" class="muted">${p.storageUri}</td></tr></tbody></table></div>
${revisions.length > 1 || p.status === 'rejected' ? html`<div class="card"><h2>Deliveries</h2><table class="revisions"><thead><tr><th>revision</th><th>status</th><th>reasons</th><th>created</th><th>sha256</th></tr></thead><tbody>
${revisions.map((r) => html`<tr data-revision="${r.revision}"><td>${r.revision}</td><td><span class="badge ${r.status}">${r.status}</span></td><td>${r.reasons.join('; ')}</td><td>${fmtTime(r.createdAt)}</td><td class="muted">${r.sha256.slice(0, 16)}</td></tr>`)}
</tbody></table><p class="muted">Candidates and light curves below are those of ${accepted ? `revision ${accepted.revision}, the highest accepted one` : 'no accepted revision'}; the file is the latest delivery's.</p></div>` : ''}
<div class="card">${fileSection}</div>
<div class="card"><h2>Light curves</h2>${lc.length ? trusted(lightCurvePlot(lc)) : html`<p class="empty">No light-curve points.</p>`}</div>
<div class="card"><h2>Candidates (${cands.length})</h2>${candidatesTable(cands, false)}</div>`,
    }));
  });

  r.get('/products/:id/download', 'view', async (ctx) => {
    const p = await product(ctx);
    const buf = await files.get(p);
    if (!buf) throw new HttpError(404, 'the product file is not in local storage');
    const name = safeFilename(p.productId);
    await d.audit.record(ctx.user!.username, 'product.download', p.productId, '', ctx.ip).catch(() => {});
    sendBytes(ctx, 200, 'application/fits', buf, { 'Content-Disposition': `attachment; filename="${name}"`, 'X-Content-SHA256': p.sha256 });
  });

  r.get('/products/:id/thumb/:hdu', 'view', async (ctx) => {
    const p = await product(ctx);
    const idx = Number(ctx.params.hdu);
    if (!Number.isInteger(idx) || idx < 0 || idx > 999) throw new HttpError(404, 'no such HDU');
    const buf = await files.get(p);
    if (!buf) throw new HttpError(404, 'the product file is not in local storage');
    const { readHeaders, readImage } = await fits();
    const h = imageHdus(readHeaders(buf)).find((x) => x.index === idx);
    if (!h) throw new HttpError(404, 'no such image HDU');
    const img = readImage(buf, idx);
    const t = thumbnail(img.data.subarray(0, img.width * img.height), img.width, img.height, 160);
    sendBytes(ctx, 200, 'image/png', t.png, { 'Cache-Control': 'private, max-age=3600' });
  });
}
