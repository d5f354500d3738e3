/**
 * Just enough positional astronomy for a plausible TCS: sidereal time, equatorial → horizontal
 * coordinates, the Sun's position (to know when it is night) and airmass. Angles in degrees, times
 * as Unix milliseconds (UTC). Precision ~0.01°, which is far below what a telemetry plot shows.
 */

export interface Site {
  name: string;
  /** geodetic latitude, degrees north */
  lat: number;
  /** longitude, degrees east (negative west) */
  lon: number;
  /** altitude above sea level, m */
  elevation: number;
  /** offset of civil local time from UTC, hours (for the diurnal weather cycle) */
  utcOffsetHours: number;
}

/** Observatorio Astronómico Nacional, San Pedro Mártir (Baja California): COLIBRI's site. */
export const SAN_PEDRO_MARTIR: Site = { name: 'OAN-SPM', lat: 31.0442, lon: -115.4638, elevation: 2790, utcOffsetHours: -8 };

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

export const norm360 = (d: number) => ((d % 360) + 360) % 360;

/** Julian date of a Unix time in ms (JD 2440587.5 = 1970-01-01T00:00Z). */
export function julianDate(ms: number): number {
  return ms / 86_400_000 + 2440587.5;
}

/** Greenwich mean sidereal time, degrees (IAU 1982 expression, Meeus eq. 12.4). */
export function gmstDeg(ms: number): number {
  const d = julianDate(ms) - 2451545.0;
  const t = d / 36525;
  return norm360(280.46061837 + 360.98564736629 * d + 0.000387933 * t * t - (t * t * t) / 38710000);
}

/** Local sidereal time, degrees. */
export function lstDeg(ms: number, site: Site): number {
  return norm360(gmstDeg(ms) + site.lon);
}

/** Equatorial (ra, dec) → horizontal (alt, az, hour angle); az from north through east. */
export function altAz(raDeg: number, decDeg: number, ms: number, site: Site): { alt: number; az: number; ha: number } {
  const haDeg = norm360(lstDeg(ms, site) - raDeg);
  const h = haDeg * D2R;
  const d = decDeg * D2R;
  const p = site.lat * D2R;
  const sinAlt = Math.sin(d) * Math.sin(p) + Math.cos(d) * Math.cos(p) * Math.cos(h);
  const alt = Math.asin(Math.max(-1, Math.min(1, sinAlt)));
  const az = Math.atan2(-Math.cos(d) * Math.sin(h), Math.sin(d) * Math.cos(p) - Math.cos(d) * Math.sin(p) * Math.cos(h));
  return { alt: alt * R2D, az: norm360(az * R2D), ha: haDeg > 180 ? haDeg - 360 : haDeg };
}

/** Horizontal → equatorial (inverse of altAz). */
export function raDec(altDeg: number, azDeg: number, ms: number, site: Site): { ra: number; dec: number } {
  const a = altDeg * D2R;
  const z = azDeg * D2R;
  const p = site.lat * D2R;
  const sinDec = Math.sin(a) * Math.sin(p) + Math.cos(a) * Math.cos(p) * Math.cos(z);
  const dec = Math.asin(Math.max(-1, Math.min(1, sinDec)));
  const h = Math.atan2(-Math.sin(z) * Math.cos(a), Math.sin(a) * Math.cos(p) - Math.cos(a) * Math.sin(p) * Math.cos(z));
  return { ra: norm360(lstDeg(ms, site) - h * R2D), dec: dec * R2D };
}

/** Apparent Sun (ra, dec), low-precision formula of the Astronomical Almanac (~0.01°). */
export function sunRaDec(ms: number): { ra: number; dec: number } {
  const n = julianDate(ms) - 2451545.0;
  const L = norm360(280.46 + 0.9856474 * n);
  const g = norm360(357.528 + 0.9856003 * n) * D2R;
  const lambda = (L + 1.915 * Math.sin(g) + 0.02 * Math.sin(2 * g)) * D2R;
  const eps = (23.439 - 0.0000004 * n) * D2R;
  return { ra: norm360(Math.atan2(Math.cos(eps) * Math.sin(lambda), Math.cos(lambda)) * R2D), dec: Math.asin(Math.sin(eps) * Math.sin(lambda)) * R2D };
}

/** Altitude of the Sun's centre, degrees (no refraction). */
export function sunAltitude(ms: number, site: Site): number {
  const s = sunRaDec(ms);
  return altAz(s.ra, s.dec, ms, site).alt;
}

/** Relative airmass (Pickering 2002), valid down to the horizon; 40 below it. */
export function airmass(altDeg: number): number {
  if (altDeg <= 0) return 40;
  return 1 / Math.sin((altDeg + 244 / (165 + 47 * altDeg ** 1.1)) * D2R);
}
