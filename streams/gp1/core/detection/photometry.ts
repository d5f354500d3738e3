/**
 * Photometric calibration against the reference catalog.
 *
 * Zero point: per matched, clean (no flag but CROWDED-free), unsaturated star with S/N ≥ `minSnr`,
 * zp_i = mag_cat − (−2.5 log10 flux); the estimate is the median after iterative 3σ clipping with σ
 * from the MAD; its uncertainty is 1.2533 σ / √N (the standard error of a median), and the clipped σ
 * itself (`scatter`) is returned: it holds the colour terms between the catalog band and ours, which
 * a per-star comparison must add to its error budget.
 * Limiting magnitude: the `nSigma` (default 5) point-source detection limit in the same aperture:
 * flux_lim = nσ · √(π r² · median pixel variance), mag_lim = zp − 2.5 log10 flux_lim.
 */
import { FLAG } from './detect.ts';

export interface ZeroPoint {
  /** mag = zp − 2.5 log10(flux [counts/s]). NaN when no star qualifies. */
  zp: number;
  zpErr: number;
  /** Clipped robust σ of the per-star zero points, mag. */
  scatter: number;
  nStars: number;
}

export interface ZpSource {
  flux: number;
  fluxErr: number;
  flags: number;
}

function median(a: number[]): number {
  if (!a.length) return NaN;
  const s = a.slice().sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Zero point from matched pairs (source index, catalog index). */
export function fitZeroPoint(sources: ZpSource[], catalogMag: ArrayLike<number>, sourceIndex: ArrayLike<number>, catalogIndex: ArrayLike<number>, o: { minSnr?: number; clip?: number } = {}): ZeroPoint {
  const minSnr = o.minSnr ?? 10;
  const clip = o.clip ?? 3;
  let z: number[] = [];
  for (let k = 0; k < sourceIndex.length; k++) {
    const s = sources[sourceIndex[k]];
    const m = catalogMag[catalogIndex[k]];
    if (!Number.isFinite(m) || s.flags & (FLAG.SATURATED | FLAG.EDGE | FLAG.MASKED | FLAG.BLENDED | FLAG.CROWDED)) continue;
    if (!(s.flux > 0) || s.flux < minSnr * s.fluxErr) continue;
    z.push(m + 2.5 * Math.log10(s.flux));
  }
  if (!z.length) return { zp: NaN, zpErr: NaN, scatter: NaN, nStars: 0 };
  let med = median(z);
  let sd = 0;
  for (let it = 0; it < 10; it++) {
    sd = 1.4826 * median(z.map((v) => Math.abs(v - med)));
    const lim = clip * Math.max(sd, 1e-4);
    const kept = z.filter((v) => Math.abs(v - med) <= lim);
    const done = kept.length === z.length;
    z = kept;
    med = median(z);
    if (done) break;
  }
  const n = z.length;
  // with 1–2 stars the MAD is meaningless: take 0.1 mag as the floor of the per-star scatter
  const scatter = n >= 3 ? sd : Math.max(sd, 0.1);
  return { zp: med, zpErr: (1.2533 * scatter) / Math.sqrt(n), scatter, nStars: n };
}

/** nσ limiting magnitude of a point source measured in a circular aperture of radius r px. */
export function limitingMagnitude(zp: number, apertureRadius: number, medianPixelVariance: number, nSigma = 5): number {
  const f = nSigma * Math.sqrt(Math.PI * apertureRadius * apertureRadius * medianPixelVariance);
  return zp - 2.5 * Math.log10(f);
}

/**
 * Median pixel variance of a frame: from the weight map (1/w over w > 0) when there is one, else the
 * RMS map, on a sparse sample of the n = width × height pixels.
 */
export function medianPixelVariance(rms: ArrayLike<number> | null, weight?: ArrayLike<number> | null, n = rms?.length ?? weight?.length ?? 0): number {
  const step = Math.max(1, Math.floor(n / 20011));
  const v: number[] = [];
  for (let p = 0; p < n; p += step) {
    if (weight) {
      if (weight[p] > 0) v.push(1 / weight[p]);
    } else if (rms) v.push(rms[p] * rms[p]);
  }
  return median(v);
}
