/**
 * Matched filter for detection: convolution with a normalised (sum = 1) Gaussian of the seeing FWHM,
 * done as two 1-D passes. Kernel half-width ceil(2σ) taps. Beyond the frame the kernel is truncated
 * and renormalised. Pure; the only allocations are the output and one scratch image.
 */

/** The 1-D taps (sum 1) of a Gaussian of the given FWHM in pixels. */
export function gaussianTaps(fwhm: number): Float32Array {
  const sigma = fwhm / 2.354820045;
  const h = Math.max(1, Math.ceil(2 * sigma));
  const k = new Float32Array(2 * h + 1);
  let s = 0;
  for (let i = -h; i <= h; i++) s += k[i + h] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** The equivalent 2-D kernel (outer product), row-major, for tools that take a full kernel. */
export function gaussianKernel2d(fwhm: number): { size: number; values: Float32Array } {
  const t = gaussianTaps(fwhm);
  const n = t.length;
  const v = new Float32Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) v[j * n + i] = t[j] * t[i];
  return { size: n, values: v };
}

/**
 * Separable convolution of `src` (width × height) by symmetric `taps` in both directions, into `out`.
 * Kernels up to 7 and 9 taps run unrolled symmetric loops (5 multiplies per pixel and pass, about 5×
 * faster in V8 than a loop over the taps); longer kernels use the generic loop.
 */
export function convolveSeparable(src: Float32Array, width: number, height: number, taps: Float32Array, out: Float32Array = new Float32Array(width * height), scratch: Float32Array = new Float32Array(width * height)): Float32Array {
  const h = taps.length >> 1;
  if (h <= 3 && width > 2 * 4 && height > 2 * 4) {
    horizontal7(src, scratch, width, height, taps[h], taps[h + 1], h > 1 ? taps[h + 2] : 0, h > 2 ? taps[h + 3] : 0);
    vertical7(scratch, out, width, height, taps[h], taps[h + 1], h > 1 ? taps[h + 2] : 0, h > 2 ? taps[h + 3] : 0);
  } else if (h <= 4 && width > 2 * 4 && height > 2 * 4) {
    const t = new Float32Array(5);
    for (let k = 0; k <= h; k++) t[k] = taps[h + k];
    horizontal9(src, scratch, width, height, t[0], t[1], t[2], t[3], t[4]);
    vertical9(scratch, out, width, height, t[0], t[1], t[2], t[3], t[4]);
  } else {
    horizontalGeneric(src, scratch, width, height, taps, 4 < h ? h : 4);
    verticalGeneric(scratch, out, width, height, taps, 4 < h ? h : 4);
  }
  // frame borders: truncated, renormalised kernel (both passes, from the source)
  const m = Math.max(h, 4);
  borders(src, out, width, height, taps, m);
  return out;
}

function horizontal7(src: Float32Array, dst: Float32Array, w: number, hgt: number, t0: number, t1: number, t2: number, t3: number): void {
  for (let y = 0; y < hgt; y++) {
    const row = y * w;
    const e = row + w - 4;
    for (let i = row + 4; i < e; i++) dst[i] = t0 * src[i] + t1 * (src[i - 1] + src[i + 1]) + t2 * (src[i - 2] + src[i + 2]) + t3 * (src[i - 3] + src[i + 3]);
  }
}

function vertical7(src: Float32Array, dst: Float32Array, w: number, hgt: number, t0: number, t1: number, t2: number, t3: number): void {
  const w2 = 2 * w, w3 = 3 * w;
  for (let y = 4; y < hgt - 4; y++) {
    const row = y * w;
    const e = row + w - 4;
    for (let i = row + 4; i < e; i++) dst[i] = t0 * src[i] + t1 * (src[i - w] + src[i + w]) + t2 * (src[i - w2] + src[i + w2]) + t3 * (src[i - w3] + src[i + w3]);
  }
}

function horizontal9(src: Float32Array, dst: Float32Array, w: number, hgt: number, t0: number, t1: number, t2: number, t3: number, t4: number): void {
  for (let y = 0; y < hgt; y++) {
    const row = y * w;
    const e = row + w - 4;
    for (let i = row + 4; i < e; i++) {
      dst[i] = t0 * src[i] + t1 * (src[i - 1] + src[i + 1]) + t2 * (src[i - 2] + src[i + 2]) + t3 * (src[i - 3] + src[i + 3]) + t4 * (src[i - 4] + src[i + 4]);
    }
  }
}

function vertical9(src: Float32Array, dst: Float32Array, w: number, hgt: number, t0: number, t1: number, t2: number, t3: number, t4: number): void {
  const w2 = 2 * w, w3 = 3 * w, w4 = 4 * w;
  for (let y = 4; y < hgt - 4; y++) {
    const row = y * w;
    const e = row + w - 4;
    for (let i = row + 4; i < e; i++) {
      dst[i] = t0 * src[i] + t1 * (src[i - w] + src[i + w]) + t2 * (src[i - w2] + src[i + w2]) + t3 * (src[i - w3] + src[i + w3]) + t4 * (src[i - w4] + src[i + w4]);
    }
  }
}

function horizontalGeneric(src: Float32Array, dst: Float32Array, w: number, hgt: number, taps: Float32Array, m: number): void {
  const n = taps.length, h = n >> 1;
  for (let y = 0; y < hgt; y++) {
    const row = y * w;
    for (let x = m; x < w - m; x++) {
      let s = 0;
      const b = row + x - h;
      for (let k = 0; k < n; k++) s += taps[k] * src[b + k];
      dst[row + x] = s;
    }
  }
}

function verticalGeneric(src: Float32Array, dst: Float32Array, w: number, hgt: number, taps: Float32Array, m: number): void {
  const n = taps.length, h = n >> 1;
  for (let y = m; y < hgt - m; y++) {
    const row = y * w;
    const b = (y - h) * w;
    for (let x = m; x < w - m; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += taps[k] * src[b + k * w + x];
      dst[row + x] = s;
    }
  }
}

/** Direct 2-D evaluation with a renormalised truncated kernel for the pixels within `m` of an edge. */
function borders(src: Float32Array, out: Float32Array, w: number, hgt: number, taps: Float32Array, m: number): void {
  const h = taps.length >> 1;
  const one = (x: number, y: number) => {
    let s = 0, norm = 0;
    for (let j = -h; j <= h; j++) {
      const yy = y + j;
      if (yy < 0 || yy >= hgt) continue;
      const tj = taps[j + h];
      for (let i = -h; i <= h; i++) {
        const xx = x + i;
        if (xx < 0 || xx >= w) continue;
        const t = tj * taps[i + h];
        s += t * src[yy * w + xx];
        norm += t;
      }
    }
    out[y * w + x] = s / norm;
  };
  for (let y = 0; y < hgt; y++) {
    if (y < m || y >= hgt - m) for (let x = 0; x < w; x++) one(x, y);
    else {
      for (let x = 0; x < Math.min(m, w); x++) one(x, y);
      for (let x = Math.max(m, w - m); x < w; x++) one(x, y);
    }
  }
}

/**
 * The same convolution as {@link convolveSeparable}, row by row: the caller fills `src` one row at a
 * time in order and calls {@link pushRow} after each; output rows come out in order, each as soon as
 * the source rows it needs are there (`lag` rows behind). The horizontal pass goes into a ring of
 * 2·lag + 1 rows instead of a frame-size scratch, so a frame is read and written once. Results are
 * identical to convolveSeparable's, value for value (same expressions, same float32 rounding).
 */
export class RowConvolver {
  /** Output row y is final once source row min(height − 1, y + lag) has been pushed. */
  readonly lag: number;
  private readonly h: number;
  private readonly m: number;
  private readonly kind: 7 | 9 | 0;
  private readonly t: Float64Array;
  private readonly ring: Float32Array;
  private readonly K: number;
  private next = 0;

  constructor(
    private readonly src: Float32Array,
    private readonly width: number,
    private readonly height: number,
    private readonly taps: Float32Array,
    private readonly out: Float32Array,
    private readonly onRow: (y: number) => void,
  ) {
    const h = taps.length >> 1;
    this.h = h;
    this.m = Math.max(h, 4);
    this.kind = h <= 3 && width > 8 && height > 8 ? 7 : h <= 4 && width > 8 && height > 8 ? 9 : 0;
    this.lag = this.kind === 7 ? 3 : this.kind === 9 ? 4 : h;
    this.t = new Float64Array(5);
    if (this.kind === 7) {
      this.t[0] = taps[h];
      this.t[1] = taps[h + 1];
      this.t[2] = h > 1 ? taps[h + 2] : 0;
      this.t[3] = h > 2 ? taps[h + 3] : 0;
    } else if (this.kind === 9) {
      // convolveSeparable rounds these through a Float32Array: the same values
      for (let k = 0; k <= h; k++) this.t[k] = taps[h + k];
    }
    this.K = 2 * this.lag + 1;
    this.ring = new Float32Array(this.K * width);
  }

  /** Source row r (= the number of rows pushed so far) is complete. */
  pushRow(r: number): void {
    if (r !== this.next) throw new RangeError(`RowConvolver: row ${r} pushed, ${this.next} expected`);
    this.next++;
    this.horizontal(r);
    const y = r - this.lag;
    if (y >= 0) this.output(y);
    if (r === this.height - 1) for (let yy = Math.max(0, this.height - this.lag); yy < this.height; yy++) this.output(yy);
  }

  private horizontal(r: number): void {
    const { src, width: w, ring, K } = this;
    const o = (r % K) * w;
    const row = r * w;
    if (this.kind === 7) {
      const t0 = this.t[0], t1 = this.t[1], t2 = this.t[2], t3 = this.t[3];
      for (let x = 4, i = row + 4; x < w - 4; x++, i++) ring[o + x] = t0 * src[i] + t1 * (src[i - 1] + src[i + 1]) + t2 * (src[i - 2] + src[i + 2]) + t3 * (src[i - 3] + src[i + 3]);
    } else if (this.kind === 9) {
      const t0 = this.t[0], t1 = this.t[1], t2 = this.t[2], t3 = this.t[3], t4 = this.t[4];
      for (let x = 4, i = row + 4; x < w - 4; x++, i++) {
        ring[o + x] = t0 * src[i] + t1 * (src[i - 1] + src[i + 1]) + t2 * (src[i - 2] + src[i + 2]) + t3 * (src[i - 3] + src[i + 3]) + t4 * (src[i - 4] + src[i + 4]);
      }
    } else {
      const taps = this.taps, n = taps.length, h = this.h, m = this.m;
      for (let x = m; x < w - m; x++) {
        let s = 0;
        const b = row + x - h;
        for (let k = 0; k < n; k++) s += taps[k] * src[b + k];
        ring[o + x] = s;
      }
    }
  }

  private output(y: number): void {
    const { width: w, height: hgt, out, ring, K, m } = this;
    const row = y * w;
    if (y < m || y >= hgt - m) {
      for (let x = 0; x < w; x++) this.borderPixel(x, y);
    } else {
      const c = (y % K) * w;
      if (this.kind === 7) {
        const t0 = this.t[0], t1 = this.t[1], t2 = this.t[2], t3 = this.t[3];
        const a1 = ((y - 1) % K) * w, b1 = ((y + 1) % K) * w, a2 = ((y - 2) % K) * w, b2 = ((y + 2) % K) * w, a3 = ((y - 3) % K) * w, b3 = ((y + 3) % K) * w;
        for (let x = 4; x < w - 4; x++) out[row + x] = t0 * ring[c + x] + t1 * (ring[a1 + x] + ring[b1 + x]) + t2 * (ring[a2 + x] + ring[b2 + x]) + t3 * (ring[a3 + x] + ring[b3 + x]);
      } else if (this.kind === 9) {
        const t0 = this.t[0], t1 = this.t[1], t2 = this.t[2], t3 = this.t[3], t4 = this.t[4];
        const a1 = ((y - 1) % K) * w, b1 = ((y + 1) % K) * w, a2 = ((y - 2) % K) * w, b2 = ((y + 2) % K) * w, a3 = ((y - 3) % K) * w, b3 = ((y + 3) % K) * w, a4 = ((y - 4) % K) * w, b4 = ((y + 4) % K) * w;
        for (let x = 4; x < w - 4; x++) {
          out[row + x] = t0 * ring[c + x] + t1 * (ring[a1 + x] + ring[b1 + x]) + t2 * (ring[a2 + x] + ring[b2 + x]) + t3 * (ring[a3 + x] + ring[b3 + x]) + t4 * (ring[a4 + x] + ring[b4 + x]);
        }
      } else {
        const taps = this.taps, n = taps.length, h = this.h;
        for (let x = m; x < w - m; x++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += taps[k] * ring[((y - h + k) % K) * w + x];
          out[row + x] = s;
        }
      }
      for (let x = 0; x < Math.min(m, w); x++) this.borderPixel(x, y);
      for (let x = Math.max(m, w - m); x < w; x++) this.borderPixel(x, y);
    }
    this.onRow(y);
  }

  private borderPixel(x: number, y: number): void {
    borderPixel(this.src, this.out, this.width, this.height, this.taps, x, y);
  }
}

/** One pixel of {@link convolveSeparable}'s frame border: the truncated, renormalised 2-D kernel, from the source. */
export function borderPixel(src: Float32Array, out: Float32Array, w: number, hgt: number, taps: Float32Array, x: number, y: number): void {
  const h = taps.length >> 1;
  let s = 0, norm = 0;
  for (let j = -h; j <= h; j++) {
    const yy = y + j;
    if (yy < 0 || yy >= hgt) continue;
    const tj = taps[j + h];
    for (let i = -h; i <= h; i++) {
      const xx = x + i;
      if (xx < 0 || xx >= w) continue;
      const t = tj * taps[i + h];
      s += t * src[yy * w + xx];
      norm += t;
    }
  }
  out[y * w + x] = s / norm;
}
