/**
 * GP1 detection on nights and frames it was not tuned on: a matrix of synthetic variations, each
 * checked against the criteria (docs: issue 6, "Must show"):
 *
 * - the afterglow is a candidate at every epoch where ≥ 2 frames up to the epoch give it S/N ≥ 10
 *   (a candidate needs two frames), at < 0.5″ from the truth;
 * - its light-curve magnitudes are within 0.05 mag of the truth at S/N ≥ 20 (mean |error|; each
 *   point within 3σ + 0.02 mag);
 * - at most one false candidate per epoch inside the error circle (the whole field when unknown);
 * - every frame solved, with a sensible WCS: rms < 0.35″ and < 1 px (the generator's catalog
 *   positions alone scatter by 0.14″, centroids in 4″ seeing add as much), the fitted WCS within
 *   0.3″ of the truth at the afterglow.
 *
 * Two kinds of nights:
 * - "chain": raw nights from the DC3 generator (streams/provider/core/simulate) through
 *   `gft gp1 masters`, `gft gp1 calibrate` and `gft gp1 detect` — exactly what a reviewer runs on a
 *   night of their own; Moffat PSFs, bleeding saturated stars, cosmic rays, vignetting, dust;
 * - "calibrated": calibrated frames made directly (streams/gp1/core/detection/synthetic.ts), for
 *   the variations that need frames the generator does not make cheaply (a COLIBRI-size chip, a
 *   header WCS that is off by 8′ and 3°).
 * Frames are small where the property does not depend on size. Single-threaded; ~1 min of CPU.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { angularSeparation, pixToSky, skyToPix, type TanWcs } from '../../lib/wcs/index.ts';
import type { SimulateNightOptions } from '../provider/core/simulate/write.ts';
import { haveSExtractor, runSkyNight, scoreNight, sextractorSources, sourcesFound, type SkyNight, type SkyNightOptions } from './skyNight.ts';
import { makeNight, type SyntheticNightSpec } from './core/detection/synthetic.ts';
import { processFrame, type FrameResult } from './core/detection/frame.ts';
import { buildCandidates, type Candidate, type EpochCandidates } from './core/detection/candidates.ts';

const EPOCHS = [300, 600, 1800, 3600];
/** Frame starts (s after T0) covering every epoch with ≥ 2 frames: 3 by T0+5 min, then one per epoch. */
const STARTS = [120, 180, 240, 420, 900, 2400];

/** What every case is scored on, per epoch. */
interface FrameTruth {
  frameId: string;
  /** Exposure start − T0 and mid-exposure − T0, s. */
  tStart: number;
  tMid: number;
  /** The afterglow's true magnitude in the frame (exposure mean) in the catalog's system. */
  mag: number;
  /** Expected afterglow S/N in the pipeline's aperture (radius 1 FWHM). */
  snr: number;
  trueWcs: TanWcs;
}

interface CaseInput {
  name: string;
  afterglow: { ra: number; dec: number };
  alert: { ra: number; dec: number; errorRadiusDeg: number | null };
  frames: FrameTruth[];
  results: Array<{ frameId: string; ok: boolean; method: string; rmsArcsec: number; scaleArcsec: number; wcs: TanWcs | null; notes: string[] }>;
  epochs: EpochCandidates[];
}

interface EpochScore {
  epochSec: number;
  required: boolean;
  found: boolean;
  sepArcsec: number;
  falseCandidates: number;
  meanMagError: number;
  nMagPoints: number;
  worstPull: number;
}

function isAfterglow(c: Candidate, ag: { ra: number; dec: number }): boolean {
  return angularSeparation(c.ra, c.dec, ag.ra, ag.dec) * 3600 < 1.5;
}

/** Scores one case against the criteria; returns a compact report (printed on failure). */
function score(c: CaseInput): { epochs: EpochScore[]; frames: string[] } {
  const frames: string[] = [];
  for (const r of c.results) {
    const f = c.frames.find((x) => x.frameId === r.frameId);
    let agErr = NaN;
    if (r.wcs && f) {
      const p = skyToPix(f.trueWcs, c.afterglow.ra, c.afterglow.dec, [0, 0]);
      const s = pixToSky(r.wcs, p[0], p[1], [0, 0]);
      agErr = angularSeparation(s[0], s[1], c.afterglow.ra, c.afterglow.dec) * 3600;
    }
    const bad = !r.ok || !(r.rmsArcsec < 0.35) || !(r.rmsArcsec < r.scaleArcsec) || !(agErr < 0.3);
    if (bad) frames.push(`${r.frameId}: ok=${r.ok} ${r.method} rms=${r.rmsArcsec?.toFixed(3)}" afterglow WCS error=${agErr.toFixed(3)}" ${r.notes.join('; ')}`);
  }
  const epochs = c.epochs.map((e): EpochScore & { falseIds: string[] } => {
    const until = e.epochSec;
    const seen = c.frames.filter((f) => f.tStart <= until && f.snr >= 10);
    const required = seen.length >= 2;
    const inCircle = (x: Candidate) => c.alert.errorRadiusDeg === null || x.distanceArcsec <= c.alert.errorRadiusDeg * 3600;
    const ag = e.candidates.find((x) => isAfterglow(x, c.afterglow));
    const others = e.candidates.filter((x) => x !== ag && inCircle(x));
    const errs: number[] = [];
    let worstPull = 0;
    for (const p of ag?.lightCurve ?? []) {
      if (p.upperLimit || 1.0857 / p.magErr < 20) continue;
      const t = c.frames.find((f) => f.frameId === p.frameId);
      if (!t) continue;
      const d = p.mag - t.mag;
      errs.push(Math.abs(d));
      worstPull = Math.max(worstPull, Math.abs(d) / (3 * p.magErr + 0.02));
    }
    return {
      epochSec: e.epochSec,
      required,
      found: !!ag,
      sepArcsec: ag ? angularSeparation(ag.ra, ag.dec, c.afterglow.ra, c.afterglow.dec) * 3600 : NaN,
      falseCandidates: others.length,
      falseIds: others.map((x) => `${x.id} ${x.mag.toFixed(2)} ${x.flags.join(',')}`),
      meanMagError: errs.length ? errs.reduce((a, b) => a + b, 0) / errs.length : NaN,
      nMagPoints: errs.length,
      worstPull,
    };
  });
  return { epochs, frames };
}

/** The criteria as assertions, with the whole report in the message. */
function check(c: CaseInput, o: { expectMagPoints?: boolean; maxFalse?: number } = {}): void {
  const s = score(c);
  const report = `${c.name}\n${JSON.stringify(s, (_k, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v))}`;
  if (process.env.GP1_ROBUST_VERBOSE) console.log(report);
  expect(s.frames, report).toEqual([]);
  let magPoints = 0;
  for (const e of s.epochs) {
    if (e.required) {
      expect(e.found, report).toBe(true);
      expect(e.sepArcsec, report).toBeLessThan(0.5);
    }
    expect(e.falseCandidates, report).toBeLessThanOrEqual(o.maxFalse ?? 1);
    if (e.nMagPoints) {
      expect(e.meanMagError, report).toBeLessThan(0.05);
      expect(e.worstPull, report).toBeLessThan(1);
    }
    magPoints += e.nMagPoints;
  }
  expect(s.epochs.some((e) => e.required), `${report}\nno epoch has the afterglow at S/N ≥ 10: the case tests nothing`).toBe(true);
  if (o.expectMagPoints !== false) expect(magPoints, `${report}\nno light-curve point at S/N ≥ 20`).toBeGreaterThan(0);
}

/* ------------------------------------------------------------------------------------------------ */
/* Chain nights: generator → gft gp1 masters → calibrate → detect                                      */

// GP1_ROBUST_KEEP=1 keeps the nights (raw, masters, calibrated frames, detect.json) for a look;
// GP1_ROBUST_VERBOSE=1 prints every case's scores
const tmp = mkdtempSync(join(tmpdir(), 'gp1-robust-'));
afterAll(() => (process.env.GP1_ROBUST_KEEP ? console.log(`robustness nights kept in ${tmp}`) : rmSync(tmp, { recursive: true, force: true })));

type ChainOptions = SkyNightOptions;

/** A generator night through `gft gp1 masters`, `calibrate` and `detect` (skyNight.ts), as a case. */
async function chainNight(name: string, sim: Omit<SimulateNightOptions, 'out'>, o: ChainOptions = {}): Promise<CaseInput & { night: SkyNight }> {
  const n = await runSkyNight(tmp, name, { startTimes: STARTS, ...sim }, o);
  expect(n.masters.code, n.masters.stderr).toBe(0);
  expect(n.calibrate.code, n.calibrate.stderr).toBe(0);
  const wcsOf = (k: Record<string, number> | null): TanWcs | null =>
    k ? { crval1: k.CRVAL1, crval2: k.CRVAL2, crpix1: k.CRPIX1, crpix2: k.CRPIX2, cd: [k.CD1_1, k.CD1_2, k.CD2_1, k.CD2_2] } : null;
  return {
    name,
    night: n,
    afterglow: n.afterglow,
    alert: n.alert,
    frames: n.frames,
    results: n.detect.frames.map((f) => ({
      frameId: f.frameId,
      ok: !f.error && f.wcsFit.ok,
      method: f.wcsFit?.method,
      rmsArcsec: f.wcsFit?.rmsArcsec ?? NaN,
      scaleArcsec: n.truth.camera.pixelScale,
      wcs: wcsOf(f.wcsFit?.cards ?? null),
      notes: f.error ? [f.error] : f.wcsFit.notes,
    })),
    epochs: n.detect.candidates,
  };
}

interface Truth {
  pointing: { offsetArcsec: [number, number]; rotationDeg: number };
}

const CHAIN_TIMEOUT = 240_000;
/** These small-chip nights were designed at the default star density: keep it (the generator would otherwise raise it for the astrometry). */
const AS_DESIGNED = { minCatalogStars: 0 };

describe('robustness: generator nights through gft gp1 masters + calibrate + detect', () => {
  it('another seed on the full COATLI chip (2184x1472)', async () => {
    check(await chainNight('seed 2 coatli', { seed: 2 }));
  }, CHAIN_TIMEOUT);

  it('bad seeing (3–4″) and a faint afterglow (S/N ~15 in the first frame, below 10 from the third)', async () => {
    const c = await chainNight('seed 3 bad seeing faint', { seed: 3, camera: { width: 1060, height: 800 }, field: AS_DESIGNED, seeingMin: 3, seeingMax: 4, afterglowMag: 18.6 });
    expect(Math.max(...c.frames.map((f) => f.snr)), 'the afterglow is meant to be faint').toBeLessThan(20);
    check(c, { expectMagPoints: false });
  }, CHAIN_TIMEOUT);

  it('good seeing (0.8–1.0″), a crowded field (40 000 stars/deg²), a bright afterglow, the whole field searched', async () => {
    check(await chainNight('seed 4 good seeing crowded bright', { seed: 4, camera: { width: 1060, height: 800 }, seeingMin: 0.8, seeingMax: 1.0, field: { starDensity: 40000 }, afterglowMag: 12.5 }, { errorRadiusDeg: null }));
  }, CHAIN_TIMEOUT);

  it('pointing off by 5–7′ and rotated by 2–3°, 2x2 binning (0.68″/px), a sparse field, error radius unknown', async () => {
    const c = await chainNight(
      'seed 5 offset rotation sparse whole field',
      { seed: 5, camera: { binning: 2 }, field: { pointingOffsetMin: 5, pointingOffsetMax: 7, rotationMin: 2, rotationMax: 3, starDensity: 2500 } },
      { errorRadiusDeg: null },
    );
    const t = JSON.parse(readFileSync(join(tmp, 'seed-5-offset-rotation-sparse-whole-field', 'truth.json'), 'utf8')) as Truth;
    expect(Math.hypot(...t.pointing.offsetArcsec) / 60, 'the night really is off by > 4′').toBeGreaterThan(4);
    expect(Math.abs(t.pointing.rotationDeg)).toBeGreaterThan(2);
    check(c);
  }, CHAIN_TIMEOUT);

  it('headers without WCS (blind match on a small chip, the generator\'s denser field) and a catalog in another band (+0.4 mag, 0.08 mag colour scatter)', async () => {
    const c = await chainNight('seed 6 no wcs other band', { seed: 6, camera: { width: 1060, height: 800 }, headerWcs: false }, { catalogBand: { offset: 0.4, colourRms: 0.08 }, scaleHint: true });
    for (const r of c.results) expect(r.method, r.notes.join('; ')).toBe('blind');
    check(c);
  }, CHAIN_TIMEOUT);

  it('dead columns through the afterglow, a saturated star 13″ from it, three times the cosmic rays', async () => {
    // columns at the afterglow's mean position: plan the night once to know where that is
    const { planNight } = await import('../provider/core/simulate/night.ts');
    const base = { seed: 7, camera: { width: 1060, height: 800 }, startTimes: STARTS, cosmicRate: 3, field: { ...AS_DESIGNED, starsNearAfterglow: [{ east: 10, north: -8, mag: 8.5 }] } };
    const plan = planNight(base);
    const f = plan.frames.find((x) => x.type === 'object')!;
    const x = Math.round(skyToPix(f.object!.geom.trueWcs, plan.field.afterglow.ra, plan.field.afterglow.dec, [0, 0])[0]) - plan.det.geo.dataX0;
    const c = await chainNight('seed 7 dead columns saturated neighbour', { ...base, camera: { ...base.camera, badColumns: [x - 3, x + 1, x + 2] } });
    check(c);
  }, CHAIN_TIMEOUT);
});

/* ------------------------------------------------------------------------------------------------ */
/* Hard but common skies (issue 20), one case per condition, each with its own assertion               */

/** COATLI binned 2×2 (0.68″/px), 1092 × 800 of data. */
const BIN2 = { width: 1128, height: 800, binning: 2 };

describe('robustness: hard skies (issue 20)', () => {
  // 25 pairs of stars near the catalog depth (17.8–18.6), 2.1–3.2″ apart, in the error circle, at 2–2.8″
  // seeing on 0.68″/px: each pair is one detection between its two catalog positions
  const pairs = { count: 25, sepArcsec: [2.1, 3.2] as [number, number], withinArcsec: 170 };

  it('an undersampled PSF (seeing 0.75–0.8″ at 0.68″/px: FWHM 1.1–1.2 px): every frame solved, WCS within 0.15″ of the truth, completeness within 2 points of SExtractor', async () => {
    const c = await chainNight('issue20 undersampled', { seed: 22, camera: BIN2, seeingFrames: [0.75, 0.8, 0.76, 0.78, 0.75, 0.8] }, { sources: true });
    const n = c.night;
    expect(Math.max(...n.frames.map((f) => f.fwhmPx)), 'the PSF really is undersampled').toBeLessThan(1.25);
    check(c, { maxFalse: 0 });
    const s = scoreNight(n);
    // the rms is against the catalog, whose own positions scatter by 0.14″ (radial): ≤ 0.18″; the WCS
    // itself (against the truth, anywhere in the frame) within 0.15″ (before: 4 of 12 frames solved at 0.9″)
    expect(s.solved).toBe(n.frames.length);
    expect(s.worstRmsArcsec).toBeLessThan(0.18);
    expect(s.worstWcsErrorArcsec).toBeLessThan(0.15);
    const [of, ot] = sourcesFound(n, n.detect.frames.map((f) => f.sources ?? null));
    expect(ot).toBeGreaterThan(400);
    if (!haveSExtractor()) {
      if (process.env.GFT_REQUIRE_STACK) throw new Error('source-extractor is not installed (deploy/install-debian.sh installs it)');
      console.warn('SKIPPED the SExtractor comparison of the undersampled night: source-extractor is not installed');
      expect(of / ot).toBeGreaterThan(0.9);
      return;
    }
    const [sf, st] = sourcesFound(n, await sextractorSources(n));
    expect(of / ot, `completeness at r < 20: ours ${of}/${ot}, SExtractor ${sf}/${st}`).toBeGreaterThan(sf / st - 0.02);
  }, CHAIN_TIMEOUT);

  it('the other end of the range: FWHM ≈ 6 px (2″ seeing at 0.34″/px): solved, the afterglow found, completeness within 2 points of SExtractor', async () => {
    const c = await chainNight('issue20 fwhm 6 px', { seed: 23, camera: { width: 1060, height: 800 }, seeingFrames: [2.0, 2.05, 1.95, 2.0] }, { sources: true });
    const n = c.night;
    expect(Math.min(...n.frames.map((f) => f.fwhmPx)), 'the PSF really is 6 px wide').toBeGreaterThan(5.5);
    check(c, { maxFalse: 0 });
    const [of, ot] = sourcesFound(n, n.detect.frames.map((f) => f.sources ?? null));
    if (!haveSExtractor()) {
      if (process.env.GFT_REQUIRE_STACK) throw new Error('source-extractor is not installed (deploy/install-debian.sh installs it)');
      console.warn('SKIPPED the SExtractor comparison of the 6-px night: source-extractor is not installed');
      return;
    }
    const [sf, st] = sourcesFound(n, await sextractorSources(n));
    expect(of / ot, `completeness at r < 20: ours ${of}/${ot}, SExtractor ${sf}/${st}`).toBeGreaterThan(sf / st - 0.02);
  }, CHAIN_TIMEOUT);

  it('every flat of the night fails the level rule (1800 and 900 ADU): the bank\'s flat of two nights before stands in, the afterglow found as on any night', async () => {
    const c = await chainNight('issue20 all flats fail', { seed: 29, camera: { width: 1060, height: 800 }, flatLevels: [1800, 900], calibStart: '2019-10-16T00:40:00Z' }, { bankNight: { seed: 30, camera: { width: 1060, height: 800 }, frames: 1, t0: '2019-10-14T08:30:00Z' } });
    const flat = (c.night.masters.report as { masters: Array<{ kind: string; accepted: boolean; fromBank: { hoursBefore: number } | null }> }).masters.find((m) => m.kind === 'flat')!;
    expect(flat.accepted).toBe(false);
    expect(flat.fromBank?.hoursBefore).toBeGreaterThan(24);
    check(c, { maxFalse: 0 });
  }, CHAIN_TIMEOUT);

  // an afterglow of r 16.7–18.8 (α = 0.6) beside a bright star: found in every list, no false candidate,
  // no upper limit deeper than the data there allow (limits from the star model's residual, wings.ts)
  const beside = (east: number, north: number, mag: number) => ({ seed: 24, camera: { width: 1060, height: 800 }, afterglowMag: 17.2, afterglowIndex: 0.6, field: { starsNearAfterglow: [{ east, north, mag }] } });
  const lightCurveOf = (n: SkyNight) => {
    const s = scoreNight(n);
    const report = JSON.stringify({ epochs: s.epochs.map((e) => [e.epochSec, e.required, e.found, e.falseIds]), lc: s.lightCurve });
    for (const e of s.epochs) {
      if (e.required) expect(e.found, report).toBe(true);
      expect(e.falseCandidates, report).toBe(0);
    }
    expect(s.lightCurve, report).not.toBeNull();
    expect(s.lightCurve!.badLimits, report).toBe(0);
    return { s, report };
  };

  it('an afterglow 6″ from an 11-mag star: found, every frame where it is brighter than r = 19 measured within 0.1 mag + 3σ but one', async () => {
    const c = await chainNight('issue20 star at 6', beside(6, 0, 11));
    const { s, report } = lightCurveOf(c.night);
    const b = s.lightCurve!.bright;
    expect(b.frames, report).toBe(6);
    expect(b.within, report).toBeGreaterThanOrEqual(b.frames - 1);
  }, CHAIN_TIMEOUT);

  it('an afterglow 3″ from a 13-mag star: found (the star merged it in every frame before), its limits honest', async () => {
    const c = await chainNight('issue20 star at 3', beside(-2.1, 2.1, 13));
    const { s, report } = lightCurveOf(c.night);
    expect(s.lightCurve!.points, report).toBeGreaterThanOrEqual(3);
  }, CHAIN_TIMEOUT);

  it('blends of two faint stars in an ordinary field: 0 false candidates per list, the afterglow found', async () => {
    const c = await chainNight('issue20 blends ordinary', { seed: 26, camera: BIN2, seeingMin: 2, seeingMax: 2.8, field: { blendPairs: pairs } });
    check(c, { maxFalse: 0 });
  }, CHAIN_TIMEOUT);

  it('blends in a 5× crowded field (30 000 stars/deg²): at most 1 false candidate per list, the afterglow found', async () => {
    const c = await chainNight('issue20 blends crowded', { seed: 27, camera: BIN2, seeingMin: 2, seeingMax: 2.8, field: { starDensity: 30000, blendPairs: pairs } });
    check(c, { maxFalse: 1 });
  }, CHAIN_TIMEOUT);
});

/* ------------------------------------------------------------------------------------------------ */
/* Calibrated nights made directly                                                                    */

function calibratedNight(name: string, spec: SyntheticNightSpec, o: { noWcs?: boolean } = {}): CaseInput {
  const night = makeNight({ starts: STARTS, ...spec });
  const scale = spec.scaleArcsec ?? 0.7;
  const results: FrameResult[] = night.frames.map((f) => {
    const c = pixToSky(f.headerWcs, (f.width - 1) / 2, (f.height - 1) / 2);
    return processFrame({ ...f, wcs: o.noWcs ? null : f.headerWcs, hint: { ra: c[0], dec: c[1], scaleArcsec: scale } }, night.catalog);
  });
  const epochs = buildCandidates(EPOCHS, results, night.catalog, night.alert);
  const t0 = Date.parse(night.t0);
  const zp = spec.zp ?? 23;
  return {
    name,
    afterglow: night.afterglow!,
    alert: night.alert,
    frames: night.frames.map((f) => {
      // S/N of a Gaussian star in an aperture of radius 1 FWHM (93.75 % of the flux) over the sky noise
      const fwhm = spec.fwhm ?? 3;
      const flux = 0.9375 * Math.pow(10, -0.4 * (night.afterglow!.magAt(f.tMid) - zp));
      const skyVar = 1 / f.weight[0];
      return { frameId: f.frameId, tStart: (Date.parse(f.dateObs) - t0) / 1000, tMid: f.tMid, mag: night.afterglow!.magAt(f.tMid), snr: flux / Math.sqrt(Math.PI * fwhm * fwhm * skyVar + flux / (6.2 * f.exptime)), trueWcs: f.trueWcs };
    }),
    results: results.map((r) => ({ frameId: r.frameId, ok: r.astrometry.ok, method: r.astrometry.method, rmsArcsec: r.astrometry.rmsArcsec, scaleArcsec: scale, wcs: r.wcs, notes: r.astrometry.notes })),
    epochs,
  };
}

describe('robustness: calibrated frames made directly', () => {
  it('a COLIBRI-size chip (4192x4096 at 0.38″/px)', () => {
    check(calibratedNight('colibri', { seed: 61, width: 4192, height: 4096, scaleArcsec: 0.38, fwhm: 4.5, nStars: 16000, starts: [120, 240, 420, 900, 2400] }));
  }, 120_000);

  it('a header off by 8′ and rotated by 3°', () => {
    check(calibratedNight('offset 8 arcmin rotation 3 deg', { seed: 62, width: 800, height: 800, nStars: 2500, headerOffsetArcmin: [6.4, -4.8], headerRotationDeg: 3 }));
  }, 60_000);

  it('other seeds, small chips', () => {
    for (const seed of [63, 64, 65]) check(calibratedNight(`seed ${seed}`, { seed, width: 640, height: 640, nStars: 2500 }));
  }, 60_000);

  it('no WCS: blind match from the nominal centre and scale', () => {
    const c = calibratedNight('blind', { seed: 66, width: 800, height: 800, nStars: 2500 }, { noWcs: true });
    for (const r of c.results) expect(r.method).toBe('blind');
    check(c);
  }, 60_000);
});
