/**
 * The sky as the telescope control system sees it: local sidereal time, hour angle, altitude and
 * azimuth, airmass, the Sun and the Moon, at a site (San Pedro Mártir by default). Pure functions of
 * time (Unix ms, UTC ≈ UT1: |UT1 − UTC| < 0.9 s, 0.004°) and position.
 *
 * Accuracy (checked against astropy in sky.test.ts, no refraction on either side): < 0.02° for the
 * altitude of a target, < 0.02° for the Sun, < 0.05° for the Moon (topocentric).
 * - Targets are ICRS (J2000) and precessed to the equator of date (IAU 1976, Meeus 21.3): 50″ a year,
 *   0.3° by 2024, is what a J2000 altitude would miss. Nutation (< 20″) and aberration (< 21″) are left out.
 * - Sun: Meeus ch. 25 (low accuracy, 0.01°). Moon: Meeus ch. 47 truncated to its terms above 0.003°,
 *   with the topocentric parallax (up to 1°) applied to the altitude.
 * - Sidereal time: GMST, IAU 1982 (Meeus 12.4).
 */

export const DEG = Math.PI / 180;

export interface Site {
  name: string;
  /** east longitude, degrees */
  lon: number;
  lat: number;
  /** metres */
  height: number;
}

/** Observatorio Astronómico Nacional, San Pedro Mártir (COLIBRI, COATLI). */
export const SAN_PEDRO_MARTIR: Site = { name: 'OAN-SPM', lon: -115.4637, lat: 31.0443, height: 2800 };

const norm360 = (x: number) => ((x % 360) + 360) % 360;
const norm180 = (x: number) => ((((x + 180) % 360) + 360) % 360) - 180;
const jd = (ms: number) => ms / 86_400_000 + 2_440_587.5;
/** Julian centuries since J2000.0 */
const centuries = (ms: number) => (jd(ms) - 2_451_545.0) / 36_525;

/** Greenwich mean sidereal time, degrees. */
export function gmst(ms: number): number {
  const d = jd(ms) - 2_451_545.0;
  const t = d / 36_525;
  return norm360(280.46061837 + 360.98564736629 * d + 0.000387933 * t * t - (t * t * t) / 38_710_000);
}

/** Local mean sidereal time, degrees. */
export function lst(ms: number, site: Site = SAN_PEDRO_MARTIR): number {
  return norm360(gmst(ms) + site.lon);
}

/** Obliquity of the ecliptic of date, degrees. */
const obliquity = (t: number) => 23.439291111 - 0.0130041667 * t - 1.639e-7 * t * t + 5.036e-7 * t * t * t;

/** ICRS (J2000) → mean equator and equinox of date (IAU 1976 precession, Meeus 21.2/21.4). */
export function precessToDate(ra: number, dec: number, ms: number): { ra: number; dec: number } {
  const t = centuries(ms);
  const sec = (a: number) => a / 3600;
  const zeta = sec(2306.2181 * t + 0.30188 * t * t + 0.017998 * t * t * t) * DEG;
  const z = sec(2306.2181 * t + 1.09468 * t * t + 0.018203 * t * t * t) * DEG;
  const theta = sec(2004.3109 * t - 0.42665 * t * t - 0.041833 * t * t * t) * DEG;
  const a = ra * DEG;
  const d = dec * DEG;
  const A = Math.cos(d) * Math.sin(a + zeta);
  const B = Math.cos(theta) * Math.cos(d) * Math.cos(a + zeta) - Math.sin(theta) * Math.sin(d);
  const C = Math.sin(theta) * Math.cos(d) * Math.cos(a + zeta) + Math.cos(theta) * Math.sin(d);
  return { ra: norm360(Math.atan2(A, B) / DEG + z / DEG), dec: Math.asin(Math.max(-1, Math.min(1, C))) / DEG };
}

export interface Horizontal {
  /** degrees above the horizon (geometric, no refraction) */
  alt: number;
  /** degrees east of north */
  az: number;
  /** hour angle, degrees in [-180, 180): negative east of the meridian */
  ha: number;
}

/** Horizontal coordinates of an equator-of-date position. */
export function horizontalOfDate(raDate: number, decDate: number, ms: number, site: Site = SAN_PEDRO_MARTIR): Horizontal {
  const ha = norm180(lst(ms, site) - raDate);
  const h = ha * DEG;
  const d = decDate * DEG;
  const p = site.lat * DEG;
  const sinAlt = Math.sin(d) * Math.sin(p) + Math.cos(d) * Math.cos(p) * Math.cos(h);
  const alt = Math.asin(Math.max(-1, Math.min(1, sinAlt)));
  const az = Math.atan2(-Math.cos(d) * Math.sin(h), Math.sin(d) * Math.cos(p) - Math.cos(d) * Math.sin(p) * Math.cos(h));
  return { alt: alt / DEG, az: norm360(az / DEG), ha };
}

/** Horizontal coordinates of an ICRS target. */
export function horizontal(ra: number, dec: number, ms: number, site: Site = SAN_PEDRO_MARTIR): Horizontal {
  const p = precessToDate(ra, dec, ms);
  return horizontalOfDate(p.ra, p.dec, ms, site);
}

/** Airmass: Hardie (1962) polynomial in sec z − 1 (Infinity at or below the horizon). */
export function airmass(altDeg: number): number {
  if (altDeg <= 0) return Infinity;
  const secz = 1 / Math.sin(altDeg * DEG);
  const s = secz - 1;
  return secz - 0.0018167 * s - 0.002875 * s * s - 0.0008083 * s * s * s;
}

function eclipticToEquatorial(lon: number, lat: number, eps: number): { ra: number; dec: number } {
  const l = lon * DEG;
  const b = lat * DEG;
  const e = eps * DEG;
  const ra = Math.atan2(Math.sin(l) * Math.cos(e) - Math.tan(b) * Math.sin(e), Math.cos(l));
  const dec = Math.asin(Math.sin(b) * Math.cos(e) + Math.cos(b) * Math.sin(e) * Math.sin(l));
  return { ra: norm360(ra / DEG), dec: dec / DEG };
}

/** The Sun's apparent geocentric position (equator of date), Meeus ch. 25. */
export function sunOfDate(ms: number): { ra: number; dec: number } {
  const t = centuries(ms);
  const L0 = 280.46646 + 36000.76983 * t + 0.0003032 * t * t;
  const M = (357.52911 + 35999.05029 * t - 0.0001537 * t * t) * DEG;
  const C = (1.914602 - 0.004817 * t - 0.000014 * t * t) * Math.sin(M) + (0.019993 - 0.000101 * t) * Math.sin(2 * M) + 0.000289 * Math.sin(3 * M);
  const omega = (125.04 - 1934.136 * t) * DEG;
  const lambda = L0 + C - 0.00569 - 0.00478 * Math.sin(omega);
  return eclipticToEquatorial(lambda, 0, obliquity(t) + 0.00256 * Math.cos(omega));
}

// Meeus table 47.A (longitude Σl ×1e-6°, distance Σr ×1e-3 km) and 47.B (latitude Σb ×1e-6°):
// multiples of D, M, M', F; terms below ~0.003° left out.
const MOON_LR: [number, number, number, number, number, number][] = [
  [0, 0, 1, 0, 6288774, -20905355], [2, 0, -1, 0, 1274027, -3699111], [2, 0, 0, 0, 658314, -2955968], [0, 0, 2, 0, 213618, -569925],
  [0, 1, 0, 0, -185116, 48888], [0, 0, 0, 2, -114332, -3149], [2, 0, -2, 0, 58793, 246158], [2, -1, -1, 0, 57066, -152138],
  [2, 0, 1, 0, 53322, -170733], [2, -1, 0, 0, 45758, -204586], [0, 1, -1, 0, -40923, -129620], [1, 0, 0, 0, -34720, 108743],
  [0, 1, 1, 0, -30383, 104755], [2, 0, 0, -2, 15327, 10321], [0, 0, 1, 2, -12528, 0], [0, 0, 1, -2, 10980, 79661],
  [4, 0, -1, 0, 10675, -34782], [0, 0, 3, 0, 10034, -23210], [4, 0, -2, 0, 8548, -21636], [2, 1, -1, 0, -7888, 24208],
  [2, 1, 0, 0, -6766, 30824], [1, 0, -1, 0, -5163, -8379], [1, 1, 0, 0, 4987, -16675], [2, -1, 1, 0, 4036, -12831],
  [2, 0, 2, 0, 3994, -10445], [4, 0, 0, 0, 3861, -11650], [2, 0, -3, 0, 3665, 14403], [0, 1, -2, 0, -2689, -7003],
  [2, 0, -1, 2, -2602, 0], [2, -1, -2, 0, 2390, 10056], [1, 0, 1, 0, -2348, 6322], [2, -2, 0, 0, 2236, -9884],
];
const MOON_B: [number, number, number, number, number][] = [
  [0, 0, 0, 1, 5128122], [0, 0, 1, 1, 280602], [0, 0, 1, -1, 277693], [2, 0, 0, -1, 173237], [2, 0, -1, 1, 55413],
  [2, 0, -1, -1, 46271], [2, 0, 0, 1, 32573], [0, 0, 2, 1, 17198], [2, 0, 1, -1, 9266], [0, 0, 2, -1, 8822],
  [2, -1, 0, -1, 8216], [2, 0, -2, -1, 4324], [2, 0, 1, 1, 4200], [2, 1, 0, -1, -3359], [2, -1, -1, 1, 2463],
  [2, -1, 0, 1, 2211], [2, -1, -1, -1, 2065], [0, 1, -1, -1, -1870], [4, 0, -1, -1, 1828], [0, 1, 0, 1, -1794],
];

/** The Moon's geocentric position (equator of date) and distance (km), Meeus ch. 47. */
export function moonOfDate(ms: number): { ra: number; dec: number; distanceKm: number } {
  const t = centuries(ms);
  const Lp = 218.3164477 + 481267.88123421 * t;
  const D = 297.8501921 + 445267.1114034 * t;
  const M = 357.5291092 + 35999.0502909 * t;
  const Mp = 134.9633964 + 477198.8675055 * t;
  const F = 93.272095 + 483202.0175233 * t;
  const E = 1 - 0.002516 * t - 0.0000074 * t * t;
  const A1 = 119.75 + 131.849 * t;
  const A2 = 53.09 + 479264.29 * t;
  const A3 = 313.45 + 481266.484 * t;
  let sl = 0;
  let sr = 0;
  let sb = 0;
  for (const [d, m, mp, f, l, r] of MOON_LR) {
    const arg = (d * D + m * M + mp * Mp + f * F) * DEG;
    const e = Math.abs(m) === 1 ? E : Math.abs(m) === 2 ? E * E : 1;
    sl += l * e * Math.sin(arg);
    sr += r * e * Math.cos(arg);
  }
  for (const [d, m, mp, f, b] of MOON_B) {
    const e = Math.abs(m) === 1 ? E : Math.abs(m) === 2 ? E * E : 1;
    sb += b * e * Math.sin((d * D + m * M + mp * Mp + f * F) * DEG);
  }
  sl += 3958 * Math.sin(A1 * DEG) + 1962 * Math.sin((Lp - F) * DEG) + 318 * Math.sin(A2 * DEG);
  sb += -2235 * Math.sin(Lp * DEG) + 382 * Math.sin(A3 * DEG) + 175 * Math.sin((A1 - F) * DEG) + 175 * Math.sin((A1 + F) * DEG) + 127 * Math.sin((Lp - Mp) * DEG) - 115 * Math.sin((Lp + Mp) * DEG);
  const eq = eclipticToEquatorial(Lp + sl / 1e6, sb / 1e6, obliquity(t));
  return { ...eq, distanceKm: 385000.56 + sr / 1000 };
}

const EARTH_RADIUS_KM = 6378.14;

export function sunHorizontal(ms: number, site: Site = SAN_PEDRO_MARTIR): Horizontal {
  const s = sunOfDate(ms);
  return horizontalOfDate(s.ra, s.dec, ms, site);
}

/** The Moon seen from the site: geocentric altitude lowered by the parallax. */
export function moonHorizontal(ms: number, site: Site = SAN_PEDRO_MARTIR): Horizontal {
  const m = moonOfDate(ms);
  const h = horizontalOfDate(m.ra, m.dec, ms, site);
  const parallax = Math.asin((EARTH_RADIUS_KM / m.distanceKm) * Math.cos(h.alt * DEG)) / DEG;
  return { ...h, alt: h.alt - parallax };
}

/** Great-circle distance, degrees. */
export function separation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const a = Math.sin(((dec2 - dec1) * DEG) / 2) ** 2 + Math.cos(dec1 * DEG) * Math.cos(dec2 * DEG) * Math.sin(((ra2 - ra1) * DEG) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(a)))) / DEG;
}

/** Angle between an ICRS target and the Moon (degrees; the Moon's geocentric position, precessed back is not needed at 0.1°). */
export function moonDistance(ra: number, dec: number, ms: number): number {
  const t = precessToDate(ra, dec, ms);
  const m = moonOfDate(ms);
  return separation(t.ra, t.dec, m.ra, m.dec);
}
