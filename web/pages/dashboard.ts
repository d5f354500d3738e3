/**
 * The Colibri dashboard: current burst, telescope and weather now, pipeline state per stage (from
 * stage_metrics), latest products and candidates (SDB), recent alerts (alert-manager logs and every
 * warning or error). Each section is a live fragment.
 */
import type { Deps } from '../deps.ts';
import { sendHtml } from '../http/context.ts';
import { fmtAgo, fmtNum, fmtTime, html, qs, type SafeHtml } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import type { Candidate, Product } from '../data/sdb.ts';
import type { LogRow, StageState } from '../data/pipeline.ts';
import { live, page } from './layout.ts';
import { flagNames } from '../../streams/gp1/candidateFlags.ts';
import { telescopeNow, weatherNow } from './telemetry.ts';

export function productsTable(products: Product[]): SafeHtml {
  if (!products.length) return html`<p class="empty">No products in the SDB yet.</p>`;
  return html`<table class="products"><thead><tr><th>product</th><th>burst</th><th class="num">epoch (min)</th><th class="num">rev.</th><th class="num">candidates</th><th>created</th><th>status</th></tr></thead><tbody>
${products.map((p) => html`<tr><td><a href="/products/${encodeURIComponent(p.productId)}">${p.productId}</a></td><td><a href="/products${qs({ burst: p.burstId })}">${p.burstId}</a></td>
<td class="num">${p.epochMinutes === null ? 'final' : fmtNum(p.epochMinutes, 0)}</td><td class="num">${p.revision}</td><td class="num">${p.candidates ?? '—'}</td><td>${fmtTime(p.createdAt)}</td><td>${p.status ? html`<span class="badge">${p.status}</span>` : ''}</td></tr>`)}
</tbody></table>`;
}

export function candidatesTable(cands: Candidate[], withProduct = true): SafeHtml {
  if (!cands.length) return html`<p class="empty">No candidates.</p>`;
  return html`<table class="candidates"><thead><tr><th>candidate</th>${withProduct ? html`<th>product</th>` : ''}<th class="num">RA (°)</th><th class="num">Dec (°)</th><th class="num">±″</th><th class="num">mag</th><th class="num">σ</th><th class="num">dist. (″)</th><th class="num">fading</th><th>flags</th><th class="num">score</th></tr></thead><tbody>
${cands.map((c) => html`<tr><td>${c.candidateId}</td>${withProduct ? html`<td><a href="/products/${encodeURIComponent(c.productId)}">${c.productId}</a></td>` : ''}<td class="num">${fmtNum(c.ra, 5)}</td><td class="num">${fmtNum(c.dec, 5)}</td><td class="num">${fmtNum(c.posErrArcsec, 2)}</td>
<td class="num">${fmtNum(c.mag, 2)}</td><td class="num">${fmtNum(c.magErr, 2)}</td><td class="num">${fmtNum(c.distanceArcsec, 1)}</td><td class="num">${fmtNum(c.fadingIndex, 2)}</td><td class="flags">${c.flags === null ? '—' : flagNames(c.flags).join(' ') || '—'}</td><td class="num">${fmtNum(c.score, 2)}</td></tr>`)}
</tbody></table>`;
}

const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} B`);

export function stagesTable(end: number | null, stages: StageState[]): SafeHtml {
  if (!stages.length) return html`<p class="empty">No stage metrics yet.</p>`;
  return html`<p class="muted">15 minutes to ${fmtTime(end)} (latest metrics, ${fmtAgo(end)})</p><table class="stages"><thead><tr><th>stage</th><th>status</th><th class="num">instances</th><th class="num">in</th><th class="num">out</th><th class="num">msg/s</th><th class="num">lag</th><th class="num">DLQ</th><th class="num">retries</th><th class="num">p99 ms</th><th class="num" title="bursts whose state the stage holds open">bursts held</th><th class="num">state</th><th class="num">caches</th><th class="num">RSS</th><th>last seen</th></tr></thead><tbody>
${stages.map((s) => html`<tr data-stage="${s.stage}"><td>${s.stage}</td><td><span class="badge ${s.status}">${s.status}</span></td><td class="num">${s.instances}</td><td class="num">${s.messagesIn}</td><td class="num">${s.messagesOut}</td><td class="num">${fmtNum(s.ratePerSec, 1)}</td><td class="num">${s.lag}</td><td class="num">${s.dlq}</td><td class="num">${s.retries}</td><td class="num">${fmtNum(s.p99Ms, 1)}</td><td class="num held-bursts">${s.held ? s.held.bursts : '—'}</td><td class="num">${s.held ? fmtBytes(s.held.stateBytes) : '—'}</td><td class="num">${s.held ? fmtBytes(s.held.cacheBytes) : '—'}</td><td class="num">${s.held ? fmtBytes(s.held.rssBytes) : '—'}</td><td>${fmtTime(s.lastSeen)}</td></tr>`)}
</tbody></table>`;
}

export function logsTable(rows: LogRow[]): SafeHtml {
  if (!rows.length) return html`<p class="empty">Nothing.</p>`;
  return html`<table class="logs"><thead><tr><th>time</th><th>level</th><th>stage</th><th>message</th><th>fields</th></tr></thead><tbody>
${rows.map((l) => html`<tr><td>${fmtTime(l.time)}</td><td class="level-${l.level}">${l.level}</td><td>${l.stage}</td><td>${l.message}</td><td class="muted">${l.fields && l.fields !== '{}' ? l.fields.slice(0, 300) : ''}</td></tr>`)}
</tbody></table>`;
}

async function burstSection(d: Deps): Promise<SafeHtml> {
  const b = await d.sdb.currentBurst();
  if (!b) return html`<p class="empty">No burst in the SDB yet.</p>`;
  const cands = await d.sdb.candidates({ burstId: b.burstId, limit: 1000 });
  return html`<div class="tiles"><div class="tile"><div class="k">Burst</div><div class="v" id="current-burst"><a href="/products${qs({ burst: b.burstId })}">${b.burstId}</a></div></div>
<div class="tile"><div class="k">Products</div><div class="v">${b.products}</div></div>
<div class="tile"><div class="k">Candidates (all epochs)</div><div class="v">${cands.length}</div></div>
<div class="tile"><div class="k">First product</div><div class="v">${fmtTime(b.firstProductAt)}</div></div>
<div class="tile"><div class="k">Latest product</div><div class="v">${fmtTime(b.lastProductAt)}</div></div></div>`;
}

const SECTIONS: Record<string, (d: Deps) => Promise<SafeHtml>> = {
  'dash-burst': burstSection,
  'dash-telescope': telescopeNow,
  'dash-weather': weatherNow,
  'dash-pipeline': async (d) => {
    const s = await d.pipeline.stages();
    return stagesTable(s.end, s.stages);
  },
  'dash-products': async (d) => productsTable(await d.sdb.products({ limit: 10 })),
  'dash-candidates': async (d) => candidatesTable(await d.sdb.candidates({ limit: 10 })),
  'dash-alerts': async (d) => logsTable(await d.pipeline.recentAlerts(15)),
};

export function registerDashboard(r: Router, d: Deps): void {
  r.get('/', 'view', async (ctx) => {
    const s: Record<string, SafeHtml> = {};
    await Promise.all(Object.entries(SECTIONS).map(async ([k, f]) => (s[k] = await f(d))));
    const card = (k: string, title: string) => html`<div class="card" id="${k}"><h2>${title}</h2>${live(`/fragment/${k}`, s[k])}</div>`;
    sendHtml(ctx, 200, page(ctx, {
      title: 'Colibri dashboard',
      active: 'dashboard',
      body: html`${card('dash-burst', 'Current burst')}
<div class="grid">${card('dash-telescope', 'Telescope')}${card('dash-weather', 'Weather')}</div>
${card('dash-pipeline', 'Pipeline')}
<div class="grid">${card('dash-products', 'Latest products')}${card('dash-alerts', 'Recent alerts')}</div>
${card('dash-candidates', 'Latest candidates')}`,
    }));
  });
  for (const [k, f] of Object.entries(SECTIONS)) r.get(`/fragment/${k}`, 'view', async (ctx) => sendHtml(ctx, 200, await f(d)));
}
