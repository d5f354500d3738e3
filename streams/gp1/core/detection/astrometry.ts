/**
 * Astrometric calibration of one frame against the reference star catalog.
 *
 * With a header WCS (possibly off by several arcminutes and rotated by a degree or two):
 * 1. Offset voting. The catalog is projected with the header WCS; for each trial rotation θ of the
 *    detections about the frame centre (steps fine enough that the frame corners move by less than
 *    one vote bin), every pair (bright detection, bright catalog star) votes for its pixel offset in
 *    a 2-D histogram. The true (θ, offset) collects one vote per common star, a wrong one only
 *    chance coincidences; the best 2×2 bin sum wins if it stands well above the chance level.
 * 2. Iterative nearest-neighbour matching with shrinking radius (5 px, then 3× the fit rms) and a
 *    TAN fit (CRVAL, CD) with 3σ clipping ({@link fitTanWcs}), three to five rounds, on sources
 *    with clean centroids (not on the edge, crowded, blended or saturated) unless too few match.
 * Without a usable WCS (or when voting fails), a blind pattern match: triangles of the brightest
 * detections against triangles of the brightest catalog stars projected about an approximate centre
 * (alert, OBJCTRA/OBJCTDEC, CRVAL), compared by their side ratios; each triangle pair proposes a
 * similarity transform (either parity, scale within the hint's tolerance) that is verified by
 * counting the detections it lands on catalog stars; the best one seeds step 2.
 *
 * Pure; never throws on bad data: a failure is `ok: false` with notes.
 */
import { fitTanWcs, pixToSky, pixelScaleArcsec, skyToPix, skyToTangent, type TanWcs } from '../../../../lib/wcs/index.ts';
import { FLAG } from './detect.ts';

export interface CatalogStars {
  ra: ArrayLike<number>;
  dec: ArrayLike<number>;
  mag: ArrayLike<number>;
}

/** What astrometry needs of a source. */
export interface AstroSource {
  x: number;
  y: number;
  flux: number;
  flags: number;
}

export interface AstrometryOptions {
  /** Largest pointing error searched by offset voting, arcmin (default 10). */
  maxOffsetArcmin?: number;
  /** Largest rotation searched, degrees (default 2). */
  maxRotationDeg?: number;
  /** Bright detections used for voting / triangles (default 60 / 20). */
  nVote?: number;
  nTriangle?: number;
  /** Minimum matched stars for a solution (default 6). */
  minMatches?: number;
  /** Approximate centre and pixel scale for the blind match (used when the header has no WCS). */
  hint?: { ra: number; dec: number; scaleArcsec?: number; radiusArcmin?: number } | null;
  /** Accepted pixel scale range around the hint, fraction (default 0.1). */
  scaleTolerance?: number;
  /** Try the blind match when the header WCS does not give a solution (default true). */
  blindFallback?: boolean;
  /**
   * The frame's stellar FWHM, pixels: catalog stars with a neighbour in the catalog closer than
   * 2.5 FWHM (and at most 2.5 mag fainter) are left out of the fit, since their detection is the
   * light centre of both (default: none left out).
   */
  fwhmPx?: number;
}

export interface AstrometryResult {
  ok: boolean;
  method: 'header' | 'blind' | 'none';
  wcs: TanWcs | null;
  /** Matched (kept) stars and rms of their sky residuals, arcsec. */
  matched: number;
  rmsArcsec: number;
  /** Matched pairs: source index → catalog index (kept by the final fit). */
  sourceIndex: Int32Array;
  catalogIndex: Int32Array;
  notes: string[];
}

const BAD = FLAG.SATURATED | FLAG.EDGE | FLAG.MASKED;

function brightest(sources: AstroSource[], n: number, mask = BAD): number[] {
  const idx: number[] = [];
  for (let i = 0; i < sources.length; i++) if (!(sources[i].flags & mask) && sources[i].flux > 0) idx.push(i);
  idx.sort((a, b) => sources[b].flux - sources[a].flux || a - b);
  return idx.slice(0, n);
}

/** A uniform grid over points for radius queries. */
class Grid {
  private cells = new Map<number, number[]>();
  constructor(private xs: ArrayLike<number>, private ys: ArrayLike<number>, private cell: number, ids?: Iterable<number>) {
    const it = ids ?? Array.from({ length: xs.length }, (_, i) => i);
    for (const i of it) {
      if (!Number.isFinite(xs[i])) continue;
      const k = this.key(Math.floor(xs[i] / cell), Math.floor(ys[i] / cell));
      let c = this.cells.get(k);
      if (!c) this.cells.set(k, (c = []));
      c.push(i);
    }
  }
  private key(cx: number, cy: number): number {
    return (cx + 50000) * 100003 + (cy + 50000);
  }
  /** Every point within r of (x, y), into `out` (cleared first). */
  within(x: number, y: number, r: number, out: number[]): number[] {
    out.length = 0;
    const cx = Math.floor(x / this.cell), cy = Math.floor(y / this.cell);
    const span = Math.ceil(r / this.cell);
    const r2 = r * r;
    for (let j = -span; j <= span; j++)
      for (let i = -span; i <= span; i++) {
        const c = this.cells.get(this.key(cx + i, cy + j));
        if (!c) continue;
        for (const k of c) if ((this.xs[k] - x) ** 2 + (this.ys[k] - y) ** 2 <= r2) out.push(k);
      }
    return out;
  }
  /** Nearest point within r of (x, y): [index, distance] or [-1, Infinity]. */
  nearest(x: number, y: number, r: number): [number, number] {
    const cx = Math.floor(x / this.cell), cy = Math.floor(y / this.cell);
    const span = Math.ceil(r / this.cell);
    let best = -1, bd = r * r;
    for (let j = -span; j <= span; j++) {
      for (let i = -span; i <= span; i++) {
        const c = this.cells.get(this.key(cx + i, cy + j));
        if (!c) continue;
        for (const k of c) {
          const d = (this.xs[k] - x) ** 2 + (this.ys[k] - y) ** 2;
          if (d < bd || (d === bd && k < best)) {
            bd = d;
            best = k;
          }
        }
      }
    }
    return best < 0 ? [-1, Infinity] : [best, Math.sqrt(bd)];
  }
}

/**
 * Iterative nearest-neighbour matching and TAN fitting from a starting WCS. Returns null when
 * fewer than `minMatches` pairs survive.
 */
export function refineWcs(sources: AstroSource[], width: number, height: number, cat: CatalogStars, start: TanWcs, minMatches: number, startRadiusPx = 5, fwhmPx?: number): { wcs: TanWcs; rmsArcsec: number; sourceIndex: Int32Array; catalogIndex: Int32Array } | null {
  // clean centroids first (a star cut by the edge or touched by a neighbour has a biased one: 3 px
  // seen); every unsaturated, unmasked one when that leaves too few matches. Catalog stars whose
  // detection would be blended with a catalog neighbour's (its centroid between both: 1–1.6″ off
  // each at 0.7″/px) first left out, then kept when too few stars remain.
  const blended = fwhmPx !== undefined && Number.isFinite(fwhmPx) && fwhmPx > 0 ? catalogBlends(cat, start, width, height, 2.5 * Math.max(fwhmPx, 1.5)) : null;
  const clean = brightest(sources, 2000, FIT_EXCLUDE), loose = brightest(sources, 2000, FLAG.SATURATED | FLAG.MASKED);
  if (blended) {
    const r = refineWith(clean, sources, width, height, cat, start, minMatches, startRadiusPx, blended) ?? refineWith(loose, sources, width, height, cat, start, minMatches, startRadiusPx, blended);
    if (r) return r;
  }
  return refineWith(clean, sources, width, height, cat, start, minMatches, startRadiusPx) ?? refineWith(loose, sources, width, height, cat, start, minMatches, startRadiusPx);
}

/**
 * Catalog stars (near the frame through `wcs`) with another catalog star within `radiusPx` that is at
 * most 2.5 mag fainter than they are: 1 in the returned map, 0 otherwise.
 */
function catalogBlends(cat: CatalogStars, wcs: TanWcs, width: number, height: number, radiusPx: number): Uint8Array {
  const n = cat.ra.length;
  const xs = new Float64Array(n).fill(NaN), ys = new Float64Array(n).fill(NaN);
  const p = [0, 0];
  const near: number[] = [];
  const m = radiusPx + 20;
  for (let i = 0; i < n; i++) {
    skyToPix(wcs, cat.ra[i], cat.dec[i], p);
    if (p[0] > -m && p[1] > -m && p[0] < width + m && p[1] < height + m) {
      xs[i] = p[0];
      ys[i] = p[1];
      near.push(i);
    }
  }
  const grid = new Grid(xs, ys, radiusPx, near);
  const out = new Uint8Array(n);
  const buf: number[] = [];
  for (const i of near) {
    for (const j of grid.within(xs[i], ys[i], radiusPx, buf)) {
      if (j !== i && cat.mag[j] <= cat.mag[i] + 2.5) {
        out[i] = 1;
        break;
      }
    }
  }
  return out;
}

/** Fewer matched pairs than this: a similarity fit (scale, rotation, offset), not a full affine CD. */
const AFFINE_MIN_PAIRS = 15;

const FIT_EXCLUDE = FLAG.SATURATED | FLAG.MASKED | FLAG.EDGE | FLAG.CROWDED | FLAG.BLENDED | FLAG.CENTROID_FALLBACK;

function refineWith(use: number[], sources: AstroSource[], width: number, height: number, cat: CatalogStars, start: TanWcs, minMatches: number, startRadiusPx: number, skip: Uint8Array | null = null): { wcs: TanWcs; rmsArcsec: number; sourceIndex: Int32Array; catalogIndex: Int32Array } | null {
  const nc = cat.ra.length;
  const cx = new Float64Array(nc), cy = new Float64Array(nc);
  const p = [0, 0];
  let wcs = start;
  let radius = startRadiusPx;
  let last: { wcs: TanWcs; rmsArcsec: number; sourceIndex: Int32Array; catalogIndex: Int32Array } | null = null;
  const scale = pixelScaleArcsec(start);
  for (let round = 0; round < 6; round++) {
    const inFrame: number[] = [];
    for (let i = 0; i < nc; i++) {
      skyToPix(wcs, cat.ra[i], cat.dec[i], p);
      cx[i] = p[0];
      cy[i] = p[1];
      if (p[0] > -radius && p[1] > -radius && p[0] < width + radius && p[1] < height + radius && !(skip && skip[i])) inFrame.push(i);
    }
    const grid = new Grid(cx, cy, Math.max(radius, 2), inFrame);
    // nearest catalog star for each source; each catalog star keeps its nearest source only
    const owner = new Map<number, [number, number]>();
    for (const s of use) {
      const [c, d] = grid.nearest(sources[s].x, sources[s].y, radius);
      if (c < 0) continue;
      const o = owner.get(c);
      if (!o || d < o[1] || (d === o[1] && s < o[0])) owner.set(c, [s, d]);
    }
    const pairs = [...owner.entries()].sort((a, b) => a[1][0] - b[1][0]);
    if (pairs.length < Math.max(3, minMatches)) return last;
    const si = Int32Array.from(pairs.map((e) => e[1][0]));
    const ci = Int32Array.from(pairs.map((e) => e[0]));
    const fit = fitTanWcs(
      { x: Array.from(si, (i) => sources[i].x), y: Array.from(si, (i) => sources[i].y), ra: Array.from(ci, (i) => cat.ra[i]), dec: Array.from(ci, (i) => cat.dec[i]) },
      // with few pairs a full affine CD (6 parameters) follows the catalog's own position errors
      // (rms 0.07" on 8 stars, 0.2" off at the afterglow): fit a camera's similarity instead
      { crpix: [wcs.crpix1, wcs.crpix2], crval: [wcs.crval1, wcs.crval2], clip: 3, similarity: si.length < AFFINE_MIN_PAIRS },
    );
    if (fit.nUsed < minMatches) return last;
    const keptS: number[] = [], keptC: number[] = [];
    for (let k = 0; k < si.length; k++) if (fit.used[k]) (keptS.push(si[k]), keptC.push(ci[k]));
    const prevRms = last?.rmsArcsec ?? Infinity;
    last = { wcs: fit.wcs, rmsArcsec: fit.rmsArcsec, sourceIndex: Int32Array.from(keptS), catalogIndex: Int32Array.from(keptC) };
    wcs = fit.wcs;
    const next = Math.max(1.5, Math.min(radius, (4 * fit.rmsArcsec) / scale));
    if (round >= 2 && Math.abs(prevRms - fit.rmsArcsec) < 0.01 * fit.rmsArcsec && next === radius) break;
    radius = next;
  }
  return last;
}

let votePlane = new Int32Array(0);

/** Offset voting (see module comment). Returns a corrected starting WCS, or null. */
function voteOffset(sources: AstroSource[], width: number, height: number, cat: CatalogStars, wcs: TanWcs, o: AstrometryOptions, notes: string[]): TanWcs | null {
  const scale = pixelScaleArcsec(wcs);
  const margin = ((o.maxOffsetArcmin ?? 10) * 60) / scale;
  const det = brightest(sources, o.nVote ?? 60);
  if (det.length < 5) {
    notes.push(`voting: only ${det.length} clean detections`);
    return null;
  }
  const p = [0, 0];
  const cand: number[] = [];
  const px = new Float64Array(cat.ra.length), py = new Float64Array(cat.ra.length);
  for (let i = 0; i < cat.ra.length; i++) {
    skyToPix(wcs, cat.ra[i], cat.dec[i], p);
    if (p[0] > -margin && p[1] > -margin && p[0] < width + margin && p[1] < height + margin) {
      cand.push(i);
      px[i] = p[0];
      py[i] = p[1];
    }
  }
  if (cand.length < 5) {
    notes.push(`voting: ${cand.length} catalog stars near the header pointing`);
    return null;
  }
  cand.sort((a, b) => cat.mag[a] - cat.mag[b] || a - b);
  const areaRatio = ((width + 2 * margin) * (height + 2 * margin)) / (width * height);
  const nc = Math.min(cand.length, Math.max(50, Math.round(det.length * areaRatio * 2)), 3000);
  const cs = cand.slice(0, nc);
  const xc = (width - 1) / 2, yc = (height - 1) / 2;
  const bin = 4;
  const half = Math.ceil((margin + Math.hypot(width, height) * 0.05) / bin) + 2;
  const nb = 2 * half + 1;
  // the vote plane (≈ 1000² cells for a 10' search) is kept between calls: all zeros outside a
  // call, reset cell by cell after each rotation
  if (votePlane.length < nb * nb) votePlane = new Int32Array(nb * nb);
  const hist = votePlane;
  const touched = new Int32Array(det.length * cs.length);
  const rmax = Math.hypot(width, height) / 2;
  const maxRot = o.maxRotationDeg ?? 2;
  const step = Math.min(0.5, ((bin / rmax) * 180) / Math.PI);
  const nRot = Math.ceil(maxRot / step);
  let best = { votes: 0, rot: 0, dx: 0, dy: 0, chance: 0 };
  const dxs = new Float64Array(det.length), dys = new Float64Array(det.length);
  for (let r = -nRot; r <= nRot; r++) {
    const th = ((r * step) * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    for (let k = 0; k < det.length; k++) {
      const d = sources[det[k]];
      dxs[k] = xc + c * (d.x - xc) - s * (d.y - yc);
      dys[k] = yc + s * (d.x - xc) + c * (d.y - yc);
    }
    let nt = 0;
    for (let k = 0; k < det.length; k++) {
      for (const j of cs) {
        const bx = Math.floor((px[j] - dxs[k]) / bin) + half;
        const by = Math.floor((py[j] - dys[k]) / bin) + half;
        if (bx < 0 || by < 0 || bx >= nb - 1 || by >= nb - 1) continue;
        const b = by * nb + bx;
        if (hist[b] === 0) touched[nt++] = b;
        hist[b]++;
      }
    }
    for (let t = 0; t < nt; t++) {
      const b = touched[t];
      const v = hist[b] + hist[b + 1] + hist[b + nb] + hist[b + nb + 1];
      if (v > best.votes) {
        const by = Math.floor(b / nb), bx = b - by * nb;
        best = { votes: v, rot: r * step, dx: (bx - half + 1) * bin, dy: (by - half + 1) * bin, chance: 0 };
      }
    }
    for (let t = 0; t < nt; t++) hist[touched[t]] = 0;
  }
  // chance level of a 2×2 cell: all votes spread over the searched offset area
  const chance = (4 * det.length * cs.length) / (nb * nb);
  if (best.votes < Math.max(6, 0.15 * det.length) || best.votes < chance + 5 * Math.sqrt(chance) + 2) {
    notes.push(`voting: best peak ${best.votes} votes vs chance ${chance.toFixed(1)}`);
    return null;
  }
  notes.push(`voting: ${best.votes} votes, rotation ${best.rot.toFixed(2)} deg, offset (${best.dx}, ${best.dy}) px`);
  // pairs from the voted transform → a first WCS by fitting the pairs found with a generous radius
  const th = (best.rot * Math.PI) / 180;
  const c = Math.cos(th), s = Math.sin(th);
  const grid = new Grid(px, py, 2 * bin, cs);
  const X: number[] = [], Y: number[] = [], RA: number[] = [], DEC: number[] = [];
  for (const k of det) {
    const d = sources[k];
    const x = xc + c * (d.x - xc) - s * (d.y - yc) + best.dx;
    const y = yc + s * (d.x - xc) + c * (d.y - yc) + best.dy;
    const [j] = grid.nearest(x, y, 2.5 * bin);
    if (j < 0) continue;
    X.push(d.x);
    Y.push(d.y);
    RA.push(cat.ra[j]);
    DEC.push(cat.dec[j]);
  }
  if (X.length < 3) return null;
  try {
    const f = fitTanWcs({ x: X, y: Y, ra: RA, dec: DEC }, { crpix: [wcs.crpix1, wcs.crpix2], crval: [wcs.crval1, wcs.crval2], clip: 3, similarity: X.length < 6 });
    return f.wcs;
  } catch {
    return null;
  }
}

interface Tri {
  r1: number;
  r2: number;
  /** Vertices ordered: opposite the longest, middle, shortest side. */
  a: number;
  b: number;
  c: number;
  /** Orientation sign of (a, b, c). */
  o: number;
  /** Longest side length. */
  L: number;
}

/** The triangle (i, j, k) with its sides between minSide and maxSide, or null. */
function makeTri(xs: ArrayLike<number>, ys: ArrayLike<number>, i: number, j: number, k: number, minSide: number, maxSide: number): Tri | null {
  // side opposite each vertex
  const li = Math.hypot(xs[j] - xs[k], ys[j] - ys[k]);
  const lj = Math.hypot(xs[i] - xs[k], ys[i] - ys[k]);
  const lk = Math.hypot(xs[i] - xs[j], ys[i] - ys[j]);
  let a = i, b = j, c = k, la = li, lb = lj, lc = lk;
  // sort (vertex, opposite side) by side, longest first
  if (lb > la) [a, b, la, lb] = [b, a, lb, la];
  if (lc > lb) [b, c, lb, lc] = [c, b, lc, lb];
  if (lb > la) [a, b, la, lb] = [b, a, lb, la];
  if (lc < minSide || la > maxSide) return null;
  const cross = (xs[b] - xs[a]) * (ys[c] - ys[a]) - (ys[b] - ys[a]) * (xs[c] - xs[a]);
  return { r1: lb / la, r2: lc / la, a, b, c, o: Math.sign(cross), L: la };
}

/** Every triangle of the points `ids` with sides in [minSide, maxSide]. */
function triangles(xs: ArrayLike<number>, ys: ArrayLike<number>, ids: number[], minSide: number, maxSide = Infinity): Tri[] {
  const out: Tri[] = [];
  const n = ids.length;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      for (let k = j + 1; k < n; k++) {
        const t = makeTri(xs, ys, ids[i], ids[j], ids[k], minSide, maxSide);
        if (t) out.push(t);
      }
  return out;
}

/** The triangles of the points `ids` whose sides are all at most maxSide (found through a grid: many points, local triangles only). */
function localTriangles(xs: ArrayLike<number>, ys: ArrayLike<number>, ids: number[], minSide: number, maxSide: number): Tri[] {
  const rank = new Map<number, number>();
  ids.forEach((id, r) => rank.set(id, r));
  const grid = new Grid(xs, ys, maxSide, ids);
  const out: Tri[] = [];
  const nb: number[] = [];
  for (const i of ids) {
    grid.within(xs[i], ys[i], maxSide, nb);
    // each triangle once: from its lowest-ranked vertex
    const ri = rank.get(i)!;
    const later = nb.filter((q) => rank.get(q)! > ri);
    for (let u = 0; u < later.length; u++)
      for (let v = u + 1; v < later.length; v++) {
        const t = makeTri(xs, ys, i, later[u], later[v], minSide, maxSide);
        if (t) out.push(t);
      }
  }
  return out;
}

interface Hypothesis {
  n: number;
  A: number;
  B: number;
  q: number;
  x0: number;
  y0: number;
  dxc: number;
  dyc: number;
}

/**
 * Pairs detection triangles with catalog triangles of the same shape (side ratios within 0.015,
 * scale within `scaleTol` of 1 when `scaleKnown`); each pair proposes a similarity (either parity)
 * that is scored by how many detections it lands within `matchTol` of a catalog star. Stops at the
 * first hypothesis matching `stopAt` detections.
 */
function bestHypothesis(dx: number[], dy: number[], dTri: Tri[], tx: number[], ty: number[], cTri: Tri[], catGrid: Grid, scaleKnown: boolean, scaleTol: number, matchTol: number, stopAt: number): Hypothesis {
  const q = 0.01;
  const idx = new Map<number, Tri[]>();
  for (const tr of cTri) {
    const k = Math.floor(tr.r1 / q) * 1000 + Math.floor(tr.r2 / q);
    let c = idx.get(k);
    if (!c) idx.set(k, (c = []));
    c.push(tr);
  }
  let best: Hypothesis = { n: 0, A: 0, B: 0, q: 1, x0: 0, y0: 0, dxc: 0, dyc: 0 };
  for (const dt of dTri) {
    const k1 = Math.floor(dt.r1 / q), k2 = Math.floor(dt.r2 / q);
    for (let i = -1; i <= 1; i++)
      for (let j = -1; j <= 1; j++) {
        const list = idx.get((k1 + i) * 1000 + (k2 + j));
        if (!list) continue;
        for (const ct of list) {
          if (Math.abs(ct.r1 - dt.r1) > 0.015 || Math.abs(ct.r2 - dt.r2) > 0.015) continue;
          const s = ct.L / dt.L;
          if (scaleKnown && Math.abs(s - 1) > scaleTol) continue;
          // similarity with parity qq: plane = s R(φ) P (pixel − pa) + ca, P = diag(1, qq)
          const qq = ct.o === dt.o ? 1 : -1;
          const pa = dt.a, pb = dt.b;
          const ux = dx[pb] - dx[pa], uy = qq * (dy[pb] - dy[pa]);
          const vx = tx[ct.b] - tx[ct.a], vy = ty[ct.b] - ty[ct.a];
          const phi = Math.atan2(vy, vx) - Math.atan2(uy, ux);
          const A = s * Math.cos(phi), B = s * Math.sin(phi);
          let n = 0;
          for (let m = 0; m < dx.length; m++) {
            const ex = dx[m] - dx[pa], ey = qq * (dy[m] - dy[pa]);
            const X = tx[ct.a] + A * ex - B * ey, Y = ty[ct.a] + B * ex + A * ey;
            if (catGrid.nearest(X, Y, matchTol * Math.max(1, s))[0] >= 0) n++;
          }
          if (n > best.n) {
            best = { n, A, B, q: qq, x0: dx[pa], y0: dy[pa], dxc: tx[ct.a], dyc: ty[ct.a] };
            if (n >= stopAt) return best;
          }
        }
      }
  }
  return best;
}

/**
 * Blind pattern match about a centre (see module comment). The catalog is projected on the tangent
 * plane at the hint, in units of hint pixels when a scale is given (else arcsec, scale free).
 *
 * Pass 1 takes the brightest catalog stars around the centre (25–70) and all their triangles. When
 * the search area is much larger than the chip (a small chip, a dense field) few of those fall on
 * the chip and pass 1 can miss; pass 2 (scale known) then cuts the catalog at the detections' depth
 * over the whole search area (about 1.5 catalog stars per bright detection on a chip's area) and
 * pairs only local triangles (sides up to 60 % of the chip's short side) on both sides.
 */
function blindMatch(sources: AstroSource[], width: number, height: number, cat: CatalogStars, o: AstrometryOptions, notes: string[]): TanWcs | null {
  const hint = o.hint;
  if (!hint) {
    notes.push('blind: no approximate centre (alert, OBJCTRA/OBJCTDEC or CRVAL)');
    return null;
  }
  const det = brightest(sources, o.nTriangle ?? 20);
  if (det.length < 6) {
    notes.push(`blind: only ${det.length} clean detections`);
    return null;
  }
  const unit = hint.scaleArcsec ?? 1; // arcsec per plane unit
  const halfDiag = (Math.hypot(width, height) / 2) * (hint.scaleArcsec ?? 1);
  const searchArcsec = halfDiag + (hint.radiusArcmin ?? 10) * 60;
  const tx: number[] = [], ty: number[] = [];
  const near: number[] = [];
  const t = [0, 0];
  for (let i = 0; i < cat.ra.length; i++) {
    skyToTangent(cat.ra[i], cat.dec[i], hint.ra, hint.dec, t);
    tx[i] = (t[0] * 3600) / unit;
    ty[i] = (t[1] * 3600) / unit;
    if (Math.hypot(t[0], t[1]) * 3600 <= searchArcsec) near.push(i);
  }
  near.sort((a, b) => cat.mag[a] - cat.mag[b] || a - b);
  const areaRatio = (Math.PI * searchArcsec * searchArcsec) / (width * height * (hint.scaleArcsec ?? 1) ** 2);
  const nCat = Math.min(near.length, Math.max(25, Math.min(70, Math.round(det.length * areaRatio * 1.5))));
  const cs = near.slice(0, nCat);
  if (cs.length < 6) {
    notes.push(`blind: ${cs.length} catalog stars around the centre`);
    return null;
  }
  const dx = det.map((i) => sources[i].x), dy = det.map((i) => sources[i].y);
  const dIds = det.map((_, k) => k);
  const minSide = Math.min(width, height) * 0.05;
  const tol = o.scaleTolerance ?? 0.1;
  const scaleKnown = !!hint.scaleArcsec;
  const matchTol = 3;
  const need = Math.max(o.minMatches ?? 6, Math.ceil(det.length * 0.5));
  const accept = Math.max(5, Math.min(need, 8));
  const stopAt = Math.max(need, Math.ceil(0.7 * det.length));
  let grid = new Grid(tx, ty, 4, cs);
  let best = bestHypothesis(dx, dy, triangles(dx, dy, dIds, minSide), tx, ty, triangles(tx, ty, cs, 0), grid, scaleKnown, tol, matchTol, stopAt);
  let pass = 1;
  const nDepth = Math.min(near.length, Math.round(det.length * areaRatio * 1.5), 5000);
  if (best.n < stopAt && scaleKnown && nDepth > cs.length) {
    const maxSide = 0.6 * Math.min(width, height);
    const cs2 = near.slice(0, nDepth);
    const grid2 = new Grid(tx, ty, 4, cs2);
    const b2 = bestHypothesis(dx, dy, triangles(dx, dy, dIds, minSide, maxSide), tx, ty, localTriangles(tx, ty, cs2, 0, maxSide * (1 + tol)), grid2, true, tol, matchTol, stopAt);
    if (b2.n > best.n) {
      best = b2;
      grid = grid2;
      pass = 2;
    }
  }
  if (best.n < accept) {
    notes.push(`blind: best pattern hypothesis matches ${best.n} of ${det.length}`);
    return null;
  }
  notes.push(`blind: ${best.n} of ${det.length} bright detections matched by triangles${pass === 2 ? ' (catalog at the detections\' depth, local triangles)' : ''}`);
  // pairs → WCS
  const X: number[] = [], Y: number[] = [], RA: number[] = [], DEC: number[] = [];
  for (let m = 0; m < det.length; m++) {
    const ex = dx[m] - best.x0, ey = best.q * (dy[m] - best.y0);
    const PX = best.dxc + best.A * ex - best.B * ey, PY = best.dyc + best.B * ex + best.A * ey;
    const [c] = grid.nearest(PX, PY, matchTol * Math.hypot(best.A, best.B) + 1);
    if (c < 0) continue;
    X.push(dx[m]);
    Y.push(dy[m]);
    RA.push(cat.ra[c]);
    DEC.push(cat.dec[c]);
  }
  try {
    const f = fitTanWcs({ x: X, y: Y, ra: RA, dec: DEC }, { crpix: [(width + 1) / 2, (height + 1) / 2], crval: [hint.ra, hint.dec], clip: 3, similarity: X.length < 6 });
    return f.wcs;
  } catch {
    return null;
  }
}

/**
 * A solution is accepted only if it looks like a camera: rms below 1.5 pixels, pixel axes square
 * and orthogonal to 3 %, and (when a reference scale is known) the scale within 10 % of it. A wrong
 * match that an affine fit bends onto a few stars fails these.
 */
function plausible(wcs: TanWcs, rmsArcsec: number, refScale: number | undefined, notes: string[]): boolean {
  const [a, b, c, d] = wcs.cd;
  const s1 = Math.hypot(a, c), s2 = Math.hypot(b, d);
  const cos = Math.abs(a * b + c * d) / (s1 * s2);
  const scale = pixelScaleArcsec(wcs);
  const bad: string[] = [];
  if (Math.abs(s1 / s2 - 1) > 0.03) bad.push(`axis ratio ${(s1 / s2).toFixed(3)}`);
  if (cos > 0.03) bad.push(`skew ${cos.toFixed(3)}`);
  if (refScale && Math.abs(scale / refScale - 1) > 0.1) bad.push(`scale ${scale.toFixed(3)}"/px vs ${refScale.toFixed(3)}`);
  if (!(rmsArcsec < 1.5 * scale)) bad.push(`rms ${rmsArcsec.toFixed(2)}"`);
  if (bad.length) notes.push(`solution rejected: ${bad.join(', ')}`);
  return bad.length === 0;
}

/** Solves the frame's astrometry (see module comment). */
export function solveAstrometry(sources: AstroSource[], width: number, height: number, cat: CatalogStars, headerWcs: TanWcs | null, o: AstrometryOptions = {}): AstrometryResult {
  const notes: string[] = [];
  const minMatches = o.minMatches ?? 6;
  const none: AstrometryResult = { ok: false, method: 'none', wcs: headerWcs, matched: 0, rmsArcsec: NaN, sourceIndex: new Int32Array(0), catalogIndex: new Int32Array(0), notes };
  if (cat.ra.length < 3) {
    notes.push('catalog has fewer than 3 stars');
    return none;
  }
  if (headerWcs) {
    const start = voteOffset(sources, width, height, cat, headerWcs, o, notes);
    if (start) {
      const r = refineWcs(sources, width, height, cat, start, minMatches, 5, o.fwhmPx);
      if (r && plausible(r.wcs, r.rmsArcsec, pixelScaleArcsec(headerWcs), notes)) return { ok: true, method: 'header', wcs: r.wcs, matched: r.sourceIndex.length, rmsArcsec: r.rmsArcsec, sourceIndex: r.sourceIndex, catalogIndex: r.catalogIndex, notes };
      notes.push('refinement from the voted offset kept too few stars');
    }
    if (o.blindFallback === false) return none;
  }
  let hint = o.hint ?? null;
  if (headerWcs) {
    const c = pixToSky(headerWcs, (width - 1) / 2, (height - 1) / 2);
    hint = { ra: c[0], dec: c[1], scaleArcsec: pixelScaleArcsec(headerWcs), radiusArcmin: o.maxOffsetArcmin ?? 10 };
  }
  const start = blindMatch(sources, width, height, cat, { ...o, hint }, notes);
  if (!start) return none;
  const r = refineWcs(sources, width, height, cat, start, minMatches, 5, o.fwhmPx);
  if (!r) {
    notes.push('refinement from the blind match kept too few stars');
    return none;
  }
  if (!plausible(r.wcs, r.rmsArcsec, hint?.scaleArcsec, notes)) return none;
  return { ok: true, method: 'blind', wcs: r.wcs, matched: r.sourceIndex.length, rmsArcsec: r.rmsArcsec, sourceIndex: r.sourceIndex, catalogIndex: r.catalogIndex, notes };
}
