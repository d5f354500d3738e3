/**
 * TAN (gnomonic) world coordinate system, FITS WCS papers I & II, without distortion terms.
 *
 * Pixel convention at this API: **0-based array coordinates**, (x, y) = (column, row) of a pixel
 * centre, like astropy's `origin=0`. The FITS keywords are 1-based: p = x + 1. CRPIX is kept in its
 * FITS (1-based) form inside {@link TanWcs} so that the cards round-trip unchanged.
 *
 * Intermediate world coordinates (degrees): [ξ, η] = CD · (p − CRPIX); (ξ, η) are the standard
 * coordinates of the gnomonic projection about CRVAL with LONPOLE = 180° (the default for a
 * zenithal projection whose reference point is not the pole).
 */
import { DEG, skyToTangent, tangentToSky } from './sphere.ts';

export interface TanWcs {
  /** Reference point, degrees (ICRS). */
  crval1: number;
  crval2: number;
  /** Reference pixel, FITS 1-based. */
  crpix1: number;
  crpix2: number;
  /** Linear transformation, degrees per pixel: [CD1_1, CD1_2, CD2_1, CD2_2]. */
  cd: [number, number, number, number];
}

/** The subset of the FITS header API this module reads (lib/fits Header satisfies it). */
export interface HeaderReader {
  getNumber(key: string): number | undefined;
  getString(key: string): string | undefined;
  has(key: string): boolean;
}

/** The subset of the FITS header API this module writes. */
export interface HeaderWriter {
  set(key: string, value: string | number | boolean, comment?: string): unknown;
}

export interface WcsFromHeader {
  wcs: TanWcs | null;
  /** Why there is no WCS, or what was approximated (e.g. a SIP/TPV distortion ignored). */
  notes: string[];
}

function num(h: HeaderReader, key: string): number | undefined {
  if (!h.has(key)) return undefined;
  const v = h.getNumber(key);
  if (v !== undefined && Number.isFinite(v)) return v;
  const s = h.getString(key);
  if (s === undefined) return undefined;
  const p = Number(String(s).trim().replace(/[dD]/, 'e'));
  return Number.isFinite(p) ? p : undefined;
}

/**
 * Reads a celestial TAN WCS from a header: CD matrix, else CDELTi with PCi_j, else CDELTi with CROTA2
 * (the AIPS convention: CD1_1 = CDELT1 cos ρ, CD1_2 = −CDELT2 sin ρ, CD2_1 = CDELT1 sin ρ,
 * CD2_2 = CDELT2 cos ρ). Axis 1 must be RA and axis 2 Dec when CTYPE is present. Distortion suffixes
 * (-SIP, TPV) are ignored with a note; other zenithal projections (SIN, ARC, ZEA, STG) are read as TAN
 * with a note: close to the axis they differ by less than a pixel over a 30' field, and GP1 refits the
 * WCS on the catalog anyway. Never throws: an unusable header gives `wcs: null` with the reasons.
 */
export function wcsFromHeader(h: HeaderReader): WcsFromHeader {
  const notes: string[] = [];
  const c1 = (h.getString('CTYPE1') ?? '').trim().toUpperCase();
  const c2 = (h.getString('CTYPE2') ?? '').trim().toUpperCase();
  if (c1 || c2) {
    if (!c1.startsWith('RA') || !c2.startsWith('DEC')) {
      notes.push(`CTYPE1/2 = '${c1}'/'${c2}' is not RA/Dec in that order`);
      return { wcs: null, notes };
    }
    const proj = c1.slice(5, 8);
    if (proj && proj !== 'TAN') {
      if (['SIN', 'ARC', 'ZEA', 'STG', 'TPV'].includes(proj)) notes.push(`projection ${proj} read as TAN`);
      else {
        notes.push(`projection '${proj}' not supported`);
        return { wcs: null, notes };
      }
    }
    if (/-SIP$/.test(c1) || c1.endsWith('TPV')) notes.push('distortion terms ignored');
  }
  const crval1 = num(h, 'CRVAL1');
  const crval2 = num(h, 'CRVAL2');
  if (crval1 === undefined || crval2 === undefined) {
    notes.push('CRVAL1/CRVAL2 missing');
    return { wcs: null, notes };
  }
  const crpix1 = num(h, 'CRPIX1') ?? 0;
  const crpix2 = num(h, 'CRPIX2') ?? 0;
  if (!h.has('CRPIX1') || !h.has('CRPIX2')) notes.push('CRPIX missing, 0 assumed');
  let cd: [number, number, number, number] | null = null;
  if (h.has('CD1_1') || h.has('CD2_2') || h.has('CD1_2') || h.has('CD2_1')) {
    cd = [num(h, 'CD1_1') ?? 0, num(h, 'CD1_2') ?? 0, num(h, 'CD2_1') ?? 0, num(h, 'CD2_2') ?? 0];
  } else {
    const cdelt1 = num(h, 'CDELT1');
    const cdelt2 = num(h, 'CDELT2');
    if (cdelt1 !== undefined && cdelt2 !== undefined) {
      if (h.has('PC1_1') || h.has('PC2_2') || h.has('PC1_2') || h.has('PC2_1')) {
        const p11 = num(h, 'PC1_1') ?? 1, p12 = num(h, 'PC1_2') ?? 0, p21 = num(h, 'PC2_1') ?? 0, p22 = num(h, 'PC2_2') ?? 1;
        cd = [cdelt1 * p11, cdelt1 * p12, cdelt2 * p21, cdelt2 * p22];
      } else {
        const rho = (num(h, 'CROTA2') ?? num(h, 'CROTA1') ?? 0) * DEG;
        const c = Math.cos(rho), s = Math.sin(rho);
        cd = [cdelt1 * c, -cdelt2 * s, cdelt1 * s, cdelt2 * c];
      }
    }
  }
  if (!cd) {
    notes.push('no CD matrix nor CDELT');
    return { wcs: null, notes };
  }
  const det = cd[0] * cd[3] - cd[1] * cd[2];
  const scale = Math.sqrt(Math.abs(det));
  if (!Number.isFinite(det) || scale < 1e-7 || scale > 1) {
    notes.push(`degenerate or implausible pixel scale (|det CD|^1/2 = ${scale} deg)`);
    return { wcs: null, notes };
  }
  return { wcs: { crval1, crval2, crpix1, crpix2, cd }, notes };
}

/** Pixel (0-based) → sky (degrees). `out` receives [ra, dec]. */
export function pixToSky(w: TanWcs, x: number, y: number, out: Float64Array | number[] = [0, 0]): Float64Array | number[] {
  const dx = x + 1 - w.crpix1;
  const dy = y + 1 - w.crpix2;
  const xi = w.cd[0] * dx + w.cd[1] * dy;
  const eta = w.cd[2] * dx + w.cd[3] * dy;
  return tangentToSky(xi, eta, w.crval1, w.crval2, out);
}

/** Sky (degrees) → pixel (0-based). NaN for the far hemisphere. `out` receives [x, y]. */
export function skyToPix(w: TanWcs, ra: number, dec: number, out: Float64Array | number[] = [0, 0]): Float64Array | number[] {
  skyToTangent(ra, dec, w.crval1, w.crval2, out);
  const xi = out[0], eta = out[1];
  const det = w.cd[0] * w.cd[3] - w.cd[1] * w.cd[2];
  out[0] = (w.cd[3] * xi - w.cd[1] * eta) / det + w.crpix1 - 1;
  out[1] = (-w.cd[2] * xi + w.cd[0] * eta) / det + w.crpix2 - 1;
  return out;
}

/** Mean pixel scale, arcsec per pixel: sqrt(|det CD|). */
export function pixelScaleArcsec(w: TanWcs): number {
  return Math.sqrt(Math.abs(w.cd[0] * w.cd[3] - w.cd[1] * w.cd[2])) * 3600;
}

/** Parity: −1 for the usual sky image (east left when north is up, det CD < 0), +1 when flipped. */
export function parity(w: TanWcs): number {
  return w.cd[0] * w.cd[3] - w.cd[1] * w.cd[2] < 0 ? -1 : 1;
}

/**
 * Position angle of the pixel +y axis, degrees east of north (0 when north is up). Accounts for
 * parity, so two WCSs that differ only by a rotation ρ differ by ρ here.
 */
export function rotationDeg(w: TanWcs): number {
  // direction of +y in (ξ east, η north): (CD1_2, CD2_2)
  return Math.atan2(w.cd[1], w.cd[3]) / DEG;
}

/** A copy of `w` rotated by `deg` about CRPIX on the sky (positive: the image turns east of north). */
export function rotate(w: TanWcs, deg: number): TanWcs {
  const c = Math.cos(deg * DEG), s = Math.sin(deg * DEG);
  const [a, b, cc, d] = w.cd;
  // R · CD with R rotating (ξ, η) vectors by +deg from north towards east: ξ' = c ξ + s η, η' = −s ξ + c η
  return { ...w, cd: [c * a + s * cc, c * b + s * d, -s * a + c * cc, -s * b + c * d] };
}

/** The WCS cards, in writing order: key, value, comment. Only the CD form is written. */
export function wcsCards(w: TanWcs): Array<[string, string | number, string]> {
  return [
    ['WCSAXES', 2, 'number of WCS axes'],
    ['CTYPE1', 'RA---TAN', 'gnomonic projection'],
    ['CTYPE2', 'DEC--TAN', 'gnomonic projection'],
    ['CUNIT1', 'deg', ''],
    ['CUNIT2', 'deg', ''],
    ['RADESYS', 'ICRS', ''],
    ['CRVAL1', w.crval1, '[deg] RA of the reference point'],
    ['CRVAL2', w.crval2, '[deg] Dec of the reference point'],
    ['CRPIX1', w.crpix1, 'reference pixel (1-based)'],
    ['CRPIX2', w.crpix2, 'reference pixel (1-based)'],
    ['CD1_1', w.cd[0], '[deg/pixel]'],
    ['CD1_2', w.cd[1], '[deg/pixel]'],
    ['CD2_1', w.cd[2], '[deg/pixel]'],
    ['CD2_2', w.cd[3], '[deg/pixel]'],
  ];
}

/**
 * Writes the WCS into a header. Writers that hold CDELT/PC/CROTA cards from an earlier WCS should
 * drop them: readers give CD precedence, but mixing the forms is not allowed by the FITS standard.
 */
export function writeWcs(h: HeaderWriter, w: TanWcs): void {
  for (const [k, v, c] of wcsCards(w)) h.set(k, v, c);
}

/** A WCS with the given centre pixel, scale (arcsec/px), rotation (deg E of N) and parity (−1 usual). */
export function makeWcs(o: { ra: number; dec: number; crpix1: number; crpix2: number; scaleArcsec: number; rotationDeg?: number; parity?: number }): TanWcs {
  const s = o.scaleArcsec / 3600;
  const flip = (o.parity ?? -1) < 0 ? -1 : 1;
  const base: TanWcs = { crval1: o.ra, crval2: o.dec, crpix1: o.crpix1, crpix2: o.crpix2, cd: [flip * s, 0, 0, s] };
  return o.rotationDeg ? rotate(base, o.rotationDeg) : base;
}
