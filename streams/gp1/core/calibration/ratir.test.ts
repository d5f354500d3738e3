/**
 * The real RATIR C1 frames of ../shared/data/fits (third-party data, not in the repo): masters,
 * rejections of the saturated and under-level flats, calibration of the object frame; and the
 * `gft gp1 masters|calibrate` commands on them. Skips with a message when the folder is absent.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../../../../lib/config/platform.ts';
import { readImage } from '../../../../lib/fits/index.ts';
import { CAMERAS, detectCamera } from '../camera.ts';
import { calibrateFrame, MASK } from './calibrate.ts';
import { readRawFrame } from './io.ts';
import { buildMasterBias, buildMasterDark, buildMasterFlat } from './masters.ts';

const DATA = resolve(repoRoot, '..', 'shared', 'data', 'fits');
const HAVE = existsSync(DATA) && readdirSync(DATA).some((f) => f.startsWith('RATIR'));
if (!HAVE) console.warn(`[gp1 calibration] SKIPPED RATIR tests: ${DATA} not found (third-party sample data lives outside the repo)`);

const files = HAVE ? readdirSync(DATA).filter((f) => f.startsWith('RATIR-GSFC_')).sort() : [];
const frames = (t: string) => files.filter((f) => f.endsWith(`C1${t}.fits`)).map((f) => readRawFrame(join(DATA, f)));
const camera = CAMERAS['ratir-c1'];
const SATURATED = 'RATIR-GSFC_20130716T031009C1f.fits';
const UNDER = 'RATIR-GSFC_20130716T032218C1f.fits';

describe.skipIf(!HAVE)('RATIR C1 sample frames', () => {
  it('the camera is detected from the header', () => {
    const f = frames('o')[0];
    expect(detectCamera(f.header, f.width, f.height)?.name).toBe('ratir-c1');
  });

  it('builds bias, dark and i flat; rejects the saturated and the under-level flat with their reasons', async () => {
    const bias = await buildMasterBias(frames('b'), { camera });
    // the camera asks for 8 frames: the shortfall is a rejection reason…
    expect(bias.accepted).toBe(false);
    expect(bias.issues).toEqual([{ reason: 'too-few-frames', detail: '3 usable bias frames, at least 8 required' }]);
    // …unless the operator lowers the minimum
    const b3 = await buildMasterBias(frames('b'), { camera, minFrames: 3 });
    expect(b3.accepted).toBe(true);
    expect(b3.master!.stats.level).toBe(640);
    expect(b3.master!.stats.nFrames).toBe(3);
    const dark = await buildMasterDark(frames('d'), { camera, minFrames: 3, bias: b3 });
    expect(dark.accepted).toBe(true);
    expect(dark.master!.stats.level).toBeGreaterThan(0.05); // (648 − 640)/80 s ≈ 0.1 ADU/s
    expect(dark.master!.stats.level).toBeLessThan(0.2);
    expect(dark.master!.stats.max).toBeGreaterThan(100); // the ~10 200-ADU hot pixels, in ADU/s
    const flat = await buildMasterFlat(frames('f'), { camera, minFrames: 3, bias: b3, dark });
    expect(flat.filter).toBe('i');
    expect(flat.accepted).toBe(true);
    expect(flat.master!.stats.nFrames).toBe(3);
    expect(flat.master!.stats.level).toBeCloseTo(1, 6);
    const why = Object.fromEntries(flat.rejections.map((r) => [r.name, r]));
    expect(Object.keys(why).sort()).toEqual([SATURATED, UNDER]);
    expect(why[SATURATED].reason).toBe('saturated');
    expect(why[SATURATED].detail).toMatch(/100\.0% of the pixels ≥ 16384 ADU/);
    expect(why[UNDER].reason).toBe('level-out-of-range');
    expect(why[UNDER].detail).toMatch(/level above bias 18\d\d ADU, outside 2000–7000 ADU/);
    expect(flat.master!.provenance.inputs.map((i) => Math.round(i.level / 100))).toEqual([61, 42, 25]);

    const cal = calibrateFrame(frames('o')[0], { bias: b3.master, dark: dark.master, flat: flat.master }, { camera });
    expect(cal.width).toBe(1024);
    expect(cal.stats.sky).toBeGreaterThan(0.2); // (646 − 640 − 0.1×10)/10 s ≈ 0.5 counts/s
    expect(cal.stats.sky).toBeLessThan(1);
    expect(cal.stats.nSaturated).toBe(23); // the 23 pixels at 16384 of the standard star
    expect(cal.stats.fwhm).toBeGreaterThan(2);
    expect(cal.stats.fwhm).toBeLessThan(8);
    let sat = 0;
    for (let i = 0; i < cal.mask.length; i++) if (cal.mask[i] & MASK.SATURATED) sat++;
    expect(sat).toBe(23);
  });
});

describe.skipIf(!HAVE)('gft gp1 masters / calibrate on the RATIR frames', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'gp1-cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    const { run } = await import('../../cli.ts');
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    try {
      const code = await run(args);
      return { code, out: logs.join('\n') };
    } finally {
      spy.mockRestore();
    }
  }

  it('without --min-frames every master is reported rejected with the shortfall; nothing is written', async () => {
    const out = join(tmp, 'strict');
    const r = await cli(['masters', '--in', DATA, '--out', out, '--workers', '0', '--strict']);
    expect(r.code).toBe(3);
    const rep = JSON.parse(r.out);
    expect(rep.camera).toBe('ratir-c1');
    expect(rep.frames).toMatchObject({ bias: 3, dark: 3, flat: 5, object: 1 });
    expect(rep.summary).toEqual({ masters: 3, accepted: 0, rejected: 3 });
    expect(rep.masters[0].issues[0]).toEqual({ reason: 'too-few-frames', detail: '3 usable bias frames, at least 8 required' });
    expect(readdirSync(out)).toEqual([]);
  });

  it('with --min-frames 3: writes three masters, then calibrates the object frame (workers)', async () => {
    const bank = join(tmp, 'bank');
    const r = await cli(['masters', '--in', DATA, '--out', bank, '--min-frames', '3', '--workers', '2']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.summary).toEqual({ masters: 3, accepted: 3, rejected: 0 });
    const flat = rep.masters.find((m: { kind: string }) => m.kind === 'flat');
    expect(flat.rejections.map((x: { name: string; reason: string }) => [x.name, x.reason])).toEqual([
      [SATURATED, 'saturated'],
      [UNDER, 'level-out-of-range'],
    ]);
    expect(flat.provenance.inputs).toHaveLength(3);
    expect(readdirSync(bank).sort()).toEqual([
      'master-bias-ratir-c1-2x2-20130716T032434.fits',
      'master-dark-ratir-c1-2x2-20130716T035735.fits',
      'master-flat-i-ratir-c1-2x2-20130716T031821.fits',
    ]);

    // a second run compares with the bank: same frames → within tolerances (an identical master is not
    // "previous": the bank compares with masters strictly older, so this run notes there is none)
    const again = JSON.parse((await cli(['masters', '--in', DATA, '--out', bank, '--min-frames', '3', '--workers', '0'])).out);
    expect(again.summary.accepted).toBe(3);

    const cal = join(tmp, 'cal');
    const obj = join(DATA, 'RATIR-GSFC_20130716T110553C1o.fits');
    const c = await cli(['calibrate', '--masters', bank, '--out', cal, obj]);
    expect(c.code).toBe(0);
    const crep = JSON.parse(c.out);
    expect(crep.summary).toEqual({ frames: 1, calibrated: 1, failed: 0 });
    const f = crep.frames[0];
    expect(f.masters.flat.name).toBe('master-flat-i-ratir-c1-2x2-20130716T031821');
    const img = readImage(f.out);
    expect(img.bitpix).toBe(-32);
    expect(img.header.get('BUNIT')).toBe('counts/s');
    expect(img.header.get('FILTER')).toBe('i'); // raw header carried over
    expect(img.header.get('BZERO')).toBeUndefined();
    expect(img.header.getAll('HISTORY').join('\n')).toContain(`sha256 ${f.masters.bias.sha256}`);
    const w = readImage(f.out, 'WEIGHT');
    const m = readImage(f.out, 'MASK');
    expect(w.width).toBe(1024);
    expect(m.bitpix).toBe(8);
    expect(readFileSync(f.out).length % 2880).toBe(0);
  });

  it('dispatches `detect` to streams/gp1/detectCli.ts', async () => {
    const r = await cli(['detect', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: gft gp1 detect/);
  });

  it('usage errors exit 2 through UsageError; unknown subcommands too', async () => {
    const { UsageError } = await import('../../../../lib/cli/args.ts');
    const { run } = await import('../../cli.ts');
    await expect(run(['masters', '--in', DATA])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['nope'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['calibrate', '--masters', tmp, '--out', tmp])).rejects.toThrow(/no FILE/);
  });
});
