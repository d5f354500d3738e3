/**
 * Background and background-RMS maps of a calibrated frame (counts/s).
 *
 * Method (the one SExtractor documents, written from its description):
 * 1. The frame is cut into meshes of about `meshSize` pixels (sizes spread evenly so the last mesh is
 *    not a sliver). In each mesh the usable pixels (finite, weight > 0, no mask bit in `ignoreMask`)
 *    are iteratively clipped at ±`clipSigma` σ about their median until the kept set stops changing,
 *    on a histogram of σ/20 bins centred on a subsample's median (median interpolated inside its
 *    bin): the pixels are read twice, never sorted.
 * 2. Mesh background = the mode estimate 2.5·median − 1.5·mean when the clipped distribution is
 *    nearly symmetric (|mean − median| < 0.3σ), else the median (crowded mesh). Mesh RMS = clipped σ
 *    divided by the σ of a unit Gaussian truncated at ±clip (0.9866 at 3σ), so it estimates the true noise.
 * 3. Meshes with fewer than `minValidFraction` usable pixels are filled from their valid
 *    neighbours; then both grids get a `filterSize`×`filterSize` median filter (shrunk to stay
 *    symmetric at the grid borders, so that a sky gradient is not bent there).
 * 4. Bilinear interpolation between mesh centres to full resolution (constant beyond the outer
 *    centres). The full-resolution maps are computed row by row on demand ({@link BackgroundMap.rowInto},
 *    what detection uses: no frame-size map is written), or as whole Float32Arrays on first access
 *    to `background` / `rms`.
 *
 * Pure; allocates O(mesh count + meshSize²) scratch, nothing per pixel; the full maps only if read.
 */
import { erf } from '../../../../lib/stats/distributions.ts';
import { quickselect } from '../../../../lib/stats/robust.ts';
import { rowKernels, wasmBand } from './simd.ts';

export interface BackgroundOptions {
  /** Mesh size in pixels (default 64). */
  meshSize?: number;
  /** Median filter size over the mesh grid, odd (default 3; 1 = none). */
  filterSize?: number;
  /** Clipping half-width in σ (default 3). */
  clipSigma?: number;
  /** Maximum clipping iterations (default 10). */
  maxIterations?: number;
  /** A mesh with fewer usable pixels than this fraction is interpolated from its neighbours (default 0.3). */
  minValidFraction?: number;
  /** Mask bits that exclude a pixel from the statistics (default: all bits). */
  ignoreMask?: number;
  /** Gather and histogram the meshes on the WebAssembly kernels when available (default true; same results). */
  wasm?: boolean;
}

export interface BackgroundMap {
  width: number;
  height: number;
  /** Background, counts/s, per pixel (materialised on first access). */
  readonly background: Float32Array;
  /** Background RMS, counts/s, per pixel (materialised on first access). */
  readonly rms: Float32Array;
  /** Median of the mesh values. */
  globalBackground: number;
  globalRms: number;
  /** Mesh grid (after filling and filtering), row-major nx × ny. */
  nx: number;
  ny: number;
  meshBackground: Float32Array;
  meshRms: Float32Array;
  /** Writes row y of the background (`which` = 'background') or RMS map into out[offset .. offset + width). */
  rowInto?(which: 'background' | 'rms', y: number, out: Float32Array, offset?: number): void;
  /** The map's value at one pixel (as the full map holds it, to float32 rounding). */
  valueAt?(which: 'background' | 'rms', x: number, y: number): number;
  /**
   * The map as rows of the mesh grid interpolated along x (ny rows of `width` values in `rows`, row
   * j at j·width) and, per image row y, the lower grid row j0[y] and the weight fy[y] of the next:
   * row y = rows[j0]·(1 − fy) + rows[j1]·fy, j1 = min(j0 + 1, ny − 1). The same bilinear map as
   * {@link rowInto}, interpolated x first (values agree to float32 rounding).
   */
  separable?(which: 'background' | 'rms'): { rows: Float32Array; j0: Int32Array; fy: Float32Array };
}

export type Pixels = Float32Array | Float64Array;
export type MaskArray = Uint8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

const NBINS = 240;
/** Pixels per mesh in the subsample that gives the first guess of the centre and σ. */
const SAMPLE = 256;
const hist4 = new Int32Array(4 * NBINS);

/** σ of a unit Gaussian truncated to ±c (0.9866 at c = 3): clipped σ / this = the true σ. */
export function truncatedSigma(c: number): number {
  const phi = Math.exp(-0.5 * c * c) / Math.sqrt(2 * Math.PI);
  const mass = erf(c / Math.SQRT2);
  return Math.sqrt(Math.max(1e-6, 1 - (2 * c * phi) / mass));
}

/**
 * Histogram of buf[0..n) into NBINS bins of width 1/scale from lo. Four interleaved sub-histograms:
 * neighbouring sky pixels fall in the same bin, and separate counters keep the increments from
 * waiting on each other (≈ 1.5× faster).
 */
function fillHistogram(buf: Float32Array, n: number, lo: number, scale: number, hist: Int32Array): void {
  const h4 = hist4;
  h4.fill(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    let u = (buf[i] - lo) * scale;
    if (u >= 0 && u < NBINS) h4[u | 0]++;
    u = (buf[i + 1] - lo) * scale;
    if (u >= 0 && u < NBINS) h4[NBINS + (u | 0)]++;
    u = (buf[i + 2] - lo) * scale;
    if (u >= 0 && u < NBINS) h4[2 * NBINS + (u | 0)]++;
    u = (buf[i + 3] - lo) * scale;
    if (u >= 0 && u < NBINS) h4[3 * NBINS + (u | 0)]++;
  }
  for (; i < n; i++) {
    const u = (buf[i] - lo) * scale;
    if (u >= 0 && u < NBINS) h4[u | 0]++;
  }
  for (let b = 0; b < NBINS; b++) hist[b] = h4[b] + h4[NBINS + b] + h4[2 * NBINS + b] + h4[3 * NBINS + b];
}

/**
 * Clipped statistics of `n` values in `buf`; writes [background, rms] into out; returns false if none.
 * A first guess of the centre and σ from a subsample (median and the 16 %–50 % quantile gap, which
 * the bright tail of stars does not reach), then one histogram pass over all pixels on
 * [median − 6σ, median + 6σ] (σ/20 bins), on which the iterative clipping about the median runs
 * without reading the pixels again.
 */
function meshStats(buf: Float32Array, n: number, clip: number, maxIter: number, hist: Int32Array, sample: Float32Array, out: Float64Array, fill: (buf: Float32Array, n: number, lo: number, scale: number, hist: Int32Array) => void = fillHistogram): boolean {
  if (n < 3) return false;
  const step = Math.max(1, Math.floor(n / sample.length));
  let m = 0;
  for (let i = 0; i < n && m < sample.length; i += step) sample[m++] = buf[i];
  const med0 = quickselect(sample, m >> 1, 0, m - 1);
  // the selection leaves sample[0..m/2) ≤ the median: the 16 % quantile is selected in that half
  const q16 = quickselect(sample, Math.floor(0.1587 * m), 0, (m >> 1) - 1);
  let sigma0 = med0 - q16;
  if (!(sigma0 > 0)) {
    // quantised or constant data: fall back to the plain moments
    let s = 0, ss = 0;
    for (let i = 0; i < n; i++) {
      const d = buf[i] - med0;
      s += d;
      ss += d * d;
    }
    sigma0 = Math.sqrt(Math.max(0, ss / n - (s / n) ** 2));
    if (!(sigma0 > 0)) {
      out[0] = med0;
      out[1] = 0;
      return Number.isFinite(med0);
    }
  }
  const lo0 = med0 - 6 * sigma0;
  const scale = NBINS / (12 * sigma0);
  fill(buf, n, lo0, scale, hist);
  let bl = 0, bh = NBINS - 1;
  let med = med0, mean = med0, sigma = sigma0;
  let prevK = -1;
  for (let it = 0; it < maxIter; it++) {
    let k = 0, s = 0, ss = 0;
    for (let b = bl; b <= bh; b++) {
      const c = hist[b];
      if (!c) continue;
      const x = b + 0.5;
      k += c;
      s += c * x;
      ss += c * x * x;
    }
    if (k < 3) break;
    const mb = s / k;
    const sb = Math.sqrt(Math.max(0, ss / k - mb * mb - 1 / 12)); // Sheppard's correction for the binning
    const half = k / 2;
    let cum = 0, b = bl;
    for (; b < bh; b++) {
      if (cum + hist[b] >= half) break;
      cum += hist[b];
    }
    const medb = b + (hist[b] > 0 ? (half - cum) / hist[b] : 0.5);
    med = lo0 + medb / scale;
    mean = lo0 + mb / scale;
    sigma = sb / scale;
    if (k === prevK) break;
    prevK = k;
    bl = Math.max(0, Math.floor(medb - clip * sb));
    bh = Math.min(NBINS - 1, Math.floor(medb + clip * sb));
  }
  const rms = sigma / truncatedSigma(clip);
  const bkg = Math.abs(mean - med) < 0.3 * sigma ? 2.5 * med - 1.5 * mean : med;
  out[0] = bkg;
  out[1] = rms;
  return Number.isFinite(bkg) && Number.isFinite(rms);
}

function medianOf(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Replaces invalid meshes (valid[i] = 0) by the mean of valid neighbours, growing outwards. */
function fillInvalid(grid: Float32Array, valid: Uint8Array, nx: number, ny: number, fallback: number): void {
  let missing = 0;
  for (let i = 0; i < valid.length; i++) if (!valid[i]) missing++;
  if (missing === valid.length) {
    grid.fill(fallback);
    valid.fill(1);
    return;
  }
  const next = new Uint8Array(valid.length);
  while (missing > 0) {
    next.set(valid);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const p = j * nx + i;
        if (valid[p]) continue;
        let s = 0, c = 0;
        for (let dj = -1; dj <= 1; dj++) {
          const jj = j + dj;
          if (jj < 0 || jj >= ny) continue;
          for (let di = -1; di <= 1; di++) {
            const ii = i + di;
            if (ii < 0 || ii >= nx || !valid[jj * nx + ii]) continue;
            s += grid[jj * nx + ii];
            c++;
          }
        }
        if (c) {
          grid[p] = s / c;
          next[p] = 1;
          missing--;
        }
      }
    }
    valid.set(next);
  }
}

function medianFilter(grid: Float32Array, nx: number, ny: number, size: number): Float32Array {
  if (size <= 1) return grid;
  const h = size >> 1;
  const out = new Float32Array(grid.length);
  const win: number[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      win.length = 0;
      // a window kept symmetric at the borders, so a linear gradient passes unchanged
      const hy = Math.min(h, j, ny - 1 - j), hx = Math.min(h, i, nx - 1 - i);
      for (let dj = -hy; dj <= hy; dj++) {
        for (let di = -hx; di <= hx; di++) win.push(grid[(j + dj) * nx + i + di]);
      }
      out[j * nx + i] = medianOf(win);
    }
  }
  return out;
}

/** Mesh boundaries: n+1 edges spreading `len` pixels over n meshes. */
function edges(len: number, n: number): Int32Array {
  const e = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) e[i] = Math.round((i * len) / n);
  return e;
}

function centres(e: Int32Array, n: number): Float64Array {
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = (e[i] + e[i + 1] - 1) / 2;
  return c;
}

/** Per output pixel along one axis: the lower mesh index and the weight of the upper one. */
function interpAxis(len: number, e: Int32Array, n: number): { i0: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(len);
  const f = new Float32Array(len);
  const centres = new Float64Array(n);
  for (let i = 0; i < n; i++) centres[i] = (e[i] + e[i + 1] - 1) / 2;
  let k = 0;
  for (let x = 0; x < len; x++) {
    if (n === 1 || x <= centres[0]) {
      i0[x] = 0;
      f[x] = 0;
      continue;
    }
    if (x >= centres[n - 1]) {
      i0[x] = n - 2;
      f[x] = 1;
      continue;
    }
    while (k < n - 2 && x > centres[k + 1]) k++;
    i0[x] = k;
    f[x] = (x - centres[k]) / (centres[k + 1] - centres[k]);
  }
  return { i0, f };
}

/**
 * Row y of the bilinear interpolation of a mesh grid (mesh rows first, then along x) into
 * out[off .. off + width). `col` is scratch of ≥ nx + 1 doubles.
 */
function interpolateRow(grid: Float32Array, nx: number, ny: number, cx: Float64Array, ay: { i0: Int32Array; f: Float32Array }, width: number, y: number, out: Float32Array, off: number, col: Float64Array): void {
  const j0 = ay.i0[y], fy = ay.f[y];
  const j1 = ny > 1 ? j0 + 1 : j0;
  for (let i = 0; i < nx; i++) col[i] = grid[j0 * nx + i] * (1 - fy) + grid[j1 * nx + i] * fy;
  interpolateAlongX(col, nx, cx, width, out, off);
}

/** Linear interpolation along x between the mesh centres cx of the nx values col, into out[off .. off + width). */
function interpolateAlongX(col: ArrayLike<number>, nx: number, cx: Float64Array, width: number, out: Float32Array, off: number): void {
  if (nx === 1) {
    out.fill(col[0], off, off + width);
    return;
  }
  // constant left of the first centre, linear between centres, constant right of the last
  let x = 0;
  const c0 = cx[0];
  for (; x < width && x <= c0; x++) out[off + x] = col[0];
  for (let i = 0; i < nx - 1; i++) {
    const xe = Math.min(width - 1, Math.floor(cx[i + 1]));
    const d = (col[i + 1] - col[i]) / (cx[i + 1] - cx[i]);
    let v = col[i] + d * (x - cx[i]);
    for (; x <= xe; x++) {
      out[off + x] = v;
      v += d;
    }
  }
  for (; x < width; x++) out[off + x] = col[nx - 1];
}

/** The interpolated value at (x, y), by the formula {@link interpolateRow} accumulates. */
function interpolateAt(grid: Float32Array, nx: number, ny: number, cx: Float64Array, ay: { i0: Int32Array; f: Float32Array }, x: number, y: number): number {
  const j0 = ay.i0[y], fy = ay.f[y];
  const j1 = ny > 1 ? j0 + 1 : j0;
  const at = (i: number) => grid[j0 * nx + i] * (1 - fy) + grid[j1 * nx + i] * fy;
  if (nx === 1 || x <= cx[0]) return Math.fround(at(0));
  if (x > Math.floor(cx[nx - 1])) return Math.fround(at(nx - 1));
  let i = 0;
  while (i < nx - 2 && x > Math.floor(cx[i + 1])) i++;
  const a = at(i), b = at(i + 1);
  return Math.fround(a + ((b - a) / (cx[i + 1] - cx[i])) * (x - cx[i]));
}

/**
 * The estimated background: mesh grids, the interpolation tables, rows and values on demand, and the
 * full-resolution maps materialised on first access (then kept).
 */
class MeshBackground implements BackgroundMap {
  private bgFull: Float32Array | null = null;
  private rmsFull: Float32Array | null = null;
  private readonly col: Float64Array;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly nx: number,
    readonly ny: number,
    readonly meshBackground: Float32Array,
    readonly meshRms: Float32Array,
    readonly globalBackground: number,
    readonly globalRms: number,
    private readonly cx: Float64Array,
    private readonly ay: { i0: Int32Array; f: Float32Array },
  ) {
    this.col = new Float64Array(nx + 1);
  }
  get background(): Float32Array {
    return (this.bgFull ??= this.full(this.meshBackground));
  }
  get rms(): Float32Array {
    return (this.rmsFull ??= this.full(this.meshRms));
  }
  rowInto(which: 'background' | 'rms', y: number, out: Float32Array, offset = 0): void {
    const full = which === 'background' ? this.bgFull : this.rmsFull;
    if (full) out.set(full.subarray(y * this.width, (y + 1) * this.width), offset);
    else interpolateRow(which === 'background' ? this.meshBackground : this.meshRms, this.nx, this.ny, this.cx, this.ay, this.width, y, out, offset, this.col);
  }
  separable(which: 'background' | 'rms'): { rows: Float32Array; j0: Int32Array; fy: Float32Array } {
    const grid = which === 'background' ? this.meshBackground : this.meshRms;
    const rows = new Float32Array(this.ny * this.width);
    for (let j = 0; j < this.ny; j++) interpolateAlongX(grid.subarray(j * this.nx, (j + 1) * this.nx), this.nx, this.cx, this.width, rows, j * this.width);
    return { rows, j0: this.ay.i0, fy: this.ay.f };
  }
  valueAt(which: 'background' | 'rms', x: number, y: number): number {
    const full = which === 'background' ? this.bgFull : this.rmsFull;
    if (full) return full[y * this.width + x];
    return interpolateAt(which === 'background' ? this.meshBackground : this.meshRms, this.nx, this.ny, this.cx, this.ay, x, y);
  }
  private full(grid: Float32Array): Float32Array {
    const out = new Float32Array(this.width * this.height);
    for (let y = 0; y < this.height; y++) interpolateRow(grid, this.nx, this.ny, this.cx, this.ay, this.width, y, out, y * this.width, this.col);
    return out;
  }
}

/** Copies the usable pixels of a mesh into buf; returns their count. */
function gather(data: Pixels, width: number, x0: number, x1: number, y0: number, y1: number, weight: Pixels | null, mask: MaskArray | null, ignore: number, buf: Float32Array): number {
  let n = 0;
  if (!weight && !mask) {
    for (let y = y0; y < y1; y++) {
      const row = y * width;
      for (let p = row + x0; p < row + x1; p++) {
        const v = data[p];
        if (v === v) buf[n++] = v;
      }
    }
    return n;
  }
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    for (let p = row + x0; p < row + x1; p++) {
      const v = data[p];
      if (v !== v) continue;
      if (weight !== null && !(weight[p] > 0)) continue;
      if (mask !== null && (mask[p] & ignore) !== 0) continue;
      buf[n++] = v;
    }
  }
  return n;
}

/** Estimates the background and RMS maps (see module comment). `weight`/`mask` optional, same size as data. */
export function estimateBackground(data: Pixels, width: number, height: number, opts: BackgroundOptions = {}, weight?: Pixels | null, mask?: MaskArray | null): BackgroundMap {
  const mesh = opts.meshSize ?? 64;
  const clip = opts.clipSigma ?? 3;
  const maxIter = opts.maxIterations ?? 10;
  const minFrac = opts.minValidFraction ?? 0.3;
  const ignore = opts.ignoreMask ?? 0xffffffff;
  const nx = Math.max(1, Math.round(width / mesh));
  const ny = Math.max(1, Math.round(height / mesh));
  const ex = edges(width, nx), ey = edges(height, ny);
  const back = new Float32Array(nx * ny);
  const rmsG = new Float32Array(nx * ny);
  const valid = new Uint8Array(nx * ny);
  let maxMesh = 0;
  for (let i = 0; i < nx; i++) maxMesh = Math.max(maxMesh, ex[i + 1] - ex[i]);
  let maxMeshY = 0;
  for (let j = 0; j < ny; j++) maxMeshY = Math.max(maxMeshY, ey[j + 1] - ey[j]);
  const buf = new Float32Array(maxMesh * maxMeshY);
  const hist = new Int32Array(NBINS);
  const sample = new Float32Array(SAMPLE);
  const st = new Float64Array(2);
  const k = opts.wasm === false ? null : rowKernels();
  const band = k ? wasmBand(k, width, maxMeshY, maxMesh * maxMeshY, NBINS) : null;
  if (k && band) {
    // the same gather and histogram on the WebAssembly kernels: each band of mesh rows is copied
    // into the kernels' memory once (weight 1 and mask 0 when absent)
    const fill = (_b: Float32Array, n: number, lo: number, scale: number, h: Int32Array): void => {
      band.hist.fill(0);
      k.hist(band.ptr.buf, n, lo, scale, band.ptr.hist, NBINS);
      h.set(band.hist);
    };
    if (!weight) band.weight.fill(1);
    if (!mask) band.mask.fill(0);
    for (let j = 0; j < ny; j++) {
      const rows = ey[j + 1] - ey[j];
      for (let r = 0; r < rows; r++) {
        const src = (ey[j] + r) * width, dst = r * band.stride;
        band.data.set(data.subarray(src, src + width), dst);
        if (weight) band.weight.set(weight.subarray(src, src + width), dst);
        if (mask) band.mask.set(mask.subarray(src, src + width), dst);
      }
      for (let i = 0; i < nx; i++) {
        const n = k.gather(band.ptr.data, band.ptr.weight, band.ptr.mask, band.stride * 4, ex[i], ex[i + 1], rows, ignore | 0, band.ptr.buf);
        const total = (ex[i + 1] - ex[i]) * rows;
        const g = j * nx + i;
        if (n >= Math.max(3, minFrac * total) && meshStats(band.buf, n, clip, maxIter, hist, sample, st, fill)) {
          back[g] = st[0];
          rmsG[g] = st[1];
          valid[g] = 1;
        }
      }
    }
  } else {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const n = gather(data, width, ex[i], ex[i + 1], ey[j], ey[j + 1], weight ?? null, mask ?? null, ignore, buf);
        const total = (ex[i + 1] - ex[i]) * (ey[j + 1] - ey[j]);
        const g = j * nx + i;
        if (n >= Math.max(3, minFrac * total) && meshStats(buf, n, clip, maxIter, hist, sample, st)) {
          back[g] = st[0];
          rmsG[g] = st[1];
          valid[g] = 1;
        }
      }
    }
  }
  const vb: number[] = [], vr: number[] = [];
  for (let g = 0; g < valid.length; g++) if (valid[g]) (vb.push(back[g]), vr.push(rmsG[g]));
  const fb = vb.length ? medianOf(vb) : 0;
  const fr = vr.length ? medianOf(vr) : 1;
  const validR = valid.slice();
  fillInvalid(back, valid, nx, ny, fb);
  fillInvalid(rmsG, validR, nx, ny, fr);
  const size = opts.filterSize ?? 3;
  const meshBackground = medianFilter(back, nx, ny, size);
  const meshRms = medianFilter(rmsG, nx, ny, size);

  const gb: number[] = Array.from(meshBackground), gr: number[] = Array.from(meshRms);
  return new MeshBackground(width, height, nx, ny, meshBackground, meshRms, medianOf(gb), medianOf(gr), centres(ex, nx), interpAxis(height, ey, ny));
}

/** Row y of a background map's background or RMS: computed from the meshes when the map can, else copied from its full array. */
export function backgroundRow(bg: BackgroundMap, which: 'background' | 'rms', y: number, out: Float32Array, offset = 0): void {
  if (bg.rowInto) bg.rowInto(which, y, out, offset);
  else out.set((which === 'background' ? bg.background : bg.rms).subarray(y * bg.width, (y + 1) * bg.width), offset);
}

/** A background map's value at one pixel. */
export function backgroundAt(bg: BackgroundMap, which: 'background' | 'rms', x: number, y: number): number {
  return bg.valueAt ? bg.valueAt(which, x, y) : (which === 'background' ? bg.background : bg.rms)[y * bg.width + x];
}
