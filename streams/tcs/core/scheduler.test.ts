/** The TCS's decisions (issue 15 point 5): each case on a simulated night at San Pedro Mártir. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TCS, TelescopeScheduler, constraintAt, type AlertEvent, type TcsOutput } from './scheduler.ts';
import { horizontal, lst, sunHorizontal } from './sky.ts';

const H = 3_600_000;
const NIGHT = Date.parse('2024-03-01T07:00:00Z'); // ~00:00 local time at SPM: dark
const meridian = (ms: number) => lst(ms); // an ICRS RA near the meridian then (precession: 0.3°)
const alert = (o: Partial<AlertEvent> & { at: number; burstId: string }): AlertEvent => ({
  type: 'alert', kind: 'trigger', t0: o.at - 60_000, ra: meridian(o.at), dec: 31, errorRadiusDeg: 0.05, mission: 'SVOM', instrument: 'ECLAIRs', ...o,
});
const of = <T extends TcsOutput['type']>(outs: TcsOutput[], type: T) => outs.filter((o): o is Extract<TcsOutput, { type: T }> => o.type === type);

describe('TCS scheduler', () => {
  it('a night alert: accepted, slew, then one exposure a minute (55 s + readout) at the position', () => {
    const s = new TelescopeScheduler();
    const a = alert({ at: NIGHT, burstId: 'sb24030101' });
    const outs = [...s.handle(a), ...s.advance(NIGHT + 20 * 60_000)];
    expect(of(outs, 'decision')[0]).toMatchObject({ accepted: true, reason: 'accepted', priority: 1, plan: { exptimeS: 55, count: 60, filters: ['r'] } });
    const slew = of(outs, 'slew')[0];
    expect(slew).toMatchObject({ start: NIGHT, reason: 'new block' });
    const exp = of(outs, 'exposure');
    expect(exp[0].start).toBe(slew.end);
    expect(exp.length).toBeGreaterThanOrEqual(18);
    expect(exp[1].start - exp[0].start).toBe(60_000);
    expect(exp.every((e) => e.burstId === 'sb24030101' && e.ra === a.ra && e.dec === a.dec)).toBe(true);
  });

  it('a daytime alert is held until the field is observable at night; refused when that is after the alert expires', () => {
    const day = Date.parse('2024-03-01T20:00:00Z'); // 13:00 local
    expect(sunHorizontal(day).alt).toBeGreaterThan(0);
    const ra = meridian(Date.parse('2024-03-02T07:00:00Z'));
    const s = new TelescopeScheduler();
    const d = of(s.handle(alert({ at: day, burstId: 'sb24030102', ra })), 'decision')[0];
    expect(d.accepted).toBe(true);
    expect(d.reason).toMatch(/^accepted, held: Sun above -12° until 2024-03-02T/);
    const exp = of(s.advance(day + 14 * H), 'exposure');
    expect(exp[0].start).toBeGreaterThanOrEqual(d.observableFrom!);
    expect(sunHorizontal(exp[0].start).alt).toBeLessThan(-12);
    expect(constraintAt(ra, 31, exp[0].start)).toBeNull();
    const late = new TelescopeScheduler({ ...DEFAULT_TCS, maxDelayH: 2 });
    expect(of(late.handle(alert({ at: day, burstId: 'sb24030103', ra })), 'decision')[0]).toMatchObject({ accepted: false, reason: 'Sun above -12° until the alert expires' });
  });

  it('refuses a field that never rises, an error radius larger than the field, an alert too late, and any alert while the weather is closed', () => {
    const s = new TelescopeScheduler();
    expect(horizontal(0, -80, NIGHT).alt).toBeLessThan(0);
    expect(of(s.handle(alert({ at: NIGHT, burstId: 'sb24030104', dec: -80 })), 'decision')[0]).toMatchObject({ accepted: false, reason: 'below the horizon until the alert expires' });
    expect(of(s.handle(alert({ at: NIGHT, burstId: 'sb24030105', errorRadiusDeg: 1.2 })), 'decision')[0]).toMatchObject({ accepted: false, reason: 'error radius too large (1.20° > 0.3°)' });
    expect(of(s.handle(alert({ at: NIGHT, burstId: 'sb24030106', t0: NIGHT - 30 * H })), 'decision')[0]).toMatchObject({ accepted: false, reason: 'alert too late (30.0 h after T0 > 24 h)' });
    s.handle({ type: 'weather', at: NIGHT, open: false, reason: 'humidity' });
    expect(of(s.handle(alert({ at: NIGHT + 1000, burstId: 'sb24030107' })), 'decision')[0]).toMatchObject({ accepted: false, reason: 'weather closed' });
  });

  it('a higher-priority alert interrupts the running block, which resumes after; a lower-priority one waits in the queue', () => {
    const s = new TelescopeScheduler();
    const outs = [...s.handle(alert({ at: NIGHT, burstId: 'sb24030110', mission: 'Fermi', instrument: 'GBM' })), ...s.advance(NIGHT + 10 * 60_000)];
    outs.push(...s.handle(alert({ at: NIGHT + 10 * 60_000, burstId: 'sb24030111', ra: meridian(NIGHT) + 20, dec: 20 })));
    outs.push(...s.handle(alert({ at: NIGHT + 12 * 60_000, burstId: 'sb24030112', mission: 'Swift', instrument: 'BAT', ra: meridian(NIGHT) - 10 })));
    outs.push(...s.advance(NIGHT + 5 * H));
    const blocks = of(outs, 'block').map((b) => `${b.burstId} ${b.state}`);
    expect(blocks).toEqual(['sb24030110 started', 'sb24030110 interrupted', 'sb24030111 started', 'sb24030111 done', 'sb24030112 started', 'sb24030112 done', 'sb24030110 resumed', 'sb24030110 done']);
    const exp = of(outs, 'exposure');
    const firstSvom = exp.findIndex((e) => e.burstId === 'sb24030111');
    expect(exp.slice(0, firstSvom).every((e) => e.burstId === 'sb24030110')).toBe(true);
    expect(exp.filter((e) => e.burstId === 'sb24030110').map((e) => e.index)).toEqual(Array.from({ length: 60 }, (_, i) => i)); // none lost, none twice
  });

  it('an update re-points the running block; a retraction stops it', () => {
    const s = new TelescopeScheduler();
    const a = alert({ at: NIGHT, burstId: 'sb24030120' });
    const outs = [...s.handle(a), ...s.advance(NIGHT + 5 * 60_000)];
    outs.push(...s.handle({ ...a, kind: 'update', at: NIGHT + 5 * 60_000, ra: a.ra + 0.05, dec: a.dec - 0.03 }));
    outs.push(...s.advance(NIGHT + 10 * 60_000));
    const slews = of(outs, 'slew');
    expect(slews.map((x) => x.reason)).toEqual(['new block', 're-point']);
    const exp = of(outs, 'exposure');
    expect(exp.filter((e) => e.start >= slews[1].end).every((e) => e.ra === a.ra + 0.05 && e.dec === a.dec - 0.03)).toBe(true);
    outs.push(...s.handle({ ...a, kind: 'cancel', at: NIGHT + 10 * 60_000 }));
    const after = s.advance(NIGHT + 2 * H);
    expect(of(outs, 'block').pop()).toMatchObject({ state: 'stopped', reason: 'retracted' });
    expect(of(after, 'exposure')).toEqual([]);
  });

  it('closed weather pauses the block mid-way; it resumes when the weather opens, with no exposure in between', () => {
    const s = new TelescopeScheduler();
    const outs = [...s.handle(alert({ at: NIGHT, burstId: 'sb24030130' })), ...s.advance(NIGHT + 10 * 60_000)];
    outs.push(...s.handle({ type: 'weather', at: NIGHT + 10 * 60_000, open: false, reason: 'wind' }));
    outs.push(...s.advance(NIGHT + 30 * 60_000));
    outs.push(...s.handle({ type: 'weather', at: NIGHT + 30 * 60_000, open: true }));
    outs.push(...s.advance(NIGHT + 40 * 60_000));
    expect(of(outs, 'block').map((b) => b.state)).toEqual(['started', 'paused', 'resumed']);
    const exp = of(outs, 'exposure');
    expect(exp.filter((e) => e.start >= NIGHT + 10 * 60_000 && e.start < NIGHT + 30 * 60_000)).toEqual([]);
    expect(exp.filter((e) => e.start >= NIGHT + 30 * 60_000).length).toBeGreaterThanOrEqual(9);
    expect(exp.map((e) => e.index)).toEqual(exp.map((_, i) => i));
  });

  it('is deterministic: the same events give the same timeline, advanced in one step or minute by minute', () => {
    const events = [alert({ at: NIGHT, burstId: 'sb24030140' }), alert({ at: NIGHT + 30 * 60_000, burstId: 'sb24030141', mission: 'Swift', instrument: 'BAT' })];
    const run = (step: number) => {
      const s = new TelescopeScheduler();
      const out: TcsOutput[] = [];
      for (const e of events) out.push(...s.handle(e));
      for (let t = NIGHT + 30 * 60_000; t <= NIGHT + 4 * H; t += step) out.push(...s.advance(t));
      out.push(...s.advance(NIGHT + 4 * H));
      return out;
    };
    expect(run(60_000)).toEqual(run(4 * H));
  });

  it('restored from its JSON snapshot at any point, it goes on with the same timeline (state in Kafka)', () => {
    const events = [alert({ at: NIGHT, burstId: 'sb24030150', mission: 'Fermi', instrument: 'GBM' }), alert({ at: NIGHT + 20 * 60_000, burstId: 'sb24030151' })];
    const whole = new TelescopeScheduler();
    const ref: TcsOutput[] = [];
    for (const e of events) ref.push(...whole.handle(e));
    ref.push(...whole.advance(NIGHT + 3 * H));
    for (const cut of [NIGHT + 5 * 60_000, NIGHT + 20 * 60_000 + 1, NIGHT + 90 * 60_000]) {
      let s = new TelescopeScheduler();
      const out: TcsOutput[] = [];
      let restored = false;
      const cutHere = () => {
        out.push(...s.advance(cut));
        s = TelescopeScheduler.restore(JSON.parse(JSON.stringify(s.snapshot()))); // a new instance from the changelog
        restored = true;
      };
      for (const e of events) {
        if (!restored && e.at > cut) cutHere();
        out.push(...s.handle(e));
      }
      if (!restored) cutHere();
      out.push(...s.advance(NIGHT + 3 * H));
      expect(out, `cut at +${(cut - NIGHT) / 60_000} min`).toEqual(ref);
    }
  });
});
