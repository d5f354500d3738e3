/**
 * GP1 candidates on event time.
 *
 * `buildCandidates(epochs, frames, catalog, alert, cfg)` returns, for each epoch T0 + e (e in seconds,
 * e.g. 300, 600, 1800, 3600), the candidate list computed from the frames whose DATE-OBS ≤ T0 + e.
 * Event time only: DATE-OBS and EXPTIME of the frames, T0 of the alert; never the wall clock.
 *
 * Per epoch:
 * 1. Frames with an astrometric solution and a zero point, sorted by (DATE-OBS, frameId), one per
 *    frameId. Their detections with S/N ≥ `minSnr` (inside the error circle + link radius when the
 *    alert has an error radius, the whole field otherwise) are grouped across frames by
 *    friends-of-friends within `linkRadiusArcsec` on the tangent plane at the alert position; when a
 *    group holds two detections of one frame, the one nearest the group's median position is kept.
 *    Friends-of-friends groups do not depend on the order of the inputs.
 * 2. A group is kept when it has ≥ `minFrames` good detections: no EDGE/MASKED flag, FWHM within
 *    `fwhmRange` × the frame's stellar FWHM, elongation a/b ≤ `maxElongation` (artefacts: cosmic rays
 *    and hot pixels are seen once, are sharper than the PSF or sit on masked pixels). A SATURATED
 *    detection counts when round and not sharper than the PSF (no upper FWHM bound: a saturated core
 *    is flat-topped): a bright afterglow saturates the first frames, exactly when it matters most.
 *    Its magnitude is only a faint bound: it gives a light-curve point marked `saturated`, enters the
 *    brightening and depth tests (conservatively), not the fading fit nor, when unsaturated
 *    detections exist, the mean and latest magnitude; the candidate gets the flag 'saturated'.
 * 3. Catalog: the nearest reference star within max(3 × the astrometric rms, `catalogMatchFloorArcsec`).
 *    - No star: a candidate if it is brighter than the catalog's completeness limit by
 *      `completenessMargin` (its brightest detection, at 2σ: min(mag + 2 err) < limit − margin), or
 *      if it fades significantly against its own earlier measurements (`fadingSigma`). A faint field
 *      star below the catalog depth is absent from the catalog without being new and is neither.
 *    - A star: a candidate if brighter than the catalog by more than `brightenSigma` σ on the
 *      weighted mean, σ² = err² + zpErr² + the zero-point scatter² (colour terms between the
 *      bands), and in at least `minFrames` detections each by more than `brightenEachSigma` σ (a
 *      cosmic ray or a neighbour's light in one aperture is not a brightening), and the extra light
 *      (at 2σ) itself brighter than the completeness limit by `completenessMargin` (fainter, it may
 *      be a star the catalog does not list, inside the aperture). The catalog magnitude compared is
 *      that of every catalog star inside the aperture radius, summed in flux: two catalog stars
 *      that bad seeing merges into one detection are not a brightening either.
 * 4. Each candidate: position (weighted mean) and error, magnitude (latest, and weighted mean), light
 *    curve (t − T0 at mid-exposure, mag, err; upper limits from the frames that cover it without a
 *    detection), power-law index α of flux ∝ t^−α (weighted least squares of mag on 2.5 log10 t),
 *    distance to the alert position, flags, a score in [0, 1], and an id derived from the position
 *    of its first two kept detections in event time ("GP1 J…"), stable while later frames arrive.
 *
 * Late frames: the function is pure; when a frame arrives whose DATE-OBS is before an epoch whose list
 * was already published, the caller calls it again with the frame added and publishes the revised
 * lists of that epoch and every later one. Each list carries `revision`, a digest of the frame ids it
 * was built from, so consumers upsert by (burst, epoch) and can tell a revision from a replay.
 * Deterministic: the same inputs in any order give the same output.
 */
import { angularSeparation, designation, skyToPix, skyToTangent, tangentToSky } from '../../../../lib/wcs/index.ts';
import { FLAG } from './detect.ts';
import type { CatalogStars } from './astrometry.ts';
import type { FrameResult } from './frame.ts';

export interface Alert {
  /** Trigger time, ISO (UTC when no zone). */
  t0: string;
  ra: number;
  dec: number;
  /** Error radius, degrees; null (or ≤ 0) = unknown: the whole field is searched. */
  errorRadiusDeg: number | null;
}

export interface ReferenceCatalog extends CatalogStars {
  /** Completeness limit (mag); estimated from the magnitude histogram when absent ({@link catalogDepth}). */
  completenessMag?: number;
}

export interface CandidateConfig {
  linkRadiusArcsec?: number;
  catalogMatchFloorArcsec?: number;
  completenessMargin?: number;
  minFrames?: number;
  minSnr?: number;
  brightenSigma?: number;
  brightenEachSigma?: number;
  fadingSigma?: number;
  fwhmRange?: [number, number];
  maxElongation?: number;
}

export const CANDIDATE_DEFAULTS: Required<CandidateConfig> = {
  linkRadiusArcsec: 1.5,
  catalogMatchFloorArcsec: 1.0,
  completenessMargin: 0.5,
  minFrames: 2,
  minSnr: 5,
  brightenSigma: 5,
  brightenEachSigma: 3,
  fadingSigma: 5,
  fwhmRange: [0.7, 1.6],
  maxElongation: 2,
};

export interface LightCurvePoint {
  frameId: string;
  /** Mid-exposure time − T0, seconds. */
  t: number;
  mag: number;
  magErr: number;
  /** true: not detected, `mag` is the frame's limiting magnitude. */
  upperLimit: boolean;
  /** true: the source saturated the frame; `mag` is a faint bound (it was at least this bright). */
  saturated: boolean;
}

export interface Candidate {
  id: string;
  ra: number;
  dec: number;
  posErrArcsec: number;
  /** The latest unsaturated detection's magnitude and error (zero-point error included); when every
   *  detection saturated (flag 'saturated', no unsaturated point), the latest saturated one: a faint bound. */
  mag: number;
  magErr: number;
  /** Weighted mean over the detections. */
  meanMag: number;
  meanMagErr: number;
  nDetections: number;
  lightCurve: LightCurvePoint[];
  /** flux ∝ t^−alpha; null with fewer than 2 detections after T0 at distinct times. */
  fading: { alpha: number; alphaErr: number; significance: number } | null;
  distanceArcsec: number;
  /** Nearest reference star within the match radius, if any. */
  catalog: { index: number; mag: number; separationArcsec: number } | null;
  /** 'catalog_absent', 'above_catalog_depth', 'fading', 'brightened', 'blended', 'crowded', 'saturated'. */
  flags: string[];
  score: number;
}

export interface EpochCandidates {
  /** Seconds after T0. */
  epochSec: number;
  /** T0 + epochSec, ISO. */
  epoch: string;
  frameIds: string[];
  /** Digest of the frame ids (FNV-1a 32, hex) with their count, e.g. "3-9f2c01ab". */
  revision: string;
  completenessMag: number;
  candidates: Candidate[];
}

/**
 * Completeness limit of a catalog from its magnitudes: the faint end of the fullest magnitude
 * window. Number counts rise towards faint magnitudes until the catalog loses stars, so the fullest
 * window ends where the counts turn over (at the cut of a catalog complete to a limit). A sliding
 * window, 0.5 mag wide for ≥ 400 stars and up to 1 mag for fewer (width ∝ 1/√N): with the hundred
 * stars of a small field, the fullest fixed 0.25-mag bin was up to 0.9 mag brighter than the cut
 * (Poisson noise between neighbouring bins). Ties: the brighter window. NaN without finite magnitudes.
 */
export function catalogDepth(mag: ArrayLike<number>, window?: number): number {
  const m = Array.from(mag).filter(Number.isFinite).sort((a, b) => a - b);
  const w = window ?? Math.min(1, Math.max(0.5, 0.5 * Math.sqrt(400 / Math.max(1, m.length))));
  let best = NaN, n = 0;
  for (let i = 0, lo = 0; i < m.length; i++) {
    while (m[lo] <= m[i] - w) lo++;
    if (i - lo + 1 > n) {
      n = i - lo + 1;
      best = m[i];
    }
  }
  return best;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function parseIso(t: string): number {
  const s = /[zZ]|[+-]\d{2}:?\d{2}$/.test(t.trim()) ? t.trim() : t.trim() + 'Z';
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) throw new RangeError(`not an ISO time: '${t}'`);
  return ms;
}

interface Det {
  frame: number; // index in the epoch's sorted frames
  src: number;
  x: number; // tangent plane, arcsec
  y: number;
}

/** Weighted linear fit y = a + b x; returns b, its error (scaled by √χ²ν when χ²ν > 1). */
function linfit(x: number[], y: number[], e: number[]): { b: number; be: number } | null {
  let S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const w = 1 / (e[i] * e[i]);
    S += w;
    Sx += w * x[i];
    Sy += w * y[i];
    Sxx += w * x[i] * x[i];
    Sxy += w * x[i] * y[i];
  }
  const D = S * Sxx - Sx * Sx;
  if (!(D > 0)) return null;
  const b = (S * Sxy - Sx * Sy) / D;
  const a = (Sxx * Sy - Sx * Sxy) / D;
  let be = Math.sqrt(S / D);
  if (x.length > 2) {
    let chi = 0;
    for (let i = 0; i < x.length; i++) chi += ((y[i] - a - b * x[i]) / e[i]) ** 2;
    const red = chi / (x.length - 2);
    if (red > 1) be *= Math.sqrt(red);
  }
  return { b, be };
}

function median(a: number[]): number {
  if (!a.length) return NaN;
  const s = a.slice().sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Moffat β of the PSF model used to predict the light of catalog neighbours (a typical ground-based PSF). */
const BLEND_BETA = 3;

/**
 * The light of a point source of unit flux at distance `d` from the centre of a circular aperture of
 * radius `r` that falls inside it, relative to the same source centred (Moffat β = 3 of FWHM `fwhm`;
 * the units of d, r, fwhm are the same). 1 at d = 0; a 2-D integral on a polar grid over the aperture.
 */
export function offsetApertureFraction(d: number, r: number, fwhm: number): number {
  if (!(r > 0 && fwhm > 0)) return d === 0 ? 1 : 0;
  const b = BLEND_BETA;
  const a2 = (fwhm / (2 * Math.sqrt(Math.pow(2, 1 / b) - 1))) ** 2;
  const centred = 1 - Math.pow(1 + (r * r) / a2, 1 - b); // × (β−1)/(πα²) normalisation cancels below
  if (d === 0) return 1;
  const NR = 24, NP = 32;
  let sum = 0;
  for (let i = 0; i < NR; i++) {
    const rho = ((i + 0.5) / NR) * r;
    let ring = 0;
    for (let j = 0; j < NP; j++) {
      const phi = ((j + 0.5) / NP) * Math.PI; // symmetric about the line to the source: half the circle, ×2
      const q2 = rho * rho + d * d - 2 * rho * d * Math.cos(phi);
      ring += Math.pow(1 + q2 / a2, -b);
    }
    sum += ring * rho;
  }
  const integral = (sum * (r / NR) * (Math.PI / NP) * 2 * (b - 1)) / (Math.PI * a2);
  return integral / centred;
}

/** Builds the candidate lists of every epoch (see module comment). */
export function buildCandidates(epochs: readonly number[], frameResults: readonly FrameResult[], catalog: ReferenceCatalog, alert: Alert, cfg: CandidateConfig = {}): EpochCandidates[] {
  const c = { ...CANDIDATE_DEFAULTS, ...cfg };
  const t0 = parseIso(alert.t0);
  const radiusArcsec = alert.errorRadiusDeg !== null && alert.errorRadiusDeg > 0 ? alert.errorRadiusDeg * 3600 : Infinity;
  const depth = catalog.completenessMag ?? catalogDepth(catalog.mag);

  // catalog on the tangent plane at the alert, in a grid of 10" cells
  const t = [0, 0];
  const cx = new Float64Array(catalog.ra.length), cy = new Float64Array(catalog.ra.length);
  const cgrid = new Map<number, number[]>();
  const CELL = 10;
  const key = (i: number, j: number) => (i + 1e6) * 2e6 + (j + 1e6);
  for (let i = 0; i < catalog.ra.length; i++) {
    skyToTangent(catalog.ra[i], catalog.dec[i], alert.ra, alert.dec, t);
    cx[i] = t[0] * 3600;
    cy[i] = t[1] * 3600;
    if (!Number.isFinite(cx[i])) continue;
    const k = key(Math.floor(cx[i] / CELL), Math.floor(cy[i] / CELL));
    (cgrid.get(k) ?? cgrid.set(k, []).get(k)!).push(i);
  }
  /** Catalog magnitude of every star within r of (x, y), summed in flux (Infinity when none). */
  const blendMag = (x: number, y: number, r: number): number => {
    let f = 0;
    const span = Math.ceil(r / CELL);
    const i0 = Math.floor(x / CELL), j0 = Math.floor(y / CELL);
    for (let i = -span; i <= span; i++)
      for (let j = -span; j <= span; j++)
        for (const s of cgrid.get(key(i0 + i, j0 + j)) ?? []) if (Math.hypot(cx[s] - x, cy[s] - y) <= r && Number.isFinite(catalog.mag[s])) f += Math.pow(10, -0.4 * catalog.mag[s]);
    return f > 0 ? -2.5 * Math.log10(f) : Infinity;
  };
  const nearestStar = (x: number, y: number, r: number): { index: number; sep: number } | null => {
    let best = -1, bd = r;
    const span = Math.ceil(r / CELL);
    const i0 = Math.floor(x / CELL), j0 = Math.floor(y / CELL);
    for (let i = -span; i <= span; i++)
      for (let j = -span; j <= span; j++)
        for (const s of cgrid.get(key(i0 + i, j0 + j)) ?? []) {
          const d = Math.hypot(cx[s] - x, cy[s] - y);
          if (d < bd || (d === bd && s < best)) {
            bd = d;
            best = s;
          }
        }
    return best < 0 ? null : { index: best, sep: bd };
  };

  /**
   * The catalog stars within `R` of (x, y) as one blended detection would see them: their light in an
   * aperture of radius `ap` centred there (as a magnitude; Infinity when none), and the light centre a
   * windowed centroid (Gaussian window of the PSF's σ) converges to, starting at (x, y); `sep` = the
   * largest distance of a star that contributes. Null without catalog stars.
   */
  const catalogBlend = (x: number, y: number, R: number, ap: number, fwhm: number): { mag: number; cx: number; cy: number; offset: number; sep: number; n: number } | null => {
    const ids: number[] = [];
    const span = Math.ceil(R / CELL);
    const i0 = Math.floor(x / CELL), j0 = Math.floor(y / CELL);
    for (let i = -span; i <= span; i++)
      for (let j = -span; j <= span; j++)
        for (const s of cgrid.get(key(i0 + i, j0 + j)) ?? []) if (Math.hypot(cx[s] - x, cy[s] - y) <= R && Number.isFinite(catalog.mag[s])) ids.push(s);
    if (!ids.length) return null;
    ids.sort((a, b) => a - b);
    let f = 0, sep = 0;
    for (const s of ids) {
      const d = Math.hypot(cx[s] - x, cy[s] - y);
      const fr = offsetApertureFraction(d, ap, fwhm);
      f += Math.pow(10, -0.4 * catalog.mag[s]) * fr;
      if (fr > 0.05) sep = Math.max(sep, d);
    }
    const sig2 = (fwhm / 2.354820045) ** 2;
    let ux = x, uy = y;
    for (let it = 0; it < 20; it++) {
      let w = 0, wx = 0, wy = 0;
      for (const s of ids) {
        const q = Math.pow(10, -0.4 * catalog.mag[s]) * Math.exp(-((cx[s] - ux) ** 2 + (cy[s] - uy) ** 2) / (4 * sig2));
        w += q;
        wx += q * cx[s];
        wy += q * cy[s];
      }
      if (!(w > 0)) break;
      const nx = wx / w, ny = wy / w;
      const moved = Math.hypot(nx - ux, ny - uy);
      ux = nx;
      uy = ny;
      if (moved < 1e-3) break;
    }
    return { mag: f > 0 ? -2.5 * Math.log10(f) : Infinity, cx: ux, cy: uy, offset: Math.hypot(ux - x, uy - y), sep, n: ids.length };
  };

  // usable frames, in event order, one per id
  const usable = frameResults
    .filter((f) => f.astrometry.ok && Number.isFinite(f.zeroPoint.zp))
    .map((f) => ({ f, ms: parseIso(f.dateObs) }))
    .sort((a, b) => a.ms - b.ms || (a.f.frameId < b.f.frameId ? -1 : a.f.frameId > b.f.frameId ? 1 : 0))
    .filter((e, i, arr) => i === 0 || arr[i - 1].f.frameId !== e.f.frameId);

  return [...epochs].map((epochSec) => {
    const until = t0 + epochSec * 1000;
    const frames = usable.filter((e) => e.ms <= until);
    const ids = frames.map((e) => e.f.frameId);
    const out: EpochCandidates = { epochSec, epoch: new Date(until).toISOString(), frameIds: ids, revision: `${ids.length}-${fnv1a(ids.join('\n'))}`, completenessMag: depth, candidates: [] };
    if (frames.length === 0) return out;
    const rmsAst = median(frames.map((e) => e.f.astrometry.rmsArcsec));
    const matchR = Math.max(3 * rmsAst, c.catalogMatchFloorArcsec);
    const zpScatter = median(frames.map((e) => e.f.zeroPoint.scatter).filter(Number.isFinite));
    // aperture radius on the sky (the blend radius for the catalog comparison)
    const apArcsec = median(frames.map((e) => (e.f.apertureRadius * e.f.fwhmArcsec) / e.f.fwhm).filter(Number.isFinite));
    const fwhmArcsec = median(frames.map((e) => e.f.fwhmArcsec).filter(Number.isFinite));

    // 1. detections in the search area
    const dets: Det[] = [];
    frames.forEach((e, fi) => {
      e.f.sources.forEach((s, si) => {
        if (!(s.snr >= c.minSnr) || !Number.isFinite(s.ra) || !Number.isFinite(s.mag)) return;
        skyToTangent(s.ra, s.dec, alert.ra, alert.dec, t);
        const x = t[0] * 3600, y = t[1] * 3600;
        if (!Number.isFinite(x) || Math.hypot(x, y) > radiusArcsec + c.linkRadiusArcsec) return;
        dets.push({ frame: fi, src: si, x, y });
      });
    });
    // friends of friends over a grid of link-radius cells
    const L = c.linkRadiusArcsec;
    const parent = Int32Array.from(dets.keys());
    const find = (i: number): number => {
      while (parent[i] !== i) i = parent[i] = parent[parent[i]];
      return i;
    };
    const grid = new Map<number, number[]>();
    dets.forEach((d, i) => {
      const k = key(Math.floor(d.x / L), Math.floor(d.y / L));
      (grid.get(k) ?? grid.set(k, []).get(k)!).push(i);
    });
    dets.forEach((d, i) => {
      const gi = Math.floor(d.x / L), gj = Math.floor(d.y / L);
      for (let a = -1; a <= 1; a++)
        for (let b = -1; b <= 1; b++)
          for (const j of grid.get(key(gi + a, gj + b)) ?? []) {
            if (j <= i || dets[j].frame === d.frame) continue;
            if (Math.hypot(dets[j].x - d.x, dets[j].y - d.y) > L) continue;
            const ri = find(i), rj = find(j);
            if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
          }
    });
    const groups = new Map<number, number[]>();
    dets.forEach((_, i) => {
      const r = find(i);
      (groups.get(r) ?? groups.set(r, []).get(r)!).push(i);
    });

    for (const members of groups.values()) {
      if (members.length < c.minFrames) continue;
      // one detection per frame: the nearest to the group's median position
      const mx = median(members.map((i) => dets[i].x)), my = median(members.map((i) => dets[i].y));
      const perFrame = new Map<number, number>();
      for (const i of members) {
        const d = dets[i];
        const o = perFrame.get(d.frame);
        const di = Math.hypot(d.x - mx, d.y - my);
        if (o === undefined) perFrame.set(d.frame, i);
        else {
          const dd = Math.hypot(dets[o].x - mx, dets[o].y - my);
          if (di < dd || (di === dd && (d.src < dets[o].src))) perFrame.set(d.frame, i);
        }
      }
      const chosen = [...perFrame.values()].sort((a, b) => dets[a].frame - dets[b].frame);
      const isSat = (i: number) => (frames[dets[i].frame].f.sources[dets[i].src].flags & FLAG.SATURATED) !== 0;
      // a saturated detection is kept when round and not sharper than the PSF (its flat top is
      // wider than the PSF, so no upper FWHM bound): a bright afterglow saturates the first frames
      const used = chosen.filter((i) => {
        const e = frames[dets[i].frame].f;
        const s = e.sources[dets[i].src];
        if (s.flags & (FLAG.EDGE | FLAG.MASKED)) return false;
        const ratio = s.fwhm / e.fwhm;
        if (Number.isFinite(e.fwhm) && !(ratio >= c.fwhmRange[0] && (isSat(i) || ratio <= c.fwhmRange[1]))) return false;
        return !(s.b > 0) || s.a / s.b <= c.maxElongation;
      });
      if (used.length < c.minFrames) continue;
      const good = used.filter((i) => !isSat(i));
      const nSat = used.length - good.length;

      // position: weighted mean on the plane
      let sw = 0, sx = 0, sy = 0;
      for (const i of used) {
        const s = frames[dets[i].frame].f.sources[dets[i].src];
        const w = 1 / Math.max(1e-6, s.posErrArcsec) ** 2;
        sw += w;
        sx += w * dets[i].x;
        sy += w * dets[i].y;
      }
      const px = sx / sw, py = sy / sw;
      const dist = Math.hypot(px, py);
      if (dist > radiusArcsec) continue;
      const sky = tangentToSky(px / 3600, py / 3600, alert.ra, alert.dec, [0, 0]);

      // light curve: the kept detections, saturated ones marked (their magnitude is a faint bound).
      // Frames where the source was detected but flagged (on the edge, or its aperture on masked
      // pixels — a cosmic ray can add or, masked, remove most of the flux) give no point at all:
      // never an upper limit where the source was seen.
      const lc: LightCurvePoint[] = [];
      let mw = 0, mm = 0, bestSnr = 0;
      const bright2: Array<[number, number]> = [];
      const detFrames = new Set<number>(chosen.map((i) => dets[i].frame));
      for (const i of used) {
        const e = frames[dets[i].frame];
        const s = e.f.sources[dets[i].src];
        const err = Math.hypot(s.magErr, e.f.zeroPoint.zpErr);
        const saturated = isSat(i);
        lc.push({ frameId: e.f.frameId, t: (e.ms - t0) / 1000 + e.f.exptime / 2, mag: s.mag, magErr: err, upperLimit: false, saturated });
        bestSnr = Math.max(bestSnr, s.snr);
        bright2.push([s.mag, err]);
        // the mean magnitude from the unsaturated detections, from the saturated ones when there are no others
        if (saturated && good.length) continue;
        const w = 1 / (err * err);
        mw += w;
        mm += w * s.mag;
      }
      // upper limits from the frames covering the position without a good detection
      frames.forEach((e, fi) => {
        if (detFrames.has(fi) || !e.f.wcs || !Number.isFinite(e.f.limitingMag)) return;
        if (!skyToPixSafe(e.f, sky[0], sky[1])) return;
        lc.push({ frameId: e.f.frameId, t: (e.ms - t0) / 1000 + e.f.exptime / 2, mag: localLimit(e.f, sky[0], sky[1]), magErr: NaN, upperLimit: true, saturated: false });
      });
      lc.sort((a, b) => a.t - b.t || (a.frameId < b.frameId ? -1 : 1));
      // orphans: a detection whose frames just before and just after both saw nothing down to a limit
      // more than 1 mag (+ 2σ) fainter — a source that is there in one frame only, such as a cosmic-ray
      // spot an undersampled PSF does not tell from a star, falling twice on one place by chance.
      // A group needs `minFrames` detections that are not orphans.
      let confirmed = 0;
      for (let k = 0; k < lc.length; k++) {
        const p = lc[k];
        if (p.upperLimit) continue;
        const before = lc[k - 1], after = lc[k + 1];
        const deep = (q: LightCurvePoint | undefined) => !!q && q.upperLimit && q.mag > p.mag + 1 + 2 * p.magErr;
        if (p.saturated || !(deep(before) && deep(after))) confirmed++;
      }
      if (confirmed < c.minFrames) continue;
      const meanMag = mm / mw;
      const meanMagErr = 1 / Math.sqrt(mw);
      const latest = lc.filter((p) => !p.upperLimit && !p.saturated).at(-1) ?? lc.filter((p) => !p.upperLimit).at(-1)!;
      const mag = latest.mag;
      const magErr = latest.magErr;

      // fading: mag = a + 2.5 α log10 t over the unsaturated detections after T0
      const pts = lc.filter((p) => !p.upperLimit && !p.saturated && p.t > 0);
      let fading: Candidate['fading'] = null;
      if (pts.length >= 2 && new Set(pts.map((p) => p.t)).size >= 2) {
        const f = linfit(
          pts.map((p) => 2.5 * Math.log10(p.t)),
          pts.map((p) => p.mag),
          pts.map((p) => Math.max(p.magErr, 1e-3)),
        );
        if (f) fading = { alpha: f.b, alphaErr: f.be, significance: f.b / f.be };
      }
      const isFading = !!fading && fading.significance >= c.fadingSigma && fading.alpha > 0;

      // catalog (a saturated centroid may sit off the star's position: matched within the aperture)
      let star = nearestStar(px, py, nSat && Number.isFinite(apArcsec) ? Math.max(matchR, apArcsec) : matchR);
      const flags: string[] = [];
      let keep = false;
      const scatter = Number.isFinite(zpScatter) ? zpScatter : 0.1;
      /** The brightening test against catalog light `cm` (mag) with a model error `modelErr` (mag). */
      const brightened = (cm: number, modelErr: number): boolean => {
        const sig = Math.sqrt(meanMagErr * meanMagErr + scatter * scatter + modelErr * modelErr);
        const each = lc.filter((p) => !p.upperLimit && cm - p.mag > c.brightenEachSigma * Math.hypot(p.magErr, scatter, modelErr)).length;
        // the extra light (at 2σ) must itself be brighter than the catalog's completeness limit:
        // fainter, it may be a neighbour the catalog does not list, inside the aperture
        const extra = Math.pow(10, -0.4 * (meanMag + 2 * sig)) - Math.pow(10, -0.4 * cm);
        const extraMag = extra > 0 ? -2.5 * Math.log10(extra) : Infinity;
        return cm - meanMag > c.brightenSigma * sig && each >= c.minFrames && extraMag < depth - c.completenessMargin;
      };
      // Blends: with no catalog star at the position, the catalog stars around it (within the match
      // radius + 1.5 FWHM) as one detection would see them — their light in the aperture (Moffat PSF)
      // and the light centre a windowed centroid finds. When that centre is where the detection is,
      // the detection is their blend (two stars near the catalog depth, 1–1.6″ from either
      // position): a candidate only if brighter than their light, as a brightened star is.
      // (not for a source measured on a bright star's wing with the star's model subtracted, wings.ts:
      // the neighbour's light is not in its flux)
      const onWing = used.filter((i) => frames[dets[i].frame].f.sources[dets[i].src].flags & FLAG.WING).length * 2 >= used.length;
      const blend = !star && !onWing && Number.isFinite(fwhmArcsec) && Number.isFinite(apArcsec) ? catalogBlend(px, py, matchR + 1.5 * fwhmArcsec, apArcsec, fwhmArcsec) : null;
      const blendExplains = !!blend && Number.isFinite(blend.mag) && blend.offset <= Math.max(matchR, 0.35 * fwhmArcsec);
      if (blendExplains) {
        star = nearestStar(px, py, matchR + 1.5 * fwhmArcsec);
        if (brightened(blend!.mag, 0.1)) {
          flags.push('brightened');
          keep = true;
        }
      } else if (!star) {
        flags.push('catalog_absent');
        // the light of catalog neighbours inside the aperture is not the source's
        const own = (m: number) => {
          if (!blend || !Number.isFinite(blend.mag)) return m;
          const f = Math.pow(10, -0.4 * m) - Math.pow(10, -0.4 * blend.mag);
          return f > 0 ? -2.5 * Math.log10(f) : Infinity;
        };
        // the catalog depth per blend: a steady detection wider than the PSF may be two or three
        // stars the catalog does not list, each just below its depth (18.5 + 19.0 + 20.1 mag within
        // 1.3″ read 17.9 at 2″ seeing, width 1.2× the PSF's; a single star reads 1.00 ± 0.05): its
        // limit is 0.75 mag brighter (two stars at the depth). A fading source keeps the plain limit.
        const widths = used.filter((i) => !isSat(i)).map((i) => frames[dets[i].frame].f.sources[dets[i].src].fwhm / frames[dets[i].frame].f.fwhm);
        const elong = used.map((i) => {
          const q = frames[dets[i].frame].f.sources[dets[i].src];
          return q.b > 0 ? q.a / q.b : 1;
        });
        const extended = !isFading && (median(widths) > 1.15 || median(elong) > 1.4);
        const limit = depth - c.completenessMargin - (extended ? 0.75 : 0);
        // brighter than the limit at 2σ in one detection, and not fainter than it at 2σ in `minFrames`:
        // one frame where a cosmic ray the calibration could not tell from an undersampled star fell
        // on a faint unlisted star (18.84 ± 0.1 read 17.87 once) is not enough; a faint afterglow at
        // S/N 15 then 10 (its second detection just below the limit) still is
        const faintEnd = bright2.map(([m, e]) => m + 2 * e).sort((a, b) => a - b);
        const brightEnd = bright2.map(([m, e]) => m - 2 * e).sort((a, b) => a - b);
        if (own(faintEnd[0]) < limit && own(brightEnd[Math.min(brightEnd.length, c.minFrames) - 1]) < limit) {
          flags.push('above_catalog_depth');
          keep = true;
        }
        if (isFading) keep = true;
      } else {
        const cm = Math.min(catalog.mag[star.index], blendMag(px, py, Number.isFinite(apArcsec) ? Math.max(apArcsec, star.sep) : star.sep));
        if (brightened(cm, 0)) {
          flags.push('brightened');
          keep = true;
        }
      }
      if (isFading) flags.push('fading');
      if (!keep) continue;
      if (nSat) flags.push('saturated');
      for (const i of used) {
        const s = frames[dets[i].frame].f.sources[dets[i].src];
        if (s.flags & FLAG.BLENDED && !flags.includes('blended')) flags.push('blended');
        if (s.flags & FLAG.CROWDED && !flags.includes('crowded')) flags.push('crowded');
      }

      // id from the first two kept detections in event time
      const first = used.slice(0, 2);
      let fx = 0, fy = 0;
      for (const i of first) (fx += dets[i].x), (fy += dets[i].y);
      const idSky = tangentToSky(fx / first.length / 3600, fy / first.length / 3600, alert.ra, alert.dec, [0, 0]);

      const sPos = Number.isFinite(radiusArcsec) ? Math.max(0, 1 - dist / radiusArcsec) : 0.5;
      const sSnr = Math.min(1, bestSnr / 20);
      const sFade = isFading ? Math.min(1, fading!.significance / 10) : 0;
      const sN = Math.min(1, used.length / 4);
      const score = 0.3 * sSnr + 0.3 * sFade + 0.25 * sPos + 0.15 * sN;

      out.candidates.push({
        id: `GP1 ${designation(idSky[0], idSky[1])}`,
        ra: sky[0],
        dec: sky[1],
        posErrArcsec: 1 / Math.sqrt(sw),
        mag,
        magErr,
        meanMag,
        meanMagErr,
        nDetections: used.length,
        lightCurve: lc,
        fading,
        distanceArcsec: angularSeparation(sky[0], sky[1], alert.ra, alert.dec) * 3600,
        catalog: star ? { index: star.index, mag: catalog.mag[star.index], separationArcsec: star.sep } : null,
        flags,
        score: Math.round(score * 1e4) / 1e4,
      });
    }
    out.candidates.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  });
}

/** Whether a sky position falls on a frame (with a 5-pixel margin). */
/**
 * The limiting magnitude at a position: the frame's, or shallower on a bright star's wing (what its
 * model's residual leaves there, frame.ts localLimits) — an upper limit never deeper than the data
 * there allow (issue 20: limits of 21.3 beside a 13-mag star where the afterglow was 17–19).
 */
export function localLimit(f: FrameResult, ra: number, dec: number): number {
  let lim = f.limitingMag;
  if (!f.localLimits?.length || !f.wcs) return lim;
  const [x, y] = skyToPix(f.wcs, ra, dec, [0, 0]);
  for (const z of f.localLimits) {
    const d = Math.hypot(x - z.x, y - z.y);
    if (d > z.radius) continue;
    const v = z.limits[Math.floor(d)];
    if (Number.isFinite(v) && v < lim) lim = v;
  }
  return lim;
}

function skyToPixSafe(f: FrameResult, ra: number, dec: number): boolean {
  if (!f.wcs) return false;
  const [x, y] = skyToPix(f.wcs, ra, dec, [0, 0]);
  return x >= 5 && y >= 5 && x < f.width - 5 && y < f.height - 5;
}
