/**
 * Rice coding as used by the FITS tiled image compression convention (ZCMPTYPE = 'RICE_1').
 *
 * A compressed tile is: the first pixel stored raw in BYTEPIX bytes (big-endian), then blocks of
 * BLOCKSIZE pixels (default 32). Each block starts with an FS code of 3/4/5 bits (BYTEPIX 1/2/4):
 *   code 0          all differences in the block are zero;
 *   code FSMAX + 1  differences are stored raw in 8·BYTEPIX bits ("high entropy");
 *   otherwise       fs = code − 1: each mapped difference is its high part (value >> fs) in unary
 *                   (that many 0 bits, then a 1) followed by its low fs bits.
 * Differences are between consecutive pixels, wrapping at the pixel width, mapped to non-negative
 * integers by zig-zag: d ≥ 0 → 2d, d < 0 → −2d − 1. The bit stream is padded with zeros to a byte.
 */
import { FitsError } from './errors.ts';

interface Params {
  fsbits: number;
  fsmax: number;
  bbits: number;
}

/** A block size that is not a positive integer would make the block loop stand still or go backwards. */
function checkBlock(nblock: number): void {
  if (!(Number.isInteger(nblock) && nblock > 0)) throw new FitsError('BAD_HEADER', `RICE_1 BLOCKSIZE ${nblock} is not a positive integer`);
}

function params(bytepix: number): Params {
  switch (bytepix) {
    case 1:
      return { fsbits: 3, fsmax: 6, bbits: 8 };
    case 2:
      return { fsbits: 4, fsmax: 14, bbits: 16 };
    case 4:
      return { fsbits: 5, fsmax: 25, bbits: 32 };
    default:
      throw new FitsError('UNSUPPORTED', `RICE_1 with BYTEPIX ${bytepix} is not supported (1, 2 or 4)`);
  }
}

/**
 * Decodes one tile of `npix` pixels from c[start, end) into out[o, o+npix) as signed integers
 * (unsigned for BYTEPIX 1).
 */
export function riceDecode(c: Uint8Array, start: number, end: number, out: Int32Array, o: number, npix: number, bytepix: number, nblock: number): void {
  const { fsbits, fsmax, bbits } = params(bytepix);
  checkBlock(nblock);
  const corrupt = () => new FitsError('CORRUPT', `RICE_1 tile data ends early (${end - start} bytes for ${npix} pixels)`);
  if (end - start < bytepix + 1) {
    if (npix === 0) return;
    throw corrupt();
  }
  let p = start;
  let last: number;
  if (bytepix === 1) last = c[p++];
  else if (bytepix === 2) {
    last = (c[p] << 8) | c[p + 1];
    p += 2;
  } else {
    last = (c[p] << 24) | (c[p + 1] << 16) | (c[p + 2] << 8) | c[p + 3];
    p += 4;
  }
  // `b` holds the `nbits` not yet consumed low bits of the stream.
  let b = c[p++];
  let nbits = 8;
  const limit = end + 8; // zero padding read past the end is harmless; a runaway stream is not
  const fsmask = (1 << fsbits) - 1;
  let i = 0;
  while (i < npix) {
    nbits -= fsbits;
    while (nbits < 0) {
      b = (b << 8) | (p < end ? c[p] : 0);
      p++;
      nbits += 8;
    }
    const fs = ((b >>> nbits) & fsmask) - 1;
    b &= (1 << nbits) - 1;
    const imax = Math.min(i + nblock, npix);
    if (fs < 0) {
      // Low entropy: the block repeats the last value.
      const v = bytepix === 2 ? (last << 16) >> 16 : bytepix === 1 ? last & 0xff : last | 0;
      out.fill(v, o + i, o + imax);
      i = imax;
    } else if (fs === fsmax) {
      // High entropy: raw differences of bbits bits.
      for (; i < imax; i++) {
        let diff: number;
        if (bbits === 32) {
          const v = ((c[p] << 24) | (c[p + 1] << 16) | (c[p + 2] << 8) | c[p + 3]) >>> 0;
          p += 4;
          const all = b * 4294967296 + v;
          const div = 2 ** nbits;
          diff = Math.floor(all / div);
          b = v & ((1 << nbits) - 1);
        } else {
          let v = c[p++];
          if (bbits === 16) v = (v << 8) | c[p++];
          const all = (b << bbits) | v;
          diff = all >>> nbits;
          b = all & ((1 << nbits) - 1);
        }
        const d = (diff >>> 1) ^ -(diff & 1);
        last = last + d;
        out[o + i] = bytepix === 2 ? (last << 16) >> 16 : bytepix === 1 ? last & 0xff : last | 0;
        last = out[o + i];
      }
      if (p > limit) throw corrupt();
    } else {
      const fmask = (1 << fs) - 1;
      for (; i < imax; i++) {
        // Unary high part: count zero bits up to the next 1.
        while (b === 0) {
          if (p >= limit) throw corrupt();
          nbits += 8;
          b = p < end ? c[p] : 0;
          p++;
        }
        const nzero = nbits - (32 - Math.clz32(b));
        nbits -= nzero + 1;
        b ^= 1 << nbits;
        // Low fs bits.
        nbits -= fs;
        while (nbits < 0) {
          b = (b << 8) | (p < end ? c[p] : 0);
          p++;
          nbits += 8;
        }
        const diff = ((nzero << fs) | ((b >>> nbits) & fmask)) >>> 0;
        b &= (1 << nbits) - 1;
        const d = (diff >>> 1) ^ -(diff & 1);
        if (bytepix === 2) last = ((last + d) << 16) >> 16;
        else if (bytepix === 1) last = (last + d) & 0xff;
        else last = (last + d) | 0;
        out[o + i] = last;
      }
    }
  }
}

/**
 * The hot path of COLIBRI frames: BYTEPIX 2 straight into the physical Float32 image
 * (v·bscale + bzero). Same stream as riceDecode; a left-aligned 32-bit bit window refilled 16 bits
 * at a time, clz32 for the unary part, branch-free zig-zag.
 */
export function riceDecode16(
  c: Uint8Array,
  start: number,
  end: number,
  out: Float32Array,
  o: number,
  npix: number,
  nblock: number,
  bscale: number,
  bzero: number,
): void {
  checkBlock(nblock);
  if (end - start < 3) {
    if (npix === 0) return;
    throw new FitsError('CORRUPT', `RICE_1 tile data ends early (${end - start} bytes for ${npix} pixels)`);
  }
  let p = start;
  let last = (c[p] << 8) | c[p + 1];
  p += 2;
  let w = 0; // the next bits of the stream, most significant first
  let avail = 0; // valid bits in w (bits below are zero)
  const limit = end + 8;
  let i = 0;
  while (i < npix) {
    if (avail < 16) {
      w |= ((c[p] << 8) | c[p + 1]) << (16 - avail);
      p += 2;
      avail += 16;
    }
    const fs = (w >>> 28) - 1;
    w <<= 4;
    avail -= 4;
    const imax = i + nblock < npix ? i + nblock : npix;
    if (fs < 0) {
      const v = ((last << 16) >> 16) * bscale + bzero;
      for (; i < imax; i++) out[o + i] = v;
    } else if (fs === 14) {
      for (; i < imax; i++) {
        if (avail < 16) {
          w |= ((c[p] << 8) | c[p + 1]) << (16 - avail);
          p += 2;
          avail += 16;
        }
        const diff = w >>> 16;
        w <<= 16;
        avail -= 16;
        last = ((last + ((diff >>> 1) ^ -(diff & 1))) << 16) >> 16;
        out[o + i] = last * bscale + bzero;
      }
      if (p > limit) throw new FitsError('CORRUPT', `RICE_1 tile data ends early (${end - start} bytes for ${npix} pixels)`);
    } else {
      const lowShift = 31 - fs;
      for (; i < imax; i++) {
        if (avail < 16) {
          w |= ((c[p] << 8) | c[p + 1]) << (16 - avail);
          p += 2;
          avail += 16;
        }
        let nzero = 0;
        while (w === 0) {
          if (p >= limit) throw new FitsError('CORRUPT', `RICE_1 tile data ends early (${end - start} bytes for ${npix} pixels)`);
          nzero += avail;
          w = ((c[p] << 8) | c[p + 1]) << 16;
          p += 2;
          avail = 16;
        }
        const z = Math.clz32(w);
        nzero += z;
        w = (w << z) << 1;
        avail -= z + 1;
        if (avail < 16) {
          w |= ((c[p] << 8) | c[p + 1]) << (16 - avail);
          p += 2;
          avail += 16;
        }
        const diff = (nzero << fs) | ((w >>> 1) >>> lowShift); // fs = 0 gives 0 low bits
        w <<= fs;
        avail -= fs;
        last = ((last + ((diff >>> 1) ^ -(diff & 1))) << 16) >> 16;
        out[o + i] = last * bscale + bzero;
      }
    }
  }
  if (p > end + 4) throw new FitsError('CORRUPT', `RICE_1 tile data ends early (${end - start} bytes for ${npix} pixels)`);
}

/**
 * Encodes npix integers from v[o, o+npix) (already in range for BYTEPIX) into a new byte array.
 * The FS of each block is the one minimising the block's coded size.
 */
export function riceEncode(v: ArrayLike<number>, o: number, npix: number, bytepix: number, nblock: number): Uint8Array {
  const { fsbits, fsmax, bbits } = params(bytepix);
  // Worst case: raw first pixel + every block high-entropy + codes + slack.
  const out = new Uint8Array(bytepix + npix * bytepix + Math.ceil(npix / nblock) * 4 + 16);
  let pos = 0;
  const first = v[o] | 0;
  for (let k = bytepix - 1; k >= 0; k--) out[pos++] = (first >>> (8 * k)) & 0xff;
  let acc = 0; // pending bits (fewer than 8 after each put)
  let nacc = 0;
  const put = (value: number, k: number) => {
    // k ≤ 24
    acc = (acc << k) | value;
    nacc += k;
    while (nacc >= 8) {
      nacc -= 8;
      out[pos++] = (acc >>> nacc) & 0xff;
    }
    acc &= (1 << nacc) - 1;
  };
  const mapped = new Uint32Array(nblock);
  let last = first;
  const shift = 32 - 8 * bytepix;
  for (let i = 0; i < npix; i += nblock) {
    const len = Math.min(nblock, npix - i);
    let sum = 0;
    for (let j = 0; j < len; j++) {
      const x = v[o + i + j] | 0;
      // difference wrapped to the pixel width, as a signed value
      const d = shift > 0 ? ((x - last) << shift) >> shift : (x - last) | 0;
      last = x;
      const m = d >= 0 ? d * 2 : -d * 2 - 1;
      mapped[j] = m;
      sum += m;
    }
    if (sum === 0) {
      put(0, fsbits);
      continue;
    }
    // Cost of fs: len·(fs+1) + Σ(m >> fs). Search around log2 of the mean.
    const mean = sum / len;
    const guess = mean < 1 ? 0 : Math.floor(Math.log2(mean));
    let bestFs = -1;
    let bestCost = len * bbits; // high-entropy cost (plus the same code length)
    for (let fs = Math.max(0, guess - 1); fs <= Math.min(fsmax - 1, guess + 1); fs++) {
      let cost = len * (fs + 1);
      const div = 2 ** fs;
      for (let j = 0; j < len; j++) cost += Math.floor(mapped[j] / div);
      if (cost < bestCost) {
        bestCost = cost;
        bestFs = fs;
      }
    }
    if (bestFs < 0) {
      put(fsmax + 1, fsbits);
      for (let j = 0; j < len; j++) {
        const m = mapped[j];
        if (bbits === 32) {
          put(m >>> 16, 16);
          put(m & 0xffff, 16);
        } else put(m, bbits);
      }
      continue;
    }
    const fs = bestFs;
    put(fs + 1, fsbits);
    const div = 2 ** fs;
    const fmask = div - 1;
    for (let j = 0; j < len; j++) {
      const m = mapped[j];
      let top = Math.floor(m / div);
      while (top > 16) {
        put(0, 16);
        top -= 16;
      }
      put(1, top + 1); // `top` zeros then a one
      if (fs > 0) put(m & fmask, fs);
    }
  }
  if (nacc > 0) out[pos++] = (acc << (8 - nacc)) & 0xff;
  return out.subarray(0, pos);
}
