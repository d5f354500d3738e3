/**
 * Circular aperture photometry with exact sub-pixel edges.
 *
 * A pixel's weight is the exact area of its unit square inside the circle, from a closed form:
 * with A(x, y) the area of the disk (centre 0, radius r) below-left of the corner (x, y),
 * area([x0,x1]×[y0,y1]) = A(x1,y1) − A(x0,y1) − A(x1,y0) + A(x0,y0), and A integrates the chord
 * length below y, which is y + s(X) where |X| < √(r²−y²) and 2s(X) or 0 elsewhere (s = √(r²−X²)).
 * Pixels wholly inside (centre distance < r − √2/2) skip the formula.
 */

/** ∫_{−r}^{X} √(r²−t²) dt for X in [−r, r]. */
function S(X: number, r: number, r2: number): number {
  const t = X / r;
  return 0.5 * (X * Math.sqrt(Math.max(0, r2 - X * X)) + r2 * Math.asin(t > 1 ? 1 : t < -1 ? -1 : t)) + 0.25 * Math.PI * r2;
}

/** Area of the disk (centre 0, radius r) in {X ≤ x, Y ≤ y}. */
function A(x: number, y: number, r: number, r2: number): number {
  if (x <= -r || y <= -r) return 0;
  const xc = x > r ? r : x;
  if (y >= r) return 2 * S(xc, r, r2);
  const w = Math.sqrt(r2 - y * y);
  let a = 0;
  if (y > 0) a += 2 * S(Math.min(xc, -w), r, r2); // left cap, chord wholly below y
  if (xc > -w) {
    const xm = Math.min(xc, w);
    a += y * (xm + w) + S(xm, r, r2) - S(-w, r, r2);
  }
  if (xc > w && y > 0) a += 2 * (S(xc, r, r2) - S(w, r, r2));
  return a;
}

/** Exact area of the rectangle [x0,x1]×[y0,y1] inside the disk of radius r centred on the origin. */
export function circleRectArea(x0: number, x1: number, y0: number, y1: number, r: number): number {
  const r2 = r * r;
  const v = A(x1, y1, r, r2) - A(x0, y1, r, r2) - A(x1, y0, r, r2) + A(x0, y0, r, r2);
  return v < 0 ? 0 : v;
}

export interface ApertureInput {
  /** Background-subtracted image, counts/s. */
  sub: Float32Array;
  width: number;
  height: number;
  /** Per-pixel variance source: weight (inverse variance) when present, else the background RMS map. */
  weight?: Float32Array | Float64Array | null;
  rms: Float32Array;
  mask?: ArrayLike<number> | null;
  /** Mask bits that make a pixel unusable in the aperture (its area is counted as masked). */
  badMask: number;
  /** Bits that flag a saturated pixel. */
  saturatedMask: number;
  /** gain × exptime (e−/(counts/s)), for the source's Poisson variance; 0 disables it. */
  gainTime: number;
  /** Segmentation map (object id + 1, 0 = sky) to detect other objects inside the aperture, optional. */
  seg?: Int32Array | null;
  /**
   * Detection's map of unusable pixels (detect.ts: 1 = interpolated along its row in `sub`, 2 = not),
   * optional. A masked pixel whose mirror is masked too counts with its interpolated value when it
   * has one (a dead column beside another: both sides lost, the row interpolation is not), with
   * variance `interpolatedVariance`.
   */
  bad?: Uint8Array | null;
  interpolatedVariance?: number;
  /**
   * Point-symmetry test against unflagged cosmic rays (a hit on a star's wing passes the calibration's
   * sharpness test, which only sees hits brighter than ~3× the wing): a usable pixel brighter than the
   * value at its exact mirror point through the centre (bilinear) by more than `sigma` σ of the
   * difference and by more than `ratio` × that value takes the mirror value. A star, even elongated,
   * is point-symmetric; so the light of a neighbour on one side is left out too. Default off.
   */
  symmetry?: { sigma: number; ratio: number } | null;
}

export interface ApertureResult {
  flux: number;
  variance: number;
  /** Area inside the aperture, pixels (πr² unless truncated by the frame edge). */
  area: number;
  /** Area lost to masked / zero-weight pixels (not repaired from their mirror pixel). */
  maskedArea: number;
  /** Area of masked pixels replaced by their point-symmetric counterpart through the centre. */
  repairedArea: number;
  /** Area of usable pixels replaced by their mirror value by the symmetry test (`symmetry`). */
  asymmetricArea: number;
  /** Area beyond the frame edges. */
  outsideArea: number;
  saturated: boolean;
  /** Another object's isophote reaches into the aperture. */
  crowded: boolean;
}

/** Sums a circular aperture of radius r at (xc, yc) (0-based pixel centres). `self` is this object's id + 1 in `seg`. */
export function apertureSum(inp: ApertureInput, xc: number, yc: number, r: number, self = 0, out?: ApertureResult): ApertureResult {
  const res = out ?? { flux: 0, variance: 0, area: 0, maskedArea: 0, repairedArea: 0, asymmetricArea: 0, outsideArea: 0, saturated: false, crowded: false };
  res.flux = res.variance = res.area = res.maskedArea = res.repairedArea = res.asymmetricArea = res.outsideArea = 0;
  res.saturated = res.crowded = false;
  const { sub, width, height, weight, rms, mask, seg } = inp;
  const inner = r - Math.SQRT1_2;
  const outer = r + Math.SQRT1_2;
  const inner2 = inner > 0 ? inner * inner : -1;
  const outer2 = outer * outer;
  const ya = Math.floor(yc - r - 0.5), yb = Math.ceil(yc + r + 0.5);
  const xa = Math.floor(xc - r - 0.5), xb = Math.ceil(xc + r + 0.5);
  for (let y = ya; y <= yb; y++) {
    const dy = y - yc;
    for (let x = xa; x <= xb; x++) {
      const dx = x - xc;
      const d2 = dx * dx + dy * dy;
      if (d2 > outer2) continue;
      const f = d2 < inner2 ? 1 : circleRectArea(dx - 0.5, dx + 0.5, dy - 0.5, dy + 0.5, r);
      if (f <= 0) continue;
      if (x < 0 || y < 0 || x >= width || y >= height) {
        res.outsideArea += f;
        continue;
      }
      const p = y * width + x;
      const m = mask ? mask[p] : 0;
      if (m & inp.saturatedMask) res.saturated = true;
      let q = p;
      let wv = weight ? weight[p] : 1;
      if ((m & inp.badMask) !== 0 || !(wv > 0) || sub[p] !== sub[p]) {
        // a masked pixel (hot pixel, cosmic ray): a star is point-symmetric, so take the pixel
        // mirrored through the centre when it is usable; else its area is lost
        const xm = Math.round(2 * xc - x), ym = Math.round(2 * yc - y);
        const pm = ym * width + xm;
        const wm = xm >= 0 && ym >= 0 && xm < width && ym < height ? (weight ? weight[pm] : 1) : 0;
        if (!(wm > 0) || (mask && (mask[pm] & inp.badMask) !== 0) || sub[pm] !== sub[pm]) {
          if (inp.bad && inp.bad[p] === 1 && inp.interpolatedVariance !== undefined) {
            // no usable mirror, but the pixel was interpolated along its row
            res.repairedArea += f;
            if (seg && seg[p] !== 0 && seg[p] !== self) res.crowded = true;
            const v = sub[p];
            res.flux += f * v;
            let var_ = inp.interpolatedVariance;
            if (inp.gainTime > 0 && v > 0) var_ += v / inp.gainTime;
            res.variance += f * f * var_;
            res.area += f;
            continue;
          }
          res.maskedArea += f;
          continue;
        }
        q = pm;
        wv = wm;
        res.repairedArea += f;
      }
      if (seg && seg[q] !== 0 && seg[q] !== self) res.crowded = true;
      let v = sub[q];
      let var_ = weight ? 1 / wv : rms[q] * rms[q];
      if (q === p && inp.symmetry && (m & inp.saturatedMask) === 0) {
        const mv = mirrorValue(inp, 2 * xc - x, 2 * yc - y);
        if (mv !== null) {
          const d = v - mv.value;
          const pv = inp.gainTime > 0 ? Math.max(v, 0) / inp.gainTime + Math.max(mv.value, 0) / inp.gainTime : 0;
          if (d > inp.symmetry.ratio * Math.max(mv.value, 0) && d * d > inp.symmetry.sigma * inp.symmetry.sigma * (var_ + mv.variance + pv)) {
            v = mv.value;
            var_ = mv.variance;
            res.asymmetricArea += f;
          }
        }
      }
      res.flux += f * v;
      if (inp.gainTime > 0 && v > 0) var_ += v / inp.gainTime;
      res.variance += f * f * var_;
      res.area += f;
    }
  }
  return res;
}

const MIRROR = { value: 0, variance: 0 };

/**
 * Bilinear value of `sub` at (x, y) and the variance of its nearest pixel; null when one of the four
 * pixels is off the frame, masked (bad bits), without weight or not finite. Reuses one result object.
 */
function mirrorValue(inp: ApertureInput, x: number, y: number): { value: number; variance: number } | null {
  const { sub, width, height, weight, rms, mask } = inp;
  const x0 = Math.floor(x), y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= width || y0 + 1 >= height) return null;
  const fx = x - x0, fy = y - y0;
  const p = y0 * width + x0;
  const a = sub[p], b = sub[p + 1], c = sub[p + width], d = sub[p + width + 1];
  if (!(a === a && b === b && c === c && d === d)) return null;
  if (mask && ((mask[p] | mask[p + 1] | mask[p + width] | mask[p + width + 1]) & (inp.badMask | inp.saturatedMask)) !== 0) return null;
  if (weight && !(weight[p] > 0 && weight[p + 1] > 0 && weight[p + width] > 0 && weight[p + width + 1] > 0)) return null;
  MIRROR.value = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
  const n = p + (fy >= 0.5 ? width : 0) + (fx >= 0.5 ? 1 : 0);
  MIRROR.variance = weight ? 1 / weight[n] : rms[n] * rms[n];
  return MIRROR;
}
