import { describe, expect, it } from 'vitest';
import { medianInPlace, quickselect, RADIX_MIN, radixSelect32, regionStats, robustStats, statsOfBuffer } from './robust.ts';

/** Deterministic uniform [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sortedMedian = (a: ArrayLike<number>) => {
  const s = Float64Array.from(a).sort();
  const k = s.length >> 1;
  return s.length & 1 ? s[k] : (s[k - 1] + s[k]) / 2;
};

/** Value sets that stress selection: duplicates, negatives and zeros of both signs, huge ranges, infinities, subnormals. */
function samples(n: number, seed: number): Float32Array[] {
  const u = rng(seed);
  return [
    Float32Array.from({ length: n }, () => Math.round((u() - 0.5) * 20)),
    Float32Array.from({ length: n }, () => (u() - 0.3) * 1e6),
    Float32Array.from({ length: n }, () => (u() < 0.5 ? -0 : 0)),
    Float32Array.from({ length: n }, () => 7.25),
    Float32Array.from({ length: n }, () => (u() < 0.1 ? (u() < 0.5 ? Infinity : -Infinity) : u() * 1e-40)),
    Float32Array.from({ length: n }, () => Math.exp((u() - 0.5) * 160) * (u() < 0.5 ? -1 : 1)),
    Float32Array.from({ length: n }, (_, i) => n - i),
  ];
}

describe('selection', () => {
  it('quickselect and medianInPlace agree with a sort, odd and even, small and large (radix path)', () => {
    for (const n of [1, 2, 3, 4, 7, 8, 100, 1001, RADIX_MIN, RADIX_MIN + 1, 50_001, 50_000]) {
      for (const a of samples(n, n)) {
        const sorted = Float64Array.from(a).sort();
        const k = n >> 1;
        expect(quickselect(Float32Array.from(a), k) + 0).toBe(sorted[k] + 0); // + 0: −0 and +0 are the same order statistic
        const want = sortedMedian(a) + 0;
        const got = medianInPlace(Float32Array.from(a), n) + 0;
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else expect(got).toBe(want);
        // float64 buffers take quickselect
        expect(medianInPlace(Float64Array.from(a), n) + 0).toEqual(got);
      }
    }
    expect(medianInPlace(new Float32Array(0), 0)).toBeNaN();
  });

  it('radixSelect32 returns every order statistic, the one before it and the count strictly below, without moving anything', () => {
    for (const a of samples(301, 9)) {
      const copy = Float32Array.from(a);
      const sorted = Float64Array.from(a).sort();
      for (let k = 0; k < a.length; k++) {
        const r = radixSelect32(a, a.length, k);
        expect(r.value).toBe(sorted[k] + 0);
        if (k) expect(r.prev).toBe(sorted[k - 1] + 0);
        else expect(r.prev).toBeNaN();
        // below: values strictly smaller, ordering −0 below +0 as the bit patterns do
        expect(r.below).toBeLessThanOrEqual(k);
        expect(r.below === 0 || sorted[r.below - 1] <= r.value).toBe(true);
      }
      expect(Array.from(a)).toEqual(Array.from(copy));
    }
    expect(() => radixSelect32(new Float32Array(3), 3, 3)).toThrow(RangeError);
  });

  it('a median over the first n values of a longer buffer ignores the rest', () => {
    const a = new Float32Array(RADIX_MIN * 2).fill(1e9);
    for (let i = 0; i < RADIX_MIN; i++) a[i] = i;
    expect(medianInPlace(a, RADIX_MIN)).toBe((RADIX_MIN / 2 - 1 + RADIX_MIN / 2) / 2);
  });
});

describe('robust statistics', () => {
  it('robust σ of Gaussian noise is its σ, and ignores outliers, masked and zero-weight values', () => {
    const u = rng(5);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    const a = Float32Array.from({ length: 200_000 }, () => 10 + 3 * gauss());
    for (let i = 0; i < 20_000; i++) a[i * 10] = 1e6; // 10% outliers
    const s = robustStats(a);
    expect(s.median).toBeCloseTo(10.3, 0);
    expect(s.sigma).toBeGreaterThan(3);
    expect(s.sigma).toBeLessThan(3.6);
    const mask = new Uint8Array(a.length);
    for (let i = 0; i < 20_000; i++) mask[i * 10] = 4;
    const m = robustStats(a, { mask, maskBits: 4 });
    expect(m.median).toBeCloseTo(10, 1);
    expect(m.sigma).toBeCloseTo(3, 1);
    expect(m.n).toBe(180_000);
    expect(robustStats(a, { maxSamples: 50_000, mask, maskBits: 4 }).sigma).toBeCloseTo(3, 1);
    const weight = Float32Array.from(mask, (x) => (x ? 0 : 1));
    expect(robustStats(a, { weight })).toEqual(m);
  });

  it('skips NaN and infinities; the MAD is the median of absolute deviations', () => {
    const a = Float32Array.from([1, 2, 3, NaN, 4, Infinity, 100, -Infinity]);
    const s = robustStats(a);
    expect(s.n).toBe(5);
    expect(s.median).toBe(3);
    expect(s.sigma).toBeCloseTo(1.4826 * 1, 6); // |1−3|,|2−3|,0,1,97 → median 1
    expect(statsOfBuffer(new Float32Array(4), 0).median).toBeNaN();
  });

  it('regionStats samples a sub-rectangle on a stride over its flattened index', () => {
    const W = 300;
    const H = 200;
    const img = new Float32Array(W * H).fill(1000);
    for (let y = 10; y < 60; y++) for (let x = 250; x < 290; x++) img[y * W + x] = 5 + ((x + y) % 3);
    const all = regionStats(img, W, { x0: 250, x1: 290, y0: 10, y1: 60 });
    expect(all.n).toBe(2000);
    expect(all.median).toBe(6);
    const some = regionStats(img, W, { x0: 250, x1: 290, y0: 10, y1: 60 }, 500);
    expect(some.n).toBe(500);
    expect(some.median).toBe(6);
  });
});
