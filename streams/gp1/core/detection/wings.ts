/**
 * Sources on the wings of bright stars (issue 20, item 2): a faint source a few FWHM from a star
 * hundreds of times brighter is one component with it (its flux is < 0.1 % of the component's, below
 * any deblending contrast), or is measured with the star's light in its aperture.
 *
 * For each bright star (aperture S/N ≥ `minSnr`, or saturated; the `maxStars` brightest) a model of the star is made from the
 * frame itself: the median of the background-subtracted pixels in 1-px rings around its centroid, out to
 * `radiusFwhm` × the frame's FWHM (a PSF is round to first order, so the median of a ring is the star's
 * light at that radius; a companion covers a small part of each ring and does not move the median).
 * The model is subtracted in a cutout and the cutout searched again (detectSources, with the star's
 * Poisson noise and `systematic` × the model in the noise map, so what remains of the star's core is
 * not a source). What is found ≥ `minSepFwhm` FWHM from the star replaces the frame's measurement of
 * a source at the same place (its light without the star's), or is added (flag BLENDED | WING).
 *
 * Each star's zone keeps the noise of an aperture in each ring of the residual (robust σ of the ring ×
 * √(aperture area), with the ring's residual level): the upper limit of a source at that distance
 * from the star can be no deeper than that (candidates.ts).
 *
 * Cost: per bright star a ring model of a 6-FWHM cutout and, when its residual holds a 5σ peak no
 * measured source explains, one small detectSources; nothing without bright stars.
 */
import type { BackgroundMap } from './background.ts';
import type { DetectionOptions, FrameImage, Source } from './detect.ts';

/** One bright star's zone: the residual noise of an aperture, per integer radius from its centre. */
export interface WingZone {
  x: number;
  y: number;
  /** Zone radius, px. */
  radius: number;
  /** 1σ noise of an aperture (the frame's) centred at radius k (k = 0 … radius), counts/s; NaN where unknown. */
  apertureNoise: Float32Array;
}

export interface WingOptions {
  /** Stars at or above this aperture S/N are modelled (default 300)… */
  minSnr?: number;
  /** …the brightest `maxStars` of them (default 100: ~30 ms on a COATLI frame, more is seldom useful). */
  maxStars?: number;
  /** Zone radius in FWHM (default 6). */
  radiusFwhm?: number;
  /** Sources nearer the star than this many FWHM are not taken from the residual (default 1.5). */
  minSepFwhm?: number;
  /** Model error in the noise map, fraction of the model (default 0.05). */
  systematic?: number;
}

export interface WingInput {
  /** Background-subtracted frame, counts/s. */
  sub: Float32Array;
  width: number;
  height: number;
  weight: ArrayLike<number> | null;
  mask: ArrayLike<number> | null;
  /** Mask bits of unusable pixels. */
  badMask: number;
  /** Mask bit of saturated pixels: a saturated star's zone starts 1 FWHM beyond its saturated pixels (core, bleed trails). */
  saturatedMask: number;
  /** The frame's background RMS map (per pixel). */
  rmsAt: (x: number, y: number) => number;
  sources: Source[];
  fwhm: number;
  apertureRadius: number;
  gainTime: number;
}

/** One star's cutout, copied out of the frame (the frame's buffers are reused by detectSources). */
interface Cutout {
  star: Source;
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Background-subtracted pixels, their usability, the sky RMS (at the star: the map is smooth over a zone), mask bits. */
  sub: Float32Array;
  ok: Uint8Array;
  sky: number;
  mask: Uint8Array | null;
  /** Radius of the star's saturated pixels (0: none). */
  satR: number;
}

/** `detect` is detectSources (passed in: this module is imported by detect.ts). */
export function searchWings(inp: WingInput, detect: (img: FrameImage, o: DetectionOptions) => { sources: Source[] }, opts: DetectionOptions, o: WingOptions, flagBits: { blended: number; wing: number; saturated: number; edge: number }): { sources: Source[]; zones: WingZone[] } {
  const { sub, width: W, height: H, weight, mask, badMask, sources, fwhm, apertureRadius: rAp, gainTime } = inp;
  const zones: WingZone[] = [];
  if (!(fwhm > 0)) return { sources, zones };
  const minSnr = o.minSnr ?? 300;
  const R = Math.max(10, Math.min(120, Math.ceil((o.radiusFwhm ?? 6) * fwhm)));
  const minSep = (o.minSepFwhm ?? 1.5) * fwhm;
  const sys = o.systematic ?? 0.05;
  const out = sources.slice();
  const bright = sources
    .filter((s) => (s.snr >= minSnr || s.flags & flagBits.saturated) && !(s.flags & flagBits.edge))
    .sort((a, b) => b.flux - a.flux)
    .slice(0, o.maxStars ?? 100);
  const usable = (p: number) => (!weight || weight[p] > 0) && !(mask && mask[p] & badMask) && sub[p] === sub[p];
  // 1. cutouts, before any detectSources call reuses the frame's buffers
  const cuts: Cutout[] = bright.map((star) => {
    const x0 = Math.max(0, Math.floor(star.x - R)), x1 = Math.min(W - 1, Math.ceil(star.x + R));
    const y0 = Math.max(0, Math.floor(star.y - R)), y1 = Math.min(H - 1, Math.ceil(star.y + R));
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    const c: Cutout = { star, x0, y0, w, h, sub: new Float32Array(w * h), ok: new Uint8Array(w * h), sky: inp.rmsAt(Math.round(star.x), Math.round(star.y)), mask: mask ? new Uint8Array(w * h) : null, satR: 0 };
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const p = y * W + x, q = (y - y0) * w + (x - x0);
        c.sub[q] = sub[p];
        c.ok[q] = usable(p) ? 1 : 0;
        if (c.mask) {
          c.mask[q] = mask![p];
          if (mask![p] & inp.saturatedMask) c.satR = Math.max(c.satR, Math.hypot(x - star.x, y - star.y));
        }
      }
    return c;
  });
  // sources by 16-px cell, for "is there a source of at least this flux near (x, y)"
  const cell = 16, gw = Math.ceil(W / cell);
  const grid = new Map<number, Source[]>();
  for (const s of sources) {
    const k = Math.floor(s.y / cell) * gw + Math.floor(s.x / cell);
    (grid.get(k) ?? grid.set(k, []).get(k)!).push(s);
  }
  const tolNear = Math.max(1.5, 0.5 * fwhm);
  const near = (x: number, y: number, minFlux: number): boolean => {
    const cx = Math.floor(x / cell), cy = Math.floor(y / cell);
    for (let j = cy - 1; j <= cy + 1; j++)
      for (let i = cx - 1; i <= cx + 1; i++)
        for (const s of grid.get(j * gw + i) ?? []) if (s.flux >= minFlux && Math.hypot(s.x - x, s.y - y) <= tolNear) return true;
    return false;
  };
  // 2. per star: model, residual, search; again with what was found left out of the rings (a companion
  // 3″ from the star covers a fifth of its ring and lifts the ring's median)
  const tol = Math.max(1.5, 0.5 * fwhm);
  for (const c of cuts) {
    const inner = c.satR > 0 ? Math.max(minSep, c.satR + fwhm) : minSep;
    if (inner > R - rAp) continue;
    let kept: Source[] = [];
    let zone: WingZone | null = null;
    for (let pass = 0; pass < 2; pass++) {
      const r = residual(c, R, kept, 1.5 * fwhm, gainTime, sys, rAp);
      zone = r.zone;
      // the search costs a detectSources call: only when the residual has a 5σ peak (3 × 3 px) that is
      // not a source already measured at < 1/20 of the star's flux (whose wing then adds < 5 %)
      if (pass === 0 && !worthSearching(r.img, r.bg.rms, c, inner, R - rAp, out, (x, y) => near(x, y, c.star.flux / 20))) break;
      const found = detect(r.img, { ...opts, wings: false, backgroundMap: r.bg, apertureRadius: rAp, annulus: null });
      const next: Source[] = [];
      for (const s of found.sources) {
        const d = Math.hypot(s.x + c.x0 - c.star.x, s.y + c.y0 - c.star.y);
        if (d < inner || d > R - rAp || s.snr < 3 || s.flags & flagBits.saturated) continue;
        next.push(s);
      }
      if (pass === 0 && !next.length) break;
      kept = next;
    }
    zones.push(zone!);
    for (const s of kept) {
      const fx = s.x + c.x0, fy = s.y + c.y0;
      let j = -1, bd = Infinity;
      for (let i = 0; i < out.length; i++) {
        const dd = Math.hypot(out[i].x - fx, out[i].y - fy);
        if (dd < bd) (bd = dd), (j = i);
      }
      if (j >= 0 && Math.hypot(out[j].x - c.star.x, out[j].y - c.star.y) < 0.5 * fwhm) j = -1; // the star itself
      const src: Source = { ...s, x: fx, y: fy, flags: (s.flags & ~flagBits.edge) | flagBits.blended | flagBits.wing };
      if (j >= 0 && bd <= tol) out[j] = { ...src, id: out[j].id, isoFlux: out[j].isoFlux, npix: out[j].npix };
      else if (s.snr >= 5) out.push({ ...src, id: out.length });
    }
  }
  return { sources: out, zones };
}

/** A 5σ local maximum of the residual's 3 × 3 sums between `rMin` and `rMax` of the star that `known` does not explain. */
function worthSearching(img: FrameImage, rms: Float32Array, c: Cutout, rMin: number, rMax: number, _out: Source[], known: (x: number, y: number) => boolean): boolean {
  const { width: w, height: h, data, weight } = img;
  const cx = c.star.x - c.x0, cy = c.star.y - c.y0;
  const snr = new Float32Array(w * h);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const r = Math.hypot(x - cx, y - cy);
      if (r < rMin || r > rMax) continue;
      let s = 0, v = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const q = (y + dy) * w + x + dx;
          if (!(weight && weight[q] > 0)) continue;
          s += data[q];
          v += rms[q] * rms[q];
        }
      snr[y * w + x] = v > 0 ? s / Math.sqrt(v) : 0;
    }
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const q = y * w + x, v = snr[q];
      if (!(v >= 5)) continue;
      if (v < snr[q - 1] || v < snr[q + 1] || v < snr[q - w] || v < snr[q + w]) continue;
      if (!known(x + c.x0, y + c.y0)) return true;
    }
  return false;
}

/**
 * The star's ring-median model (pixels within `excludeR` of `exclude`, cutout coordinates, left out),
 * the residual cutout with its noise map (sky, the star's Poisson noise, `sys` × the model), and the
 * zone's aperture noise per radius.
 */
function residual(c: Cutout, R: number, exclude: Source[], excludeR: number, gainTime: number, sys: number, rAp: number): { img: FrameImage; bg: BackgroundMap; zone: WingZone } {
  const cx = c.star.x - c.x0, cy = c.star.y - c.y0;
  const n = c.w * c.h;
  // rings of 1 px: each pixel's ring (−1: outside or unusable), then per-ring values, sorted
  const ringOf = new Int32Array(n).fill(-1);
  const count = new Int32Array(R + 2);
  for (let y = 0; y < c.h; y++)
    for (let x = 0; x < c.w; x++) {
      const q = y * c.w + x;
      const r = Math.hypot(x - cx, y - cy);
      if (r > R || !c.ok[q]) continue;
      if (exclude.length && exclude.some((s) => Math.hypot(x - s.x, y - s.y) < excludeR)) continue;
      const k = Math.floor(r);
      ringOf[q] = k;
      count[k]++;
    }
  const start = new Int32Array(R + 2);
  for (let k = 0; k <= R; k++) start[k + 1] = start[k] + count[k];
  const vals = new Float64Array(start[R + 1]);
  const fill = start.slice();
  for (let q = 0; q < n; q++) if (ringOf[q] >= 0) vals[fill[ringOf[q]]++] = c.sub[q];
  const med = new Float64Array(R + 1).fill(NaN);
  for (let k = 0; k <= R; k++) if (count[k] >= 5) med[k] = medianOf(vals.subarray(start[k], start[k + 1]));
  // linear between ring centres (k + 0.5); the model may be negative (the mesh background under a
  // bright star's halo is too high, and the ring median corrects that too)
  const model = (r: number): number => {
    const t = r - 0.5;
    const k = Math.max(0, Math.min(R - 1, Math.floor(t)));
    const a = med[k], b = med[Math.min(R, k + 1)];
    if (!Number.isFinite(a)) return Number.isFinite(b) ? b : 0;
    if (!Number.isFinite(b)) return a;
    return a + (b - a) * Math.max(0, Math.min(1, t - k));
  };
  const data = new Float32Array(n), wgt = new Float32Array(n), rms = new Float32Array(n);
  for (let y = 0; y < c.h; y++)
    for (let x = 0; x < c.w; x++) {
      const q = y * c.w + x;
      const r = Math.hypot(x - cx, y - cy);
      const m = r <= R ? model(r) : 0;
      const mp = Math.max(0, m);
      const s2 = c.sky * c.sky + (gainTime > 0 ? mp / gainTime : 0) + (sys * mp) ** 2;
      data[q] = c.sub[q] - m;
      rms[q] = Math.sqrt(s2);
      wgt[q] = c.ok[q] ? 1 / s2 : 0;
    }
  // the zone's aperture noise per radius: robust σ of the ring's residual, and its level
  const area = Math.PI * rAp * rAp;
  const noise = new Float32Array(R + 1).fill(NaN);
  const fill2 = start.slice();
  for (let q = 0; q < n; q++) if (ringOf[q] >= 0) vals[fill2[ringOf[q]]++] = data[q];
  for (let k = 0; k <= R; k++) {
    if (count[k] < 8) continue;
    const v = vals.subarray(start[k], start[k + 1]);
    const m = medianOf(v);
    for (let i = 0; i < v.length; i++) v[i] = Math.abs(v[i] - m);
    const sd = 1.4826 * medianOf(v);
    noise[k] = Math.hypot(sd * Math.sqrt(area), m * area);
  }
  return { img: { width: c.w, height: c.h, data, weight: wgt, mask: c.mask }, bg: flatBackground(c.w, c.h, rms, c.sky), zone: { x: c.star.x, y: c.star.y, radius: R, apertureNoise: noise } };
}

/** Median of a typed array (sorted in place). */
function medianOf(v: Float64Array): number {
  v.sort();
  const n = v.length;
  return n % 2 ? v[(n - 1) >> 1] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/** A background of 0 with the given RMS per pixel (the cutout is background-subtracted already). */
function flatBackground(width: number, height: number, rms: Float32Array, g: number): BackgroundMap {
  return {
    width,
    height,
    background: new Float32Array(width * height),
    rms,
    globalBackground: 0,
    globalRms: g,
    nx: 1,
    ny: 1,
    meshBackground: new Float32Array(1),
    meshRms: Float32Array.of(g),
  };
}
