/**
 * The generator options added for GP1's robustness matrix (streams/gp1/detectRobustness.test.ts):
 * explicit frame start times, headers without WCS, dead columns, stars placed next to the afterglow.
 * Each is absent by default, and absent means no change at all (write.test.ts checks the default
 * night byte for byte; here the plans with and without an option are compared where they must agree).
 */
import { describe, expect, it } from 'vitest';
import { angularSeparation } from '../../../../lib/wcs/index.ts';
import { planNight, renderFrame, frameCards, objectStarts, type NightInput } from './night.ts';

const SMALL: NightInput = { seed: 5, camera: { width: 256, height: 192 }, frames: 4, biasCount: 8, darkCount: 8, flatCount: 6 };

describe('generator options', () => {
  it('startTimes replaces the regular sequence; without it the sequence is startDelay + k·cadence', () => {
    expect(objectStarts({ frames: 3, cadence: 60, startDelay: 120 })).toEqual([120, 180, 240]);
    const plan = planNight({ ...SMALL, startTimes: [120, 240, 420, 900, 2400] });
    const obj = plan.frames.filter((f) => f.type === 'object');
    expect(obj.map((f) => (f.start - plan.t0) / 1000)).toEqual([120, 240, 420, 900, 2400]);
    expect(obj.map((f) => f.object!.tStart)).toEqual([120, 240, 420, 900, 2400]);
    expect(() => planNight({ ...SMALL, startTimes: [120, 150] })).toThrow(/less than one exposure/);
    expect(() => planNight({ ...SMALL, startTimes: [] })).toThrow(/empty/);
  });

  it('headerWcs: false writes object headers without WCS, keeping RA/DEC', () => {
    const plan = planNight({ ...SMALL, headerWcs: false });
    const f = plan.frames.find((x) => x.type === 'object')!;
    const keys = frameCards(plan, f).map((c) => c.key);
    expect(keys).not.toContain('CTYPE1');
    expect(keys).not.toContain('CD1_1');
    expect(keys).toContain('RA');
    const withWcs = frameCards(planNight(SMALL), planNight(SMALL).frames.find((x) => x.type === 'object')!).map((c) => c.key);
    expect(withWcs).toContain('CTYPE1');
  });

  it('badColumns dims whole data-section columns in the flat response, and nothing else', () => {
    const base = planNight(SMALL), dead = planNight({ ...SMALL, camera: { ...SMALL.camera, badColumns: [10, 100] } });
    const { width: W, height: H, dataX0 } = base.det.geo;
    let other = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const a = base.det.response[y * W + x], b = dead.det.response[y * W + x];
        if (x === dataX0 + 10 || x === dataX0 + 100) expect(b).toBeCloseTo(0.05 * a, 6);
        else if (a !== b) other++;
      }
    }
    expect(other).toBe(0);
    expect(() => planNight({ ...SMALL, camera: { ...SMALL.camera, badColumns: [5000] } })).toThrow(/outside the data section/);
  });

  it('starsNearAfterglow places stars at the given offsets from the afterglow, rendered in the frames', () => {
    const plan = planNight({ ...SMALL, field: { starsNearAfterglow: [{ east: 10, north: -8, mag: 9 }] } });
    const ag = plan.field.afterglow;
    const s = plan.field.stars.find((x) => Math.abs(angularSeparation(x.ra, x.dec, ag.ra, ag.dec) * 3600 - Math.hypot(10, 8)) < 0.01);
    expect(s).toBeDefined();
    expect(s!.mag).toBe(9);
    expect(s!.origin).toBe('bright');
    const i = plan.frames.findIndex((f) => f.type === 'object');
    const t = renderFrame(plan, i).truth.object!;
    expect(t.stars.some((x) => x.id === s!.id)).toBe(true);
    // the rest of the field is the same as without the option
    const base = planNight(SMALL);
    expect(plan.field.stars.length).toBe(base.field.stars.length + 1);
    expect(plan.field.afterglow).toEqual(base.field.afterglow);
  });
});
