/**
 * Synthetic raw frames with a known truth, for tests and benchmarks: overscan pedestal, a fixed bias
 * pattern, a dark-rate map (with hot pixels), a flat (illumination × pixel response), sky and
 * Gaussian stars (pixel-integrated), Poisson noise in electrons (normal approximation) and read
 * noise. Deterministic for a given seed. Units: ADU, ADU/s (rates at flat 1), e-/ADU, e-.
 */
import type { HeaderLike, Section } from '../camera.ts';
import type { RawFrame } from './frame.ts';
import { erf, makeRng } from '../../../../lib/stats/distributions.ts';

/** The shared seeded PRNG and erf (lib/stats), under the names the calibration tests use. */
export { erf, makeRng };

/** A header backed by a plain object (keys upper-case). */
export class MapHeader implements HeaderLike {
  readonly values: Record<string, string | number | boolean>;
  constructor(values: Record<string, string | number | boolean> = {}) {
    this.values = { ...values };
  }
  get(key: string): string | number | boolean | undefined {
    return this.values[key.toUpperCase()];
  }
  set(key: string, v: string | number | boolean): void {
    this.values[key.toUpperCase()] = v;
  }
}

export interface SyntheticStar {
  /** 0-based position in the data section (pixel centres at integers). */
  x: number;
  y: number;
  /** Total flux, ADU/s at flat 1. */
  flux: number;
  /** FWHM, px (Gaussian, before pixel integration). */
  fwhm: number;
}

export interface SyntheticCamera {
  width: number;
  height: number;
  overscan: Section | null;
  data: Section;
  gain: number;
  /** e-. */
  readNoise: number;
  saturation: number;
}

export interface Truth {
  /** Data-section size. */
  width: number;
  height: number;
  /** Overscan pedestal, ADU. */
  pedestal: number;
  /** Bias structure above the pedestal, ADU, data section. */
  bias: Float32Array;
  /** Dark rate, ADU/s. */
  dark: Float32Array;
  /** Flat response (any normalisation). */
  flat: Float32Array;
}

/** Builds a truth: bias with a column pattern and a gradient, dark with `nHot` hot pixels, flat with vignetting and 1% pixel response. */
export function makeTruth(cam: SyntheticCamera, opts: { seed?: number; pedestal?: number; darkRate?: number; nHot?: number; hotRate?: number; flatPrnu?: number; vignetting?: number } = {}): Truth {
  const rng = makeRng(opts.seed ?? 1);
  const W = cam.data.x2 - cam.data.x1 + 1;
  const H = cam.data.y2 - cam.data.y1 + 1;
  const n = W * H;
  const bias = new Float32Array(n);
  const dark = new Float32Array(n);
  const flat = new Float32Array(n);
  const colPattern = new Float32Array(W);
  for (let x = 0; x < W; x++) colPattern[x] = 2 * Math.sin(x / 7) + rng.normal();
  const prnu = opts.flatPrnu ?? 0.01;
  const vig = opts.vignetting ?? 0.15;
  const rate = opts.darkRate ?? 0.05;
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  const r2max = cx * cx + cy * cy;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      bias[i] = 5 + colPattern[x] + (3 * y) / H;
      dark[i] = rate * (1 + 0.1 * rng.normal());
      const r2 = ((x - cx) ** 2 + (y - cy) ** 2) / r2max;
      flat[i] = (1 - vig * r2) * (1 + prnu * rng.normal());
    }
  }
  for (let k = 0; k < (opts.nHot ?? 20); k++) dark[Math.floor(rng.uniform() * n)] = (opts.hotRate ?? 20) * (1 + rng.uniform());
  return { width: W, height: H, pedestal: opts.pedestal ?? 1000, bias, dark, flat };
}

export interface FrameSpec {
  name: string;
  type: 'bias' | 'dark' | 'flat' | 'object';
  exptime: number;
  /** Uniform illumination, ADU/s at flat 1 (flats: the lamp/twilight; objects: the sky). */
  level?: number;
  stars?: SyntheticStar[];
  /** Add noise (default true). */
  noise?: boolean;
  seed?: number;
  filter?: string;
  binning?: string;
  dateObs?: string;
  /** Cosmic-ray hits: [x, y, ADU] in data-section coordinates, added after noise. */
  cosmics?: [number, number, number][];
  /** Extra header values. */
  header?: Record<string, string | number | boolean>;
}

/** Renders the star flux image (ADU/s at flat 1) of a data section: pixel-integrated Gaussians within ±5σ. */
export function renderStars(W: number, H: number, stars: SyntheticStar[], out = new Float32Array(W * H)): Float32Array {
  for (const s of stars) {
    const sig = s.fwhm / (2 * Math.sqrt(2 * Math.LN2));
    const r = Math.ceil(5 * sig) + 1;
    const k = 1 / (Math.SQRT2 * sig);
    const x0 = Math.max(0, Math.floor(s.x) - r);
    const x1 = Math.min(W - 1, Math.floor(s.x) + r);
    const y0 = Math.max(0, Math.floor(s.y) - r);
    const y1 = Math.min(H - 1, Math.floor(s.y) + r);
    const fx = new Float64Array(x1 - x0 + 1);
    for (let x = x0; x <= x1; x++) fx[x - x0] = 0.5 * (erf((x + 0.5 - s.x) * k) - erf((x - 0.5 - s.x) * k));
    for (let y = y0; y <= y1; y++) {
      const fy = 0.5 * (erf((y + 0.5 - s.y) * k) - erf((y - 0.5 - s.y) * k));
      const row = y * W;
      for (let x = x0; x <= x1; x++) out[row + x] += s.flux * fy * fx[x - x0];
    }
  }
  return out;
}

/**
 * A raw frame: raw = pedestal + bias + dark·t + (level + stars)·t·flat, in ADU, with Poisson noise
 * of the electrons and read noise, clipped at the saturation. The overscan holds pedestal + read
 * noise. Pixels outside both sections hold the pedestal.
 */
export function makeRawFrame(cam: SyntheticCamera, truth: Truth, spec: FrameSpec): RawFrame {
  const rng = makeRng(spec.seed ?? 7);
  const { width: W, height: H } = truth;
  const data = new Float32Array(cam.width * cam.height).fill(truth.pedestal);
  const noise = spec.noise ?? true;
  const g = cam.gain;
  const rnAdu = cam.readNoise / g;
  const t = spec.exptime;
  const stars = spec.stars?.length ? renderStars(W, H, spec.stars) : null;
  const lit = spec.type === 'flat' || spec.type === 'object';
  const level = lit ? (spec.level ?? 0) : 0;
  const useDark = spec.type !== 'bias';
  const dx = cam.data.x1 - 1;
  const dy = cam.data.y1 - 1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      let signal = (useDark ? truth.dark[i] * t : 0) + (lit ? (level + (stars ? stars[i] : 0)) * t * truth.flat[i] : 0);
      if (noise) signal += Math.sqrt(Math.max(signal, 0) / g) * rng.normal() + rnAdu * rng.normal();
      let v = truth.pedestal + truth.bias[i] + signal;
      if (v > cam.saturation) v = cam.saturation;
      data[(y + dy) * cam.width + x + dx] = v;
    }
  }
  if (cam.overscan && noise) {
    const o = cam.overscan;
    for (let y = o.y1 - 1; y < o.y2; y++) for (let x = o.x1 - 1; x < o.x2; x++) data[y * cam.width + x] = truth.pedestal + rnAdu * rng.normal();
  }
  for (const [x, y, a] of spec.cosmics ?? []) {
    const p = (y + dy) * cam.width + x + dx;
    data[p] = Math.min(cam.saturation - 1, data[p] + a);
  }
  const header = new MapHeader({
    IMAGETYP: spec.type,
    EXPTIME: t,
    FILTER: spec.filter ?? 'r',
    BINNING: spec.binning ?? '1x1',
    'DATE-OBS': spec.dateObs ?? '2024-03-01T03:00:00.000',
    ...(spec.header ?? {}),
  });
  return { name: spec.name, header, width: cam.width, height: cam.height, data };
}
