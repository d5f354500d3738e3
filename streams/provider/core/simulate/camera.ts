/**
 * The simulated CCD: geometry (data section + overscan strip), gain, read noise, saturation, and the
 * night-constant detector maps drawn once per night from the seed:
 *
 * - bias structure (ADU): level + column pattern + slight x/y gradient; the overscan follows the level
 *   and the row gradient, not the column pattern of the imaging area;
 * - dark current (e⁻/s/px): a base rate with 5 % pixel-to-pixel spread, a faint amplifier glow at the
 *   readout corner, and hot pixels with log-uniform high rates;
 * - flat response (dimensionless, median 1 over the data section): radial vignetting × dust donuts ×
 *   pixel-to-pixel sensitivity.
 *
 * Pixel coordinates here: 0-based raw-array (x = column, y = row), overscan included.
 */
import { Rng } from './rng.ts';

export interface CameraOptions {
  /** Raw frame size, pixels (overscan included). COATLI 2184x1472; COLIBRI DDRAGO 4192x4096. */
  width: number;
  height: number;
  /** Overscan (bias strip) width in columns, and its side. COATLI: 36 on the right. */
  overscan: number;
  overscanSide: 'left' | 'right';
  /** Binning factor recorded in BINNING/CCDSUM (pixel scale is the binned one given below). */
  binning: number;
  /** e⁻/ADU */
  gain: number;
  /** e⁻ rms */
  readNoise: number;
  /** ADU: the mean bias level */
  biasLevel: number;
  /** ADU rms of the column-to-column bias pattern */
  biasColumnRms: number;
  /** ADU: peak-to-peak bias gradients across the frame in x and in y */
  biasGradientX: number;
  biasGradientY: number;
  /** e⁻: full well; charge beyond it bleeds along the column */
  fullWell: number;
  /** ADU: ADC ceiling (raw values are clipped to 0..this) and the SATURATE keyword */
  saturate: number;
  /** e⁻/s/px: dark current of a normal pixel */
  darkRate: number;
  /** fraction of data pixels that are hot */
  hotPixelFraction: number;
  /** e⁻/s: range of hot-pixel rates (log-uniform) */
  hotPixelRateMin: number;
  hotPixelRateMax: number;
  /** e⁻/s/px: amplifier glow at the readout corner (decays with e-folding `ampGlowScale` px) */
  ampGlow: number;
  ampGlowScale: number;
  /** fractional illumination loss at the corners of the data section (radial vignetting) */
  vignetting: number;
  /** number of dust donuts, their radius range (px) and depth range (fraction) */
  dustCount: number;
  dustRadiusMin: number;
  dustRadiusMax: number;
  dustDepthMin: number;
  dustDepthMax: number;
  /** rms of the pixel-to-pixel sensitivity (fraction) */
  pixelFlatRms: number;
  /**
   * Dead columns: 0-based columns counted from the first data-section column whose response is
   * `badColumnResponse` (default 0.05) of the normal one, in flats and object frames alike (the
   * calibration masks them as low-flat pixels). Absent: none (no random draw either).
   */
  badColumns?: number[];
  badColumnResponse?: number;
}

export const COATLI_CAMERA: CameraOptions = {
  width: 2184,
  height: 1472,
  overscan: 36,
  overscanSide: 'right',
  binning: 1,
  gain: 6.2,
  readNoise: 10,
  biasLevel: 1000,
  biasColumnRms: 1.2,
  biasGradientX: 3,
  biasGradientY: 2,
  fullWell: 420000,
  saturate: 65535,
  darkRate: 0.05,
  hotPixelFraction: 0.001,
  hotPixelRateMin: 1,
  hotPixelRateMax: 500,
  ampGlow: 0.3,
  ampGlowScale: 120,
  vignetting: 0.12,
  dustCount: 4,
  dustRadiusMin: 20,
  dustRadiusMax: 40,
  dustDepthMin: 0.02,
  dustDepthMax: 0.04,
  pixelFlatRms: 0.005,
};

/** FITS section strings and 0-based bounds of the data and overscan areas. */
export interface Geometry {
  width: number;
  height: number;
  /** data section, 0-based inclusive-exclusive columns [x0, x1) over all rows */
  dataX0: number;
  dataX1: number;
  osX0: number;
  osX1: number;
  /** FITS 1-based sections, e.g. '[1:2148,1:1472]' */
  datasec: string;
  biassec: string;
  /** FITS CRPIX (1-based) of the data-section centre */
  crpix1: number;
  crpix2: number;
}

export function geometry(c: Pick<CameraOptions, 'width' | 'height' | 'overscan' | 'overscanSide'>): Geometry {
  const { width: w, height: h, overscan: o } = c;
  if (!(w >= 16 && h >= 16 && w <= 8192 && h <= 8192)) throw new RangeError(`frame size ${w}x${h} out of range 16..8192`);
  if (!(o >= 0 && o < w / 2)) throw new RangeError(`overscan ${o} out of range`);
  const right = c.overscanSide === 'right';
  const dataX0 = right ? 0 : o;
  const dataX1 = right ? w - o : w;
  const osX0 = right ? w - o : 0;
  const osX1 = right ? w : o;
  const sec = (x0: number, x1: number) => `[${x0 + 1}:${x1},1:${h}]`;
  return {
    width: w,
    height: h,
    dataX0,
    dataX1,
    osX0,
    osX1,
    datasec: sec(dataX0, dataX1),
    biassec: o > 0 ? sec(osX0, osX1) : '',
    crpix1: (dataX0 + dataX1) / 2 + 0.5,
    crpix2: h / 2 + 0.5,
  };
}

/** The night-constant detector: geometry, parameters and maps. */
export interface Detector {
  opts: CameraOptions;
  geo: Geometry;
  /** ADU, per column: bias pattern of the imaging area (0 in the overscan columns' own pattern) */
  biasColumn: Float32Array;
  /** ADU, per row: the y gradient (shared by data and overscan) */
  biasRow: Float32Array;
  /** e⁻/s/px, full raw frame (0 in the overscan) */
  dark: Float32Array;
  /** flat response, full raw frame (0 in the overscan), median 1 over the data section */
  response: Float32Array;
  /** hot pixel indices (raw frame) and their rates, e⁻/s */
  hotPixels: { index: Int32Array; rate: Float32Array };
  dust: Array<{ x: number; y: number; radius: number; depth: number }>;
}

/** Median of a Float32Array (copies; quickselect on the copy). */
export function medianOf(a: ArrayLike<number>): number {
  const n = a.length;
  if (n === 0) return NaN;
  const b = Float64Array.from(a as ArrayLike<number>);
  const k = n >> 1;
  const hi = select(b, k);
  if (n % 2) return hi;
  // the largest of the lower half
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (b[i] > lo) lo = b[i];
  return (lo + hi) / 2;
}

/** In-place quickselect: returns the k-th smallest; afterwards b[0..k) ≤ b[k] ≤ b(k..n). */
function select(b: Float64Array, k: number): number {
  let l = 0;
  let r = b.length - 1;
  while (l < r) {
    const pivot = b[(l + r) >> 1];
    let i = l;
    let j = r;
    while (i <= j) {
      while (b[i] < pivot) i++;
      while (b[j] > pivot) j--;
      if (i <= j) {
        const t = b[i];
        b[i] = b[j];
        b[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else break;
  }
  return b[k];
}

export function makeDetector(c: CameraOptions, seed: number): Detector {
  const geo = geometry(c);
  const { width: W, height: H, dataX0, dataX1 } = geo;
  const dw = dataX1 - dataX0;
  const rng = Rng.derive(seed, 'camera');

  // ---- bias ----
  const biasColumn = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const inData = x >= dataX0 && x < dataX1;
    if (inData) {
      let v = c.biasColumnRms * rng.normal() + c.biasGradientX * ((x - dataX0) / Math.max(1, dw - 1) - 0.5);
      // a few warm columns (~0.2 %), a few ADU above their neighbours
      if (rng.uniform() < 0.002) v += rng.range(3, 8);
      biasColumn[x] = v;
    } else {
      biasColumn[x] = 0.2 * rng.normal(); // the overscan is a virtual serial-register readout: flat
    }
  }
  const biasRow = new Float32Array(H);
  for (let y = 0; y < H; y++) biasRow[y] = c.biasGradientY * (y / Math.max(1, H - 1) - 0.5);

  // ---- dark current ----
  const dark = new Float32Array(W * H);
  const glowX = c.overscanSide === 'right' ? dataX1 - 1 : dataX0; // readout amplifier corner: row 0, next to the overscan
  const invScale = 1 / Math.max(1, c.ampGlowScale);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = dataX0; x < dataX1; x++) {
      const dx = x - glowX;
      const d = Math.sqrt(dx * dx + y * y);
      dark[row + x] = c.darkRate * (1 + 0.05 * rng.normal()) + c.ampGlow * Math.exp(-d * invScale);
    }
  }
  const nHot = Math.round(c.hotPixelFraction * dw * H);
  const hotIndex = new Int32Array(nHot);
  const hotRate = new Float32Array(nHot);
  for (let i = 0; i < nHot; i++) {
    const x = dataX0 + rng.int(dw);
    const y = rng.int(H);
    const idx = y * W + x;
    const r = rng.logUniform(c.hotPixelRateMin, c.hotPixelRateMax);
    hotIndex[i] = idx;
    hotRate[i] = r;
    dark[idx] += r;
  }

  // ---- flat response ----
  const response = new Float32Array(W * H);
  // optical axis slightly off the data centre
  const cx = dataX0 + dw / 2 + rng.normal() * 0.03 * dw;
  const cy = H / 2 + rng.normal() * 0.03 * H;
  const rCorner = Math.sqrt((dw / 2) ** 2 + (H / 2) ** 2);
  const v = c.vignetting;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    const dy = (y - cy) / rCorner;
    for (let x = dataX0; x < dataX1; x++) {
      const dx = (x - cx) / rCorner;
      const r2 = dx * dx + dy * dy;
      // 1 − v at ρ = 1 (the corners), smooth: 80 % quadratic + 20 % quartic
      const vig = 1 - v * (0.8 * r2 + 0.2 * r2 * r2);
      response[row + x] = vig * (1 + c.pixelFlatRms * rng.normal());
    }
  }
  const dust: Detector['dust'] = [];
  for (let k = 0; k < c.dustCount; k++) {
    const radius = rng.range(c.dustRadiusMin, c.dustRadiusMax);
    const depth = rng.range(c.dustDepthMin, c.dustDepthMax);
    const x = dataX0 + radius + rng.uniform() * Math.max(1, dw - 2 * radius);
    const y = radius + rng.uniform() * Math.max(1, H - 2 * radius);
    dust.push({ x, y, radius, depth });
    applyDonut(response, W, H, dataX0, dataX1, x, y, radius, depth);
  }
  // normalise: median 1 over the data section
  const sample = new Float32Array(dw * H);
  for (let y = 0, j = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) sample[j++] = response[y * W + x];
  const med = medianOf(sample);
  const inv = 1 / med;
  for (let i = 0; i < response.length; i++) response[i] *= inv;
  if (c.badColumns?.length) {
    const k = c.badColumnResponse ?? 0.05;
    for (const bc of c.badColumns) {
      const x = dataX0 + Math.round(bc);
      if (!(x >= dataX0 && x < dataX1)) throw new RangeError(`bad column ${bc} is outside the data section (0..${dw - 1})`);
      for (let y = 0; y < H; y++) response[y * W + x] *= k;
    }
  }

  return { opts: c, geo, biasColumn, biasRow, dark, response, hotPixels: { index: hotIndex, rate: hotRate }, dust };
}

/**
 * The shadow of an out-of-focus dust speck: an annulus (the telescope's pupil with its central
 * obstruction, inner radius 0.45 R) attenuating by `depth`, with 1.5-px soft edges.
 */
function applyDonut(resp: Float32Array, W: number, H: number, x0: number, x1: number, cx: number, cy: number, R: number, depth: number): void {
  const rin = 0.45 * R;
  const soft = 1.5;
  const ya = Math.max(0, Math.floor(cy - R - 3));
  const yb = Math.min(H - 1, Math.ceil(cy + R + 3));
  const xa = Math.max(x0, Math.floor(cx - R - 3));
  const xb = Math.min(x1 - 1, Math.ceil(cx + R + 3));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const r = Math.hypot(x - cx, y - cy);
      const outer = clamp01((R - r) / soft + 0.5);
      const inner = clamp01((r - rin) / soft + 0.5);
      const a = outer * inner;
      if (a > 0) resp[y * W + x] *= 1 - depth * a;
    }
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
