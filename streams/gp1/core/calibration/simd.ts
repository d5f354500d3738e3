/**
 * The per-pixel pass of calibrateFrame (calibrate.ts fusedPass) as a WebAssembly SIMD kernel, hand
 * assembled with lib/wasm/assembler.ts:
 *
 *   calib(raw, bias, dark, flat, image, weight, mask, n, cand, base, counts, zeroBits, …) → cand end
 *
 * over n pixels (a multiple of 16), four per f32x4 vector: the same float32 operations in the same
 * order as the JavaScript (WebAssembly, like JavaScript, never fuses a multiply-add, and Math.fround
 * after each JavaScript operation is float32 arithmetic), so images, weights and masks are
 * bit-identical (simd.test.ts). The mask compares use thresholds rounded to float32 in the direction
 * that keeps them exact (r ≥ sat ⟺ r ≥ ⌈sat⌉₃₂ for a float32 r, …). The list of significant pixels
 * (cosmic-ray and FWHM candidates) is the JavaScript's double-precision test, run on the lanes that
 * pass a float32 superset of it (about 1 pixel in 100); candidates are appended in ascending order.
 *
 * Why: the pass is a handful of float operations on seven arrays; JavaScript runs it one pixel at a
 * time with bounds checks (≈ 22 ms for a 2148x1472 frame here), the kernel in ≈ 8 ms.
 *
 * Memory (one WebAssembly.Memory per thread, kept between frames so its pages stay mapped):
 *   [counts 64 B][raw, image, weight, mask blocks of BLOCK pixels][bias][dark][flat][candidates…]
 * The masters are copied in once and kept while the same arrays (by identity; shared-memory masters
 * by checksum) are passed again — the stage and the CLI pass the same master objects for every frame
 * of a night, and a master's pixels never change once built (its GP1SHA describes them): 12 bytes per
 * pixel of the data section. The raw pixels are copied in block by block (read once from memory) and
 * the outputs copied out while the block is still in cache. Missing masters are filled with their
 * neutral value (bias 0, dark 0, flat 1), which gives the same numbers as the JavaScript without
 * them. Pixels past the data section up to the next multiple of 16 are padded (raw NaN, dark NaN,
 * flat +∞) so that they raise no mask bit, no count and no candidate.
 *
 * Unavailable (calibrate.ts then runs its JavaScript) without WebAssembly SIMD, with
 * GFT_GP1_NO_WASM=1, for float64 raw data (BITPIX 32/−64 frames), or when the memory cannot grow.
 */
import { assembleModule, F64, FunctionBuilder, I32, op, V128, v } from '../../../../lib/wasm/assembler.ts';

/** The inputs of one frame's pass, for this kernel and calibrate.ts's JavaScript alike. */
export interface PassInputs {
  src: Float32Array | Float64Array;
  rawWidth: number;
  /** DATASEC origin (0-based) and size. */
  x0: number;
  y0: number;
  W: number;
  H: number;
  ov: number;
  t: number;
  sat: number;
  hotThr: number;
  lowFlat: number;
  bd: Float32Array | null;
  dd: Float32Array | null;
  fd: Float32Array | null;
}

/** The masters' checksums (MasterImage.sha256), which identify shared-memory masters across messages. */
export type MasterShas = [string | null, string | null, string | null];

export interface PassTerms {
  /** Weight constants, float32 values (calibrate.ts WeightTerms). */
  gt2: number;
  base: number;
  absSkyT: number;
  halfT: number;
  zeroBits: number;
  sky: number;
  k2: number;
  lowPeak: number;
}

/** Pixels per output block: 1.1 MB of outputs, copied out while in cache. A multiple of 16. */
const BLOCK = 1 << 16;

// ---- the kernels ---------------------------------------------------------------------------------

/** float32-valued parameters of calib (splatted to f32x4). */
const SPLATS = ['ov', 't', 'sat', 'hot', 'low', 'gt2', 'wbase', 'askyt', 'halfT', 'sky32', 'lp32', 'k2lo'] as const;

function calibFn() {
  const f = new FunctionBuilder(
    'calib',
    [
      ['pr', I32], ['pb', I32], ['pd', I32], ['pf', I32], ['pimg', I32], ['pw', I32], ['pm', I32], ['n', I32], ['pc', I32], ['base', I32], ['pcount', I32], ['zeroBits', I32],
      ...SPLATS.map((s) => [s, F64] as [string, typeof F64]),
      ['sky', F64], ['k2', F64], ['lowPeak', F64],
    ],
    [I32],
  );
  f.locals(I32, 'i', 'o').locals(F64, 'vk', 'wk', 'ek');
  const S = (s: (typeof SPLATS)[number]) => `S_${s}`;
  f.locals(V128, ...SPLATS.map(S), 'SKY', 'ONE', 'TWO', 'FOUR', 'ZB', 'Z', 'cH', 'cS', 'cL');
  f.locals(V128, 'R', 'B', 'D', 'F', 'mh', 'ms', 'ok', 'm', 'val', 'w', 'e', 'maybe');
  const g = (x: string) => f.get(x);
  const addr = (p: string) => [...f.get(p), ...f.get('o'), ...op.i32add];
  const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  const LOW8 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  /** e = val − sky in double (exact up to 2⁻⁵³), then rounded to float32: 2⁻²⁴ relative, whatever the sky. */
  const eOf = [
    ...g('val'), ...v.f64x2PromoteLowF32x4, ...g('SKY'), ...v.f64x2Sub, ...v.f32x4DemoteF64x2Zero,
    ...g('val'), ...g('val'), ...v.shuffle(HIGH), ...v.f64x2PromoteLowF32x4, ...g('SKY'), ...v.f64x2Sub, ...v.f32x4DemoteF64x2Zero,
    ...v.shuffle(LOW8),
  ];
  /** The exact test of calibrate.ts on lane k, in double: ((e² w > k²) | (val > lowPeak)) & (e > 0); appends base + i + k. */
  const recheck = (k: number) => [
    ...g('maybe'), ...v.i32x4ExtractLane(k), ...op.if,
    ...g('val'), ...v.f32x4ExtractLane(k), ...op.f64promoteF32, ...f.set('vk'),
    ...g('w'), ...v.f32x4ExtractLane(k), ...op.f64promoteF32, ...f.set('wk'),
    ...f.get('vk'), ...f.get('sky'), ...op.f64sub, ...f.set('ek'),
    ...f.get('ek'), ...f.get('ek'), ...op.f64mul, ...f.get('wk'), ...op.f64mul, ...f.get('k2'), ...op.f64gt,
    ...f.get('vk'), ...f.get('lowPeak'), ...op.f64gt, ...op.i32or,
    ...f.get('ek'), ...op.f64const0, ...op.f64gt, ...op.i32and,
    ...op.if,
    ...f.get('pc'), ...f.get('base'), ...f.get('i'), ...op.i32add, ...op.i32const(k), ...op.i32add, ...op.i32store(),
    ...f.get('pc'), ...op.i32const(4), ...op.i32add, ...f.set('pc'),
    ...op.end,
    ...op.end,
  ];
  const lanesSum = (t: string) => [
    ...g(t), ...v.i32x4ExtractLane(0), ...g(t), ...v.i32x4ExtractLane(1), ...op.i32add, ...g(t), ...v.i32x4ExtractLane(2), ...op.i32add, ...g(t), ...v.i32x4ExtractLane(3), ...op.i32add,
  ];
  const addCount = (offset: number, t: string) => [...f.get('pcount'), ...f.get('pcount'), ...op.i32load(offset), ...lanesSum(t), ...op.i32add, ...op.i32store(offset)];
  const code = [
    ...SPLATS.flatMap((s) => [...f.get(s), ...op.f32demoteF64, ...v.f32x4Splat, ...f.set(S(s))]),
    ...f.get('sky'), ...v.f64x2Splat, ...f.set('SKY'),
    ...op.i32const(1), ...v.i32x4Splat, ...f.set('ONE'),
    ...op.i32const(2), ...v.i32x4Splat, ...f.set('TWO'),
    ...op.i32const(4), ...v.i32x4Splat, ...f.set('FOUR'),
    ...f.get('zeroBits'), ...v.i32x4Splat, ...f.set('ZB'),
    ...op.block, ...op.loop,
    ...f.get('i'), ...f.get('n'), ...op.i32geU, ...op.brIf(1),
    ...f.get('i'), ...op.i32const(2), ...op.i32shl, ...f.set('o'),
    ...addr('pr'), ...v.load(), ...f.set('R'),
    ...addr('pb'), ...v.load(), ...f.set('B'),
    ...addr('pd'), ...v.load(), ...f.set('D'),
    ...addr('pf'), ...v.load(), ...f.set('F'),
    // mask bits and counts (a true lane is −1); thresholds pre-rounded so float32 compares are exact
    ...g('D'), ...g(S('hot')), ...v.f32x4Gt, ...f.set('mh'),
    ...g('R'), ...g(S('sat')), ...v.f32x4Ge, ...f.set('ms'),
    ...g('F'), ...g(S('low')), ...v.f32x4Ge, ...f.set('ok'),
    ...g('cH'), ...g('mh'), ...v.i32x4Sub, ...f.set('cH'),
    ...g('cS'), ...g('ms'), ...v.i32x4Sub, ...f.set('cS'),
    ...g('cL'), ...g('ok'), ...v.not, ...v.i32x4Sub, ...f.set('cL'),
    ...g('mh'), ...g('ONE'), ...v.and, ...g('ms'), ...g('FOUR'), ...v.and, ...v.or, ...g('TWO'), ...g('ok'), ...v.andNot, ...v.or, ...f.set('m'),
    // val = (((r − ov) − bias) − d·t) / (t·flat), 0 where the flat is too low
    ...g('R'), ...g(S('ov')), ...v.f32x4Sub, ...g('B'), ...v.f32x4Sub, ...g('D'), ...g(S('t')), ...v.f32x4Mul, ...v.f32x4Sub,
    ...g(S('t')), ...g('F'), ...v.f32x4Mul, ...v.f32x4Div, ...g('ok'), ...v.and, ...f.set('val'),
    // w = ((g t²·f)·f) / ((base + |sky|t·f) + (d + |d|)·t/2), 0 where m has a zeroBits bit or raw is NaN
    ...g(S('gt2')), ...g('F'), ...v.f32x4Mul, ...g('F'), ...v.f32x4Mul,
    ...g(S('wbase')), ...g(S('askyt')), ...g('F'), ...v.f32x4Mul, ...v.f32x4Add, ...g('D'), ...g('D'), ...v.f32x4Abs, ...v.f32x4Add, ...g(S('halfT')), ...v.f32x4Mul, ...v.f32x4Add,
    ...v.f32x4Div,
    ...g('m'), ...g('ZB'), ...v.and, ...g('Z'), ...v.i32x4Ne, ...g('R'), ...g('R'), ...v.f32x4Ne, ...v.or,
    ...v.andNot, ...f.set('w'),
    ...addr('pimg'), ...g('val'), ...v.store(),
    ...addr('pw'), ...g('w'), ...v.store(),
    ...f.get('pm'), ...f.get('i'), ...op.i32add, ...g('m'), ...g('m'), ...v.i16x8NarrowI32x4U, ...g('Z'), ...v.i8x16NarrowI16x8U, ...v.i32x4ExtractLane(0), ...op.i32store(),
    // candidates: a float32 superset (val > lowPeak, or val > sky and e² w > k² (1 − 2⁻²⁰)), then the
    // exact double test of calibrate.ts on the lanes that pass (about 1 pixel in 100)
    ...g('val'), ...g(S('lp32')), ...v.f32x4Gt,
    ...g('val'), ...g(S('sky32')), ...v.f32x4Gt,
    ...eOf, ...f.tee('e'), ...g('e'), ...v.f32x4Mul, ...g('w'), ...v.f32x4Mul, ...g(S('k2lo')), ...v.f32x4Gt,
    ...v.and, ...v.or, ...f.tee('maybe'),
    ...v.anyTrue, ...op.if, ...recheck(0), ...recheck(1), ...recheck(2), ...recheck(3), ...op.end,
    ...f.get('i'), ...op.i32const(4), ...op.i32add, ...f.set('i'),
    ...op.br(0),
    ...op.end, ...op.end,
    ...addCount(0, 'cH'), ...addCount(4, 'cS'), ...addCount(8, 'cL'),
    ...f.get('pc'),
  ];
  return { fn: f, code };
}

/** The largest float32 ≤ x (x as is when it is a float32; NaN stays NaN). */
export function floorF32(x: number): number {
  const f = Math.fround(x);
  return f > x ? nextF32(f, -1) : f;
}

/** The smallest float32 ≥ x. */
export function ceilF32(x: number): number {
  const f = Math.fround(x);
  return f < x ? nextF32(f, 1) : f;
}

const nb = new Float32Array(1);
const ni = new Int32Array(nb.buffer);
/** The neighbouring float32 of a finite float32 f towards +∞ (dir 1) or −∞ (dir −1). */
function nextF32(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 1.401298464324817e-45;
  nb[0] = f;
  ni[0] += (f > 0) === (dir > 0) ? 1 : -1;
  return nb[0];
}

// ---- runtime -------------------------------------------------------------------------------------

type CalibFn = (...args: number[]) => number;

let module: WebAssembly.Module | null | undefined;

/** Whether this runtime has WebAssembly with 128-bit SIMD (a one-function module using v128 validates). */
export function simdSupported(): boolean {
  try {
    // (func (result v128) v128.const 0)
    const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, 22, 1, 20, 0, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b];
    return typeof WebAssembly === 'object' && WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

/** The compiled kernels; null without WebAssembly SIMD. A module that does not compile is a bug: it throws. */
function compiled(): WebAssembly.Module | null {
  if (module === undefined) module = simdSupported() ? new WebAssembly.Module(assembleModule([calibFn()])) : null;
  return module;
}

const align = (x: number) => Math.ceil(x / 64) * 64;

interface Layout {
  N: number;
  /** N rounded up to a multiple of 16 (the masters' padded length). */
  n4: number;
  bias: number;
  dark: number;
  flat: number;
  cand: number;
}

/** Offsets of the per-block buffers: raw in, image/weight/mask out (BLOCK pixels each). */
const RAW_AT = 64;
const IMG_AT = RAW_AT + 4 * BLOCK;
const W_AT = IMG_AT + 4 * BLOCK;
const M_AT = W_AT + 4 * BLOCK;
const MASTERS_AT = align(M_AT + BLOCK);

/** One thread's kernel instance and memory. */
class CalibrationKernel {
  private layout: Layout | null = null;
  /** The master arrays whose copies are in memory, and their checksums; valid for `layout`. */
  private masters: { data: [Float32Array | null, Float32Array | null, Float32Array | null]; shas: MasterShas } | null = null;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly calib: CalibFn,
  ) {}

  static create(): CalibrationKernel | null {
    const m = compiled();
    if (!m) return null;
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: 1 });
    } catch {
      return null; // no memory for it: the JavaScript path
    }
    const inst = new WebAssembly.Instance(m, { env: { mem: memory } });
    return new CalibrationKernel(memory, inst.exports.calib as CalibFn);
  }

  /** Grows the memory to at least `bytes`; false when it cannot. */
  private reserve(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    try {
      this.memory.grow(Math.ceil((bytes - have) / 65536));
      return true;
    } catch {
      return false;
    }
  }

  private layoutFor(N: number): Layout | null {
    const l = this.layout;
    if (l && l.N === N) return l;
    const n4 = Math.ceil(N / 16) * 16;
    const bias = MASTERS_AT;
    const dark = bias + 4 * n4;
    const flat = dark + 4 * n4;
    const cand = flat + 4 * n4;
    if (!this.reserve(cand + 4 * BLOCK)) return null;
    this.masters = null;
    return (this.layout = { N, n4, bias, dark, flat, cand });
  }

  /** Copies a master (or its neutral value) into its slot with the padding. */
  private fill(at: number, data: Float32Array | null, neutral: number, pad: number, N: number, n4: number): void {
    const f = new Float32Array(this.memory.buffer, at, n4);
    if (data) f.set(data);
    else f.fill(neutral, 0, N);
    f.fill(pad, N, n4);
  }

  /**
   * Makes the masters of `k` resident (copied when they changed). False when this frame cannot take
   * the kernel (float64 raw data) or the memory cannot hold it.
   */
  load(k: PassInputs, shas: MasterShas): boolean {
    if (!(k.src instanceof Float32Array)) return false;
    const N = k.W * k.H;
    const l = this.layoutFor(N);
    if (!l) return false;
    const data: [Float32Array | null, Float32Array | null, Float32Array | null] = [k.bd, k.dd, k.fd];
    const m = this.masters;
    if (!m || !data.every((d, i) => sameMaster(m.data[i], m.shas[i], d, shas[i]))) {
      this.fill(l.bias, k.bd, 0, 0, N, l.n4);
      this.fill(l.dark, k.dd, 0, NaN, N, l.n4);
      this.fill(l.flat, k.fd, 1, Infinity, N, l.n4);
      this.masters = { data, shas };
    }
    return true;
  }

  /** Copies the data-section pixels [start, start + len) of the raw frame into the raw block buffer; NaN up to n. */
  private rawBlock(k: PassInputs, start: number, len: number, n: number): void {
    const dst = new Float32Array(this.memory.buffer, RAW_AT, n);
    const src = k.src;
    const W = k.W;
    if (k.rawWidth === W && k.x0 === 0) dst.set(src.subarray(k.y0 * W + start, k.y0 * W + start + len));
    else {
      let done = 0;
      while (done < len) {
        const p = start + done;
        const y = Math.floor(p / W);
        const x = p - y * W;
        const run = Math.min(W - x, len - done);
        const at = (k.y0 + y) * k.rawWidth + k.x0 + x;
        dst.set(src.subarray(at, at + run), done);
        done += run;
      }
    }
    if (len < n) dst.fill(NaN, len, n);
  }

  /**
   * The fused pass over the frame whose masters `load` made resident, block by block: the raw block
   * copied in (read once from memory), the kernel, the outputs copied out while in cache. Fills
   * image, weight, mask; returns [nHot, nSaturated, nLowFlat] and the candidate indices (ascending),
   * or null when the candidate list cannot grow.
   */
  pass(k: PassInputs, wt: PassTerms, image: Float32Array, weight: Float32Array, mask: Uint8Array): { counts: [number, number, number]; candidates: Int32Array } | null {
    const l = this.layout!;
    const N = l.N;
    new Int32Array(this.memory.buffer, 0, 3).fill(0);
    // exact float32 compares: r ≥ sat ⟺ r ≥ ⌈sat⌉₃₂, d > hot ⟺ d > ⌊hot⌋₃₂, f ≥ low ⟺ f ≥ ⌈low⌉₃₂;
    // the candidates' float32 pre-test is a superset (margin 2⁻²⁰ on e² w), checked exactly after
    const consts = [
      k.ov, k.t, ceilF32(k.sat), floorF32(k.hotThr), ceilF32(k.lowFlat), wt.gt2, wt.base, wt.absSkyT, wt.halfT,
      floorF32(wt.sky), floorF32(wt.lowPeak), floorF32(wt.k2 * (1 - 2 ** -20)),
      wt.sky, wt.k2, wt.lowPeak,
    ];
    let pc = l.cand;
    for (let start = 0; start < N; start += BLOCK) {
      const n = Math.min(BLOCK, l.n4 - start);
      const len = Math.min(BLOCK, N - start);
      // room for every pixel of the block as a candidate
      if (!this.reserve(pc + 4 * BLOCK)) return null;
      this.rawBlock(k, start, len, n);
      const o = 4 * start;
      pc = this.calib(RAW_AT, l.bias + o, l.dark + o, l.flat + o, IMG_AT, W_AT, M_AT, n, pc, start, 0, wt.zeroBits, ...consts);
      const buf = this.memory.buffer;
      image.set(new Float32Array(buf, IMG_AT, len), start);
      weight.set(new Float32Array(buf, W_AT, len), start);
      mask.set(new Uint8Array(buf, M_AT, len), start);
    }
    const c = new Int32Array(this.memory.buffer, 0, 3);
    const candidates = new Int32Array(this.memory.buffer, l.cand, (pc - l.cand) / 4).slice();
    return { counts: [c[0], c[1], c[2]], candidates };
  }
}

/**
 * Whether the master copy in memory (`a`, checksum `sa`) holds `b`'s pixels: the same array, or — for
 * masters on shared memory, which arrive as new array objects with every message to a worker — the
 * same checksum and size (the worker pool itself shares masters by checksum, pool.ts share()).
 */
function sameMaster(a: Float32Array | null, sa: string | null, b: Float32Array | null, sb: string | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length || !sa || sa !== sb) return false;
  const shared = (x: Float32Array) => typeof SharedArrayBuffer !== 'undefined' && x.buffer instanceof SharedArrayBuffer;
  return shared(a) && shared(b);
}

let kernel: CalibrationKernel | null | undefined;

/** This thread's kernel, or null (no WebAssembly SIMD, or GFT_GP1_NO_WASM=1). */
export function calibrationKernel(): CalibrationKernel | null {
  if (process.env.GFT_GP1_NO_WASM === '1') return null;
  if (kernel === undefined) kernel = CalibrationKernel.create();
  return kernel;
}

/** Drops this thread's kernel memory (the masters' copies: 12 bytes per data-section pixel); the next calibration makes a new one. */
export function releaseCalibrationMemory(): void {
  kernel = undefined;
}

export type { CalibrationKernel };
