/**
 * Cosmic-ray detection on a single calibrated frame (no second exposure to compare with).
 *
 * A pixel is a cosmic-ray hit when both hold:
 *  1. significance: v − m > k·σ, with m the median of its 8 neighbours and σ² the pixel's variance
 *     (background 1/weight plus the Poisson term of the local signal, max(m − sky, 0)/(g·t·flat));
 *  2. sharpness (the neighbour test): v − sky > s·(m − sky). A star's peak is at most ~2× the median
 *     of its neighbours for FWHM ≥ 2.5 px (1/e^(1/2σ²) … for a Gaussian), a cosmic-ray hit or a
 *     hot pixel has neighbours at the sky. Default s = 4 is safe for FWHM ≳ 2 px; undersampled
 *     images need a larger s.
 * Then growth: neighbours of flagged pixels are tested again with the flagged pixels left out of
 * their neighbour median and a lower threshold (tracks over several pixels), until nothing changes.
 *
 * Pixels already masked as saturated, hot, or with weight 0 are neither tested nor used as evidence.
 * Cost: one cheap test per pixel (v − sky against k·σ); the 8-neighbour median only for candidates.
 */
import { MASK } from './maskBits.ts';

export interface CosmicOptions {
  /** Significance threshold, σ. Default 5. */
  sigma?: number;
  /** Sharpness ratio (v − sky)/(m − sky). Default 4. */
  sharpness?: number;
  /** Threshold for the growth passes, σ. Default 3. */
  growSigma?: number;
  /** Most growth passes. Default 3. */
  maxGrow?: number;
}

export interface CosmicInput {
  image: Float32Array;
  width: number;
  height: number;
  /** Inverse background variance per pixel, (counts/s)⁻²; 0 = unusable. */
  weight: Float32Array;
  /** Mask; COSMIC bits are set in place. */
  mask: Uint8Array;
  /** Sky level, counts/s. */
  sky: number;
  /** gain × exposure time, e-/ADU × s: source Poisson variance = signal/(gainTime·flat). 0 = ignore. */
  gainTime: number;
  /** The flat applied (for the Poisson term); null = 1. */
  flat?: Float32Array | null;
}

const SKIP = MASK.SATURATED | MASK.HOT | MASK.LOW_FLAT;

/** Flags cosmic rays (MASK.COSMIC) in `inp.mask`; returns the number of flagged pixels. */
export function detectCosmicRays(inp: CosmicInput, opts: CosmicOptions = {}): number {
  const { image: img, width: W, height: H, weight, mask, sky, gainTime, flat } = inp;
  const k = opts.sigma ?? 5;
  const sharp = opts.sharpness ?? 4;
  const kg = opts.growSigma ?? 3;
  const nb = new Float64Array(8);
  const offs = [-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1];
  const k2 = k * k;
  let flagged: number[] = [];

  /** The test at pixel p with threshold kk; excludeFlagged leaves COSMIC pixels out of the median. */
  const test = (p: number, kk: number, excludeFlagged: boolean): boolean => {
    const v = img[p];
    const w = weight[p];
    let n = 0;
    for (let j = 0; j < 8; j++) {
      const q = p + offs[j];
      const mq = mask[q];
      if (mq & MASK.SATURATED) return false; // next to a saturated star: no decision
      if (excludeFlagged && mq & MASK.COSMIC) continue;
      const x = img[q];
      let i = n - 1;
      while (i >= 0 && nb[i] > x) {
        nb[i + 1] = nb[i];
        i--;
      }
      nb[i + 1] = x;
      n++;
    }
    if (n < 3) return false;
    const h = n >> 1;
    const m = n & 1 ? nb[h] : 0.5 * (nb[h - 1] + nb[h]);
    const signal = m - sky;
    let varP = 1 / w;
    if (gainTime > 0 && signal > 0) varP += signal / (gainTime * (flat ? flat[p] || 1 : 1));
    const d = v - m;
    if (d <= 0 || d * d <= kk * kk * varP) return false;
    return signal <= 0 || v - sky > sharp * signal;
  };

  for (let y = 1; y < H - 1; y++) {
    const row = y * W;
    for (let x = 1; x < W - 1; x++) {
      const p = row + x;
      const d = img[p] - sky;
      const w = weight[p];
      // cheap pre-test: not even k σ above the sky (the neighbour median is ≥ sky in practice)
      if (d <= 0 || d * d * w <= k2 || mask[p] & SKIP) continue;
      if (test(p, k, false)) flagged.push(p);
    }
  }
  for (const p of flagged) mask[p] |= MASK.COSMIC;
  let total = flagged.length;

  const maxGrow = opts.maxGrow ?? 3;
  for (let pass = 0; pass < maxGrow && flagged.length; pass++) {
    const next: number[] = [];
    for (const p of flagged) {
      for (let j = 0; j < 8; j++) {
        const q = p + offs[j];
        const x = q % W;
        const y = (q / W) | 0;
        if (x < 1 || y < 1 || x >= W - 1 || y >= H - 1) continue;
        if (mask[q] & (SKIP | MASK.COSMIC) || !(weight[q] > 0)) continue;
        if (test(q, kg, true)) {
          mask[q] |= MASK.COSMIC;
          next.push(q);
        }
      }
    }
    total += next.length;
    flagged = next;
  }
  return total;
}
