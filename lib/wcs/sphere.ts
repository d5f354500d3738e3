/**
 * Spherical helpers shared by the WCS and the GP1 stages. Angles in degrees at the API, radians
 * inside. All functions are pure and allocation-free except where they return a pair.
 */
export const DEG = Math.PI / 180;
export const ARCSEC = DEG / 3600;

/**
 * Angular separation (degrees) between two ICRS positions (degrees), Vincenty's formula: stable at
 * 0 and 180 degrees, unlike the plain arccos of the dot product.
 */
export function angularSeparation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const dra = (ra2 - ra1) * DEG;
  const d1 = dec1 * DEG;
  const d2 = dec2 * DEG;
  const s1 = Math.sin(d1), c1 = Math.cos(d1), s2 = Math.sin(d2), c2 = Math.cos(d2);
  const sdra = Math.sin(dra), cdra = Math.cos(dra);
  const a = c2 * sdra;
  const b = c1 * s2 - s1 * c2 * cdra;
  const num = Math.sqrt(a * a + b * b);
  const den = s1 * s2 + c1 * c2 * cdra;
  return Math.atan2(num, den) / DEG;
}

/** Angular separation in arcseconds. */
export function separationArcsec(ra1: number, dec1: number, ra2: number, dec2: number): number {
  return angularSeparation(ra1, dec1, ra2, dec2) * 3600;
}

/** Wraps an RA to [0, 360). */
export function normRa(ra: number): number {
  const r = ra % 360;
  return r < 0 ? r + 360 : r;
}

/**
 * Gnomonic (TAN) standard coordinates (ξ, η) in degrees of (ra, dec) about the tangent point
 * (ra0, dec0); ξ grows towards east (increasing RA), η towards north. Returns NaN for points on
 * the far hemisphere (cos c ≤ 0), which have no gnomonic image.
 * `out` receives [ξ, η] so hot loops can reuse one array.
 */
export function skyToTangent(ra: number, dec: number, ra0: number, dec0: number, out: Float64Array | number[] = [0, 0]): Float64Array | number[] {
  const d = dec * DEG, d0 = dec0 * DEG, da = (ra - ra0) * DEG;
  const sd = Math.sin(d), cd = Math.cos(d), sd0 = Math.sin(dec0 * DEG), cd0 = Math.cos(d0);
  const cda = Math.cos(da);
  const cosc = sd0 * sd + cd0 * cd * cda;
  if (cosc <= 0) {
    out[0] = NaN;
    out[1] = NaN;
    return out;
  }
  out[0] = (cd * Math.sin(da)) / cosc / DEG;
  out[1] = (cd0 * sd - sd0 * cd * cda) / cosc / DEG;
  return out;
}

/** Inverse of {@link skyToTangent}: standard coordinates (degrees) → [ra, dec] (degrees, ra in [0,360)). */
export function tangentToSky(xi: number, eta: number, ra0: number, dec0: number, out: Float64Array | number[] = [0, 0]): Float64Array | number[] {
  const x = xi * DEG, y = eta * DEG, d0 = dec0 * DEG;
  const sd0 = Math.sin(d0), cd0 = Math.cos(d0);
  const den = cd0 - y * sd0;
  const ra = ra0 * DEG + Math.atan2(x, den);
  const dec = Math.atan2(sd0 + y * cd0, Math.sqrt(x * x + den * den));
  out[0] = normRa(ra / DEG);
  out[1] = dec / DEG;
  return out;
}

/** Formats an IAU-style designation `JHHMMSS.ss+DDMMSS.s` (truncated, not rounded, as the IAU asks). */
export function designation(ra: number, dec: number): string {
  const r = normRa(ra) / 15;
  const h = Math.floor(r);
  const m = Math.floor((r - h) * 60);
  const s = Math.floor(((r - h) * 60 - m) * 60 * 100) / 100;
  const sign = dec < 0 ? '-' : '+';
  const ad = Math.abs(dec);
  const dd = Math.floor(ad);
  const dm = Math.floor((ad - dd) * 60);
  const ds = Math.floor(((ad - dd) * 60 - dm) * 60 * 10) / 10;
  const p2 = (v: number) => String(v).padStart(2, '0');
  return `J${p2(h)}${p2(m)}${s.toFixed(2).padStart(5, '0')}${sign}${p2(dd)}${p2(dm)}${ds.toFixed(1).padStart(4, '0')}`;
}
