/**
 * VOEvent 2.0 / 1.1 (with or without namespace) → one flat, JSON-serialisable `ParsedAlert`.
 * Pure: bytes in, value out; every rejection is an `InvalidInput` with a stable code (./errors.ts).
 *
 * Conventions (../../../../shared/guides/domain.md, FSC "notices and circulars", GCN VOEvent notes):
 * - Params: `What/Param` (top level) and `What/Group/Param`. SVOM: top-level Packet_Type, Pkt_Ser_Num,
 *   Instrument; group Svom_Identifiers (Burst_Id, Notice_Level, optional Alert_Seq_T0); group
 *   Satellite_Info (Slew_Status). A param is looked up in its documented group first, then anywhere.
 *   The raw map keys top-level params by name and grouped ones as `Group.Name` (so the two `Port`
 *   params of a broker test packet stay apart); the first occurrence of a key wins.
 * - t0: `WhereWhen/ObsDataLocation/ObservationLocation/AstroCoords/Time/TimeInstant/ISOTime` → ISO 8601
 *   UTC with `Z`, millisecond precision (extra digits truncated). No zone means the system's time scale
 *   (./coordSystem.ts: the STC tokens of the AstroCoordSystem id in any order — Fermi GBM writes
 *   `FK5-UTC-GEO` —, else its xlink:href, else UTC); TT, TDB (≈TT within 2 ms), TCG, TCB, TAI and GPS
 *   are converted to UTC for dates since 1999 (leap-second table below); earlier non-UTC, and LST or
 *   LOCAL without a zone → bad_value.
 * - Position: `AstroCoords/Position2D`, C1 = RA, C2 = Dec (swapped if Name1 says Dec), unit from the
 *   `unit` attribute (deg when absent; rad, arcmin, arcsec converted), frame ICRS or FK5 (J2000; the
 *   ~20 mas difference is irrelevant here; ICRS assumed when no name of the system says a frame);
 *   other frames (FK4, GALACTIC, ECLIPTIC, …) → bad_value. RA must be in [0, 360], Dec in
 *   [-90, 90]. `Error2Radius` in the same unit; ≤ 0 (SVOM GRM sends -1) means *unknown* → null.
 *   No Position2D (GRM 2-detector triggers) → ra/dec/error null, positionKnown false.
 * - Position placeholders (classic GCN): a notice without a real position still carries a Position2D
 *   (Fermi GBM Alert 110, Konus light curves: RA = Dec = 0, error 0, `Coords_Type` 0 =
 *   "unavailable/inappropriate"); Swift *_NACK notices (62, 71, 89) say no position was found; a Swift
 *   notice with `StarTrack_Lost_Lock` = true has an unreliable position (attitude unknown). In all these
 *   cases ra/dec/error are null, positionKnown false, and `positionIgnored` says why.
 * - Citations: `Citations/EventIVORN` with `cite` ∈ followup | supersedes | retraction (required). An
 *   empty EventIVORN (ANTARES sends `<EventIVORN cite="followup"></EventIVORN>`) cites nothing: skipped.
 * - grbStream: the notice belongs to a GRB alert stream: any SVOM notice, or a classic GCN notice whose
 *   Packet_Type is a GRB notice type (GCN_GRB_TYPES). Everything else (LVK, IceCube/AMON, MAXI, MOA,
 *   Gaia, ASAS-SN, …) is parsed but never starts a burst follow-up.
 * - notGrbReason: the notice's own classification says it is not (yet) a GRB, without ruling the
 *   trigger out for good: Fermi GBM flight software `Most_Likely_Index` ≠ 4 (particles, solar flare,
 *   TGF, below the horizon, unreliable location, …; a later notice of the same trigger may say GRB),
 *   Swift `GRB_Identified` = false. (Def_NOT_a_GRB = true is definitive: `notGrb`.)
 * - isTest: role="test", or a Description starting "Broker test event", or GCN Test_Submission=true.
 * - burstId: SVOM Burst_Id (else the `sbYYMMDDnn` of the IVORN fragment); classic GCN
 *   `<mission>-<TrigID>` (e.g. `swift-532871`); otherwise the IVORN itself (one state per notice).
 */
import { InvalidInput } from './errors.ts';
import { parseXml, child, childrenNamed, descendants, path, type XmlElement, type XmlLimits } from './xml.ts';
import { interpretCoordSystem } from './coordSystem.ts';

export type Role = 'observation' | 'test' | 'utility' | 'prediction';
export type CiteType = 'followup' | 'supersedes' | 'retraction';
export interface Citation {
  ivorn: string;
  type: CiteType;
}

export interface ParsedAlert {
  ivorn: string;
  /** '2.0' | '1.1' (from the version attribute, else the namespace), '' when neither says. */
  version: string;
  role: Role;
  isTest: boolean;
  /** 'SVOM' | 'Swift' | 'Fermi' | other GCN mission name | 'unknown' */
  mission: string;
  burstId: string;
  packetType: number | null;
  /** e.g. 'eclairs-wakeup', 'swift-bat-grb-pos'; null when the type is not in our tables. */
  packetName: string | null;
  pktSerNum: number | null;
  instrument: string | null;
  noticeLevel: string | null;
  /** Notice time instant (ISOTime) as ISO 8601 UTC with Z. For SVOM N1 notices: the trigger time. */
  t0: string | null;
  /** SVOM Svom_Identifiers/Alert_Seq_T0 (the alert sequence's T0), ISO UTC, when present. */
  alertSeqT0: string | null;
  /** deg, ICRS */
  ra: number | null;
  dec: number | null;
  /** deg; null = unknown (Error2Radius ≤ 0, e.g. -1, or absent) */
  errorRadiusDeg: number | null;
  positionKnown: boolean;
  /** AstroCoordSystem id, e.g. 'UTC-ICRS-GEO' */
  coordSystem: string | null;
  /** SVOM Satellite_Info/Slew_Status: accepted | rejected | not-requested (kept verbatim) */
  slewStatus: string | null;
  /** A known (catalogued) source: SVOM 203 eclairs-catalog, or GCN Target_in_{Flt,Gnd}_Catalog=true. */
  catalogSource: boolean;
  /** GCN Def_NOT_a_GRB=true */
  notGrb: boolean;
  /** SVOM, or a classic GCN GRB notice type; false for other streams (never followed). */
  grbStream: boolean;
  /** This notice classifies the event as not (yet) a GRB (Fermi GBM Most_Likely_Index ≠ 4, Swift GRB_Identified=false); null otherwise. */
  notGrbReason: string | null;
  /** Why the notice's Position2D was not used (placeholder, NACK, star tracker lost lock); null when used or absent. */
  positionIgnored: string | null;
  cites: Citation[];
  authorIvorn: string | null;
  /** Who/Date as ISO UTC */
  date: string | null;
  params: Record<string, string>;
}

export const SVOM_PACKETS: Readonly<Record<number, string>> = {
  199: 'grm-preliminary',
  200: 'eclairs-preliminary',
  201: 'grm-trigger',
  202: 'eclairs-wakeup',
  203: 'eclairs-catalog',
  204: 'slewing',
  205: 'not-slewing',
  209: 'mxt-initial',
  210: 'mxt-update',
  211: 'vt',
  219: 'retraction',
};

/** Classic GCN notice types we name (GCN "Notice types" table); others keep packetName null. */
export const GCN_PACKETS: Readonly<Record<number, string>> = {
  39: 'ipn-pos',
  53: 'integral-wakeup',
  54: 'integral-refined',
  55: 'integral-offline',
  56: 'integral-weak',
  59: 'konus-lc',
  60: 'swift-bat-grb-alert',
  61: 'swift-bat-grb-pos',
  62: 'swift-bat-grb-nack',
  67: 'swift-xrt-pos',
  71: 'swift-xrt-nack-pos',
  81: 'swift-uvot-pos',
  82: 'swift-bat-grb-pos-test',
  83: 'swift-pointdir',
  84: 'swift-bat-trans',
  89: 'swift-uvot-nack-pos',
  97: 'swift-bat-ql-pos',
  98: 'swift-bat-sub-threshold',
  99: 'swift-bat-slew-pos',
  110: 'fermi-gbm-alert',
  111: 'fermi-gbm-flt-pos',
  112: 'fermi-gbm-gnd-pos',
  115: 'fermi-gbm-fin-pos',
  120: 'fermi-lat-pos-ini',
  121: 'fermi-lat-pos-upd',
  127: 'fermi-lat-gnd',
  128: 'fermi-lat-offline',
  131: 'fermi-gbm-sub-threshold',
  140: 'swift-bat-sub-sub-threshold',
  141: 'swift-bat-known-src',
  150: 'lvc-preliminary',
  151: 'lvc-initial',
  152: 'lvc-update',
  164: 'lvc-retraction',
  173: 'icecube-astrotrack-gold',
  174: 'icecube-astrotrack-bronze',
  188: 'gecam-flt',
  189: 'gecam-gnd',
};

/**
 * Classic GCN notice types that announce a gamma-ray burst (GCN socket packet definitions): IPN, INTEGRAL
 * IBAS, Swift BAT/XRT/UVOT GRB notices (alert, position, NACKs, quick-look, sub-threshold), SuperAGILE,
 * Konus, Fermi GBM and LAT GRB notices, CALET, GECAM. Test types (82, 109, 119, 124, …) are not listed:
 * they are flagged by role or Test_Submission anyway.
 */
export const GCN_GRB_TYPES: ReadonlySet<number> = new Set([
  39, // IPN position
  53, 54, 55, 56, // INTEGRAL wakeup, refined, offline, weak
  59, // Konus light curve
  60, 61, 62, 67, 71, 81, 89, 97, 98, 99, 140, // Swift BAT alert/position/NACK, XRT position/NACK, UVOT position/NACK, BAT quick-look, sub-threshold, slew, sub-sub-threshold
  100, 101, 102, // SuperAGILE GRB
  110, 111, 112, 115, 131, // Fermi GBM alert, flight/ground/final position, sub-threshold
  120, 121, 127, 128, // Fermi LAT GRB positions
  160, 161, // CALET GBM
  188, 189, // GECAM
]);

/** Swift "no position found" notices: BAT GRB NACK, XRT NACK position, UVOT NACK position. */
const GCN_NACK_TYPES: ReadonlySet<number> = new Set([62, 71, 89]);

/** Fermi GBM flight classification (Most_Likely_Index), GCN Fermi notice documentation. 4 = GRB. */
export const GBM_CLASSES: Readonly<Record<number, string>> = {
  0: 'ERROR',
  1: 'UNRELIABLE_LOCATION',
  2: 'LOCAL_PARTICLES',
  3: 'BELOW_HORIZON',
  4: 'GRB',
  5: 'GENERIC_SGR',
  6: 'GENERIC_TRANSIENT',
  7: 'DISTANT_PARTICLES',
  8: 'SOLAR_FLARE',
  9: 'CYG_X1',
  10: 'SGR_1806_20',
  11: 'GROJ_0422_32',
  19: 'TGF',
};

const GCN_MISSIONS: Record<string, string> = { SWIFT: 'Swift', FERMI: 'Fermi', INTEGRAL: 'INTEGRAL', MAXI: 'MAXI', AGILE: 'AGILE' };
const GCN_INSTRUMENTS: Record<string, string[]> = { Swift: ['BAT', 'XRT', 'UVOT'], Fermi: ['GBM', 'LAT'] };
const ROLES: readonly Role[] = ['observation', 'test', 'utility', 'prediction'];
const CITES: readonly CiteType[] = ['followup', 'supersedes', 'retraction'];
/** Burst ids become Kafka keys and file names. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$/;
const MAX_IVORN = 1024;

const bad = (msg: string) => new InvalidInput('voevent.bad_value', msg);

// --- scalar parsing (strict: no hex, no 'Infinity', no empty strings)

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number, or null when absent/blank. @throws bad_value */
export function parseDecimal(v: string | undefined, what: string): number | null {
  if (v === undefined) return null;
  const t = v.trim();
  if (t === '') return null;
  if (!DECIMAL.test(t)) throw bad(`${what} is not a number: '${clip(t)}'`);
  const n = Number(t);
  if (!Number.isFinite(n)) throw bad(`${what} is out of range: '${clip(t)}'`);
  return n;
}

function parseInteger(v: string | undefined, what: string): number | null {
  if (v === undefined || v.trim() === '') return null;
  const t = v.trim();
  if (!/^[+-]?\d{1,15}$/.test(t)) throw bad(`${what} is not an integer: '${clip(t)}'`);
  return Number(t);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// TAI − UTC (s) since 1999 (IERS Bulletin C); valid until the next leap second is announced.
const LEAP: [number, number][] = [
  [Date.UTC(2017, 0, 1), 37],
  [Date.UTC(2015, 6, 1), 36],
  [Date.UTC(2012, 6, 1), 35],
  [Date.UTC(2009, 0, 1), 34],
  [Date.UTC(2006, 0, 1), 33],
  [Date.UTC(1999, 0, 1), 32],
];

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * ISO 8601 date-time (with or without fraction, with or without zone; no zone = `scale`) → ISO UTC
 * with Z and milliseconds. Null when absent or blank. @throws bad_value
 */
export function isoUtc(v: string | undefined, what = 'time', scale = 'UTC'): string | null {
  if (v === undefined || v.trim() === '') return null;
  const t = v.trim();
  const m = ISO.exec(t);
  if (!m) throw bad(`${what} is not an ISO 8601 date-time: '${clip(t)}'`);
  const [, Y, Mo, D, h, mi, sec, frac, zone] = m;
  const y = +Y, mo = +Mo, d = +D, hh = +h, mm = +mi, ss = +sec;
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > dim || hh > 23 || mm > 59 || ss > 60) throw bad(`${what} is not a valid date-time: '${clip(t)}'`);
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  // ss = 60 (a leap second) rolls over to the next minute's :00, the nearest representable instant.
  let epoch = Date.UTC(y, mo - 1, d, hh, mm, ss, ms);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const zz = zone.slice(1).replace(':', '');
    const offMin = Number(zz.slice(0, 2)) * 60 + Number(zz.slice(2, 4));
    if (offMin > 18 * 60) throw bad(`${what} has an impossible zone offset: '${clip(t)}'`);
    epoch -= sign * offMin * 60_000;
  } else if (!zone && scale !== 'UTC') {
    epoch = toUtc(epoch, scale, what);
  }
  if (y < 1900 || y > 2200) throw bad(`${what} is out of range: '${clip(t)}'`);
  return new Date(epoch).toISOString();
}

// TCG and TCB tick faster than TT and TDB (IAU 2000 B1.9, 2006 B3): they agree at 1977-01-01T00:00:32.184 TAI.
const T77 = Date.UTC(1977, 0, 1, 0, 0, 32, 184);
const L_G = 6.969290134e-10;
const L_B = 1.550519768e-8;
const TDB0 = -6.55e-5;

/** Reading of `scale` (a canonical name from ./coordSystem.ts) → UTC epoch ms. */
function toUtc(epoch: number, scale: string, what: string): number {
  let tt = epoch; // the same instant read on TT (TDB ≈ TT within 2 ms)
  if (scale === 'TCG') tt = epoch - L_G * (epoch - T77);
  else if (scale === 'TCB') tt = epoch - L_B * (epoch - T77) + TDB0 * 1000;
  const shift = scale === 'TT' || scale === 'TDB' || scale === 'TCG' || scale === 'TCB' ? 32.184 : scale === 'TAI' ? 0 : scale === 'GPS' ? -19 : NaN;
  if (Number.isNaN(shift)) throw bad(`${what}: time scale ${scale} without a zone offset cannot be converted to UTC`);
  const leap = LEAP.find(([from]) => epoch >= from);
  if (!leap) throw bad(`${what}: time scale ${scale} before 1999 is not supported`);
  return tt - Math.round((leap[1] + shift) * 1000);
}

// --- the VOEvent

interface Params {
  top: Map<string, string>;
  groups: Map<string, Map<string, string>>;
  raw: Record<string, string>;
}

function paramValue(p: XmlElement): string {
  return p.attrs.value ?? child(p, 'Value')?.text ?? '';
}

function readParams(what: XmlElement | undefined): Params {
  const top = new Map<string, string>();
  const groups = new Map<string, Map<string, string>>();
  const raw = new Map<string, string>();
  if (what) {
    for (const c of what.children) {
      if (c.name === 'Param' && c.attrs.name) {
        const n = c.attrs.name.trim();
        if (!top.has(n)) top.set(n, paramValue(c));
        if (!raw.has(n)) raw.set(n, paramValue(c));
      } else if (c.name === 'Group') {
        const g = (c.attrs.name ?? c.attrs.type ?? '').trim();
        const gm = groups.get(g) ?? new Map<string, string>();
        groups.set(g, gm);
        for (const p of descendants(c, 'Param')) {
          const n = p.attrs.name?.trim();
          if (!n) continue;
          if (!gm.has(n)) gm.set(n, paramValue(p));
          const key = g ? `${g}.${n}` : n;
          if (!raw.has(key)) raw.set(key, paramValue(p));
        }
      }
    }
  }
  // Object.fromEntries defines own properties, so a param called "__proto__" is just a key.
  return { top, groups, raw: Object.fromEntries(raw) };
}

/** A param from its documented group, else top level, else any group (first in document order). */
function param(ps: Params, name: string, group?: string): string | undefined {
  const fromGroup = group ? ps.groups.get(group)?.get(name) : undefined;
  if (fromGroup !== undefined) return fromGroup;
  const t = ps.top.get(name);
  if (t !== undefined) return t;
  for (const g of ps.groups.values()) {
    const v = g.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

const truthyParam = (ps: Params, name: string) => (param(ps, name) ?? '').trim().toLowerCase() === 'true';

const textOf = (el: XmlElement | undefined): string | undefined => (el ? el.text.trim() : undefined);
const nonEmpty = (s: string | undefined): string | null => (s && s.trim() ? s.trim() : null);

const UNIT_DEG: Record<string, number> = { deg: 1, degree: 1, degrees: 1, rad: 180 / Math.PI, arcmin: 1 / 60, arcsec: 1 / 3600 };

/**
 * Parses one VOEvent. Accepts a Buffer (the exact bytes received) or a string.
 * @throws InvalidInput — never anything else for any input.
 */
export function parseVoevent(xml: string | Uint8Array, limits: Partial<XmlLimits> = {}): ParsedAlert {
  const root = parseXml(xml, limits);
  if (root.name !== 'VOEvent') throw new InvalidInput('voevent.not_voevent', `root element is <${root.name}>, not <VOEvent>`);

  const ivorn = root.attrs.ivorn?.trim();
  if (!ivorn) throw new InvalidInput('voevent.missing_field', 'the VOEvent has no ivorn attribute');
  if (!/^ivo:\/\/\S+$/.test(ivorn) || ivorn.length > MAX_IVORN) throw bad(`ivorn must be an ivo:// URI without spaces (got '${clip(ivorn)}')`);
  const roleAttr = (root.attrs.role ?? 'observation').trim() || 'observation';
  if (!(ROLES as readonly string[]).includes(roleAttr)) throw bad(`unknown role '${clip(roleAttr)}' (observation, test, utility or prediction)`);
  const role = roleAttr as Role;
  const nsVersion = /VOEvent\/v(\d+\.\d+)/.exec(root.ns)?.[1] ?? '';
  const version = (root.attrs.version ?? '').trim() || nsVersion;

  const ps = readParams(child(root, 'What'));
  const authority = /^ivo:\/\/([^/#]+)/.exec(ivorn)?.[1].toLowerCase() ?? '';
  const isSvom = authority === 'org.svom' || ps.groups.has('Svom_Identifiers') || param(ps, 'Burst_Id') !== undefined;
  let mission = 'unknown';
  if (isSvom) mission = 'SVOM';
  else if (authority === 'nasa.gsfc.gcn') {
    const seg = /^ivo:\/\/[^/]+\/([^#/]+)/.exec(ivorn)?.[1] ?? '';
    mission = GCN_MISSIONS[seg.toUpperCase()] ?? (seg || 'unknown');
  }

  const packetType = parseInteger(param(ps, 'Packet_Type'), 'Packet_Type');
  const pktSerNum = parseInteger(param(ps, 'Pkt_Ser_Num'), 'Pkt_Ser_Num');
  const packetName = packetType === null ? null : ((isSvom ? SVOM_PACKETS : GCN_PACKETS)[packetType] ?? null);

  // Instrument: the param (SVOM), else the GCN IVORN fragment's first token (…#BAT_GRB_Pos_…).
  let instrument = nonEmpty(param(ps, 'Instrument'));
  if (!instrument && GCN_INSTRUMENTS[mission]) {
    const tok = /#([A-Za-z]+)_/.exec(ivorn)?.[1]?.toUpperCase();
    if (tok && GCN_INSTRUMENTS[mission].includes(tok)) instrument = tok;
  }

  // Burst id.
  let burstId: string;
  if (isSvom) {
    const b = nonEmpty(param(ps, 'Burst_Id', 'Svom_Identifiers')) ?? /#(sb\d{8,})(?:_|$)/.exec(ivorn)?.[1] ?? null;
    if (!b) throw new InvalidInput('voevent.missing_field', 'SVOM notice without Burst_Id (neither the Svom_Identifiers param nor the IVORN gives one)');
    burstId = b;
  } else {
    const trig = nonEmpty(param(ps, 'TrigID'));
    burstId = trig && mission !== 'unknown' ? `${mission.toLowerCase()}-${trig}` : ivorn;
  }
  if (burstId !== ivorn && !SAFE_ID.test(burstId)) throw bad(`burst id '${clip(burstId)}' has characters outside [A-Za-z0-9_.:+-]`);

  // WhereWhen.
  const coords = path(root, 'WhereWhen', 'ObsDataLocation', 'ObservationLocation');
  const astro = child(coords, 'AstroCoords');
  const sysEl = child(coords, 'AstroCoordSystem');
  const coordSystem = nonEmpty(sysEl?.attrs.id) ?? nonEmpty(astro?.attrs.coord_system_id);
  const system = interpretCoordSystem({ id: sysEl?.attrs.id, href: sysEl?.attrs.href, coordSystemId: astro?.attrs.coord_system_id });
  const t0 = isoUtc(textOf(path(astro, 'Time', 'TimeInstant', 'ISOTime')), 'ISOTime', system.timeScale);

  let ra: number | null = null;
  let dec: number | null = null;
  let err: number | null = null;
  const pos = child(astro, 'Position2D');
  if (pos) {
    if (!system.equatorial) throw bad(`coordinate frame '${system.frame}' of '${coordSystem ?? sysEl?.attrs.href}' is not supported (ICRS or FK5 expected)`);
    const units = (pos.attrs.unit ?? 'deg').trim().toLowerCase().split(/\s+/);
    const unit = units[0] || 'deg';
    if (units.some((u) => u !== unit) || !(unit in UNIT_DEG)) throw bad(`Position2D unit '${pos.attrs.unit}' is not supported (deg, rad, arcmin or arcsec)`);
    const k = UNIT_DEG[unit];
    const value2 = child(pos, 'Value2');
    let c1 = parseDecimal(textOf(child(value2, 'C1')), 'Position2D C1');
    let c2 = parseDecimal(textOf(child(value2, 'C2')), 'Position2D C2');
    if ((c1 === null) !== (c2 === null)) throw bad('Position2D has only one of C1/C2');
    if (/^dec/i.test(textOf(child(pos, 'Name1')) ?? '') && /^ra/i.test(textOf(child(pos, 'Name2')) ?? '')) [c1, c2] = [c2, c1];
    if (c1 !== null && c2 !== null) {
      ra = c1 * k;
      dec = c2 * k;
      if (ra < 0 || ra > 360) throw bad(`RA ${c1} ${unit} is outside [0, 360] deg`);
      if (dec < -90 || dec > 90) throw bad(`Dec ${c2} ${unit} is outside [-90, 90] deg`);
      if (ra === 360) ra = 0;
    }
    const e = parseDecimal(textOf(child(pos, 'Error2Radius')), 'Error2Radius');
    err = e === null || e <= 0 ? null : e * k; // -1 (SVOM GRM) or 0 = unknown
  }

  // A Position2D that is not a position (see the conventions above).
  let positionIgnored: string | null = null;
  const coordsType = (param(ps, 'Coords_Type') ?? '').trim();
  if (pos && !isSvom) {
    if (packetType !== null && GCN_NACK_TYPES.has(packetType)) positionIgnored = `no position found (${packetName ?? `type ${packetType}`})`;
    else if (coordsType === '0' || /unavailable/i.test(param(ps, 'Coords_String') ?? '')) positionIgnored = 'no position in this notice (Coords_Type 0: unavailable/inappropriate)';
    else if (ra === 0 && dec === 0 && err === null) positionIgnored = 'placeholder position (RA = Dec = 0, no error radius)';
    else if (mission === 'Swift' && truthyParam(ps, 'StarTrack_Lost_Lock')) positionIgnored = 'Swift star tracker lost lock: position unreliable';
  }
  if (positionIgnored) ra = dec = err = null;

  // Citations.
  const cites: Citation[] = [];
  for (const c of childrenNamed(child(root, 'Citations'), 'EventIVORN')) {
    const target = c.text.trim();
    if (!target) continue; // cites nothing (seen in ANTARES notices)
    const typeAttr = c.attrs.cite;
    if (typeAttr === undefined) throw new InvalidInput('voevent.missing_field', `citation of ${clip(target)} has no cite attribute`);
    const type = typeAttr.trim().toLowerCase();
    if (!(CITES as readonly string[]).includes(type)) throw bad(`unknown cite type '${clip(typeAttr)}' (followup, supersedes or retraction)`);
    cites.push({ ivorn: target, type: type as CiteType });
  }

  const truthy = (name: string) => truthyParam(ps, name);
  const descriptions = descendants(root, 'Description').map((d) => d.text.trim());
  const isTest = role === 'test' || descriptions.some((d) => /^broker test event/i.test(d)) || truthy('Test_Submission');

  // Is this a GRB notice, and does it say it is one?
  const grbStream = isSvom || (authority === 'nasa.gsfc.gcn' && packetType !== null && GCN_GRB_TYPES.has(packetType));
  let notGrbReason: string | null = null;
  // (an unreadable classification is no classification: it must not cost us the notice)
  const mostLikelyText = mission === 'Fermi' ? (param(ps, 'Most_Likely_Index') ?? '').trim() : '';
  const mostLikely = /^\d{1,4}$/.test(mostLikelyText) ? Number(mostLikelyText) : null;
  if (mostLikely !== null && mostLikely !== 4) {
    const prob = nonEmpty(param(ps, 'Most_Likely_Prob'));
    notGrbReason = `Fermi GBM classification ${GBM_CLASSES[mostLikely] ?? `index ${mostLikely}`}${prob ? ` (${prob}%)` : ''}, not GRB`;
  } else if (mission === 'Swift' && (param(ps, 'GRB_Identified') ?? '').trim().toLowerCase() === 'false') {
    notGrbReason = 'Swift: GRB_Identified=false';
  }

  return {
    ivorn,
    version,
    role,
    isTest,
    mission,
    burstId,
    packetType,
    packetName,
    pktSerNum,
    instrument,
    noticeLevel: nonEmpty(param(ps, 'Notice_Level', 'Svom_Identifiers')),
    t0,
    alertSeqT0: isoUtc(param(ps, 'Alert_Seq_T0', 'Svom_Identifiers'), 'Alert_Seq_T0'),
    ra,
    dec,
    errorRadiusDeg: err,
    positionKnown: ra !== null && dec !== null,
    coordSystem,
    slewStatus: nonEmpty(param(ps, 'Slew_Status', 'Satellite_Info')),
    catalogSource: (isSvom && packetType === 203) || truthy('Target_in_Flt_Catalog') || truthy('Target_in_Gnd_Catalog'),
    notGrb: truthy('Def_NOT_a_GRB'),
    grbStream,
    notGrbReason,
    positionIgnored,
    cites,
    authorIvorn: nonEmpty(textOf(path(root, 'Who', 'AuthorIVORN'))),
    date: isoUtc(textOf(path(root, 'Who', 'Date')), 'Who/Date'),
    params: ps.raw,
  };
}

/** True for a retraction: SVOM Packet_Type 219, or any `cite="retraction"` citation. */
export function isRetraction(a: Pick<ParsedAlert, 'mission' | 'packetType' | 'cites'>): boolean {
  return (a.mission === 'SVOM' && a.packetType === 219) || a.cites.some((c) => c.type === 'retraction');
}
