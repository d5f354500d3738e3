/**
 * RICE_1 decoding of 16-bit tiles in WebAssembly — the same algorithm as riceDecode16 (rice.ts), hand
 * assembled here into a ~400-byte module (no toolchain, no dependency). V8 runs it about twice as fast as
 * the JavaScript version: no bounds checks on loads (guard pages), no type checks, plain i32 registers.
 *
 * The module owns one growable memory: [0, scratch) holds the current tile's physical values (f32),
 * then the compressed data unit is read straight into it. Tiles are decoded into the scratch area and
 * copied into the caller's image with TypedArray.set (a memcpy). The memory is kept between calls so
 * repeated reads do not page-fault it again; `releaseRiceWasm()` drops it.
 *
 * Exported function: rice16(src, end, dst, npix, nblock, bscale: f64, bzero: f64) → the stream position
 * after the tile (a valid tile ends within 4 bytes of `end`), or −1 if it runs past `end + 8`.
 */

// ---- a tiny assembler --------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const I32 = 0x7f;
const F64 = 0x7c;
const F32 = 0x7d;

const PARAMS = ['p', 'end', 'o', 'npix', 'nblock', 'bscale', 'bzero'] as const;
const PARAM_TYPES = [I32, I32, I32, I32, I32, F64, F64];
const LOCALS_I32 = ['w', 'avail', 'last', 'oend', 'omax', 'fs', 'lowShift', 'z', 'diff', 'nzero', 'limit'] as const;
const LOCALS_F32 = ['fv'] as const;
type Name = (typeof PARAMS)[number] | (typeof LOCALS_I32)[number] | (typeof LOCALS_F32)[number];
const index = new Map<Name, number>([...PARAMS, ...LOCALS_I32, ...LOCALS_F32].map((n, i) => [n as Name, i]));

const get = (n: Name) => [0x20, ...uleb(index.get(n) as number)];
const set = (n: Name) => [0x21, ...uleb(index.get(n) as number)];
const i32 = (v: number) => [0x41, ...sleb(v)];
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
  load8u: (offset: number) => [0x2d, 0x00, ...uleb(offset)],
  f32store: [0x38, 0x02, 0x00],
  eqz: [0x45],
  ne: [0x47],
  ltS: [0x48],
  ltU: [0x49],
  geU: [0x4f],
  eq: [0x46],
  clz: [0x67],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  and: [0x71],
  or: [0x72],
  xor: [0x73],
  shl: [0x74],
  shrS: [0x75],
  shrU: [0x76],
  f64add: [0xa0],
  f64mul: [0xa2],
  f64fromI32: [0xb7],
  f32demote: [0xb6],
};

/** ((c[p] << 8) | c[p+1]) */
const two = () => [...get('p'), ...op.load8u(0), ...i32(8), ...op.shl, ...get('p'), ...op.load8u(1), ...op.or];
/** p += 2 */
const advance = () => [...get('p'), ...i32(2), ...op.add, ...set('p')];
/** if (avail < 16) { w |= two << (16 - avail); p += 2; avail += 16 } */
const refill = () => [
  ...get('avail'), ...i32(16), ...op.ltS, ...op.if,
  ...get('w'), ...two(), ...i32(16), ...get('avail'), ...op.sub, ...op.shl, ...op.or, ...set('w'),
  ...advance(),
  ...get('avail'), ...i32(16), ...op.add, ...set('avail'),
  ...op.end,
];
/** last = ((last + ((diff >>> 1) ^ -(diff & 1))) << 16) >> 16 */
const accumulate = () => [
  ...get('last'),
  ...get('diff'), ...i32(1), ...op.shrU,
  ...i32(0), ...get('diff'), ...i32(1), ...op.and, ...op.sub,
  ...op.xor, ...op.add,
  ...i32(16), ...op.shl, ...i32(16), ...op.shrS, ...set('last'),
];
/** *(f32*)o = f32(last * bscale + bzero); o += 4 */
const store = () => [
  ...get('o'),
  ...get('last'), ...op.f64fromI32, ...get('bscale'), ...op.f64mul, ...get('bzero'), ...op.f64add, ...op.f32demote,
  ...op.f32store,
  ...get('o'), ...i32(4), ...op.add, ...set('o'),
];
/** while (o < omax) { body } — as block/loop with the test at the top. */
const whileBelowOmax = (body: number[]) => [
  ...op.block, ...op.loop,
  ...get('o'), ...get('omax'), ...op.geU, ...op.brIf(1),
  ...body,
  ...op.br(0),
  ...op.end, ...op.end,
];

function body(): number[] {
  const code = [
    // limit = end + 8; last = two; p += 2; oend = o + 4·npix; w = avail = 0
    ...get('end'), ...i32(8), ...op.add, ...set('limit'),
    ...two(), ...set('last'), ...advance(),
    ...get('o'), ...get('npix'), ...i32(2), ...op.shl, ...op.add, ...set('oend'),
    ...op.block, // $done
    ...op.loop, // $blocks
    ...get('o'), ...get('oend'), ...op.geU, ...op.brIf(1),
    ...refill(),
    // fs = (w >>> 28) − 1; w <<= 4; avail −= 4
    ...get('w'), ...i32(28), ...op.shrU, ...i32(1), ...op.sub, ...set('fs'),
    ...get('w'), ...i32(4), ...op.shl, ...set('w'),
    ...get('avail'), ...i32(4), ...op.sub, ...set('avail'),
    // omax = min(o + 4·nblock, oend)
    ...get('o'), ...get('nblock'), ...i32(2), ...op.shl, ...op.add, ...set('omax'),
    ...get('omax'), ...get('oend'), ...get('omax'), ...get('oend'), ...op.ltU, ...op.select, ...set('omax'),
    ...get('fs'), ...i32(0), ...op.ltS, ...op.if,
    // low entropy: repeat last
    ...get('last'), ...i32(16), ...op.shl, ...i32(16), ...op.shrS, ...op.f64fromI32, ...get('bscale'), ...op.f64mul, ...get('bzero'), ...op.f64add, ...op.f32demote, ...set('fv'),
    ...whileBelowOmax([...get('o'), ...get('fv'), ...op.f32store, ...get('o'), ...i32(4), ...op.add, ...set('o')]),
    ...op.else,
    ...get('fs'), ...i32(14), ...op.eq, ...op.if,
    // high entropy: raw 16-bit differences
    ...whileBelowOmax([
      ...refill(),
      ...get('w'), ...i32(16), ...op.shrU, ...set('diff'),
      ...get('w'), ...i32(16), ...op.shl, ...set('w'),
      ...get('avail'), ...i32(16), ...op.sub, ...set('avail'),
      ...accumulate(),
      ...store(),
    ]),
    ...op.else,
    ...i32(31), ...get('fs'), ...op.sub, ...set('lowShift'),
    ...whileBelowOmax([
      ...refill(),
      ...i32(0), ...set('nzero'),
      // while (w == 0) { if (p >= limit) return −1; nzero += avail; w = two << 16; p += 2; avail = 16 }
      ...op.block, ...op.loop,
      ...get('w'), ...op.brIf(1),
      ...get('p'), ...get('limit'), ...op.geU, ...op.if, ...i32(-1), ...op.return, ...op.end,
      ...get('nzero'), ...get('avail'), ...op.add, ...set('nzero'),
      ...two(), ...i32(16), ...op.shl, ...set('w'),
      ...advance(),
      ...i32(16), ...set('avail'),
      ...op.br(0),
      ...op.end, ...op.end,
      // z = clz(w); nzero += z; w = (w << z) << 1; avail −= z + 1
      ...get('w'), ...op.clz, ...set('z'),
      ...get('nzero'), ...get('z'), ...op.add, ...set('nzero'),
      ...get('w'), ...get('z'), ...op.shl, ...i32(1), ...op.shl, ...set('w'),
      ...get('avail'), ...get('z'), ...i32(1), ...op.add, ...op.sub, ...set('avail'),
      ...refill(),
      // diff = (nzero << fs) | ((w >>> 1) >>> lowShift); w <<= fs; avail −= fs
      ...get('nzero'), ...get('fs'), ...op.shl, ...get('w'), ...i32(1), ...op.shrU, ...get('lowShift'), ...op.shrU, ...op.or, ...set('diff'),
      ...get('w'), ...get('fs'), ...op.shl, ...set('w'),
      ...get('avail'), ...get('fs'), ...op.sub, ...set('avail'),
      ...accumulate(),
      ...store(),
    ]),
    ...op.end, // if fs == 14
    ...op.end, // if fs < 0
    ...op.br(0),
    ...op.end, // loop $blocks
    ...op.end, // block $done
    ...get('p'),
    ...op.end,
  ];
  const locals = [...uleb(2), ...uleb(LOCALS_I32.length), I32, ...uleb(LOCALS_F32.length), F32];
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, [1, 0x60, ...uleb(PARAM_TYPES.length), ...PARAM_TYPES, 1, I32]);
  const func = section(3, [1, 0]);
  const memory = section(5, [1, 0x00, 1]);
  const exp = section(7, [2, ...str('rice16'), 0x00, 0, ...str('mem'), 0x02, 0]);
  const code = section(10, [1, ...body()]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exp, ...code]);
}

// ---- runtime ------------------------------------------------------------------------------------

interface Rice16 {
  decode(src: number, end: number, dst: number, npix: number, nblock: number, bscale: number, bzero: number): number;
  memory: WebAssembly.Memory;
}

let compiled: WebAssembly.Module | null | undefined;
let inst: Rice16 | undefined;

function instance(): Rice16 | undefined {
  if (inst) return inst;
  if (compiled === null) return undefined;
  try {
    if (compiled === undefined) compiled = new WebAssembly.Module(moduleBytes());
    const i = new WebAssembly.Instance(compiled, {});
    const e = i.exports as { rice16: Rice16['decode']; mem: WebAssembly.Memory };
    inst = { decode: e.rice16, memory: e.mem };
    return inst;
  } catch {
    compiled = null; // no WebAssembly here: callers fall back to JavaScript
    return undefined;
  }
}

/** Whether the WebAssembly decoder can be used (set GFT_FITS_NO_WASM=1 to force the JS decoder). */
export function riceWasmAvailable(): boolean {
  if (process.env.GFT_FITS_NO_WASM === '1') return false;
  return instance() !== undefined;
}

/**
 * A workspace in the module's memory: `scratch` bytes for one tile's f32 values, then `data` bytes
 * (plus slack) for the compressed data unit. Views are valid until the next call.
 */
export function riceWasmWorkspace(scratchBytes: number, dataBytes: number): { scratch: Float32Array; data: Uint8Array; dataBase: number; decode: Rice16['decode'] } {
  const w = instance();
  if (!w) throw new Error('WebAssembly is not available');
  const scratch = Math.ceil(scratchBytes / 16) * 16;
  const need = scratch + dataBytes + 64;
  const have = w.memory.buffer.byteLength;
  if (need > have) w.memory.grow(Math.ceil((need - have) / 65536));
  const buf = w.memory.buffer;
  return { scratch: new Float32Array(buf, 0, scratchBytes / 4), data: new Uint8Array(buf, scratch, dataBytes), dataBase: scratch, decode: w.decode };
}

/** Drops the module's memory (it is re-created on the next use). */
export function releaseRiceWasm(): void {
  inst = undefined;
}
