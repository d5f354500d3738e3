/**
 * Low-precision ephemerides for realistic headers and VOEvent parameters (airmass, Sun and Moon
 * angles, galactic coordinates). Accuracy ~0.01° for the Sun, ~0.3° for the Moon, 0.001 for airmass:
 * they decorate the simulation, nothing is measured against them.
 * Formulas: Astronomical Almanac "low precision" Sun and Moon; GMST from IAU 1982 (Meeus 12.4);
 * ICRS→Galactic with the north galactic pole at (192.85948°, +27.12825°), l(NCP) = 122.93192°.
 */
import { DEG, angularSeparation, normRa } from '../../../../lib/wcs/index.ts';

/** OAN San Pedro Mártir (COATLI, COLIBRI): longitude east (deg), latitude (deg), altitude (m). */
export const SPM = { lon: -115.4637, lat: 31.0443, alt: 2800 };

export function julianDate(ms: number): number {
  return ms / 86400000 + 2440587.5;
}

export function mjd(ms: number): number {
  return julianDate(ms) - 2400000.5;
}

/** Greenwich mean sidereal time, degrees. */
export function gmstDeg(ms: number): number {
  const jd = julianDate(ms);
  const t = (jd - 2451545.0) / 36525;
  return normRa(280.46061837 + 360.98564736629 * (jd - 2451545.0) + 0.000387933 * t * t - (t * t * t) / 38710000);
}

/** Altitude (deg) of (ra, dec) seen from (lon, lat) at `ms`. */
export function altitudeDeg(ra: number, dec: number, ms: number, site = SPM): number {
  const ha = (gmstDeg(ms) + site.lon - ra) * DEG;
  const d = dec * DEG, p = site.lat * DEG;
  return Math.asin(Math.sin(d) * Math.sin(p) + Math.cos(d) * Math.cos(p) * Math.cos(ha)) / DEG;
}

/** Airmass, Hardie (1962) polynomial in sec z − 1; NaN below the horizon. */
export function airmass(altDeg: number): number {
  if (altDeg <= 0) return NaN;
  const secz = 1 / Math.sin(altDeg * DEG);
  const s = secz - 1;
  return secz - 0.0018167 * s - 0.002875 * s * s - 0.0008083 * s * s * s;
}

function eclToEq(lonDeg: number, latDeg: number, epsDeg: number): { ra: number; dec: number } {
  const l = lonDeg * DEG, b = latDeg * DEG, e = epsDeg * DEG;
  const x = Math.cos(b) * Math.cos(l);
  const y = Math.cos(e) * Math.cos(b) * Math.sin(l) - Math.sin(e) * Math.sin(b);
  const z = Math.sin(e) * Math.cos(b) * Math.sin(l) + Math.cos(e) * Math.sin(b);
  return { ra: normRa(Math.atan2(y, x) / DEG), dec: Math.asin(z) / DEG };
}

export function sunPosition(ms: number): { ra: number; dec: number } {
  const n = julianDate(ms) - 2451545.0;
  const L = 280.46 + 0.9856474 * n;
  const g = (357.528 + 0.9856003 * n) * DEG;
  const lam = L + 1.915 * Math.sin(g) + 0.02 * Math.sin(2 * g);
  return eclToEq(lam, 0, 23.439 - 0.0000004 * n);
}

export function moonPosition(ms: number): { ra: number; dec: number } {
  const t = (julianDate(ms) - 2451545.0) / 36525;
  const s = (a: number, b: number) => Math.sin((a + b * t) * DEG);
  const lam = 218.32 + 481267.881 * t + 6.29 * s(135.0, 477198.87) - 1.27 * s(259.3, -413335.36) + 0.66 * s(235.7, 890534.22)
    + 0.21 * s(269.9, 954397.74) - 0.19 * s(357.5, 35999.05) - 0.11 * s(186.5, 966404.03);
  const bet = 5.13 * s(93.3, 483202.02) + 0.28 * s(228.2, 960400.89) - 0.28 * s(318.3, 6003.15) - 0.17 * s(217.6, -407332.21);
  return eclToEq(lam, bet, 23.439 - 0.013 * t);
}

export function sunAngle(ra: number, dec: number, ms: number): number {
  const p = sunPosition(ms);
  return angularSeparation(ra, dec, p.ra, p.dec);
}

export function moonAngle(ra: number, dec: number, ms: number): number {
  const p = moonPosition(ms);
  return angularSeparation(ra, dec, p.ra, p.dec);
}

const NGP_RA = 192.85948, NGP_DEC = 27.12825, L_NCP = 122.93192;

export function galactic(ra: number, dec: number): { l: number; b: number } {
  const d = dec * DEG, dg = NGP_DEC * DEG, da = (ra - NGP_RA) * DEG;
  const sb = Math.sin(d) * Math.sin(dg) + Math.cos(d) * Math.cos(dg) * Math.cos(da);
  const b = Math.asin(sb);
  const y = Math.cos(d) * Math.sin(da);
  const x = Math.sin(d) * Math.cos(dg) - Math.cos(d) * Math.sin(dg) * Math.cos(da);
  return { l: normRa(L_NCP - Math.atan2(y, x) / DEG), b: b / DEG };
}
