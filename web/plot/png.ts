/**
 * Thumbnails of FITS images as 8-bit grey PNG, server-side: box-downsampled to at most `max` pixels a
 * side, stretched between the 0.5 % and 99.5 % quantiles with an asinh curve (faint sources visible,
 * bright cores not saturated), FITS row 1 at the bottom (as ds9 shows it). The PNG encoder is the
 * minimal one of the PNG spec (ISO/IEC 15948): IHDR, one zlib IDAT with filter 0 per row, IEND.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** 8-bit greyscale PNG of `w × h` pixels, top row first. */
export function encodeGreyPng(pixels: Uint8Array, w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w + 1)] = 0;
    raw.set(pixels.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/** Stretched, downsampled thumbnail of an image (row-major, FITS order: first row = bottom). */
export function thumbnail(data: ArrayLike<number>, width: number, height: number, max = 160): { png: Buffer; width: number; height: number } {
  const f = Math.max(1, Math.ceil(Math.max(width, height) / max));
  const w = Math.max(1, Math.floor(width / f));
  const h = Math.max(1, Math.floor(height / f));
  const small = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let dy = 0; dy < f; dy++) {
        const row = (y * f + dy) * width;
        for (let dx = 0; dx < f; dx++) {
          const v = data[row + x * f + dx];
          if (Number.isFinite(v)) {
            s += v;
            n++;
          }
        }
      }
      small[y * w + x] = n ? s / n : NaN;
    }
  }
  const finite = Array.from(small).filter(Number.isFinite).sort((a, b) => a - b);
  const q = (p: number) => (finite.length ? finite[Math.min(finite.length - 1, Math.floor(p * finite.length))] : 0);
  const lo = q(0.005);
  const hi = q(0.995);
  const span = hi - lo || 1;
  const soft = 0.1; // asinh softening, in units of the stretch range
  const norm = Math.asinh(1 / soft);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      const u = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
      out[(h - 1 - y) * w + x] = Math.round((255 * Math.asinh(u / soft)) / norm);
    }
  }
  return { png: encodeGreyPng(out, w, h), width: w, height: h };
}
