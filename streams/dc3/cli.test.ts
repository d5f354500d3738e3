import { describe, expect, it } from 'vitest';
import { dc3Succeeded } from './cli.ts';

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
