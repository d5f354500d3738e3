/** Image statistics over finite values (NaN and ±Infinity ignored). */

export interface ImageStats {
  min: number;
  max: number;
  mean: number;
  median: number;
  std: number;
  /** Number of finite values the statistics were computed from. */
  count: number;
}

/** k-th smallest element (0-based) of a, reordering a in place (Hoare selection). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    let x = a[lo];
    let y = a[mid];
    let z = a[hi];
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
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
    else return a[k];
  }
  return a[k];
}

/**
 * min, max, mean, median (mean of the two middle values for an even count) and population standard
 * deviation, like numpy's nanmin/nanmax/nanmean/nanmedian/nanstd. Integer-valued data with a moderate
 * range (camera frames) use a histogram for the median: O(n) without copying.
 */
export function imageStats(data: ArrayLike<number>): ImageStats {
  const n = data.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    count++;
    if (integral && v !== Math.floor(v)) integral = false;
  }
  if (count === 0) return { min: NaN, max: NaN, mean: NaN, median: NaN, std: NaN, count: 0 };
  const mean = sum / count;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    const d = v - mean;
    ss += d * d;
  }
  const std = Math.sqrt(ss / count);
  let median: number;
  const range = max - min;
  if (integral && range < 1 << 22) {
    const hist = new Uint32Array(range + 1);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (Number.isFinite(v)) hist[v - min]++;
    }
    const kth = (k: number): number => {
      let acc = 0;
      for (let b = 0; b < hist.length; b++) {
        acc += hist[b];
        if (acc > k) return b + min;
      }
      return max;
    };
    median = count % 2 === 1 ? kth((count - 1) / 2) : (kth(count / 2 - 1) + kth(count / 2)) / 2;
  } else {
    const a = new Float64Array(count);
    let j = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (Number.isFinite(v)) a[j++] = v;
    }
    if (count % 2 === 1) median = select(a, (count - 1) / 2);
    else {
      const hiv = select(a, count / 2);
      // the largest value below index count/2 is the max of the left part after selection
      let lov = -Infinity;
      for (let i = 0; i < count / 2; i++) if (a[i] > lov) lov = a[i];
      median = (lov + hiv) / 2;
    }
  }
  return { min, max, mean, median, std, count };
}
