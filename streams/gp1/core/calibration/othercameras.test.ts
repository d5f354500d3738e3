/**
 * "Also checked on frames you do not have": `gft gp1 masters` and `gft gp1 calibrate` on cameras that
 * are neither COATLI nor RATIR, described only by a camera JSON file, with frames in the forms other
 * cameras write them — written here by our own FITS writer:
 * - camera A (binned 2x2, overscan on the left, a data section starting at row 3): RICE-compressed
 *   `.fits.fz` BITPIX 16 + BZERO 32768 biases and objects, BITPIX −32 darks, flats as a header-only
 *   primary HDU carrying the keywords with the compressed image in extension 1, and no FILTER keyword
 *   anywhere; a frame with neither IMAGETYP nor a type letter in its name;
 * - camera B: no overscan at all, BITPIX 16 frames without IMAGETYP (typed by their file-name letter).
 * Star fluxes must come out within 1% of the truth, as on the synthetic COATLI night.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, writeFits, type FitsCard, type HduInput } from '../../../../lib/fits/index.ts';
import { run as gp1 } from '../../cli.ts';
import { makeRawFrame, makeRng, makeTruth, type SyntheticCamera, type SyntheticStar, type Truth } from './synthetic.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gp1-cams-'));
const camFile = join(tmp, 'cameras.json');

const A: SyntheticCamera = { width: 600, height: 400, overscan: { x1: 1, x2: 24, y1: 1, y2: 400 }, data: { x1: 25, x2: 600, y1: 3, y2: 400 }, gain: 1.8, readNoise: 4.5, saturation: 50000 };
const B: SyntheticCamera = { width: 300, height: 200, overscan: null, data: { x1: 1, x2: 300, y1: 1, y2: 200 }, gain: 3, readNoise: 6, saturation: 30000 };

const CAMERAS = [
  { name: 'lab-a', width: 600, height: 400, overscan: '[1:24,1:400]', data: '[25:600,3:400]', gain: 1.8, readNoise: 4.5, saturation: 50000, binning: '2x2', flatLevel: { min: 1000, max: 20000 }, minFrames: { bias: 5, dark: 5, flat: 4 } },
  { name: 'lab-b', width: 300, height: 200, overscan: null, data: '[1:300,1:200]', gain: 3, readNoise: 6, saturation: 30000, minFrames: { bias: 4, dark: 4, flat: 4 } },
];

/** Bright, unsaturated, isolated stars on a grid (noise-limited fluxes to ~0.3%), ADU/s. */
function starGrid(W: number, H: number, seed: number, flux: number): SyntheticStar[] {
  const rng = makeRng(seed);
  const s: SyntheticStar[] = [];
  for (let y = 40; y < H - 30; y += 60) for (let x = 40; x < W - 30; x += 70) s.push({ x: x + 5 * rng.uniform(), y: y + 5 * rng.uniform(), flux: flux * (1 + rng.uniform()), fwhm: 3.2 });
  return s;
}

function normalisedTruth(cam: SyntheticCamera, seed: number): Truth {
  const t = makeTruth(cam, { seed, nHot: 10, vignetting: 0.2 });
  const s = Float32Array.from(t.flat).sort();
  const med = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  for (let i = 0; i < t.flat.length; i++) t.flat[i] /= med;
  return t;
}

type Form = 'fz' | 'f32' | 'mef-fz' | 'i16';

/** Writes a synthetic frame in one of the forms; `drop` removes header keywords. */
function write(dir: string, name: string, cam: SyntheticCamera, truth: Truth, spec: Parameters<typeof makeRawFrame>[2], form: Form, drop: string[] = [], extra: Record<string, string> = {}): void {
  const f = makeRawFrame(cam, truth, spec);
  const values = { ...(f.header as unknown as { values: Record<string, string | number> }).values, ...extra };
  for (const k of drop) delete values[k];
  const cards: FitsCard[] = Object.entries(values).map(([key, value]) => ({ key, value }));
  const image = { kind: 'image' as const, width: f.width, height: f.height };
  let hdus: HduInput[];
  if (form === 'f32') hdus = [{ ...image, bitpix: -32, data: f.data, cards }];
  else if (form === 'mef-fz') hdus = [{ kind: 'empty', cards }, { ...image, bitpix: 16, bzero: 32768, data: f.data }];
  else hdus = [{ ...image, bitpix: 16, bzero: 32768, data: f.data, cards }];
  writeFileSync(join(dir, name), writeFits(hdus, form === 'fz' || form === 'mef-fz' ? { compress: 'rice' } : {}));
}

/** Aperture flux (r = 8 px) minus the median of the 12–18 px annulus, counts/s. */
function aperture(img: Float32Array, W: number, x: number, y: number): number {
  const ann: number[] = [];
  let sum = 0;
  let n = 0;
  for (let j = Math.floor(y - 18); j <= Math.ceil(y + 18); j++)
    for (let i = Math.floor(x - 18); i <= Math.ceil(x + 18); i++) {
      const d = Math.hypot(i - x, j - y);
      if (d <= 8) {
        sum += img[j * W + i];
        n++;
      } else if (d >= 12 && d <= 18) ann.push(img[j * W + i]);
    }
  ann.sort((a, b) => a - b);
  return sum - n * ann[ann.length >> 1];
}

async function cli(args: string[], report: string): Promise<{ code: number; report: any }> {
  const code = await gp1([...args, '--workers', '0', '--report', report]);
  let r: unknown = null;
  try {
    r = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    /* no report */
  }
  return { code, report: r };
}

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('camera A from a JSON file: .fits.fz, BITPIX −32, keywords in the primary HDU, no FILTER, overscan on the left', () => {
  const dir = join(tmp, 'a');
  const truth = normalisedTruth(A, 31);
  const stars = starGrid(576, 398, 2, 2000); // peak ≤ 4000 ADU/s × 0.09 × 60 s < saturation
  let masters: { code: number; report: any };
  let cal: { code: number; report: any };

  beforeAll(async () => {
    writeFileSync(camFile, JSON.stringify(CAMERAS));
    mkdirSync(dir, { recursive: true });
    const noFilter = ['FILTER'];
    const bin = { BINNING: '2x2' };
    for (let k = 0; k < 5; k++) write(dir, `a-bias-${k}.fits.fz`, A, truth, { name: 'x', type: 'bias', exptime: 0, seed: 10 + k, dateObs: `2024-05-01T01:0${k}:00` }, 'fz', noFilter, { ...bin, IMAGETYP: 'Bias Frame' });
    for (let k = 0; k < 5; k++) write(dir, `a-dark-${k}.fits`, A, truth, { name: 'x', type: 'dark', exptime: 120, seed: 20 + k, dateObs: `2024-05-01T01:1${k}:00` }, 'f32', noFilter, { ...bin, IMAGETYP: 'DARK' });
    for (let k = 0; k < 4; k++) write(dir, `a-flat-${k}.fits.fz`, A, truth, { name: 'x', type: 'flat', exptime: 5, level: 1500 + 200 * k, seed: 30 + k, dateObs: `2024-05-01T01:2${k}:00` }, 'mef-fz', noFilter, { ...bin, IMAGETYP: 'Flat Field', 'DATE-OBS': '2024-05-01', 'TIME-OBS': `01:2${k}:00.5` });
    write(dir, 'a-mystery.fits', A, truth, { name: 'x', type: 'bias', exptime: 0, seed: 40 }, 'i16', ['IMAGETYP', 'FILTER'], bin);
    for (let k = 0; k < 2; k++) write(dir, `a-obj-${k}.fits.fz`, A, truth, { name: 'x', type: 'object', exptime: 60, level: 8, stars, seed: 50 + k, dateObs: `2024-05-01T03:0${k}:00` }, 'fz', noFilter, { ...bin, IMAGETYP: 'Light Frame', 'DATE-OBS': '2024-05-01', UT: `03:0${k}:00` });
    write(dir, 'a-obj-V.fits.fz', A, truth, { name: 'x', type: 'object', exptime: 60, level: 8, stars, seed: 60, dateObs: '2024-05-01T03:05:00', filter: 'V' }, 'fz', [], { ...bin, IMAGETYP: 'Light Frame' });
    masters = await cli(['masters', '--in', dir, '--out', join(dir, 'masters'), '--camera', `${camFile}#lab-a`], join(tmp, 'a-masters.json'));
    cal = await cli(['calibrate', '--masters', join(dir, 'masters'), '--out', join(dir, 'cal'), '--camera', `${camFile}#lab-a`, ...['a-obj-0', 'a-obj-1', 'a-obj-V'].map((n) => join(dir, `${n}.fits.fz`))], join(tmp, 'a-cal.json'));
  }, 120_000);

  it('builds bias, dark and a flat without filter (said so); the untyped frame is listed with the reason', () => {
    expect(masters.code).toBe(0);
    const r = masters.report;
    expect(r.camera).toBe('lab-a');
    expect(r.frames).toMatchObject({ bias: 5, dark: 5, flat: 4, object: 3 });
    expect(r.frames.unclassified).toEqual([{ file: 'a-mystery.fits', why: expect.stringMatching(/no IMAGETYP .* and no type letter/) }]);
    expect(r.masters.map((m: any) => [m.kind, m.accepted, m.provenance?.binning])).toEqual([['bias', true, '2x2'], ['dark', true, '2x2'], ['flat', true, '2x2']]);
    const flat = r.masters[2];
    expect(flat.filter).toBeNull();
    expect(flat.notes.join(' ')).toMatch(/4 flat frame\(s\) without a filter keyword/);
    expect(flat.provenance.overscan).toBe('[1:24,1:400]');
    expect(flat.provenance.dataSection).toBe('[25:600,3:400]');
    // the flats' level came from the primary header's EXPTIME/IMAGETYP: all four used
    expect(flat.stats.nFrames).toBe(4);
    // dated by a date-only DATE-OBS + TIME-OBS in the primary header (lib/fits observationDate)
    expect(flat.provenance.dateObs).toBe('2024-05-01T01:21:00.500Z');
  });

  it('calibrates the frames without filter to star fluxes within 1% of the truth; a frame in filter V is refused with the reason', () => {
    expect(cal.code).toBe(0);
    const frames = cal.report.frames;
    expect(frames.map((f: any) => f.ok)).toEqual([true, true, false]);
    expect(frames[2].error).toEqual({ code: 'no-master', message: expect.stringContaining('no flat master') });
    expect(frames[2].error.message).toContain('filter V');
    for (const name of ['a-obj-0', 'a-obj-1']) {
      const img = readImage(join(dir, 'cal', `${name}-cal.fits`));
      expect([img.width, img.height]).toEqual([576, 398]);
      expect(img.header.get('BINNING')).toBe('2x2');
      const ratios = stars.map((s) => aperture(img.data as Float32Array, 576, s.x, s.y) / s.flux);
      for (const q of ratios) expect(Math.abs(q - 1)).toBeLessThan(0.01);
      expect(img.header.get('SKYLEVEL') as number).toBeCloseTo(8, 1);
    }
  });
});

describe('camera B from a JSON file: no overscan, BITPIX 16, type from the file-name letter only', () => {
  const dir = join(tmp, 'b');
  const truth = normalisedTruth(B, 77);
  const stars = starGrid(300, 200, 5, 1500); // peak ≤ 3000 ADU/s × 0.09 × 90 s < saturation

  it('masters (the flat level measured above the master bias) and star fluxes within 1%', async () => {
    writeFileSync(camFile, JSON.stringify(CAMERAS));
    mkdirSync(dir, { recursive: true });
    const name = (m: number, t: string) => `20240502T01${String(m).padStart(2, '0')}00C1${t}.fits`;
    let m = 0;
    for (let k = 0; k < 4; k++) write(dir, name(m++, 'b'), B, truth, { name: 'x', type: 'bias', exptime: 0, seed: 110 + k }, 'i16', ['IMAGETYP', 'DATE-OBS']);
    for (let k = 0; k < 4; k++) write(dir, name(m++, 'd'), B, truth, { name: 'x', type: 'dark', exptime: 60, seed: 120 + k }, 'i16', ['IMAGETYP', 'DATE-OBS']);
    for (let k = 0; k < 4; k++) write(dir, name(m++, 'f'), B, truth, { name: 'x', type: 'flat', exptime: 4, level: 800 + 100 * k, seed: 130 + k, filter: 'g' }, 'i16', ['IMAGETYP', 'DATE-OBS']);
    const obj = name(m++, 'o');
    write(dir, obj, B, truth, { name: 'x', type: 'object', exptime: 90, level: 5, stars, seed: 140, filter: 'g' }, 'i16', ['IMAGETYP', 'DATE-OBS']);

    const masters = await cli(['masters', '--in', dir, '--out', join(dir, 'masters'), '--camera-file', camFile, '--camera', 'lab-b'], join(tmp, 'b-masters.json'));
    expect(masters.code).toBe(0);
    expect(masters.report.frames).toMatchObject({ bias: 4, dark: 4, flat: 4, object: 1, unclassified: [] });
    expect(masters.report.masters.map((x: any) => [x.kind, x.filter ?? null, x.accepted, x.provenance?.overscan ?? null])).toEqual([['bias', null, true, null], ['dark', null, true, null], ['flat', 'g', true, null]]);
    // no overscan: the bias master holds the pedestal (1000 ADU + structure)
    expect(masters.report.masters[0].stats.level).toBeGreaterThan(1000);

    const cal = await cli(['calibrate', '--masters', join(dir, 'masters'), '--out', join(dir, 'cal'), '--camera-file', camFile, '--camera', 'lab-b', join(dir, obj)], join(tmp, 'b-cal.json'));
    expect(cal.code).toBe(0);
    expect(cal.report.frames[0].stats.overscan).toBe(0);
    const img = readImage(join(dir, 'cal', obj.replace('.fits', '-cal.fits')));
    for (const s of stars) expect(Math.abs(aperture(img.data as Float32Array, 300, s.x, s.y) / s.flux - 1)).toBeLessThan(0.01);
    expect(img.header.get('HISTORY')).toBeDefined();
    expect((img.header.getAll('HISTORY') as string[]).join('\n')).toContain('no overscan');
  });
});

describe('clear errors', () => {
  it('a folder of frames without any type: exit 1 naming why; an unknown camera name: the known ones', async () => {
    const dir = join(tmp, 'untyped');
    mkdirSync(dir, { recursive: true });
    const truth = makeTruth(B, { seed: 3 });
    for (let k = 0; k < 2; k++) write(dir, `frame-${k}.fits`, B, truth, { name: 'x', type: 'bias', exptime: 0, seed: k }, 'i16', ['IMAGETYP']);
    writeFileSync(camFile, JSON.stringify(CAMERAS));
    const errors: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(' '));
    try {
      expect(await gp1(['masters', '--in', dir, '--out', join(dir, 'm'), '--camera', `${camFile}#lab-b`, '--workers', '0'])).toBe(1);
    } finally {
      console.error = err;
    }
    expect(errors.join('\n')).toMatch(/no calibration frame \(bias, dark or flat\); 2 frame\(s\) unclassified, e\.g\. frame-0\.fits: no IMAGETYP/);
    await expect(gp1(['masters', '--in', dir, '--out', join(dir, 'm'), '--camera', `${camFile}#nope`, '--workers', '0'])).rejects.toThrow(/unknown camera 'nope' \(known: lab-a, lab-b, coatli/);
  });
});
