/**
 * VOEvent 2.0 / 1.1 parsing (with or without namespace) into one flat `ParsedAlert`.
 * SVOM notices (Packet_Type, Burst_Id, Notice_Level, Instrument, Slew_Status, …) and classic GCN
 * packets (Swift, Fermi: position, time, role, TrigID). Conventions: ../../../../shared/guides/domain.md.
 * - T0: WhereWhen…TimeInstant/ISOTime; without a zone it is UTC.
 * - Position: Position2D C1=RA, C2=Dec in degrees; Error2Radius in degrees, -1 (or ≤ 0) = unknown → null.
 * - burstId: SVOM Burst_Id, else `<mission>-<TrigID>`, else the IVORN.
 */
import { InvalidInput } from './errors.ts';
import { parseXml, path, child, descendants, type XmlElement } from './xml.ts';

export type CiteType = 'followup' | 'supersedes' | 'retraction';

export interface ParsedAlert {
  ivorn: string;
  role: 'observation' | 'test' | 'utility' | 'prediction';
  isTest: boolean;
  version: string;
  mission: string; // SVOM | Swift | Fermi | unknown
  burstId: string;
  packetType: number | null;
  packetName: string | null;
  instrument: string | null;
  noticeLevel: string | null;
  t0: string | null; // ISO 8601 UTC with Z
  ra: number | null;
  dec: number | null;
  errorRadiusDeg: number | null;
  positionKnown: boolean;
  slewStatus: string | null;
  cites: { ivorn: string; type: CiteType }[];
  authorIvorn: string | null;
  date: string | null;
  params: Record<string, string>;
}

export const SVOM_PACKETS: Record<number, string> = {
  199: 'grm-preliminary', 200: 'eclairs-preliminary', 201: 'grm-trigger', 202: 'eclairs-wakeup', 203: 'eclairs-catalog',
  204: 'slewing', 205: 'not-slewing', 209: 'mxt-initial', 210: 'mxt-update', 211: 'vt', 219: 'retraction',
};
const GCN_PACKETS: Record<number, string> = { 61: 'swift-bat-grb-pos', 67: 'swift-xrt-position', 115: 'fermi-gbm-fin-pos', 112: 'fermi-gbm-gnd-pos', 111: 'fermi-gbm-flt-pos', 121: 'fermi-lat-pos' };

/** ISO time with or without fraction/zone → ISO UTC with Z; null when absent; error when unparseable. */
export function isoUtc(s: string | undefined): string | null {
  if (!s || !s.trim()) return null;
  const t = s.trim();
  const withZone = /[zZ]$|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`;
  // JS Date keeps ms; truncate extra fractional digits beyond ms first
  const norm = withZone.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(norm);
  if (!Number.isFinite(ms)) throw new InvalidInput('voevent.bad_value', `unparseable time '${t}'`);
  return new Date(ms).toISOString();
}

function num(v: string | undefined, what: string): number | null {
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v.trim());
  if (!Number.isFinite(n)) throw new InvalidInput('voevent.bad_value', `${what} is not a number: '${v}'`);
  return n;
}

export function parseVoevent(xml: string | Buffer): ParsedAlert {
  const root = parseXml(xml);
  if (root.name !== 'VOEvent') throw new InvalidInput('voevent.not_voevent', `root element is <${root.name}>, not <VOEvent>`);
  const ivorn = root.attrs.ivorn?.trim();
  if (!ivorn) throw new InvalidInput('voevent.missing_field', 'VOEvent has no ivorn attribute');
  const role = (root.attrs.role ?? 'observation').trim() as ParsedAlert['role'];
  if (!['observation', 'test', 'utility', 'prediction'].includes(role)) throw new InvalidInput('voevent.bad_value', `unknown role '${role}'`);

  const params: Record<string, string> = {};
  const what = child(root, 'What');
  if (what) for (const p of descendants(what, 'Param')) if (p.attrs.name && !(p.attrs.name in params)) params[p.attrs.name] = p.attrs.value ?? '';

  const packetType = num(params.Packet_Type, 'Packet_Type');
  if (packetType !== null && !Number.isInteger(packetType)) throw new InvalidInput('voevent.bad_value', `Packet_Type is not an integer: '${params.Packet_Type}'`);
  const isSvom = ivorn.startsWith('ivo://org.svom/') || params.Burst_Id !== undefined;
  const mission = isSvom ? 'SVOM' : /swift/i.test(ivorn) ? 'Swift' : /fermi/i.test(ivorn) ? 'Fermi' : 'unknown';

  const loc = path(root, 'WhereWhen', 'ObsDataLocation', 'ObservationLocation', 'AstroCoords');
  const t0 = isoUtc(path(loc, 'Time', 'TimeInstant', 'ISOTime')?.text);
  const pos = path(loc, 'Position2D');
  let ra: number | null = null;
  let dec: number | null = null;
  let err: number | null = null;
  if (pos) {
    ra = num(path(pos, 'Value2', 'C1')?.text, 'RA (C1)');
    dec = num(path(pos, 'Value2', 'C2')?.text, 'Dec (C2)');
    err = num(child(pos, 'Error2Radius')?.text, 'Error2Radius');
    const unit = (pos.attrs.unit ?? 'deg').toLowerCase();
    if (unit !== 'deg') throw new InvalidInput('voevent.bad_value', `position unit '${unit}' is not supported (deg expected)`);
    if (ra !== null && (ra < 0 || ra >= 360)) throw new InvalidInput('voevent.bad_value', `RA ${ra} out of range`);
    if (dec !== null && (dec < -90 || dec > 90)) throw new InvalidInput('voevent.bad_value', `Dec ${dec} out of range`);
    if (err !== null && err <= 0) err = null; // -1 = unknown
  }
  const cites: ParsedAlert['cites'] = [];
  const citations = child(root, 'Citations');
  if (citations) for (const c of descendants(citations, 'EventIVORN')) {
    const type = (c.attrs.cite ?? 'followup').trim() as CiteType;
    cites.push({ ivorn: c.text.trim(), type: ['followup', 'supersedes', 'retraction'].includes(type) ? type : 'followup' });
  }
  const descriptions = [...descendants(root, 'Description')].map((d: XmlElement) => d.text.trim());
  const isTest = role === 'test' || descriptions.some((d) => /^Broker test event|broker-generated test/i.test(d));
  const trig = params.TrigID?.trim();
  const burstId = params.Burst_Id?.trim() || (trig ? `${mission.toLowerCase()}-${trig}` : ivorn);
  return {
    ivorn,
    role,
    isTest,
    version: root.attrs.version ?? '',
    mission,
    burstId,
    packetType,
    packetName: packetType === null ? null : ((isSvom ? SVOM_PACKETS : GCN_PACKETS)[packetType] ?? null),
    instrument: params.Instrument?.trim() || (mission === 'Swift' && packetType === 61 ? 'BAT' : mission === 'Swift' && packetType === 67 ? 'XRT' : null),
    noticeLevel: params.Notice_Level?.trim() || null,
    t0,
    ra,
    dec,
    errorRadiusDeg: err,
    positionKnown: ra !== null && dec !== null,
    slewStatus: params.Slew_Status?.trim() || null,
    cites,
    authorIvorn: path(root, 'Who', 'AuthorIVORN')?.text.trim() || null,
    date: isoUtc(path(root, 'Who', 'Date')?.text),
    params,
  };
}
