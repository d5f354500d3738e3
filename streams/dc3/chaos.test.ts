import { describe, it, expect } from 'vitest';
import { killSchedule } from './chaos.ts';
import { CHAIN } from './chain.ts';

describe('gft chaos schedule', () => {
  it('is the same for the same seed, spreads the kills over the window and over every stage', () => {
    const a = killSchedule(1, 20, 2, 60_000);
    expect(killSchedule(1, 20, 2, 60_000)).toEqual(a);
    expect(killSchedule(2, 20, 2, 60_000)).not.toEqual(a);
    expect(a).toHaveLength(20);
    expect(a.map((k) => k.at)).toEqual([...a.map((k) => k.at)].sort((x, y) => x - y));
    expect(a.every((k) => k.at >= 3000 && k.at <= 60_000)).toBe(true);
    expect(new Set(a.map((k) => k.stage))).toEqual(new Set(CHAIN));
    const perStage = CHAIN.map((s) => a.filter((k) => k.stage === s).length);
    expect(Math.max(...perStage) - Math.min(...perStage)).toBeLessThanOrEqual(1);
    expect(a.every((k) => k.instance >= 1 && k.instance <= 2 && k.restartAfter >= 500 && k.restartAfter <= 4000)).toBe(true);
  });
});
