/**
 * The FITS checksum convention (FITS Standard 4.0, Appendix J): DATASUM is the 32-bit ones-complement
 * sum of the data unit's big-endian 32-bit words (as an unsigned decimal string); CHECKSUM is a
 * 16-character ASCII encoding of the complement of the whole-HDU sum, chosen so that the HDU, CHECKSUM
 * card included, sums to negative zero (0xFFFFFFFF).
 */

import { endianness } from 'node:os';
import { assembleModule, FunctionBuilder, I32, op, V128, v } from '../wasm/assembler.ts';

const M = 0xffffffff;
const LE = endianness() === 'LE';

/*
 * How the sum is computed without reading bytes one by one. A data word is big-endian: bytes
 * A B C D make w = A·2²⁴ + B·2¹⁶ + C·2⁸ + D, and the ones-complement sum is Σw modulo 2³² − 1
 * (end-around carry). Read little-endian, the same bytes give x = A + B·2⁸ + C·2¹⁶ + D·2²⁴, and
 *   P = Σ (x & 0x00FF00FF) = ΣA + 2¹⁶·ΣC,   Q = Σ ((x >>> 8) & 0x00FF00FF) = ΣB + 2¹⁶·ΣD.
 * Since 2³² ≡ 1 (mod 2³² − 1): 2²⁴·P ≡ 2²⁴ΣA + 2⁸ΣC and 2¹⁶·Q ≡ 2¹⁶ΣB + ΣD, so Σw ≡ 2²⁴P + 2¹⁶Q,
 * and a multiplication by 2^k modulo 2³² − 1 is a rotation by k bits. P and Q are plain sums: two
 * masks, a shift and two adds per word (four words per instruction in the WebAssembly kernel), exact
 * in doubles below 2⁵³ (2 GB of data).
 */

/** Words summed per int32 run: 128 · 0x00FF00FF < 2³¹. */
const RUN = 128;

/** P and Q (see above) of the little-endian words w[0..n). */
function sumsJs(w: Int32Array, n: number): [number, number] {
  let p = 0;
  let q = 0;
  for (let s = 0; s < n; s += RUN) {
    const e = Math.min(n, s + RUN);
    let a = 0;
    let b = 0;
    for (let i = s; i < e; i++) {
      const x = w[i];
      a += x & 0xff00ff;
      b += (x >>> 8) & 0xff00ff;
    }
    p += a;
    q += b;
  }
  return [p, q];
}

/** sum(ptr, nvec): adds P and Q of nvec 16-byte vectors at ptr to the doubles at addresses 0 and 8. */
function sumModule(): Uint8Array<ArrayBuffer> {
  const f = new FunctionBuilder('sum', [['ptr', I32], ['nvec', I32]], []);
  f.locals(I32, 'end', 'runEnd').locals(V128, 'MASK', 'x', 'a', 'b', 'pa', 'pb');
  const lanes = (x: string) => [...f.get(x), ...v.i64x2ExtractLane(0), ...f.get(x), ...v.i64x2ExtractLane(1), ...op.i64add, ...op.f64convertI64U];
  const widen = (acc: string, into: string) => [
    ...f.get(into), ...f.get(acc), ...v.i64x2ExtendLowI32x4U, ...v.i64x2Add, ...f.get(acc), ...v.i64x2ExtendHighI32x4U, ...v.i64x2Add, ...f.set(into),
  ];
  const code = [
    ...op.i32const(0xff00ff), ...v.i32x4Splat, ...f.set('MASK'),
    ...f.get('ptr'), ...f.get('nvec'), ...op.i32const(4), ...op.i32shl, ...op.i32add, ...f.set('end'),
    ...op.block, ...op.loop,
    ...f.get('ptr'), ...f.get('end'), ...op.i32geU, ...op.brIf(1),
    // a run of at most RUN vectors in 32-bit lanes, then widened into 64-bit lanes
    ...f.get('ptr'), ...op.i32const(RUN * 16), ...op.i32add, ...f.get('end'), ...f.get('ptr'), ...op.i32const(RUN * 16), ...op.i32add, ...f.get('end'), ...op.i32ltU, ...op.select, ...f.set('runEnd'),
    ...op.i64const(0), ...v.i64x2Splat, ...f.tee('a'), ...f.set('b'),
    ...op.block, ...op.loop,
    ...f.get('ptr'), ...f.get('runEnd'), ...op.i32geU, ...op.brIf(1),
    ...f.get('ptr'), ...v.load(), ...f.set('x'),
    ...f.get('a'), ...f.get('x'), ...f.get('MASK'), ...v.and, ...v.i32x4Add, ...f.set('a'),
    ...f.get('b'), ...f.get('x'), ...op.i32const(8), ...v.i32x4ShrU, ...f.get('MASK'), ...v.and, ...v.i32x4Add, ...f.set('b'),
    ...f.get('ptr'), ...op.i32const(16), ...op.i32add, ...f.set('ptr'),
    ...op.br(0),
    ...op.end, ...op.end,
    ...widen('a', 'pa'), ...widen('b', 'pb'),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.i32const(0), ...op.i32const(0), ...op.f64load(0), ...lanes('pa'), ...op.f64add, ...op.f64store(0),
    ...op.i32const(0), ...op.i32const(0), ...op.f64load(8), ...lanes('pb'), ...op.f64add, ...op.f64store(8),
  ];
  return assembleModule([{ fn: f, code }]);
}

/** Bytes per chunk copied into the kernel's memory (stays in L2 between the copy and the sum). */
const CHUNK = 1 << 16;
let kernel: { sum: (ptr: number, nvec: number) => void; mem: WebAssembly.Memory } | null | undefined;

function sumKernel() {
  if (kernel === undefined) {
    kernel = null;
    if (process.env.GFT_FITS_NO_WASM !== '1' && LE) {
      try {
        const mem = new WebAssembly.Memory({ initial: Math.ceil((16 + CHUNK) / 65536) + 1 });
        const inst = new WebAssembly.Instance(new WebAssembly.Module(sumModule()), { env: { mem } });
        kernel = { sum: inst.exports.sum as (ptr: number, nvec: number) => void, mem };
      } catch {
        kernel = null; // no WebAssembly SIMD: JavaScript
      }
    }
  }
  return kernel;
}

/**
 * Ones-complement sum of `bytes` (length a multiple of 4, as block-padded FITS units are; trailing
 * bytes beyond a multiple of 4 are ignored), continuing from `seed`. 0 only when everything summed
 * is 0; otherwise in [1, 2³² − 1] (end-around carry never returns to 0).
 */
export function onesSum(bytes: Uint8Array, seed = 0): number {
  const n = bytes.length & ~3;
  let p = 0;
  let q = 0;
  const k = n >= 4096 ? sumKernel() : null;
  if (k) {
    const f64 = new Float64Array(k.mem.buffer, 0, 2);
    const u8 = new Uint8Array(k.mem.buffer);
    f64[0] = 0;
    f64[1] = 0;
    const whole = n & ~15;
    let off = 0;
    while (off < whole) {
      const len = Math.min(CHUNK, whole - off);
      u8.set(bytes.subarray(off, off + len), 16);
      k.sum(16, len >> 4);
      off += len;
    }
    p = f64[0];
    q = f64[1];
    if (off < n) {
      const [tp, tq] = sumsJs(wordsOf(bytes.subarray(off, n)), (n - off) >> 2);
      p += tp;
      q += tq;
    }
  } else if (n) {
    [p, q] = sumsJs(wordsOf(bytes.subarray(0, n)), n >> 2);
  }
  if (seed === 0 && p === 0 && q === 0) return 0;
  const pm = p % M;
  const qm = q % M;
  const t = (seed + (((pm << 24) | (pm >>> 8)) >>> 0) + (((qm << 16) | (qm >>> 16)) >>> 0)) % M;
  return t === 0 ? M : t;
}

/** Little-endian 32-bit words of `b` (length a multiple of 4): a view when aligned on a little-endian host, else a copy in word order. */
function wordsOf(b: Uint8Array): Int32Array {
  if (LE && b.byteOffset % 4 === 0) return new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
  const w = new Int32Array(b.length >> 2);
  for (let i = 0, j = 0; j < w.length; i += 4, j++) w[j] = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
  return w;
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
