import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAMERAS, cameraByName, detectCamera, frameGeometry, frameInfo, loadCameraFile, parseSection } from '../camera.ts';
import { combineStack } from './combine.ts';
import { makeRng, MapHeader } from './synthetic.ts';

// selection and robust statistics: lib/stats/robust.test.ts

describe('combine', () => {
  const stackOf = (rows: number[][]) => rows.map((r) => Float32Array.from(r));
  it('median of 3, 4 and 8 frames', () => {
    const out = new Float32Array(2);
    combineStack(stackOf([[1, 5], [3, 4], [2, 6]]), out, { method: 'median' });
    expect(Array.from(out)).toEqual([2, 5]);
    combineStack(stackOf([[1, 5], [3, 4], [2, 6], [10, 0]]), out, { method: 'median' });
    expect(Array.from(out)).toEqual([2.5, 4.5]);
    const eight = stackOf([[8], [1], [7], [2], [6], [3], [5], [4]]);
    const o1 = new Float32Array(1);
    combineStack(eight, o1, { method: 'median' });
    expect(o1[0]).toBe(4.5);
  });

  it('the median network equals a sorted median for every frame count 2..40', () => {
    const rng = makeRng(8);
    for (let n = 2; n <= 40; n++) {
      const stack = Array.from({ length: n }, () => Float32Array.from({ length: 257 }, () => Math.round(rng.normal() * 3) * 0.5 + (rng.uniform() < 0.05 ? 1e6 : 0)));
      const out = new Float32Array(257);
      combineStack(stack, out, { method: 'median' });
      for (let p = 0; p < 257; p++) {
        const v = stack.map((f) => f[p]).sort((a, b) => a - b);
        const want = n & 1 ? v[n >> 1] : 0.5 * (v[(n >> 1) - 1] + v[n >> 1]);
        expect(out[p]).toBe(Math.fround(want));
      }
    }
  });

  it('sigma-clipped mean rejects an outlier and averages the rest', () => {
    const out = new Float32Array(1);
    const r = combineStack(stackOf([[10], [11], [9], [10.5], [9.5], [1000]]), out, { method: 'sigclip', clipSigma: 3 });
    expect(out[0]).toBeCloseTo(10, 5);
    expect(r.clipped).toBe(1);
  });

  it('works on a pixel range (how workers split it)', () => {
    const s = stackOf([[1, 2, 3, 4], [3, 4, 5, 6], [2, 3, 4, 5]]);
    const out = new Float32Array(4).fill(-1);
    combineStack(s, out, { method: 'median' }, 1, 3);
    expect(Array.from(out)).toEqual([-1, 3, 4, -1]);
  });
});

describe('camera', () => {
  it('parses FITS sections and rejects malformed ones', () => {
    expect(parseSection('[49:4144,1:4096]')).toEqual({ x1: 49, x2: 4144, y1: 1, y2: 4096 });
    expect(() => parseSection('[10:5,1:2]')).toThrow(/reversed/);
    expect(() => parseSection('49:4144,1:4096')).toThrow(/malformed/);
  });

  it('header BIASSEC/DATASEC/GAIN/RDNOISE override the configuration', () => {
    const cam = CAMERAS['colibri-ddrago'];
    const g0 = frameGeometry(cam, new MapHeader(), 4192, 4096);
    expect(g0.overscan).toEqual({ x1: 1, x2: 48, y1: 1, y2: 4096 });
    const g = frameGeometry(cam, new MapHeader({ BIASSEC: '[4145:4192,1:4096]', DATASEC: '[1:4144,1:4096]', GAIN: 2.5, RDNOISE: 4 }), 4192, 4096);
    expect(g.overscan).toEqual({ x1: 4145, x2: 4192, y1: 1, y2: 4096 });
    expect(g.data.x2).toBe(4144);
    expect(g.gain).toBe(2.5);
    expect(g.readNoise).toBe(4);
    expect(() => frameGeometry(cam, new MapHeader({ DATASEC: '[1:5000,1:4096]' }), 4192, 4096)).toThrow(/outside/);
  });

  it('scales the sections of a frame binned more than the configuration', () => {
    const g = frameGeometry(CAMERAS.coatli, new MapHeader(), 1092, 736);
    expect(g.overscan).toEqual({ x1: 1075, x2: 1092, y1: 1, y2: 736 });
    expect(g.data).toEqual({ x1: 1, x2: 1074, y1: 1, y2: 736 });
  });

  it('detects the camera from the header or the size', () => {
    expect(detectCamera(new MapHeader({ INSTRUME: 'RATIR' }), 1024, 1024)?.name).toBe('ratir-c1');
    expect(detectCamera(new MapHeader(), 4192, 4096)?.name).toBe('colibri-ddrago');
    expect(detectCamera(new MapHeader(), 2184, 1472)?.name).toBe('coatli');
    expect(detectCamera(new MapHeader(), 100, 100)).toBeNull();
    expect(() => cameraByName('nope')).toThrow(/known: .*coatli/);
  });

  it('reads type from IMAGETYP, else from the file-name letter; binning, filter, date', () => {
    const a = frameInfo(new MapHeader({ IMAGETYP: 'Flat Field', BINX: 2, BINY: 2, FILTA: 'i', EXPTIME: 10 }), 'x.fits');
    expect(a).toMatchObject({ type: 'flat', binning: '2x2', filter: 'i', exptime: 10 });
    const b = frameInfo(new MapHeader({ BINNING: '2x2' }), '/d/RATIR-GSFC_20130716T032429C1b.fits');
    expect(b).toMatchObject({ type: 'bias', binning: '2x2', cameraNumber: 1, dateObs: '2013-07-16T03:24:29.000Z' });
    expect(frameInfo(new MapHeader({ 'DATE-OBS': '2013-07-16T11:06:06.242' }), '20200101T000000C0o.fits.fz')).toMatchObject({ type: 'object', dateObs: '2013-07-16T11:06:06.242Z' });
  });

  it('loads cameras from JSON, inheriting from a built-in, and validates them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp1-cam-'));
    const p = join(dir, 'cams.json');
    writeFileSync(p, JSON.stringify([{ name: 'coatli-2x2', extends: 'coatli', width: 1092, height: 736, binning: '2x2', overscan: '[1075:1092,1:736]', data: '[1:1074,1:736]', minFrames: { flat: 4 } }]));
    const [c] = loadCameraFile(p);
    expect(c).toMatchObject({ name: 'coatli-2x2', gain: 6.2, binning: '2x2', overscan: { x1: 1075 }, minFrames: { bias: 8, dark: 8, flat: 4 } });
    writeFileSync(p, JSON.stringify({ name: 'bad', width: 10, height: 10, gain: -1, readNoise: 1, saturation: 10, data: '[1:20,1:10]' }));
    expect(() => loadCameraFile(p)).toThrow(/gain must be a positive number.*outside 10x10/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('night masters input', () => {
  it('an empty folder is "no calibration frames", not an undetectable camera', async () => {
    const { buildNightMasters, NightMastersError } = await import('./nightMasters.ts');
    const e = await buildNightMasters([]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NightMastersError);
    expect((e as InstanceType<typeof NightMastersError>).code).toBe('no-calibration-frames');
    expect((e as Error).message).toMatch(/no calibration frame \(no .fits/);
  });
});
