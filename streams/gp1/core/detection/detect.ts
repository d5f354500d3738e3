/**
 * Source detection and measurement on one calibrated frame (counts/s).
 *
 * 1. Background and RMS maps ({@link estimateBackground}); sub = data − background.
 * 2. Pixels that are unusable for detection (weight 0, NaN, or a mask bit in `detectIgnoreMask`,
 *    by default hot pixels and cosmic rays) are set to 0 in `sub` before filtering and can never
 *    be above threshold: a cosmic ray is not detected, a star next to one still is.
 * 3. Optional matched filter: normalised Gaussian of the seeing FWHM ({@link convolveSeparable}).
 *    The threshold is `thresholdSigma` × the (unfiltered) background RMS, SExtractor's convention,
 *    so "the same threshold" means the same thing in both programs.
 * 4. 8-connected labelling of the above-threshold pixels over row runs with a union–find on runs
 *    (one pass over the frame, memory proportional to the runs, not to the frame); components
 *    smaller than `minArea` pixels are dropped.
 * 5. Deblending ({@link deblend}): a component splits when ≥ 2 of its branches are significant.
 * 6. Measurements ({@link measure}): windowed centroid and FWHM (adaptive Gaussian moments),
 *    isophotal shape, circular aperture photometry with exact edges, flags.
 *
 * Pure given its inputs; allocates O(frame) maps once (sub, filtered, segmentation), never per pixel.
 */
import { estimateBackground, type BackgroundMap, type BackgroundOptions, type MaskArray, type Pixels } from './background.ts';
import { convolveSeparable, gaussianTaps } from './filter.ts';
import { apertureSum, type ApertureInput, type ApertureResult } from './aperture.ts';

/** Calibration mask bits (set by the calibration stage). */
export const MASK = { HOT: 1, LOW_FLAT: 2, SATURATED: 4, COSMIC: 8 } as const;

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
  /** A branch must hold this fraction of the component's flux above its branching level (default 0.005). */
  deblendMinCont?: number;
  /** …and peak at least this many background σ above the branching level (default 1). */
  deblendContrastSigma?: number;
  /** Components larger than this are not deblended (default 100000 px). */
  deblendMaxPixels?: number;
  /** Mask bits excluded from detection (default HOT | COSMIC). */
  detectIgnoreMask?: number;
  /** Mask bits that make a pixel unusable in an aperture (default HOT | LOW_FLAT | COSMIC). */
  apertureBadMask?: number;
  /** Aperture radius in pixels; default `apertureFwhmFactor` × the frame's stellar FWHM. */
  apertureRadius?: number;
  /** Default 1.0 (diameter 2 FWHM, ~94 % of a Gaussian star). */
  apertureFwhmFactor?: number;
  /** Smallest automatic aperture radius, pixels (default 2). */
  minApertureRadius?: number;
  /** Local annulus background [inner, outer] radii in units of the aperture radius, e.g. [2.5, 4]; null = the map (default). */
  annulus?: [number, number] | null;
  /** e−/ADU, for the source Poisson term (0 or undefined: the weight/RMS map only). */
  gain?: number;
  /** Exposure time, s (with gain: the Poisson term of a counts/s image is flux / (gain · t)). */
  exptime?: number;
  /** Saturation level in counts/s (besides mask bit 4); undefined = mask only. */
  saturation?: number;
  background?: BackgroundOptions;
  /** A precomputed background (skips step 1). */
  backgroundMap?: BackgroundMap;
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
}

/* ------------------------------------------------------------------------------------------------ */
/* Labelling                                                                                          */

interface Components {
  /** Number of kept components. */
  n: number;
  /** Pixel indices of component c: pix[start[c] .. start[c+1]). */
  start: Int32Array;
  pix: Int32Array;
}

/** 8-connected components of `filt[p] > thr · rms[p]` (excluded pixels hold −Infinity in filt). */
export function labelAboveThreshold(filt: Float32Array, rms: Float32Array, width: number, height: number, thr: number, minArea: number): Components {
  let cap = 1 << 14;
  let runY = new Int32Array(cap), runA = new Int32Array(cap), runB = new Int32Array(cap), parent = new Int32Array(cap);
  let n = 0;
  const find = (r: number): number => {
    while (parent[r] !== r) {
      parent[r] = parent[parent[r]];
      r = parent[r];
    }
    return r;
  };
  let prevStart = 0, prevEnd = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const rowStart = n;
    let x = 0;
    while (x < width) {
      if (!(filt[row + x] > thr * rms[row + x])) {
        x++;
        continue;
      }
      const a = x;
      x++;
      while (x < width && filt[row + x] > thr * rms[row + x]) x++;
      if (n === cap) {
        cap *= 2;
        const grow = (o: Int32Array) => {
          const g = new Int32Array(cap);
          g.set(o);
          return g;
        };
        runY = grow(runY);
        runA = grow(runA);
        runB = grow(runB);
        parent = grow(parent);
      }
      runY[n] = y;
      runA[n] = a;
      runB[n] = x - 1;
      parent[n] = n;
      n++;
    }
    // union with overlapping runs of the previous row (8-connectivity: touching diagonally counts)
    let k = prevStart;
    for (let r = rowStart; r < n; r++) {
      const a = runA[r], b = runB[r];
      while (k < prevEnd && runB[k] < a - 1) k++;
      for (let q = k; q < prevEnd && runA[q] <= b + 1; q++) {
        const ra = find(r), rb = find(q);
        if (ra !== rb) {
          if (ra < rb) parent[rb] = ra;
          else parent[ra] = rb;
        }
      }
    }
    prevStart = rowStart;
    prevEnd = n;
  }
  // component ids in order of their first run (raster order)
  const compOf = new Int32Array(n).fill(-1);
  const rootId = new Int32Array(n).fill(-1);
  let nc = 0;
  const area: number[] = [];
  for (let r = 0; r < n; r++) {
    const root = find(r);
    if (rootId[root] < 0) {
      rootId[root] = nc++;
      area.push(0);
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
  for (let c = 0; c < nc; c++) if (keepId[c] >= 0) start[keepId[c] + 1] = area[c];
  for (let c = 0; c < kept; c++) start[c + 1] += start[c];
  const fillPos = start.slice(0, kept);
  const pix = new Int32Array(total);
  for (let r = 0; r < n; r++) {
    const c = keepId[compOf[r]];
    if (c < 0) continue;
    const row = runY[r] * width;
    for (let x = runA[r]; x <= runB[r]; x++) pix[fillPos[c]++] = row + x;
  }
  return { n: kept, start, pix };
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
export function deblend(pix: Int32Array, filt: Float32Array, width: number, minCont: number, minArea: number, contrast: number): Int32Array[] | null {
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
  const significant = (r: number, v: number) => npx[r] >= minArea && peak[r] - v >= contrast && flux[r] - npx[r] * v >= thrFlux;
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
 * with σ_w ← σ_s until both settle. Pixels of other objects and unusable pixels are skipped. The
 * centroid error is the linearised one of this estimator: Var(x) = 4 Σ w² var dx² / (Σ w I)².
 */
let gxBuf = new Float64Array(256);

function windowedMoments(sub: Float32Array, width: number, height: number, seg: Int32Array, self: number, bad: Uint8Array | null, varAt: (p: number) => number, x0: number, y0: number, sigma0: number): WindowResult {
  let xc = x0, yc = y0;
  let sw = Math.min(Math.max(sigma0, 0.6), 12);
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
        if (bad && bad[p]) continue;
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
    const dsw = Math.abs(ss - sw);
    sw = ss;
    sumW = s;
    sxx = mxx;
    syy = myy;
    if (Math.abs(ddx) < 1e-3 && Math.abs(ddy) < 1e-3 && dsw < 3e-3) {
      ok = true;
      break;
    }
  }
  if (!ok) return { x: x0, y: y0, sigma: sigma0, errX: NaN, errY: NaN, ok: false };
  void sxx;
  void syy;
  // centroid error at the converged window
  const R = Math.ceil(4 * sw);
  const xa = Math.max(0, Math.floor(xc) - R), xb = Math.min(width - 1, Math.ceil(xc) + R);
  const ya = Math.max(0, Math.floor(yc) - R), yb = Math.min(height - 1, Math.ceil(yc) + R);
  const inv2 = 1 / (2 * sw * sw);
  let s = 0, ex = 0, ey = 0;
  for (let y = ya; y <= yb; y++) {
    const dy = y - yc;
    for (let x = xa; x <= xb; x++) {
      const p = y * width + x;
      const g = seg[p];
      if ((g !== 0 && g !== self) || (bad && bad[p])) continue;
      const dx = x - xc;
      const w = Math.exp(-(dx * dx + dy * dy) * inv2);
      const v = varAt(p);
      s += w * sub[p];
      ex += w * w * v * dx * dx;
      ey += w * w * v * dy * dy;
    }
  }
  void sumW;
  const k = s > 0 ? 4 / (s * s) : NaN;
  return { x: xc, y: yc, sigma: sw, errX: Math.sqrt(ex * k), errY: Math.sqrt(ey * k), ok: true };
}

/** sub = data − background; returns the map of unusable pixels (NaN, weight ≤ 0, ignored mask bits), or null when none. One fused pass. */
function subtractBackground(data: Pixels, back: Float32Array, weight: Pixels | null, mask: MaskArray | null, ignore: number, sub: Float32Array): Uint8Array | null {
  const N = sub.length;
  const bad = new Uint8Array(N);
  let nBad = 0;
  if (data instanceof Float32Array && weight instanceof Float32Array && mask instanceof Uint8Array) nBad = subtractF32(data, back, weight, mask, ignore, sub, bad);
  else {
    for (let p = 0; p < N; p++) {
      const v = data[p];
      if (v !== v || (weight !== null && !(weight[p] > 0)) || (mask !== null && (mask[p] & ignore) !== 0)) {
        bad[p] = 1;
        sub[p] = 0;
        nBad++;
      } else sub[p] = v - back[p];
    }
  }
  return nBad ? bad : null;
}

/** The common case, monomorphic for V8: float32 image and weight, 8-bit mask. */
function subtractF32(data: Float32Array, back: Float32Array, weight: Float32Array, mask: Uint8Array, ignore: number, sub: Float32Array, bad: Uint8Array): number {
  let n = 0;
  const N = sub.length;
  for (let p = 0; p < N; p++) {
    const v = data[p];
    if (v !== v || !(weight[p] > 0) || (mask[p] & ignore) !== 0) {
      bad[p] = 1;
      sub[p] = 0;
      n++;
    } else sub[p] = v - back[p];
  }
  return n;
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

  // sub = data − background; unusable pixels → 0 and flagged in `bad`
  const sub = new Float32Array(N);
  const bad = subtractBackground(data, bg.background, weight, mask, ignore, sub);
  const filt = filterFwhm > 0 ? convolveSeparable(sub, width, height, gaussianTaps(filterFwhm)) : sub.slice();
  if (bad) for (let p = 0; p < N; p++) if (bad[p]) filt[p] = -Infinity;

  const comps = labelAboveThreshold(filt, bg.rms, width, height, thr, minArea);

  // deblend → object pixel lists
  const objects: { pix: Int32Array; blended: boolean }[] = [];
  const doDeblend = opts.deblend ?? true;
  const minCont = opts.deblendMinCont ?? 0.005;
  const contrastSigma = opts.deblendContrastSigma ?? 1;
  const maxPix = opts.deblendMaxPixels ?? 100_000;
  for (let c = 0; c < comps.n; c++) {
    const pix = comps.pix.subarray(comps.start[c], comps.start[c + 1]);
    let parts: Int32Array[] | null = null;
    if (doDeblend && pix.length <= maxPix) parts = deblend(pix, filt, width, minCont, minArea, contrastSigma * bg.rms[pix[0]]);
    if (parts) for (const q of parts) objects.push({ pix: q, blended: true });
    else objects.push({ pix, blended: false });
  }

  const seg = new Int32Array(N);
  for (let i = 0; i < objects.length; i++) {
    const q = objects[i].pix;
    for (let k = 0; k < q.length; k++) seg[q[k]] = i + 1;
  }
  const varAt = (p: number): number => {
    let v = weight ? (weight[p] > 0 ? 1 / weight[p] : 0) : bg.rms[p] * bg.rms[p];
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
  const ap: ApertureInput = { sub, width, height, weight, rms: bg.rms, mask, badMask: badAp, saturatedMask: MASK.SATURATED, gainTime, seg };
  const res: ApertureResult = { flux: 0, variance: 0, area: 0, maskedArea: 0, repairedArea: 0, outsideArea: 0, saturated: false, crowded: false };
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
    let localBack = bg.background[yi * width + xi];
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
  return { sources, background: bg, apertureRadius: radius, fwhm: frameFwhm, nComponents: comps.n };
}
