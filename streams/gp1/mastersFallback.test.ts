/**
 * Issue 20 item 5: a night whose flats all fail the level rule (twilight too faint: 1800 and 900 ADU,
 * under the 2000-ADU floor). `gft gp1 masters` falls back on the bank's newest accepted flat of the same
 * camera, binning and filter, says so (warning, report `fromBank`), and `gft gp1 calibrate` records it
 * (report `otherNight`, header GP1FAGE); with no such flat in the bank it exits 1 and lists it as
 * `missing`. Small generator nights (1060 × 800, one object frame), ~10 s.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeaders } from '../../lib/fits/index.ts';
import { simulateNight } from '../provider/core/simulate/write.ts';
import { cameraArgs, quietly } from './skyNight.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gp1-fallback-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SMALL = { width: 1060, height: 800 };
const night = { seed: 29, camera: SMALL, frames: 1, flatLevels: [1800, 900] as [number, number], calibStart: '2019-10-16T00:40:00Z' };
const bankNight = { seed: 30, camera: SMALL, frames: 1, t0: '2019-10-14T08:30:00Z' };
let cam: string[];
const gp1 = async (args: string[]) => {
  const { run } = await import('./cli.ts');
  return quietly(() => run([...args, ...cam, '--workers', '0']));
};
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

beforeAll(async () => {
  await simulateNight({ ...night, out: join(tmp, 'night') });
  await simulateNight({ ...bankNight, out: join(tmp, 'bank-night') });
  cam = cameraArgs(tmp, night);
}, 60_000);

describe('gft gp1 masters when every flat of the night fails its rule (issue 20, item 5)', () => {
  it('no accepted flat in the bank: exit 1, a clear message, the flat listed as missing', async () => {
    const r = await gp1(['masters', '--in', join(tmp, 'night', 'raw'), '--out', join(tmp, 'alone'), '--report', join(tmp, 'alone.json')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/no master flat \(filter r\).*level-out-of-range.*has no accepted one to use instead/);
    const rep = json(join(tmp, 'alone.json'));
    expect(rep.missing.map((m: { kind: string; filter: string }) => `${m.kind} ${m.filter}`)).toContain('flat r');
    expect(rep.masters.find((m: { kind: string }) => m.kind === 'flat').accepted).toBe(false);
  }, 60_000);

  it('the bank holds an older night\'s flat: it is used, said in the warning, the report and the calibrated frame', async () => {
    const masters = join(tmp, 'masters');
    const b = await gp1(['masters', '--in', join(tmp, 'bank-night', 'raw'), '--out', masters, '--report', join(tmp, 'bank.json')]);
    expect(b.code, b.stderr).toBe(0);
    const bankFlat = json(join(tmp, 'bank.json')).masters.find((m: { kind: string }) => m.kind === 'flat');
    expect(bankFlat.accepted).toBe(true);

    const r = await gp1(['masters', '--in', join(tmp, 'night', 'raw'), '--out', masters, '--report', join(tmp, 'night.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`warning: the night's master flat \\(filter r\\) was not accepted .*level-out-of-range.*${bankFlat.name}`));
    const rep = json(join(tmp, 'night.json'));
    const flat = rep.masters.find((m: { kind: string }) => m.kind === 'flat');
    expect(flat.accepted).toBe(false);
    expect(flat.fromBank.name).toBe(bankFlat.name);
    expect(flat.fromBank.hoursBefore).toBeGreaterThan(24);
    expect(rep.missing).toEqual([]);

    const truth = json(join(tmp, 'night', 'truth.json'));
    const obj = truth.frames.find((f: { type: string }) => f.type === 'object').name;
    const c = await gp1(['calibrate', '--masters', masters, '--out', join(tmp, 'cal'), '--report', join(tmp, 'cal.json'), join(tmp, 'night', 'raw', obj)]);
    expect(c.code, c.stderr).toBe(0);
    const f = json(join(tmp, 'cal.json')).frames[0];
    expect(f.masters.flat.name).toBe(bankFlat.name);
    expect(f.masters.flat.otherNight).toBe(true);
    const out = f.out as string;
    expect(existsSync(out)).toBe(true);
    const hdr = readHeaders(out)[0].header;
    expect(hdr.get('GP1FLAT')).toBe(bankFlat.name);
    expect(hdr.get('GP1FAGE') as number).toBeLessThan(-24);
  }, 60_000);
});
