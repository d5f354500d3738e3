import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/config/platform.ts';
import { parseVoevent, isoUtc, isRetraction, type ParsedAlert } from './parse.ts';
import { InvalidInput } from './errors.ts';
import { svomNotice } from './fixtures.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const have = existsSync(dir);
if (!have) console.warn(`SKIPPED real-VOEvent parsing tests: ${dir} is missing (shared sample data not checked out)`);
const read = (f: string) => readFileSync(join(dir, f));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof InvalidInput ? e.code : `not InvalidInput: ${String(e)}`;
  }
  return 'no error';
}

const svom: Partial<ParsedAlert> = { mission: 'SVOM', version: '2.0', role: 'observation', isTest: false, authorIvorn: 'ivo://org.svom/fsc', coordSystem: 'UTC-ICRS-GEO', pktSerNum: 1, catalogSource: false, notGrb: false, grbStream: true, notGrbReason: null, positionIgnored: null };

/** Every packet of ../shared/data/voevents with the values read from the file by hand. */
const EXPECTED: Record<string, Partial<ParsedAlert>> = {
  'gcn-notice-parser_svom_eclairs_299.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26022501_eclairs-wakeup', burstId: 'sb26022501', packetType: 202, packetName: 'eclairs-wakeup',
    instrument: 'ECLAIRs', noticeLevel: 'N1e', t0: '2026-02-25T08:51:04.859Z', alertSeqT0: null, ra: 204.65, dec: 44.6257, errorRadiusDeg: 0.0981,
    positionKnown: true, slewStatus: 'not-requested', cites: [], date: '2026-02-25T08:52:07.000Z',
  },
  'gcn-notice-parser_svom_eclairs_300.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26022501_slewing', burstId: 'sb26022501', packetType: 204, packetName: 'slewing',
    instrument: 'ECLAIRs', noticeLevel: 'N1e', t0: '2026-02-25T08:50:57.169Z', alertSeqT0: null, ra: 204.6748, dec: 44.6546, errorRadiusDeg: 0.0854,
    positionKnown: true, slewStatus: 'accepted', date: '2026-02-25T08:54:17.000Z',
    cites: [
      { ivorn: 'ivo://org.svom/fsc#sb26022501_eclairs-preliminary', type: 'followup' },
      { ivorn: 'ivo://org.svom/fsc#sb26022501_eclairs-wakeup', type: 'followup' },
    ],
  },
  'gcn-notice-parser_svom_mxt_40.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26022501_mxt-initial_qf1', burstId: 'sb26022501', packetType: 209, packetName: 'mxt-initial',
    instrument: 'MXT', noticeLevel: 'N2m', t0: '2026-02-25T09:36:39.104Z', alertSeqT0: null, ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643,
    positionKnown: true, slewStatus: null, date: '2026-02-25T10:17:26.000Z',
    cites: [
      { ivorn: 'ivo://org.svom/fsc#sb26022501_eclairs-preliminary', type: 'followup' },
      { ivorn: 'ivo://org.svom/fsc#sb26022501_eclairs-wakeup', type: 'followup' },
      { ivorn: 'ivo://org.svom/fsc#sb26022501_slewing', type: 'followup' },
    ],
  },
  'gcn-notice-parser_svom_eclairs_303.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26030408_eclairs-wakeup', burstId: 'sb26030408', packetType: 202, packetName: 'eclairs-wakeup',
    instrument: 'ECLAIRs', noticeLevel: 'N1e', t0: '2026-03-04T09:39:26.573Z', ra: 47.0752, dec: 40.9505, errorRadiusDeg: 0.1515,
    positionKnown: true, slewStatus: 'rejected', date: '2026-03-04T10:04:01.000Z',
    cites: [{ ivorn: 'ivo://org.svom/fsc#sb26030408_not-slewing', type: 'followup' }],
  },
  'gcn-notice-parser_svom_eclairs_304.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26030408_retraction', burstId: 'sb26030408', packetType: 219, packetName: 'retraction',
    instrument: 'ECLAIRs', noticeLevel: 'N3e', t0: '2026-03-04T09:39:26.573Z', ra: 47.0752, dec: 40.9505, errorRadiusDeg: 0.1515,
    positionKnown: true, slewStatus: 'rejected', date: '2026-03-04T10:04:01.000Z',
    cites: [{ ivorn: 'ivo://org.svom/fsc#sb26030408_eclairs-wakeup', type: 'retraction' }],
  },
  'gcn-notice-parser_svom_grm_284.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26020401_grm-trigger', burstId: 'sb26020401', packetType: 201, packetName: 'grm-trigger',
    instrument: 'GRM', noticeLevel: 'N1g', t0: '2026-02-04T10:11:30.000Z', alertSeqT0: null, ra: null, dec: null, errorRadiusDeg: null,
    positionKnown: false, slewStatus: null, cites: [], date: '2026-02-04T10:11:54.000Z',
  },
  'gcn-notice-parser_svom_grm_285.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26020402_grm-trigger', burstId: 'sb26020402', packetType: 201, packetName: 'grm-trigger',
    instrument: 'GRM', noticeLevel: 'N1g', t0: '2026-02-04T12:08:18.000Z', ra: null, dec: null, errorRadiusDeg: null,
    positionKnown: false, slewStatus: null, cites: [], date: '2026-02-04T12:08:39.000Z',
  },
  'gcn-notice-parser_svom_grm_286.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26020402_retraction', burstId: 'sb26020402', packetType: 219, packetName: 'retraction',
    instrument: 'ECLAIRs', noticeLevel: 'N3e', t0: '2026-02-04T12:12:49.711Z', ra: 169.5696, dec: 3.8676, errorRadiusDeg: 0.0831,
    positionKnown: true, slewStatus: 'rejected', date: '2026-02-04T12:18:14.000Z',
    cites: [
      { ivorn: 'ivo://org.svom/fsc#sb26020402_grm-trigger', type: 'retraction' },
      { ivorn: 'ivo://org.svom/fsc#sb26020402_eclairs-preliminary', type: 'retraction' },
      { ivorn: 'ivo://org.svom/fsc#sb26020402_not-slewing', type: 'retraction' },
    ],
  },
  'gcn-notice-parser_svom_grm_330.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb26042101_grm-trigger', burstId: 'sb26042101', packetType: 201, packetName: 'grm-trigger',
    instrument: 'GRM', noticeLevel: 'N1g', t0: '2026-04-21T00:24:02.000Z', alertSeqT0: '2026-04-21T00:24:03.000Z',
    ra: 171.5201, dec: -40.9497, errorRadiusDeg: null, positionKnown: true, slewStatus: null, cites: [], date: '2026-04-21T00:24:33.000Z',
  },
  'gcn-notice-parser_svom_svom_voevent_sb25091702_eclairs-catalog.xml': {
    ...svom, ivorn: 'ivo://org.svom/fsc#sb25091702_eclairs-catalog', burstId: 'sb25091702', packetType: 203, packetName: 'eclairs-catalog',
    instrument: 'ECLAIRs', noticeLevel: 'N1e', t0: '2025-09-17T12:00:45.860Z', ra: 256.5645, dec: -43.0392, errorRadiusDeg: 0.0613,
    positionKnown: true, slewStatus: 'not-requested', cites: [], date: '2025-09-17T12:01:42.000Z', catalogSource: true,
  },
  'gcn-notice-parser_swift_bat_grb_pos_test_9264.xml': {
    ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Test_Pos_2026-02-07T09:52:30.00-780', burstId: 'swift-99999', mission: 'Swift', version: '2.0',
    role: 'test', isTest: true, packetType: 82, packetName: 'swift-bat-grb-pos-test', pktSerNum: 12, instrument: 'BAT', noticeLevel: null,
    t0: '2026-02-07T09:52:30.000Z', alertSeqT0: null, ra: 36, dec: -35, errorRadiusDeg: 0.05, positionKnown: true, coordSystem: 'UTC-FK5-GEO',
    slewStatus: null, cites: [], authorIvorn: 'ivo://nasa.gsfc.tan/gcn', date: '2026-02-07T09:52:38.000Z', catalogSource: false, notGrb: false,
  },
  'voevent-parse_SWIFT_bat_position_v2.0_example.xml': {
    ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_532871-729', burstId: 'swift-532871', mission: 'Swift', version: '2.0', role: 'observation',
    isTest: false, packetType: 61, packetName: 'swift-bat-grb-pos', pktSerNum: 1, instrument: 'BAT', noticeLevel: null,
    t0: '2012-09-07T00:24:23.080Z', ra: 74.7412, dec: -9.3137, errorRadiusDeg: 0.05, positionKnown: true, coordSystem: 'UTC-FK5-GEO',
    cites: [], authorIvorn: 'ivo://nasa.gsfc.tan/gcn', date: '2012-09-07T00:24:36.000Z', catalogSource: false, notGrb: false, grbStream: true, notGrbReason: null, positionIgnored: null,
  },
  'voevent-parse_SWIFT_xrt_position_v1.1_example.xml': {
    ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#XRT_Pos_644259-941', burstId: 'swift-644259', mission: 'Swift', version: '1.1', role: 'observation',
    isTest: false, packetType: 67, packetName: 'swift-xrt-pos', pktSerNum: 6, instrument: 'XRT', noticeLevel: null,
    t0: '2015-06-16T23:05:40.000Z', ra: 314.7162, dec: -53.393, errorRadiusDeg: 0.0009, positionKnown: true, coordSystem: 'UTC-FK5-GEO',
    cites: [{ ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_644259-771', type: 'followup' }],
    authorIvorn: 'ivo://nasa.gsfc.tan/gcn', date: '2015-06-16T23:29:11.000Z', catalogSource: false, notGrb: false, grbStream: true, notGrbReason: null, positionIgnored: null,
  },
  'voevent-parse_no_namespace_packet.xml': {
    ivorn: 'ivo://com.dc3/dc3.broker#BrokerTest-2014-02-24T15:55:27.72', burstId: 'ivo://com.dc3/dc3.broker#BrokerTest-2014-02-24T15:55:27.72',
    mission: 'unknown', version: '2.0', role: 'test', isTest: true, packetType: null, packetName: null, pktSerNum: null, instrument: null,
    // its "Fake observation information" RA = Dec = 0 without an error radius is a placeholder, not a position
    noticeLevel: null, t0: '2014-02-24T15:55:27.720Z', ra: null, dec: null, errorRadiusDeg: null, positionKnown: false, coordSystem: 'UTC-FK5-GEO',
    positionIgnored: 'placeholder position (RA = Dec = 0, no error radius)', grbStream: false,
    cites: [], authorIvorn: 'ivo://com.dc3/dc3.broker', date: '2014-02-24T15:55:27.720Z',
  },
};

describe('real packets in ../shared/data/voevents', () => {
  it.skipIf(!have)('the expectation table covers every packet in the folder', async () => {
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.endsWith('.xml')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.skipIf(!have).each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const a = parseVoevent(read(file));
    expect(a).toMatchObject(expected);
    // the same bytes as a string give the same result, and the value survives JSON
    expect(parseVoevent(read(file).toString('utf8'))).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it.skipIf(!have)('raw params keep groups apart and include SVOM extras', () => {
    const c = parseVoevent(read('gcn-notice-parser_svom_svom_voevent_sb25091702_eclairs-catalog.xml'));
    expect(c.params).toMatchObject({ Packet_Type: '203', 'Svom_Identifiers.Burst_Id': 'sb25091702', 'Target_Info.Source_Name': 'GX 340-00', 'Satellite_Info.Slew_Status': 'not-requested' });
    const b = parseVoevent(read('voevent-parse_no_namespace_packet.xml'));
    expect(b.params).toMatchObject({ BrokerDomain: 'voevent.dc3.com', 'Subscribe.Port': '8099', 'Publish.Port': '8098' });
    const s = parseVoevent(read('voevent-parse_SWIFT_bat_position_v2.0_example.xml'));
    expect(s.params).toMatchObject({ TrigID: '532871', 'Solution_Status.Test_Submission': 'false' });
  });

  it.skipIf(!have)('retractions are recognised by type 219 or by their citations', () => {
    expect(isRetraction(parseVoevent(read('gcn-notice-parser_svom_eclairs_304.xml')))).toBe(true);
    expect(isRetraction(parseVoevent(read('gcn-notice-parser_svom_grm_286.xml')))).toBe(true);
    expect(isRetraction(parseVoevent(read('gcn-notice-parser_svom_eclairs_300.xml')))).toBe(false);
  });

  it.skipIf(!have)('never throws anything but InvalidInput on mutated real packets (2000 deterministic mutations)', () => {
    const files = Object.keys(EXPECTED).map((f) => read(f).toString('utf8'));
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const junk = ['<', '>', '&', '"', "'", '/', '&amp;', '&#0;', '<!DOCTYPE x>', ']]>', '<![CDATA[', '-1', 'NaN', '1e999', '\u0000', 'é', ':', '=', ' '];
    const codes = new Map<string, number>();
    for (let k = 0; k < 2000; k++) {
      let s = files[rnd(files.length)];
      for (let m = 1 + rnd(3); m > 0; m--) {
        const at = rnd(s.length);
        const op = rnd(3);
        if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + rnd(20));
        else if (op === 1) s = s.slice(0, at) + junk[rnd(junk.length)] + s.slice(at);
        else s = s.slice(0, at);
      }
      let c = 'ok';
      try {
        parseVoevent(s);
      } catch (e) {
        if (!(e instanceof InvalidInput)) throw new Error(`mutation ${k} threw ${String(e)}`);
        c = e.code;
      }
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
    expect(codes.get('voevent.malformed_xml')).toBeGreaterThan(100);
  });
});

describe('synthetic notices (no shared data needed)', () => {
  it('VOEvent 1.1 namespace, no namespace and no XML declaration all parse the same', () => {
    const body = (open: string, close: string) =>
      `${open}<Who><Date>2026-01-01T00:00:00</Date></Who><What><Param name="Packet_Type" value="202"/><Group name="Svom_Identifiers"><Param name="Burst_Id" value="sb26010101"/></Group></What>${close}`;
    const a = parseVoevent(body('<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v1.1" ivorn="ivo://org.svom/fsc#sb26010101_eclairs-wakeup" role="observation">', '</voe:VOEvent>'));
    const b = parseVoevent(body('<VOEvent ivorn="ivo://org.svom/fsc#sb26010101_eclairs-wakeup" role="observation" version="2.0">', '</VOEvent>'));
    expect(a).toMatchObject({ version: '1.1', burstId: 'sb26010101', packetType: 202, t0: null, positionKnown: false });
    expect(b).toMatchObject({ version: '2.0', burstId: 'sb26010101', packetType: 202 });
  });

  it('T0: fraction, zone, no zone = UTC, time scales', () => {
    expect(isoUtc('2026-02-25T08:51:04.859000')).toBe('2026-02-25T08:51:04.859Z');
    expect(isoUtc('2026-02-25T08:51:04.8599')).toBe('2026-02-25T08:51:04.859Z'); // truncated, not rounded
    expect(isoUtc('2012-09-07T00:24:23.08')).toBe('2012-09-07T00:24:23.080Z');
    expect(isoUtc('2026-02-04T10:11:30')).toBe('2026-02-04T10:11:30.000Z');
    expect(isoUtc('2026-02-25T08:52:07+00:00')).toBe('2026-02-25T08:52:07.000Z');
    expect(isoUtc('2026-02-25T10:52:07+02:00')).toBe('2026-02-25T08:52:07.000Z');
    expect(isoUtc('2026-02-25T08:52:07Z')).toBe('2026-02-25T08:52:07.000Z');
    expect(isoUtc('2026-01-01T00:01:09.184', 't', 'TT')).toBe('2026-01-01T00:00:00.000Z'); // TT − UTC = 37 + 32.184 s
    expect(isoUtc('2026-01-01T00:00:18', 't', 'GPS')).toBe('2026-01-01T00:00:00.000Z'); // GPS − UTC = 18 s
    expect(isoUtc('  ')).toBeNull();
    const svomAt = (t: string) => svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', isoTime: t, ra: 10, dec: 10, error: 0.1 });
    expect(parseVoevent(svomAt('2026-01-01T00:00:00')).t0).toBe('2026-01-01T00:00:00.000Z');
    const tt = svomAt('2026-01-01T00:01:09.184').replaceAll('UTC-ICRS-GEO', 'TT-ICRS-GEO');
    expect(parseVoevent(tt).t0).toBe('2026-01-01T00:00:00.000Z');
  });

  it('Error2Radius: -1 and 0 are unknown; units are converted', () => {
    const n = (err: number) => svomNotice({ burstId: 'sb26010101', packetType: 201, instrument: 'GRM', ra: 10, dec: 20, error: err });
    expect(parseVoevent(n(-1))).toMatchObject({ ra: 10, dec: 20, errorRadiusDeg: null, positionKnown: true });
    expect(parseVoevent(n(0))).toMatchObject({ errorRadiusDeg: null });
    expect(parseVoevent(n(0.25))).toMatchObject({ errorRadiusDeg: 0.25 });
    const arcmin = n(6).replace('unit="deg"', 'unit="arcmin"');
    const a = parseVoevent(arcmin);
    expect(a.ra).toBeCloseTo(10 / 60, 12);
    expect(a.errorRadiusDeg).toBeCloseTo(0.1, 12);
    const rad = parseVoevent(n(0.01).replace('unit="deg"', 'unit="rad"').replace('<C1>10</C1>', '<C1>1</C1>').replace('<C2>20</C2>', '<C2>0.5</C2>'));
    expect(rad.ra).toBeCloseTo(57.29577951, 6);
    expect(rad.errorRadiusDeg).toBeCloseTo(0.5729577951, 8);
    // RA 360 is RA 0; Name1=Dec/Name2=RA swaps the coordinates
    expect(parseVoevent(n(0.1).replace('<C1>10</C1>', '<C1>360</C1>')).ra).toBe(0);
    expect(parseVoevent(n(0.1).replace('<Name1>RA</Name1><Name2>Dec</Name2>', '<Name1>Dec</Name1><Name2>RA</Name2>'))).toMatchObject({ ra: 20, dec: 10 });
  });

  it('test traffic: role, "Broker test event" description', () => {
    const base = { burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 1, error: 0.1 };
    expect(parseVoevent(svomNotice({ ...base, role: 'test' }))).toMatchObject({ role: 'test', isTest: true });
    expect(parseVoevent(svomNotice({ ...base, description: 'Broker test event from the FSC' }))).toMatchObject({ role: 'observation', isTest: true });
    expect(parseVoevent(svomNotice(base))).toMatchObject({ isTest: false });
  });

  it('SVOM burst id falls back to the IVORN fragment', () => {
    const x = svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs' }).replace(/\s*<Param name="Burst_Id"[^>]*>/, '');
    expect(parseVoevent(x).burstId).toBe('sb26010101');
  });
});

describe('bad input → InvalidInput with a stable code', () => {
  const ok = () => svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', isoTime: '2026-01-01T00:00:00', ra: 10, dec: 20, error: 0.1, cites: [{ ivorn: 'ivo://org.svom/fsc#sb26010101_grm-trigger', type: 'followup' }] });

  it('the template itself is valid', () => {
    expect(parseVoevent(ok())).toMatchObject({ burstId: 'sb26010101', ra: 10, dec: 20, errorRadiusDeg: 0.1 });
  });

  it.each([
    ['malformed XML', () => ok().replace('</What>', ''), 'voevent.malformed_xml'],
    ['truncated packet', () => ok().slice(0, 700), 'voevent.malformed_xml'],
    ['not XML', () => 'GRB 260101A: RA=10 Dec=20', 'voevent.malformed_xml'],
    ['empty payload', () => '', 'voevent.malformed_xml'],
    ['billion laughs', () => `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${ok().replace(/^<\?xml[^>]*>/, '').replace('<Description>', '<Description>&lol2;')}`, 'voevent.entity_declared'],
    ['external entity', () => `<!DOCTYPE VOEvent [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${ok().replace(/^<\?xml[^>]*>/, '')}`, 'voevent.entity_declared'],
    ['undeclared entity reference', () => ok().replace('<Description>', '<Description>&xxe;'), 'voevent.malformed_xml'],
    ['payload over 1 MiB', () => ok().replace('</voe:VOEvent>', `<!--${'x'.repeat(1 << 20)}--></voe:VOEvent>`), 'voevent.too_large'],
    ['not a VOEvent', () => '<Other ivorn="ivo://x/y"/>', 'voevent.not_voevent'],
    ['no ivorn', () => ok().replace(/ ivorn="[^"]*"/, ''), 'voevent.missing_field'],
    ['SVOM notice without any burst id', () => ok().replace(/\s*<Param name="Burst_Id"[^>]*>/, '').replace('#sb26010101_', '#x_'), 'voevent.missing_field'],
    ['citation without cite attribute', () => ok().replace(' cite="followup"', ''), 'voevent.missing_field'],
    ['ivorn not an ivo:// URI', () => ok().replace(/ivorn="[^"]*"/, 'ivorn="x"'), 'voevent.bad_value'],
    ['unknown role', () => ok().replace('role="observation"', 'role="bogus"'), 'voevent.bad_value'],
    ['Packet_Type not a number', () => ok().replace('name="Packet_Type" value="202"', 'name="Packet_Type" value="abc"'), 'voevent.bad_value'],
    ['Packet_Type not an integer', () => ok().replace('name="Packet_Type" value="202"', 'name="Packet_Type" value="202.5"'), 'voevent.bad_value'],
    ['RA not a number', () => ok().replace('<C1>10</C1>', '<C1>ten</C1>'), 'voevent.bad_value'],
    ['RA in hex', () => ok().replace('<C1>10</C1>', '<C1>0x10</C1>'), 'voevent.bad_value'],
    ['RA out of range', () => ok().replace('<C1>10</C1>', '<C1>400</C1>'), 'voevent.bad_value'],
    ['Dec out of range', () => ok().replace('<C2>20</C2>', '<C2>-91</C2>'), 'voevent.bad_value'],
    ['only one coordinate', () => ok().replace('<C2>20</C2>', ''), 'voevent.bad_value'],
    ['Error2Radius NaN', () => ok().replace('<Error2Radius>0.1</Error2Radius>', '<Error2Radius>NaN</Error2Radius>'), 'voevent.bad_value'],
    ['Error2Radius overflow', () => ok().replace('<Error2Radius>0.1</Error2Radius>', '<Error2Radius>1e999</Error2Radius>'), 'voevent.bad_value'],
    ['unknown position unit', () => ok().replace('unit="deg"', 'unit="furlong"'), 'voevent.bad_value'],
    ['galactic frame', () => ok().replaceAll('UTC-ICRS-GEO', 'UTC-GALACTIC-GEO'), 'voevent.bad_value'],
    ['ISOTime not a time', () => ok().replace('2026-01-01T00:00:00</ISOTime>', 'yesterday</ISOTime>'), 'voevent.bad_value'],
    ['ISOTime impossible date', () => ok().replace('2026-01-01T00:00:00</ISOTime>', '2026-02-30T00:00:00</ISOTime>'), 'voevent.bad_value'],
    ['Who/Date not a time', () => ok().replace('2026-01-01T00:00:00+00:00', 'soon'), 'voevent.bad_value'],
    ['unknown cite type', () => ok().replace('cite="followup"', 'cite="update"'), 'voevent.bad_value'],
    ['burst id with spaces', () => ok().replace('value="sb26010101"', 'value="sb 2601"'), 'voevent.bad_value'],
  ])('%s → %s', (_what, make, expected) => {
    expect(code(() => parseVoevent(make()))).toBe(expected);
  });

  it('a 1 MiB payload is refused as a Buffer too, before any decoding', () => {
    const big = Buffer.alloc((1 << 20) + 1, 0x20);
    expect(code(() => parseVoevent(big))).toBe('voevent.too_large');
  });

  it('InvalidInput carries retriable=false and its code', () => {
    try {
      parseVoevent('<x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInput);
      expect(e).toMatchObject({ code: 'voevent.malformed_xml', retriable: false, name: 'InvalidInput' });
    }
  });
});
