/**
 * Writes a planned night to a directory:
 *
 *   DIR/raw/YYYYMMDDTHHMMSSC0<t>.fits[.fz]   raw frames (BITPIX 16, BZERO 32768), t = b, d, f, o
 *   DIR/voevent.xml                          the burst's SVOM MXT-initial notice
 *   DIR/catalog.csv                          the field's reference catalog `ra,dec,mag,band`
 *   DIR/truth.json                           what was simulated (see README.md, "Truth")
 *   DIR/manifest.json                        every file with its kind, size and sha256
 *
 * Byte-identical output for the same options (no wall-clock time is written anywhere).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFitsFile } from '../../../../lib/fits/index.ts';
import { newBuffers } from './frames.ts';
import { planNight, renderFrame, type FrameTruth, type FrameType, type NightInput, type NightOptions, type NightPlan } from './night.ts';
import { mxtIvorn, mxtVoevent } from './voevent.ts';

export type FileKind = FrameType | 'voevent' | 'catalog' | 'truth';

export interface ManifestFile {
  /** path relative to the night's directory, '/'-separated */
  path: string;
  kind: FileKind;
  bytes: number;
  sha256: string;
  /** frames only */
  dateObs?: string;
  exptime?: number;
  filter?: string;
  /** flats: usable for a master flat, else why not */
  usable?: boolean;
  note?: string;
  compressed?: boolean;
}

export interface NightManifest {
  format: 'gft-simulate-manifest';
  version: 1;
  generator: 'gft simulate night';
  seed: number;
  burstId: string;
  ivorn: string;
  t0: string;
  alert: { ra: number; dec: number; errorRadiusDeg: number };
  camera: { name: 'coatli'; width: number; height: number; datasec: string; biassec: string; gain: number; readNoise: number; saturate: number; pixelScale: number };
  counts: Record<FrameType, number> & { usableFlats: number };
  options: NightOptions;
  files: ManifestFile[];
}

export interface Progress {
  phase: FrameType | 'files';
  /** frames written so far (all types) and in total */
  done: number;
  total: number;
  name?: string;
  /** ms since simulateNight started */
  elapsedMs: number;
}

export interface SimulateNightOptions extends NightInput {
  /** output directory (created) */
  out: string;
  /** object frames as RICE-compressed `.fits.fz` */
  compress?: boolean;
  /** remove raw frames of an earlier, different night in DIR/raw (else that is an error) */
  force?: boolean;
  onProgress?: (p: Progress) => void;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Round floats to 10 significant digits in JSON: smaller files, same information. */
function jsonRound(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? Number(v.toPrecision(10)) : v;
}

export async function simulateNight(opts: SimulateNightOptions): Promise<NightManifest> {
  const t0ms = performance.now();
  const { out, compress = false, force = false, onProgress, ...input } = opts;
  const plan = planNight(input);
  const rawDir = join(out, 'raw');
  mkdirSync(rawDir, { recursive: true });
  const names = plan.frames.map((f) => fileName(f.name, f.type, compress));
  const wanted = new Set(names);
  const stale = readdirSync(rawDir).filter((n) => !wanted.has(n));
  if (stale.length) {
    if (!force) throw new Error(`simulate: ${rawDir} holds ${stale.length} file(s) of another night (e.g. ${stale[0]}); use another --out or --force`);
    for (const n of stale) rmSync(join(rawDir, n), { force: true, recursive: true });
  }

  const files: ManifestFile[] = [];
  const truths: FrameTruth[] = [];
  const buffers = newBuffers(plan.det);
  const { width, height } = plan.det.geo;
  for (let i = 0; i < plan.frames.length; i++) {
    const f = plan.frames[i];
    const r = renderFrame(plan, i, buffers);
    const rel = `raw/${names[i]}`;
    const path = join(out, rel);
    const zip = compress && f.type === 'object';
    await writeFitsFile(path, [{ kind: 'image', bitpix: 16, bzero: 32768, width, height, data: r.data, cards: r.cards }], zip ? { compress: 'rice' } : undefined);
    const bytes = readFileSync(path);
    files.push({
      path: rel,
      kind: f.type,
      bytes: bytes.length,
      sha256: sha256(bytes),
      dateObs: new Date(f.start).toISOString(),
      exptime: f.exptime,
      filter: plan.opts.filter,
      usable: f.type === 'flat' ? f.usable : undefined,
      note: f.note,
      compressed: zip || undefined,
    });
    truths.push(r.truth);
    onProgress?.({ phase: f.type, done: i + 1, total: plan.frames.length, name: names[i], elapsedMs: performance.now() - t0ms });
  }

  const ivorn = mxtIvorn(plan.burstId, plan.opts.qualityFlag);
  const voevent = mxtVoevent({ burstId: plan.burstId, t0: plan.t0, issued: plan.t0 + 70000, ra: plan.opts.ra, dec: plan.opts.dec, errorRadiusDeg: plan.opts.errorRadius, qualityFlag: plan.opts.qualityFlag, seed: plan.opts.seed });
  const catalog = catalogCsv(plan);
  const truth = JSON.stringify(truthDocument(plan, truths, ivorn), jsonRound) + '\n';
  for (const [rel, kind, text] of [['voevent.xml', 'voevent', voevent], ['catalog.csv', 'catalog', catalog], ['truth.json', 'truth', truth]] as const) {
    writeFileSync(join(out, rel), text);
    files.push({ path: rel, kind, bytes: Buffer.byteLength(text), sha256: sha256(text) });
  }
  const o = plan.opts;
  const count = (t: FrameType) => plan.frames.filter((f) => f.type === t).length;
  const manifest: NightManifest = {
    format: 'gft-simulate-manifest',
    version: 1,
    generator: 'gft simulate night',
    seed: o.seed,
    burstId: plan.burstId,
    ivorn,
    t0: new Date(plan.t0).toISOString(),
    alert: { ra: o.ra, dec: o.dec, errorRadiusDeg: o.errorRadius },
    camera: { name: 'coatli', width, height, datasec: plan.det.geo.datasec, biassec: plan.det.geo.biassec, gain: o.camera.gain, readNoise: o.camera.readNoise, saturate: o.camera.saturate, pixelScale: o.field.pixelScale },
    counts: { bias: count('bias'), dark: count('dark'), flat: count('flat'), object: count('object'), usableFlats: plan.frames.filter((f) => f.type === 'flat' && f.usable).length },
    options: o,
    files,
  };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  onProgress?.({ phase: 'files', done: plan.frames.length, total: plan.frames.length, elapsedMs: performance.now() - t0ms });
  return manifest;
}

export function fileName(name: string, type: FrameType, compress: boolean): string {
  return compress && type === 'object' ? `${name}.fz` : name;
}

/** The reference catalog: measured positions and magnitudes down to the completeness limit. */
export function catalogCsv(plan: NightPlan): string {
  const band = plan.opts.field.band;
  const rows = [...plan.field.catalog].sort((a, b) => a.mag - b.mag || a.ra - b.ra).map((c) => `${c.ra.toFixed(7)},${c.dec.toFixed(7)},${c.mag.toFixed(3)},${band}`);
  return ['ra,dec,mag,band', ...rows].join('\n') + '\n';
}

export function truthDocument(plan: NightPlan, frames: FrameTruth[], ivorn: string): unknown {
  const o = plan.opts;
  const c = o.camera;
  const cat = new Map(plan.field.catalog.map((e) => [e.id, e]));
  const lightcurve = frames.filter((f) => f.object).map((f) => ({ name: f.name, tMidSinceT0: f.object!.tMidSinceT0, magMid: f.object!.afterglow.magMid, magMean: f.object!.afterglow.magMean, electrons: f.object!.afterglow.electrons }));
  return {
    format: 'gft-simulate-truth',
    version: 1,
    generator: 'gft simulate night',
    seed: o.seed,
    burstId: plan.burstId,
    ivorn,
    t0: new Date(plan.t0).toISOString(),
    conventions: {
      pixels: '0-based raw-array coordinates (x = column, y = row, pixel centres on integers, overscan included); FITS pixel = value + 1',
      electrons: 'e- collected before noise; raw ADU = bias + e-/gain',
      fluxE: 'e-/s for a flat response of 1; calibrated frames (flat normalised to median 1) measure fluxE/gain ADU/s',
      magnitudes: 'm = zeroPoint - 2.5 log10(fluxE); zeroPointAdu = zeroPoint - 2.5 log10(gain) for ADU/s',
      wcs: 'TanWcs: crval (deg), crpix (FITS 1-based, raw frame), cd (deg/px); trueWcs = where the sky really is, headerWcs = what the header says',
    },
    camera: { name: 'coatli', width: c.width, height: c.height, datasec: plan.det.geo.datasec, biassec: plan.det.geo.biassec, gain: c.gain, readNoise: c.readNoise, biasLevel: c.biasLevel, fullWell: c.fullWell, saturate: c.saturate, darkRate: c.darkRate, hotPixels: plan.det.hotPixels.index.length, pixelScale: o.field.pixelScale, binning: c.binning, dust: plan.det.dust },
    photometry: { band: o.field.band, filter: o.filter, zeroPoint: o.zeroPoint, zeroPointAdu: o.zeroPoint - 2.5 * Math.log10(c.gain), skyMag: o.skyMag, skyElectronsPerSecondPerPixel: plan.skyRate, moffatBeta: o.moffatBeta, seeingRangeArcsec: [o.seeingMin, o.seeingMax] },
    alert: { ra: o.ra, dec: o.dec, errorRadiusDeg: o.errorRadius },
    afterglow: { ra: plan.field.afterglow.ra, dec: plan.field.afterglow.dec, offsetFromAlertArcsec: plan.field.afterglow.offsetArcsec, index: o.afterglowIndex, m0: o.afterglowMag, tRef: o.afterglowTref, inCatalog: false, lightcurve },
    pointing: { offsetArcsec: plan.field.pointing.offsetArcsec, rotationDeg: plan.field.pointing.rotationDeg, driftArcsecPerHour: plan.field.effective.pointingDrift, driftDirection: plan.field.pointing.drift, jitterArcsec: plan.field.effective.pointingJitter, effective: plan.field.effective },
    field: { radiusDeg: plan.field.fieldRadiusDeg, starDensityPerDeg2: o.field.starDensity, magRange: [o.field.magBright, o.field.magFaint], countSlope: o.field.countSlope, brightStars: o.field.brightStars, catalogLimit: o.field.catalogLimit, stars: plan.field.stars.length, catalogStars: plan.field.catalog.length },
    stars: plan.field.stars.map((s, i) => {
      const e = cat.get(s.id);
      return { id: s.id, ra: s.ra, dec: s.dec, mag: s.mag, fluxE: plan.starFlux[i], origin: s.origin, catalog: e ? { ra: e.ra, dec: e.dec, mag: e.mag } : null };
    }),
    frames: frames.map((f) => {
      if (!f.object) return f;
      const s = f.object.stars;
      return {
        ...f,
        object: {
          ...f.object,
          stars: { id: s.map((v) => v.id), x: s.map((v) => v.x), y: s.map((v) => v.y), electrons: s.map((v) => v.electrons), saturated: s.filter((v) => v.saturated).map((v) => v.id) },
        },
      };
    }),
  };
}

/** Reads a night's manifest. */
export function readManifest(dir: string): NightManifest {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p) || !statSync(p).isFile()) throw new Error(`no manifest.json in ${dir}`);
  return JSON.parse(readFileSync(p, 'utf8')) as NightManifest;
}
