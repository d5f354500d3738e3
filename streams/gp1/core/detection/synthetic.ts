/**
 * Synthetic calibrated frames for tests and benchmarks: stars (pixel-integrated Gaussian, or Moffat
 * sampled 5×5 per pixel) on a flat sky, with the noise model of the calibration stage:
 * per-pixel variance (counts/s)² = (RN²/g² + (sky + star)·t/g) / t², and weight = 1/(sky variance)
 * as the calibration writes it (RN²/g + sky·t)/(g t²). Deterministic for a given seed.
 */
import { erf, makeRng } from '../../../../lib/stats/distributions.ts';
import { MASK } from './detect.ts';
import { skyToPix, type TanWcs } from '../../../../lib/wcs/index.ts';

/** Seeded PRNG (mulberry32) and a standard normal deviate (the shared one in lib/stats). */
export const rng = makeRng;

export interface SyntheticStar {
  /** 0-based pixel centre. */
  x: number;
  y: number;
  /** Total flux, counts/s. */
  flux: number;
}

export interface SyntheticFrameSpec {
  width: number;
  height: number;
  stars: SyntheticStar[];
  /** Sky, counts/s per pixel (default 20). */
  sky?: number;
  exptime?: number; // s, default 60
  gain?: number; // e−/ADU, default 6.2
  readNoise?: number; // e−, default 10
  fwhm?: number; // px, default 3
  psf?: 'gaussian' | 'moffat';
  beta?: number; // Moffat β, default 3
  /** Saturation in counts/s: pixels above are clipped and get mask bit 4. */
  saturation?: number;
  /** Hot pixels and cosmic rays to add (flagged in the mask). */
  hotPixels?: number;
  cosmicRays?: number;
  seed?: number;
  /** Skip noise (for exactness tests). */
  noiseless?: boolean;
}

export interface SyntheticFrame {
  width: number;
  height: number;
  data: Float32Array;
  weight: Float32Array;
  mask: Uint8Array;
  /** Per-pixel sky σ, counts/s. */
  skySigma: number;
}

function Phi(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/** Adds one star to `img`: Gaussian integrated exactly over pixels, or Moffat sampled on a 5×5 grid. */
export function addStar(img: Float32Array, width: number, height: number, s: SyntheticStar, fwhm: number, psf: 'gaussian' | 'moffat' = 'gaussian', beta = 3): void {
  if (psf === 'gaussian') {
    const sigma = fwhm / 2.354820045;
    const R = Math.ceil(6 * sigma + 2);
    const xa = Math.max(0, Math.floor(s.x) - R), xb = Math.min(width - 1, Math.ceil(s.x) + R);
    const ya = Math.max(0, Math.floor(s.y) - R), yb = Math.min(height - 1, Math.ceil(s.y) + R);
    if (xa > xb || ya > yb) return;
    const gx = new Float64Array(xb - xa + 1);
    for (let x = xa; x <= xb; x++) gx[x - xa] = Phi((x + 0.5 - s.x) / sigma) - Phi((x - 0.5 - s.x) / sigma);
    for (let y = ya; y <= yb; y++) {
      const gy = s.flux * (Phi((y + 0.5 - s.y) / sigma) - Phi((y - 0.5 - s.y) / sigma));
      const row = y * width;
      for (let x = xa; x <= xb; x++) img[row + x] += gy * gx[x - xa];
    }
    return;
  }
  const alpha = fwhm / (2 * Math.sqrt(Math.pow(2, 1 / beta) - 1));
  const norm = (s.flux * (beta - 1)) / (Math.PI * alpha * alpha);
  const R = Math.ceil(8 * fwhm);
  const xa = Math.max(0, Math.floor(s.x) - R), xb = Math.min(width - 1, Math.ceil(s.x) + R);
  const ya = Math.max(0, Math.floor(s.y) - R), yb = Math.min(height - 1, Math.ceil(s.y) + R);
  const inv = 1 / (alpha * alpha);
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      let acc = 0;
      for (let j = 0; j < 5; j++) {
        const dy = y - s.y + (j - 2) / 5;
        for (let i = 0; i < 5; i++) {
          const dx = x - s.x + (i - 2) / 5;
          acc += Math.pow(1 + (dx * dx + dy * dy) * inv, -beta);
        }
      }
      img[y * width + x] += (norm * acc) / 25;
    }
  }
}

/** Makes a noisy calibrated frame (counts/s, weight, mask) with the given stars. */
export function makeFrame(spec: SyntheticFrameSpec): SyntheticFrame {
  const { width, height } = spec;
  const N = width * height;
  const sky = spec.sky ?? 20;
  const t = spec.exptime ?? 60;
  const g = spec.gain ?? 6.2;
  const rn = spec.readNoise ?? 10;
  const r = rng(spec.seed ?? 1);
  const data = new Float32Array(N);
  for (const s of spec.stars) addStar(data, width, height, s, spec.fwhm ?? 3, spec.psf ?? 'gaussian', spec.beta ?? 3);
  const skyVar = (rn * rn) / (g * g * t * t) + sky / (g * t);
  const w = 1 / skyVar;
  const weight = new Float32Array(N).fill(w);
  const mask = new Uint8Array(N);
  const invGt = 1 / (g * t);
  for (let p = 0; p < N; p++) {
    const star = data[p];
    const v = spec.noiseless ? 0 : Math.sqrt(skyVar + (star > 0 ? star * invGt : 0)) * r.normal();
    data[p] = sky + star + v;
  }
  if (spec.saturation !== undefined) {
    for (let p = 0; p < N; p++) {
      if (data[p] >= spec.saturation) {
        data[p] = spec.saturation;
        mask[p] |= MASK.SATURATED;
      }
    }
  }
  for (let k = 0; k < (spec.hotPixels ?? 0); k++) {
    const p = Math.floor(r.uniform() * N);
    data[p] += 50 * Math.sqrt(skyVar) * (1 + r.uniform());
    mask[p] |= MASK.HOT;
  }
  for (let k = 0; k < (spec.cosmicRays ?? 0); k++) {
    // a short track of 2–4 pixels
    let x = Math.floor(r.uniform() * (width - 6)) + 3, y = Math.floor(r.uniform() * (height - 6)) + 3;
    const len = 2 + Math.floor(r.uniform() * 3);
    for (let i = 0; i < len; i++) {
      const p = y * width + x;
      data[p] += 80 * Math.sqrt(skyVar) * (0.5 + r.uniform());
      mask[p] |= MASK.COSMIC;
      x += r.uniform() < 0.5 ? 1 : 0;
      y += 1;
    }
  }
  return { width, height, data, weight, mask, skySigma: Math.sqrt(skyVar) };
}

/** A star field around (ra, dec): uniform on the sky in a disk of `radiusDeg`, magnitudes with counts ∝ 10^(0.3 m). */
export function makeStarField(o: { ra: number; dec: number; radiusDeg: number; n: number; magMin: number; magMax: number; seed?: number }): { ra: Float64Array; dec: Float64Array; mag: Float64Array } {
  const r = rng(o.seed ?? 2);
  const ra = new Float64Array(o.n), dec = new Float64Array(o.n), mag = new Float64Array(o.n);
  const cd = Math.cos((o.dec * Math.PI) / 180);
  const a0 = Math.pow(10, 0.3 * o.magMin), a1 = Math.pow(10, 0.3 * o.magMax);
  for (let i = 0; i < o.n; i++) {
    const rr = o.radiusDeg * Math.sqrt(r.uniform());
    const th = 2 * Math.PI * r.uniform();
    dec[i] = o.dec + rr * Math.sin(th);
    ra[i] = (o.ra + (rr * Math.cos(th)) / cd + 360) % 360;
    mag[i] = Math.log10(a0 + (a1 - a0) * r.uniform()) / 0.3;
  }
  return { ra, dec, mag };
}

/** Pixel positions and fluxes of the field stars that fall on a frame with WCS `w` (zero point `zp`: flux = 10^(−0.4 (m − zp))). */
export function starsOnFrame(field: { ra: ArrayLike<number>; dec: ArrayLike<number>; mag: ArrayLike<number> }, w: TanWcs, width: number, height: number, zp: number, margin = 10): (SyntheticStar & { index: number; mag: number })[] {
  const out: (SyntheticStar & { index: number; mag: number })[] = [];
  const p = [0, 0];
  for (let i = 0; i < field.ra.length; i++) {
    skyToPix(w, field.ra[i], field.dec[i], p);
    if (!(p[0] > -margin && p[1] > -margin && p[0] < width + margin && p[1] < height + margin)) continue;
    out.push({ x: p[0], y: p[1], flux: Math.pow(10, -0.4 * (field.mag[i] - zp)), index: i, mag: field.mag[i] });
  }
  return out;
}


export interface SyntheticNightSpec {
  ra?: number;
  dec?: number;
  width?: number;
  height?: number;
  scaleArcsec?: number;
  /** Header WCS error: pointing offset (arcmin, along RA and Dec) and rotation (deg). */
  headerOffsetArcmin?: [number, number];
  headerRotationDeg?: number;
  /** Frame start times after T0, seconds. */
  starts?: number[];
  exptime?: number;
  zp?: number;
  fwhm?: number;
  /** Catalog stops at this magnitude; the field goes fainter (to `fieldMagMax`). */
  catalogDepth?: number;
  fieldMagMax?: number;
  nStars?: number;
  /** Afterglow: magnitude at t = 300 s and decay index α (flux ∝ t^−α); null = none. */
  afterglow?: { mag300: number; alpha: number; offsetArcsec?: [number, number] } | null;
  errorRadiusDeg?: number | null;
  seed?: number;
  hotPixels?: number;
  cosmicRays?: number;
  /** Brightest field star (mag, default 12; stars brighter than ≈ 11.3 saturate at zp 23, 60 s). */
  fieldMagMin?: number;
  /** Extra stars at offsets (arcsec east, north) from the alert position, in the catalog when ≤ `catalogDepth`. */
  extraStars?: Array<{ offsetArcsec: [number, number]; mag: number }>;
}

export interface SyntheticNight {
  t0: string;
  alert: { t0: string; ra: number; dec: number; errorRadiusDeg: number | null };
  catalog: { ra: Float64Array; dec: Float64Array; mag: Float64Array };
  /** Faint field stars not in the catalog (positions and magnitudes), for checks. */
  faint: { ra: number; dec: number; mag: number }[];
  afterglow: { ra: number; dec: number; magAt(t: number): number } | null;
  frames: Array<{ frameId: string; dateObs: string; exptime: number; width: number; height: number; data: Float32Array; weight: Float32Array; mask: Uint8Array; gain: number; trueWcs: TanWcs; headerWcs: TanWcs; tMid: number }>;
}

/**
 * A synthetic follow-up night: a star field, a catalog cut at `catalogDepth`, frames of the field at
 * the given times (pointing jitter of a few pixels between frames), each with a header WCS that is
 * off by `headerOffsetArcmin` and `headerRotationDeg`, and optionally a fading afterglow near the
 * alert position.
 */
export function makeNight(spec: SyntheticNightSpec = {}): SyntheticNight {
  const ra0 = spec.ra ?? 150.0, dec0 = spec.dec ?? 20.0;
  const width = spec.width ?? 1024, height = spec.height ?? 1024;
  const scale = spec.scaleArcsec ?? 0.7;
  const zp = spec.zp ?? 23;
  const exptime = spec.exptime ?? 60;
  const starts = spec.starts ?? [120, 240, 420, 600, 900, 1500, 2400, 3300];
  const depth = spec.catalogDepth ?? 19;
  const r = rng(spec.seed ?? 11);
  const radiusDeg = (Math.hypot(width, height) * scale) / 3600 / 2 + 0.15;
  const field = makeStarField({ ra: ra0, dec: dec0, radiusDeg, n: spec.nStars ?? Math.round(1500 * (width * height) / 1024 ** 2), magMin: spec.fieldMagMin ?? 12, magMax: spec.fieldMagMax ?? 21.5, seed: (spec.seed ?? 11) + 1 });
  if (spec.extraStars?.length) {
    const cd = Math.cos((dec0 * Math.PI) / 180);
    const x = spec.extraStars;
    // around the alert position (RA ra0 + 20/3600°, Dec dec0 − 10″)
    field.ra = Float64Array.from([...field.ra, ...x.map((e) => ra0 + 20 / 3600 + e.offsetArcsec[0] / 3600 / cd)]);
    field.dec = Float64Array.from([...field.dec, ...x.map((e) => dec0 + (-10 + e.offsetArcsec[1]) / 3600)]);
    field.mag = Float64Array.from([...field.mag, ...x.map((e) => e.mag)]);
  }
  const keep: number[] = [];
  const faint: { ra: number; dec: number; mag: number }[] = [];
  for (let i = 0; i < field.ra.length; i++) {
    if (field.mag[i] <= depth) keep.push(i);
    else faint.push({ ra: field.ra[i], dec: field.dec[i], mag: field.mag[i] });
  }
  const catalog = { ra: Float64Array.from(keep, (i) => field.ra[i]), dec: Float64Array.from(keep, (i) => field.dec[i]), mag: Float64Array.from(keep, (i) => field.mag[i]) };
  const t0ms = Date.UTC(2019, 9, 16, 8, 30, 0);
  const t0 = new Date(t0ms).toISOString();
  const ag = spec.afterglow === undefined ? { mag300: 17.5, alpha: 1.0 } : spec.afterglow;
  const agOff = ag?.offsetArcsec ?? [40, -25];
  const agPos = [ra0 + agOff[0] / 3600 / Math.cos((dec0 * Math.PI) / 180), dec0 + agOff[1] / 3600];
  const afterglow = ag ? { ra: agPos[0], dec: agPos[1], magAt: (t: number) => ag.mag300 + 2.5 * ag.alpha * Math.log10(t / 300) } : null;
  const [offRa, offDec] = spec.headerOffsetArcmin ?? [4, 3];
  const rot = spec.headerRotationDeg ?? 1;
  const frames: SyntheticNight['frames'] = [];
  starts.forEach((start, k) => {
    const jx = (r.uniform() - 0.5) * 20, jy = (r.uniform() - 0.5) * 20;
    const trueWcs = rotateWcs(makeWcsLocal(ra0, dec0, (width + 1) / 2 + jx, (height + 1) / 2 + jy, scale), 0.05 * (r.uniform() - 0.5));
    const headerWcs = rotateWcs({ ...trueWcs, crval1: trueWcs.crval1 + offRa / 60 / Math.cos((dec0 * Math.PI) / 180), crval2: trueWcs.crval2 + offDec / 60 }, rot);
    const stars: SyntheticStar[] = starsOnFrame(field, trueWcs, width, height, zp);
    const tMid = start + exptime / 2;
    if (afterglow) {
      const p = skyToPix(trueWcs, afterglow.ra, afterglow.dec);
      stars.push({ x: p[0], y: p[1], flux: Math.pow(10, -0.4 * (afterglow.magAt(tMid) - zp)) });
    }
    const f = makeFrame({ width, height, stars, exptime, fwhm: spec.fwhm ?? 3, seed: (spec.seed ?? 11) * 100 + k, hotPixels: spec.hotPixels ?? 30, cosmicRays: spec.cosmicRays ?? 15, saturation: 3000 });
    frames.push({ frameId: `synthetic-${String(k).padStart(2, '0')}`, dateObs: new Date(t0ms + start * 1000).toISOString(), exptime, width, height, data: f.data, weight: f.weight, mask: f.mask, gain: 6.2, trueWcs, headerWcs, tMid });
  });
  return { t0, alert: { t0, ra: ra0 + 20 / 3600, dec: dec0 - 10 / 3600, errorRadiusDeg: spec.errorRadiusDeg === undefined ? 2 / 60 : spec.errorRadiusDeg }, catalog, faint, afterglow, frames };
}

function makeWcsLocal(ra: number, dec: number, crpix1: number, crpix2: number, scale: number): TanWcs {
  const s = scale / 3600;
  return { crval1: ra, crval2: dec, crpix1, crpix2, cd: [-s, 0, 0, s] };
}

function rotateWcs(w: TanWcs, deg: number): TanWcs {
  const c = Math.cos((deg * Math.PI) / 180), s = Math.sin((deg * Math.PI) / 180);
  const [a, b, cc, d] = w.cd;
  return { ...w, cd: [c * a + s * cc, c * b + s * d, -s * a + c * cc, -s * b + c * d] };
}
