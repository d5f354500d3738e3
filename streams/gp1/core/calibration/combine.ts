/**
 * Pixel-wise combination of a stack of equally sized frames into a master: the median, or a
 * sigma-clipped mean. The kernel works on a pixel range [start, end) so workers can split one
 * combine over rows of shared buffers (see pool.ts). No allocation per pixel: the N values of a
 * pixel are gathered into one small reusable buffer and sorted by insertion (N is 3–30).
 */

export type CombineMethod = 'median' | 'sigclip';

export interface CombineOptions {
  method: CombineMethod;
  /** Sigma-clipped mean: reject |v − median| > clipSigma × σ, σ = 1.4826 × MAD of the pixel's values. Default 3. */
  clipSigma?: number;
  /** Sigma-clipped mean: clipping passes (re-centred on the mean of the kept values). Default 2. */
  maxIter?: number;
}

export interface CombineCounts {
  /** Values rejected by clipping (0 for the median). */
  clipped: number;
}

/**
 * Combines `stack[k][p]` over k into `out[p]` for p in [start, end). All arrays must have the same
 * length; `out` may be a view on shared memory. Returns the number of clipped values.
 */
export function combineStack(stack: ArrayLike<Float32Array>, out: Float32Array, opts: CombineOptions, start = 0, end = out.length): CombineCounts {
  const n = stack.length;
  if (n === 0) throw new Error('combineStack: empty stack');
  for (let k = 0; k < n; k++) if (stack[k].length !== out.length) throw new Error(`combineStack: frame ${k} has ${stack[k].length} pixels, expected ${out.length}`);
  if (n === 1) {
    out.set(stack[0].subarray(start, end), start);
    return { clipped: 0 };
  }
  const frames = Array.from({ length: n }, (_, k) => stack[k]);
  if (opts.method === 'median') {
    if (n <= MAX_NETWORK) medianKernel(n)(frames, out, start, end);
    else medianN(frames, out, start, end);
    return { clipped: 0 };
  }
  return sigclip(frames, out, opts.clipSigma ?? 3, opts.maxIter ?? 2, start, end);
}

/**
 * Median kernels for 2..MAX_NETWORK frames: a selection network (Batcher's odd–even merge sort,
 * pruned to the comparators that reach the middle outputs), unrolled into straight-line code once per
 * frame count. Each compare-exchange is branch-free arithmetic,
 *   lo = (a + b − |a − b|)/2,  hi = (a + b + |a − b|)/2,
 * exact for float32 inputs in float64 (sums and differences of two float32 values are exact doubles,
 * and so are the halvings). Why generated code: on noisy data every comparison of an insertion sort
 * (and V8's Math.min/max, which branch on NaN) is a coin flip for the branch predictor; the unrolled
 * network keeps the N values in registers and runs 3–5× faster. The generated source contains only
 * numbers and fixed identifiers (no input reaches it).
 */
export const MAX_NETWORK = 32;
type Kernel = (frames: Float32Array[], out: Float32Array, start: number, end: number) => void;
const kernels = new Map<number, Kernel>();

/** Comparator pairs of Batcher's odd–even merge sort for n inputs (pairs touching ≥ n dropped). */
export function sortingNetwork(n: number): [number, number][] {
  const pairs: [number, number][] = [];
  let p2 = 1;
  while (p2 < n) p2 *= 2;
  for (let p = 1; p < p2; p *= 2) {
    for (let k = p; k >= 1; k >>= 1) {
      for (let j = k % p; j <= p2 - 1 - k; j += 2 * k) {
        for (let i = 0; i <= Math.min(k - 1, p2 - j - k - 1); i++) {
          if (Math.floor((i + j) / (2 * p)) === Math.floor((i + j + k) / (2 * p)) && i + j + k < n) pairs.push([i + j, i + j + k]);
        }
      }
    }
  }
  return pairs;
}

/** The comparators of `pairs` that can influence the outputs `wanted`. */
function prune(pairs: [number, number][], wanted: number[]): [number, number][] {
  const need = new Set(wanted);
  const keep: [number, number][] = [];
  for (let c = pairs.length - 1; c >= 0; c--) {
    const [a, b] = pairs[c];
    if (need.has(a) || need.has(b)) {
      keep.push(pairs[c]);
      need.add(a);
      need.add(b);
    }
  }
  return keep.reverse();
}

function medianKernel(n: number): Kernel {
  let k = kernels.get(n);
  if (k) return k;
  const h = n >> 1;
  const wanted = n & 1 ? [h] : [h - 1, h];
  const net = prune(sortingNetwork(n), wanted);
  const lines = [`const [${Array.from({ length: n }, (_, i) => `f${i}`).join(', ')}] = frames;`, 'for (let p = start; p < end; p++) {'];
  for (let i = 0; i < n; i++) lines.push(`  let v${i} = f${i}[p];`);
  for (const [a, b] of net) lines.push(`  { const s = v${a} + v${b}, d = Math.abs(v${a} - v${b}); v${a} = 0.5 * (s - d); v${b} = 0.5 * (s + d); }`);
  lines.push(n & 1 ? `  out[p] = v${h};` : `  out[p] = 0.5 * (v${h - 1} + v${h});`, '}');
  k = new Function('frames', 'out', 'start', 'end', lines.join('\n')) as Kernel;
  kernels.set(n, k);
  return k;
}

function medianN(frames: Float32Array[], out: Float32Array, start: number, end: number): void {
  const n = frames.length;
  const buf = new Float64Array(n);
  const half = n >>> 1;
  const even = (n & 1) === 0;
  for (let p = start; p < end; p++) {
    // gather + insertion sort
    for (let k = 0; k < n; k++) {
      const v = frames[k][p];
      let j = k - 1;
      while (j >= 0 && buf[j] > v) {
        buf[j + 1] = buf[j];
        j--;
      }
      buf[j + 1] = v;
    }
    out[p] = even ? 0.5 * (buf[half - 1] + buf[half]) : buf[half];
  }
}

function sigclip(frames: Float32Array[], out: Float32Array, kSigma: number, maxIter: number, start: number, end: number): CombineCounts {
  const n = frames.length;
  const vals = new Float64Array(n);
  const dev = new Float64Array(n);
  let clipped = 0;
  for (let p = start; p < end; p++) {
    for (let k = 0; k < n; k++) {
      const v = frames[k][p];
      let j = k - 1;
      while (j >= 0 && vals[j] > v) {
        vals[j + 1] = vals[j];
        j--;
      }
      vals[j + 1] = v;
    }
    // kept values are the contiguous sorted range [lo, hi)
    let lo = 0;
    let hi = n;
    let center = sortedMedian(vals, lo, hi);
    let mean = center;
    for (let it = 0; it < maxIter; it++) {
      // MAD of the kept values around the centre
      const m = hi - lo;
      for (let k = 0; k < m; k++) {
        const d = Math.abs(vals[lo + k] - center);
        let j = k - 1;
        while (j >= 0 && dev[j] > d) {
          dev[j + 1] = dev[j];
          j--;
        }
        dev[j + 1] = d;
      }
      const sigma = 1.4826 * ((m & 1) === 1 ? dev[m >>> 1] : 0.5 * (dev[(m >>> 1) - 1] + dev[m >>> 1]));
      const lim = kSigma * sigma;
      let nlo = lo;
      let nhi = hi;
      while (nlo < nhi && center - vals[nlo] > lim) nlo++;
      while (nhi > nlo && vals[nhi - 1] - center > lim) nhi--;
      let s = 0;
      for (let k = nlo; k < nhi; k++) s += vals[k];
      mean = nhi > nlo ? s / (nhi - nlo) : center;
      const changed = nlo !== lo || nhi !== hi;
      lo = nlo;
      hi = nhi;
      if (!changed || hi - lo < 3) break;
      center = mean;
    }
    clipped += n - (hi - lo);
    out[p] = mean;
  }
  return { clipped };
}

function sortedMedian(v: Float64Array, lo: number, hi: number): number {
  const m = hi - lo;
  const h = lo + (m >>> 1);
  return m & 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}
