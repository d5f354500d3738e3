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
 * An undersampled PSF (FWHM ≲ 1.6 px) fails the fixed sharpness test: a star's peak is then 4–20× the
 * median of its neighbours, as sharp as a cosmic-ray spot (and the median says little: a star centred
 * on a pixel corner has 3 bright neighbours and 5 faint ones). With `psfFwhm` (the frame's PSF,
 * measured by the caller on the unflagged stars) the sharpness test becomes a test of the star
 * hypothesis on the third brightest neighbour t₃: a star of that FWHM anywhere in the pixel has
 * t₃ ≥ f(FWHM) × its peak (f from the pixel-integrated Gaussian, the sharpest profile of that FWHM,
 * at 0.85 × the FWHM), so a pixel is a hit only when t₃ − sky < f·(v − sky) − 3σ. A single-pixel hit
 * or a track (two bright neighbours) has a faint t₃; faint hits are kept (they are not seen twice:
 * the candidates need two frames), stars are not cut.
 *
 * Pixels already masked as saturated, hot, or with weight 0 are neither tested nor used as evidence.
 * Cost: one cheap test per pixel (v − sky against k·σ); the 8-neighbour median only for candidates.
 */
import { erf } from '../../../../lib/stats/distributions.ts';
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
  /** The PSF FWHM (px) of an undersampled frame: the star-hypothesis test replaces `sharpness` (see the file comment). */
  psfFwhm?: number;
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
  /**
   * Optional: ascending indices of every pixel with (v − sky)²·weight > k² and v > sky (calibrateFrame
   * collects them while writing the image); only these are tested instead of scanning the frame.
   */
  candidates?: Int32Array | null;
}

/**
 * The smallest ratio (third brightest of the 8 neighbours)/(the pixel) for a star on the pixel, over
 * positions of the star inside it (steps of 0.05 px), for a pixel-integrated Gaussian of FWHM `fwhm` px.
 */
export function starNeighbourFraction(fwhm: number): number {
  const s = fwhm / (2 * Math.sqrt(2 * Math.LN2));
  const k = 1 / (s * Math.SQRT2);
  const cell = (i: number, o: number) => 0.5 * (erf((i + 0.5 - o) * k) - erf((i - 0.5 - o) * k));
  const v = new Float64Array(8);
  let best = Infinity;
  for (let a = 0; a <= 10; a++) {
    for (let b = 0; b <= a; b++) {
      const ox = a * 0.05, oy = b * 0.05;
      const px = [cell(-1, ox), cell(0, ox), cell(1, ox)], py = [cell(-1, oy), cell(0, oy), cell(1, oy)];
      const c = px[1] * py[1];
      let n = 0;
      for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) if (i !== 1 || j !== 1) v[n++] = px[i] * py[j];
      v.sort();
      best = Math.min(best, v[5] / c);
    }
  }
  return best;
}

const SKIP = MASK.SATURATED | MASK.HOT | MASK.LOW_FLAT;

/** Reusable 8-value buffer of the neighbour median (one per thread). */
const NB = new Float64Array(8);

/**
 * The test at pixel p (not on the border) with threshold kk σ; excludeFlagged leaves COSMIC pixels
 * out of the neighbour median. Top-level (not a closure) so the JIT inlines it into both scans.
 */
function isHit(inp: CosmicInput, p: number, kk: number, sharp: number, excludeFlagged: boolean, starFrac: number): boolean {
  const { image: img, width: W, weight, mask, sky, gainTime, flat } = inp;
  const nb = NB;
  let n = 0;
  for (let j = 0; j < 8; j++) {
    const q = j < 3 ? p - W - 1 + j : j === 3 ? p - 1 : j === 4 ? p + 1 : p + W - 6 + j;
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
  let varP = 1 / weight[p];
  if (gainTime > 0 && signal > 0) varP += signal / (gainTime * (flat ? flat[p] || 1 : 1));
  const d = img[p] - m;
  if (d <= 0 || d * d <= kk * kk * varP) return false;
  // the star hypothesis (undersampled PSF): the third brightest neighbour is too faint for a star
  if (starFrac > 0) return n >= 3 && nb[n - 3] - sky < starFrac * (img[p] - sky) - 3 * Math.sqrt(1 / weight[p]);
  return signal <= 0 || img[p] - sky > sharp * signal;
}

/** Pixels that passed the cheap tests, waiting for the neighbour median (reused; grown as needed). */
let maybe = new Int32Array(1024);

function keep(n: number, p: number): number {
  if (n === maybe.length) {
    const b = new Int32Array(n * 2);
    b.set(maybe);
    maybe = b;
  }
  maybe[n] = p;
  return n + 1;
}

/**
 * A lower bound of the median of the 8 neighbours of p: m = (x₄ + x₅)/2 (x_k the k-th smallest) is at
 * least L = (q₂ + q₃)/2, q the minima of 4 pairs of neighbours sorted: below q₂ lie at most q₁ and its
 * partner (x₄ ≥ q₂), below q₃ at most 4 values (x₅ ≥ q₃). So when L is above the sky and
 * v − sky ≤ sharp·(L − sky), isHit is false. Pairs adjacent around the ring (a radial gradient gives
 * two low and two high minima); Math.min/max compile to minsd/maxsd (no branch on the noisy
 * comparison); a NaN neighbour makes L NaN: no decision. Small and monomorphic so that V8 inlines it
 * into both scans (measured on a 4096² frame: the same time as the copy written out in each; reading
 * the eight neighbours into locals first matters, Math.min over array loads was 1.4× slower).
 */
function lowNeighbours(img: Float32Array, p: number, W: number): number {
  const up = p - W;
  const dn = p + W;
  const nw = img[up - 1];
  const n0 = img[up];
  const ne = img[up + 1];
  const e0 = img[p + 1];
  const se = img[dn + 1];
  const s0 = img[dn];
  const sw = img[dn - 1];
  const w0 = img[p - 1];
  const q1 = Math.min(nw, n0);
  const q2 = Math.min(ne, e0);
  const q3 = Math.min(se, s0);
  const q4 = Math.min(sw, w0);
  return 0.5 * (Math.max(Math.min(q1, q2), Math.min(q3, q4)) + Math.min(Math.max(q1, q2), Math.max(q3, q4)));
}

/**
 * First scan: every interior pixel; a cheap significance pre-test and the sharpness bound before the
 * neighbour median. Returns how many pixels were kept (in `maybe`) for confirm().
 */
function scan(inp: CosmicInput, k: number, sharp: number): number {
  const { image: img, width: W, height: H, weight, mask, sky } = inp;
  const k2 = k * k;
  let n = 0;
  for (let y = 1; y < H - 1; y++) {
    const row = y * W;
    for (let p = row + 1; p < row + W - 1; p++) {
      const d = img[p] - sky;
      // not even k σ above the sky (the neighbour median is ≥ sky in practice): most pixels stop here
      if (d <= 0 || d * d * weight[p] <= k2 || mask[p] & SKIP) continue;
      // the sharpness bound (see lowNeighbours): most candidates are star pixels
      if (sharp >= 0) {
        const low = lowNeighbours(img, p, W) - sky;
        if (low > 0 && d <= sharp * low) continue;
      }
      n = keep(n, p);
    }
  }
  return n;
}

/** First scan over a candidate list (same tests, same order as scan()). */
function scanList(inp: CosmicInput, cand: Int32Array, k: number, sharp: number): number {
  const { image: img, width: W, height: H, weight, mask, sky } = inp;
  const k2 = k * k;
  const last = (H - 1) * W;
  let n = 0;
  for (let c = 0; c < cand.length; c++) {
    const p = cand[c];
    if (p < W || p >= last) continue;
    const x = p % W;
    if (x === 0 || x === W - 1) continue;
    const d = img[p] - sky;
    if (d <= 0 || d * d * weight[p] <= k2 || mask[p] & SKIP) continue;
    // sharpness bound (see lowNeighbours)
    if (sharp >= 0) {
      const low = lowNeighbours(img, p, W) - sky;
      if (low > 0 && d <= sharp * low) continue;
    }
    n = keep(n, p);
  }
  return n;
}

/** The neighbour-median test on the first n kept pixels; hits are appended to `out`. */
function confirm(inp: CosmicInput, n: number, k: number, sharp: number, out: number[], starFrac: number): void {
  for (let j = 0; j < n; j++) if (isHit(inp, maybe[j], k, sharp, false, starFrac)) out.push(maybe[j]);
}

/** Flags cosmic rays (MASK.COSMIC) in `inp.mask`; returns the number of flagged pixels. */
export function detectCosmicRays(inp: CosmicInput, opts: CosmicOptions = {}): number {
  const { width: W, height: H, weight, mask } = inp;
  const k = opts.sigma ?? 5;
  // undersampled: the star-hypothesis test; its fraction also bounds the cheap pre-test (a pixel whose
  // neighbour median, at most the third brightest, is above f·(v − sky) is never a hit)
  const starFrac = opts.psfFwhm !== undefined && opts.psfFwhm > 0 ? starNeighbourFraction(0.85 * opts.psfFwhm) : 0;
  const sharp = starFrac > 0 ? 1 / starFrac : (opts.sharpness ?? 4);
  const kg = opts.growSigma ?? 3;
  let flagged: number[] = [];
  // the cheap tests first (scan / scanList keep the few survivors), then the neighbour median
  const kept = inp.candidates ? scanList(inp, inp.candidates, k, sharp) : scan(inp, k, sharp);
  confirm(inp, kept, k, sharp, flagged, starFrac);
  for (const p of flagged) mask[p] |= MASK.COSMIC;
  let total = flagged.length;
  const offs = [-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1];
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
        if (isHit(inp, q, kg, sharp, true, starFrac)) {
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
