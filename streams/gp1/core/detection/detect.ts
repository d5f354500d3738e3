/**
 * Source detection and measurement on one calibrated frame (counts/s).
 *
 * 1. Background and RMS maps ({@link estimateBackground}); sub = data − background.
 * 2. Pixels that are unusable for detection (weight 0, NaN, or a mask bit in `detectIgnoreMask`,
 *    by default hot pixels and cosmic rays) are replaced in `sub` by a linear interpolation along
 *    the row between the nearest usable pixels, for gaps up to `interpolateMaxGap` pixels (16):
 *    a hot pixel in the sky takes the sky's value and is not detected, while a dead column through
 *    a star does not cut it in two. Cosmic rays (`interpolateNeverMask`: their masks miss the halo)
 *    and longer gaps are set to 0 and can never be above threshold: a cosmic ray is not detected,
 *    a star next to one still is. Measurements skip only the pixels that were not interpolated.
 * 3. Optional matched filter: normalised Gaussian of the seeing FWHM ({@link convolveSeparable}).
 *    The threshold is `thresholdSigma` × the (unfiltered) background RMS, SExtractor's convention,
 *    so "the same threshold" means the same thing in both programs.
 * 4. 8-connected labelling of the above-threshold pixels over row runs with a union–find on runs
 *    (one pass over the frame, memory proportional to the runs, not to the frame); components
 *    smaller than `minArea` pixels are dropped.
 * 5. Deblending ({@link deblend}): a component splits when ≥ 2 of its branches are significant.
 * 6. Measurements: windowed centroid and FWHM (adaptive Gaussian moments), isophotal shape,
 *    circular aperture photometry with exact edges (masked pixels replaced by their mirror through
 *    the centre, {@link apertureSum}), flags.
 *
 * Steps 1–4 are one pass over the rows (no frame-size background or RMS map is written: both are
 * interpolated a row at a time); on WebAssembly SIMD kernels when available (simd.ts: the
 * subtraction, the filter, the threshold, the background meshes), else in JavaScript — same
 * results to float32 rounding (`wasm: false` or GFT_DETECT_NO_WASM=1 forces JavaScript).
 *
 * Pure given its inputs. Frame-size scratch (sub, filtered, unusable-pixel and segmentation maps,
 * ≈ 13 bytes per pixel) is kept per thread between calls, never allocated per pixel; synchronous,
 * so a worker thread measures one frame at a time; {@link releaseDetectionMemory} frees it.
 */
import { searchWings, type WingInput, type WingOptions, type WingZone } from './wings.ts';
import { backgroundAt, backgroundRow, estimateBackground, type BackgroundMap, type BackgroundOptions, type MaskArray, type Pixels } from './background.ts';
import { borderPixel, gaussianTaps, RowConvolver } from './filter.ts';
import { releaseRowKernels, rowKernels, wasmFrame } from './simd.ts';
import { apertureSum, type ApertureInput, type ApertureResult } from './aperture.ts';

/** Calibration mask bits (set by the calibration stage). */
export const MASK = { HOT: 1, LOW_FLAT: 2, SATURATED: 4, COSMIC: 8 } as const;

/** Default {@link DetectionOptions.deblendMinCont} (the bench gives SExtractor the same). */
export const DEFAULT_DEBLEND_MINCONT = 0.001;

/** Source flags (bit values are API: they go into catalogs and JSON). */
export const FLAG = {
  /** A saturated pixel (mask bit 4, or ≥ `saturation`) in the object or its aperture. */
  SATURATED: 1,
  /** The object touches the frame edge or its aperture leaves the frame. */
  EDGE: 2,
  /** The object was split from a blend by the deblender. */
  BLENDED: 4,
  /** The aperture contains masked or zero-weight pixels (hot, low flat, cosmic ray). */
  MASKED: 8,
  /** Another object's isophote reaches into the aperture. */
  CROWDED: 16,
  /** The windowed centroid did not converge; the isophotal barycentre is used. */
  CENTROID_FALLBACK: 32,
  /** Found or measured on a bright star's wing with the star's model subtracted (wings.ts). */
  WING: 64,
} as const;

export interface FrameImage {
  width: number;
  height: number;
  /** Counts/s. */
  data: Pixels;
  /** Inverse variance, (counts/s)^−2; 0 = unusable pixel. Optional. */
  weight?: Pixels | null;
  /** Calibration bitmask ({@link MASK}). Optional. */
  mask?: MaskArray | null;
}

export interface DetectionOptions {
  /** Detection threshold in σ of the background RMS (default 1.5). */
  thresholdSigma?: number;
  /** Minimum number of connected above-threshold pixels (default 5). */
  minArea?: number;
  /** Matched-filter FWHM in pixels; 0 = no filter (default 2.5). */
  filterFwhm?: number;
  /** Deblend (default true). */
  deblend?: boolean;
  /**
   * A branch must hold this fraction of the component's flux above its branching level (default 0.001:
   * at 0.005, SExtractor's usual value, an afterglow 13" from an 8.5 mag saturated star stayed inside
   * the star's halo).
   */
  deblendMinCont?: number;
  /** …and peak at least this many background σ above the branching level (default 1). */
  deblendContrastSigma?: number;
  /**
   * …or, below that fraction, hold a flux above its branching level of at least this many σ of its
   * pixels' noise there (sky and the level's Poisson noise; default 10; 0 disables). A 16.7–18.8 mag
   * afterglow 6″ from an 11-mag star holds 0.01–0.07 % of the star's component: under any fraction
   * SExtractor uses, yet at S/N 70 on the star's wing (issue 20).
   */
  deblendMinSnr?: number;
  /** Components larger than this are not deblended (default 100000 px). */
  deblendMaxPixels?: number;
  /** Mask bits excluded from detection (default HOT | COSMIC). */
  detectIgnoreMask?: number;
  /** Mask bits that make a pixel unusable in an aperture (default HOT | LOW_FLAT | COSMIC). */
  apertureBadMask?: number;
  /** Longest run of unusable pixels along a row interpolated for detection, pixels (default 16; 0 = none). */
  interpolateMaxGap?: number;
  /**
   * Mask bits never interpolated (default COSMIC: a cosmic ray's mask misses its halo, and filling
   * the core from the halo would make it a source); such pixels stay out of detection as before.
   */
  interpolateNeverMask?: number;
  /** Aperture radius in pixels; default `apertureFwhmFactor` × the frame's stellar FWHM. */
  apertureRadius?: number;
  /** Default 1.0 (diameter 2 FWHM, ~94 % of a Gaussian star). */
  apertureFwhmFactor?: number;
  /** Smallest automatic aperture radius, pixels (default 2). */
  minApertureRadius?: number;
  /** Local annulus background [inner, outer] radii in units of the aperture radius, e.g. [2.5, 4]; null = the map (default). */
  annulus?: [number, number] | null;
  /**
   * Aperture pixels brighter than their mirror point through the centre by `sigma` σ and `ratio` ×
   * the mirror value take the mirror value (aperture.ts `symmetry`: cosmic rays on a star's wing
   * that the calibration's sharpness test misses). Default { sigma: 5, ratio: 0.5 }; null = off.
   */
  apertureSymmetry?: { sigma: number; ratio: number } | null;
  /** e−/ADU, for the source Poisson term (0 or undefined: the weight/RMS map only). */
  gain?: number;
  /** Exposure time, s (with gain: the Poisson term of a counts/s image is flux / (gain · t)). */
  exptime?: number;
  /** Saturation level in counts/s (besides mask bit 4); undefined = mask only. */
  saturation?: number;
  background?: BackgroundOptions;
  /** A precomputed background (skips step 1). */
  backgroundMap?: BackgroundMap;
  /** Use the WebAssembly SIMD row pass when available (default true; false = JavaScript only). */
  wasm?: boolean;
  /** Search the wings of bright stars with their model subtracted (wings.ts; default on, false = off). */
  wings?: WingOptions | false;
}

export interface Source {
  /** Index in the frame's source list. */
  id: number;
  /** Windowed centroid, 0-based pixel coordinates, and 1σ errors (pixels). */
  x: number;
  y: number;
  xErr: number;
  yErr: number;
  /** Aperture flux, counts/s, and its 1σ error. */
  flux: number;
  fluxErr: number;
  /** Isophotal flux (sum over the detection footprint), counts/s. */
  isoFlux: number;
  /** Footprint area, pixels. */
  npix: number;
  /** Peak background-subtracted value, counts/s. */
  peak: number;
  /** FWHM from adaptive Gaussian moments, pixels. */
  fwhm: number;
  /** Isophotal ellipse: semi-axes (pixels, rms), position angle (deg, from +x towards +y). */
  a: number;
  b: number;
  theta: number;
  /** Local background used (counts/s), from the map or the annulus. */
  background: number;
  /** Aperture S/N. */
  snr: number;
  flags: number;
}

export interface DetectionResult {
  sources: Source[];
  background: BackgroundMap;
  /** Aperture radius used, pixels. */
  apertureRadius: number;
  /** Median FWHM of bright unflagged sources, pixels (NaN when none). */
  fwhm: number;
  /** Components found above threshold and area, before deblending. */
  nComponents: number;
  /** Bright stars' zones with their residual aperture noise (wings.ts), for local upper limits. */
  wingZones?: WingZone[];
}

/* ------------------------------------------------------------------------------------------------ */
/* Labelling                                                                                          */

interface Components {
  /** Number of kept components. */
  n: number;
  /** Pixel indices of component c: pix[start[c] .. start[c+1]). */
  start: Int32Array;
  pix: Int32Array;
  /** The RMS map at each component's first pixel (pix[start[c]], raster order). */
  firstRms: Float32Array;
}

/**
 * 8-connected labelling of above-threshold pixels fed one row at a time, in order: runs of
 * `filt > thr · rms` per row, joined to the overlapping runs of the previous row with a union–find
 * on runs (the root of a set is its first run in raster order). Memory ∝ the runs, not the frame.
 */
export class RunLabeller {
  private cap = 1 << 14;
  private runY = new Int32Array(this.cap);
  private runA = new Int32Array(this.cap);
  private runB = new Int32Array(this.cap);
  private parent = new Int32Array(this.cap);
  private runRms = new Float32Array(this.cap);
  private n = 0;
  private prevStart = 0;
  private prevEnd = 0;

  constructor(
    private readonly width: number,
    private readonly thr: number,
  ) {}

  private find(r: number): number {
    const parent = this.parent;
    while (parent[r] !== r) {
      parent[r] = parent[parent[r]];
      r = parent[r];
    }
    return r;
  }

  private grow(): void {
    this.cap *= 2;
    const g = <T extends Int32Array | Float32Array>(o: T): T => {
      const a = new (o.constructor as new (n: number) => T)(this.cap);
      a.set(o);
      return a;
    };
    this.runY = g(this.runY);
    this.runA = g(this.runA);
    this.runB = g(this.runB);
    this.parent = g(this.parent);
    this.runRms = g(this.runRms);
  }

  /** Row y (rows in increasing order): filt[off .. off + width) against thr · rms[0 .. width). */
  addRow(y: number, filt: Float32Array, off: number, rms: Float32Array): void {
    const width = this.width, thr = this.thr;
    const rowStart = this.n;
    let x = 0;
    while (x < width) {
      if (!(filt[off + x] > thr * rms[x])) {
        x++;
        continue;
      }
      const a = x;
      x++;
      while (x < width && filt[off + x] > thr * rms[x]) x++;
      if (this.n === this.cap) this.grow();
      const n = this.n++;
      this.runY[n] = y;
      this.runA[n] = a;
      this.runB[n] = x - 1;
      this.parent[n] = n;
      this.runRms[n] = rms[a];
    }
    this.joinPrevious(rowStart);
  }

  /** Unions the runs of the row just added (from `rowStart`) with the overlapping runs of the previous row (8-connectivity: touching diagonally counts). */
  private joinPrevious(rowStart: number): void {
    const { runA, runB, parent } = this;
    const prevEnd = this.prevEnd;
    let k = this.prevStart;
    for (let r = rowStart; r < this.n; r++) {
      const a = runA[r], b = runB[r];
      while (k < prevEnd && runB[k] < a - 1) k++;
      for (let q = k; q < prevEnd && runA[q] <= b + 1; q++) {
        const ra = this.find(r), rb = this.find(q);
        if (ra !== rb) {
          if (ra < rb) parent[rb] = ra;
          else parent[ra] = rb;
        }
      }
    }
    this.prevStart = rowStart;
    this.prevEnd = this.n;
  }

  /**
   * Row y from a precomputed threshold mask: above[x] = 255 where the pixel is above threshold
   * (simd.ts `above`), runs found with the native indexOf; rms[x] as in {@link addRow}.
   */
  addRowMask(y: number, above: Uint8Array, rms: Float32Array): void {
    const width = this.width;
    const row = above.length === width ? above : above.subarray(0, width);
    const rowStart = this.n;
    for (let a = row.indexOf(255); a >= 0; a = row.indexOf(255, a)) {
      let e = row.indexOf(0, a + 1);
      if (e < 0) e = width;
      if (this.n === this.cap) this.grow();
      const n = this.n++;
      this.runY[n] = y;
      this.runA[n] = a;
      this.runB[n] = e - 1;
      this.parent[n] = n;
      this.runRms[n] = rms[a];
      a = e;
      if (a >= width) break;
    }
    this.joinPrevious(rowStart);
  }

  /** The components of at least `minArea` pixels, in raster order of their first pixel. */
  finish(minArea: number): Components {
    const { n, runY, runA, runB, width } = this;
    const compOf = new Int32Array(n).fill(-1);
    const rootId = new Int32Array(n).fill(-1);
    let nc = 0;
    const area: number[] = [];
    const firstRun: number[] = [];
    for (let r = 0; r < n; r++) {
      const root = this.find(r);
      if (rootId[root] < 0) {
        rootId[root] = nc++;
        area.push(0);
        firstRun.push(r);
      }
      compOf[r] = rootId[root];
      area[compOf[r]] += runB[r] - runA[r] + 1;
    }
    const keepId = new Int32Array(nc).fill(-1);
    let kept = 0;
    let total = 0;
    for (let c = 0; c < nc; c++) {
      if (area[c] >= minArea) {
        keepId[c] = kept++;
        total += area[c];
      }
    }
    const start = new Int32Array(kept + 1);
    const firstRms = new Float32Array(kept);
    for (let c = 0; c < nc; c++) {
      if (keepId[c] < 0) continue;
      start[keepId[c] + 1] = area[c];
      firstRms[keepId[c]] = this.runRms[firstRun[c]];
    }
    for (let c = 0; c < kept; c++) start[c + 1] += start[c];
    const fillPos = start.slice(0, kept);
    const pix = new Int32Array(total);
    for (let r = 0; r < n; r++) {
      const c = keepId[compOf[r]];
      if (c < 0) continue;
      const row = runY[r] * width;
      for (let x = runA[r]; x <= runB[r]; x++) pix[fillPos[c]++] = row + x;
    }
    return { n: kept, start, pix, firstRms };
  }
}

/** 8-connected components of `filt[p] > thr · rms[p]` over whole maps (excluded pixels hold −Infinity in filt). */
export function labelAboveThreshold(filt: Float32Array, rms: Float32Array, width: number, height: number, thr: number, minArea: number): Components {
  const l = new RunLabeller(width, thr);
  for (let y = 0; y < height; y++) l.addRow(y, filt, y * width, rms.subarray(y * width, (y + 1) * width));
  return l.finish(minArea);
}

/* ------------------------------------------------------------------------------------------------ */
/* Deblending                                                                                         */

/**
 * Splits one component (pixel indices `pix`, values from the filtered image) into its significant
 * branches, or returns null when it has one. Flooding from the highest pixel down (a component
 * tree built with a union–find): when a pixel joins two regions at level v, both stay separate
 * objects if each is significant — integrated intensity above v ≥ `minCont` × the component's total,
 * area ≥ `minArea`, peak − v ≥ `contrast` — otherwise the smaller-peak one is absorbed. This is the
 * multi-threshold criterion of SExtractor's documentation with a continuous set of levels. Pixels
 * below a split go to the neighbouring region with the highest peak.
 */
export function deblend(pix: Int32Array, filt: Float32Array, width: number, minCont: number, minArea: number, contrast: number, noise: { rms: number; gainTime: number; minSnr: number } | null = null): Int32Array[] | null {
  const n = pix.length;
  if (n < 2 * minArea) return null;
  let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = pix[i];
    const y = (p / width) | 0, x = p - y * width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    total += filt[p];
  }
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  // cheap pre-check: at least two local maxima in the footprint
  const local = new Int32Array(bw * bh).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = pix[i];
    const y = (p / width) | 0, x = p - y * width;
    local[(y - y0) * bw + (x - x0)] = i;
  }
  let maxima = 0;
  for (let i = 0; i < n && maxima < 2; i++) {
    const p = pix[i];
    const v = filt[p];
    const y = (p / width) | 0, x = p - y * width;
    const ly = y - y0, lx = x - x0;
    let isMax = true;
    for (let dy = -1; dy <= 1 && isMax; dy++) {
      const yy = ly + dy;
      if (yy < 0 || yy >= bh) continue;
      for (let dx = -1; dx <= 1; dx++) {
        if (!dx && !dy) continue;
        const xx = lx + dx;
        if (xx < 0 || xx >= bw) continue;
        const j = local[yy * bw + xx];
        if (j >= 0 && (filt[pix[j]] > v || (filt[pix[j]] === v && j < i))) {
          isMax = false;
          break;
        }
      }
    }
    if (isMax) maxima++;
  }
  if (maxima < 2) return null;

  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = filt[pix[i]];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => vals[b] - vals[a] || a - b);
  const label = new Int32Array(n).fill(-1); // region of pixel i (not yet resolved)
  const par = new Int32Array(n), npx = new Int32Array(n);
  const flux = new Float64Array(n), peak = new Float64Array(n);
  let nReg = 0;
  const root = (r: number): number => {
    while (par[r] !== r) {
      par[r] = par[par[r]];
      r = par[r];
    }
    return r;
  };
  const thrFlux = minCont * total;
  // a branch holds minCont of the total above the level, or (`noise`) is that many σ above it
  const rms2 = noise ? noise.rms * noise.rms : 0;
  const heldFlux = (r: number, v: number) => {
    const f = flux[r] - npx[r] * v;
    if (f >= thrFlux) return true;
    if (!noise || !(noise.minSnr > 0)) return false;
    const varPix = rms2 + (noise.gainTime > 0 && v > 0 ? v / noise.gainTime : 0);
    return f * f >= noise.minSnr * noise.minSnr * npx[r] * varPix;
  };
  const significant = (r: number, v: number) => npx[r] >= minArea && peak[r] - v >= contrast && heldFlux(r, v);
  const roots: number[] = [];
  let splits = 0;
  for (let o = 0; o < n; o++) {
    const i = order[o];
    const p = pix[i];
    const v = vals[i];
    const y = (p / width) | 0, x = p - y * width;
    const ly = y - y0, lx = x - x0;
    roots.length = 0;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = ly + dy;
      if (yy < 0 || yy >= bh) continue;
      for (let dx = -1; dx <= 1; dx++) {
        if (!dx && !dy) continue;
        const xx = lx + dx;
        if (xx < 0 || xx >= bw) continue;
        const j = local[yy * bw + xx];
        if (j < 0 || label[j] < 0) continue;
        const r = root(label[j]);
        if (!roots.includes(r)) roots.push(r);
      }
    }
    if (roots.length === 0) {
      const r = nReg++;
      par[r] = r;
      npx[r] = 1;
      flux[r] = v;
      peak[r] = v;
      label[i] = r;
      continue;
    }
    if (roots.length > 1) {
      roots.sort((a, b) => peak[b] - peak[a] || a - b);
      const main = roots[0];
      for (let k = 1; k < roots.length; k++) {
        const r = roots[k];
        if (significant(main, v) && significant(r, v)) {
          splits++;
          continue;
        }
        par[r] = main;
        npx[main] += npx[r];
        flux[main] += flux[r];
      }
    }
    const m = roots[0];
    label[i] = m;
    npx[m]++;
    flux[m] += v;
  }
  if (!splits) return null;
  const childOf = new Map<number, number>();
  const counts: number[] = [];
  const owner = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = root(label[i]);
    let c = childOf.get(r);
    if (c === undefined) {
      c = counts.length;
      childOf.set(r, c);
      counts.push(0);
    }
    owner[i] = c;
    counts[c]++;
  }
  if (counts.length < 2) return null;
  const out = counts.map((c) => new Int32Array(c));
  const fill = new Int32Array(counts.length);
  for (let i = 0; i < n; i++) out[owner[i]][fill[owner[i]]++] = pix[i];
  return out;
}

/* ------------------------------------------------------------------------------------------------ */
/* Measurement                                                                                        */

interface WindowResult {
  x: number;
  y: number;
  sigma: number;
  errX: number;
  errY: number;
  ok: boolean;
}

/**
 * Adaptive Gaussian moments: the weighted centroid with a Gaussian window of σ_w, iterated, and the
 * source σ from the windowed second moment M (σ_s² = 1/(1/M − 1/σ_w²), exact for a Gaussian star),
 * with σ_w ← max(σ_s, 1 px) until both settle (the floor: with an undersampled PSF — FWHM ≈ 1.1 px —
 * a window as narrow as the source saw one or two pixels, M collapsed and σ_s stuck at its 0.3-px clamp
 * on most stars; with the floor the centroids of such stars are within 0.034 px rms instead of 0.23 px
 * (pixel phase); a star of FWHM ≥ 2.4 px never meets it). Pixels of other objects and unusable pixels that could not be
 * interpolated (bad = 2) are skipped; interpolated ones count with the background noise. The
 * centroid error is the linearised one of this estimator: Var(x) = 4 Σ w² var dx² / (Σ w I)².
 */
let gxBuf = new Float64Array(256);
/** Narrowest Gaussian window of the adaptive moments, px (see windowedMoments). */
const WINDOW_MIN = 1.0;

function windowedMoments(sub: Float32Array, width: number, height: number, seg: Int32Array, self: number, bad: Uint8Array | null, varAt: (p: number) => number, x0: number, y0: number, sigma0: number): WindowResult {
  let xc = x0, yc = y0;
  let sw = Math.min(Math.max(sigma0, WINDOW_MIN), 12);
  let src = sw;
  let ok = false;
  let sumW = 0, sxx = 0, syy = 0;
  for (let it = 0; it < 30; it++) {
    const R = Math.ceil(4 * sw);
    const xa = Math.max(0, Math.floor(xc) - R), xb = Math.min(width - 1, Math.ceil(xc) + R);
    const ya = Math.max(0, Math.floor(yc) - R), yb = Math.min(height - 1, Math.ceil(yc) + R);
    if (gxBuf.length < xb - xa + 1) gxBuf = new Float64Array(2 * (xb - xa + 1));
    const inv2 = 1 / (2 * sw * sw);
    // the Gaussian window is separable: exp(−(dx²+dy²)/2σ²) = gx[x]·gy[y], no exp per pixel
    for (let x = xa; x <= xb; x++) gxBuf[x - xa] = Math.exp(-((x - xc) ** 2) * inv2);
    let s = 0, sx = 0, sy = 0, mxx = 0, myy = 0;
    for (let y = ya; y <= yb; y++) {
      const dy = y - yc;
      const gy = Math.exp(-dy * dy * inv2);
      const row = y * width;
      for (let x = xa; x <= xb; x++) {
        const p = row + x;
        const g = seg[p];
        if (g !== 0 && g !== self) continue;
        if (bad && bad[p] === 2) continue;
        const dx = x - xc;
        const w = gy * gxBuf[x - xa] * sub[p];
        s += w;
        sx += w * dx;
        sy += w * dy;
        mxx += w * dx * dx;
        myy += w * dy * dy;
      }
    }
    if (!(s > 0)) break;
    const ddx = sx / s, ddy = sy / s;
    xc += ddx;
    yc += ddy;
    if (Math.hypot(xc - x0, yc - y0) > 2 + sigma0) break;
    const M = Math.max(1e-4, 0.5 * (mxx / s - ddx * ddx + (myy / s - ddy * ddy)));
    const inv = 1 / M - 1 / (sw * sw);
    let ss = inv > 0.05 / (sw * sw) ? Math.sqrt(1 / inv) : sw * 1.5;
    ss = Math.min(Math.max(ss, 0.3), 15);
    const dsw = Math.abs(ss - src);
    src = ss;
    sw = Math.max(ss, WINDOW_MIN);
    sumW = s;
    sxx = mxx;
    syy = myy;
    if (Math.abs(ddx) < 1e-3 && Math.abs(ddy) < 1e-3 && dsw < 3e-3) {
      ok = true;
      break;
    }
  }
  if (!ok) return { x: x0, y: y0, sigma: sigma0, errX: NaN, errY: NaN, ok: false };
  const sigmaSrc = src;
  void sxx;
  void syy;
  // centroid error at the converged window
  const R = Math.ceil(4 * sw);
  const xa = Math.max(0, Math.floor(xc) - R), xb = Math.min(width - 1, Math.ceil(xc) + R);
  const ya = Math.max(0, Math.floor(yc) - R), yb = Math.min(height - 1, Math.ceil(yc) + R);
  const inv2 = 1 / (2 * sw * sw);
  if (gxBuf.length < xb - xa + 1) gxBuf = new Float64Array(2 * (xb - xa + 1));
  for (let x = xa; x <= xb; x++) gxBuf[x - xa] = Math.exp(-((x - xc) ** 2) * inv2);
  let s = 0, ex = 0, ey = 0;
  for (let y = ya; y <= yb; y++) {
    const dy = y - yc;
    const gy = Math.exp(-dy * dy * inv2);
    for (let x = xa; x <= xb; x++) {
      const p = y * width + x;
      const g = seg[p];
      if ((g !== 0 && g !== self) || (bad && bad[p] === 2)) continue;
      const dx = x - xc;
      const w = gy * gxBuf[x - xa];
      const v = varAt(p);
      s += w * sub[p];
      ex += w * w * v * dx * dx;
      ey += w * w * v * dy * dy;
    }
  }
  void sumW;
  const k = s > 0 ? 4 / (s * s) : NaN;
  return { x: xc, y: yc, sigma: sigmaSrc, errX: Math.sqrt(ex * k), errY: Math.sqrt(ey * k), ok: true };
}

/**
 * Row of sub = data − background (background row `back`), pixels [off, off + n): an unusable pixel
 * (NaN, weight ≤ 0, a mask bit in `ignore`) gets sub = 0 and bad = 1 (to interpolate), or bad = 2
 * (never interpolated) when it has a mask bit in `hard`; every other pixel bad = 0. Returns the
 * number of unusable pixels ({@link interpolateBadRow} then fills the bad = 1 ones).
 */
function subtractRow(data: Pixels, back: Float32Array, weight: Pixels | null, mask: MaskArray | null, ignore: number, hard: number, sub: Float32Array, bad: Uint8Array, off: number, n: number): number {
  if (data instanceof Float32Array && weight instanceof Float32Array) {
    if (mask instanceof Uint8Array) return subtractRowF32U8(data, back, weight, mask, ignore, hard, sub, bad, off, n);
    if (mask instanceof Float32Array) return subtractRowF32F32(data, back, weight, mask, ignore, hard, sub, bad, off, n);
  }
  let nb = 0;
  for (let x = 0; x < n; x++) {
    const p = off + x;
    const v = data[p];
    if (v !== v || (weight !== null && !(weight[p] > 0)) || (mask !== null && (mask[p] & ignore) !== 0)) {
      bad[p] = mask !== null && (mask[p] & hard) !== 0 ? 2 : 1;
      sub[p] = 0;
      nb++;
    } else {
      bad[p] = 0;
      sub[p] = v - back[x];
    }
  }
  return nb;
}

/** The common cases, monomorphic for V8: float32 image and weight; 8-bit mask (in memory) or float32 mask (as FITS reads it). */
function subtractRowF32U8(data: Float32Array, back: Float32Array, weight: Float32Array, mask: Uint8Array, ignore: number, hard: number, sub: Float32Array, bad: Uint8Array, off: number, n: number): number {
  let nb = 0;
  for (let x = 0; x < n; x++) {
    const p = off + x;
    const v = data[p];
    if (v !== v || !(weight[p] > 0) || (mask[p] & ignore) !== 0) {
      bad[p] = (mask[p] & hard) !== 0 ? 2 : 1;
      sub[p] = 0;
      nb++;
    } else {
      bad[p] = 0;
      sub[p] = v - back[x];
    }
  }
  return nb;
}

function subtractRowF32F32(data: Float32Array, back: Float32Array, weight: Float32Array, mask: Float32Array, ignore: number, hard: number, sub: Float32Array, bad: Uint8Array, off: number, n: number): number {
  let nb = 0;
  for (let x = 0; x < n; x++) {
    const p = off + x;
    const v = data[p];
    if (v !== v || !(weight[p] > 0) || (mask[p] & ignore) !== 0) {
      bad[p] = (mask[p] & hard) !== 0 ? 2 : 1;
      sub[p] = 0;
      nb++;
    } else {
      bad[p] = 0;
      sub[p] = v - back[x];
    }
  }
  return nb;
}

/**
 * Fills the pixels of one row of `sub` with bad = 1 by linear interpolation between the nearest
 * usable pixels (bad = 0) on either side, or the one usable side's value, for runs of at most
 * `maxGap` pixels; longer runs, and runs with no usable neighbour, stay 0 with bad = 2. Returns the
 * number of bad = 2 pixels in the row.
 */
function interpolateBadRow(sub: Float32Array, bad: Uint8Array, off: number, n: number, maxGap: number): number {
  // runs are found with the native indexOf (unusable pixels are a few per row): no JavaScript loop
  // over the whole row
  const row = bad.subarray(off, off + n);
  let hard = 0;
  for (let x = row.indexOf(2); x >= 0; x = row.indexOf(2, x + 1)) hard++;
  for (let a = row.indexOf(1); a >= 0; a = row.indexOf(1, a)) {
    let x = a + 1;
    while (x < n && row[x] === 1) x++;
    const len = x - a; // run [a, x)
    const hasL = a > 0 && row[a - 1] === 0, hasR = x < n && row[x] === 0;
    if (len > maxGap || (!hasL && !hasR)) {
      row.fill(2, a, x);
      hard += len;
    } else {
      const L = hasL ? sub[off + a - 1] : sub[off + x];
      const R = hasR ? sub[off + x] : L;
      const step = (R - L) / (len + 1);
      for (let k = 0; k < len; k++) sub[off + a + k] = L + step * (k + 1);
    }
    a = x;
    if (a >= n) break;
  }
  return hard;
}

/**
 * Frame-size scratch reused from call to call (per thread: detection is synchronous, so one set
 * serves every call): the segmentation map, all zeros between calls (cleared object by object at
 * the end), and — on the JavaScript path — sub, filt and bad (the WebAssembly path keeps those in
 * its own memory, simd.ts).
 */
let segSpace: { seg: Int32Array; dirty: boolean } | null = null;
let pixelSpace: { sub: Float32Array; filt: Float32Array; bad: Uint8Array } | null = null;

function getSeg(n: number): Int32Array {
  if (!segSpace || segSpace.seg.length < n) {
    segSpace = null; // let the old buffer go before the new one is allocated
    segSpace = { seg: new Int32Array(n), dirty: false };
  }
  if (segSpace.dirty) segSpace.seg.fill(0);
  segSpace.dirty = true;
  return segSpace.seg.subarray(0, n);
}

function getPixelSpace(n: number): { sub: Float32Array; filt: Float32Array; bad: Uint8Array } {
  if (!pixelSpace || pixelSpace.sub.length < n) {
    pixelSpace = null;
    pixelSpace = { sub: new Float32Array(n), filt: new Float32Array(n), bad: new Uint8Array(n) };
  }
  return { sub: pixelSpace.sub.subarray(0, n), filt: pixelSpace.filt.subarray(0, n), bad: pixelSpace.bad.subarray(0, n) };
}

/**
 * Frees the frame-size scratch that detection keeps between calls (≈ 13 bytes per pixel of the
 * largest frame seen, in JavaScript buffers and the WebAssembly memory); the next call allocates it again.
 */
export function releaseDetectionMemory(): void {
  segSpace = null;
  pixelSpace = null;
  releaseRowKernels();
}

interface RowPassInput {
  img: FrameImage;
  bg: BackgroundMap;
  /** Filter taps (null: no filter). */
  taps: Float32Array | null;
  ignore: number;
  hard: number;
  maxGap: number;
  /** Threshold in σ of the RMS map, and the labeller fed each filtered row, in order, once final. */
  thr: number;
  labeller: RunLabeller;
}

interface RowPassOutput {
  sub: Float32Array;
  filt: Float32Array;
  bad: Uint8Array;
  nBad: number;
}

/** The row pass in JavaScript (any filter; the reference for the WebAssembly one). */
function rowPassJs(inp: RowPassInput): RowPassOutput {
  const { img, bg, taps, ignore, hard, maxGap } = inp;
  const { width, height, data } = img;
  const weight = img.weight ?? null, mask = img.mask ?? null;
  const { sub, filt, bad } = getPixelSpace(width * height);
  const backRow = new Float32Array(width);
  const hardRows = new Uint8Array(height); // rows holding pixels that could not be interpolated (bad = 2)
  let nBad = 0;
  const sourceRow = (r: number): void => {
    const off = r * width;
    backgroundRow(bg, 'background', r, backRow);
    const nb = subtractRow(data, backRow, weight, mask, ignore, hard, sub, bad, off, width);
    if (nb) {
      nBad += nb;
      if (interpolateBadRow(sub, bad, off, width, maxGap)) hardRows[r] = 1;
    }
  };
  const rmsRow = new Float32Array(width);
  const onRow = (y: number): void => {
    const off = y * width;
    if (hardRows[y]) for (let x = 0; x < width; x++) if (bad[off + x] === 2) filt[off + x] = -Infinity;
    backgroundRow(bg, 'rms', y, rmsRow);
    inp.labeller.addRow(y, filt, off, rmsRow);
  };
  if (taps) {
    const conv = new RowConvolver(sub, width, height, taps, filt, onRow);
    for (let r = 0; r < height; r++) {
      sourceRow(r);
      conv.pushRow(r);
    }
  } else {
    for (let r = 0; r < height; r++) {
      sourceRow(r);
      filt.set(sub.subarray(r * width, (r + 1) * width), r * width);
      onRow(r);
    }
  }
  return { sub, filt, bad, nBad };
}

/**
 * The row pass on the WebAssembly SIMD kernels (simd.ts): the same steps as {@link rowPassJs} —
 * rows copied into the kernels' memory, subtraction and classification, interpolation of unusable
 * pixels (JavaScript, rare), the filter's horizontal pass into a ring of rows, its vertical pass,
 * the frame borders (JavaScript) — for filters of up to 9 taps. Null when it cannot run here.
 */
function rowPassWasm(inp: RowPassInput): RowPassOutput | null {
  const { img, bg, taps, ignore, hard, maxGap } = inp;
  const { width: W, height: H, data } = img;
  if (!taps || taps.length > 9 || W <= 8 || H <= 8) return null;
  const k = rowKernels();
  if (!k) return null;
  const h = taps.length >> 1;
  const K = h <= 3 ? 7 : 9, L = K >> 1, m = 4; // ring rows, lag, border (as RowConvolver's 7/9 paths)
  const sepB = bg.separable?.('background'), sepR = bg.separable?.('rms');
  const ny = sepB && sepR ? sepB.rows.length / W : 0;
  const fr = wasmFrame(k, W, H, K, ny);
  if (!fr) return null;
  // background and RMS rows from the mesh rows interpolated along x (one multiply-add per pixel)
  let backRowAt = (r: number): void => backgroundRow(bg, 'background', r, fr.backRow);
  let rmsRowAt = (r: number): void => backgroundRow(bg, 'rms', r, fr.rmsRow);
  if (sepB && sepR) {
    for (let j = 0; j < ny; j++) {
      fr.meshBack.set(sepB.rows.subarray(j * W, (j + 1) * W), j * fr.stride);
      fr.meshRms.set(sepR.rows.subarray(j * W, (j + 1) * W), j * fr.stride);
    }
    const rowOf = (base: number, j: number) => base + Math.min(j, ny - 1) * fr.stride * 4;
    backRowAt = (r) => k.lerp(rowOf(fr.ptr.meshBack, sepB.j0[r]), rowOf(fr.ptr.meshBack, sepB.j0[r] + 1), fr.ptr.back, fr.stride, sepB.fy[r]);
    rmsRowAt = (r) => k.lerp(rowOf(fr.ptr.meshRms, sepR.j0[r]), rowOf(fr.ptr.meshRms, sepR.j0[r] + 1), fr.ptr.rms, fr.stride, sepR.fy[r]);
  }
  const weight = img.weight ?? null, mask = img.mask ?? null;
  if (!weight) fr.weightRow.fill(1, 0, W);
  if (!mask) fr.maskRow.fill(0, 0, W);
  const { sub, filt, bad, ptr } = fr;
  const t = [0, 0, 0, 0, 0];
  for (let j = 0; j <= h; j++) t[j] = taps[h + j];
  const ringAt = (r: number) => ptr.ring + (r % K) * fr.stride * 4;
  const n16 = Math.ceil(W / 16) * 16;
  const hardRows = new Uint8Array(H);
  let nBad = 0;
  const output = (y: number): void => {
    if (y < m || y >= H - m) {
      for (let x = 0; x < W; x++) borderPixel(sub, filt, W, H, taps, x, y);
    } else {
      // every column: the ring's first and last m columns hold the truncated, renormalised
      // horizontal pass, and every row of the kernel exists here, so this is the border's value too
      const dst = ptr.filt + y * W * 4;
      if (K === 7) k.v7(ringAt(y - 3), ringAt(y - 2), ringAt(y - 1), ringAt(y), ringAt(y + 1), ringAt(y + 2), ringAt(y + 3), dst, W, t[0], t[1], t[2], t[3]);
      else k.v9(ringAt(y - 4), ringAt(y - 3), ringAt(y - 2), ringAt(y - 1), ringAt(y), ringAt(y + 1), ringAt(y + 2), ringAt(y + 3), ringAt(y + 4), dst, W, t[0], t[1], t[2], t[3], t[4]);
    }
    const off = y * W;
    if (hardRows[y]) for (let x = 0; x < W; x++) if (bad[off + x] === 2) filt[off + x] = -Infinity;
    rmsRowAt(y);
    k.above(ptr.filt + off * 4, ptr.rms, ptr.above, n16, inp.thr);
    inp.labeller.addRowMask(y, fr.aboveRow, fr.rmsRow);
  };
  for (let r = 0; r < H; r++) {
    const off = r * W;
    backRowAt(r);
    fr.dataRow.set(data.subarray(off, off + W));
    if (weight) fr.weightRow.set(weight.subarray(off, off + W));
    if (mask) fr.maskRow.set(mask.subarray(off, off + W));
    const nb = k.subRow(ptr.data, ptr.weight, ptr.mask, ptr.back, ptr.sub + off * 4, ptr.bad + off, n16, ignore, hard);
    if (nb) {
      nBad += nb;
      if (interpolateBadRow(sub, bad, off, W, maxGap)) hardRows[r] = 1;
    }
    if (K === 7) k.h7(ptr.sub + off * 4, ringAt(r), W, t[0], t[1], t[2], t[3]);
    else k.h9(ptr.sub + off * 4, ringAt(r), W, t[0], t[1], t[2], t[3], t[4]);
    // the first and last m columns: the horizontal taps truncated at the frame edge, renormalised
    const ro = (r % K) * fr.stride;
    for (let e = 0; e < 2 * m; e++) {
      const x = e < m ? e : W - 2 * m + e;
      let acc = 0, norm = 0;
      for (let i = -h; i <= h; i++) {
        const xx = x + i;
        if (xx < 0 || xx >= W) continue;
        acc += taps[i + h] * sub[off + xx];
        norm += taps[i + h];
      }
      fr.ring[ro + x] = acc / norm;
    }
    if (r >= L) output(r - L);
  }
  for (let y = Math.max(0, H - L); y < H; y++) output(y);
  return { sub, filt, bad, nBad };
}

/**
 * The values of the densest cluster: for each value v, those within [v/(1+tol), v(1+tol)]; the
 * window holding the most values wins (ties: the larger v, as sharp artefacts sit below the PSF).
 * Fewer than 3 values: returned as they are.
 */
export function stellarLocus(values: number[], tol: number): number[] {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length < 3) return v;
  let best = 0, bestLo = 0, bestHi = 0;
  let lo = 0, hi = 0;
  for (let i = 0; i < v.length; i++) {
    while (v[lo] < v[i] / (1 + tol)) lo++;
    while (hi + 1 < v.length && v[hi + 1] <= v[i] * (1 + tol)) hi++;
    const n = hi - lo + 1;
    if (n >= best) {
      best = n;
      bestLo = lo;
      bestHi = hi;
    }
  }
  return v.slice(bestLo, bestHi + 1);
}

function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Detects and measures the sources of one frame (see module comment). */
export function detectSources(img: FrameImage, opts: DetectionOptions = {}): DetectionResult {
  const { width, height, data } = img;
  const N = width * height;
  const weight = img.weight ?? null;
  const mask = img.mask ?? null;
  const thr = opts.thresholdSigma ?? 1.5;
  const minArea = opts.minArea ?? 5;
  const filterFwhm = opts.filterFwhm ?? 2.5;
  const ignore = opts.detectIgnoreMask ?? MASK.HOT | MASK.COSMIC;
  const badAp = opts.apertureBadMask ?? MASK.HOT | MASK.LOW_FLAT | MASK.COSMIC;
  const gainTime = opts.gain && opts.exptime ? opts.gain * opts.exptime : 0;
  const bg = opts.backgroundMap ?? estimateBackground(data, width, height, opts.background, weight, mask);

  // One pass over the rows: sub = data − background (unusable pixels interpolated along the row,
  // flagged in `bad`), the matched filter as rows come in, pixels that could not be interpolated →
  // −∞ in the filtered image, and the labelling of each filtered row as soon as it is final. No
  // frame-size map besides sub, filt, bad and seg (reused between calls); the background and RMS
  // maps are interpolated a row at a time. On WebAssembly SIMD when available (simd.ts).
  const seg = getSeg(N);
  let result!: DetectionResult;
  let wingInput: WingInput | null = null;
  const objects: { pix: Int32Array; blended: boolean }[] = [];
  try {
    const labeller = new RunLabeller(width, thr);
    const rowInput: RowPassInput = {
      img,
      bg,
      taps: filterFwhm > 0 ? gaussianTaps(filterFwhm) : null,
      ignore,
      hard: opts.interpolateNeverMask ?? MASK.COSMIC,
      maxGap: opts.interpolateMaxGap ?? 16,
      thr,
      labeller,
    };
    const pass = (opts.wasm === false ? null : rowPassWasm(rowInput)) ?? rowPassJs(rowInput);
    const { sub, filt, nBad } = pass;
    const badAll = pass.bad;
    const bad = nBad ? badAll : null;
    const comps = labeller.finish(minArea);

    // deblend → object pixel lists
    const doDeblend = opts.deblend ?? true;
    const minCont = opts.deblendMinCont ?? DEFAULT_DEBLEND_MINCONT;
    const contrastSigma = opts.deblendContrastSigma ?? 1;
    const deblendSnr = opts.deblendMinSnr ?? 10;
    const maxPix = opts.deblendMaxPixels ?? 100_000;
    for (let c = 0; c < comps.n; c++) {
      const pix = comps.pix.subarray(comps.start[c], comps.start[c + 1]);
      let parts: Int32Array[] | null = null;
      if (doDeblend && pix.length <= maxPix) parts = deblend(pix, filt, width, minCont, minArea, contrastSigma * comps.firstRms[c], deblendSnr > 0 ? { rms: comps.firstRms[c], gainTime, minSnr: deblendSnr } : null);
      if (parts) for (const q of parts) objects.push({ pix: q, blended: true });
      else objects.push({ pix, blended: false });
    }

    for (let i = 0; i < objects.length; i++) {
      const q = objects[i].pix;
      for (let k = 0; k < q.length; k++) seg[q[k]] = i + 1;
    }
    // the full RMS map is needed only without a weight map (then it is the variance source)
    const rmsMap = weight ? null : bg.rms;
    const varAt = (p: number): number => {
      let v: number;
      if (bad !== null && bad[p] !== 0) {
        // an interpolated (or lost) pixel: the background noise there
        const y = (p / width) | 0;
        const r = backgroundAt(bg, 'rms', p - y * width, y);
        v = r * r;
      } else v = weight ? (weight[p] > 0 ? 1 / weight[p] : 0) : rmsMap![p] * rmsMap![p];
      const s = sub[p];
      if (gainTime > 0 && s > 0) v += s / gainTime;
      return v;
    };

    // pass 1: footprint moments, windowed centroid and FWHM
    interface Pre {
      x: number; y: number; xErr: number; yErr: number; fwhm: number; iso: number; isoVar: number; npix: number; peak: number;
      a: number; b: number; theta: number; flags: number;
    }
    const pre: Pre[] = new Array(objects.length);
    const sat = opts.saturation;
    for (let i = 0; i < objects.length; i++) {
      const q = objects[i].pix;
      let s = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, iso = 0, isoVar = 0, peak = -Infinity;
      let flags = objects[i].blended ? FLAG.BLENDED : 0;
      let xmin = width, xmax = -1, ymin = height, ymax = -1;
      for (let k = 0; k < q.length; k++) {
        const p = q[k];
        const y = (p / width) | 0, x = p - y * width;
        const v = sub[p];
        iso += v;
        isoVar += varAt(p);
        if (v > peak) peak = v;
        if (mask && mask[p] & MASK.SATURATED) flags |= FLAG.SATURATED;
        if (sat !== undefined && data[p] >= sat) flags |= FLAG.SATURATED;
        if (x < xmin) xmin = x;
        if (x > xmax) xmax = x;
        if (y < ymin) ymin = y;
        if (y > ymax) ymax = y;
        if (v <= 0) continue;
        s += v;
        sx += v * x;
        sy += v * y;
        sxx += v * x * x;
        syy += v * y * y;
        sxy += v * x * y;
      }
      if (xmin === 0 || ymin === 0 || xmax === width - 1 || ymax === height - 1) flags |= FLAG.EDGE;
      const mx = sx / s, my = sy / s;
      const x2 = Math.max(1 / 12, sxx / s - mx * mx), y2 = Math.max(1 / 12, syy / s - my * my), xy = sxy / s - mx * my;
      const t1 = (x2 + y2) / 2, t2 = Math.sqrt(((x2 - y2) / 2) ** 2 + xy * xy);
      const a = Math.sqrt(t1 + t2), b = Math.sqrt(Math.max(0, t1 - t2));
      const theta = (0.5 * Math.atan2(2 * xy, x2 - y2) * 180) / Math.PI;
      // start the window at the footprint σ (underestimated by the isophote cut: inflate a little)
      const w = windowedMoments(sub, width, height, seg, i + 1, bad, varAt, mx, my, Math.sqrt(t1) * 1.2);
      if (!w.ok) flags |= FLAG.CENTROID_FALLBACK;
      let ex = w.errX, ey = w.errY;
      if (!w.ok) {
        // isophotal barycentre error: Σ var (x − x̄)² / (Σ I)²
        let vx = 0, vy = 0;
        for (let k = 0; k < q.length; k++) {
          const p = q[k];
          const y = (p / width) | 0, x = p - y * width;
          const vv = varAt(p);
          vx += vv * (x - mx) ** 2;
          vy += vv * (y - my) ** 2;
        }
        ex = Math.sqrt(vx) / Math.max(s, 1e-30);
        ey = Math.sqrt(vy) / Math.max(s, 1e-30);
      }
      pre[i] = { x: w.x, y: w.y, xErr: ex, yErr: ey, fwhm: w.ok ? 2.354820045 * w.sigma : 2.354820045 * Math.sqrt(t1), iso, isoVar, npix: q.length, peak, a, b, theta, flags };
    }

    // frame FWHM from bright, clean, round sources that do not touch masked pixels (the leftovers of a
    // masked cosmic ray are sharp and would drag the median down), taken at the stellar locus: the
    // densest ±15 % cluster of FWHMs (stars share one PSF; cosmic-ray residuals and galaxies scatter)
    const touchesBad = (i: number): boolean => {
      if (!bad) return false;
      const q = objects[i].pix;
      for (let k = 0; k < q.length; k++) {
        const p = q[k];
        const y = (p / width) | 0, x = p - y * width;
        if (bad[p] || (x > 0 && bad[p - 1]) || (x < width - 1 && bad[p + 1]) || (y > 0 && bad[p - width]) || (y < height - 1 && bad[p + width])) return true;
      }
      return false;
    };
    let fwhmList: number[] = [];
    for (let i = 0; i < pre.length; i++) {
      const p = pre[i];
      if (!(p.flags & ~FLAG.CROWDED) && p.iso > 30 * Math.sqrt(p.isoVar) && p.b / p.a > 0.6 && !touchesBad(i)) fwhmList.push(p.fwhm);
    }
    if (fwhmList.length < 5) {
      fwhmList = [];
      for (let i = 0; i < pre.length; i++) if (!pre[i].flags && pre[i].iso > 8 * Math.sqrt(pre[i].isoVar) && !touchesBad(i)) fwhmList.push(pre[i].fwhm);
    }
    const frameFwhm = median(stellarLocus(fwhmList, 0.15));
    const radius = opts.apertureRadius ?? Math.max(opts.minApertureRadius ?? 2, (opts.apertureFwhmFactor ?? 1) * (Number.isFinite(frameFwhm) ? frameFwhm : filterFwhm || 2.5));

    // pass 2: aperture photometry
    // (not for an undersampled PSF, FWHM < 2 px: the mirror point of a pixel through the centroid is
    // another part of the pixel-integrated profile; the test scattered fluxes by 4–5 % at FWHM 1.1–1.5 px)
    const symmetry = opts.apertureSymmetry === undefined ? (frameFwhm < 2 ? null : { sigma: 5, ratio: 0.5 }) : opts.apertureSymmetry;
    const ap: ApertureInput = { sub, width, height, weight, rms: rmsMap ?? new Float32Array(0), mask, badMask: badAp, saturatedMask: MASK.SATURATED, gainTime, seg, bad, interpolatedVariance: bg.globalRms * bg.globalRms, symmetry };
    const res: ApertureResult = { flux: 0, variance: 0, area: 0, maskedArea: 0, repairedArea: 0, asymmetricArea: 0, outsideArea: 0, saturated: false, crowded: false };
    const annulus = opts.annulus ?? null;
    const ring: number[] = [];
    const sources: Source[] = new Array(pre.length);
    for (let i = 0; i < pre.length; i++) {
      const o = pre[i];
      apertureSum(ap, o.x, o.y, radius, i + 1, res);
      let flags = o.flags;
      if (res.saturated) flags |= FLAG.SATURATED;
      if (res.outsideArea > 0) flags |= FLAG.EDGE;
      if (res.maskedArea > 0) flags |= FLAG.MASKED;
      if (res.crowded) flags |= FLAG.CROWDED;
      let flux = res.flux;
      let variance = res.variance;
      const yi = Math.min(height - 1, Math.max(0, Math.round(o.y))), xi = Math.min(width - 1, Math.max(0, Math.round(o.x)));
      let localBack = backgroundAt(bg, 'background', xi, yi);
      if (annulus) {
        // clipped median of the residual sky in the annulus, objects excluded
        const r0 = annulus[0] * radius, r1 = annulus[1] * radius;
        ring.length = 0;
        const ya = Math.max(0, Math.floor(o.y - r1)), yb = Math.min(height - 1, Math.ceil(o.y + r1));
        const xa = Math.max(0, Math.floor(o.x - r1)), xb = Math.min(width - 1, Math.ceil(o.x + r1));
        for (let y = ya; y <= yb; y++) {
          for (let x = xa; x <= xb; x++) {
            const d2 = (x - o.x) ** 2 + (y - o.y) ** 2;
            if (d2 < r0 * r0 || d2 > r1 * r1) continue;
            const p = y * width + x;
            if (seg[p] !== 0 || (bad && bad[p])) continue;
            ring.push(sub[p]);
          }
        }
        if (ring.length >= 10) {
          let m = median(ring);
          let sd = 0;
          for (let it = 0; it < 3; it++) {
            const dev = ring.map((v) => Math.abs(v - m));
            sd = 1.4826 * median(dev);
            const kept = ring.filter((v) => Math.abs(v - m) <= 3 * sd);
            m = median(kept);
          }
          flux -= m * res.area;
          variance += (res.area * sd) ** 2 * (Math.PI / 2) / ring.length;
          localBack += m;
        }
      }
      const fluxErr = Math.sqrt(Math.max(variance, 0));
      sources[i] = {
        id: i,
        x: o.x,
        y: o.y,
        xErr: o.xErr,
        yErr: o.yErr,
        flux,
        fluxErr,
        isoFlux: o.iso,
        npix: o.npix,
        peak: o.peak,
        fwhm: o.fwhm,
        a: o.a,
        b: o.b,
        theta: o.theta,
        background: localBack,
        snr: fluxErr > 0 ? flux / fluxErr : 0,
        flags,
      };
    }
    result = { sources, background: bg, apertureRadius: radius, fwhm: frameFwhm, nComponents: comps.n };
    wingInput = { sub, width, height, weight: weight ?? null, mask: mask ?? null, badMask: badAp, saturatedMask: MASK.SATURATED, rmsAt: (x, y) => backgroundAt(bg, 'rms', x, y), sources, fwhm: frameFwhm, apertureRadius: radius, gainTime };
  } finally {
    // leave seg all zeros for the next call
    for (const o of objects) for (let k = 0; k < o.pix.length; k++) seg[o.pix[k]] = 0;
    if (segSpace && seg.buffer === segSpace.seg.buffer) segSpace.dirty = false;
  }
  // bright stars' wings: after this call's buffers are released (searchWings copies its cutouts out of
  // `sub` before its own detectSources calls, which reuse the shared buffers)
  if (opts.wings === false || !Number.isFinite(result.fwhm)) return result;
  const wing = searchWings(wingInput!, detectSources, opts, opts.wings ?? {}, { blended: FLAG.BLENDED, wing: FLAG.WING, saturated: FLAG.SATURATED, edge: FLAG.EDGE });
  return { ...result, sources: wing.sources, wingZones: wing.zones };
}
