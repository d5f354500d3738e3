/**
 * The night on disk: files, manifest, byte-identical determinism, FITS read-back, VOEvent, catalog,
 * truth; the CLI. Small frames (256x192, 6 object frames) for speed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImage } from '../../../../lib/fits/index.ts';
import { planNight, renderFrame, type NightInput } from './night.ts';
import { simulateNight, type NightManifest } from './write.ts';
import { run } from '../../simulateCli.ts';

const SMALL: NightInput = { seed: 21, camera: { width: 256, height: 192 }, frames: 6 };
const root = mkdtempSync(join(tmpdir(), 'gft-sim-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('simulateNight', async () => {
  const dirA = join(root, 'a');
  const dirB = join(root, 'b');
  const dirC = join(root, 'c');
  const progress: number[] = [];
  const a = await simulateNight({ ...SMALL, out: dirA, onProgress: (p) => progress.push(p.done) });
  const b = await simulateNight({ ...SMALL, out: dirB });
  const c = await simulateNight({ ...SMALL, seed: 22, out: dirC });

  it('writes the frames, VOEvent, catalog, truth and a manifest with kinds, sizes and checksums', () => {
    expect(a.counts).toEqual({ bias: 10, dark: 10, flat: 8, object: 6, usableFlats: 6 });
    const kinds = new Set(a.files.map((f) => f.kind));
    for (const k of ['bias', 'dark', 'flat', 'object', 'voevent', 'catalog', 'truth']) expect(kinds.has(k as never)).toBe(true);
    for (const f of a.files) {
      const p = join(dirA, f.path);
      expect(existsSync(p)).toBe(true);
      expect(sha(p)).toBe(f.sha256);
      expect(readFileSync(p).length).toBe(f.bytes);
    }
    const onDisk = JSON.parse(readFileSync(join(dirA, 'manifest.json'), 'utf8')) as NightManifest;
    expect(onDisk.files).toEqual(a.files);
    expect(onDisk.ivorn).toBe('ivo://org.svom/fsc#sb19101601_mxt-initial_qf1');
    expect(a.files.filter((f) => f.kind === 'flat' && f.usable === false).map((f) => f.note)).toHaveLength(2);
    expect(progress.at(-1)).toBe(34);
  });

  it('is byte-identical for the same seed and differs for another seed', () => {
    expect(b.files.map((f) => [f.path, f.sha256])).toEqual(a.files.map((f) => [f.path, f.sha256]));
    expect(readFileSync(join(dirB, 'manifest.json'))).toEqual(readFileSync(join(dirA, 'manifest.json')));
    const objA = a.files.filter((f) => f.kind === 'object').map((f) => f.sha256);
    const objC = c.files.filter((f) => f.kind === 'object').map((f) => f.sha256);
    for (let i = 0; i < objA.length; i++) expect(objC[i]).not.toBe(objA[i]);
    expect(sha(join(dirC, 'catalog.csv'))).not.toBe(sha(join(dirA, 'catalog.csv')));
  });

  it('writes raw frames as unsigned 16-bit (BZERO 32768) that read back equal to the rendered pixels', () => {
    const plan = planNight(SMALL);
    for (const i of [0, 12, 22, plan.frames.length - 1]) {
      const f = plan.frames[i];
      const r = renderFrame(plan, i);
      const img = readImage(join(dirA, 'raw', f.name));
      expect(img.width).toBe(256);
      expect(img.height).toBe(192);
      expect(img.header.getNumber('BITPIX')).toBe(16);
      expect(img.header.getNumber('BZERO')).toBe(32768);
      expect(img.header.getString('IMAGETYP')).toBe(f.type);
      expect(img.header.getString('BIASSEC')).toBe('[221:256,1:192]');
      expect(img.header.getString('DATASEC')).toBe('[1:220,1:192]');
      expect(img.header.getNumber('GAIN')).toBe(6.2);
      let same = true;
      for (let k = 0; k < r.data.length; k++) if (img.data[k] !== r.data[k]) { same = false; break; }
      expect(same).toBe(true);
    }
  });

  it('writes a realistic SVOM MXT VOEvent at the alert position', () => {
    const xml = readFileSync(join(dirA, 'voevent.xml'), 'utf8');
    expect(xml).toContain('ivorn="ivo://org.svom/fsc#sb19101601_mxt-initial_qf1"');
    expect(xml).toContain('<Param name="Packet_Type" value="209" ucd="meta.id"/>');
    expect(xml).toContain('<Param name="Burst_Id" value="sb19101601" ucd="meta.id"/>');
    expect(xml).toContain('<ISOTime>2019-10-16T08:30:00.000000</ISOTime>');
    expect(xml).toContain(`<C1>${a.alert.ra.toFixed(4)}</C1>`);
    expect(xml).toContain(`<C2>${a.alert.dec.toFixed(4)}</C2>`);
    expect(xml).toContain('<Error2Radius>0.0500</Error2Radius>');
    expect(xml).toMatch(/<Date>2019-10-16T08:31:10\+00:00<\/Date>/);
  });

  it('writes the catalog cut at 18.5 and a truth with the afterglow light curve', () => {
    const lines = readFileSync(join(dirA, 'catalog.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('ra,dec,mag,band');
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines.slice(1)) {
      const [ra, dec, mag, band] = l.split(',');
      expect(Number(mag)).toBeLessThanOrEqual(18.5);
      expect(Number.isFinite(Number(ra)) && Number.isFinite(Number(dec))).toBe(true);
      expect(band).toBe('r');
    }
    const truth = JSON.parse(readFileSync(join(dirA, 'truth.json'), 'utf8'));
    expect(truth.format).toBe('gft-simulate-truth');
    expect(truth.frames).toHaveLength(34);
    const lc = truth.afterglow.lightcurve as Array<{ magMid: number; tMidSinceT0: number }>;
    expect(lc).toHaveLength(6);
    for (let i = 1; i < lc.length; i++) expect(lc[i].magMid).toBeGreaterThan(lc[i - 1].magMid);
    expect(truth.stars.filter((s: { catalog: unknown }) => s.catalog).length).toBe(lines.length - 1);
    expect(truth.photometry.zeroPoint).toBe(22.5);
    const obj = truth.frames.find((f: { type: string }) => f.type === 'object').object;
    expect(obj.stars.id.length).toBe(obj.stars.x.length);
    expect(obj.headerWcs.crval1).toBe(a.alert.ra);
  });

  it('refuses to mix two nights in one directory unless forced', async () => {
    await expect(simulateNight({ ...SMALL, t0: '2019-10-17T08:30:00Z', out: dirC })).rejects.toThrow(/another night/);
    const m = await simulateNight({ ...SMALL, t0: '2019-10-17T08:30:00Z', out: dirC, force: true, frames: 2, biasCount: 8, darkCount: 8 });
    expect(m.counts.object).toBe(2);
  });
});

describe('compressed object frames', async () => {
  const dir = join(root, 'z');
  let manifest: NightManifest | undefined;
  let reason = '';
  try {
    manifest = await simulateNight({ ...SMALL, frames: 2, out: dir, compress: true });
  } catch (err) {
    reason = (err as Error).message;
  }
  it.skipIf(!manifest)(`writes RICE .fits.fz that read back losslessly${reason ? ` (skipped: ${reason})` : ''}`, () => {
    const plan = planNight({ ...SMALL, frames: 2 });
    const objs = manifest!.files.filter((f) => f.kind === 'object');
    expect(objs.every((f) => f.path.endsWith('.fits.fz') && f.compressed)).toBe(true);
    const i = plan.frames.findIndex((f) => f.type === 'object');
    const img = readImage(join(dir, objs[0].path));
    const r = renderFrame(plan, i);
    let same = true;
    for (let k = 0; k < r.data.length; k++) if (img.data[k] !== r.data[k]) { same = false; break; }
    expect(same).toBe(true);
    const plain = manifest!.files.find((f) => f.kind === 'bias')!;
    expect(plain.path.endsWith('.fits')).toBe(true);
  });
});

describe('gft simulate night', () => {
  it('runs with options and reports usage errors', async () => {
    const out = join(root, 'cli');
    const errs: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    const log = console.log;
    console.log = () => {};
    (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (errs.push(String(s)), true);
    try {
      expect(await run(['night', '--out', out, '--seed', '3', '--width', '256', '--height', '192', '--frames', '3', '--bias', '8', '--darks', '8', '--afterglow-index', '0.9'])).toBe(0);
    } finally {
      (process.stderr as unknown as { write: typeof orig }).write = orig;
      console.log = log;
    }
    expect(errs.some((l) => /simulate: \d+\/\d+ frames/.test(l))).toBe(true);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as NightManifest;
    expect(m.options.afterglowIndex).toBe(0.9);
    expect(m.counts.object).toBe(3);
    await expect(run(['night'])).rejects.toThrow(/--out/);
    await expect(run(['night', '--out', out, '--bogus'])).rejects.toThrow(/unknown option/);
    await expect(run(['nights'])).rejects.toThrow(/unknown subcommand/);
    await expect(run(['night', '--out', join(root, 'bad'), '--cadence', '30'])).rejects.toThrow(/cadence/);
  });

  it('hard-skies options: seeing per frame, a star beside the afterglow, blend pairs, crowding, failing flats', async () => {
    const out = join(root, 'cli-hard');
    const log = console.log;
    console.log = () => {};
    try {
      expect(await run(['night', '--out', out, '--quiet', '--seed', '4', '--width', '256', '--height', '192', '--frames', '2', '--bias', '3', '--darks', '3', '--flats', '3',
        '--seeing-frames', '0.75,0.8', '--star-near-afterglow', '6,0,11', '--star-near-afterglow', '-2,2,13', '--blend-pairs', '3', '--blend-sep', '2,2.5', '--blend-mag', '18,18.2', '--crowding', '2', '--flat-levels', '1800,900'])).toBe(0);
    } finally {
      console.log = log;
    }
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as NightManifest;
    expect(m.options.seeingFrames).toEqual([0.75, 0.8]);
    expect(m.options.field.starsNearAfterglow).toEqual([{ east: 6, north: 0, mag: 11 }, { east: -2, north: 2, mag: 13 }]);
    expect(m.options.field.blendPairs).toEqual({ count: 3, sepArcsec: [2, 2.5], mag: [18, 18.2] });
    expect(m.options.field.starDensity).toBe(12000);
    expect(m.options.flatLevels).toEqual([1800, 900]);
    expect(m.counts.usableFlats).toBe(0);
    const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as { stars: { origin: string }[] };
    expect(truth.stars.filter((s) => s.origin === 'pair')).toHaveLength(6);
    await expect(run(['night', '--out', out, '--seeing-frames', '0.8,x'])).rejects.toThrow(/--seeing-frames/);
    await expect(run(['night', '--out', out, '--star-near-afterglow', '6,0'])).rejects.toThrow(/EAST,NORTH,MAG/);
    await expect(run(['night', '--out', out, '--flat-levels', '1800'])).rejects.toThrow(/--flat-levels/);
    await expect(run(['night', '--out', out, '--blend-pairs', '1.5'])).rejects.toThrow(/--blend-pairs/);
  });
});
