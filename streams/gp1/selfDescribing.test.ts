/**
 * Frames that describe themselves need no camera file (issue 16): raw frames of a camera the project
 * does not know (not a built-in size, `INSTRUME` unknown, overscan on the left) carrying BIASSEC,
 * DATASEC, GAIN, RDNOISE, SATURATE, IMAGETYP, FILTER, EXPTIME and DATE-OBS are calibrated by
 * `gft gp1 masters` / `gft gp1 calibrate` without `--camera`, and by the calibration stage's path
 * (buildNightMasters + FrameCalibrator with its default camera, as `gft dc3 --images` runs it) the same
 * way, to the same pixels — with a warning naming what came from the headers and what was assumed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage, writeFits, type FitsCard } from '../../lib/fits/index.ts';
import { run as gp1 } from './cli.ts';
import { CAMERAS, HEADER_CAMERA_DEFAULTS, resolveFrameCamera, type HeaderLike } from './core/camera.ts';
import { buildNightMasters, type FrameEntry } from './core/calibration/nightMasters.ts';
import { rawFrameHeader, readRawFrame } from './core/calibration/io.ts';
import type { Master } from './core/calibration/masters.ts';
import { FrameCalibrator } from './frameCalibrator.ts';
import { makeRawFrame, makeRng, makeTruth, type SyntheticCamera, type SyntheticStar, type Truth } from './core/calibration/synthetic.ts';

const hdr = (o: Record<string, string | number | boolean>): HeaderLike => ({ get: (k) => o[k] });

/** The issue's camera: 2220x1472, 36 overscan columns on the left, unknown INSTRUME, every detector keyword. */
const ISSUE = { INSTRUME: 'SKYCAM-7', BIASSEC: '[1:36,1:1472]', DATASEC: '[37:2220,1:1472]', GAIN: 1.4, RDNOISE: 7.5, SATURATE: 60000, IMAGETYP: 'LIGHT', FILTER: 'r', EXPTIME: 30, 'DATE-OBS': '2024-03-15T02:09:00' };

describe('resolveFrameCamera: one camera resolution for every GP1 entry point', () => {
  it("the issue's frame: a camera from its header, with what came from it and what was assumed", () => {
    const r = resolveFrameCamera({}, hdr(ISSUE), 2220, 1472)!;
    expect(r.source).toBe('header');
    expect(r.camera).toMatchObject({ name: 'skycam-7-2220x1472', width: 2220, height: 1472, overscan: { x1: 1, x2: 36, y1: 1, y2: 1472 }, data: { x1: 37, x2: 2220, y1: 1, y2: 1472 }, gain: 1.4, readNoise: 7.5, saturation: 60000, binning: '1x1' });
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/camera skycam-7-2220x1472 from its header — size 2220x1472, overscan BIASSEC \[1:36,1:1472\], data section DATASEC \[37:2220,1:1472\], gain GAIN = 1\.4 e-\/ADU, read noise RDNOISE = 7\.5 e-, saturation SATURATE = 60000 ADU, binning 1x1; assumed: the built-in thresholds/);
  });

  it('with the default camera configured (GFT_GP1_CAMERA=coatli, as gft dc3 runs) the same camera, and a note why coatli was not used', () => {
    const r = resolveFrameCamera({ camera: CAMERAS.coatli }, hdr(ISSUE), 2220, 1472)!;
    expect(r.source).toBe('header');
    expect(r.camera.name).toBe('skycam-7-2220x1472');
    expect(r.notes[0]).toMatch(/the configured camera coatli is 2184x1472: a 2220x1472 frame is not one of its frames/);
  });

  it('each detector value the header lacks is assumed and said so', () => {
    const { GAIN: _g, RDNOISE: _r, SATURATE: _s, DATASEC: _d, ...partial } = ISSUE;
    const r = resolveFrameCamera({}, hdr(partial), 2220, 1472)!;
    expect(r.camera).toMatchObject({ gain: HEADER_CAMERA_DEFAULTS.gain, readNoise: HEADER_CAMERA_DEFAULTS.readNoise, saturation: HEADER_CAMERA_DEFAULTS.saturation, data: { x1: 1, x2: 2220 } });
    expect(r.notes[0]).toMatch(/assumed: data section = the whole frame \[1:2220,1:1472\] \(no DATASEC\); gain 1 e-\/ADU \(no GAIN\/EGAIN\); read noise 10 e- \(no RDNOISE\/READNOIS\/RON\); saturation 65535 ADU \(no SATURATE\/SATLEVEL\)/);
    // synonyms count as the keyword
    expect(resolveFrameCamera({}, hdr({ EGAIN: 2, READNOIS: 4, SATLEVEL: 30000 }), 500, 400)!.camera).toMatchObject({ gain: 2, readNoise: 4, saturation: 30000 });
  });

  it('known cameras still win: configured when the frame fits it (binned too), else detected by keywords or size', () => {
    expect(resolveFrameCamera({ camera: CAMERAS.coatli }, hdr(ISSUE), 2184, 1472)).toMatchObject({ source: 'configured', notes: [] });
    expect(resolveFrameCamera({ camera: CAMERAS.coatli }, hdr({}), 1092, 736)).toMatchObject({ source: 'configured' });
    expect(resolveFrameCamera({}, hdr({ INSTRUME: 'RATIR' }), 1024, 1024)!.camera.name).toBe('ratir-c1');
    expect(resolveFrameCamera({}, hdr({}), 4192, 4096)!.camera.name).toBe('colibri-ddrago');
  });

  it('a frame that says nothing about its detector: null (the caller asks for a camera); a malformed one throws', () => {
    expect(resolveFrameCamera({}, hdr({ IMAGETYP: 'bias', INSTRUME: 'X' }), 500, 400)).toBeNull();
    expect(() => resolveFrameCamera({}, hdr({ DATASEC: '[1:600,1:400]' }), 500, 400)).toThrow(/outside 500x400/);
    expect(() => resolveFrameCamera({}, hdr({ BIASSEC: 'left' }), 500, 400)).toThrow(/malformed section/);
    expect(() => resolveFrameCamera({}, hdr({ GAIN: 'abc' }), 500, 400)).toThrow(/GAIN = 'abc' is not a number/);
  });
});

/** A smaller self-describing camera for the pixel runs: 444x296, overscan on the left. */
const C: SyntheticCamera = { width: 444, height: 296, overscan: { x1: 1, x2: 12, y1: 1, y2: 296 }, data: { x1: 13, x2: 444, y1: 1, y2: 296 }, gain: 2.2, readNoise: 5, saturation: 40000 };
const KEYS = { INSTRUME: 'NewCam', BIASSEC: '[1:12,1:296]', DATASEC: '[13:444,1:296]', GAIN: C.gain, RDNOISE: C.readNoise, SATURATE: C.saturation };

function normalisedTruth(seed: number): Truth {
  const t = makeTruth(C, { seed, nHot: 10, vignetting: 0.2 });
  const s = Float32Array.from(t.flat).sort();
  const med = (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  for (let i = 0; i < t.flat.length; i++) t.flat[i] /= med;
  return t;
}

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

describe('a night of a camera nobody configured: CLI and stage path alike', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gp1-selfdesc-'));
  const dir = join(tmp, 'raw');
  const truth = normalisedTruth(41);
  const rng = makeRng(3);
  const stars: SyntheticStar[] = [];
  for (let y = 40; y < 260; y += 70) for (let x = 40; x < 400; x += 80) stars.push({ x: x + 5 * rng.uniform(), y: y + 5 * rng.uniform(), flux: 1500 * (1 + rng.uniform()), fwhm: 3.2 });
  const objects = ['obj-0.fits', 'obj-1.fits'];
  let masters: { code: number; report: any; stderr: string };
  let cal: { code: number; report: any; stderr: string };

  async function cli(args: string[], report: string) {
    const errors: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(' '));
    let code: number;
    try {
      code = await gp1([...args, '--workers', '0', '--report', report]);
    } finally {
      console.error = err;
    }
    return { code, report: JSON.parse(readFileSync(report, 'utf8')), stderr: errors.join('\n') };
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const put = (name: string, spec: Parameters<typeof makeRawFrame>[2]) => {
      const f = makeRawFrame(C, truth, { ...spec, header: KEYS });
      const cards: FitsCard[] = Object.entries((f.header as unknown as { values: Record<string, string | number> }).values).map(([key, value]) => ({ key, value }));
      writeFileSync(join(dir, name), writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: f.width, height: f.height, data: f.data, cards }]));
    };
    for (let k = 0; k < 8; k++) put(`bias-${k}.fits`, { name: 'x', type: 'bias', exptime: 0, seed: 10 + k, dateObs: `2024-03-15T01:0${k}:00` });
    for (let k = 0; k < 8; k++) put(`dark-${k}.fits`, { name: 'x', type: 'dark', exptime: 60, seed: 20 + k, dateObs: `2024-03-15T01:1${k}:00` });
    for (let k = 0; k < 6; k++) put(`flat-${k}.fits`, { name: 'x', type: 'flat', exptime: 5, level: 600 + 100 * k, seed: 30 + k, dateObs: `2024-03-15T01:2${k}:00` });
    objects.forEach((n, k) => put(n, { name: 'x', type: 'object', exptime: 60, level: 6, stars, seed: 50 + k, dateObs: `2024-03-15T02:0${k}:00` }));
    masters = await cli(['masters', '--in', dir, '--out', join(tmp, 'masters')], join(tmp, 'masters.json'));
    cal = await cli(['calibrate', '--masters', join(tmp, 'masters'), '--out', join(tmp, 'cal'), ...objects.map((n) => join(dir, n))], join(tmp, 'cal.json'));
  }, 180_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('gft gp1 masters without --camera: the masters of camera newcam-444x296, a warning on stderr and in the report', () => {
    expect(masters.code, masters.stderr).toBe(0);
    expect(masters.report).toMatchObject({ camera: 'newcam-444x296', cameraSource: 'header' });
    expect(masters.report.masters.map((m: any) => [m.kind, m.accepted])).toEqual([['bias', true], ['dark', true], ['flat', true]]);
    expect(masters.report.masters[2].provenance).toMatchObject({ overscan: '[1:12,1:296]', dataSection: '[13:444,1:296]', camera: 'newcam-444x296' });
    expect(masters.stderr).toMatch(/gft gp1 masters: warning: no camera file describes this 444x296 frame: camera newcam-444x296 from its header — .*GAIN = 2\.2 e-\/ADU.*; assumed: the built-in thresholds/);
    expect(masters.report.cameraNotes).toEqual([expect.stringMatching(/from its header/)]);
  });

  it('gft gp1 calibrate without --camera: star fluxes within 1% of the truth', () => {
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.report.frames.map((f: any) => [f.ok, f.camera, f.cameraSource])).toEqual(objects.map(() => [true, 'newcam-444x296', 'header']));
    expect(cal.stderr.match(/warning: no camera file describes/g)).toHaveLength(1); // said once, not per frame
    for (const n of objects) {
      const img = readImage(join(tmp, 'cal', n.replace('.fits', '-cal.fits')));
      expect([img.width, img.height]).toEqual([432, 296]);
      for (const s of stars) expect(Math.abs(aperture(img.data as Float32Array, 432, s.x, s.y) / s.flux - 1)).toBeLessThan(0.01);
    }
  });

  it('the stage path (buildNightMasters + FrameCalibrator, default camera coatli) resolves the same camera and writes the same pixels', async () => {
    const entries: FrameEntry[] = [...Array(8).keys()].flatMap((k) => [`bias-${k}.fits`, `dark-${k}.fits`, ...(k < 6 ? [`flat-${k}.fits`] : [])]).map((n) => {
      const p = join(dir, n);
      return { name: n, ...rawFrameHeader(p), load: () => readRawFrame(p) };
    });
    const built: Master[] = [];
    const night = await buildNightMasters(entries, { camera: CAMERAS.coatli, onMaster: (r) => void (r.master && r.accepted && built.push(r.master)) });
    expect(night).toMatchObject({ camera: { name: 'newcam-444x296' }, cameraSource: 'header' });
    expect(night.cameraNotes[0]).toMatch(/the configured camera coatli is 2184x1472/);
    expect(built.length).toBe(3);
    const calibrator = FrameCalibrator.fromMasters(built.map((master) => ({ master, accepted: true })), 'coatli');
    for (const n of objects) {
      const bytes = readFileSync(join(dir, n));
      const r = calibrator.calibrate(bytes, basename(n), 'x');
      expect([r.camera, r.cameraSource]).toEqual(['newcam-444x296', 'header']);
      const stage = readImage(r.fits).data;
      const viaCli = readImage(join(tmp, 'cal', n.replace('.fits', '-cal.fits'))).data;
      expect(Buffer.from(stage.buffer, stage.byteOffset, stage.byteLength).equals(Buffer.from(viaCli.buffer, viaCli.byteOffset, viaCli.byteLength))).toBe(true);
    }
  });

  it('a folder whose frames say nothing of their detector still asks for a camera, saying what would do', async () => {
    const bare = join(tmp, 'bare');
    mkdirSync(bare, { recursive: true });
    const f = makeRawFrame(C, truth, { name: 'x', type: 'bias', exptime: 0, seed: 1 });
    writeFileSync(join(bare, 'b.fits'), writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: f.width, height: f.height, data: f.data, cards: [{ key: 'IMAGETYP', value: 'bias' }, { key: 'DATE-OBS', value: '2024-03-15T01:00:00' }] }]));
    const errors: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(' '));
    try {
      expect(await gp1(['masters', '--in', bare, '--out', join(tmp, 'm2'), '--workers', '0'])).toBe(2);
    } finally {
      console.error = err;
    }
    expect(errors.join('\n')).toMatch(/cannot tell the camera of a 444x296 frame: no known camera matches its keywords or size, and its header has none of BIASSEC, DATASEC, GAIN/);
  });
});
