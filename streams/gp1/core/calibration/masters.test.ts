import { describe, expect, it } from 'vitest';
import { defineCamera, type CameraConfig } from '../camera.ts';
import { MasterBank, type MasterMeta } from './bank.ts';
import { calibrateFrame } from './calibrate.ts';
import { compareMasters, validateMaster } from './compare.ts';
import { buildMasterBias, buildMasterDark, buildMasterFlat, type Master } from './masters.ts';
import { makeRawFrame, makeTruth, renderStars, type FrameSpec, type SyntheticCamera, type Truth } from './synthetic.ts';

/** 208x150 raw, 8-column overscan on the right, data 200x150. */
const SYN: SyntheticCamera = { width: 208, height: 150, overscan: { x1: 201, x2: 208, y1: 1, y2: 150 }, data: { x1: 1, x2: 200, y1: 1, y2: 150 }, gain: 2, readNoise: 5, saturation: 16384 };
const cam: CameraConfig = defineCamera({ name: 'syn', ...SYN, binning: '1x1' });

function frames(truth: Truth, specs: Partial<FrameSpec>[], base: Partial<FrameSpec>) {
  return specs.map((s, k) => makeRawFrame(SYN, truth, { name: `f${k}`, type: 'bias', exptime: 0, ...base, ...s, seed: 100 + k + (s.seed ?? 0) }));
}

const maxAbsDiff = (a: Float32Array, b: ArrayLike<number>, scale = 1) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i] * scale));
  return m;
};

describe('masters: exact recovery on noise-free frames', () => {
  const truth = makeTruth(SYN, { seed: 2, nHot: 10 });
  // flat normalised to median 1 so the master flat is the truth itself
  const sorted = Float32Array.from(truth.flat).sort();
  const medF = (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  for (let i = 0; i < truth.flat.length; i++) truth.flat[i] /= medF;

  it('bias, dark rate, flat, then a calibrated frame equal to the truth', async () => {
    const bias = await buildMasterBias(frames(truth, Array(8).fill({}), { type: 'bias', noise: false }), { camera: cam });
    expect(bias.accepted).toBe(true);
    expect(bias.rejections).toEqual([]);
    expect(maxAbsDiff(bias.master!.data, truth.bias)).toBeLessThan(1e-3);
    expect(bias.master!.stats.nFrames).toBe(8);
    expect(bias.master!.provenance.inputs).toHaveLength(8);
    expect(bias.master!.provenance.inputs[0].sha256).toMatch(/^[0-9a-f]{64}$/);

    const dark = await buildMasterDark(frames(truth, Array(8).fill({}), { type: 'dark', exptime: 100, noise: false }), { camera: cam, bias });
    expect(dark.accepted).toBe(true);
    expect(maxAbsDiff(dark.master!.data, truth.dark)).toBeLessThan(1e-4);
    expect(dark.master!.stats.hotPixels).toBe(10);
    expect(dark.master!.provenance.bias?.sha256).toBe(bias.master!.sha256);

    const levels = [300, 350, 400, 450, 500, 550].map((l) => ({ level: l }));
    const flat = await buildMasterFlat(frames(truth, levels, { type: 'flat', exptime: 10, noise: false }), { camera: cam, bias, dark });
    expect(flat.accepted).toBe(true);
    expect(flat.filter).toBe('r');
    expect(flat.master!.stats.level).toBeCloseTo(1, 6);
    expect(maxAbsDiff(flat.master!.data, truth.flat)).toBeLessThan(1e-5);

    const stars = [{ x: 50.3, y: 60.7, flux: 3000, fwhm: 3 }];
    const obj = makeRawFrame(SYN, truth, { name: 'obj', type: 'object', exptime: 60, level: 20, stars, noise: false });
    const cal = calibrateFrame(obj, { bias: bias.master, dark: dark.master, flat: flat.master }, { camera: cam, cosmic: false });
    const expected = renderStars(200, 150, stars);
    for (let i = 0; i < expected.length; i++) expected[i] += 20;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) if (!cal.mask[i]) worst = Math.max(worst, Math.abs(cal.image[i] - expected[i]));
    expect(worst).toBeLessThan(2e-3); // counts/s; float32 rounding of ~1000-ADU raw values / 60 s
    expect(cal.stats.sky).toBeCloseTo(20, 2);
    expect(cal.history.join('\n')).toContain(bias.master!.sha256);
  });
});

describe('masters: rejections with reasons', () => {
  const truth = makeTruth(SYN, { seed: 4 });
  const biasFrames = () => frames(truth, Array(8).fill({}), { type: 'bias' });

  it('rejects saturated, under- and over-level, wrong filter/binning/type/shape frames; too few frames', async () => {
    const bias = await buildMasterBias(biasFrames(), { camera: cam });
    const good = [300, 400, 500, 600, 650].map((l) => ({ level: l, name: `good${l}` }));
    const bad: Partial<FrameSpec>[] = [
      { name: 'saturated', level: 3000 },
      { name: 'under', level: 150 },
      { name: 'over', level: 800 },
      { name: 'filter-g', level: 400, filter: 'g' },
      { name: 'binned', level: 400, binning: '2x2' },
      { name: 'a-bias', type: 'bias' },
      { name: 'narrow', level: 400, header: { DATASEC: '[1:100,1:150]' } },
    ];
    const r = await buildMasterFlat(frames(truth, [...good, ...bad], { type: 'flat', exptime: 10 }), { camera: cam, bias, filter: 'r' });
    const why = Object.fromEntries(r.rejections.map((x) => [x.name, x.reason]));
    expect(why).toEqual({
      saturated: 'saturated',
      under: 'level-out-of-range',
      over: 'level-out-of-range',
      'filter-g': 'wrong-filter',
      binned: 'wrong-binning',
      'a-bias': 'wrong-type',
      narrow: 'wrong-shape',
    });
    expect(r.rejections.find((x) => x.name === 'under')!.detail).toMatch(/level above overscan 1\d{3} ADU, outside 2000–7000/);
    expect(r.master!.stats.nFrames).toBe(5);
    expect(r.accepted).toBe(false);
    expect(r.issues).toEqual([{ reason: 'too-few-frames', detail: '5 usable flat frames in filter r, at least 6 required' }]);
    // the operator's override
    const r2 = await buildMasterFlat(frames(truth, good, { type: 'flat', exptime: 10 }), { camera: cam, bias, minFrames: 5 });
    expect(r2.accepted).toBe(true);
  });

  it("a frame whose numeric keyword is not a number (GAIN = 'abc', EXPTIME = 'n/a', BINX = 1.5) is rejected as bad-keyword, not read with the camera's default", async () => {
    const bias = await buildMasterBias(biasFrames(), { camera: cam });
    const bad = [{ GAIN: 'abc' }, { EXPTIME: 'n/a' }, { RDNOISE: -3 }, { SATURATE: 0 }, { BINX: 1.5 }];
    const darks = frames(truth, [...Array(8).fill({}), ...bad.map((header, k) => ({ name: `bad${k}`, header }))], { type: 'dark', exptime: 30 });
    const d = await buildMasterDark(darks, { camera: cam, bias });
    expect(d.rejections.map((r) => [r.name, r.reason])).toEqual(bad.map((_, k) => [`bad${k}`, 'bad-keyword']));
    expect(d.rejections[0].detail).toMatch(/GAIN = 'abc' is not a number/);
    expect(d.master?.stats.nFrames).toBe(8);
    const obj = makeRawFrame(SYN, truth, { name: 'o', type: 'object', exptime: 30, seed: 7, header: { GAIN: 'abc' } });
    expect(() => calibrateFrame(obj, { bias: bias.master, dark: d.master }, { camera: cam })).toThrow(/GAIN = 'abc' is not a number/);
  });

  it('a dark needs a positive EXPTIME and a bias; a rejected bias propagates', async () => {
    const bias = await buildMasterBias(biasFrames().slice(0, 3), { camera: cam });
    expect(bias.accepted).toBe(false);
    expect(bias.issues[0].reason).toBe('too-few-frames');
    const darks = frames(truth, [...Array(8).fill({}), { name: 'zero', exptime: 0 }], { type: 'dark', exptime: 30 });
    const d = await buildMasterDark(darks, { camera: cam, bias });
    expect(d.rejections).toEqual([expect.objectContaining({ name: 'zero', reason: 'bad-exptime' })]);
    expect(d.issues.map((i) => i.reason)).toEqual(['bias-rejected']);
    expect(d.master).not.toBeNull();
    const none = await buildMasterDark(darks, { camera: cam });
    expect(none.master).toBeNull();
    expect(none.issues.map((i) => i.reason)).toEqual(['no-bias']);
  });

  it('sigma-clipped combine removes a cosmic ray that a 3-frame median would also remove', async () => {
    const specs = Array.from({ length: 8 }, (_, k) => (k === 3 ? { cosmics: [[20, 20, 5000]] as [number, number, number][] } : {}));
    const c = { ...cam, combine: 'sigclip' as const };
    const bias = await buildMasterBias(frames(truth, specs, { type: 'bias' }), { camera: c });
    const i = 20 * 200 + 20;
    expect(Math.abs(bias.master!.data[i] - truth.bias[i])).toBeLessThan(5);
    expect(bias.master!.stats.clipped).toBeGreaterThan(0);
    expect(bias.master!.provenance.combine).toEqual({ method: 'sigclip', clipSigma: 3 });
  });
});

describe('compare and validate', () => {
  const truth = makeTruth(SYN, { seed: 6, nHot: 20 });
  const bias = (seed: number, shift = 0) => {
    const t = shift ? { ...truth, bias: truth.bias.map((v) => v + shift) } : truth;
    return buildMasterBias(frames(t, Array(8).fill({ seed }), { type: 'bias' }), { camera: cam });
  };

  it('two masters of the same camera agree; a level jump, a new pattern, new hot pixels do not', async () => {
    const a = (await bias(0)).master!;
    const b = await bias(50);
    const same = validateMaster(b, a);
    expect(same.accepted).toBe(true);
    expect(same.comparison!.structureRatio).toBeLessThan(1.3);
    expect(same.comparison!.structureRatio).toBeGreaterThan(0.7); // random noise only

    const shifted = validateMaster(await bias(50, 25), a);
    expect(shifted.accepted).toBe(false);
    expect(shifted.issues.map((i) => i.reason)).toEqual(['level-change']);

    const pattern = { ...truth, bias: truth.bias.map((v, i) => v + 8 * Math.sin(i / 13)) };
    const p = await buildMasterBias(frames(pattern, Array(8).fill({ seed: 9 }), { type: 'bias' }), { camera: cam });
    const pv = validateMaster(p, a);
    expect(pv.issues.map((i) => i.reason)).toContain('structure-change');

    const hot = { ...truth, bias: truth.bias.map((v, i) => (i % 97 === 0 ? v + 500 : v)) };
    const h = await buildMasterBias(frames(hot, Array(8).fill({ seed: 11 }), { type: 'bias' }), { camera: cam });
    const hv = validateMaster(h, a);
    expect(hv.issues.map((i) => i.reason)).toContain('hot-pixel-change');
    expect(hv.comparison!.hotPixelChange).toBeGreaterThan(250);

    // the same number of hot pixels elsewhere: another detector (or a mix-up), not this one aged
    const moved = { ...truth, bias: truth.bias.map((v, i) => ((i + 13) % 97 === 0 ? v + 500 : v)) };
    const hm = (await buildMasterBias(frames(moved, Array(8).fill({ seed: 12 }), { type: 'bias' }), { camera: cam })).master!;
    const mv = compareMasters(hm, h.master!);
    expect(Math.abs(mv.hotPixelChange)).toBeLessThan(5);
    expect(mv.hotPixelOverlap).toBe(0);
    expect(mv.issues.map((i) => i.reason)).toContain('hot-pixel-change');
    expect(compareMasters(h.master!, h.master!).hotPixelOverlap).toBe(1);

    const other = { ...a, width: 100, data: a.data.subarray(0, 100 * 150) } as Master;
    expect(compareMasters(other, a).issues[0].reason).toBe('shape-change');
  });
});

describe('MasterBank', () => {
  const m = (kind: 'bias' | 'flat', date: string, extra: Partial<MasterMeta> = {}): MasterMeta => ({ kind, name: `${kind}-${date}-${extra.filter ?? ''}-${extra.binning ?? ''}`, camera: 'coatli', binning: '1x1', filter: null, dateObs: date, sha256: 'x', width: 1, height: 1, ...extra });
  const bank = new MasterBank([
    m('bias', '2024-03-01T00:00:00Z'),
    m('bias', '2024-03-05T00:00:00Z'),
    m('bias', '2024-03-03T00:00:00Z', { binning: '2x2' }),
    m('bias', '2024-03-04T00:00:00Z', { accepted: false }),
    m('flat', '2024-03-02T00:00:00Z', { filter: 'r' }),
    m('flat', '2024-03-04T12:00:00Z', { filter: 'i' }),
  ]);

  it('picks by kind, camera, binning, filter and nearest date; skips rejected masters', () => {
    expect(bank.pick('bias', { camera: 'coatli', binning: '1x1', date: '2024-03-02T23:00:00Z' })?.dateObs).toBe('2024-03-01T00:00:00Z');
    expect(bank.pick('bias', { camera: 'coatli', binning: '1x1', date: '2024-03-04T01:00:00Z' })?.dateObs).toBe('2024-03-05T00:00:00Z');
    expect(bank.pick('bias', { camera: 'coatli', binning: '2x2', date: '2024-03-09T00:00:00Z' })?.binning).toBe('2x2');
    expect(bank.pick('flat', { camera: 'coatli', binning: '1x1', filter: 'R', date: '2024-03-09T00:00:00Z' })?.filter).toBe('r');
    expect(bank.pick('flat', { camera: 'coatli', binning: '1x1', filter: 'z', date: '2024-03-09T00:00:00Z' })).toBeNull();
    expect(bank.pick('bias', { camera: 'colibri-ddrago', binning: '1x1', date: '2024-03-09T00:00:00Z' })).toBeNull();
    // ties go to the earlier master
    expect(bank.pick('bias', { camera: 'coatli', binning: '1x1', date: '2024-03-03T00:00:00Z' })?.dateObs).toBe('2024-03-01T00:00:00Z');
  });

  it('finds the previous master of the same key', () => {
    const next = m('bias', '2024-03-07T00:00:00Z');
    expect(bank.previous(next)?.dateObs).toBe('2024-03-05T00:00:00Z');
    expect(bank.previous(m('bias', '2024-02-01T00:00:00Z'))).toBeNull();
  });
});
