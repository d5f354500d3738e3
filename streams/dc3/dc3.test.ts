/**
 * DC3 end to end on the real stack with a short synthetic night (full COATLI frame size, 10 object
 * frames): the afterglow must come out as a candidate at every epoch, at its true position.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { stackReady, randomNamespace } from '../../lib/runtime/testing.ts';
import { runDc3 } from './run.ts';

const ready = await stackReady();

function sepArcsec(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const r = Math.PI / 180;
  const s = Math.sin(((dec2 - dec1) * r) / 2) ** 2 + Math.cos(dec1 * r) * Math.cos(dec2 * r) * Math.sin(((ra2 - ra1) * r) / 2) ** 2;
  return (2 * Math.asin(Math.sqrt(s))) / r * 3600;
}

describe.skipIf(!ready)('DC3 end to end', () => {
  it('finds the afterglow at every epoch of a synthetic night', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dc3-'));
    const s = (await runDc3({ out, namespace: randomNamespace('dc3'), camera: 'coatli', speed: 0, seed: 7, frames: 10, timeoutS: 240, log: () => {} })) as any;
    const truth = JSON.parse(readFileSync(join(out, 'night', 'truth.json'), 'utf8'));
    expect(s.frames.injected).toBeGreaterThanOrEqual(10 + 16);
    expect(s.epochs.map((e: any) => e.epochMinutes).sort((a: number, b: number) => a - b)).toEqual([5, 10, 30, 60]);
    expect(Object.values(s.dlq).every((n) => n === 0)).toBe(true);
    const { ra, dec } = truth.afterglow;
    expect(s.bestCandidate).not.toBeNull();
    expect(sepArcsec(s.bestCandidate.ra, s.bestCandidate.dec, ra, dec)).toBeLessThan(0.5);
    expect(s.bestCandidate.fadingIndex).toBeGreaterThan(0.8);
    expect(s.bestCandidate.fadingIndex).toBeLessThan(1.6);
  }, 300_000);
});
