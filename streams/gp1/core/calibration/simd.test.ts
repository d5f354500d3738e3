import { afterEach, describe, expect, it } from 'vitest';
import { defineCamera } from '../camera.ts';
import { calibrateFrame, type CalibrateOptions, type CalibratedFrame, type CalibrationMasters } from './calibrate.ts';
import { sha256Pixels, type MasterImage } from './frame.ts';
import { masterStats } from './masters.ts';
import { calibrationKernel, ceilF32, floorF32, simdSupported } from './simd.ts';
import { makeRawFrame, makeRng, makeTruth, type SyntheticCamera } from './synthetic.ts';

/**
 * The WebAssembly kernels (simd.ts) must give bit-identical results to calibrate.ts's JavaScript:
 * every variant is calibrated both ways and compared byte for byte.
 */
const HAVE = simdSupported();

// an odd data-section width (not a multiple of 4 or 16), the overscan on the left, a row cut off
const SYN: SyntheticCamera = { width: 355, height: 203, overscan: { x1: 1, x2: 24, y1: 1, y2: 203 }, data: { x1: 25, x2: 353, y1: 2, y2: 202 }, gain: 3.1, readNoise: 7, saturation: 30000 };
const cam = defineCamera({ name: 'odd', ...SYN });
const W = 329;
const H = 201;

function master(name: string, data: Float32Array, kind: 'bias' | 'dark' | 'flat'): MasterImage {
  const s = masterStats(data, kind, cam.hotSigma, cam.lowFlat);
  return { name, sha256: sha256Pixels(data), width: W, height: H, data, stats: { level: s.level, noise: s.noise, hotThreshold: s.hotThreshold, randomNoise: 0.7 } };
}

function bytesOf(c: CalibratedFrame): string[] {
  const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return [hex(c.image), hex(c.weight), hex(c.mask)];
}

function both(raw: Parameters<typeof calibrateFrame>[0], masters: CalibrationMasters, opts: Omit<CalibrateOptions, 'camera'>): [CalibratedFrame, CalibratedFrame] {
  const wasm = calibrateFrame(raw, masters, { camera: cam, ...opts });
  process.env.GFT_GP1_NO_WASM = '1';
  try {
    return [wasm, calibrateFrame(raw, masters, { camera: cam, ...opts })];
  } finally {
    delete process.env.GFT_GP1_NO_WASM;
  }
}

afterEach(() => {
  delete process.env.GFT_GP1_NO_WASM;
});

describe('float32 thresholds', () => {
  it('floorF32/ceilF32 bracket a double by the nearest float32s, so float32 compares are exact', () => {
    for (const x of [0.1, -0.1, 1 / 3, 65535, 65535.5, 1e-45, -1e-45, 3e38, 1e39, 0, -0, 2.5]) {
      const lo = floorF32(x);
      const hi = ceilF32(x);
      expect(Math.fround(lo)).toBe(lo);
      expect(Math.fround(hi)).toBe(hi);
      expect(lo <= x && x <= hi).toBe(true);
      if (Math.fround(x) === x) expect([lo, hi]).toEqual([x, x]);
      else expect(hi > lo).toBe(true);
    }
    expect(floorF32(NaN)).toBeNaN();
    expect(ceilF32(Infinity)).toBe(Infinity);
    expect(ceilF32(1e39)).toBe(Infinity);
    expect(floorF32(1e39)).toBe(3.4028234663852886e38);
  });
});

describe.skipIf(!HAVE)('calibration kernels: WebAssembly = JavaScript, bit for bit', () => {
  it('the kernels compile here', () => {
    expect(calibrationKernel()).not.toBeNull();
  });

  const truth = makeTruth(SYN, { seed: 41, nHot: 30, vignetting: 0.3 });
  for (let y = 0; y < H; y++) truth.flat[y * W + 11] = 0.1; // a dead column: LOW_FLAT
  truth.flat[5 * W + 20] = NaN; // an undefined flat pixel
  const rng = makeRng(2);
  const stars = Array.from({ length: 30 }, () => ({ x: 10 + rng.uniform() * (W - 20), y: 10 + rng.uniform() * (H - 20), flux: 300 + 30000 * rng.uniform(), fwhm: 3 }));
  stars.push({ x: 100.3, y: 80.6, flux: 4e6, fwhm: 3 }); // saturated
  const cosmics: [number, number, number][] = Array.from({ length: 15 }, () => [3 + Math.floor(rng.uniform() * (W - 6)), 3 + Math.floor(rng.uniform() * (H - 6)), 400 + 2000 * rng.uniform()]);
  const raw = makeRawFrame(SYN, truth, { name: '20240301T030000C0o.fits', type: 'object', exptime: 30, level: 12, stars, seed: 5, cosmics });
  for (let k = 0; k < 10; k++) raw.data[Math.floor(rng.uniform() * raw.data.length)] = NaN; // BLANK pixels
  const bias = master('bias', Float32Array.from(truth.bias, (v) => v + 0.25), 'bias');
  const dark = master('dark', Float32Array.from(truth.dark), 'dark');
  const flat = master('flat', Float32Array.from(truth.flat), 'flat');

  const variants: [string, CalibrationMasters, Omit<CalibrateOptions, 'camera'>][] = [
    ['all masters', { bias, dark, flat }, {}],
    ['no cosmics, no FWHM', { bias, dark, flat }, { cosmic: false, fwhm: false }],
    ['every mask bit zeroes the weight', { bias, dark, flat }, { zeroWeightBits: 15 }],
    ['no bit zeroes the weight', { bias, dark, flat }, { zeroWeightBits: 0 }],
    ['explicit hot threshold, low flat 0.9', { bias, dark, flat }, { hotThreshold: 0.05, lowFlat: 0.9 }],
    ['no dark', { bias, flat }, {}],
    ['no flat', { bias, dark }, {}],
    ['bias only', { bias }, {}],
    ['no master', {}, {}],
  ];
  for (const [label, masters, opts] of variants) {
    it(label, () => {
      const [w, j] = both(raw, masters, opts);
      expect(bytesOf(w)).toEqual(bytesOf(j));
      expect(w.stats).toEqual(j.stats);
      expect(w.stats.nLowFlat).toBe(masters.flat ? (opts.lowFlat ? w.stats.nLowFlat : H + 1) : 0);
    });
  }

  it('masters swapped between frames are copied again; output buffers are reused', () => {
    const other = master('bias2', Float32Array.from(truth.bias, (v) => v - 3), 'bias');
    const out = { image: new Float32Array(W * H), weight: new Float32Array(W * H), mask: new Uint8Array(W * H) };
    const seq = [bias, other, bias, other];
    const got = seq.map((b) => bytesOf(calibrateFrame(raw, { bias: b, dark, flat }, { camera: cam, out })));
    process.env.GFT_GP1_NO_WASM = '1';
    const want = seq.map((b) => bytesOf(calibrateFrame(raw, { bias: b, dark, flat }, { camera: cam })));
    expect(got).toEqual(want);
    expect(got[0]).not.toEqual(got[1]);
  });

  it('float64 raw data (BITPIX 32/−64 frames) take the JavaScript path with the same results', () => {
    const r64 = { ...raw, data: Float64Array.from(raw.data) };
    expect(bytesOf(calibrateFrame(r64, { bias, dark, flat }, { camera: cam }))).toEqual(bytesOf(calibrateFrame(raw, { bias, dark, flat }, { camera: cam })));
  });
});
