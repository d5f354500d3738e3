/**
 * The burst's alert as SVOM's French Science Center writes it: a VOEvent 2.0 MXT-initial notice
 * (Packet_Type 209, Notice_Level N2m, IVORN `ivo://org.svom/fsc#<Burst_Id>_mxt-initial_qf<q>`),
 * modelled on the live packet `gcn-notice-parser_svom_mxt_40.xml`: same element order, groups,
 * UCDs and number formats; T0 as ISOTime with microseconds and no zone (UTC); Position2D in degrees
 * with Error2Radius in degrees; Citations of the earlier ECLAIRs notices of the same burst.
 */
import { galactic, moonAngle, sunAngle } from './astro.ts';
import { Rng } from './rng.ts';
import { DEG, tangentToSky } from '../../../../lib/wcs/index.ts';

export interface VoeventSpec {
  burstId: string;
  /** T0, ms since epoch */
  t0: number;
  /** notice issue time, ms since epoch */
  issued: number;
  ra: number;
  dec: number;
  errorRadiusDeg: number;
  qualityFlag: number;
  seed: number;
}

/** `sbYYMMDDnn` from T0 and the burst's number in its day (1-based). */
export function burstIdFor(t0: number, n = 1): string {
  const d = new Date(t0).toISOString();
  return `sb${d.slice(2, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${String(n).padStart(2, '0')}`;
}

export function mxtIvorn(burstId: string, qf: number): string {
  return `ivo://org.svom/fsc#${burstId}_mxt-initial_qf${qf}`;
}

/** ISOTime as SVOM writes it: `2026-02-25T09:36:39.104000` (UTC, microseconds, no zone). */
export function svomIsoTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000');
}

const f2 = (v: number) => v.toFixed(2);

export function mxtVoevent(s: VoeventSpec): string {
  const r = Rng.derive(s.seed, 'voevent');
  const g = galactic(s.ra, s.dec);
  // the spacecraft pointed ECLAIRs near the burst: attitude within ~30° of it (the burst is off-axis)
  const off = r.range(5, 30);
  const pa = r.range(0, 360);
  const rho = Math.tan(off * DEG) / DEG; // gnomonic radius, degrees
  const att = tangentToSky(rho * Math.sin(pa * DEG), rho * Math.cos(pa * DEG), s.ra, s.dec, [0, 0]);
  const eclairsAngle = r.range(2, 12); // arcmin between the ECLAIRs and MXT positions
  const within = eclairsAngle < 10 ? 'True' : 'False';
  const snr = r.range(12, 60);
  const flux = r.range(0.02, 0.4);
  const fluxErr = flux * r.range(0.5, 4);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent
  xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.ivoa.net/xml/VOEvent/v2.0 http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd"
  role="observation"
  version="2.0"
  ivorn="${mxtIvorn(s.burstId, s.qualityFlag)}">
  <Who>
    <AuthorIVORN>ivo://org.svom/fsc</AuthorIVORN>
    <Date>${new Date(s.issued).toISOString().slice(0, 19)}+00:00</Date>
    <Author>
      <title>SVOM French Science Center</title>
      <shortName>FSC</shortName>
      <contactName>GFT synthetic night</contactName>
      <contactEmail>svom-contact@example.org</contactEmail>
    </Author>
  </Who>
  <What>
    <Param name="Packet_Type" value="209" ucd="meta.id"/>
    <Param name="Pkt_Ser_Num" value="1" ucd="meta.id"/>
    <Param name="Instrument" value="MXT" ucd="instr"/>
    <Group name="Svom_Identifiers">
      <Param name="Notice_Level" value="N2m" ucd="meta.id"/>
      <Param name="Burst_Id" value="${s.burstId}" ucd="meta.id"/>
    </Group>
    <Group name="Detection_Info">
      <Param name="SNR" value="${f2(snr)}" unit="sigma" ucd="stat.snr"/>
      <Param name="Mean_Flux" value="${f2(flux)}" unit="erg.cm^-2.s^-1" ucd="phot.flux"/>
      <Param name="Flux_Error" value="${f2(fluxErr)}" unit="erg.cm^-2.s^-1" ucd="phot.flux"/>
    </Group>
    <Group name="Target_Info">
      <Param name="Within_ECLAIRs_R90" value="${within}" ucd="instr.param"/>
      <Param name="ECLAIRs_Angle" value="${f2(eclairsAngle)}" unit="arcmin" ucd="pos.angdistance"/>
      <Param name="Galactic_Lon" value="${f2(g.l)}" unit="deg" ucd="pos.galactic.lon"/>
      <Param name="Galactic_Lat" value="${f2(g.b)}" unit="deg" ucd="pos.galactic.lat"/>
      <Param name="Moon_Angle" value="${f2(moonAngle(s.ra, s.dec, s.t0))}" unit="deg" ucd="pos.angdistance"/>
      <Param name="Sun_Angle" value="${f2(sunAngle(s.ra, s.dec, s.t0))}" unit="deg" ucd="pos.angdistance"/>
    </Group>
    <Group name="Satellite_Info">
      <Param name="Use_VT_Attitude" value="False" ucd="instr.param"/>
      <Param name="Attitude_Ra" value="${f2(att[0])}" unit="deg" ucd="instr.param"/>
      <Param name="Attitude_Dec" value="${f2(att[1])}" unit="deg" ucd="instr.param"/>
      <Param name="Attitude_Roll" value="${f2(r.range(0, 360))}" unit="deg" ucd="instr.param"/>
      <Param name="Sat_Longitude" value="${f2(r.range(-180, 180))}" unit="deg" ucd="pos.earth.lon"/>
      <Param name="Sat_Latitude" value="${f2(r.range(-29, 29))}" unit="deg" ucd="pos.earth.lat"/>
      <Param name="Sat_Altitude" value="${f2(r.range(605, 630))}" unit="km" ucd="pos.earth.altitude"/>
    </Group>
  </What>
  <WhereWhen>
    <ObsDataLocation>
      <ObservatoryLocation id="GEOLEO"/>
      <ObservationLocation>
        <AstroCoordSystem id="UTC-ICRS-GEO"/>
        <AstroCoords coord_system_id="UTC-ICRS-GEO">
          <Time unit="s">
            <TimeInstant>
              <ISOTime>${svomIsoTime(s.t0)}</ISOTime>
            </TimeInstant>
          </Time>
          <Position2D unit="deg">
            <Name1>RA</Name1>
            <Name2>Dec</Name2>
            <Value2>
              <C1>${s.ra.toFixed(4)}</C1>
              <C2>${s.dec.toFixed(4)}</C2>
            </Value2>
            <Error2Radius>${s.errorRadiusDeg.toFixed(4)}</Error2Radius>
          </Position2D>
        </AstroCoords>
      </ObservationLocation>
    </ObsDataLocation>
  </WhereWhen>
  <How>
    <Description>N2m notice, data from MXT</Description>
    <Reference uri="https://www.svom.eu/en/mxt-microchannel-x-ray-telescope-en/"/>
  </How>
  <Citations>
    <EventIVORN cite="followup">ivo://org.svom/fsc#${s.burstId}_eclairs-wakeup</EventIVORN>
    <EventIVORN cite="followup">ivo://org.svom/fsc#${s.burstId}_slewing</EventIVORN>
  </Citations>
</voe:VOEvent>
`;
  return xml;
}
