/**
 * Moffat point-spread function, rendered into a local stamp and integrated over pixels.
 *
 * Profile (Moffat 1969), per unit area, for a source of total flux F:
 *     I(r) = F · (β − 1) / (π α²) · (1 + r²/α²)^(−β),     ∫ I dA = F
 *     FWHM = 2 α √(2^(1/β) − 1)
 * The pixel integral is approximated by n×n sub-samples inside the core (r < 2α + 1 px) and by the
 * value at the pixel centre outside, where the profile is smooth on the pixel scale. The stamp
 * extends to where the profile falls below {@link STAMP_THRESHOLD} e⁻/px, and at least to 5α
 * (which leaves out < 0.2 % of the flux for β = 3).
 *
 * Pixel convention: 0-based array coordinates, pixel (i, j) covers [i − ½, i + ½] × [j − ½, j + ½].
 */

/** e⁻ per pixel below which the wings are not rendered. */
export const STAMP_THRESHOLD = 0.05;
/** Hard cap on the stamp radius (px). */
export const STAMP_MAX_RADIUS = 400;

export function moffatAlpha(fwhm: number, beta: number): number {
  return fwhm / (2 * Math.sqrt(Math.pow(2, 1 / beta) - 1));
}

/** Fraction of a Moffat's flux inside radius R: 1 − (1 + R²/α²)^(1−β). */
export function moffatEnclosed(R: number, alpha: number, beta: number): number {
  return 1 - Math.pow(1 + (R * R) / (alpha * alpha), 1 - beta);
}

export interface StampTarget {
  /** electrons image, raw frame layout */
  e: Float32Array;
  width: number;
  height: number;
  /** columns [x0, x1) that receive light (the data section) */
  x0: number;
  x1: number;
  /** per-pixel multiplier (flat response), same layout; omit for 1 */
  response?: Float32Array;
}

export interface StampResult {
  /** Σ of electrons added to the image (response applied) */
  rendered: number;
  /** Σ of the PSF fractions over the rendered pixels (response not applied; ≤ 1) */
  fraction: number;
  /** largest electrons value added to one pixel */
  peak: number;
  /** stamp bounds actually rendered, inclusive; empty when x0 > x1 */
  bx0: number;
  bx1: number;
  by0: number;
  by1: number;
}

/**
 * Adds a Moffat source of `electrons` total at (cx, cy) into `t.e`. No allocation besides the result.
 */
export function addMoffat(t: StampTarget, cx: number, cy: number, electrons: number, alpha: number, beta: number): StampResult {
  const norm = ((beta - 1) / (Math.PI * alpha * alpha)) * electrons; // peak surface brightness, e⁻/px²
  const a2inv = 1 / (alpha * alpha);
  // radius where the profile drops to the threshold
  let R = 5 * alpha;
  if (norm > STAMP_THRESHOLD) {
    const rt = alpha * Math.sqrt(Math.max(0, Math.pow(norm / STAMP_THRESHOLD, 1 / beta) - 1));
    if (rt > R) R = rt;
  }
  if (R > STAMP_MAX_RADIUS) R = STAMP_MAX_RADIUS;
  const rCore = 2 * alpha + 1;
  const rCore2 = rCore * rCore;
  const R2 = (R + 0.5) * (R + 0.5);
  const ns = alpha < 1.5 ? 9 : alpha < 3 ? 7 : 5;
  const step = 1 / ns;
  const w = step * step;
  const beta3 = beta === 3;

  const bx0 = Math.max(t.x0, Math.floor(cx - R));
  const bx1 = Math.min(t.x1 - 1, Math.ceil(cx + R));
  const by0 = Math.max(0, Math.floor(cy - R));
  const by1 = Math.min(t.height - 1, Math.ceil(cy + R));
  const res: StampResult = { rendered: 0, fraction: 0, peak: 0, bx0, bx1, by0, by1 };
  if (bx0 > bx1 || by0 > by1) return res;

  const { e, width: W, response } = t;
  let rendered = 0;
  let fraction = 0;
  let peak = 0;
  for (let y = by0; y <= by1; y++) {
    const dy = y - cy;
    const row = y * W;
    for (let x = bx0; x <= bx1; x++) {
      const dx = x - cx;
      const r2c = dx * dx + dy * dy;
      if (r2c > R2) continue;
      let f: number;
      if (r2c < rCore2) {
        // sub-sample the pixel
        let s = 0;
        let sy = dy - 0.5 + step / 2;
        for (let j = 0; j < ns; j++, sy += step) {
          const sy2 = sy * sy;
          let sx = dx - 0.5 + step / 2;
          for (let i = 0; i < ns; i++, sx += step) {
            const q = 1 + (sx * sx + sy2) * a2inv;
            s += beta3 ? 1 / (q * q * q) : Math.pow(q, -beta);
          }
        }
        f = s * w;
      } else {
        const q = 1 + r2c * a2inv;
        f = beta3 ? 1 / (q * q * q) : Math.pow(q, -beta);
      }
      const frac = f * (norm / electrons);
      let v = f * norm;
      if (response) v *= response[row + x];
      e[row + x] += v;
      rendered += v;
      fraction += frac;
      if (v > peak) peak = v;
    }
  }
  res.rendered = rendered;
  res.fraction = fraction;
  res.peak = peak;
  return res;
}

/**
 * Charge bleeding: in each column of [bx0, bx1], charge above the full well spills equally up and
 * down the column into unsaturated pixels (a simple model of blooming along the parallel transfer
 * direction). Only called for stamps whose peak exceeds the full well. Returns the number of pixels
 * at full well.
 */
export function bleedColumns(e: Float32Array, W: number, H: number, bx0: number, bx1: number, by0: number, by1: number, fullWell: number): number {
  let nFull = 0;
  for (let x = bx0; x <= bx1; x++) {
    let excess = 0;
    let top = -1;
    let bottom = -1;
    for (let y = by0; y <= by1; y++) {
      const i = y * W + x;
      if (e[i] > fullWell) {
        excess += e[i] - fullWell;
        e[i] = fullWell;
        if (bottom < 0) bottom = y;
        top = y;
      }
    }
    if (excess <= 0) continue;
    let up = excess / 2;
    let down = excess - up;
    for (let y = top + 1; y < H && up > 0; y++) {
      const i = y * W + x;
      const room = fullWell - e[i];
      if (room <= 0) continue;
      const take = room < up ? room : up;
      e[i] += take;
      up -= take;
    }
    for (let y = bottom - 1; y >= 0 && down > 0; y--) {
      const i = y * W + x;
      const room = fullWell - e[i];
      if (room <= 0) continue;
      const take = room < down ? room : down;
      e[i] += take;
      down -= take;
    }
    for (let y = 0; y < H; y++) if (e[y * W + x] >= fullWell) nFull++;
  }
  return nFull;
}
