/**
 * The FITS checksum convention (FITS Standard 4.0, Appendix J): DATASUM is the 32-bit ones-complement
 * sum of the data unit's big-endian 32-bit words (as an unsigned decimal string); CHECKSUM is a
 * 16-character ASCII encoding of the complement of the whole-HDU sum, chosen so that the HDU, CHECKSUM
 * card included, sums to negative zero (0xFFFFFFFF).
 */

/**
 * Ones-complement sum of `bytes` (length a multiple of 4, as block-padded FITS units are), continuing
 * from `seed`. The high and low 16-bit halves are accumulated separately in doubles (exact far beyond
 * any file size) and their carries folded at the end.
 */
export function onesSum(bytes: Uint8Array, seed = 0): number {
  let hi = Math.floor(seed / 65536);
  let lo = seed % 65536;
  const n = bytes.length & ~3;
  // Chunked so the int32 accumulators cannot overflow: 16384 words · 65535 < 2^31.
  for (let start = 0; start < n; start += 65536) {
    const end = Math.min(n, start + 65536);
    let h = 0;
    let l = 0;
    for (let i = start; i < end; i += 4) {
      h += (bytes[i] << 8) | bytes[i + 1];
      l += (bytes[i + 2] << 8) | bytes[i + 3];
    }
    hi += h;
    lo += l;
  }
  for (;;) {
    const hc = Math.floor(hi / 65536);
    const lc = Math.floor(lo / 65536);
    if (hc === 0 && lc === 0) break;
    hi = (hi % 65536) + lc;
    lo = (lo % 65536) + hc;
  }
  return hi * 65536 + lo;
}

/** Ones-complement addition of two 32-bit sums. */
export function addSums(a: number, b: number): number {
  let s = a + b;
  while (s > 0xffffffff) s = (s % 0x100000000) + 1;
  return s;
}

const EXCLUDED = [0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60];

/**
 * Encodes a 32-bit value as 16 characters of [0-9A-Za-z] (Appendix J.2): each byte is spread over four
 * characters offset from '0' (so that an all-'0' placeholder sums to the value's contribution), pairs
 * are nudged away from punctuation, and the string is rotated right by one character.
 * With `complement`, the ones-complement of `value` is encoded (what CHECKSUM stores).
 */
export function encodeChecksum(value: number, complement = true): string {
  const v = complement ? ~value >>> 0 : value >>> 0;
  const asc = new Array<number>(16);
  for (let i = 0; i < 4; i++) {
    const byte = (v >>> (24 - 8 * i)) & 0xff;
    const quotient = (byte >> 2) + 0x30;
    const ch = [quotient + (byte & 3), quotient, quotient, quotient];
    let changed = true;
    while (changed) {
      changed = false;
      for (const ex of EXCLUDED) {
        for (let j = 0; j < 4; j += 2) {
          if (ch[j] === ex || ch[j + 1] === ex) {
            ch[j]++;
            ch[j + 1]--;
            changed = true;
          }
        }
      }
    }
    for (let j = 0; j < 4; j++) asc[4 * j + i] = ch[j];
  }
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(asc[(i + 15) % 16]);
  return s;
}

export const NEGATIVE_ZERO = 0xffffffff;
