/**
 * FWHM estimate of a calibrated frame from a few bright, isolated, unsaturated stars.
 *
 * Stars: local maxima (8-neighbour) more than `minSnr` σ above the sky, no masked pixel in their
 * measurement window, no other peak brighter than `isolationFraction` of theirs within `isolation`
 * pixels, away from the borders. The brightest `maxStars` are measured.
 *
 * Measurement: adaptive (Gaussian-weighted) second moments. With a circular Gaussian weight of width
 * σ_w, the weighted second moment of a Gaussian star of width σ is σ_m² = σ²σ_w²/(σ² + σ_w²); iterating
 * σ_w² ← 2σ_m² (and the centroid) converges to σ_w = σ, insensitive to the noise of the far wings.
 * FWHM = 2√(2 ln 2) σ in pixels, as measured on the pixel grid (pixel-integrated profile, so a
 * Gaussian of true width σ reads √(σ² + 1/12)). The frame's estimate is the median over stars.
 */
import { MASK } from './maskBits.ts';

export const SIGMA_TO_FWHM = 2 * Math.sqrt(2 * Math.LN2);

export interface FwhmOptions {
  /** Minimum peak above sky, σ. Default 20. */
  minSnr?: number;
  /** Stars measured. Default 25. */
  maxStars?: number;
  /** Isolation radius, px. Default 12. */
  isolation?: number;
  /** A neighbour peak above this fraction of the star's (above sky) breaks isolation. Default 0.05. */
  isolationFraction?: number;
  /** Peaks at or above this value (counts/s; e.g. 0.8 × saturation) are skipped. */
  maxPeak?: number;
  /** Largest ellipticity kept. Default 0.5. */
  maxEllipticity?: number;
}

export interface FwhmInput {
  image: Float32Array;
  width: number;
  height: number;
  mask?: Uint8Array | null;
  sky: number;
  /** Robust σ of the sky, counts/s. */
  noise: number;
}

export interface StarMoment {
  x: number;
  y: number;
  peak: number;
  fwhm: number;
  ellipticity: number;
}

export interface FwhmResult {
  /** Median FWHM over the stars, px; NaN when none was measured. */
  fwhm: number;
  stars: StarMoment[];
}

export function estimateFwhm(inp: FwhmInput, opts: FwhmOptions = {}): FwhmResult {
  const { image: img, width: W, height: H, mask, sky, noise } = inp;
  if (!(noise > 0)) return { fwhm: NaN, stars: [] };
  const R = opts.isolation ?? 12;
  const minPeak = sky + (opts.minSnr ?? 20) * noise;
  const lowPeak = sky + 5 * noise;
  const maxPeak = opts.maxPeak ?? Infinity;
  const frac = opts.isolationFraction ?? 0.05;
  const maxE = opts.maxEllipticity ?? 0.5;

  // 1. local maxima above 5σ (for isolation), capped
  const CAP = 200_000;
  const px = new Int32Array(CAP);
  const pv = new Float32Array(CAP);
  let np = 0;
  for (let y = 1; y < H - 1 && np < CAP; y++) {
    for (let x = 1; x < W - 1; x++) {
      const p = y * W + x;
      const v = img[p];
      if (!(v > lowPeak)) continue;
      if (v <= img[p - 1] || v < img[p + 1] || v <= img[p - W] || v < img[p + W] || v <= img[p - W - 1] || v <= img[p - W + 1] || v < img[p + W - 1] || v < img[p + W + 1]) continue;
      px[np] = p;
      pv[np] = v;
      if (++np >= CAP) break;
    }
  }
  // grid of R-sized cells → peak lists
  const gw = Math.ceil(W / R);
  const gh = Math.ceil(H / R);
  const head = new Int32Array(gw * gh).fill(-1);
  const next = new Int32Array(np);
  for (let i = 0; i < np; i++) {
    const c = (((px[i] / W) | 0) / R | 0) * gw + ((px[i] % W) / R | 0);
    next[i] = head[c];
    head[c] = i;
  }
  // bright candidates, brightest first
  const bright: number[] = [];
  for (let i = 0; i < np; i++) if (pv[i] > minPeak && pv[i] < maxPeak) bright.push(i);
  bright.sort((a, b) => pv[b] - pv[a]);

  const stars: StarMoment[] = [];
  const maxStars = opts.maxStars ?? 25;
  const border = R;
  for (const i of bright) {
    if (stars.length >= maxStars) break;
    const p = px[i];
    const x0 = p % W;
    const y0 = (p / W) | 0;
    if (x0 < border || y0 < border || x0 >= W - border || y0 >= H - border) continue;
    // isolation
    const lim = sky + frac * (pv[i] - sky);
    let isolated = true;
    const cx = (x0 / R) | 0;
    const cy = (y0 / R) | 0;
    for (let gy = Math.max(0, cy - 1); gy <= Math.min(gh - 1, cy + 1) && isolated; gy++) {
      for (let gx = Math.max(0, cx - 1); gx <= Math.min(gw - 1, cx + 1) && isolated; gx++) {
        for (let j = head[gy * gw + gx]; j >= 0; j = next[j]) {
          if (j === i) continue;
          const dx = (px[j] % W) - x0;
          const dy = ((px[j] / W) | 0) - y0;
          if (dx * dx + dy * dy <= R * R && pv[j] > lim) {
            isolated = false;
            break;
          }
        }
      }
    }
    if (!isolated) continue;
    const m = adaptiveMoments(img, W, H, mask ?? null, sky, x0, y0, R);
    if (!m || m.ellipticity > maxE || m.fwhm < 0.8) continue;
    stars.push({ x: m.x, y: m.y, peak: pv[i], fwhm: m.fwhm, ellipticity: m.ellipticity });
  }
  if (!stars.length) return { fwhm: NaN, stars };
  const f = stars.map((s) => s.fwhm).sort((a, b) => a - b);
  const h = f.length >> 1;
  return { fwhm: f.length & 1 ? f[h] : 0.5 * (f[h - 1] + f[h]), stars };
}

/** Adaptive moments around (x0, y0) within radius R; null if a masked pixel is in the window or no convergence. */
export function adaptiveMoments(img: Float32Array, W: number, H: number, mask: Uint8Array | null, sky: number, x0: number, y0: number, R: number): { x: number; y: number; fwhm: number; ellipticity: number } | null {
  let cx = x0;
  let cy = y0;
  let s2 = 2; // σ_w², px²
  for (let it = 0; it < 40; it++) {
    const rw = Math.min(R, Math.max(3, Math.ceil(4 * Math.sqrt(s2))));
    const ix = Math.round(cx);
    const iy = Math.round(cy);
    if (ix - rw < 0 || iy - rw < 0 || ix + rw >= W || iy + rw >= H) return null;
    let sw = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    const inv = 1 / (2 * s2);
    for (let y = iy - rw; y <= iy + rw; y++) {
      const dy = y - cy;
      const row = y * W;
      for (let x = ix - rw; x <= ix + rw; x++) {
        const dx = x - cx;
        const r2 = dx * dx + dy * dy;
        if (r2 > rw * rw) continue;
        if (mask && mask[row + x]) return null;
        const wI = Math.exp(-r2 * inv) * (img[row + x] - sky);
        sw += wI;
        sx += wI * dx;
        sy += wI * dy;
        sxx += wI * dx * dx;
        syy += wI * dy * dy;
        sxy += wI * dx * dy;
      }
    }
    if (!(sw > 0)) return null;
    const mx = sx / sw;
    const my = sy / sw;
    const mxx = sxx / sw - mx * mx;
    const myy = syy / sw - my * my;
    const mxy = sxy / sw - mx * my;
    const sm2 = 0.5 * (mxx + myy);
    if (!(sm2 > 0)) return null;
    cx += mx;
    cy += my;
    if (Math.abs(cx - x0) > R / 2 || Math.abs(cy - y0) > R / 2) return null;
    const ns2 = 2 * sm2;
    const done = Math.abs(ns2 - s2) < 1e-4 * s2 && Math.abs(mx) < 1e-3 && Math.abs(my) < 1e-3;
    s2 = ns2;
    if (s2 > (R * R) / 4) return null;
    if (done) {
      const e = Math.sqrt((mxx - myy) ** 2 + 4 * mxy * mxy) / (mxx + myy);
      return { x: cx, y: cy, fwhm: SIGMA_TO_FWHM * Math.sqrt(s2), ellipticity: e };
    }
  }
  return null;
}
