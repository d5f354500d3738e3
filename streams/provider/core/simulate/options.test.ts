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

  it('seeingFrames sets each object frame\'s seeing (the last value for later frames)', () => {
    const plan = planNight({ ...SMALL, frames: 4, seeingFrames: [0.75, 0.8] });
    const obj = plan.frames.filter((f) => f.type === 'object');
    expect(obj.map((f) => f.object!.seeing)).toEqual([0.75, 0.8, 0.8, 0.8]);
    const t = renderFrame(plan, obj[0].index).truth.object!;
    expect(t.seeingFwhmArcsec).toBe(0.75);
    expect(t.seeingFwhmPx).toBeCloseTo(0.75 / 0.34, 9);
    expect(() => planNight({ ...SMALL, seeingFrames: [0.8, -1] })).toThrow(/seeingFrames/);
    // without it: the smooth curve, inside its range
    for (const f of planNight(SMALL).frames.filter((x) => x.type === 'object')) expect(f.object!.seeing).toBeGreaterThanOrEqual(1.2);
  });

  it('blendPairs adds close pairs of faint stars near the alert, away from the afterglow; the other stars are the same', () => {
    const plan = planNight({ ...SMALL, field: { blendPairs: { count: 6, sepArcsec: [2, 3], mag: [18, 18.5], withinArcsec: 100 } } });
    const base = planNight(SMALL);
    const pairs = plan.field.stars.filter((s) => s.origin === 'pair');
    expect(pairs).toHaveLength(12);
    const key = (s: { ra: number; dec: number; mag: number }) => `${s.ra.toFixed(9)} ${s.dec.toFixed(9)} ${s.mag}`;
    expect(new Set(plan.field.stars.filter((s) => s.origin !== 'pair').map(key))).toEqual(new Set(base.field.stars.map(key)));
    const ag = plan.field.afterglow;
    for (const s of pairs) {
      expect(s.mag).toBeGreaterThanOrEqual(18);
      expect(s.mag).toBeLessThanOrEqual(18.5);
      expect(angularSeparation(s.ra, s.dec, plan.opts.ra, plan.opts.dec) * 3600).toBeLessThan(100 + 1.5);
      expect(angularSeparation(s.ra, s.dec, ag.ra, ag.dec) * 3600).toBeGreaterThan(8);
      // each has its partner 2–3″ away
      const d = Math.min(...pairs.filter((q) => q !== s).map((q) => angularSeparation(s.ra, s.dec, q.ra, q.dec) * 3600));
      expect(d).toBeGreaterThanOrEqual(2 - 1e-6);
      expect(d).toBeLessThanOrEqual(3 + 1e-6);
    }
  });

  it('flatLevels below the 2000 ADU floor make every usable flat unusable (a night whose flats all fail)', () => {
    const plan = planNight({ ...SMALL, flatLevels: [1800, 900] });
    const flats = plan.frames.filter((f) => f.type === 'flat');
    expect(flats).toHaveLength(SMALL.flatCount! + 2);
    expect(flats.filter((f) => f.usable)).toEqual([]);
    expect(flats.slice(1, -1).map((f) => Math.round(f.flatLevel!))).toEqual([1800, 1620, 1440, 1260, 1080, 900]);
    expect(flats[1].note).toMatch(/under-level/);
    // default: 6 usable between 6200 and 2800
    expect(planNight(SMALL).frames.filter((f) => f.type === 'flat' && f.usable)).toHaveLength(6);
    expect(() => planNight({ ...SMALL, flatLevels: [1800] as never })).toThrow(/flatLevels/);
  });
});
