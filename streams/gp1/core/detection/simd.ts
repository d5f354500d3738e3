/**
 * WebAssembly SIMD kernels for detection's row pass (detect.ts), hand assembled here (no toolchain,
 * no dependency), four pixels per instruction in float32:
 *
 * - subRow(data, weight, mask, back, sub, bad, n, ignore, hard) → number of unusable pixels:
 *   sub = data − back, or 0 where the pixel is unusable (NaN, weight ≤ 0, a mask bit in `ignore`);
 *   bad = 0 usable, 1 unusable, 2 unusable with a mask bit in `hard`. 16 pixels per step (n is
 *   rounded up by the caller: rows are padded).
 * - h7 / h9(src, dst, n, t0…t4): the horizontal pass of the matched filter over x in [4, n − 4) in
 *   steps of 4 (the last step may write up to x = n − 2, a border pixel nobody reads from the ring),
 *   symmetric 7- or 9-tap kernel: t0·s[x] + t1·(s[x−1] + s[x+1]) + …
 * - v7 / v9(rows…, dst, n, t0…t4): the vertical pass from 7 or 9 ring rows into dst over x in
 *   [0, n) in steps of 4 (up to 3 pixels past n: the next row's, written again later; the caller
 *   fills the ring's first and last 4 columns with the truncated, renormalised horizontal pass).
 * - above(filt, rms, out, n, thr): out = 255 where filt > thr · rms (the detection threshold), else 0,
 *   16 pixels per step; runs of 255 are then found with the native indexOf.
 * - lerp(a, b, out, n, f): out = a·(1 − f) + b·f — a row of the background or RMS map from two
 *   rows of its mesh grid interpolated along x.
 * - gather and hist (scalar): the background meshes' usable pixels and their histogram
 *   (background.ts), exactly as the JavaScript computes them (float64 bins).
 *
 * The same expressions as filter.ts's RowConvolver, in float32 instead of float64 before the float32
 * store: values agree to a few units in the last place. Every pointer is a byte offset into the
 * memory given at instantiation. Null (callers use the JavaScript path) when WebAssembly or its SIMD
 * is unavailable, or GFT_DETECT_NO_WASM=1.
 */

import { F32, F64, I32, V128, name as str, section, sleb, uleb } from '../../../../lib/wasm/assembler.ts';

// ---- code building (encoding primitives: lib/wasm/assembler.ts) ------------------------------

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const simd = (op: number) => [0xfd, ...uleb(op)];
/** memarg: alignment hint 2^2 (loads may be unaligned), then the constant byte offset. */
const load = (offset = 0) => [...simd(0x00), 2, ...uleb(offset)];
const store = (offset = 0) => [...simd(0x0b), 2, ...uleb(offset)];
const OP = {
  i32add: [0x6a],
  i32mul: [0x6c],
  i32ltS: [0x48],
  i32x4Splat: simd(0x11),
  f32x4Splat: simd(0x13),
  i32x4Extract: (lane: number) => [...simd(0x1b), lane],
  i32x4Eq: simd(0x37),
  i32x4Ne: simd(0x38),
  f32x4Eq: simd(0x41),
  f32x4Gt: simd(0x44),
  and: simd(0x4e),
  andNot: simd(0x4f),
  i8x16NarrowS: simd(0x65),
  i8x16NarrowU: simd(0x66),
  i16x8NarrowS: simd(0x85),
  i16x8NarrowU: simd(0x86),
  i32x4Add: simd(0xae),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  i32x4TruncSatF32x4S: simd(0xf8),
};

/** for (x = start; x < limit; x += step) body — x in local `x`, limit in local `lim`. */
function forLoop(x: number, start: number[], lim: number, step: number, body: number[]): number[] {
  return [
    ...start, ...set(x),
    0x02, 0x40, 0x03, 0x40, // block loop
    ...get(x), ...get(lim), ...OP.i32ltS, 0x45, 0x0d, 1, // br_if !(x < lim) → out
    ...body,
    ...get(x), ...i32c(step), ...OP.i32add, ...set(x),
    0x0c, 0, // br loop
    0x0b, 0x0b,
  ];
}

interface Fn {
  params: number[];
  results: number[];
  locals: number[];
  code: number[];
}

/** subRow: see module comment. Params 0 data, 1 weight, 2 mask, 3 back, 4 sub, 5 bad (byte pointers), 6 n, 7 ignore, 8 hard. */
function subRowFn(): Fn {
  const [dataP, weightP, maskP, backP, subP, badP, n, ignore, hard] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // locals
  const x = 9, i = 10, cnt = 11, vIgn = 12, vHard = 13, one = 14, zero = 15, v = 16, m = 17, ok = 18;
  const c = [19, 20, 21, 22];
  const group = (g: number): number[] => [
    // v = data, m = int(mask)
    ...get(dataP), ...get(i), ...OP.i32add, ...load(16 * g), ...set(v),
    ...get(maskP), ...get(i), ...OP.i32add, ...load(16 * g), ...OP.i32x4TruncSatF32x4S, ...set(m),
    // ok = (v == v) & (weight > 0) & ((m & ignore) == 0)
    ...get(v), ...get(v), ...OP.f32x4Eq,
    ...get(weightP), ...get(i), ...OP.i32add, ...load(16 * g), ...get(zero), ...OP.f32x4Gt, ...OP.and,
    ...get(m), ...get(vIgn), ...OP.and, ...get(zero), ...OP.i32x4Eq, ...OP.and,
    ...set(ok),
    // sub = (v − back) & ok
    ...get(subP), ...get(i), ...OP.i32add,
    ...get(v), ...get(backP), ...get(i), ...OP.i32add, ...load(16 * g), ...OP.f32x4Sub, ...get(ok), ...OP.and,
    ...store(16 * g),
    // code = (1 & ~ok) + ((1 & ~ok) & (m & hard ≠ 0))
    ...get(one), ...get(ok), ...OP.andNot,
    ...get(one), ...get(ok), ...OP.andNot, ...get(m), ...get(vHard), ...OP.and, ...get(zero), ...OP.i32x4Ne, ...OP.and,
    ...OP.i32x4Add, ...set(c[g]),
    ...get(cnt), ...get(one), ...get(ok), ...OP.andNot, ...OP.i32x4Add, ...set(cnt),
  ];
  const body = [
    ...group(0), ...group(1), ...group(2), ...group(3),
    // bad[x .. x+16) = narrow(c0..c3)
    ...get(badP), ...get(x), ...OP.i32add,
    ...get(c[0]), ...get(c[1]), ...OP.i16x8NarrowU, ...get(c[2]), ...get(c[3]), ...OP.i16x8NarrowU, ...OP.i8x16NarrowU,
    ...store(0),
    ...get(i), ...i32c(64), ...OP.i32add, ...set(i),
  ];
  const code = [
    ...get(ignore), ...OP.i32x4Splat, ...set(vIgn),
    ...get(hard), ...OP.i32x4Splat, ...set(vHard),
    ...i32c(1), ...OP.i32x4Splat, ...set(one),
    ...i32c(0), ...OP.i32x4Splat, ...set(zero),
    ...get(zero), ...set(cnt),
    ...i32c(0), ...set(i),
    ...forLoop(x, i32c(0), n, 16, body),
    ...get(cnt), ...OP.i32x4Extract(0), ...get(cnt), ...OP.i32x4Extract(1), ...OP.i32add,
    ...get(cnt), ...OP.i32x4Extract(2), ...OP.i32add, ...get(cnt), ...OP.i32x4Extract(3), ...OP.i32add,
  ];
  return { params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32], locals: [I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128], code };
}

/** h(src, dst, n, t0..th): horizontal symmetric taps, h = 3 or 4. */
function hFn(h: number): Fn {
  const src = 0, dst = 1, n = 2, t0 = 3; // t0 … t_h at 3 … 3 + h
  const x = 4 + h, lim = 5 + h, base = 6 + h;
  const vt = (k: number) => 7 + h + k; // splatted taps
  // s at byte offset (x − h)·4 + 4j for j = 0 … 2h
  const at = (j: number) => [...get(base), ...load(4 * j)];
  let acc = [...get(vt(0)), ...at(h), ...OP.f32x4Mul];
  for (let k = 1; k <= h; k++) acc = [...acc, ...get(vt(k)), ...at(h - k), ...at(h + k), ...OP.f32x4Add, ...OP.f32x4Mul, ...OP.f32x4Add];
  const body = [
    ...get(src), ...get(x), ...i32c(h), 0x6b /* i32.sub */, ...i32c(4), ...OP.i32mul, ...OP.i32add, ...set(base),
    ...get(dst), ...get(x), ...i32c(4), ...OP.i32mul, ...OP.i32add,
    ...acc,
    ...store(0),
  ];
  const code: number[] = [];
  for (let k = 0; k <= h; k++) code.push(...get(t0 + k), ...OP.f32x4Splat, ...set(vt(k)));
  code.push(...get(n), ...i32c(4), 0x6b, ...set(lim), ...forLoop(x, i32c(4), lim, 4, body));
  return { params: [I32, I32, I32, ...Array(h + 1).fill(F32)], results: [], locals: [I32, I32, I32, ...Array(h + 1).fill(V128)], code };
}

/** v(r_{−h} … r_{+h}, dst, n, t0..th): vertical symmetric taps over 2h + 1 row pointers. */
function vFn(h: number): Fn {
  const K = 2 * h + 1;
  const dst = K, n = K + 1, t0 = K + 2;
  const x = t0 + h + 1, lim = x + 1, off = x + 2;
  const vt = (k: number) => off + 1 + k;
  const at = (row: number) => [...get(row), ...get(off), ...OP.i32add, ...load(0)];
  let acc = [...get(vt(0)), ...at(h), ...OP.f32x4Mul];
  for (let k = 1; k <= h; k++) acc = [...acc, ...get(vt(k)), ...at(h - k), ...at(h + k), ...OP.f32x4Add, ...OP.f32x4Mul, ...OP.f32x4Add];
  const body = [
    ...get(x), ...i32c(4), ...OP.i32mul, ...set(off),
    ...get(dst), ...get(off), ...OP.i32add,
    ...acc,
    ...store(0),
  ];
  const code: number[] = [];
  for (let k = 0; k <= h; k++) code.push(...get(t0 + k), ...OP.f32x4Splat, ...set(vt(k)));
  code.push(...get(n), ...set(lim), ...forLoop(x, i32c(0), lim, 4, body));
  return { params: [...Array(K).fill(I32), I32, I32, ...Array(h + 1).fill(F32)], results: [], locals: [I32, I32, I32, ...Array(h + 1).fill(V128)], code };
}

/** above(filt, rms, out, n, thr): out[x] = 255 where filt[x] > thr · rms[x], else 0; 16 pixels per step. */
function aboveFn(): Fn {
  const filt = 0, rms = 1, out = 2, n = 3, thr = 4;
  const x = 5, i = 6, vt = 7;
  const g = (k: number) => [...get(filt), ...get(i), ...OP.i32add, ...load(16 * k), ...get(rms), ...get(i), ...OP.i32add, ...load(16 * k), ...get(vt), ...OP.f32x4Mul, ...OP.f32x4Gt];
  const body = [
    ...get(out), ...get(x), ...OP.i32add,
    ...g(0), ...g(1), ...OP.i16x8NarrowS, ...g(2), ...g(3), ...OP.i16x8NarrowS, ...OP.i8x16NarrowS,
    ...store(0),
    ...get(i), ...i32c(64), ...OP.i32add, ...set(i),
  ];
  const code = [...get(thr), ...OP.f32x4Splat, ...set(vt), ...i32c(0), ...set(i), ...forLoop(x, i32c(0), n, 16, body)];
  return { params: [I32, I32, I32, I32, F32], results: [], locals: [I32, I32, V128], code };
}

/** lerp(a, b, out, n, f): out = a·(1 − f) + b·f, 16 pixels per step (a row of a separable background map). */
function lerpFn(): Fn {
  const a = 0, b = 1, out = 2, n = 3, f = 4;
  const x = 5, i = 6, vf = 7, vg = 8;
  const g = (k: number) => [
    ...get(out), ...get(i), ...OP.i32add,
    ...get(a), ...get(i), ...OP.i32add, ...load(16 * k), ...get(vg), ...OP.f32x4Mul,
    ...get(b), ...get(i), ...OP.i32add, ...load(16 * k), ...get(vf), ...OP.f32x4Mul,
    ...OP.f32x4Add, ...store(16 * k),
  ];
  const body = [...g(0), ...g(1), ...g(2), ...g(3), ...get(i), ...i32c(64), ...OP.i32add, ...set(i)];
  const code = [
    ...get(f), ...OP.f32x4Splat, ...set(vf),
    0x43, 0, 0, 0x80, 0x3f, ...get(f), 0x93 /* f32.sub: 1 − f */, ...OP.f32x4Splat, ...set(vg),
    ...i32c(0), ...set(i),
    ...forLoop(x, i32c(0), n, 16, body),
  ];
  return { params: [I32, I32, I32, I32, F32], results: [], locals: [I32, I32, V128, V128], code };
}

const f32load = [0x2a, 2, 0];
const f32store = [0x38, 2, 0];
const i32load = [0x28, 2, 0];
const i32store = [0x36, 2, 0];

/**
 * gather(data, weight, mask, strideBytes, x0, x1, rows, ignore, out) → n: the usable pixels (finite,
 * weight > 0, no mask bit in `ignore`) of columns [x0, x1) of `rows` rows of a band of row buffers,
 * copied in order to out (branch-free: every pixel is stored, the cursor advances on usable ones;
 * out needs one slot of slack).
 */
function gatherFn(): Fn {
  const data = 0, weight = 1, mask = 2, stride = 3, x0 = 4, x1 = 5, rows = 6, ignore = 7, out = 8;
  const y = 9, p = 10, pe = 11, q = 12, v = 13;
  const inner = [
    0x02, 0x40, 0x03, 0x40,
    ...get(p), ...get(pe), 0x49 /* i32.lt_u */, 0x45, 0x0d, 1,
    ...get(data), ...get(p), ...OP.i32add, ...f32load, ...set(v),
    ...get(q), ...get(v), ...f32store,
    ...get(v), ...get(v), 0x5b, // f32.eq
    ...get(weight), ...get(p), ...OP.i32add, ...f32load, 0x43, 0, 0, 0, 0, 0x5e, // f32.gt 0
    0x71,
    ...get(mask), ...get(p), ...OP.i32add, ...f32load, 0xfc, 0x00, // i32.trunc_sat_f32_s
    ...get(ignore), 0x71, 0x45, // (m & ignore) == 0
    0x71,
    ...i32c(2), 0x74, // ok << 2
    ...get(q), ...OP.i32add, ...set(q),
    ...get(p), ...i32c(4), ...OP.i32add, ...set(p),
    0x0c, 0,
    0x0b, 0x0b,
  ];
  const rowBody = [
    ...get(y), ...get(stride), ...OP.i32mul, ...get(x0), ...i32c(2), 0x74, ...OP.i32add, ...set(p),
    ...get(y), ...get(stride), ...OP.i32mul, ...get(x1), ...i32c(2), 0x74, ...OP.i32add, ...set(pe),
    ...inner,
  ];
  const code = [
    ...get(out), ...set(q),
    ...forLoop(y, i32c(0), rows, 1, rowBody),
    ...get(q), ...get(out), 0x6b, ...i32c(2), 0x76, // (q − out) >> 2
  ];
  return { params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32], locals: [I32, I32, I32, I32, F32], code };
}

/**
 * hist(buf, n, lo, scale, hist, nbins): hist[(v − lo)·scale] += 1 for the n float32 values of buf
 * whose bin falls in [0, nbins), in float64 as fillHistogram (background.ts) computes it.
 */
function histFn(): Fn {
  const buf = 0, n = 1, lo = 2, scale = 3, hist = 4, nbins = 5;
  const e = 6, u = 7, a = 8;
  const code = [
    ...get(buf), ...get(n), ...i32c(2), 0x74, ...OP.i32add, ...set(e),
    0x02, 0x40, 0x03, 0x40,
    ...get(buf), ...get(e), 0x49, 0x45, 0x0d, 1,
    ...get(buf), ...f32load, 0xbb /* f64.promote_f32 */, ...get(lo), 0xa1 /* f64.sub */, ...get(scale), 0xa2 /* f64.mul */, ...set(u),
    ...get(u), 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x66 /* f64.ge 0 */,
    ...get(u), ...get(nbins), 0xb7 /* f64.convert_i32_s */, 0x63 /* f64.lt */,
    0x71,
    0x04, 0x40, // if
    ...get(hist), ...get(u), 0xaa /* i32.trunc_f64_s */, ...i32c(2), 0x74, ...OP.i32add, ...set(a),
    ...get(a), ...get(a), ...i32load, ...i32c(1), ...OP.i32add, ...i32store,
    0x0b,
    ...get(buf), ...i32c(4), ...OP.i32add, ...set(buf),
    0x0c, 0,
    0x0b, 0x0b,
  ];
  return { params: [I32, I32, F64, F64, I32, I32], results: [], locals: [I32, F64, I32], code };
}



function moduleBytes(fns: Array<[string, Fn]>): Uint8Array<ArrayBuffer> {
  const types: number[] = [fns.length];
  for (const [, f] of fns) types.push(0x60, ...uleb(f.params.length), ...f.params, ...uleb(f.results.length), ...f.results);
  const funcs = [fns.length, ...fns.map((_, i) => i)];
  const exps: number[] = [fns.length];
  fns.forEach(([name], i) => exps.push(...str(name), 0x00, i));
  const bodies: number[] = [fns.length];
  for (const [, f] of fns) {
    // locals grouped by runs of one type
    const groups: number[] = [];
    const runs: Array<[number, number]> = [];
    for (const t of f.locals) {
      if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
      else runs.push([1, t]);
    }
    groups.push(...uleb(runs.length));
    for (const [k, t] of runs) groups.push(...uleb(k), t);
    const fn = [...groups, ...f.code, 0x0b];
    bodies.push(...uleb(fn.length), ...fn);
  }
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const imp = section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, 1]);
  return new Uint8Array([...header, ...section(1, types), ...imp, ...section(3, funcs), ...section(7, exps), ...section(10, bodies)]);
}

// ---- runtime ----------------------------------------------------------------------------------------

export interface RowKernels {
  memory: WebAssembly.Memory;
  subRow(data: number, weight: number, mask: number, back: number, sub: number, bad: number, n: number, ignore: number, hard: number): number;
  h7(src: number, dst: number, n: number, t0: number, t1: number, t2: number, t3: number): void;
  h9(src: number, dst: number, n: number, t0: number, t1: number, t2: number, t3: number, t4: number): void;
  v7(a: number, b: number, c: number, d: number, e: number, f: number, g: number, dst: number, n: number, t0: number, t1: number, t2: number, t3: number): void;
  v9(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, dst: number, n: number, t0: number, t1: number, t2: number, t3: number, t4: number): void;
  above(filt: number, rms: number, out: number, n: number, thr: number): void;
  gather(data: number, weight: number, mask: number, strideBytes: number, x0: number, x1: number, rows: number, ignore: number, out: number): number;
  hist(buf: number, n: number, lo: number, scale: number, hist: number, nbins: number): void;
  lerp(a: number, b: number, out: number, n: number, f: number): void;
}

let kernels: RowKernels | null | undefined;

/** The kernels on their own memory (one per thread), or null when WebAssembly SIMD is unavailable or disabled. */
export function rowKernels(): RowKernels | null {
  if (process.env.GFT_DETECT_NO_WASM === '1') return null;
  if (kernels !== undefined) return kernels;
  try {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const bytes = moduleBytes([['subRow', subRowFn()], ['h7', hFn(3)], ['h9', hFn(4)], ['v7', vFn(3)], ['v9', vFn(4)], ['above', aboveFn()], ['gather', gatherFn()], ['hist', histFn()], ['lerp', lerpFn()]]);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } });
    kernels = { memory, ...(inst.exports as unknown as Omit<RowKernels, 'memory'>) };
  } catch {
    kernels = null; // no WebAssembly or no SIMD here: the JavaScript path
  }
  return kernels;
}

/** Drops the kernels and their memory (it only ever grows); the next call makes new ones. */
export function releaseRowKernels(): void {
  kernels = undefined;
}

/**
 * Frame-size buffers in the kernels' memory for a width × height frame: sub, filt (float32) and bad
 * (uint8), each padded so that the kernels' 16-pixel steps may run past a row's end; four row buffers
 * (data, weight, mask, background; rows padded to a multiple of 16 with usable values); a ring of
 * `ringRows` rows for the filter's horizontal pass. Byte offsets and views; the memory grows when a
 * frame needs more (earlier views are then detached: take them from the latest layout only).
 */
export interface WasmFrame {
  width: number;
  height: number;
  /** Row stride of the row buffers and the ring, pixels (a multiple of 16, ≥ width + 16). */
  stride: number;
  sub: Float32Array;
  filt: Float32Array;
  bad: Uint8Array;
  dataRow: Float32Array;
  weightRow: Float32Array;
  maskRow: Float32Array;
  backRow: Float32Array;
  rmsRow: Float32Array;
  aboveRow: Uint8Array;
  /** Background and RMS mesh rows interpolated along x (`meshRows` rows of `stride`), for lerp. */
  meshBack: Float32Array;
  meshRms: Float32Array;
  /** The ring, `ringRows` rows of `stride`. */
  ring: Float32Array;
  ptr: { sub: number; filt: number; bad: number; data: number; weight: number; mask: number; back: number; rms: number; above: number; ring: number; meshBack: number; meshRms: number };
}

const PAD = 64;

export function wasmFrame(k: RowKernels, width: number, height: number, ringRows: number, meshRows = 0): WasmFrame | null {
  const N = width * height;
  const stride = Math.ceil((width + 16) / 16) * 16;
  const align = (b: number) => Math.ceil(b / 64) * 64;
  let at = 64;
  const take = (bytes: number) => {
    const p = at;
    at = align(at + bytes);
    return p;
  };
  const ptr = {
    sub: take(4 * (N + PAD)),
    filt: take(4 * (N + PAD)),
    bad: take(N + 4 * PAD),
    data: take(4 * stride),
    weight: take(4 * stride),
    mask: take(4 * stride),
    back: take(4 * stride),
    rms: take(4 * stride),
    above: take(stride),
    ring: take(4 * stride * ringRows + 4 * PAD),
    meshBack: take(4 * stride * meshRows),
    meshRms: take(4 * stride * meshRows),
  };
  const have = k.memory.buffer.byteLength;
  try {
    if (at > have) k.memory.grow(Math.ceil((at - have) / 65536));
  } catch {
    return null; // beyond what WebAssembly memory can hold: the JavaScript path
  }
  const buf = k.memory.buffer;
  const f = (p: number, n: number) => new Float32Array(buf, p, n);
  const rowsView = (p: number) => f(p, stride);
  const dataRow = rowsView(ptr.data), weightRow = rowsView(ptr.weight), maskRow = rowsView(ptr.mask), backRow = rowsView(ptr.back);
  // the padding of each row is a usable pixel of value 0, so that it counts nowhere
  dataRow.fill(0, width);
  weightRow.fill(1, width);
  maskRow.fill(0, width);
  backRow.fill(0, width);
  const rmsRow = rowsView(ptr.rms);
  rmsRow.fill(1, width);
  return { width, height, stride, sub: f(ptr.sub, N), filt: f(ptr.filt, N), bad: new Uint8Array(buf, ptr.bad, N), dataRow, weightRow, maskRow, backRow, rmsRow, aboveRow: new Uint8Array(buf, ptr.above, stride), meshBack: f(ptr.meshBack, stride * meshRows), meshRms: f(ptr.meshRms, stride * meshRows), ring: f(ptr.ring, stride * ringRows), ptr };
}

/**
 * Buffers for the background meshes in the kernels' memory: a band of `bandRows` rows of data,
 * weight and mask (row stride `stride` pixels), the gathered pixels of one mesh, a histogram of
 * `nbins` bins. Null when the memory cannot grow.
 */
export interface WasmBand {
  stride: number;
  data: Float32Array;
  weight: Float32Array;
  mask: Float32Array;
  buf: Float32Array;
  hist: Int32Array;
  ptr: { data: number; weight: number; mask: number; buf: number; hist: number };
}

export function wasmBand(k: RowKernels, width: number, bandRows: number, meshPixels: number, nbins: number): WasmBand | null {
  const stride = Math.ceil(width / 16) * 16;
  const align = (b: number) => Math.ceil(b / 64) * 64;
  let at = 64;
  const take = (bytes: number) => {
    const p = at;
    at = align(at + bytes);
    return p;
  };
  const ptr = { data: take(4 * stride * bandRows), weight: take(4 * stride * bandRows), mask: take(4 * stride * bandRows), buf: take(4 * (meshPixels + 16)), hist: take(4 * nbins) };
  const have = k.memory.buffer.byteLength;
  try {
    if (at > have) k.memory.grow(Math.ceil((at - have) / 65536));
  } catch {
    return null;
  }
  const b = k.memory.buffer;
  return {
    stride,
    data: new Float32Array(b, ptr.data, stride * bandRows),
    weight: new Float32Array(b, ptr.weight, stride * bandRows),
    mask: new Float32Array(b, ptr.mask, stride * bandRows),
    buf: new Float32Array(b, ptr.buf, meshPixels + 16),
    hist: new Int32Array(b, ptr.hist, nbins),
    ptr,
  };
}
