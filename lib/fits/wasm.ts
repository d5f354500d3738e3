/**
 * Two small WebAssembly kernels, hand assembled here (no toolchain, no dependency), sharing one memory
 * that is kept between reads so its pages stay mapped (in a VM, faulting in fresh pages costs more than
 * the decoding itself):
 *
 * - rice16(a, end, dst, npix, nblock, bscale: f64, bzero: f64): RICE_1 decoding of one 16-bit tile
 *   into f32 physical values at `dst` — the algorithm of riceDecode16 (rice.ts), about twice as fast:
 *   no bounds checks on loads, plain registers, a 64-bit bit window refilled 32 bits at a time. The
 *   compressed bytes must have been byte-swapped in 32-bit words first (swapData), so that little-endian
 *   loads at 4-aligned addresses return the stream's next 32 bits. Returns the read position after the
 *   tile (a valid tile ends within 12 bytes of `end`: the window reads ahead), or −1 when a run of zero
 *   bits goes past `end + 8` (corrupt tile).
 * - flip16(ptr, end): SIMD pass over big-endian 16-bit integers: swap each pair of bytes and flip the
 *   sign bit, turning BZERO = 32768 stored values into native uint16 physical values in place.
 *
 * Callers fall back to the JavaScript code when WebAssembly (or SIMD) is unavailable, or when the
 * environment variable GFT_FITS_NO_WASM=1 is set.
 */

import { F32, F64, I32, I64, name as str, section, sleb, uleb } from '../wasm/assembler.ts';

// ---- code building (encoding primitives: lib/wasm/assembler.ts) ------------------------------

// rice16(a, end, dst, npix, nblock, bscale, bzero) → position after the tile, or −1.
// The heap has been byte-swapped in 32-bit words beforehand (Buffer.swap32), so i64.load32_u at a
// 4-aligned address yields the next 32 stream bits in order; the bit window `w` is 64 bits wide,
// left-aligned (next bit = bit 63), holding `avail` valid bits, refilled 32 bits at a time.
const PARAMS = ['a', 'end', 'o', 'npix', 'nblock', 'bscale', 'bzero'] as const;
const PARAM_TYPES = [I32, I32, I32, I32, I32, F64, F64];
const LOCALS_I32 = ['q', 'last', 'oend', 'omax', 'diff', 'limit'] as const;
const LOCALS_I64 = ['w', 'avail', 'fs', 'lowShift', 'z', 'nzero'] as const;
const LOCALS_F32 = ['fv'] as const;
type Name = (typeof PARAMS)[number] | (typeof LOCALS_I32)[number] | (typeof LOCALS_I64)[number] | (typeof LOCALS_F32)[number];
const index = new Map<Name, number>([...PARAMS, ...LOCALS_I32, ...LOCALS_I64, ...LOCALS_F32].map((n, i) => [n as Name, i]));

const get = (n: Name) => [0x20, ...uleb(index.get(n) as number)];
const set = (n: Name) => [0x21, ...uleb(index.get(n) as number)];
const i32 = (v: number) => [0x41, ...sleb(v)];
const i64 = (v: number) => [0x42, ...sleb(v)];
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  return: [0x0f],
  select: [0x1b],
  load32u64: [0x35, 0x02, 0x00],
  f32store: [0x38, 0x02, 0x00],
  eq: [0x46],
  ltS: [0x48],
  ltU: [0x49],
  geU: [0x4f],
  eqz: [0x45],
  eqz64: [0x50],
  ltS64: [0x53],
  add: [0x6a],
  sub: [0x6b],
  and: [0x71],
  xor: [0x73],
  shl: [0x74],
  shrS: [0x75],
  shrU: [0x76],
  clz64: [0x79],
  add64: [0x7c],
  sub64: [0x7d],
  or64: [0x84],
  shl64: [0x86],
  shrU64: [0x88],
  wrap: [0xa7],
  extendU: [0xad],
  f64add: [0xa0],
  f64mul: [0xa2],
  f64fromI32: [0xb7],
  f32demote: [0xb6],
};

/** if (avail < 32) { w |= load32(q) << (32 − avail); q += 4; avail += 32 } */
const refill = () => [
  ...get('avail'), ...i64(32), ...op.ltS64, ...op.if,
  ...get('w'), ...get('q'), ...op.load32u64, ...i64(32), ...get('avail'), ...op.sub64, ...op.shl64, ...op.or64, ...set('w'),
  ...get('q'), ...i32(4), ...op.add, ...set('q'),
  ...get('avail'), ...i64(32), ...op.add64, ...set('avail'),
  ...op.end,
];
/** take n bits (i64 amount on the stack producer `amount`): w <<= n; avail −= n */
const consume = (amount: number[]) => [
  ...get('w'), ...amount, ...op.shl64, ...set('w'),
  ...get('avail'), ...amount, ...op.sub64, ...set('avail'),
];
/** last = ((last + ((diff >>> 1) ^ −(diff & 1))) << 16) >> 16 */
const accumulate = () => [
  ...get('last'),
  ...get('diff'), ...i32(1), ...op.shrU,
  ...i32(0), ...get('diff'), ...i32(1), ...op.and, ...op.sub,
  ...op.xor, ...op.add,
  ...i32(16), ...op.shl, ...i32(16), ...op.shrS, ...set('last'),
];
/** *(f32*)o = f32(last · bscale + bzero); o += 4 */
const store = () => [
  ...get('o'),
  ...get('last'), ...op.f64fromI32, ...get('bscale'), ...op.f64mul, ...get('bzero'), ...op.f64add, ...op.f32demote,
  ...op.f32store,
  ...get('o'), ...i32(4), ...op.add, ...set('o'),
];
const whileBelowOmax = (body: number[]) => [
  ...op.block, ...op.loop,
  ...get('o'), ...get('omax'), ...op.geU, ...op.brIf(1),
  ...body,
  ...op.br(0),
  ...op.end, ...op.end,
];

function body(): number[] {
  const code = [
    ...get('end'), ...i32(8), ...op.add, ...set('limit'),
    // q = a & ~3, then skip (a & 3)·8 bits
    ...get('a'), ...i32(-4), ...op.and, ...set('q'),
    ...refill(),
    ...consume([...get('a'), ...i32(3), ...op.and, ...i32(3), ...op.shl, ...op.extendU]),
    // the first pixel: 16 raw bits
    ...refill(),
    ...get('w'), ...i64(48), ...op.shrU64, ...op.wrap, ...set('last'),
    ...consume(i64(16)),
    ...get('o'), ...get('npix'), ...i32(2), ...op.shl, ...op.add, ...set('oend'),
    ...op.block, // $done
    ...op.loop, // $blocks
    ...get('o'), ...get('oend'), ...op.geU, ...op.brIf(1),
    ...refill(),
    // fs = (w >>> 60) − 1
    ...get('w'), ...i64(60), ...op.shrU64, ...i64(1), ...op.sub64, ...set('fs'),
    ...consume(i64(4)),
    // omax = min(o + 4·nblock, oend)
    ...get('o'), ...get('nblock'), ...i32(2), ...op.shl, ...op.add, ...set('omax'),
    ...get('omax'), ...get('oend'), ...get('omax'), ...get('oend'), ...op.ltU, ...op.select, ...set('omax'),
    ...get('fs'), ...i64(0), ...op.ltS64, ...op.if,
    // low entropy: the block repeats the last value
    ...get('last'), ...i32(16), ...op.shl, ...i32(16), ...op.shrS, ...op.f64fromI32, ...get('bscale'), ...op.f64mul, ...get('bzero'), ...op.f64add, ...op.f32demote, ...set('fv'),
    ...whileBelowOmax([...get('o'), ...get('fv'), ...op.f32store, ...get('o'), ...i32(4), ...op.add, ...set('o')]),
    ...op.else,
    ...get('fs'), ...op.wrap, ...i32(14), ...op.eq, ...op.if,
    // high entropy: raw 16-bit differences
    ...whileBelowOmax([
      ...refill(),
      ...get('w'), ...i64(48), ...op.shrU64, ...op.wrap, ...set('diff'),
      ...consume(i64(16)),
      ...accumulate(),
      ...store(),
    ]),
    ...op.else,
    ...i64(63), ...get('fs'), ...op.sub64, ...set('lowShift'),
    ...whileBelowOmax([
      ...refill(),
      ...i64(0), ...set('nzero'),
      // while (w == 0) { if (q >= limit) return −1; nzero += avail; w = load32(q) << 32; q += 4; avail = 32 }
      ...op.block, ...op.loop,
      ...get('w'), ...op.eqz64, ...op.eqz, ...op.brIf(1),
      ...get('q'), ...get('limit'), ...op.geU, ...op.if, ...i32(-1), ...op.return, ...op.end,
      ...get('nzero'), ...get('avail'), ...op.add64, ...set('nzero'),
      ...get('q'), ...op.load32u64, ...i64(32), ...op.shl64, ...set('w'),
      ...get('q'), ...i32(4), ...op.add, ...set('q'),
      ...i64(32), ...set('avail'),
      ...op.br(0),
      ...op.end, ...op.end,
      // z = clz(w); nzero += z; w = (w << z) << 1; avail −= z + 1
      ...get('w'), ...op.clz64, ...set('z'),
      ...get('nzero'), ...get('z'), ...op.add64, ...set('nzero'),
      ...get('w'), ...get('z'), ...op.shl64, ...i64(1), ...op.shl64, ...set('w'),
      ...get('avail'), ...get('z'), ...i64(1), ...op.add64, ...op.sub64, ...set('avail'),
      ...refill(),
      // diff = (nzero << fs) | ((w >>> 1) >>> lowShift); w <<= fs; avail −= fs
      ...get('nzero'), ...get('fs'), ...op.shl64, ...get('w'), ...i64(1), ...op.shrU64, ...get('lowShift'), ...op.shrU64, ...op.or64, ...op.wrap, ...set('diff'),
      ...consume(get('fs')),
      ...accumulate(),
      ...store(),
    ]),
    ...op.end, // if fs == 14
    ...op.end, // if fs < 0
    ...op.br(0),
    ...op.end, // loop $blocks
    ...op.end, // block $done
    ...get('q'),
    ...op.end,
  ];
  const locals = [...uleb(3), ...uleb(LOCALS_I32.length), I32, ...uleb(LOCALS_I64.length), I64, ...uleb(LOCALS_F32.length), F32];
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}



const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** import "env" "mem": a memory of at least one page */
const importMemory = () => section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, 1]);

function riceModule(): Uint8Array<ArrayBuffer> {
  const type = section(1, [1, 0x60, ...uleb(PARAM_TYPES.length), ...PARAM_TYPES, 1, I32]);
  const func = section(3, [1, 0]);
  const exp = section(7, [1, ...str('rice16'), 0x00, 0]);
  const code = section(10, [1, ...body()]);
  return new Uint8Array([...HEADER, ...type, ...importMemory(), ...func, ...exp, ...code]);
}

/** flip16(ptr, end): for (; ptr < end; ptr += 16) v128[ptr] = shuffle(v, bytes 1,0,3,2,…) ^ 0x8000 per lane */
function flipModule(): Uint8Array<ArrayBuffer> {
  const simd = (opcode: number) => [0xfd, ...uleb(opcode)];
  const V128 = 0x7b;
  const lget = (i: number) => [0x20, i];
  const lset = (i: number) => [0x21, i];
  const swapLanes = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14];
  const mask = [0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80, 0x00, 0x80];
  const code = [
    0x02, 0x40, 0x03, 0x40, // block loop
    ...lget(0), ...lget(1), 0x4f, 0x0d, 1, // br_if (ptr >= end) → out
    ...lget(0), // address for the store
    ...lget(0), ...simd(0x00), 4, 0, ...lset(2), // v = v128.load(ptr)
    ...lget(2), ...lget(2), ...simd(0x0d), ...swapLanes, // i8x16.shuffle(v, v)
    ...simd(0x0c), ...mask, // v128.const
    ...simd(0x51), // v128.xor
    ...simd(0x0b), 4, 0, // v128.store
    ...lget(0), 0x41, 16, 0x6a, ...lset(0), // ptr += 16
    0x0c, 0, // br loop
    0x0b, 0x0b, // end loop, end block
    0x0b,
  ];
  const fn = [1, 1, V128, ...code];
  const type = section(1, [1, 0x60, 2, I32, I32, 0]);
  const func = section(3, [1, 0]);
  const exp = section(7, [1, ...str('flip16'), 0x00, 0]);
  const body = section(10, [1, ...uleb(fn.length), ...fn]);
  return new Uint8Array([...HEADER, ...type, ...importMemory(), ...func, ...exp, ...body]);
}

// ---- runtime ------------------------------------------------------------------------------------

type RiceFn = (a: number, end: number, dst: number, npix: number, nblock: number, bscale: number, bzero: number) => number;
type FlipFn = (ptr: number, end: number) => void;

let memory: WebAssembly.Memory | null | undefined;
let rice: RiceFn | null | undefined;
let flip: FlipFn | null | undefined;

function disabled(): boolean {
  return process.env.GFT_FITS_NO_WASM === '1';
}

function mem(): WebAssembly.Memory | null {
  if (memory === undefined) {
    try {
      memory = new WebAssembly.Memory({ initial: 1 });
    } catch {
      memory = null;
    }
  }
  return memory;
}

function load<T>(bytes: () => Uint8Array<ArrayBuffer>, name: string): T | null {
  const m = mem();
  if (!m) return null;
  try {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes()), { env: { mem: m } });
    return inst.exports[name] as T;
  } catch {
    return null; // no WebAssembly (or no SIMD) here: callers fall back to JavaScript
  }
}

function riceFn(): RiceFn | null {
  if (disabled()) return null;
  if (rice === undefined) rice = load<RiceFn>(riceModule, 'rice16');
  return rice;
}

function flipFn(): FlipFn | null {
  if (disabled()) return null;
  if (flip === undefined) flip = load<FlipFn>(flipModule, 'flip16');
  return flip;
}

/** Makes the shared memory at least `bytes` long; returns its (current) buffer, or null if it cannot grow. */
function reserve(bytes: number): ArrayBuffer | null {
  const m = mem();
  if (!m) return null;
  const have = m.buffer.byteLength;
  try {
    if (bytes > have) m.grow(Math.ceil((bytes - have) / 65536));
  } catch {
    return null; // beyond what WebAssembly memory can hold: the JavaScript path takes over
  }
  return m.buffer;
}

/** Whether the WebAssembly RICE decoder can be used. */
export function riceWasmAvailable(): boolean {
  return riceFn() !== null;
}

/**
 * A workspace in the shared memory: `scratch` bytes for one tile's f32 values, then `data` bytes
 * (plus slack) for the compressed data unit. Views are valid until the next call into this module.
 * Undefined when WebAssembly is unavailable or the memory cannot grow that far.
 */
export function riceWasmWorkspace(
  scratchBytes: number,
  dataBytes: number,
): { scratch: Float32Array; data: Uint8Array; dataBase: number; decode: RiceFn; swapData(): void } | undefined {
  const decode = riceFn();
  if (!decode) return undefined;
  const scratch = Math.ceil(scratchBytes / 16) * 16;
  const buf = reserve(scratch + dataBytes + 64);
  if (!buf) return undefined;
  return {
    scratch: new Float32Array(buf, 0, scratchBytes / 4),
    data: new Uint8Array(buf, scratch, dataBytes),
    dataBase: scratch,
    decode,
    // 32-bit byte swap of the data (and some slack) so that little-endian loads read stream order
    swapData: () => {
      Buffer.from(buf, scratch, Math.ceil((dataBytes + 16) / 4) * 4).swap32();
    },
  };
}

/**
 * `bytes` of reusable scratch memory at offset 0 of the shared memory, and — when SIMD is available — a
 * function turning big-endian BZERO = 32768 16-bit values in it into native uint16 in place.
 * Null without WebAssembly.
 */
export function wasmScratch(bytes: number): { buffer: ArrayBuffer; flipUnsigned16: ((nbytes: number) => void) | null } | null {
  if (disabled() || !mem()) return null;
  const buffer = reserve(Math.ceil(bytes / 16) * 16 + 16);
  if (!buffer) return null;
  const f = flipFn();
  return { buffer, flipUnsigned16: f ? (nbytes: number) => f(0, nbytes) : null };
}

/** Drops the shared memory (it is re-created, empty, on the next use). */
export function releaseWasm(): void {
  memory = undefined;
  rice = undefined;
  flip = undefined;
}
