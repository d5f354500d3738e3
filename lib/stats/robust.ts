/**
 * Selection and robust statistics on typed arrays, shared by lib/fits (image statistics), GP1
 * calibration (overscan, sky, master levels) and GP1 detection (background meshes). Written for hot
 * paths: no per-element allocation, no full sort, reusable thread-local scratch buffers (each worker
 * thread has its own module instance, hence its own buffers).
 *
 * Conventions: "sigma" is the robust standard deviation 1.4826 × MAD (median absolute deviation),
 * which equals the standard deviation for Gaussian noise and ignores up to half the values as
 * outliers. Inputs must not hold NaN unless a function says it skips them (every sampling function
 * here skips NaN).
 *
 * Two selection algorithms, the same answers:
 * - `quickselect`: Hoare partition with a median-of-three pivot, in place; it leaves the array
 *   partitioned around k, which callers may rely on (background.ts selects again within the lower part).
 * - `radixSelect32`: for float32 buffers, the k-th value from histograms of the values' bit patterns
 *   (16 + 16 bits, made order-preserving), without moving anything: two counting passes and a
 *   gather instead of quickselect's data-dependent branches (one mispredicted in two on noise):
 *   about 5× faster on 2^18 sky values. `medianInPlace` and everything built on it use it for large float32
 *   buffers; the value is the k-th order statistic either way, so results do not depend on the choice
 *   (a zero median may come back as +0 where quickselect could give −0).
 */

/** 1.4826 = 1 / Φ⁻¹(3/4): MAD → σ for a Gaussian. */
export const MAD_TO_SIGMA = 1.4826;

let scratch = new Float32Array(0);

/** A thread-local scratch buffer of at least `n` elements (grown, never shrunk). Not reentrant. */
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

// ---- radix selection on float32 bit patterns --------------------------------------------------------

const HIST = new Int32Array(65536);
/** Coarse companion of HIST: sums of 256 consecutive bins, so finding a bin scans 2 × 256 counts, not 65536. */
const COARSE = new Int32Array(256);
let keys = new Int32Array(0);
const bitsF = new Float32Array(1);
const bitsI = new Int32Array(bitsF.buffer);

/** Below this many values quickselect is as fast (the two histograms cost a fixed 2 × 65536 clears). */
export const RADIX_MIN = 4096;

/**
 * Order-preserving key of a float32 bit pattern `x` (as int32): flip all bits of negatives, only the
 * sign bit of positives; compared as unsigned 32-bit integers, keys order like the floats
 * (−0 just below +0).
 */
function keyOf(x: number): number {
  return x ^ ((x >> 31) | -0x80000000);
}

function valueOfKey(key: number): number {
  bitsI[0] = key < 0 ? key ^ -0x80000000 : ~key;
  return bitsF[0] + 0; // + 0: −0 → +0
}

/**
 * First bin b of the 65536 with h[0] + … + h[b] > k, found through the coarse sums; `acc[0]` receives
 * the count before bin b.
 */
function findBin(h: Int32Array, coarse: Int32Array, k: number, acc: number[]): number {
  let s = 0;
  let cb = 0;
  while (cb < 255 && s + coarse[cb] <= k) s += coarse[cb++];
  let b = cb << 8;
  const end = b + 255;
  while (b < end && s + h[b] <= k) s += h[b++];
  acc[0] = s;
  return b;
}

/**
 * The k-th smallest (0-based) of `a[0..n)` (float32, no NaN), without reordering `a`: a histogram of
 * the keys' high 16 bits (sign, exponent, 7 mantissa bits) finds the bin of the k-th key; the keys of
 * that bin (a few % of the values for noise, which spans a few bins) are gathered and histogrammed
 * on their low 16 bits. Also returns how many values are strictly smaller (`below`, which tells
 * whether the (k−1)-th value is the same), the key, and the (k−1)-th value (`prev`, NaN for k = 0).
 */
export function radixSelect32(a: Float32Array, n: number, k: number): { value: number; below: number; key: number; prev: number } {
  if (!(k >= 0 && k < n)) throw new RangeError(`radixSelect32: k = ${k} outside [0, ${n})`);
  const s = new Int32Array(a.buffer, a.byteOffset, n);
  const h = HIST;
  const c = COARSE;
  const acc = [0];
  h.fill(0);
  c.fill(0);
  for (let i = 0; i < n; i++) {
    const key = keyOf(s[i]);
    h[key >>> 16]++;
    c[key >>> 24]++;
  }
  const hi = findBin(h, c, k, acc);
  let below = acc[0];
  const m = h[hi];
  if (keys.length <= m) keys = new Int32Array(Math.max(m + 1, keys.length * 2));
  const ks = keys;
  let j = 0;
  if (m > n >>> 3) {
    // many matches (a noisy level of a few ADU spans a few bins): a branch on the match would be
    // mispredicted at random, so always store and advance on a match
    for (let i = 0; i < n; i++) {
      const key = keyOf(s[i]);
      const d = (key >>> 16) ^ hi;
      ks[j] = key;
      j += 1 + ((d | -d) >> 31);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const key = keyOf(s[i]);
      if (key >>> 16 === hi) ks[j++] = key;
    }
  }
  h.fill(0);
  c.fill(0);
  for (let q = 0; q < m; q++) {
    const low = ks[q] & 0xffff;
    h[low]++;
    c[low >>> 8]++;
  }
  const kk = k - below;
  const lo = findBin(h, c, kk, acc);
  below += acc[0];
  const key = (hi << 16) | lo;
  const value = valueOfKey(key);
  // the (k−1)-th: the same key, the previous key of this bin, or (rarely) the largest key of an earlier bin
  let prev: number;
  if (kk > acc[0]) prev = value;
  else if (kk > 0) {
    let b = lo - 1;
    while (h[b] === 0) b--;
    prev = valueOfKey((hi << 16) | b);
  } else prev = k > 0 ? valueBelowKey(a, n, key) : NaN;
  return { value, below, key, prev };
}

/** The value of the largest key below `key` among `a[0..n)` (by key, so −0 sorts below +0 as in radixSelect32). */
function valueBelowKey(a: Float32Array, n: number, key: number): number {
  const s = new Int32Array(a.buffer, a.byteOffset, n);
  const top = key >>> 0;
  let best = -1;
  for (let i = 0; i < n; i++) {
    const u = keyOf(s[i]) >>> 0;
    if (u < top && u > best) best = u;
  }
  return best < 0 ? NaN : valueOfKey(best | 0);
}

/**
 * Median of the first `n` elements of `buf`, which may be reordered. Even n: mean of the two middle
 * values (as numpy.median). NaN when n = 0.
 */
export function medianInPlace(buf: Float32Array | Float64Array, n: number): number {
  if (n <= 0) return NaN;
  const k = n >>> 1;
  if (buf instanceof Float32Array && n >= RADIX_MIN) {
    const { value: hi, prev } = radixSelect32(buf, n, k);
    return n & 1 ? hi : (prev + hi) / 2;
  }
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
  /** Number of values used. */
  n: number;
}

export interface SampleOptions {
  /** Largest number of values used; above it, a regular stride over the array (deterministic). Default: all. */
  maxSamples?: number;
  /** Values whose mask has any of `maskBits` set are skipped. */
  mask?: Uint8Array | null;
  maskBits?: number;
  /** Values with weight 0 are skipped. */
  weight?: Float32Array | null;
}

/**
 * Median and robust σ of an array (optionally masked, optionally sub-sampled on a regular stride:
 * indices 0, s, 2s, … with s = ⌊length / maxSamples⌋). Non-finite values are skipped. Uses the
 * thread-local scratch buffer.
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

/** Median and robust σ of the first n values of buf (destroys the order and the values of buf). */
export function statsOfBuffer(buf: Float32Array, n: number): RobustStats {
  if (n === 0) return { median: NaN, sigma: NaN, n: 0 };
  const median = medianInPlace(buf, n);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - median);
  const mad = medianInPlace(buf, n);
  return { median, sigma: MAD_TO_SIGMA * mad, n };
}

/** A rectangular region as 0-based, end-exclusive pixel bounds. */
export interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/**
 * Median and robust σ of the pixels inside `b` of a row-major image of width `width` (NaN skipped),
 * on at most `maxSamples` pixels: a regular stride over the region's flattened index.
 */
export function regionStats(data: ArrayLike<number>, width: number, b: Bounds, maxSamples = Infinity): RobustStats {
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  const total = w * h;
  const step = maxSamples < total ? Math.max(1, Math.floor(total / maxSamples)) : 1;
  const buf = scratchBuffer(Math.ceil(total / step) + 1);
  let n = 0;
  // a stride over the flattened region index, so sampling is uniform over rows and columns; the
  // position (x, y) is carried along instead of divided out of k
  let x = b.x0;
  let row = b.y0 * width;
  const dx = step % w;
  const dy = Math.floor(step / w) * width;
  for (let k = 0; k < total; k += step) {
    const v = data[row + x];
    if (v === v) buf[n++] = v;
    x += dx;
    row += dy;
    if (x >= b.x1) {
      x -= w;
      row += width;
    }
  }
  return statsOfBuffer(buf, n);
}
