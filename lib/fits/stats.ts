/** Image statistics over finite values (NaN and ±Infinity ignored). */
import { medianInPlace } from '../stats/robust.ts';

export interface ImageStats {
  min: number;
  max: number;
  mean: number;
  median: number;
  std: number;
  /** Number of finite values the statistics were computed from. */
  count: number;
}

/**
 * min, max, mean, median (mean of the two middle values for an even count) and population standard
 * deviation, like numpy's nanmin/nanmax/nanmean/nanmedian/nanstd. Integer-valued data with a moderate
 * range (camera frames) use a histogram for the median: O(n) without copying; other data a selection
 * (lib/stats/robust.ts) on a copy of the finite values.
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
    // finite values copied (float32 data stays float32: exact, and selected by radix), then selected
    const a = data instanceof Float32Array ? new Float32Array(count) : new Float64Array(count);
    let j = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (Number.isFinite(v)) a[j++] = v;
    }
    median = medianInPlace(a, count);
  }
  return { min, max, mean, median, std, count };
}
