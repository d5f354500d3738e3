/**
 * Bulk conversion between FITS big-endian pixel bytes and physical values.
 * Decoding copies the bytes into a typed array, swaps them in place with Buffer.swap16/32/64 (native),
 * then scales in one loop: no per-pixel allocation, no DataView calls.
 */
import { endianness } from 'node:os';
import { FitsError } from './errors.ts';

const LE = endianness() === 'LE';

/**
 * Output arrays whose every element the caller overwrites: uninitialised memory (malloc, not calloc),
 * which the C allocator can recycle from freed images without page-faulting fresh zeroed pages — in
 * this kind of VM a fresh 13 MB array costs more to fault in than to decode. Plain ArrayBuffers.
 */
export function allocFloat32(n: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}
export function allocFloat64(n: number): Float64Array {
  return new Float64Array(Buffer.allocUnsafeSlow(n * 8).buffer, 0, n);
}

export type Raw = Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** Big-endian bytes → native typed array of the raw stored values (copies). */
export function rawFromBytes(bytes: Uint8Array, bitpix: number, n: number): Raw {
  const need = n * (Math.abs(bitpix) / 8);
  if (bytes.length < need) throw new FitsError('TRUNCATED', `pixel data holds ${bytes.length} bytes, ${need} expected`);
  switch (bitpix) {
    case 8:
      return bytes.subarray(0, n);
    case 16: {
      const a = new Int16Array(n);
      const u = new Uint8Array(a.buffer);
      u.set(bytes.subarray(0, need));
      if (LE) Buffer.from(a.buffer).swap16();
      return a;
    }
    case 32:
    case -32: {
      const a = bitpix === 32 ? new Int32Array(n) : new Float32Array(n);
      new Uint8Array(a.buffer).set(bytes.subarray(0, need));
      if (LE) Buffer.from(a.buffer).swap32();
      return a;
    }
    case -64: {
      const a = new Float64Array(n);
      new Uint8Array(a.buffer).set(bytes.subarray(0, need));
      if (LE) Buffer.from(a.buffer).swap64();
      return a;
    }
    default:
      throw new FitsError('UNSUPPORTED', `BITPIX ${bitpix} images are not supported`);
  }
}

/**
 * Reads a plain image's data unit straight into the memory of its physical-value array and converts
 * in place: the raw big-endian values are loaded into the top of the output buffer, byte-swapped
 * natively, then widened front to back (a write never overtakes an unread raw value). One allocation,
 * one pass, no intermediate copy.
 */
export function decodeImageInto(
  readInto: (target: Uint8Array) => number,
  bitpix: number,
  n: number,
  bzero = 0,
  bscale = 1,
  blank?: number,
): Float32Array | Float64Array {
  const bytes = Math.abs(bitpix) / 8;
  const out = bitpix === 32 || bitpix === -64 ? allocFloat64(n) : allocFloat32(n);
  const outBytes = out.byteLength;
  const rawOff = outBytes - n * bytes;
  const target = new Uint8Array(out.buffer, rawOff, n * bytes);
  const got = readInto(target);
  if (got < target.length) throw new FitsError('TRUNCATED', `pixel data holds ${got} bytes, ${target.length} expected`);
  const useBlank = bitpix > 0 && blank !== undefined && Number.isInteger(blank);
  const swap = Buffer.from(out.buffer, rawOff, n * bytes);
  switch (bitpix) {
    case 8: {
      const raw = target;
      const o = out as Float32Array;
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else for (let i = 0; i < n; i++) o[i] = raw[i] * bscale + bzero;
      return o;
    }
    case 16: {
      if (LE) swap.swap16();
      const raw = new Int16Array(out.buffer, rawOff, n);
      const o = out as Float32Array;
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else for (let i = 0; i < n; i++) o[i] = raw[i] * bscale + bzero;
      return o;
    }
    case 32: {
      if (LE) swap.swap32();
      const raw = new Int32Array(out.buffer, rawOff, n);
      const o = out as Float64Array;
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else for (let i = 0; i < n; i++) o[i] = raw[i] * bscale + bzero;
      return o;
    }
    case -32:
    case -64: {
      if (LE) bitpix === -32 ? swap.swap32() : swap.swap64();
      if (bzero !== 0 || bscale !== 1) for (let i = 0; i < n; i++) out[i] = out[i] * bscale + bzero;
      return out;
    }
    default:
      throw new FitsError('UNSUPPORTED', `BITPIX ${bitpix} images are not supported`);
  }
}

/**
 * Raw stored values → physical values (BZERO + BSCALE·raw); integer BLANK values become NaN.
 * Float32Array for BITPIX 8/16/-32, Float64Array for 32/-64. May return `raw` itself for unscaled floats.
 */
export function physical(raw: Raw, bitpix: number, bzero = 0, bscale = 1, blank?: number): Float32Array | Float64Array {
  const n = raw.length;
  const plain = bzero === 0 && bscale === 1;
  if (bitpix === -32 || bitpix === -64) {
    const f = raw as Float32Array | Float64Array;
    if (plain) return f;
    for (let i = 0; i < n; i++) f[i] = f[i] * bscale + bzero;
    return f;
  }
  const out = bitpix === 32 ? new Float64Array(n) : new Float32Array(n);
  const useBlank = blank !== undefined && Number.isInteger(blank);
  if (plain && !useBlank) {
    out.set(raw);
    return out;
  }
  if (!useBlank) {
    if (bscale === 1) for (let i = 0; i < n; i++) out[i] = raw[i] + bzero;
    else for (let i = 0; i < n; i++) out[i] = raw[i] * bscale + bzero;
    return out;
  }
  const b = blank as number;
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    out[i] = v === b ? NaN : v * bscale + bzero;
  }
  return out;
}

export const INT_RANGE: Record<number, [number, number]> = {
  8: [0, 255],
  16: [-32768, 32767],
  32: [-2147483648, 2147483647],
};

/** Preferred BLANK for NaN pixels written in an integer image (another is chosen if a pixel uses it). */
export const DEFAULT_BLANK: Record<number, number> = { 8: 255, 16: -32768, 32: -2147483648 };

/** A stored value that no finite pixel uses, for BLANK: the type's minimum, maximum, or the first free one. */
function unusedValue(a: Uint8Array | Int16Array | Int32Array, data: ArrayLike<number>, bitpix: number): number {
  const [lo, hi] = INT_RANGE[bitpix];
  const used = (x: number) => {
    for (let i = 0; i < a.length; i++) if (a[i] === x && data[i] === data[i]) return true;
    return false;
  };
  const pref = DEFAULT_BLANK[bitpix];
  if (!used(pref)) return pref;
  const other = pref === lo ? hi : lo;
  if (!used(other)) return other;
  if (bitpix === 32) {
    for (let x = lo + 1; x < lo + 1_000_000; x++) if (!used(x)) return x;
    throw new FitsError('BAD_VALUE', 'no stored value is free for BLANK');
  }
  const seen = new Uint8Array(hi - lo + 1);
  for (let i = 0; i < a.length; i++) if (data[i] === data[i]) seen[a[i] - lo] = 1;
  const free = seen.indexOf(0);
  if (free < 0) throw new FitsError('BAD_VALUE', `every BITPIX ${bitpix} value is used by a pixel: NaN cannot be written as BLANK`);
  return free + lo;
}

/**
 * Physical values → big-endian bytes of `bitpix`, quantised as round((v - bzero) / bscale) and clamped
 * to the type's range for integers. NaN becomes `blank` for integers (the caller writes BLANK).
 * Returns the bytes and whether any NaN was met.
 */
export function encodePixels(
  data: ArrayLike<number>,
  bitpix: number,
  bzero = 0,
  bscale = 1,
  blank?: number,
): { bytes: Buffer; hasNaN: boolean; blank?: number } {
  const n = data.length;
  let hasNaN = false;
  if (bitpix === -32 || bitpix === -64) {
    const a = bitpix === -32 ? new Float32Array(n) : new Float64Array(n);
    if (bzero === 0 && bscale === 1) {
      if (ArrayBuffer.isView(data) || Array.isArray(data)) a.set(data as ArrayLike<number>);
      else for (let i = 0; i < n; i++) a[i] = data[i];
    } else for (let i = 0; i < n; i++) a[i] = (data[i] - bzero) / bscale;
    const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    if (LE) bitpix === -32 ? bytes.swap32() : bytes.swap64();
    return { bytes, hasNaN: false };
  }
  const range = INT_RANGE[bitpix];
  if (!range) throw new FitsError('BAD_VALUE', `cannot write BITPIX ${bitpix}`);
  const [lo, hi] = range;
  const a = bitpix === 8 ? new Uint8Array(n) : bitpix === 16 ? new Int16Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (v !== v) {
      hasNaN = true;
      continue;
    }
    let q = Math.round(bscale === 1 ? v - bzero : (v - bzero) / bscale);
    if (q < lo) q = lo;
    else if (q > hi) q = hi;
    a[i] = q;
  }
  let usedBlank: number | undefined;
  if (hasNaN) {
    usedBlank = blank ?? unusedValue(a, data, bitpix);
    for (let i = 0; i < n; i++) if (data[i] !== data[i]) a[i] = usedBlank;
  }
  const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (LE) {
    if (bitpix === 16) bytes.swap16();
    else if (bitpix === 32) bytes.swap32();
  }
  return { bytes, hasNaN, blank: usedBlank };
}
