/**
 * Seeded pseudo-random numbers for the synthetic night: our own, so the bytes of a night depend on
 * the seed only (never on Node's Math.random or a library version).
 *
 * - Generator: xoshiro128** (Blackman & Vigna 2018), 128-bit state, 32-bit output; seeded through
 *   splitmix32 so that neighbouring seeds give unrelated states.
 * - Streams: every independent part of the night (the camera, the field, each frame) draws from its
 *   own stream `Rng.derive(seed, label, index)`, so one frame's noise does not depend on the order
 *   in which frames are generated, nor on how many numbers another part consumed.
 * - Normal deviates: the ziggurat of Marsaglia & Tsang (2000), 128 layers; ~98 % of draws cost one
 *   32-bit integer, a compare and a multiply.
 * - Poisson deviates: exact inversion (sequential search from 0) for λ < {@link POISSON_EXACT_MAX},
 *   normal approximation λ + √λ·z above (the caller rounds or not).
 *
 * Nothing here allocates per call.
 */

const TWO32 = 4294967296;
const INV32 = 1 / TWO32;

/** 32-bit FNV-1a of a string, for stream labels. */
export function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One step of splitmix32 on `state`; returns [new state, output]. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

// ---- ziggurat tables (Marsaglia & Tsang 2000, "The Ziggurat Method for Generating Random Variables") ----
// One 32-bit draw gives the layer (7 bits), the sign (1 bit) and a 24-bit magnitude, so that every
// intermediate stays a small integer (no int32 overflow on |−2^31|, no deoptimisation).
const ZN = 128;
const ZR = 3.442619855899; // start of the tail
const ZV = 9.91256303526217e-3; // area of each layer
const ZM = 16777216; // 2^24
const KN = new Int32Array(ZN);
const WN = new Float64Array(ZN);
const FN = new Float64Array(ZN);
(() => {
  let dn = ZR;
  let tn = dn;
  const q = ZV / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * ZM);
  KN[1] = 0;
  WN[0] = q / ZM;
  WN[ZN - 1] = dn / ZM;
  FN[0] = 1;
  FN[ZN - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = ZN - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZV / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * ZM);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / ZM;
  }
})();
/** 1/k for the Poisson inversion */
const INVK = new Float64Array(1024);
for (let k = 1; k < INVK.length; k++) INVK[k] = 1 / k;

/** λ below which Poisson deviates are exact (inversion); above, a normal approximation. */
export const POISSON_EXACT_MAX = 30;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A generator from a 32-bit (or any safe-integer) seed. */
  constructor(seed: number) {
    // fold a safe integer's high bits into the splitmix state
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO32) >>> 0;
    let st = (lo ^ Math.imul(hi, 0x9e3779b1)) | 0;
    let o: number;
    [st, o] = splitmix32(st);
    this.a = o | 0;
    [st, o] = splitmix32(st);
    this.b = o | 0;
    [st, o] = splitmix32(st);
    this.c = o | 0;
    [st, o] = splitmix32(st);
    this.d = o | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1; // the all-zero state is a fixed point
  }

  /** An independent stream for one part of a simulation: (seed, label, index) → generator. */
  static derive(seed: number, label: string, index = 0): Rng {
    let h = hashString(label, hashString(String(seed)));
    h = Math.imul(h ^ (index >>> 0), 0x9e3779b1) ^ Math.imul((index / TWO32) >>> 0, 0x85ebca6b);
    return new Rng(h >>> 0);
  }

  /** Next 32-bit output as a signed int32 (xoshiro128**). */
  nextInt32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Next 32-bit output, unsigned. */
  nextUint32(): number {
    return this.nextInt32() >>> 0;
  }

  /** Uniform in [0, 1), 32-bit resolution. */
  uniform(): number {
    return (this.nextInt32() >>> 0) * INV32;
  }

  /** Uniform in (0, 1): never 0, safe for logarithms. */
  uniformOpen(): number {
    return ((this.nextInt32() >>> 0) + 0.5) * INV32;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal deviate (ziggurat). */
  normal(): number {
    const u = this.nextInt32();
    const iz = u & 127;
    const m = u >>> 8; // 24-bit magnitude
    if (m < KN[iz]) return u & 128 ? -m * WN[iz] : m * WN[iz];
    return this.normalSlow(u);
  }

  private normalSlow(u: number): number {
    for (;;) {
      const iz = u & 127;
      const m = u >>> 8;
      const neg = (u & 128) !== 0;
      if (m < KN[iz]) return neg ? -m * WN[iz] : m * WN[iz];
      if (iz === 0) {
        // the tail beyond ZR (Marsaglia 1964)
        let x: number, y: number;
        do {
          x = -Math.log(this.uniformOpen()) / ZR;
          y = -Math.log(this.uniformOpen());
        } while (y + y < x * x);
        return neg ? -ZR - x : ZR + x;
      }
      const x = m * WN[iz];
      if (FN[iz] + this.uniform() * (FN[iz - 1] - FN[iz]) < Math.exp(-0.5 * x * x)) return neg ? -x : x;
      u = this.nextInt32();
    }
  }

  /**
   * Poisson deviate with mean `lambda` ≥ 0: exact by inversion below {@link POISSON_EXACT_MAX},
   * else the normal approximation λ + √λ·z rounded to an integer and clipped at 0.
   */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < POISSON_EXACT_MAX) return this.poissonSmall(lambda);
    const v = Math.round(lambda + Math.sqrt(lambda) * this.normal());
    return v < 0 ? 0 : v;
  }

  /** Exact Poisson by inversion (sequential search), one uniform, O(λ) steps; for λ < ~30. */
  poissonSmall(lambda: number): number {
    const u = this.uniform();
    let p = Math.exp(-lambda);
    let f = p;
    let k = 0;
    while (u > f && k < 1023) {
      k++;
      p *= lambda * INVK[k];
      f += p;
    }
    return k;
  }

  /** Log-uniform in [lo, hi). */
  logUniform(lo: number, hi: number): number {
    return Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * this.uniform());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
