import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config/platform.ts';
import { dc3Succeeded, replayRunDir } from './cli.ts';

const epoch = (epochMinutes: number, framesObserved: number, frames: number) => ({ epochMinutes, revision: 0, framesObserved, frames, candidates: 0, zeroPoint: null, limitingMag: null });

describe('gft dc3 exit status', () => {
  it('a late start (no frame observed by the first epochs) is no failure; frames observed and none usable is', () => {
    const late = [epoch(5, 0, 0), epoch(10, 0, 0), epoch(30, 8, 8), epoch(60, 20, 20)];
    expect(dc3Succeeded({ outcome: 'complete', epochs: late })).toBe(true);
    expect(dc3Succeeded({ outcome: 'complete', epochs: [epoch(5, 3, 0), ...late.slice(1)] })).toBe(false);
    expect(dc3Succeeded({ outcome: 'timeout', epochs: late })).toBe(false);
    expect(dc3Succeeded({ outcome: 'complete', epochs: [epoch(5, 0, 0), epoch(10, 0, 0)] })).toBe(false);
    expect(dc3Succeeded({ outcome: 'complete', epochs: [] })).toBe(false);
  });
});

describe('chain: an alert that triggers nothing ends the wait', () => {
  it('every decision is ignore/retract, no reference file, 2 s after the last decision', async () => {
    const { Chain } = await import('./chain.ts');
    const c = new Chain('ns', []);
    expect(c.notTriggered()).toBe(false); // nothing decided yet
    c.outputs.decisions.push({ burstId: 'sb1', action: 'ignore', reason: 'test packet', seenAt: Date.now() });
    expect(c.notTriggered()).toBe(false); // a reference file may still be on its way
    c.outputs.decisions[0].seenAt -= 2500;
    expect(c.notTriggered()).toBe(true);
    expect(await c.wait({ timeoutS: 5 })).toBe('not-triggered');
    c.outputs.decisions.push({ burstId: 'sb2', action: 'trigger', reason: 'observable', seenAt: Date.now() - 5000 });
    expect(c.notTriggered()).toBe(false);
    c.outputs.decisions.pop();
    c.outputs.references.set('sb1', [5, 10]);
    expect(c.notTriggered()).toBe(false);
  });
});

describe('gft dc3 summary: the replay command it suggests', () => {
  it('names the run folder when --out put summary.json elsewhere than out/<namespace>', () => {
    expect(replayRunDir('dc3-x', join(repoRoot, 'out', 'dc3-x', 'summary.json'))).toBe('');
    expect(replayRunDir('dc3-x', '/tmp/dc3out/summary.json')).toBe(' --run-dir /tmp/dc3out');
  });
});

describe('gft dc3 inputs are checked before the stack starts', () => {
  it('says what is wrong with --images/--alert/--catalog', async () => {
    const { mkdtempSync, writeFileSync, mkdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { checkDc3Inputs } = await import('./run.ts');
    const d = mkdtempSync(join(tmpdir(), 'dc3-in-'));
    mkdirSync(join(d, 'raw'));
    writeFileSync(join(d, 'raw', 'notes.txt'), 'x');
    writeFileSync(join(d, 'a.xml'), '<voe:VOEvent/>');
    writeFileSync(join(d, 'c.csv'), 'ra,dec,mag\n1,2,12\n');
    const check = (o: { images?: string; alert?: string; catalog?: string }) => checkDc3Inputs(o).then(() => 'ok', (e: Error) => e.message);
    expect(await check({})).toBe('ok');
    expect(await check({ catalog: join(d, 'c.csv') })).toMatch(/go with --images/);
    expect(await check({ images: join(d, 'raw') })).toMatch(/needs --alert/);
    expect(await check({ images: join(d, 'nope'), alert: join(d, 'a.xml'), catalog: join(d, 'c.csv') })).toMatch(/no such folder/);
    expect(await check({ images: join(d, 'c.csv'), alert: join(d, 'a.xml'), catalog: join(d, 'c.csv') })).toMatch(/not a folder/);
    expect(await check({ images: join(d, 'raw'), alert: join(d, 'a.xml'), catalog: join(d, 'c.csv') })).toMatch(/no FITS frames.*notes.txt/);
    writeFileSync(join(d, 'raw', 'f.fits'), 'not really');
    expect(await check({ images: join(d, 'raw'), alert: join(d, 'nope.xml'), catalog: join(d, 'c.csv') })).toMatch(/--alert: .*nope.xml/);
    expect(await check({ images: join(d, 'raw'), alert: join(d, 'a.xml'), catalog: join(d, 'nope.csv') })).toMatch(/--catalog: .*nope.csv/);
    writeFileSync(join(d, 'e.csv'), 'ra,dec,mag\n');
    expect(await check({ images: join(d, 'raw'), alert: join(d, 'a.xml'), catalog: join(d, 'e.csv') })).toMatch(/no star/);
    expect(await check({ images: join(d, 'raw'), alert: join(d, 'a.xml'), catalog: join(d, 'c.csv') })).toBe('ok');
  });
});
