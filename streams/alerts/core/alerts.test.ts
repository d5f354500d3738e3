import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/config/platform.ts';
import { parseVoevent } from './parse.ts';
import { applyAlert, type BurstState } from './manager.ts';
import { InvalidInput } from './errors.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const have = existsSync(dir);
if (!have) console.warn(`SKIPPED real VOEvent tests: ${dir} is missing`);
const load = (f: string) => parseVoevent(readFileSync(join(dir, f)));

function run(files: string[]) {
  const states = new Map<string, BurstState>();
  return files.map((f) => {
    const a = load(f);
    const d = applyAlert(states.get(a.burstId), a);
    states.set(a.burstId, d.state);
    return { f, a, d };
  });
}

describe.skipIf(!have)('real packets in ../shared/data/voevents', () => {
  it('parses SVOM fields exactly', () => {
    const a = load('gcn-notice-parser_svom_mxt_40.xml');
    expect(a).toMatchObject({ ivorn: 'ivo://org.svom/fsc#sb26022501_mxt-initial_qf1', burstId: 'sb26022501', packetType: 209, packetName: 'mxt-initial', role: 'observation', instrument: 'MXT', noticeLevel: 'N2m', t0: '2026-02-25T09:36:39.104Z', ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643 });
    expect(a.cites.map((c) => c.type)).toEqual(['followup', 'followup', 'followup']);
  });

  it('follows sb26022501: wakeup triggers, slewing is no better, MXT updates the position', () => {
    const r = run(['gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_eclairs_300.xml', 'gcn-notice-parser_svom_mxt_40.xml']);
    expect(r.map((x) => x.d.action)).toEqual(['trigger', 'update', 'update']);
    // 300 (slewing, ECLAIRs) has a smaller error than 299: same rank, better position
    expect(r[1].d.reason).toMatch(/ECLAIRs/);
    const s = r[2].d.state;
    expect(s.best).toMatchObject({ instrument: 'MXT', ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643 });
    expect(s.t0).toBe('2026-02-25T08:50:57.169Z'); // earliest trigger time, not the MXT observation time
    expect(s.referenceVersion).toBe(3);
  });

  it('retraction of a triggered burst cancels; Slew_Status rejected is still a trigger', () => {
    const r = run(['gcn-notice-parser_svom_eclairs_303.xml', 'gcn-notice-parser_svom_eclairs_304.xml']);
    expect(r[0].a.slewStatus).toBe('rejected');
    expect(r[0].d.action).toBe('trigger');
    expect(r[1].a.cites[0]).toEqual({ ivorn: 'ivo://org.svom/fsc#sb26030408_eclairs-wakeup', type: 'retraction' });
    expect(r[1].a.role).toBe('observation');
    expect(r[1].d).toMatchObject({ action: 'retract', cancel: true });
  });

  it('GRM without position waits; its retraction (from GRM, Instrument=ECLAIRs) is not a trigger', () => {
    const r = run(['gcn-notice-parser_svom_grm_285.xml', 'gcn-notice-parser_svom_grm_286.xml']);
    expect(r[0].a.positionKnown).toBe(false);
    expect(r[0].d).toMatchObject({ action: 'ignore', reason: 'waiting for a position' });
    expect(r[1].a.instrument).toBe('ECLAIRs');
    expect(r[1].d).toMatchObject({ action: 'ignore', reason: 'retracted before any trigger', cancel: false });
    expect(r[1].d.state.retracted).toBe(true);
  });

  it('GRM 2-detector trigger has no Position2D; Error2Radius -1 is unknown', () => {
    expect(load('gcn-notice-parser_svom_grm_284.xml')).toMatchObject({ ra: null, dec: null, errorRadiusDeg: null, positionKnown: false });
    const a = load('gcn-notice-parser_svom_grm_330.xml');
    expect(a).toMatchObject({ ra: 171.5201, dec: -40.9497, errorRadiusDeg: null, positionKnown: true });
    expect(applyAlert(undefined, a).action).toBe('ignore');
    expect(applyAlert(undefined, a).reason).toMatch(/unknown/);
  });

  it('catalog triggers (203) and test packets never trigger', () => {
    const c = load('gcn-notice-parser_svom_svom_voevent_sb25091702_eclairs-catalog.xml');
    expect(c.packetType).toBe(203);
    expect(applyAlert(undefined, c)).toMatchObject({ action: 'ignore', reason: expect.stringMatching(/catalog/) });
    const t = load('gcn-notice-parser_swift_bat_grb_pos_test_9264.xml');
    expect(t).toMatchObject({ role: 'test', isTest: true });
    expect(applyAlert(undefined, t).action).toBe('ignore');
    expect(load('voevent-parse_no_namespace_packet.xml')).toMatchObject({ role: 'test', isTest: true, ivorn: 'ivo://com.dc3/dc3.broker#BrokerTest-2014-02-24T15:55:27.72' });
  });

  it('classic GCN packets: Swift BAT (2.0) and XRT (1.1 namespace)', () => {
    expect(load('voevent-parse_SWIFT_bat_position_v2.0_example.xml')).toMatchObject({ mission: 'Swift', burstId: 'swift-532871', packetType: 61, instrument: 'BAT', t0: '2012-09-07T00:24:23.080Z', ra: 74.7412, dec: -9.3137, errorRadiusDeg: 0.05 });
    const x = load('voevent-parse_SWIFT_xrt_position_v1.1_example.xml');
    expect(x).toMatchObject({ version: '1.1', burstId: 'swift-644259', instrument: 'XRT', ra: 314.7162, dec: -53.393, errorRadiusDeg: 0.0009 });
    expect(applyAlert(undefined, x).action).toBe('trigger');
  });

  it('duplicates produce nothing new, and replaying gives identical states', () => {
    const files = ['gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_mxt_40.xml'];
    const r1 = run(files);
    expect(r1[1].d).toMatchObject({ action: 'ignore', reason: 'duplicate IVORN' });
    expect(JSON.stringify(run(files).map((x) => x.d))).toBe(JSON.stringify(r1.map((x) => x.d)));
  });
});

describe('bad input', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInput);
      return (e as InvalidInput).code;
    }
    return 'no error';
  };
  it('rejects malformed XML, entity expansion, oversize payloads, missing and wrong-typed fields', () => {
    expect(code(() => parseVoevent('<VOEvent ivorn="x"><Who></VOEvent>'))).toBe('voevent.malformed_xml');
    expect(code(() => parseVoevent('not xml at all'))).toBe('voevent.malformed_xml');
    const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><VOEvent ivorn="x">&lol2;</VOEvent>';
    expect(code(() => parseVoevent(laughs))).toBe('voevent.entity_declared');
    expect(code(() => parseVoevent('<VOEvent ivorn="x">&xxe;</VOEvent>'))).toBe('voevent.entity_declared');
    expect(code(() => parseVoevent(`<VOEvent ivorn="x"><What>${' '.repeat(1 << 20)}</What></VOEvent>`))).toBe('voevent.too_large');
    expect(code(() => parseVoevent('<VOEvent role="observation"/>'))).toBe('voevent.missing_field');
    expect(code(() => parseVoevent('<VOEvent ivorn="x"><What><Param name="Packet_Type" value="abc"/></What></VOEvent>'))).toBe('voevent.bad_value');
    const pos = (c1: string) => `<VOEvent ivorn="x"><WhereWhen><ObsDataLocation><ObservationLocation><AstroCoords><Time><TimeInstant><ISOTime>2020-01-01T00:00:00</ISOTime></TimeInstant></Time><Position2D unit="deg"><Value2><C1>${c1}</C1><C2>10</C2></Value2><Error2Radius>0.1</Error2Radius></Position2D></AstroCoords></ObservationLocation></ObsDataLocation></WhereWhen></VOEvent>`;
    expect(code(() => parseVoevent(pos('ten')))).toBe('voevent.bad_value');
    expect(code(() => parseVoevent(pos('400')))).toBe('voevent.bad_value');
    expect(parseVoevent(pos('10.5'))).toMatchObject({ ra: 10.5, dec: 10, errorRadiusDeg: 0.1, t0: '2020-01-01T00:00:00.000Z' });
    expect(code(() => parseVoevent('<Other ivorn="x"/>'))).toBe('voevent.not_voevent');
  });
});
