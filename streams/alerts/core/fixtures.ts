/**
 * Synthetic SVOM notices written by this project (tests, benchmarks, demos): the same structure as the
 * FSC's VOEvents, with every field chosen by the caller. Not real alerts.
 */
export interface SyntheticNotice {
  burstId: string;
  /** IVORN suffix after `sbYYMMDDnn_` (default from the packet type). */
  type?: string;
  packetType: number;
  instrument: string;
  noticeLevel?: string;
  role?: string;
  isoTime?: string | null;
  alertSeqT0?: string;
  ra?: number;
  dec?: number;
  /** deg; -1 = unknown */
  error?: number;
  slewStatus?: string;
  cites?: { ivorn: string; type: string }[];
  description?: string;
}

const NAMES: Record<number, string> = {
  199: 'grm-preliminary', 200: 'eclairs-preliminary', 201: 'grm-trigger', 202: 'eclairs-wakeup', 203: 'eclairs-catalog',
  204: 'slewing', 205: 'not-slewing', 209: 'mxt-initial', 210: 'mxt-update', 211: 'vt', 219: 'retraction',
};
const LEVELS: Record<string, string> = { GRM: 'N1g', ECLAIRs: 'N1e', MXT: 'N2m', VT: 'N2v' };

export function svomIvorn(burstId: string, type: string): string {
  return `ivo://org.svom/fsc#${burstId}_${type}`;
}

export function svomNotice(n: SyntheticNotice): string {
  const type = n.type ?? NAMES[n.packetType] ?? `type-${n.packetType}`;
  const level = n.noticeLevel ?? (n.packetType === 219 ? 'N3e' : (LEVELS[n.instrument] ?? 'N1e'));
  const pos =
    n.ra === undefined || n.dec === undefined
      ? ''
      : `
          <Position2D unit="deg">
            <Name1>RA</Name1><Name2>Dec</Name2>
            <Value2><C1>${n.ra}</C1><C2>${n.dec}</C2></Value2>
            <Error2Radius>${n.error ?? -1}</Error2Radius>
          </Position2D>`;
  const cites = n.cites?.length
    ? `\n  <Citations>\n${n.cites.map((c) => `    <EventIVORN cite="${c.type}">${c.ivorn}</EventIVORN>`).join('\n')}\n  </Citations>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role="${n.role ?? 'observation'}" version="2.0" ivorn="${svomIvorn(n.burstId, type)}">
  <Who><AuthorIVORN>ivo://org.svom/fsc</AuthorIVORN><Date>2026-01-01T00:00:00+00:00</Date></Who>
  <What>
    <Param name="Packet_Type" value="${n.packetType}"/>
    <Param name="Pkt_Ser_Num" value="1"/>
    <Param name="Instrument" value="${n.instrument}"/>
    <Group name="Svom_Identifiers">
      <Param name="Notice_Level" value="${level}"/>
      <Param name="Burst_Id" value="${n.burstId}"/>${n.alertSeqT0 ? `\n      <Param name="Alert_Seq_T0" value="${n.alertSeqT0}"/>` : ''}
    </Group>${n.slewStatus ? `\n    <Group name="Satellite_Info"><Param name="Slew_Status" value="${n.slewStatus}"/></Group>` : ''}
  </What>
  <WhereWhen><ObsDataLocation><ObservatoryLocation id="GEOLEO"/><ObservationLocation>
    <AstroCoordSystem id="UTC-ICRS-GEO"/>
    <AstroCoords coord_system_id="UTC-ICRS-GEO">${n.isoTime === null ? '' : `\n      <Time unit="s"><TimeInstant><ISOTime>${n.isoTime ?? '2026-01-01T00:00:00.000000'}</ISOTime></TimeInstant></Time>`}${pos}
    </AstroCoords>
  </ObservationLocation></ObsDataLocation></WhereWhen>
  <How><Description>${n.description ?? `synthetic ${type} notice`}</Description></How>${cites}
</voe:VOEvent>
`;
}
