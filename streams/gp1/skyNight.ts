/**
 * A synthetic night through GP1 exactly as an operator runs it — `gft simulate night` (the DC3
 * generator), `gft gp1 masters`, `gft gp1 calibrate`, `gft gp1 detect` — and its scores against the
 * generator's truth. Shared by the robustness matrix (detectRobustness.test.ts) and the hard-skies
 * table (`npm run bench -- gp1-skies`), so the test and the table measure the same thing.
 *
 * Scores, per night:
 * - frames solved and the worst WCS rms; the afterglow's error from the fitted WCS;
 * - per candidate list (epoch): the afterglow found (< 1.5″ from the truth), whether it had to be
 *   (≥ 2 frames up to the epoch with an expected S/N ≥ 10 in the pipeline's aperture, or the epoch's
 *   stack at S/N ≥ 10 when stacks are scored), and the other candidates inside the error circle (false);
 * - the afterglow's light curve in the last list: each detection's error against the true exposure-mean
 *   magnitude (and in units of 3σ + 0.02 mag), and the upper limits that claim it fainter than it was;
 * - completeness: true stars brighter than `completenessMag` found within 1.5 px (`sourcesFound`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { angularSeparation, pixToSky, skyToPix, type TanWcs } from '../../lib/wcs/index.ts';
import { simulateNight, type SimulateNightOptions } from '../provider/core/simulate/write.ts';
import type { Candidate, EpochCandidates } from './core/detection/candidates.ts';

export const SKY_EPOCHS = [300, 600, 1800, 3600];

export interface SkyTruth {
  t0: string;
  camera: { gain: number; readNoise: number; darkRate: number; pixelScale: number; datasec: string; width: number; height: number };
  alert: { ra: number; dec: number; errorRadiusDeg: number };
  afterglow: { ra: number; dec: number };
  pointing: { offsetArcsec: [number, number]; rotationDeg: number };
  stars: Array<{ id: number; mag: number; origin: string; catalog: { ra: number; dec: number; mag: number } | null }>;
  frames: Array<{
    name: string;
    type: string;
    exptime: number;
    usable: boolean;
    object?: {
      tStartSinceT0: number;
      tMidSinceT0: number;
      seeingFwhmPx: number;
      moffatAlphaPx: number;
      moffatBeta: number;
      skyElectronsPerPixel: number;
      trueWcs: TanWcs;
      afterglow: { x: number; y: number; magMean: number; renderedElectrons: number; saturated: boolean };
      stars: { id: number[]; x: number[]; y: number[]; saturated: number[] } | Array<{ id: number; x: number; y: number; saturated: boolean }>;
    };
  }>;
}

export interface SkyFrameTruth {
  frameId: string;
  tStart: number;
  tMid: number;
  /** The afterglow's exposure-mean magnitude in the catalog's system. */
  mag: number;
  /** Expected afterglow S/N in the pipeline's aperture (radius max(2, FWHM)). */
  snr: number;
  trueWcs: TanWcs;
  fwhmPx: number;
}

export interface DetectFrame {
  frameId: string;
  file: string;
  error?: string;
  fwhmPix: number | null;
  fwhmArcsec: number | null;
  apertureRadiusPix: number | null;
  limitingMag: number | null;
  wcsFit: { ok: boolean; method: string; rmsArcsec: number | null; matchedStars: number; cards: Record<string, number> | null; notes: string[] };
  sources?: Array<{ x: number; y: number; snr: number; mag: number | null; flags: number }>;
}

export interface SkyNightOptions {
  /** Catalog as another band: m_cat = m + offset + N(0, colourRms) per star (seeded). */
  catalogBand?: { offset: number; colourRms: number };
  /** Error radius given to the detection, degrees; null = unknown (whole field). Default: the VOEvent's. */
  errorRadiusDeg?: number | null;
  /** Extra `gft gp1 detect` arguments. */
  detectArgs?: string[];
  /** Give `gft gp1 detect` the camera's pixel scale (--scale), as the GP1 stage always does. */
  scaleHint?: boolean;
  /** Keep the per-frame source lists in detect.json (for completeness). */
  sources?: boolean;
  /**
   * An earlier night whose accepted masters are put in the bank first (`gft gp1 masters` on it, into
   * the same masters folder): what a night whose own calibrations fail falls back on.
   */
  bankNight?: Omit<SimulateNightOptions, 'out'>;
  /** Extra `gft gp1 masters` arguments. */
  mastersArgs?: string[];
}

export interface SkyNight {
  name: string;
  dir: string;
  truth: SkyTruth;
  afterglow: { ra: number; dec: number };
  alert: { ra: number; dec: number; errorRadiusDeg: number | null };
  frames: SkyFrameTruth[];
  detect: { frames: DetectFrame[]; candidates: EpochCandidates[]; stacks?: unknown };
  masters: { code: number; stderr: string; report: unknown };
  calibrate: { code: number; stderr: string; report: unknown };
  /** Calibrated frame files, in object-frame order. */
  calibrated: string[];
}

/** Runs `fn` with console.log/error swallowed; errors are kept for the failure message. */
export async function quietly(fn: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const log = console.log, error = console.error;
  console.log = () => {};
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: await fn(), stderr: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Expected S/N of a Moffat point source in a circular aperture of radius max(2, FWHM) (the pipeline's). */
export function expectedSnr(o: { seeingFwhmPx: number; moffatAlphaPx: number; moffatBeta: number; skyElectronsPerPixel: number; afterglow: { renderedElectrons: number } }, readNoise: number, dark: number): number {
  const r = Math.max(2, o.seeingFwhmPx);
  const frac = 1 - Math.pow(1 + (r * r) / (o.moffatAlphaPx * o.moffatAlphaPx), 1 - o.moffatBeta);
  const s = frac * o.afterglow.renderedElectrons;
  return s / Math.sqrt(s + Math.PI * r * r * (o.skyElectronsPerPixel + readNoise * readNoise + dark));
}

/** The COATLI camera cut to another size, as a camera file (what an operator would write). */
export function cameraArgs(tmp: string, sim: Omit<SimulateNightOptions, 'out'>): string[] {
  const w = sim.camera?.width ?? 2184, h = sim.camera?.height ?? 1472, os = sim.camera?.overscan ?? 36;
  if (w === 2184 && h === 1472) return [];
  const cam = { name: 'coatli-cut', extends: 'coatli', width: w, height: h, overscan: { x1: w - os + 1, x2: w, y1: 1, y2: h }, data: { x1: 1, x2: w - os, y1: 1, y2: h } };
  const file = join(tmp, `${cam.name}-${w}x${h}.json`);
  writeFileSync(file, JSON.stringify(cam));
  return ['--camera', cam.name, '--camera-file', file];
}

/** The frame's star columns (the truth writes them as columns). */
export function truthStars(o: NonNullable<SkyTruth['frames'][number]['object']>): Array<{ id: number; x: number; y: number; saturated: boolean }> {
  const s = o.stars;
  if (Array.isArray(s)) return s;
  const sat = new Set(s.saturated);
  return s.id.map((id, k) => ({ id, x: s.x[k], y: s.y[k], saturated: sat.has(id) }));
}

/** Simulates, calibrates and measures one night (see the file comment); `tmp` holds its folder. */
export async function runSkyNight(tmp: string, name: string, sim: Omit<SimulateNightOptions, 'out'>, o: SkyNightOptions = {}): Promise<SkyNight> {
  const dir = join(tmp, name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir, { recursive: true });
  await simulateNight({ ...sim, out: dir });
  const { run: gp1 } = await import('./cli.ts');
  const { run: detect } = await import('./detectCli.ts');
  const camera = cameraArgs(tmp, sim);
  if (o.bankNight) {
    const bankDir = join(dir, 'bank-night');
    await simulateNight({ ...o.bankNight, out: bankDir });
    const b = await quietly(() => gp1(['masters', ...camera, '--in', join(bankDir, 'raw'), '--out', join(dir, 'masters'), '--workers', '0', '--report', join(dir, 'bank-masters.json')]));
    if (b.code !== 0) throw new Error(`${name}: the bank night's masters failed (exit ${b.code}): ${b.stderr}`);
  }
  const m = await quietly(() => gp1(['masters', ...camera, '--in', join(dir, 'raw'), '--out', join(dir, 'masters'), '--workers', '0', '--report', join(dir, 'masters.json'), ...(o.mastersArgs ?? [])]));
  const mastersReport = existsSync(join(dir, 'masters.json')) ? JSON.parse(readFileSync(join(dir, 'masters.json'), 'utf8')) : null;
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as SkyTruth;
  const objects = truth.frames.filter((f) => f.type === 'object');
  const c = await quietly(() => gp1(['calibrate', ...camera, '--masters', join(dir, 'masters'), '--out', join(dir, 'cal'), '--workers', '0', '--report', join(dir, 'cal.json'), ...objects.map((f) => join(dir, 'raw', f.name))]));
  const calReport = existsSync(join(dir, 'cal.json')) ? JSON.parse(readFileSync(join(dir, 'cal.json'), 'utf8')) : null;
  const cal = objects.map((f) => join(dir, 'cal', f.name.replace(/\.fits$/, '-cal.fits')));

  let catalog = join(dir, 'catalog.csv');
  let magOffset = 0;
  if (o.catalogBand) {
    // another band: a zero-point offset and a per-star colour term (seeded, so the case is fixed)
    let seed = 12345;
    const u = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const normal = () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
    const lines = readFileSync(catalog, 'utf8').trim().split('\n');
    const out = ['ra,dec,mag,band', ...lines.slice(1).map((l) => {
      const [ra, dec, mag] = l.split(',');
      return `${ra},${dec},${(Number(mag) + o.catalogBand!.offset + o.catalogBand!.colourRms * normal()).toFixed(3)},g`;
    })];
    catalog = join(dir, 'catalog-g.csv');
    writeFileSync(catalog, out.join('\n') + '\n');
    magOffset = o.catalogBand.offset;
  }
  const errorRadiusDeg = o.errorRadiusDeg === undefined ? truth.alert.errorRadiusDeg : o.errorRadiusDeg;
  const alert = { t0: truth.t0, ra: truth.alert.ra, dec: truth.alert.dec, errorRadiusDeg };
  writeFileSync(join(dir, 'alert.json'), JSON.stringify(alert));
  const outPath = join(dir, 'detect.json');
  let detected: SkyNight['detect'] = { frames: [], candidates: [] };
  if (c.code === 0) {
    const present = cal.filter((f) => existsSync(f));
    const d = await quietly(() => detect(['--catalog', catalog, '--alert', join(dir, 'alert.json'), ...(o.sources ? [] : ['--no-sources']), '--out', outPath, ...(o.detectArgs ?? []), ...(o.scaleHint ? ['--scale', String(truth.camera.pixelScale)] : []), ...present]));
    if (d.code !== 0) throw new Error(`${name}: gft gp1 detect exited ${d.code}: ${d.stderr}`);
    detected = JSON.parse(readFileSync(outPath, 'utf8')) as SkyNight['detect'];
  }
  return {
    name,
    dir,
    truth,
    afterglow: truth.afterglow,
    alert,
    frames: objects.map((f) => ({
      frameId: f.name.replace(/\.fits$/, '-cal'),
      tStart: f.object!.tStartSinceT0,
      tMid: f.object!.tMidSinceT0,
      mag: f.object!.afterglow.magMean + magOffset,
      snr: expectedSnr(f.object!, truth.camera.readNoise, truth.camera.darkRate * f.exptime),
      trueWcs: f.object!.trueWcs,
      fwhmPx: f.object!.seeingFwhmPx,
    })),
    detect: detected,
    masters: { ...m, report: mastersReport },
    calibrate: { ...c, report: calReport },
    calibrated: cal,
  };
}

export interface EpochScore {
  epochSec: number;
  /** Frames in the list. */
  frames: number;
  required: boolean;
  found: boolean;
  sepArcsec: number;
  /** Candidates other than the afterglow inside the error circle (the whole field when unknown). */
  falseCandidates: number;
  falseIds: string[];
  /** The afterglow candidate's flags. */
  flags: string[];
  meanMagError: number;
  nMagPoints: number;
  worstPull: number;
}

export interface NightScore {
  frames: string[];
  solved: number;
  worstRmsArcsec: number;
  /**
   * Largest error of a solved frame's fitted WCS against the true one over a 5 × 5 grid of the frame,
   * arcsec. The rms above is against the catalog, whose own positions scatter (the generator's
   * catalogPosError: 0.1″ per axis, 0.14″ radial): this is the WCS's real accuracy.
   */
  worstWcsErrorArcsec: number;
  epochs: EpochScore[];
  /** The afterglow's light curve in the last list that has it: detections vs truth. */
  lightCurve: {
    points: number;
    upperLimits: number;
    /** Largest |measured − true| over the detections (not saturated), mag, and where. */
    worstError: number;
    worstFrame: string;
    /** Largest |error| / (3σ + 0.02) over those detections. */
    worstPull: number;
    /** Detections and upper limits per frame brighter than `brightMag` (truth), of the frames covered. */
    bright: { frames: number; measured: number; within: number };
    /** Upper limits fainter than the truth by more than 0.2 mag (a limit the data cannot support). */
    badLimits: number;
  } | null;
}

export function isAfterglow(c: Candidate, ag: { ra: number; dec: number }): boolean {
  return angularSeparation(c.ra, c.dec, ag.ra, ag.dec) * 3600 < 1.5;
}

/**
 * Scores a night (see the file comment). `minSnrPerFrame`: the expected S/N from which a frame counts
 * towards the requirement (10); `stackRequired`: the afterglow must also be found where the epoch's
 * stack reaches that S/N (√N × the frames' quadratic mean S/N); `brightMag`: the light-curve goal
 * applies to frames where the afterglow is brighter than this.
 */
export function scoreNight(n: SkyNight, o: { stackRequired?: boolean; brightMag?: number } = {}): NightScore {
  const brightMag = o.brightMag ?? 19;
  const frames: string[] = [];
  let solved = 0, worstRms = 0, worstWcsErr = 0;
  const { width: cw, height: ch } = n.truth.camera;
  for (const r of n.detect.frames) {
    const f = n.frames.find((x) => x.frameId === r.frameId);
    const k = r.wcsFit?.cards;
    const wcs: TanWcs | null = k ? { crval1: k.CRVAL1, crval2: k.CRVAL2, crpix1: k.CRPIX1, crpix2: k.CRPIX2, cd: [k.CD1_1, k.CD1_2, k.CD2_1, k.CD2_2] } : null;
    let agErr = NaN;
    if (wcs && f) {
      const p = skyToPix(f.trueWcs, n.afterglow.ra, n.afterglow.dec, [0, 0]);
      const s = pixToSky(wcs, p[0], p[1], [0, 0]);
      agErr = angularSeparation(s[0], s[1], n.afterglow.ra, n.afterglow.dec) * 3600;
    }
    const ok = !r.error && r.wcsFit?.ok;
    const rms = r.wcsFit?.rmsArcsec ?? NaN;
    if (ok) {
      solved++;
      worstRms = Math.max(worstRms, rms);
      if (wcs && f)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            const x = ((i + 0.5) / 5) * cw, y = ((j + 0.5) / 5) * ch;
            const a = pixToSky(f.trueWcs, x, y, [0, 0]), b = pixToSky(wcs, x, y, [0, 0]);
            worstWcsErr = Math.max(worstWcsErr, angularSeparation(a[0], a[1], b[0], b[1]) * 3600);
          }
    }
    const scale = n.truth.camera.pixelScale;
    if (!ok || !(rms < 0.35) || !(rms < scale) || !(agErr < 0.3)) frames.push(`${r.frameId}: ok=${ok} ${r.wcsFit?.method} rms=${rms?.toFixed(3)}" afterglow WCS error=${agErr.toFixed(3)}" ${r.error ?? r.wcsFit.notes.join('; ')}`);
  }
  const inCircle = (x: Candidate) => n.alert.errorRadiusDeg === null || x.distanceArcsec <= n.alert.errorRadiusDeg * 3600;
  const epochs = n.detect.candidates.map((e): EpochScore => {
    const seen = n.frames.filter((f) => f.tStart <= e.epochSec && e.frameIds.includes(f.frameId));
    const strong = seen.filter((f) => f.snr >= 10);
    const stackSnr = Math.sqrt(seen.reduce((s, f) => s + f.snr * f.snr, 0));
    const required = strong.length >= 2 || (!!o.stackRequired && seen.length >= 2 && stackSnr >= 10);
    const ag = e.candidates.find((x) => isAfterglow(x, n.afterglow));
    const others = e.candidates.filter((x) => x !== ag && inCircle(x));
    const errs: number[] = [];
    let worstPull = 0;
    for (const p of ag?.lightCurve ?? []) {
      if (p.upperLimit || p.saturated || 1.0857 / p.magErr < 20) continue;
      const t = n.frames.find((f) => f.frameId === p.frameId);
      if (!t) continue;
      const d = p.mag - t.mag;
      errs.push(Math.abs(d));
      worstPull = Math.max(worstPull, Math.abs(d) / (3 * p.magErr + 0.02));
    }
    return {
      epochSec: e.epochSec,
      frames: e.frameIds.length,
      required,
      found: !!ag,
      sepArcsec: ag ? angularSeparation(ag.ra, ag.dec, n.afterglow.ra, n.afterglow.dec) * 3600 : NaN,
      falseCandidates: others.length,
      falseIds: others.map((x) => `${x.id} ${x.mag.toFixed(2)} [${x.flags.join(',')}]`),
      flags: ag?.flags ?? [],
      meanMagError: errs.length ? errs.reduce((a, b) => a + b, 0) / errs.length : NaN,
      nMagPoints: errs.length,
      worstPull,
    };
  });
  const last = [...n.detect.candidates].reverse().map((e) => e.candidates.find((x) => isAfterglow(x, n.afterglow))).find((x) => !!x);
  let lightCurve: NightScore['lightCurve'] = null;
  if (last) {
    let worst = 0, worstFrame = '', worstPull = 0, badLimits = 0, ul = 0, pts = 0;
    const bright = { frames: 0, measured: 0, within: 0 };
    for (const p of last.lightCurve) {
      const t = n.frames.find((f) => f.frameId === p.frameId);
      if (!t) continue;
      if (p.upperLimit) {
        ul++;
        if (p.mag > t.mag + 0.2) badLimits++;
      } else if (!p.saturated) {
        pts++;
        const d = Math.abs(p.mag - t.mag);
        if (d > worst) {
          worst = d;
          worstFrame = p.frameId;
        }
        worstPull = Math.max(worstPull, d / (3 * p.magErr + 0.02));
      }
      if (t.mag < brightMag && !p.saturated) {
        bright.frames++;
        if (!p.upperLimit) {
          bright.measured++;
          if (Math.abs(p.mag - t.mag) <= 0.1 + 3 * p.magErr) bright.within++;
        }
      }
    }
    lightCurve = { points: pts, upperLimits: ul, worstError: worst, worstFrame, worstPull, bright, badLimits };
  }
  return { frames, solved, worstRmsArcsec: worstRms, worstWcsErrorArcsec: worstWcsErr, epochs, lightCurve };
}

/**
 * True stars brighter than `maxMag` (not saturated, ≥ 10 px from the edges of the data section) found
 * within 1.5 px in each frame's source list: [found, total]. `lists[i]` = the sources of object frame i
 * (calibrated pixel coordinates, 0-based).
 */
export function sourcesFound(n: SkyNight, lists: Array<Array<{ x: number; y: number }> | null>, maxMag = 20): [number, number] {
  const m = /^\[(\d+):(\d+),(\d+):(\d+)\]$/.exec(n.truth.camera.datasec.replace(/\s/g, ''));
  const x0 = m ? Number(m[1]) - 1 : 0, x1 = m ? Number(m[2]) - 1 : n.truth.camera.width - 1;
  const y0 = m ? Number(m[3]) - 1 : 0, y1 = m ? Number(m[4]) - 1 : n.truth.camera.height - 1;
  const magOf = new Map(n.truth.stars.map((s) => [s.id, s.mag]));
  const objects = n.truth.frames.filter((f) => f.type === 'object');
  let found = 0, total = 0;
  objects.forEach((f, i) => {
    const list = lists[i];
    if (!list) return;
    const cell = 4;
    const grid = new Map<number, Array<{ x: number; y: number }>>();
    const key = (x: number, y: number) => Math.floor(y / cell) * 100003 + Math.floor(x / cell);
    for (const s of list) (grid.get(key(s.x, s.y)) ?? grid.set(key(s.x, s.y), []).get(key(s.x, s.y))!).push(s);
    for (const s of truthStars(f.object!)) {
      const mag = magOf.get(s.id) ?? Infinity;
      if (!(mag < maxMag) || s.saturated) continue;
      const x = s.x - x0, y = s.y - y0;
      if (x < 10 || y < 10 || x > x1 - x0 - 10 || y > y1 - y0 - 10) continue;
      total++;
      let hit = false;
      for (let j = -1; j <= 1 && !hit; j++)
        for (let k = -1; k <= 1 && !hit; k++) for (const q of grid.get(key(x + k * cell, y + j * cell)) ?? []) if (Math.hypot(q.x - x, q.y - y) < 1.5) hit = true;
      if (hit) found++;
    }
  });
  return [found, total];
}

/** Whether Debian's `source-extractor` is on PATH (the completeness reference). */
export function haveSExtractor(): boolean {
  return spawnSync('source-extractor', ['-v'], { encoding: 'utf8' }).status === 0;
}

/**
 * SExtractor's source lists on the night's calibrated frames (null for a frame GP1 could not measure),
 * with GP1's settings (bench/gp1-detection.ts: threshold, area, kernel, meshes, the frame's aperture
 * and FWHM), 0-based pixel coordinates, for `sourcesFound`. Needs `source-extractor` (haveSExtractor).
 */
export async function sextractorSources(n: SkyNight): Promise<Array<Array<{ x: number; y: number }> | null>> {
  const { sextractor, writeSimpleFits } = await import('../../bench/gp1-detection.ts');
  const fits = await import('../../lib/fits/index.ts');
  const { readCalibrated } = await import('./detectCli.ts');
  const sdir = join(n.dir, 'sex');
  mkdirSync(sdir, { recursive: true });
  const out: Array<Array<{ x: number; y: number }> | null> = [];
  for (const f of n.detect.frames) {
    if (f.error || !f.apertureRadiusPix) {
      out.push(null);
      continue;
    }
    const img = await readCalibrated(fits as never, f.file);
    const nPix = img.width * img.height;
    const wgt = new Float32Array(nPix);
    for (let i = 0; i < nPix; i++) wgt[i] = img.mask && img.mask[i] ? 0 : img.weight ? img.weight[i] : 1;
    writeSimpleFits(join(sdir, 'image.fits'), img.width, img.height, Float32Array.from(img.data), []);
    writeSimpleFits(join(sdir, 'weight.fits'), img.width, img.height, wgt, []);
    const r = sextractor(sdir, join(sdir, 'image.fits'), join(sdir, 'weight.fits'), 2 * f.apertureRadiusPix, f.fwhmArcsec ?? 2);
    out.push(r.rows.map((row) => ({ x: row[0] - 1, y: row[1] - 1 })));
  }
  return out;
}
