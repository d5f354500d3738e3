/**
 * A tiny WebAssembly assembler for hand-written kernels (no toolchain, no dependency): LEB128
 * immediates, the opcodes the kernels use (scalar and 128-bit SIMD), functions with named locals, and
 * modules that import one memory (`env.mem`) and export their functions.
 *
 * Code is a flat array of bytes built from the helpers, in stack-machine order:
 *   [...f.get('a'), ...f.get('b'), ...op.i32add, ...f.set('c')]     // c = a + b
 *
 * lib/fits/wasm.ts (RICE) and streams/gp1/core/detection/simd.ts build their code with their own
 * opcode tables and local naming, but take the encoding primitives (LEB128, value types, sections,
 * names) from here.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

const simd = (code: number): number[] => [0xfd, ...uleb(code)];
/** memarg: alignment exponent, then the constant byte offset added to the address. */
const memarg = (align: number, offset: number) => [align, ...uleb(offset)];

/** Scalar instructions and control flow. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  return: [0x0f],
  drop: [0x1a],
  select: [0x1b],
  i32const: (v: number) => [0x41, ...sleb(v)],
  /** f64.const 0 */
  f64const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  i64const: (v: number) => [0x42, ...sleb(v)],
  i32load: (offset = 0) => [0x28, ...memarg(2, offset)],
  i32store: (offset = 0) => [0x36, ...memarg(0, offset)],
  f32load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f64load: (offset = 0) => [0x2b, ...memarg(3, offset)],
  f64store: (offset = 0) => [0x39, ...memarg(3, offset)],
  f32store: (offset = 0) => [0x38, ...memarg(2, offset)],
  i32eqz: [0x45],
  i32eq: [0x46],
  i32ne: [0x47],
  i32ltU: [0x49],
  i32geU: [0x4f],
  i64eqz: [0x50],
  f32ne: [0x5c],
  f32gt: [0x5e],
  f32ge: [0x60],
  f64eq: [0x61],
  f64ne: [0x62],
  f64lt: [0x63],
  f64gt: [0x64],
  f64ge: [0x66],
  i32add: [0x6a],
  i32sub: [0x6b],
  i32mul: [0x6c],
  i32and: [0x71],
  i32or: [0x72],
  i32shl: [0x74],
  i32shrU: [0x76],
  i64add: [0x7c],
  f32abs: [0x8b],
  f32add: [0x92],
  f32sub: [0x93],
  f32mul: [0x94],
  f32div: [0x95],
  f64abs: [0x99],
  f64add: [0xa0],
  f64sub: [0xa1],
  f64mul: [0xa2],
  f64div: [0xa3],
  i32wrapI64: [0xa7],
  i64extendI32U: [0xad],
  f32demoteF64: [0xb6],
  f64promoteF32: [0xbb],
  f64convertI64U: [0xba],
};

/** 128-bit SIMD instructions (the 0xfd prefix). Shapes: f64x2 = two doubles, i64x2, f32x4, i32x4, i8x16. */
export const v = {
  load: (offset = 0) => [...simd(0x00), ...memarg(2, offset)],
  store: (offset = 0) => [...simd(0x0b), ...memarg(2, offset)],
  /** i8x16.shuffle: 16 lane indices into the concatenation of the two operands (0–15 first, 16–31 second). */
  shuffle: (lanes: number[]) => {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new Error('shuffle needs 16 lane indices in 0..31');
    return [...simd(0x0d), ...lanes];
  },
  /** Loads 8 bytes into the low half, zeroes the high half. */
  load64Zero: (offset = 0) => [...simd(0x5d), ...memarg(3, offset)],
  /** Stores lane `lane` (8 bytes) of a vector. */
  store64Lane: (lane: number, offset = 0) => [...simd(0x5b), ...memarg(3, offset), lane],
  store16Lane: (lane: number, offset = 0) => [...simd(0x59), ...memarg(1, offset), lane],
  i8x16Add: simd(0x6e),
  i8x16ShrU: simd(0x6d),
  i8x16Splat: simd(0x0f),
  i16x8ExtaddPairwiseI8x16U: simd(0x7d),
  i32x4ExtaddPairwiseI16x8U: simd(0x7f),
  i32x4Add: simd(0xae),
  i32x4Splat: simd(0x11),
  i32x4ShrU: simd(0xad),
  i64x2ExtendLowI32x4U: simd(0xc9),
  i64x2ExtendHighI32x4U: simd(0xca),
  i64x2Splat: simd(0x12),
  f64x2Splat: simd(0x14),
  i32x4ExtractLane: (lane: number) => [...simd(0x1b), lane],
  i64x2ExtractLane: (lane: number) => [...simd(0x1d), lane],
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f32x4Ne: simd(0x42),
  f32x4Gt: simd(0x44),
  f32x4Ge: simd(0x46),
  f32x4Abs: simd(0xe0),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  i32x4Ne: simd(0x38),
  i32x4Sub: simd(0xb1),
  i16x8NarrowI32x4U: simd(0x86),
  i8x16NarrowI16x8U: simd(0x66),
  f64x2Ne: simd(0x48),
  f64x2Gt: simd(0x4a),
  f64x2Ge: simd(0x4c),
  not: simd(0x4d),
  and: simd(0x4e),
  /** a & ~b */
  andNot: simd(0x4f),
  or: simd(0x50),
  anyTrue: simd(0x53),
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2PromoteLowF32x4: simd(0x5f),
  i64x2Add: simd(0xce),
  i64x2Sub: simd(0xd1),
  i64x2Ne: simd(0xd7),
  f64x2Abs: simd(0xec),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2Div: simd(0xf3),
};

/** A function being written: parameters and locals by name. */
export class FunctionBuilder {
  private readonly index = new Map<string, number>();
  private readonly localTypes: ValType[] = [];
  private readonly paramTypes: ValType[] = [];

  constructor(
    readonly name: string,
    params: [string, ValType][],
    readonly results: ValType[],
  ) {
    for (const [n, t] of params) {
      this.index.set(n, this.index.size);
      this.paramTypes.push(t);
    }
  }

  /** Declares locals (all of one type). */
  locals(type: ValType, ...names: string[]): this {
    for (const n of names) {
      if (this.index.has(n)) throw new Error(`${this.name}: local ${n} declared twice`);
      this.index.set(n, this.index.size);
      this.localTypes.push(type);
    }
    return this;
  }

  private at(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`${this.name}: no local ${name}`);
    return i;
  }

  get(name: string): number[] {
    return [0x20, ...uleb(this.at(name))];
  }

  set(name: string): number[] {
    return [0x21, ...uleb(this.at(name))];
  }

  tee(name: string): number[] {
    return [0x22, ...uleb(this.at(name))];
  }

  /** The function type and the encoded body (locals declaration + code + end). */
  encode(code: number[]): { type: number[]; body: number[] } {
    // locals are declared as runs of one type: (count, type)…
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const fn = [...uleb(runs.length), ...runs.flatMap(([n, t]) => [...uleb(n), t]), ...code, ...op.end];
    return {
      type: [0x60, ...uleb(this.paramTypes.length), ...this.paramTypes, ...uleb(this.results.length), ...this.results],
      body: [...uleb(fn.length), ...fn],
    };
  }
}

/** A module section: id, byte length, content. */
export function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A name (import module/field, export): length-prefixed bytes. */
export function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** f64.const as bytes (little-endian IEEE 754). */
export function f64const(x: number): number[] {
  const b = new Uint8Array(new Float64Array([x]).buffer);
  return [0x44, ...b];
}

/**
 * A module importing `env.mem` (a memory of at least one page) and exporting each function under
 * its name. One type per function.
 */
export function assembleModule(funcs: { fn: FunctionBuilder; code: number[] }[]): Uint8Array<ArrayBuffer> {
  const encoded = funcs.map((f) => f.fn.encode(f.code));
  const type = section(1, [...uleb(encoded.length), ...encoded.flatMap((e) => e.type)]);
  const imp = section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]);
  const func = section(3, [...uleb(encoded.length), ...encoded.flatMap((_, i) => uleb(i))]);
  const exp = section(7, [...uleb(funcs.length), ...funcs.flatMap((f, i) => [...name(f.fn.name), 0x00, ...uleb(i)])]);
  const code = section(10, [...uleb(encoded.length), ...encoded.flatMap((e) => e.body)]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...imp, ...func, ...exp, ...code]);
}
