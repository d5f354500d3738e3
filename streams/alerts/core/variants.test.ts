/**
 * Real-world VOEvent variants that are not in ../shared/data/voevents, written by hand here (nothing
 * copied): classic GCN notices as VO-GCN emits them (Fermi GBM alert / flight / ground / final
 * positions, Swift BAT / XRT / UVOT and their NACKs, star-tracker loss, classifications), other
 * streams a VOEvent broker also carries (LVK, IceCube, Gaia), ANTARES' empty citation, SVOM VT notices.
 * The structure follows the GCN VOEvent and SVOM notice documentation; every value is made up.
 */
import { describe, it, expect } from 'vitest';
import { parseVoevent, type ParsedAlert } from './parse.ts';
import { applyAll, applyAlert, type BurstState, type ManagerConfig } from './manager.ts';
import { svomNotice } from './fixtures.ts';

interface GcnPacket {
  /** IVORN path and fragment after ivo://nasa.gsfc.gcn/ */
  stream: string;
  packetType: number;
  trigId?: string;
  role?: string;
  iso?: string;
  /** null = no Position2D at all */
  pos?: { ra: number; dec: number; err: number } | null;
  coordsType?: number;
  top?: Record<string, string>;
  groups?: Record<string, Record<string, string>>;
  cites?: Array<{ ivorn: string; cite: string }>;
  citationDescription?: string;
}

/** A classic GCN notice in VOEvent 2.0, laid out the way VO-GCN lays them out. */
function gcn(p: GcnPacket): string {
  const param = (n: string, v: string) => `    <Param name="${n}" value="${v}" />`;
  const top = { Packet_Type: String(p.packetType), Pkt_Ser_Num: '1', ...(p.trigId ? { TrigID: p.trigId } : {}), ...(p.top ?? {}) };
  const groups = Object.entries(p.groups ?? {})
    .map(([g, ps]) => `    <Group name="${g}">\n${Object.entries(ps).map(([n, v]) => '  ' + param(n, v)).join('\n')}\n    </Group>`)
    .join('\n');
  const pos = p.pos === null ? undefined : (p.pos ?? { ra: 0, dec: 0, err: 0 });
  const coordsType = p.coordsType ?? (pos && (pos.ra !== 0 || pos.dec !== 0 || pos.err !== 0) ? 1 : 0);
  const cites = p.cites
    ? `\n  <Citations>\n${p.cites.map((c) => `    <EventIVORN cite="${c.cite}">${c.ivorn}</EventIVORN>`).join('\n')}${p.citationDescription ? `\n    <Description>${p.citationDescription}</Description>` : ''}\n  </Citations>`
    : '';
  return `<?xml version = '1.0' encoding = 'UTF-8'?>
<voe:VOEvent
      ivorn="ivo://nasa.gsfc.gcn/${p.stream}"
      role="${p.role ?? 'observation'}" version="2.0"
      xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Who>
    <AuthorIVORN>ivo://nasa.gsfc.tan/gcn</AuthorIVORN>
    <Date>2026-03-01T12:00:30</Date>
  </Who>
  <What>
${Object.entries(top).map(([n, v]) => param(n, v)).join('\n')}
${groups}
${param('Coords_Type', String(coordsType))}
${param('Coords_String', coordsType === 0 ? 'unavailable/inappropriate' : 'source_object')}
  </What>
  <WhereWhen>
    <ObsDataLocation>
      <ObservatoryLocation id="GEOLUN" />
      <ObservationLocation>
        <AstroCoordSystem id="UTC-FK5-GEO" />
        <AstroCoords coord_system_id="UTC-FK5-GEO">
          <Time unit="s"><TimeInstant><ISOTime>${p.iso ?? '2026-03-01T11:59:58.12'}</ISOTime></TimeInstant></Time>${
            pos
              ? `
          <Position2D unit="deg">
            <Name1>RA</Name1>
            <Name2>Dec</Name2>
            <Value2><C1>${pos.ra.toFixed(4)}</C1><C2>${pos.dec.toFixed(4)}</C2></Value2>
            <Error2Radius>${pos.err.toFixed(4)}</Error2Radius>
          </Position2D>`
              : ''
          }
        </AstroCoords>
      </ObservationLocation>
    </ObsDataLocation>
  </WhereWhen>
  <How><Description>hand-written test notice</Description></How>${cites}
</voe:VOEvent>
`;
}

const run = (xmls: string[], cfg: Partial<ManagerConfig> = {}) => {
  const states = new Map<string, BurstState>();
  const alerts = xmls.map((x) => parseVoevent(x));
  return { alerts, decisions: applyAll(states, alerts, cfg), states };
};
const rules = (r: ReturnType<typeof run>) => r.decisions.map((d) => `${d.action}/${d.rule}`);

const gbmAlert = (trig: string) => gcn({ stream: `Fermi#GBM_Alert_2026-03-01T11:59:58.12_${trig}_1-001`, packetType: 110, trigId: trig, top: { Trig_Signif: '5.1' }, groups: { Trigger_ID: { Def_NOT_a_GRB: 'false', Test_Submission: 'false' } } });
const gbmPos = (trig: string, type: 111 | 112 | 115, seq: string, pos: { ra: number; dec: number; err: number }, mostLikely?: number) =>
  gcn({
    stream: `Fermi#GBM_${type === 111 ? 'Flt' : type === 112 ? 'Gnd' : 'Fin'}_Pos_2026-03-01T11:59:58.12_${trig}_${seq}`,
    packetType: type,
    trigId: trig,
    pos,
    top: mostLikely === undefined ? {} : { Most_Likely_Index: String(mostLikely), Most_Likely_Prob: '88', Sec_Most_Likely_Index: '4', Sec_Most_Likely_Prob: '12' },
    groups: { Trigger_ID: { Def_NOT_a_GRB: 'false', Target_in_Blk_Catalog: 'false', Test_Submission: 'false' } },
  });
const swiftStatus = (o: Record<string, string> = {}) => ({
  Solution_Status: { Point_Source: 'true', GRB_Identified: 'true', Def_NOT_a_GRB: 'false', Target_in_Flt_Catalog: 'false', Target_in_Gnd_Catalog: 'false', StarTrack_Lost_Lock: 'false', Test_Submission: 'false', ...o },
});
const bat = (trig: string, pos: { ra: number; dec: number; err: number }, status: Record<string, string> = {}, seq = '101') =>
  gcn({ stream: `SWIFT#BAT_GRB_Pos_${trig}-${seq}`, packetType: 61, trigId: trig, pos, groups: swiftStatus(status) });
const xrt = (trig: string, pos: { ra: number; dec: number; err: number }) =>
  gcn({ stream: `SWIFT#XRT_Pos_${trig}-202`, packetType: 67, trigId: trig, pos, cites: [{ ivorn: `ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_${trig}-101`, cite: 'followup' }] });

describe('classic GCN position placeholders', () => {
  it('Fermi GBM Alert (110): RA = Dec = 0, error 0, Coords_Type 0 is no position — the burst waits, it never holds (0, 0)', () => {
    const a = parseVoevent(gbmAlert('793000001'));
    expect(a).toMatchObject({ mission: 'Fermi', burstId: 'fermi-793000001', packetName: 'fermi-gbm-alert', instrument: 'GBM', ra: null, dec: null, positionKnown: false, grbStream: true });
    expect(a.positionIgnored).toMatch(/Coords_Type 0/);
    const r = run([gbmAlert('793000001'), gbmPos('793000001', 112, '002', { ra: 210.5, dec: -12.25, err: 2.4 })], { maxErrorRadiusDeg: 5 });
    expect(rules(r)).toEqual(['ignore/no-position', 'trigger/trigger']);
    expect(r.decisions[0].reason).toBe('waiting for position');
    expect(r.states.get('fermi-793000001')!.best).toMatchObject({ ra: 210.5, dec: -12.25, errorRadiusDeg: 2.4, instrument: 'GBM' });
  });

  it('a placeholder without Coords_Type (RA = Dec = 0, no error) is no position either', () => {
    const konus = gcn({ stream: 'KONUS#Lightcurve_2026-03-01T11:59:58.12', packetType: 59, trigId: '1234', pos: { ra: 0, dec: 0, err: 0 }, coordsType: 1 });
    expect(parseVoevent(konus)).toMatchObject({ mission: 'KONUS', ra: null, dec: null, positionKnown: false, positionIgnored: 'placeholder position (RA = Dec = 0, no error radius)' });
    // a real position at RA 0 with a known error is kept
    const nearZero = bat('800100', { ra: 0, dec: 0, err: 0.05 });
    expect(parseVoevent(nearZero)).toMatchObject({ ra: 0, dec: 0, errorRadiusDeg: 0.05, positionKnown: true, positionIgnored: null });
  });

  it('Swift XRT / UVOT NACK notices (71, 89) carry no usable position', () => {
    const nack = gcn({ stream: 'SWIFT#XRT_Nack_Pos_800200-303', packetType: 71, trigId: '800200', pos: { ra: 150.1, dec: 20.2, err: 0.05 }, coordsType: 1 });
    const a = parseVoevent(nack);
    expect(a).toMatchObject({ packetName: 'swift-xrt-nack-pos', instrument: 'XRT', positionKnown: false, positionIgnored: 'no position found (swift-xrt-nack-pos)' });
    // it must not outrank the BAT position of the same burst (XRT ranks above BAT)
    const r = run([bat('800200', { ra: 150.0, dec: 20.0, err: 0.05 }), nack]);
    expect(rules(r)).toEqual(['trigger/trigger', 'ignore/no-change']);
    expect(r.states.get('swift-800200')!.best).toMatchObject({ instrument: 'BAT', ra: 150.0 });
  });

  it('Swift star tracker lost lock: the BAT position is unreliable and is not followed; XRT then triggers', () => {
    const lost = bat('800300', { ra: 243.8, dec: -15.0, err: 0.05 }, { StarTrack_Lost_Lock: 'true' });
    expect(parseVoevent(lost)).toMatchObject({ positionKnown: false, ra: null, positionIgnored: 'Swift star tracker lost lock: position unreliable' });
    const r = run([lost, xrt('800300', { ra: 250.25, dec: -16.5, err: 0.001 })]);
    expect(rules(r)).toEqual(['ignore/no-position', 'trigger/trigger']);
    expect(r.states.get('swift-800300')!.best).toMatchObject({ instrument: 'XRT', ra: 250.25 });
  });
});

describe('a notice that classifies its event as not (yet) a GRB', () => {
  it('Fermi GBM flight classification ≠ GRB: not used, the burst stays open and a later GRB classification counts', () => {
    const particles = gbmPos('793000002', 111, '044', { ra: 100, dec: 10, err: 3.1 }, 7);
    const grb = gbmPos('793000002', 111, '045', { ra: 120, dec: 15, err: 8.2 }, 4);
    expect(parseVoevent(particles)).toMatchObject({ notGrbReason: 'Fermi GBM classification DISTANT_PARTICLES (88%), not GRB', notGrb: false, positionKnown: true });
    expect(parseVoevent(grb).notGrbReason).toBeNull();
    const r = run([particles, grb], { maxErrorRadiusDeg: 10 });
    expect(rules(r)).toEqual(['ignore/not-grb', 'trigger/trigger']);
    // the smaller particle-event error circle did not become the burst position
    expect(r.states.get('fermi-793000002')!.best).toMatchObject({ ra: 120, dec: 15, errorRadiusDeg: 8.2 });
    for (const [idx, name] of [[19, 'TGF'], [8, 'SOLAR_FLARE'], [3, 'BELOW_HORIZON'], [1, 'UNRELIABLE_LOCATION'], [42, 'index 42']] as const) {
      expect(parseVoevent(gbmPos('793000003', 111, `0${idx}`, { ra: 1, dec: 1, err: 5 }, idx)).notGrbReason).toContain(name);
    }
    // an unreadable classification is no classification (the notice is not dead-lettered for it)
    const odd = gbmPos('793000003', 111, '099', { ra: 1, dec: 1, err: 5 }).replace('<Param name="Pkt_Ser_Num"', '<Param name="Most_Likely_Index" value="n/a" />\n    <Param name="Pkt_Ser_Num"');
    expect(parseVoevent(odd)).toMatchObject({ notGrbReason: null, positionKnown: true });
  });

  it('Swift GRB_Identified=false is not used; Def_NOT_a_GRB=true after a trigger cancels it', () => {
    const r = run([
      bat('800400', { ra: 30, dec: 40, err: 0.05 }, { GRB_Identified: 'false' }, '101'),
      bat('800400', { ra: 30.01, dec: 40, err: 0.05 }, {}, '102'),
      bat('800400', { ra: 30.01, dec: 40, err: 0.05 }, { Def_NOT_a_GRB: 'true' }, '103'),
    ]);
    expect(rules(r)).toEqual(['ignore/not-grb', 'trigger/trigger', 'retract/known-source']);
    expect(r.decisions[0].reason).toBe('Swift: GRB_Identified=false: notice not used');
    expect(r.decisions[2].outputs.map((o) => o.kind)).toEqual(['cancel']);
  });

  it('Swift catalogued source (Target_in_Gnd_Catalog) never starts a follow-up, whatever follows', () => {
    const r = run([bat('800500', { ra: 20.79, dec: 7.44, err: 0.05 }, { Target_in_Gnd_Catalog: 'true' }), xrt('800500', { ra: 20.8, dec: 7.44, err: 0.001 })]);
    expect(rules(r)).toEqual(['ignore/known-source', 'ignore/catalog']);
  });
});

describe('streams that are not GRB alerts are parsed but never followed', () => {
  const cases: Array<[string, string, Partial<ParsedAlert>]> = [
    [
      'LVK gravitational-wave preliminary (observation role)',
      `<?xml version="1.0" ?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://gwnet/LVC#S260301ab-1-Preliminary" role="observation" version="2.0">
  <Who><Date>2026-03-01T12:00:00</Date></Who>
  <What><Param name="Packet_Type" value="150"/><Param name="GraceID" value="S260301ab"/><Param name="AlertType" value="Preliminary"/></What>
  <WhereWhen><ObsDataLocation><ObservatoryLocation id="LIGO Virgo"/><ObservationLocation><AstroCoordSystem id="UTC-FK5-GEO"/>
    <AstroCoords coord_system_id="UTC-FK5-GEO"><Time unit="s"><TimeInstant><ISOTime>2026-03-01T11:58:00.5</ISOTime></TimeInstant></Time></AstroCoords>
  </ObservationLocation></ObsDataLocation></WhereWhen>
</voe:VOEvent>`,
      { mission: 'unknown', packetName: 'lvc-preliminary', grbStream: false, positionKnown: false },
    ],
    [
      'IceCube track (AMON, 0.1° error)',
      gcn({ stream: 'AMON#ICECUBE_GOLD_Event2026-03-01T11:59:58.12_24_134191_017593623_0', packetType: 173, trigId: '134191', top: { Signalness: '0.6' }, pos: { ra: 143.45, dec: 3.79, err: 0.1 } }),
      { mission: 'AMON', packetName: 'icecube-astrotrack-gold', grbStream: false, errorRadiusDeg: 0.1 },
    ],
    [
      'Gaia photometric alert (another authority, no Packet_Type)',
      `<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://gaia.cam.uk/alerts#Gaia26abc" role="observation" version="2.0">
  <Who><Date>2026-03-01T10:00:00</Date></Who><What><Param name="mag" value="18.2"/></What>
  <WhereWhen><ObsDataLocation><ObservatoryLocation id="Gaia"/><ObservationLocation><AstroCoordSystem id="UTC-ICRS-TOPO"/>
    <AstroCoords coord_system_id="UTC-ICRS-TOPO"><Time unit="s"><TimeInstant><ISOTime>2026-02-28T07:51:18.816</ISOTime></TimeInstant></Time>
    <Position2D unit="deg"><Name1>RA</Name1><Name2>Dec</Name2><Value2><C1>73.2946</C1><C2>7.3525</C2></Value2><Error2Radius>0.0001</Error2Radius></Position2D></AstroCoords>
  </ObservationLocation></ObsDataLocation></WhereWhen>
</voe:VOEvent>`,
      { mission: 'unknown', grbStream: false, positionKnown: true },
    ],
    [
      'ANTARES neutrino with an empty citation (cites nothing)',
      gcn({ stream: 'Antares_Alert#Antares_1438351269_2026', packetType: 0, trigId: '1438351269', pos: { ra: 20, dec: -30, err: 0.4 }, cites: [{ ivorn: '', cite: 'followup' }], citationDescription: 'This is the position of the neutrino.' }),
      { mission: 'Antares_Alert', grbStream: false, cites: [] },
    ],
  ];
  it.each(cases)('%s', (_what, xml, expected) => {
    const a = parseVoevent(xml);
    expect(a).toMatchObject(expected);
    const d = applyAlert(undefined, a, { maxErrorRadiusDeg: 180 });
    expect(d).toMatchObject({ action: 'ignore', rule: 'not-grb', outputs: [] });
    expect(d.reason).toMatch(/^not a GRB alert stream \(/);
  });

  it('a GRB stream with the same tools still triggers (control): Swift UVOT position', () => {
    const uvot = gcn({ stream: 'SWIFT#UVOT_Pos_800600-404', packetType: 81, trigId: '800600', pos: { ra: 12.5, dec: -3.25, err: 0.0002 }, cites: [{ ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_800600-101', cite: 'supersedes' }] });
    const a = parseVoevent(uvot);
    expect(a).toMatchObject({ instrument: 'UVOT', packetName: 'swift-uvot-pos', grbStream: true, cites: [{ ivorn: 'ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_800600-101', type: 'supersedes' }] });
    expect(applyAlert(undefined, a)).toMatchObject({ action: 'trigger', reason: 'observable: UVOT position, error 0.0002°' });
  });
});

describe('SVOM variants', () => {
  it('a VT notice (211, N2v) refines an MXT position; a GRM position with a known but large error alone waits', () => {
    const B = 'sb26030105';
    const r = run([
      svomNotice({ burstId: B, packetType: 202, instrument: 'ECLAIRs', ra: 80, dec: 10, error: 0.12 }),
      svomNotice({ burstId: B, packetType: 209, instrument: 'MXT', ra: 80.05, dec: 10.02, error: 0.02 }),
      svomNotice({ burstId: B, packetType: 211, instrument: 'VT', ra: 80.051, dec: 10.021, error: 0.0003, isoTime: '2026-01-01T00:05:00' }),
    ]);
    expect(r.alerts[2]).toMatchObject({ packetName: 'vt', noticeLevel: 'N2v', instrument: 'VT', grbStream: true });
    expect(rules(r)).toEqual(['trigger/trigger', 'update/update', 'update/update']);
    expect(r.states.get(B)!.best).toMatchObject({ instrument: 'VT', errorRadiusDeg: 0.0003 });
    expect(r.states.get(B)!.t0).toBe('2026-01-01T00:00:00.000Z'); // the VT observation time is not the burst T0
    const grm = parseVoevent(svomNotice({ burstId: 'sb26030106', packetType: 201, instrument: 'GRM', ra: 200, dec: -20, error: 4.5 }));
    expect(applyAlert(undefined, grm)).toMatchObject({ action: 'ignore', rule: 'error-too-large' });
  });

  it('an SVOM notice type we do not know yet is still an SVOM GRB notice (grbStream), named null', () => {
    const a = parseVoevent(svomNotice({ burstId: 'sb26030107', type: 'eclairs-refined', packetType: 212, instrument: 'ECLAIRs', ra: 1, dec: 2, error: 0.1 }));
    expect(a).toMatchObject({ mission: 'SVOM', packetName: null, grbStream: true });
    expect(applyAlert(undefined, a).action).toBe('trigger');
  });
});
