import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/config/platform.ts';
import { parseVoevent, type ParsedAlert } from './parse.ts';
import { applyAlert, applyAll, betterPosition, restoreState, emptyState, DEFAULT_MANAGER_CONFIG, type BurstState, type Decision, type ManagerConfig } from './manager.ts';
import { svomNotice, svomIvorn, type SyntheticNotice } from './fixtures.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const have = existsSync(dir);
if (!have) console.warn(`SKIPPED real-VOEvent manager tests: ${dir} is missing (shared sample data not checked out)`);
const load = (f: string) => parseVoevent(readFileSync(join(dir, f)));

const F = {
  e299: 'gcn-notice-parser_svom_eclairs_299.xml',
  e300: 'gcn-notice-parser_svom_eclairs_300.xml',
  mxt40: 'gcn-notice-parser_svom_mxt_40.xml',
  e303: 'gcn-notice-parser_svom_eclairs_303.xml',
  e304: 'gcn-notice-parser_svom_eclairs_304.xml',
  g284: 'gcn-notice-parser_svom_grm_284.xml',
  g285: 'gcn-notice-parser_svom_grm_285.xml',
  g286: 'gcn-notice-parser_svom_grm_286.xml',
  g330: 'gcn-notice-parser_svom_grm_330.xml',
  cat: 'gcn-notice-parser_svom_svom_voevent_sb25091702_eclairs-catalog.xml',
  swiftTest: 'gcn-notice-parser_swift_bat_grb_pos_test_9264.xml',
  bat: 'voevent-parse_SWIFT_bat_position_v2.0_example.xml',
  xrt: 'voevent-parse_SWIFT_xrt_position_v1.1_example.xml',
  broker: 'voevent-parse_no_namespace_packet.xml',
};

/** Applies alerts in order to fresh states; returns decisions and the final states. */
function run(alerts: ParsedAlert[], cfg: Partial<ManagerConfig> = {}) {
  const states = new Map<string, BurstState>();
  const decisions = applyAll(states, alerts, cfg);
  return { decisions, states };
}
const brief = (d: Decision) => ({ action: d.action, rule: d.rule, reason: d.reason, outputs: d.outputs });
const syn = (n: SyntheticNotice) => parseVoevent(svomNotice(n));

describe('each real packet applied to an empty state', () => {
  const cases: [keyof typeof F, Partial<Decision>][] = [
    ['e299', { action: 'trigger', rule: 'trigger', reason: 'observable: ECLAIRs position, error 0.0981°' }],
    ['e300', { action: 'trigger', rule: 'trigger', reason: 'observable: ECLAIRs position, error 0.0854°' }],
    ['mxt40', { action: 'trigger', rule: 'trigger', reason: 'observable: MXT position, error 0.0643°' }],
    ['e303', { action: 'trigger', rule: 'trigger', reason: 'observable: ECLAIRs position, error 0.1515°' }], // Slew_Status=rejected: still observable from the ground
    ['e304', { action: 'retract', rule: 'retraction', reason: 'retraction before any trigger: nothing to cancel', outputs: [] }],
    ['g284', { action: 'ignore', rule: 'no-position', reason: 'waiting for position', outputs: [] }],
    ['g285', { action: 'ignore', rule: 'no-position', reason: 'waiting for position', outputs: [] }],
    ['g286', { action: 'retract', rule: 'retraction', reason: 'retraction before any trigger: nothing to cancel', outputs: [] }],
    ['g330', { action: 'ignore', rule: 'unknown-error', reason: 'waiting for position: error radius unknown (Error2Radius -1)', outputs: [] }],
    ['cat', { action: 'ignore', rule: 'known-source', reason: 'catalog trigger (203): known source, no burst follow-up', outputs: [] }],
    ['swiftTest', { action: 'ignore', rule: 'test', reason: 'test packet (recorded, never triggers)', outputs: [] }],
    ['bat', { action: 'trigger', rule: 'trigger', reason: 'observable: BAT position, error 0.05°' }],
    ['xrt', { action: 'trigger', rule: 'trigger', reason: 'observable: XRT position, error 0.0009°' }],
    ['broker', { action: 'ignore', rule: 'test', reason: 'test packet (recorded, never triggers)', outputs: [] }],
  ];
  it.skipIf(!have).each(cases)('%s', (key, expected) => {
    const a = load(F[key]);
    const d = applyAlert(undefined, a);
    expect(d).toMatchObject(expected);
    if (d.action === 'trigger') {
      expect(d.outputs).toEqual([
        { kind: 'reference', burstId: a.burstId, version: 1 },
        { kind: 'trigger', burstId: a.burstId, version: 1 },
      ]);
      expect(d.state).toMatchObject({ triggered: true, referenceVersion: 1, best: { ivorn: a.ivorn, ra: a.ra, dec: a.dec, errorRadiusDeg: a.errorRadiusDeg } });
    }
    expect(d.state.notices).toEqual([expect.objectContaining({ seq: 1, ivorn: a.ivorn, action: d.action, rule: d.rule })]);
  });
});

describe.skipIf(!have)('real sequences', () => {
  it('sb26022501: eclairs_299 → 300 → mxt_40: trigger, then updates, the MXT position wins', () => {
    const { decisions, states } = run([load(F.e299), load(F.e300), load(F.mxt40)]);
    expect(decisions.map(brief)).toEqual([
      { action: 'trigger', rule: 'trigger', reason: 'observable: ECLAIRs position, error 0.0981°', outputs: [{ kind: 'reference', burstId: 'sb26022501', version: 1 }, { kind: 'trigger', burstId: 'sb26022501', version: 1 }] },
      {
        action: 'update', rule: 'update',
        reason: 'better position from ECLAIRs (error 0.0854°); T0 2026-02-25T08:51:04.859Z → 2026-02-25T08:50:57.169Z',
        outputs: [{ kind: 'reference', burstId: 'sb26022501', version: 2 }, { kind: 'update', burstId: 'sb26022501', version: 2 }],
      },
      { action: 'update', rule: 'update', reason: 'better position from MXT (error 0.0643°)', outputs: [{ kind: 'reference', burstId: 'sb26022501', version: 3 }, { kind: 'update', burstId: 'sb26022501', version: 3 }] },
    ]);
    const s = states.get('sb26022501')!;
    expect(s).toMatchObject({
      burstId: 'sb26022501', mission: 'SVOM', triggered: true, retracted: false, catalog: false, referenceVersion: 3,
      // T0: the refined ECLAIRs trigger time of the slewing notice, not the MXT observation time (09:36:39.104)
      t0: '2026-02-25T08:50:57.169Z', t0Kind: 'trigger', t0Ivorn: 'ivo://org.svom/fsc#sb26022501_slewing',
      best: { ivorn: 'ivo://org.svom/fsc#sb26022501_mxt-initial_qf1', instrument: 'MXT', ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643 },
      issued: { version: 3, t0: '2026-02-25T08:50:57.169Z', ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643 },
    });
    expect(s.notices.map((n) => [n.seq, n.packetType, n.action])).toEqual([[1, 202, 'trigger'], [2, 204, 'update'], [3, 209, 'update']]);
  });

  it('sb26022501 in another arrival order ends in the same best position and T0', () => {
    const canonical = run([load(F.e299), load(F.e300), load(F.mxt40)]).states.get('sb26022501')!;
    const { decisions, states } = run([load(F.mxt40), load(F.e300), load(F.e299)]);
    // MXT first: triggers on a provisional T0 (its own observation time), then the trigger time arrives
    expect(decisions.map((d) => d.action)).toEqual(['trigger', 'update', 'ignore']);
    expect(decisions[0].state).toMatchObject({ t0: '2026-02-25T09:36:39.104Z', t0Kind: 'provisional' });
    expect(decisions[1].reason).toBe('T0 2026-02-25T09:36:39.104Z → 2026-02-25T08:50:57.169Z');
    expect(decisions[2].reason).toBe('no change to best position or T0'); // a later wakeup time is not earlier, a worse ECLAIRs error loses
    const s = states.get('sb26022501')!;
    expect([s.t0, s.best]).toEqual([canonical.t0, canonical.best]);
  });

  it('sb26030408: eclairs_303 triggers, retraction 304 cancels; later notices change nothing', () => {
    const r303 = load(F.e303);
    const late = { ...r303, ivorn: `${r303.ivorn}-late` };
    const { decisions, states } = run([r303, load(F.e304), load(F.e303), load(F.e304), late]);
    expect(decisions.map(brief)).toEqual([
      expect.objectContaining({ action: 'trigger' }),
      { action: 'retract', rule: 'retraction', reason: 'retraction: GP1 work cancelled', outputs: [{ kind: 'cancel', burstId: 'sb26030408', version: 1 }] },
      { action: 'ignore', rule: 'duplicate', reason: 'duplicate', outputs: [] },
      { action: 'ignore', rule: 'duplicate', reason: 'duplicate', outputs: [] },
      { action: 'ignore', rule: 'retracted', reason: 'burst retracted earlier', outputs: [] },
    ]);
    expect(states.get('sb26030408')).toMatchObject({ triggered: true, retracted: true, referenceVersion: 1 });
  });

  it('sb26020402: grm_285 (no position) waits, retraction 286 (Instrument=ECLAIRs from GRM) just marks it retracted', () => {
    const { decisions, states } = run([load(F.g285), load(F.g286)]);
    expect(decisions.map(brief)).toEqual([
      { action: 'ignore', rule: 'no-position', reason: 'waiting for position', outputs: [] },
      { action: 'retract', rule: 'retraction', reason: 'retraction before any trigger: nothing to cancel', outputs: [] },
    ]);
    const s = states.get('sb26020402')!;
    expect(s).toMatchObject({ triggered: false, retracted: true, referenceVersion: 0, best: null, t0: '2026-02-04T12:08:18.000Z' });
    // the retraction's own position is never used
    expect(s.notices.map((n) => n.instrument)).toEqual(['GRM', 'ECLAIRs']);
  });

  it('grm_284: two-detector GRM trigger, no position at all', () => {
    const d = applyAlert(undefined, load(F.g284));
    expect(d.state).toMatchObject({ best: null, t0: '2026-02-04T10:11:30.000Z', t0Kind: 'trigger', triggered: false });
  });

  it('grm_330: Error2Radius -1 is unknown: no trigger; T0 from Alert_Seq_T0; a later ECLAIRs position triggers', () => {
    const g = load(F.g330);
    const d1 = applyAlert(undefined, g, { maxErrorRadiusDeg: 180 }); // even with no limit at all: unknown is not observable
    expect(d1).toMatchObject({ action: 'ignore', rule: 'unknown-error' });
    expect(d1.state).toMatchObject({ t0: '2026-04-21T00:24:03.000Z', t0Kind: 'alert-seq', best: { instrument: 'GRM', errorRadiusDeg: null } });
    const ecl = syn({ burstId: 'sb26042101', packetType: 202, instrument: 'ECLAIRs', isoTime: '2026-04-21T00:24:01.500000', ra: 171.6, dec: -40.9, error: 0.12 });
    const d2 = applyAlert(d1.state, ecl);
    expect(d2).toMatchObject({ action: 'trigger', reason: 'observable: ECLAIRs position, error 0.12°' });
    // the FSC's Alert_Seq_T0 stays the T0 even though the ECLAIRs window starts earlier
    expect(d2.state).toMatchObject({ t0: '2026-04-21T00:24:03.000Z', best: { instrument: 'ECLAIRs', ra: 171.6 } });
  });

  it('catalog trigger 203 is ignored, and so is everything after it for that burst', () => {
    const c = load(F.cat);
    const d1 = applyAlert(undefined, c);
    expect(d1.state).toMatchObject({ catalog: true, triggered: false, best: null });
    const slew = syn({ burstId: 'sb25091702', packetType: 204, instrument: 'ECLAIRs', ra: 256.56, dec: -43.04, error: 0.05 });
    expect(applyAlert(d1.state, slew)).toMatchObject({ action: 'ignore', rule: 'catalog', reason: 'known source: no burst follow-up' });
  });

  it('Swift test 9264 never triggers, whatever the limit, and is recorded', () => {
    const d = applyAlert(undefined, load(F.swiftTest), { maxErrorRadiusDeg: 180 });
    expect(d).toMatchObject({ action: 'ignore', rule: 'test', outputs: [] });
    expect(d.state).toMatchObject({ burstId: 'swift-99999', triggered: false, best: null, t0: null, notices: [{ isTest: true, rule: 'test' }] });
  });

  it('Swift BAT then XRT of another trigger stay separate bursts; XRT of the same burst would update', () => {
    const bat = load(F.bat);
    const xrtSame = { ...load(F.xrt), burstId: bat.burstId };
    const { decisions } = run([bat, xrtSame]);
    expect(decisions.map((d) => d.action)).toEqual(['trigger', 'update']);
    expect(decisions[1].state.best).toMatchObject({ instrument: 'XRT', errorRadiusDeg: 0.0009 });
  });

  it('duplicates (same IVORN) produce nothing and leave the state untouched', () => {
    const a = load(F.e299);
    const d1 = applyAlert(undefined, a);
    const d2 = applyAlert(d1.state, a);
    expect(brief(d2)).toEqual({ action: 'ignore', rule: 'duplicate', reason: 'duplicate', outputs: [] });
    expect(d2.state).toBe(d1.state);
  });

  it('replaying all 14 packets twice gives identical decisions and states; states survive JSON', () => {
    const all = Object.values(F).map(load);
    const r1 = run(all);
    const r2 = run(Object.values(F).map(load));
    expect(JSON.stringify(r2.decisions)).toBe(JSON.stringify(r1.decisions));
    expect(JSON.stringify([...r2.states])).toBe(JSON.stringify([...r1.states]));
    // continuing from states read back from JSON (the compacted topic) gives the same decisions
    const half = Math.floor(all.length / 2);
    const first = run(all.slice(0, half));
    const restored = new Map([...first.states].map(([k, v]) => [k, restoreState(JSON.stringify(v))!]));
    const rest = applyAll(restored, all.slice(half));
    expect(JSON.stringify([...first.decisions, ...rest])).toBe(JSON.stringify(r1.decisions));
    // and replaying the whole sequence again on top of the final states only finds duplicates
    expect(applyAll(new Map(r1.states), all).every((d) => d.rule === 'duplicate')).toBe(true);
  });

  it('a tighter error limit stops the ECLAIRs trigger of 303 (0.1515°)', () => {
    expect(applyAlert(undefined, load(F.e303), { maxErrorRadiusDeg: 0.1 })).toMatchObject({ action: 'ignore', rule: 'error-too-large', reason: 'error radius 0.1515° above the 0.1° limit' });
  });
});

describe('rules on synthetic notices (no shared data needed)', () => {
  const B = 'sb26010101';
  const n = (o: Partial<SyntheticNotice> & Pick<SyntheticNotice, 'packetType' | 'instrument'>) => syn({ burstId: B, isoTime: '2026-01-01T00:00:10.000000', ...o });

  it('default error limit is 0.3° (half-diagonal of the 26′ COLIBRI field) and is inclusive', () => {
    expect(DEFAULT_MANAGER_CONFIG.maxErrorRadiusDeg).toBe(0.3);
    expect(applyAlert(undefined, n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.3 })).action).toBe('trigger');
    expect(applyAlert(undefined, n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.31 }))).toMatchObject({ action: 'ignore', rule: 'error-too-large' });
  });

  it('best position: known error beats unknown, then MXT > ECLAIRs > GRM, then the smaller error', () => {
    const grm = n({ packetType: 201, instrument: 'GRM', ra: 10, dec: 10, error: -1 });
    const grmKnown = n({ type: 'grm-x', packetType: 201, instrument: 'GRM', ra: 11, dec: 11, error: 5 });
    const eclBig = n({ packetType: 202, instrument: 'ECLAIRs', ra: 12, dec: 12, error: 0.2 });
    const eclSmall = n({ packetType: 205, instrument: 'ECLAIRs', ra: 13, dec: 13, error: 0.1 });
    const eclWorse = n({ type: 'eclairs-x', packetType: 204, instrument: 'ECLAIRs', ra: 14, dec: 14, error: 0.15 });
    const mxt = n({ packetType: 209, instrument: 'MXT', ra: 15, dec: 15, error: 0.02 });
    const mxtBigger = n({ type: 'mxt-update_qf2', packetType: 210, instrument: 'MXT', ra: 16, dec: 16, error: 0.03 });
    const { decisions, states } = run([grm, grmKnown, eclBig, eclSmall, eclWorse, mxt, mxtBigger]);
    expect(decisions.map((d) => [d.action, d.rule])).toEqual([
      ['ignore', 'unknown-error'],
      ['ignore', 'error-too-large'], // a known error (5°) beats the unknown one, but is above the limit
      ['trigger', 'trigger'],
      ['update', 'update'],
      ['ignore', 'no-change'],
      ['update', 'update'],
      ['ignore', 'no-change'],
    ]);
    expect(states.get(B)!.best).toMatchObject({ instrument: 'MXT', ra: 15, errorRadiusDeg: 0.02 });
    expect(betterPosition({ ivorn: 'a', instrument: 'GRM', rank: 1, ra: 0, dec: 0, errorRadiusDeg: 1 }, { ivorn: 'b', instrument: 'MXT', rank: 4, ra: 0, dec: 0, errorRadiusDeg: null })).toBe(true);
    // a full tie keeps the incumbent
    expect(betterPosition({ ivorn: 'a', instrument: 'MXT', rank: 4, ra: 1, dec: 0, errorRadiusDeg: 0.1 }, { ivorn: 'b', instrument: 'MXT', rank: 4, ra: 0, dec: 0, errorRadiusDeg: 0.1 })).toBe(false);
  });

  it('updates only when the position or T0 the reference file holds changed', () => {
    const w = n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 });
    const sameAgain = n({ packetType: 205, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 }); // another IVORN, same numbers
    const laterTime = n({ type: 'x', packetType: 204, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.2, isoTime: '2026-01-01T00:00:20' });
    const earlierTime = n({ type: 'y', packetType: 204, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.2, isoTime: '2026-01-01T00:00:05' });
    const { decisions } = run([w, sameAgain, laterTime, earlierTime]);
    expect(decisions.map((d) => d.reason)).toEqual([
      'observable: ECLAIRs position, error 0.1°',
      'no change to best position or T0',
      'no change to best position or T0',
      'T0 2026-01-01T00:00:10.000Z → 2026-01-01T00:00:05.000Z',
    ]);
    expect(decisions[3].outputs).toEqual([{ kind: 'reference', burstId: B, version: 2 }, { kind: 'update', burstId: B, version: 2 }]);
  });

  it('a retraction found only through cite="retraction" counts; a second one is ignored', () => {
    const w = n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 });
    const r = n({ type: 'not-a-219', packetType: 205, instrument: 'ECLAIRs', cites: [{ ivorn: svomIvorn(B, 'eclairs-wakeup'), type: 'retraction' }] });
    const r2 = n({ packetType: 219, instrument: 'ECLAIRs' });
    const { decisions } = run([w, r, r2]);
    expect(decisions.map((d) => [d.action, d.reason])).toEqual([
      ['trigger', 'observable: ECLAIRs position, error 0.1°'],
      ['retract', 'retraction: GP1 work cancelled'],
      ['ignore', 'already retracted'],
    ]);
  });

  it('a retraction before anything else marks the burst; later notices never trigger', () => {
    const { decisions } = run([n({ packetType: 219, instrument: 'ECLAIRs' }), n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 })]);
    expect(decisions.map((d) => d.rule)).toEqual(['retraction', 'retracted']);
  });

  it('a known-source notice after a trigger cancels it', () => {
    const { decisions } = run([n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 }), n({ packetType: 203, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 })]);
    expect(brief(decisions[1])).toEqual({ action: 'retract', rule: 'known-source', reason: 'catalog trigger (203): known source: GP1 work cancelled', outputs: [{ kind: 'cancel', burstId: B, version: 1 }] });
  });

  it('test packets of a real burst are recorded without touching its position or T0', () => {
    const t = n({ type: 'test', packetType: 209, instrument: 'MXT', ra: 50, dec: 50, error: 0.01, role: 'test', isoTime: '2025-01-01T00:00:00' });
    const w = n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 });
    const { decisions, states } = run([t, w]);
    expect(decisions.map((d) => d.rule)).toEqual(['test', 'trigger']);
    expect(states.get(B)).toMatchObject({ t0: '2026-01-01T00:00:10.000Z', best: { instrument: 'ECLAIRs', ra: 1 } });
  });

  it('utility/prediction roles never trigger', () => {
    expect(applyAlert(undefined, n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1, role: 'utility' }))).toMatchObject({ action: 'ignore', rule: 'not-observation', reason: 'role utility: not an observation' });
  });

  it('a position without any time waits for T0', () => {
    expect(applyAlert(undefined, n({ packetType: 209, instrument: 'MXT', ra: 1, dec: 1, error: 0.01, isoTime: null }))).toMatchObject({ action: 'ignore', rule: 'no-t0' });
  });

  it('the state is bounded: notices past maxNoticesPerBurst are ignored', () => {
    const alerts = Array.from({ length: 5 }, (_, i) => n({ type: `n${i}`, packetType: 201, instrument: 'GRM' }));
    const { decisions, states } = run(alerts, { maxNoticesPerBurst: 3 });
    expect(decisions.map((d) => d.rule)).toEqual(['no-position', 'no-position', 'no-position', 'too-many', 'too-many']);
    expect(states.get(B)!.notices).toHaveLength(3);
  });

  it('never mutates the previous state; refuses a state of another burst', () => {
    const d1 = applyAlert(undefined, n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 }));
    const frozen = JSON.stringify(d1.state);
    applyAlert(d1.state, n({ packetType: 209, instrument: 'MXT', ra: 1.01, dec: 1, error: 0.01 }));
    expect(JSON.stringify(d1.state)).toBe(frozen);
    expect(() => applyAlert(emptyState('sb00000000'), n({ packetType: 202, instrument: 'ECLAIRs' }))).toThrow(/another|state of burst/);
  });

  it('states are plain JSON: no undefined, no Map, round-trip equal', () => {
    const { states } = run([n({ packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 }), n({ packetType: 219, instrument: 'ECLAIRs' })]);
    const s = states.get(B)!;
    expect(JSON.parse(JSON.stringify(s))).toStrictEqual(JSON.parse(JSON.stringify(JSON.parse(JSON.stringify(s)))));
    const walk = (v: unknown): void => {
      expect(v).not.toBeUndefined();
      if (v && typeof v === 'object') {
        expect([Object.prototype, Array.prototype]).toContain(Object.getPrototypeOf(v));
        Object.values(v).forEach(walk);
      }
    };
    walk(s);
    expect(restoreState(JSON.stringify(s))).toEqual(s);
  });

  it('restoreState refuses other schemas and garbage', () => {
    expect(restoreState('{"burstId":"x","ivorns":[],"triggered":false}')).toBeNull(); // an older manager's state
    expect(restoreState('not json')).toBeNull();
    expect(restoreState(null)).toBeNull();
    expect(restoreState({ ...emptyState('x'), triggered: true })).toBeNull(); // triggered without what it issued
  });
});
