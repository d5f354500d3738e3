import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';

describe('Rng', () => {
  it('is deterministic by seed and differs across seeds and streams', () => {
    const a = new Rng(123), b = new Rng(123), c = new Rng(124);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    const d1 = Rng.derive(5, 'frame', 1).nextUint32();
    expect(Rng.derive(5, 'frame', 1).nextUint32()).toBe(d1);
    expect(Rng.derive(5, 'frame', 2).nextUint32()).not.toBe(d1);
    expect(Rng.derive(5, 'other', 1).nextUint32()).not.toBe(d1);
    expect(Rng.derive(6, 'frame', 1).nextUint32()).not.toBe(d1);
  });

  it('gives uniform deviates in [0, 1) with the right moments', () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0, s2 = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      s += u;
      s2 += u * u;
      if (u < min) min = u;
      if (u > max) max = u;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(s2 / n - s * s / n / n - 1 / 12)).toBeLessThan(0.001);
  });

  it('gives standard normal deviates (ziggurat): moments and tail probabilities', () => {
    const r = new Rng(2);
    const n = 2_000_000;
    let m1 = 0, m2 = 0, m3 = 0, m4 = 0, t2 = 0, t3 = 0, t4 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      const z2 = z * z;
      m1 += z;
      m2 += z2;
      m3 += z2 * z;
      m4 += z2 * z2;
      const a = Math.abs(z);
      if (a > 2) t2++;
      if (a > 3) t3++;
      if (a > 4) t4++;
    }
    expect(Math.abs(m1 / n)).toBeLessThan(5 * Math.sqrt(1 / n));
    expect(Math.abs(m2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m3 / n)).toBeLessThan(5 * Math.sqrt(15 / n));
    expect(Math.abs(m4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    // two-sided tails: 0.0455, 0.0027, 6.33e-5
    const within = (k: number, p: number) => Math.abs(k - n * p) < 5 * Math.sqrt(n * p);
    expect(within(t2, 0.04550026)).toBe(true);
    expect(within(t3, 0.0026998)).toBe(true);
    expect(within(t4, 6.334e-5)).toBe(true);
  });

  it('gives Poisson deviates with mean = variance, exact for small λ and approximate for large', () => {
    const r = new Rng(3);
    for (const lam of [0.05, 0.5, 3, 12, 29, 31, 200, 5000]) {
      const n = 200_000;
      let s = 0, s2 = 0, zeros = 0;
      for (let i = 0; i < n; i++) {
        const k = r.poisson(lam);
        s += k;
        s2 += k * k;
        if (k === 0) zeros++;
      }
      const mean = s / n, v = s2 / n - mean * mean;
      expect(Math.abs(mean - lam)).toBeLessThan(5 * Math.sqrt(lam / n) + 1e-9);
      expect(Math.abs(v / lam - 1)).toBeLessThan(0.02 + 5 * Math.sqrt(2 / n));
      if (lam < 5) expect(Math.abs(zeros / n - Math.exp(-lam))).toBeLessThan(5 * Math.sqrt(Math.exp(-lam) / n) + 1e-4);
    }
    expect(r.poisson(0)).toBe(0);
  });
});
