/**
 * The coordinate system of a VOEvent's `WhereWhen`, read from its STC names.
 *
 * A VOEvent names its system with an id such as `UTC-ICRS-GEO`: a time scale, a spatial frame and a
 * reference position (IVOA STC 1.30, the STClib `CoordSys` library). The id is an XML ID chosen by the
 * author, so its tokens are not always in STClib order: Fermi GBM notices from GCN write
 * `<AstroCoordSystem id="FK5-UTC-GEO" xlink:href="ivo://STClib/CoordSys#UTC-FK5-GEO/">`. So each token is
 * classified by what it names, in any order; a system whose id names no frame (an id like `coords1`) is
 * read from the `xlink:href` fragment, then from `AstroCoords/@coord_system_id`.
 *
 * What is accepted: spatial frame ICRS or FK5 (J2000 equinox; the ~20 mas difference is irrelevant for
 * a follow-up), any reference position (GEO, TOPO, BARY, … do not change a sky position at our precision).
 * A named frame that is not ICRS/FK5 (FK4, GALACTIC, ECLIPTIC, GEO_D, …) is rejected by the caller.
 * When no source names a frame at all, ICRS is assumed (`frameAssumed`), as GCN and SVOM always use it.
 * Pure: strings in, value out.
 */

/** STC time scales (STC 1.30 §4.4.1.1) and their aliases. */
const TIME_SCALES: Readonly<Record<string, string>> = {
  UTC: 'UTC',
  TT: 'TT',
  TDT: 'TT',
  ET: 'TT',
  TDB: 'TDB',
  TEB: 'TDB',
  TAI: 'TAI',
  IAT: 'TAI',
  GPS: 'GPS',
  TCG: 'TCG',
  TCB: 'TCB',
  LST: 'LST',
  LOCAL: 'LOCAL',
};

/** STC spatial reference frames (STC 1.30 §4.4.1.2, STClib). */
const FRAMES: ReadonlySet<string> = new Set([
  'ICRS', 'FK5', 'FK4', 'J2000', 'B1950', 'ECLIPTIC', 'GALACTIC', 'GALACTIC_I', 'GALACTIC_II', 'SUPER_GALACTIC',
  'AZ_EL', 'BODY', 'GEO_C', 'GEO_D', 'GEOD', 'MAG', 'GSE', 'GSM', 'SM', 'HGC', 'HGS', 'HEEQ', 'HRTN', 'HPC', 'HPR', 'HCC', 'HGI',
  'MERCURY_C', 'VENUS_C', 'LUNA_C', 'MARS_C', 'JUPITER_C_III', 'SATURN_C_III', 'URANUS_C_III', 'NEPTUNE_C_III', 'PLUTO_C',
  'UNKNOWNFRAME', 'GENERIC',
]);

/** Frame tokens that denote ICRS or FK5/J2000 (the equatorial frames we accept). */
const EQUATORIAL: Readonly<Record<string, 'ICRS' | 'FK5'>> = { ICRS: 'ICRS', FK5: 'FK5', J2000: 'FK5' };

/** STC reference positions (STC 1.30 §4.4.1.3). */
const REF_POSITIONS: ReadonlySet<string> = new Set([
  'GEO', 'TOPO', 'BARY', 'HELIO', 'EMBARY', 'RELOCATABLE', 'UNKNOWNREFPOS', 'MOON', 'MERCURY', 'VENUS', 'MARS', 'JUPITER',
  'SATURN', 'URANUS', 'NEPTUNE', 'PLUTO', 'LSR', 'LSRK', 'LSRD', 'GALACTIC_CENTER', 'LOCAL_GROUP_CENTER', 'GEOLUN', 'GEOSURFACE',
]);

export interface CoordSystemNames {
  /** AstroCoordSystem/@id */
  id?: string | null;
  /** AstroCoordSystem/@xlink:href, e.g. `ivo://STClib/CoordSys#UTC-FK5-GEO/` */
  href?: string | null;
  /** AstroCoords/@coord_system_id */
  coordSystemId?: string | null;
}

export interface CoordSystem {
  /** The time scale, canonical name (UTC when none is named). */
  timeScale: string;
  /** The spatial frame token as written (upper case), null when none is named. */
  frame: string | null;
  /** 'ICRS' | 'FK5' when the frame is one of those (or none is named: ICRS assumed); null otherwise. */
  equatorial: 'ICRS' | 'FK5' | null;
  /** True when no source named a frame and ICRS was assumed. */
  frameAssumed: boolean;
  refPosition: string | null;
  /** Which name the frame (or, without one, the time scale) was read from. */
  source: 'id' | 'href' | 'coord_system_id' | 'none';
}

interface Tokens {
  time: string | null;
  frame: string | null;
  ref: string | null;
}

/** Classifies the `-`-separated tokens of one STC name; undefined when two tokens claim the same role. */
function classify(name: string): Tokens | undefined {
  const out: Tokens = { time: null, frame: null, ref: null };
  for (const raw of name.trim().toUpperCase().split('-')) {
    const t = raw.trim();
    if (!t) continue;
    if (t in TIME_SCALES) {
      if (out.time) return undefined;
      out.time = TIME_SCALES[t];
    } else if (FRAMES.has(t)) {
      if (out.frame) return undefined;
      out.frame = t;
    } else if (REF_POSITIONS.has(t)) {
      if (out.ref) return undefined;
      out.ref = t;
    }
    // Anything else (an author's own word) is not an STC name: ignored.
  }
  return out;
}

/** The fragment of an STClib href (`…#UTC-FK5-GEO/` → `UTC-FK5-GEO`), or the href itself. */
function hrefName(href: string): string {
  const hash = href.lastIndexOf('#');
  return (hash >= 0 ? href.slice(hash + 1) : href).replace(/\/+$/, '');
}

/** Reads the coordinate system from its names (see the file comment for the order of precedence). */
export function interpretCoordSystem(names: CoordSystemNames): CoordSystem {
  const sources: [CoordSystem['source'], string][] = [];
  if (names.id?.trim()) sources.push(['id', names.id]);
  if (names.href?.trim()) sources.push(['href', hrefName(names.href)]);
  if (names.coordSystemId?.trim()) sources.push(['coord_system_id', names.coordSystemId]);
  const parsed = sources.map(([src, n]) => [src, classify(n)] as const).filter((p): p is readonly [CoordSystem['source'], Tokens] => p[1] !== undefined);

  const withFrame = parsed.find(([, t]) => t.frame !== null);
  const withTime = withFrame && withFrame[1].time ? withFrame : parsed.find(([, t]) => t.time !== null);
  const withRef = withFrame && withFrame[1].ref ? withFrame : parsed.find(([, t]) => t.ref !== null);
  const frame = withFrame?.[1].frame ?? null;
  return {
    timeScale: withTime?.[1].time ?? 'UTC',
    frame,
    equatorial: frame === null ? 'ICRS' : (EQUATORIAL[frame] ?? null),
    frameAssumed: frame === null,
    refPosition: withRef?.[1].ref ?? null,
    source: (withFrame ?? withTime)?.[0] ?? 'none',
  };
}
