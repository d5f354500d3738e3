import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCamera } from '../camera.ts';
import { calibrateFrame, CalibrationError } from './calibrate.ts';
import { combineStack } from './combine.ts';
import { buildMasterBias } from './masters.ts';
import { CalibrationPool } from './pool.ts';
import { makeRawFrame, makeRng, makeTruth, type MapHeader, type SyntheticCamera } from './synthetic.ts';
import { calibratedBytes, rawFrameFromBytes } from './io.ts';
import { writeFits } from '../../../../lib/fits/index.ts';
import { createHash } from 'node:crypto';

const SYN: SyntheticCamera = { width: 330, height: 200, overscan: { x1: 321, x2: 330, y1: 1, y2: 200 }, data: { x1: 1, x2: 320, y1: 1, y2: 200 }, gain: 2, readNoise: 5, saturation: 65535 };
const cam = defineCamera({ name: 'syn', ...SYN });

describe('CalibrationPool (worker threads through tsx)', () => {
  let pool: CalibrationPool;
  beforeAll(async () => {
    pool = await CalibrationPool.create(2);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('splits a combine over the workers with the same result as one thread', async () => {
    const rng = makeRng(2);
    const stack = Array.from({ length: 7 }, () => {
      const a = pool.alloc(10_001);
      for (let i = 0; i < a.length; i++) a[i] = rng.normal();
      return a;
    });
    for (const method of ['median', 'sigclip'] as const) {
      const ref = new Float32Array(10_001);
      const r1 = combineStack(stack, ref, { method });
      const out = pool.alloc(10_001);
      const r2 = await pool.combiner(stack, out, { method });
      expect(Array.from(out)).toEqual(Array.from(ref));
      expect(r2.clipped).toBe(r1.clipped);
    }
  });

  it('builds a master with a shared stack and calibrates on a worker, transferring the raw buffer', async () => {
    const truth = makeTruth(SYN, { seed: 3 });
    const frames = Array.from({ length: 8 }, (_, k) => makeRawFrame(SYN, truth, { name: `b${k}`, type: 'bias', exptime: 0, seed: k }));
    const direct = await buildMasterBias(frames, { camera: cam });
    const pooled = await buildMasterBias(frames, { camera: cam, alloc: pool.alloc, combiner: pool.combiner });
    expect(pooled.master!.sha256).toBe(direct.master!.sha256);
    expect(pooled.master!.data.buffer).toBeInstanceOf(SharedArrayBuffer);

    const raw = makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 30, level: 50, seed: 99, stars: [{ x: 100, y: 100, flux: 5e3, fwhm: 3 }] });
    const copy = { ...raw, data: raw.data.slice() };
    const ref = calibrateFrame(copy, { bias: direct.master }, { camera: cam });
    const got = await pool.calibrate(raw, { bias: direct.master }, { camera: cam });
    expect(raw.data.length).toBe(0); // transferred, detached here
    expect(got.image).toBeInstanceOf(Float32Array);
    expect(Array.from(got.image.subarray(0, 5000))).toEqual(Array.from(ref.image.subarray(0, 5000)));
    expect(got.stats).toEqual(ref.stats);
    expect(got.history).toEqual(ref.history);
  });

  it('reuses recycled output buffers (transferred to the worker and back)', async () => {
    const truth = makeTruth(SYN, { seed: 4 });
    const frame = () => makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 10, level: 20, seed: 5 });
    const first = await pool.calibrate(frame(), {}, { camera: cam, cosmic: false });
    const image = first.image;
    pool.recycle(first);
    const second = await pool.calibrate(frame(), {}, { camera: cam, cosmic: false });
    expect(image.length).toBe(0); // handed to the worker
    expect(second.image.length).toBe(320 * 200);
    expect(second.stats).toEqual(first.stats);
  });

  it('calibrateFits: the worker writes and hashes the same file as calibratedBytes on this thread, raw header cards included', async () => {
    const truth = makeTruth(SYN, { seed: 6 });
    const syn = makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 30, level: 40, seed: 7, stars: [{ x: 80, y: 60, flux: 4e3, fwhm: 3 }] });
    // through a real FITS header (comments, HISTORY, COMMENT, a long string), as the stage reads raw frames
    const cards = [
      ...Object.entries((syn.header as MapHeader).values).map(([key, value]) => ({ key, value, comment: `from ${key.toLowerCase()}` })),
      { key: 'OBSERVER', value: 'a long observer string '.repeat(6).trim(), comment: 'CONTINUE cards' },
      { key: 'HISTORY', value: 'raw frame history' },
      { key: 'COMMENT', value: 'raw frame comment' },
    ];
    const bytes = writeFits([{ kind: 'image', bitpix: -32, width: syn.width, height: syn.height, data: Float32Array.from(syn.data), cards }]);
    const ref = calibratedBytes(calibrateFrame(rawFrameFromBytes(bytes, 'o.fits'), {}, { camera: cam }), rawFrameFromBytes(bytes, 'o.fits').header);
    for (let k = 0; k < 2; k++) {
      // twice: the second call reuses the worker's own output arrays
      const got = await pool.calibrateFits(rawFrameFromBytes(bytes, 'o.fits'), {}, { camera: cam });
      expect(got.sha256).toBe(createHash('sha256').update(ref).digest('hex'));
      expect(Buffer.compare(got.fits, ref)).toBe(0);
      expect(got.meta.width).toBe(320);
    }
  });

  it('rejects with the CalibrationError of the worker', async () => {
    const truth = makeTruth(SYN, { seed: 3 });
    const raw = makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 0, noise: false });
    await expect(pool.calibrate(raw, {}, { camera: cam })).rejects.toBeInstanceOf(CalibrationError);
    // the pool still works afterwards
    const ok = makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 1, level: 5, noise: false });
    expect((await pool.calibrate(ok, {}, { camera: cam, cosmic: false })).width).toBe(320);
  });
});
