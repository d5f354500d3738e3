/**
 * FWHM estimate of a calibrated frame from a few bright, isolated, unsaturated stars.
 *
 * Stars: local maxima (8-neighbour) more than `minSnr` σ above the sky, no masked pixel in their
 * measurement window, no other peak brighter than `isolationFraction` of theirs within `isolation`
 * pixels, away from the borders. The brightest `maxStars` are measured.
 *
 * Measurement, per star:
 * 1. adaptive (Gaussian-weighted) moments give the centroid and a width: with a circular Gaussian
 *    weight of width σ_w, the weighted second moment of a Gaussian star of width σ is
 *    σ_m² = σ²σ_w²/(σ² + σ_w²); iterating σ_w² ← 2σ_m² converges to σ_w = σ (robust to noisy wings,
 *    but for a Moffat profile it overestimates the FWHM by ~10–15%);
 * 2. the half-maximum radius, whatever the profile: the peak I₀ from a fit of ln I = ln I₀ − r²/(2s²)
 *    to the core pixels (r ≤ σ_w), then a straight line fitted to I/I₀ − 1/2 against r over the pixels
 *    around the half-maximum (0.6–1.6 × the Gaussian half-width); FWHM = 2 × its zero.
 * Pixel values are pixel integrals, so a Gaussian of true width σ reads close to √(σ² + 1/12). The
 * frame's estimate is the median over stars.
 */

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
  /** Optional: ascending indices of (at least) every pixel above sky + 5σ; the peak search visits only these. */
  candidates?: Int32Array | null;
}

export interface StarMoment {
  x: number;
  y: number;
  peak: number;
  /** Half-maximum FWHM, px. */
  fwhm: number;
  /** Adaptive-moment FWHM (2.3548 σ), px. */
  momentFwhm: number;
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
  const isPeak = (p: number, v: number) => !(v <= img[p - 1] || v < img[p + 1] || v <= img[p - W] || v < img[p + W] || v <= img[p - W - 1] || v <= img[p - W + 1] || v < img[p + W - 1] || v < img[p + W + 1]);
  const cand = inp.candidates;
  if (cand) {
    for (let c = 0; c < cand.length && np < CAP; c++) {
      const p = cand[c];
      const x = p % W;
      if (p < W || p >= (H - 1) * W || x === 0 || x === W - 1) continue;
      const v = img[p];
      if (!(v > lowPeak) || !isPeak(p, v)) continue;
      px[np] = p;
      pv[np++] = v;
    }
  } else {
    for (let y = 1; y < H - 1 && np < CAP; y++) {
      for (let x = 1; x < W - 1; x++) {
        const p = y * W + x;
        const v = img[p];
        if (!(v > lowPeak) || !isPeak(p, v)) continue;
        px[np] = p;
        pv[np] = v;
        if (++np >= CAP) break;
      }
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
    const hm = halfMaxFwhm(img, W, sky, m.x, m.y, m.fwhm / SIGMA_TO_FWHM, R);
    if (!(hm > 0.8 && hm < 2 * R)) continue;
    stars.push({ x: m.x, y: m.y, peak: pv[i], fwhm: hm, momentFwhm: m.fwhm, ellipticity: m.ellipticity });
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

const prof = { r: new Float64Array(0), v: new Float64Array(0) };

/**
 * FWHM from the half-maximum radius around (cx, cy) (see the file comment); NaN if the profile does
 * not allow it. `sw` is the adaptive-moment σ, `R` the largest radius looked at.
 */
export function halfMaxFwhm(img: Float32Array, W: number, sky: number, cx: number, cy: number, sw: number, R: number): number {
  const rmax = Math.min(R, Math.ceil(3 * sw) + 1);
  const n = (2 * rmax + 1) ** 2;
  if (prof.r.length < n) {
    prof.r = new Float64Array(n);
    prof.v = new Float64Array(n);
  }
  const rs = prof.r;
  const vs = prof.v;
  let m = 0;
  const ix = Math.round(cx);
  const iy = Math.round(cy);
  for (let y = iy - rmax; y <= iy + rmax; y++) {
    for (let x = ix - rmax; x <= ix + rmax; x++) {
      const r = Math.hypot(x - cx, y - cy);
      if (r > rmax) continue;
      rs[m] = r;
      vs[m++] = img[y * W + x] - sky;
    }
  }
  // peak: ln I = a + b r² on the core
  const core = Math.max(1.5, sw);
  let n0 = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let k = 0; k < m; k++) {
    if (rs[k] > core || !(vs[k] > 0)) continue;
    const x = rs[k] * rs[k];
    const y = Math.log(vs[k]);
    n0++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  if (n0 < 3) return NaN;
  const den = n0 * sxx - sx * sx;
  if (!(den > 0)) return NaN;
  const slope = (n0 * sxy - sx * sy) / den;
  const peak = Math.exp((sy - slope * sx) / n0);
  if (!(peak > 0) || !(slope < 0)) return NaN;
  // half maximum: u = I/I₀ − 1/2 = p + q r around the Gaussian half-width
  const h = 1.1774 * sw;
  let n1 = 0;
  sx = sy = sxx = sxy = 0;
  for (let k = 0; k < m; k++) {
    const r = rs[k];
    if (r < 0.6 * h || r > 1.6 * h) continue;
    const u = vs[k] / peak - 0.5;
    n1++;
    sx += r;
    sy += u;
    sxx += r * r;
    sxy += r * u;
  }
  if (n1 < 4) return NaN;
  const d1 = n1 * sxx - sx * sx;
  if (!(d1 > 0)) return NaN;
  const q = (n1 * sxy - sx * sy) / d1;
  const p = (sy - q * sx) / n1;
  if (!(q < 0)) return NaN;
  return (2 * -p) / q;
}
