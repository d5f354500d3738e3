/**
 * Bulk conversion between FITS big-endian pixel bytes and physical values: native byte swaps
 * (Buffer.swap16/32/64 or a WebAssembly SIMD pass), native widening (TypedArray.prototype.set), one
 * scaling loop only when needed; no per-pixel allocation, no DataView calls.
 */
import { endianness } from 'node:os';
import { FitsError } from './errors.ts';
import { outputBuffer } from './prefault.ts';
import { wasmScratch } from './wasm.ts';

const LE = endianness() === 'LE';

/**
 * Output arrays whose every element the caller overwrites: uninitialised memory (malloc, not calloc),
 * which the C allocator can recycle from freed images without page-faulting fresh zeroed pages — in
 * this kind of VM a fresh 13 MB array costs more to fault in than to decode. Big ones come
 * page-faulted in advance by a helper thread when it has one ready (prefault.ts). Plain ArrayBuffers.
 */
export function allocFloat32(n: number): Float32Array {
  return new Float32Array(outputBuffer(n * 4), 0, n);
}
export function allocFloat64(n: number): Float64Array {
  return new Float64Array(outputBuffer(n * 8), 0, n);
}

/** Reused buffer for raw integer pixels without WebAssembly (kept so its pages stay mapped). */
let scratch: ArrayBuffer | undefined;
const SCRATCH_MAX = 256 << 20;

/** Drops the reusable raw-pixel buffer (it is re-created on the next read). */
export function releaseScratch(): void {
  scratch = undefined;
}

/**
 * Reads a plain image's data unit and converts it to physical values.
 * Integer pixels are read into a reused scratch buffer (already mapped: no page faults), byte-swapped
 * natively, and widened into the output with TypedArray.prototype.set (native, vectorised); floats are
 * read straight into the output and swapped in place. Images above 256 MB of raw data are read into the
 * top of the output buffer instead and widened in place.
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
  const rawBytes = n * bytes;
  let rawBuf: ArrayBuffer = out.buffer as ArrayBuffer;
  let rawOff = out.byteLength - rawBytes;
  let flipUnsigned16: ((nbytes: number) => void) | null = null;
  if (bitpix > 0 && rawBytes <= SCRATCH_MAX) {
    const w = wasmScratch(rawBytes);
    if (w) {
      rawBuf = w.buffer;
      flipUnsigned16 = w.flipUnsigned16;
    } else {
      if (!scratch || scratch.byteLength < rawBytes) scratch = new ArrayBuffer(Math.ceil(rawBytes / 65536) * 65536);
      rawBuf = scratch;
    }
    rawOff = 0;
  }
  const target = new Uint8Array(rawBuf, rawOff, rawBytes);
  const got = readInto(target);
  if (got < target.length) throw new FitsError('TRUNCATED', `pixel data holds ${got} bytes, ${target.length} expected`);
  const useBlank = bitpix > 0 && blank !== undefined && Number.isInteger(blank);
  const swap = Buffer.from(rawBuf, rawOff, rawBytes);
  // Widening uses TypedArray.prototype.set (native; it copies first when source and target share
  // memory), then scales in a JS loop only when BZERO/BSCALE are not the plain or the unsigned-integer
  // convention.
  const scale = (o: Float32Array | Float64Array) => {
    if (bzero !== 0 || bscale !== 1) for (let i = 0; i < n; i++) o[i] = o[i] * bscale + bzero;
    return o;
  };
  switch (bitpix) {
    case 8: {
      const raw = target;
      const o = out as Float32Array;
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else {
        o.set(raw);
        scale(o);
      }
      return o;
    }
    case 16: {
      const o = out as Float32Array;
      if (LE && flipUnsigned16 && !useBlank && bzero === 32768 && bscale === 1) {
        // WebAssembly SIMD: byte swap + sign flip in one pass, then a native widening copy.
        flipUnsigned16(rawBytes);
        o.set(new Uint16Array(rawBuf, rawOff, n));
        return o;
      }
      if (LE) swap.swap16();
      const raw = new Int16Array(rawBuf, rawOff, n);
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else if (bzero === 32768 && bscale === 1) {
        // Unsigned 16-bit: flipping the sign bit turns the stored value into the physical one.
        // Two values per 32-bit word; a value left over at an unaligned start or at the end alone.
        const first = rawOff % 4 === 0 ? 0 : 1;
        if (first) raw[0] ^= -0x8000;
        const npairs = (n - first) >>> 1;
        const pairs = new Uint32Array(rawBuf, rawOff + 2 * first, npairs);
        for (let i = 0; i < npairs; i++) pairs[i] ^= 0x80008000;
        if (first + 2 * npairs < n) raw[n - 1] ^= -0x8000;
        o.set(new Uint16Array(rawBuf, rawOff, n));
      } else {
        o.set(raw);
        scale(o);
      }
      return o;
    }
    case 32: {
      if (LE) swap.swap32();
      const raw = new Int32Array(rawBuf, rawOff, n);
      const o = out as Float64Array;
      if (useBlank) for (let i = 0; i < n; i++) o[i] = raw[i] === blank ? NaN : raw[i] * bscale + bzero;
      else if (bzero === 2147483648 && bscale === 1) {
        for (let i = 0; i < n; i++) raw[i] ^= 0x80000000;
        o.set(new Uint32Array(rawBuf, rawOff, n));
      } else {
        o.set(raw);
        scale(o);
      }
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
 * Float pixels (BITPIX −32 or −64, no scaling) straight into `target` as big-endian bytes: a native
 * widening/narrowing copy (TypedArray.prototype.set) and a native byte swap in place, no intermediate
 * array. `target` must hold exactly data.length × 4 (or 8) bytes; unaligned targets take a copy.
 */
export function encodeFloatInto(data: ArrayLike<number>, bitpix: -32 | -64, target: Uint8Array): void {
  const n = data.length;
  const size = bitpix === -32 ? 4 : 8;
  if (target.length !== n * size) throw new FitsError('BAD_VALUE', `encodeFloatInto: ${target.length} bytes for ${n} values of BITPIX ${bitpix}`);
  if (target.byteOffset % size !== 0) {
    target.set(encodePixels(data, bitpix).bytes);
    return;
  }
  const a = bitpix === -32 ? new Float32Array(target.buffer, target.byteOffset, n) : new Float64Array(target.buffer, target.byteOffset, n);
  if (ArrayBuffer.isView(data) || Array.isArray(data)) a.set(data as ArrayLike<number>);
  else for (let i = 0; i < n; i++) a[i] = data[i];
  if (LE) {
    const bytes = Buffer.from(target.buffer, target.byteOffset, target.byteLength);
    if (bitpix === -32) bytes.swap32();
    else bytes.swap64();
  }
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
