/**
 * Fitting a TAN WCS (CRVAL and CD, CRPIX held fixed) to matched pixel/sky pairs.
 *
 * Linear least squares in the tangent plane: project the sky positions about the current CRVAL to
 * standard coordinates (ξ, η), fit ξ = a0 + a1 dx + a2 dy and η = b0 + b1 dx + b2 dy with
 * (dx, dy) = p − CRPIX, move CRVAL to the sky position of (a0, b0) and repeat until the move is below
 * a micro-arcsecond (2 to 4 iterations). The CD matrix is then [[a1, a2], [b1, b2]].
 * Optional iterative sigma clipping of outlier pairs. Pure; throws only on too few pairs (< 3).
 */
import { separationArcsec, skyToTangent, tangentToSky } from './sphere.ts';
import { pixToSky, type TanWcs } from './tan.ts';

export interface WcsPairs {
  /** Pixel coordinates, 0-based. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Sky coordinates, degrees. */
  ra: ArrayLike<number>;
  dec: ArrayLike<number>;
  /** Optional weights (e.g. 1/σ²), default 1. */
  weight?: ArrayLike<number>;
}

export interface FitOptions {
  /** Reference pixel (FITS 1-based); default: the weighted centroid of the pixel positions + 1. */
  crpix?: [number, number];
  /** Starting tangent point; default: the first pair's sky position. */
  crval?: [number, number];
  /** Sigma-clip pairs whose residual exceeds clip × rms (0 = no clipping). Default 0. */
  clip?: number;
  /** Clipping rounds. Default 5. */
  clipIterations?: number;
  /** Fit a similarity (scale, rotation, shift, fixed parity) instead of a full affine CD. Useful with 2–5 pairs. */
  similarity?: boolean;
}

export interface WcsFit {
  wcs: TanWcs;
  /** RMS of the sky residuals of the kept pairs, arcsec. */
  rmsArcsec: number;
  /** Per pair residual, arcsec (for all pairs, kept or not). */
  residualArcsec: Float64Array;
  /** Per pair: 1 kept, 0 clipped. */
  used: Uint8Array;
  nUsed: number;
}

/** Solves the 3x3 symmetric system M v = r in place (Gaussian elimination with partial pivoting). */
function solve3(m: number[], r: number[]): number[] | null {
  const a = [m[0], m[1], m[2], r[0], m[3], m[4], m[5], r[1], m[6], m[7], m[8], r[2]];
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let k = c + 1; k < 3; k++) if (Math.abs(a[k * 4 + c]) > Math.abs(a[p * 4 + c])) p = k;
    if (Math.abs(a[p * 4 + c]) < 1e-300) return null;
    if (p !== c) for (let j = 0; j < 4; j++) [a[c * 4 + j], a[p * 4 + j]] = [a[p * 4 + j], a[c * 4 + j]];
    for (let k = 0; k < 3; k++) {
      if (k === c) continue;
      const f = a[k * 4 + c] / a[c * 4 + c];
      for (let j = c; j < 4; j++) a[k * 4 + j] -= f * a[c * 4 + j];
    }
  }
  return [a[3] / a[0], a[7] / a[5], a[11] / a[10]];
}

function fitOnce(p: WcsPairs, used: Uint8Array, crpix: [number, number], crval0: [number, number], similarity: boolean, parityHint: number): TanWcs | null {
  let crval1 = crval0[0], crval2 = crval0[1];
  const t = [0, 0];
  let cd: [number, number, number, number] = [0, 0, 0, 0];
  const n = p.x.length;
  for (let iter = 0; iter < 10; iter++) {
    // normal equations for both axes share the design matrix [1, dx, dy]
    let s0 = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
    let xi0 = 0, xix = 0, xiy = 0, et0 = 0, etx = 0, ety = 0;
    for (let i = 0; i < n; i++) {
      if (!used[i]) continue;
      const w = p.weight ? p.weight[i] : 1;
      skyToTangent(p.ra[i], p.dec[i], crval1, crval2, t);
      if (!Number.isFinite(t[0])) continue;
      const dx = p.x[i] + 1 - crpix[0], dy = p.y[i] + 1 - crpix[1];
      s0 += w; sx += w * dx; sy += w * dy; sxx += w * dx * dx; sxy += w * dx * dy; syy += w * dy * dy;
      xi0 += w * t[0]; xix += w * t[0] * dx; xiy += w * t[0] * dy;
      et0 += w * t[1]; etx += w * t[1] * dx; ety += w * t[1] * dy;
    }
    let a0: number, b0: number;
    if (similarity) {
      // ξ = a0 + s(π cosθ dx − ... ) written as ξ = a0 + A·(q dx) + B·dy?  With parity q:
      // ξ = a0 + q A dx + B dy ; η = b0 − q B dx + A dy  (A = s cosθ, B = s sinθ)
      const q = parityHint;
      // unknowns a0, b0, A, B — solve the 4x4 normal equations by centring first
      if (s0 <= 0) return null;
      const mx = sx / s0, my = sy / s0, mxi = xi0 / s0, met = et0 / s0;
      const cxx = sxx - s0 * mx * mx, cyy = syy - s0 * my * my;
      const cxix = xix - s0 * mxi * mx, cxiy = xiy - s0 * mxi * my, cetx = etx - s0 * met * mx, cety = ety - s0 * met * my;
      const den = cxx + cyy;
      if (den <= 0) return null;
      const A = (q * cxix + cety) / den;
      const B = (cxiy - q * cetx) / den;
      a0 = mxi - (q * A * mx + B * my);
      b0 = met - (-q * B * mx + A * my);
      cd = [q * A, B, -q * B, A];
    } else {
      const m = [s0, sx, sy, sx, sxx, sxy, sy, sxy, syy];
      const a = solve3(m, [xi0, xix, xiy]);
      const b = solve3(m, [et0, etx, ety]);
      if (!a || !b) return null;
      a0 = a[0]; b0 = b[0];
      cd = [a[1], a[2], b[1], b[2]];
    }
    tangentToSky(a0, b0, crval1, crval2, t);
    crval1 = t[0];
    crval2 = t[1];
    if (Math.hypot(a0, b0) < 1e-10) break;
  }
  return { crval1, crval2, crpix1: crpix[0], crpix2: crpix[1], cd };
}

/**
 * Fits a TAN WCS to pairs (see module comment). Throws `RangeError` with fewer than 3 usable pairs
 * (2 with `similarity`) or a degenerate configuration (all pairs collinear).
 */
export function fitTanWcs(p: WcsPairs, opt: FitOptions = {}): WcsFit {
  const n = p.x.length;
  const minPairs = opt.similarity ? 2 : 3;
  if (n < minPairs) throw new RangeError(`fitTanWcs: ${n} pairs, need at least ${minPairs}`);
  let crpix = opt.crpix;
  if (!crpix) {
    let sx = 0, sy = 0;
    for (let i = 0; i < n; i++) {
      sx += p.x[i];
      sy += p.y[i];
    }
    crpix = [sx / n + 1, sy / n + 1];
  }
  const crval: [number, number] = opt.crval ?? [p.ra[0], p.dec[0]];
  const used = new Uint8Array(n).fill(1);
  const res = new Float64Array(n);
  // parity for the similarity fit: from an affine fit when possible, else the usual sky parity (−1)
  let parityHint = -1;
  if (opt.similarity && n >= 3) {
    const aff = fitOnce(p, used, crpix, crval, false, -1);
    if (aff) parityHint = aff.cd[0] * aff.cd[3] - aff.cd[1] * aff.cd[2] < 0 ? -1 : 1;
  }
  let wcs: TanWcs | null = null;
  let rms = NaN;
  const rounds = opt.clip ? (opt.clipIterations ?? 5) + 1 : 1;
  const sky = [0, 0];
  let nUsed = n;
  for (let r = 0; r < rounds; r++) {
    wcs = fitOnce(p, used, crpix, wcs ? [wcs.crval1, wcs.crval2] : crval, !!opt.similarity, parityHint);
    if (!wcs) throw new RangeError('fitTanWcs: degenerate pair geometry');
    let ss = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      pixToSky(wcs, p.x[i], p.y[i], sky);
      res[i] = separationArcsec(sky[0], sky[1], p.ra[i], p.dec[i]);
      if (used[i]) {
        ss += res[i] * res[i];
        k++;
      }
    }
    rms = Math.sqrt(ss / Math.max(1, k));
    nUsed = k;
    if (!opt.clip || r === rounds - 1) break;
    let changed = false;
    const lim = opt.clip * Math.max(rms, 1e-6);
    let keep = 0;
    for (let i = 0; i < n; i++) if (res[i] <= lim) keep++;
    if (keep < minPairs + 1) break;
    for (let i = 0; i < n; i++) {
      const u = res[i] <= lim ? 1 : 0;
      if (u !== used[i]) changed = true;
      used[i] = u;
    }
    if (!changed) break;
  }
  return { wcs: wcs!, rmsArcsec: rms, residualArcsec: res, used, nUsed };
}
