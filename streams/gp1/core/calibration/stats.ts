/**
 * Robust statistics on pixel arrays, written for hot paths: selection (quickselect) on reusable
 * scratch buffers, no per-pixel allocation. Every function is pure apart from the module-level scratch
 * buffer, which is private to the thread (each worker has its own module instance).
 *
 * Conventions: "sigma" is the robust standard deviation 1.4826 × MAD (median absolute deviation),
 * which equals the standard deviation for Gaussian noise and ignores up to half the pixels as outliers.
 */

/** 1.4826 = 1 / Φ⁻¹(3/4): MAD → σ for a Gaussian. */
export const MAD_TO_SIGMA = 1.4826;

let scratch = new Float32Array(0);

/** A thread-local scratch buffer of at least `n` elements (grown, never shrunk). */
export function scratchBuffer(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, Math.ceil(scratch.length * 1.5)));
  return scratch;
}

/**
 * Rearranges `a[lo..hi]` (inclusive) so that `a[k]` holds the value it would have if sorted, smaller
 * values before it, larger after. Hoare partition with median-of-three pivot; O(n) on average.
 */
export function quickselect(a: Float32Array | Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three into a[mid]
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

function swap(a: Float32Array | Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Median of the first `n` elements of `buf`, reordering them. Even n: mean of the two middle values
 * (as numpy.median). NaN when n = 0.
 */
export function medianInPlace(buf: Float32Array | Float64Array, n: number): number {
  if (n <= 0) return NaN;
  const k = n >>> 1;
  const hi = quickselect(buf, k, 0, n - 1);
  if (n & 1) return hi;
  // after selection all of buf[0..k-1] ≤ buf[k]: the lower middle is their maximum
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (buf[i] > lo) lo = buf[i];
  return (lo + hi) / 2;
}

export interface RobustStats {
  median: number;
  /** 1.4826 × MAD. */
  sigma: number;
  /** Number of pixels used. */
  n: number;
}

export interface SampleOptions {
  /** Largest number of pixels used; above it, a regular stride over the array (deterministic). Default: all. */
  maxSamples?: number;
  /** Pixels whose mask has any of `maskBits` set are skipped. */
  mask?: Uint8Array | null;
  maskBits?: number;
  /** Pixels with weight 0 are skipped. */
  weight?: Float32Array | null;
}

/**
 * Median and robust σ of an array (optionally masked, optionally sub-sampled on a regular stride).
 * Non-finite values are skipped. Uses the thread-local scratch buffer.
 */
export function robustStats(data: ArrayLike<number>, opts: SampleOptions = {}): RobustStats {
  const len = data.length;
  const max = opts.maxSamples ?? Infinity;
  const step = max < len ? Math.max(1, Math.floor(len / max)) : 1;
  const cap = Math.ceil(len / step);
  const buf = scratchBuffer(cap);
  const mask = opts.mask;
  const bits = opts.maskBits ?? 0xff;
  const w = opts.weight;
  let n = 0;
  for (let i = 0; i < len; i += step) {
    if (mask && mask[i] & bits) continue;
    if (w && !(w[i] > 0)) continue;
    const v = data[i];
    if (v === v && v !== Infinity && v !== -Infinity) buf[n++] = v;
  }
  return statsOfBuffer(buf, n);
}

/** Median and robust σ of the first n values of buf (destroys the order of buf). */
export function statsOfBuffer(buf: Float32Array, n: number): RobustStats {
  if (n === 0) return { median: NaN, sigma: NaN, n: 0 };
  const median = medianInPlace(buf, n);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - median);
  const mad = medianInPlace(buf, n);
  return { median, sigma: MAD_TO_SIGMA * mad, n };
}

/** A FITS section converted to 0-based, end-exclusive pixel bounds. */
export interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Median and robust σ of the pixels inside `b` of a row-major image of width `width`. */
export function regionStats(data: ArrayLike<number>, width: number, b: Bounds, maxSamples = Infinity): RobustStats {
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  const total = w * h;
  const step = maxSamples < total ? Math.max(1, Math.floor(total / maxSamples)) : 1;
  const buf = scratchBuffer(Math.ceil(total / step) + 1);
  let n = 0;
  // stride over the flattened region index so sampling is uniform over rows and columns
  for (let k = 0; k < total; k += step) {
    const y = b.y0 + ((k / w) | 0);
    const x = b.x0 + (k % w);
    const v = data[y * width + x];
    if (v === v) buf[n++] = v;
  }
  return statsOfBuffer(buf, n);
}
