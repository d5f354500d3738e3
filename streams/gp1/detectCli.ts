/**
 * `npx gft gp1 detect --catalog FILE [--alert FILE] CALIBRATED.fits…` — the GP1 detection chain
 * offline: per frame the WCS fit (method, matched stars, rms), zero point, limiting magnitude and
 * sources; then the candidate lists at the epochs. JSON on stdout (or --out FILE).
 *
 * Inputs
 * - Calibrated frames: the image HDU (primary or first image extension that is not WEIGHT/MASK),
 *   optional extensions EXTNAME=WEIGHT (inverse variance) and EXTNAME=MASK (bitmask). Header:
 *   DATE-OBS, EXPTIME, optional GAIN, SATURATE, a TAN WCS, OBJCTRA/OBJCTDEC.
 * - Catalog: CSV with header `ra,dec,mag[,band]` (degrees, magnitudes); `#` lines are comments.
 * - Alert: a VOEvent XML (parsed by streams/alerts/core/parse.ts `parseVoevent`), or JSON
 *   `{t0, ra, dec, errorRadiusDeg}`. Without an alert, T0 is the earliest DATE-OBS and the whole
 *   field is searched around the first solved frame's centre (`alertAssumed: true` in the output).
 *
 * Exit codes: 0 done (frames that fail carry an `error`), 2 usage error, 1 nothing could be read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { repoRoot } from '../../lib/config/platform.ts';
import { pixToSky, wcsCards, type HeaderReader } from '../../lib/wcs/index.ts';
import { buildCandidates, frameFromHeader, processFrame, type Alert, type FrameResult, type ReferenceCatalog } from './core/detection/index.ts';
import type { MaskArray, Pixels } from './core/detection/background.ts';

export const summary = 'GP1 detection, astrometry, photometry and candidates on calibrated frames (JSON)';

const spec: CommandSpec = {
  usage: 'gft gp1 detect --catalog FILE [--alert FILE] [options] CALIBRATED.fits…',
  description: 'Detects, measures and calibrates the sources of each frame, then lists the candidates at each epoch.',
  options: {
    catalog: { type: 'string', description: 'reference catalog: CSV (header ra,dec,mag[,band]) or FITS table with those columns' },
    alert: { type: 'string', description: 'alert: VOEvent XML or JSON {t0, ra, dec, errorRadiusDeg}' },
    epochs: { type: 'string', description: 'epochs after T0, seconds, comma-separated', default: '300,600,1800,3600' },
    threshold: { type: 'number', description: 'detection threshold, σ', default: 1.5 },
    'min-area': { type: 'number', description: 'minimum area, pixels', default: 5 },
    'filter-fwhm': { type: 'number', description: 'matched filter FWHM, pixels (0: none)', default: 2.5 },
    'max-offset': { type: 'number', description: 'largest pointing error searched, arcmin', default: 10 },
    scale: { type: 'number', description: 'pixel scale hint for frames without WCS, arcsec/pixel' },
    depth: { type: 'number', description: 'catalog completeness limit, mag (default: from its histogram)' },
    'no-sources': { type: 'boolean', description: 'omit the per-frame source lists' },
    out: { type: 'string', description: 'write the JSON to this file instead of stdout' },
  },
};

export interface FitsModule {
  readImage(src: string, hdu?: number | string): Promise<FitsImage> | FitsImage;
  readHeaders?(src: string): Promise<FitsHeader[]> | FitsHeader[];
}
type FitsHeader = HeaderReader & { get?(k: string): unknown };
interface FitsImage {
  header: FitsHeader;
  width: number;
  height: number;
  data: Float32Array | Float64Array;
}

/**
 * Reads the reference catalog as the alerts stage does (CSV with a header naming ra, dec, mag[, band],
 * or a FITS table with those columns). Throws UsageError on a missing or bad file.
 */
export async function readCatalogFile(path: string): Promise<ReferenceCatalog & { band: string[] }> {
  const mod = (await import(pathToFileURL(join(repoRoot, 'streams/alerts/catalogFile.ts')).href)) as typeof import('../alerts/catalogFile.ts');
  let stars: Awaited<ReturnType<typeof mod.loadCatalog>>;
  try {
    stars = await mod.loadCatalog(path);
  } catch (e) {
    throw new UsageError(`catalog: ${(e as Error).message}`);
  }
  if (!stars.length) throw new UsageError(`catalog: ${path} holds no star with ra, dec and mag`);
  return {
    ra: Float64Array.from(stars, (x) => x.ra),
    dec: Float64Array.from(stars, (x) => x.dec),
    mag: Float64Array.from(stars, (x) => x.mag),
    band: stars.map((x) => x.band ?? ''),
  };
}

/** Reads an alert file: VOEvent XML through the alerts stage's parser, or JSON. */
export async function readAlert(path: string): Promise<Alert> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`alert: ${(e as Error).message}`);
  }
  if (text.trimStart().startsWith('{')) {
    const j = JSON.parse(text) as Partial<Alert>;
    if (typeof j.t0 !== 'string' || typeof j.ra !== 'number' || typeof j.dec !== 'number') throw new UsageError(`alert ${path}: JSON needs t0 (ISO), ra, dec`);
    return { t0: j.t0, ra: j.ra, dec: j.dec, errorRadiusDeg: typeof j.errorRadiusDeg === 'number' && j.errorRadiusDeg > 0 ? j.errorRadiusDeg : null };
  }
  const mod = (await import(pathToFileURL(join(repoRoot, 'streams/alerts/core/parse.ts')).href)) as { parseVoevent(xml: string): { t0: string | null; ra: number | null; dec: number | null; errorRadiusDeg: number | null } };
  const a = mod.parseVoevent(text);
  if (!a.t0 || a.ra === null || a.ra === undefined || a.dec === null || a.dec === undefined) throw new UsageError(`alert ${path}: the VOEvent has no T0 or no position`);
  return { t0: a.t0, ra: a.ra, dec: a.dec, errorRadiusDeg: a.errorRadiusDeg !== null && a.errorRadiusDeg > 0 ? a.errorRadiusDeg : null };
}

function extname(h: FitsHeader): string {
  return (h.getString('EXTNAME') ?? '').trim().toUpperCase();
}

/** Reads one calibrated frame: image, WEIGHT and MASK HDUs located by EXTNAME. */
export async function readCalibrated(fits: FitsModule, path: string): Promise<{ header: FitsHeader; width: number; height: number; data: Pixels; weight: Pixels | null; mask: MaskArray | null }> {
  let headers: FitsHeader[] = [];
  if (fits.readHeaders) headers = ((await fits.readHeaders(path)) as unknown as Array<{ header?: FitsHeader }>).map((x) => x.header ?? (x as unknown as FitsHeader));
  let img = -1, wgt = -1, msk = -1;
  headers.forEach((h, i) => {
    const name = extname(h);
    if (name === 'WEIGHT' || name === 'WHT' || name === 'IVAR') wgt = i;
    else if (name === 'MASK' || name === 'BPM' || name === 'FLAGS') msk = i;
    else if (img < 0 && (h.getNumber('NAXIS') ?? 0) >= 2) img = i;
  });
  const image = await fits.readImage(path, img < 0 ? undefined : img);
  const size = image.width * image.height;
  const weight = wgt >= 0 ? (await fits.readImage(path, wgt)).data : null;
  const mask = msk >= 0 ? (await fits.readImage(path, msk)).data : null;
  if (weight && weight.length !== size) throw new Error(`${path}: WEIGHT is not the size of the image`);
  if (mask && mask.length !== size) throw new Error(`${path}: MASK is not the size of the image`);
  return { header: image.header, width: image.width, height: image.height, data: image.data, weight, mask };
}

function round(v: number, d: number): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

function frameJson(file: string, r: FrameResult, withSources: boolean): Record<string, unknown> {
  const c = r.wcs ? pixToSky(r.wcs, (r.width - 1) / 2, (r.height - 1) / 2) : null;
  return {
    file,
    frameId: r.frameId,
    dateObs: r.dateObs,
    exptime: r.exptime,
    width: r.width,
    height: r.height,
    wcsFit: {
      ok: r.astrometry.ok,
      method: r.astrometry.method,
      matchedStars: r.astrometry.matched,
      rmsArcsec: round(r.astrometry.rmsArcsec, 4),
      centre: c ? { ra: round(c[0], 7), dec: round(c[1], 7) } : null,
      cards: r.wcs ? Object.fromEntries(wcsCards(r.wcs).map(([k, v]) => [k, v])) : null,
      notes: r.astrometry.notes,
    },
    zeroPoint: { zp: round(r.zeroPoint.zp, 4), zpErr: round(r.zeroPoint.zpErr, 4), scatter: round(r.zeroPoint.scatter, 4), nStars: r.zeroPoint.nStars },
    limitingMag: round(r.limitingMag, 3),
    fwhmPix: round(r.fwhm, 3),
    fwhmArcsec: round(r.fwhmArcsec, 3),
    apertureRadiusPix: round(r.apertureRadius, 3),
    background: { level: round(r.background.level, 5), rms: round(r.background.rms, 5) },
    nSources: r.sources.length,
    sources: withSources
      ? r.sources.map((s) => ({
          id: s.id,
          ra: round(s.ra, 7),
          dec: round(s.dec, 7),
          posErrArcsec: round(s.posErrArcsec, 4),
          x: round(s.x, 3),
          y: round(s.y, 3),
          xErr: round(s.xErr, 4),
          yErr: round(s.yErr, 4),
          flux: round(s.flux, 5),
          fluxErr: round(s.fluxErr, 5),
          snr: round(s.snr, 2),
          mag: round(s.mag, 4),
          magErr: round(s.magErr, 4),
          fwhm: round(s.fwhm, 3),
          npix: s.npix,
          flags: s.flags,
        }))
      : undefined,
  };
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec) + '\n\nPixel coordinates x, y are 0-based (FITS = +1). Flags: 1 saturated, 2 edge, 4 blended, 8 masked, 16 crowded, 32 centroid fallback.');
    return 0;
  }
  const catPath = a.options.catalog as string | undefined;
  if (!catPath) throw new UsageError(`--catalog is required\n\n${formatHelp(spec)}`);
  if (!a.positionals.length) throw new UsageError(`no calibrated frame given\n\n${formatHelp(spec)}`);
  const epochs = String(a.options.epochs)
    .split(',')
    .map((s) => Number(s.trim()));
  if (epochs.some((e) => !Number.isFinite(e))) throw new UsageError(`--epochs: '${a.options.epochs}' is not a list of seconds`);
  const catalog = await readCatalogFile(catPath);
  if (typeof a.options.depth === 'number') catalog.completenessMag = a.options.depth;
  const alert = a.options.alert ? await readAlert(a.options.alert as string) : null;

  const fits = (await import(pathToFileURL(join(repoRoot, 'lib/fits/index.ts')).href)) as FitsModule;
  const results: FrameResult[] = [];
  const framesOut: Record<string, unknown>[] = [];
  const withSources = a.options['no-sources'] !== true;
  for (const file of a.positionals) {
    try {
      const img = await readCalibrated(fits, file);
      const frame = frameFromHeader(img.header, img, basename(file).replace(/\.fits(\.fz)?$/i, ''));
      if (!frame.hint && alert) frame.hint = { ra: alert.ra, dec: alert.dec };
      if (frame.hint && typeof a.options.scale === 'number') frame.hint.scaleArcsec = a.options.scale;
      else if (!frame.hint && typeof a.options.scale === 'number' && alert) frame.hint = { ra: alert.ra, dec: alert.dec, scaleArcsec: a.options.scale };
      const r = processFrame(frame, catalog, {
        detection: { thresholdSigma: a.options.threshold as number, minArea: a.options['min-area'] as number, filterFwhm: a.options['filter-fwhm'] as number },
        astrometry: { maxOffsetArcmin: a.options['max-offset'] as number },
      });
      results.push(r);
      framesOut.push({ ...frameJson(file, r, withSources), wcsNotes: frame.wcsNotes });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      framesOut.push({ file, error: (err as Error).message });
      console.error(`gft gp1 detect: ${file}: ${(err as Error).message}`);
    }
  }
  if (!results.length) {
    console.error('gft gp1 detect: no frame could be processed');
    for (const f of framesOut) console.error(`  ${f.file}: ${f.error}`);
    return 1;
  }
  let effective: Alert | null = alert;
  let assumed = false;
  if (!effective) {
    const solved = results.find((r) => r.wcs);
    const first = [...results].sort((x, y) => (x.dateObs < y.dateObs ? -1 : 1))[0];
    if (solved) {
      const c = pixToSky(solved.wcs!, (solved.width - 1) / 2, (solved.height - 1) / 2);
      effective = { t0: first.dateObs, ra: c[0], dec: c[1], errorRadiusDeg: null };
      assumed = true;
    }
  }
  const candidates = effective ? buildCandidates(epochs, results, catalog, effective) : null;
  const out = { alert: effective, alertAssumed: assumed, catalog: { stars: catalog.ra.length, completenessMag: candidates?.[0]?.completenessMag ?? null }, frames: framesOut, candidates };
  const json = JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  if (a.options.out) writeFileSync(a.options.out as string, json + '\n');
  else console.log(json);
  return 0;
}
