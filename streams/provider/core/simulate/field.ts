/**
 * The sky side of the night: the field star list and its reference catalog, the afterglow and its
 * light curve, the telescope pointing (offset, rotation, jitter) and the seeing curve.
 *
 * Units: angles in degrees at the API unless the name says Arcsec/Arcmin; magnitudes in the filter's
 * system (AB-like, no colour terms); fluxes in e⁻/s at the detector for a flat response of 1:
 *     flux = 10^(−0.4 (m − ZP)),  ZP = magnitude of a source giving 1 e⁻/s.
 */
import { Rng } from './rng.ts';
import { makeWcs, pixToSky, skyToPix, tangentToSky, skyToTangent, type TanWcs } from '../../../../lib/wcs/index.ts';

export interface FieldOptions {
  /** alert (nominal target) position, degrees */
  ra: number;
  dec: number;
  /** arcsec per pixel */
  pixelScale: number;
  /** stars per square degree between magBright and magFaint */
  starDensity: number;
  magBright: number;
  magFaint: number;
  /** slope of the number counts, dN/dm ∝ 10^(slope·m) */
  countSlope: number;
  /** the reference catalog stops here (its completeness limit, in catalog magnitudes) */
  catalogLimit: number;
  /**
   * a chip on which fewer catalog stars would fall on average gets a denser field (at most 4× the
   * requested density): the astrometry of a small synthetic chip needs a few; 0 = exactly as requested
   */
  minCatalogStars: number;
  band: string;
  /** 1σ per-axis position error (arcsec) and magnitude error at bright end of the catalog */
  catalogPosError: number;
  catalogMagError: number;
  /** extra bright stars placed on the chip, magnitudes uniform in [brightMagMin, brightMagMax] */
  brightStars: number;
  brightMagMin: number;
  brightMagMax: number;
  /** pointing offset of the night, arcmin, uniform in [min, max] in a random direction */
  pointingOffsetMin: number;
  pointingOffsetMax: number;
  /** per-frame jitter (1σ per axis, arcsec) and tracking drift (arcsec per hour, random direction) */
  pointingJitter: number;
  pointingDrift: number;
  /** field rotation, degrees, |ρ| uniform in [min, max] with a random sign */
  rotationMin: number;
  rotationMax: number;
  /** the afterglow lies uniformly within this radius (arcsec) of the alert position; 0 = at it */
  afterglowOffsetMax: number;
  /** no field star within this distance (arcsec) of the afterglow */
  afterglowClearance: number;
  /**
   * Extra stars at fixed offsets from the afterglow (arcsec east, north) and magnitudes, e.g. a
   * saturated star next to it (origin 'bright'; in the catalog when bright enough). Absent: none.
   */
  starsNearAfterglow?: Array<{ east: number; north: number; mag: number }>;
  /**
   * Close pairs of faint stars (origin 'pair'), e.g. near the catalog depth, whose blended light
   * falls between their catalog positions: `count` pairs centred uniformly within `withinArcsec` of
   * the alert position (default 150″) but at least 10″ from the afterglow, separations uniform in
   * `sepArcsec` (default [2, 3.2]″), magnitudes uniform in `mag` (default [17.8, 18.6]), random
   * orientations. Drawn from their own random stream: the other stars are the same (their catalog
   * noise draws shift, as with starsNearAfterglow). Absent: none.
   */
  blendPairs?: { count: number; sepArcsec?: [number, number]; mag?: [number, number]; withinArcsec?: number };
}

export const DEFAULT_FIELD: Omit<FieldOptions, 'ra' | 'dec'> = {
  pixelScale: 0.34,
  starDensity: 6000,
  magBright: 10,
  magFaint: 21,
  countSlope: 0.3,
  catalogLimit: 18.5,
  minCatalogStars: 25,
  band: 'r',
  catalogPosError: 0.1,
  catalogMagError: 0.02,
  brightStars: 3,
  brightMagMin: 7,
  brightMagMax: 8.5,
  pointingOffsetMin: 1,
  pointingOffsetMax: 3,
  pointingJitter: 3,
  pointingDrift: 6,
  rotationMin: 0.5,
  rotationMax: 1,
  afterglowOffsetMax: 60,
  afterglowClearance: 4,
};

export interface Star {
  id: number;
  ra: number;
  dec: number;
  /** true magnitude */
  mag: number;
  /** 'field' from the number counts, 'bright' from the bright-star supplement (and starsNearAfterglow), 'pair' from blendPairs */
  origin: 'field' | 'bright' | 'pair';
}

export interface CatalogEntry {
  /** the star's id in the truth */
  id: number;
  ra: number;
  dec: number;
  mag: number;
}

export interface Pointing {
  /** the night's offset of the true centre from the nominal target, arcsec (east, north) */
  offsetArcsec: [number, number];
  rotationDeg: number;
  /** drift direction unit vector (east, north) */
  drift: [number, number];
}

export interface FrameGeometry {
  /** the true WCS of the frame (raw pixel coordinates) */
  trueWcs: TanWcs;
  /** the WCS the telescope writes: nominal target, nominal scale, no rotation */
  headerWcs: TanWcs;
  /** offset of the true centre from the nominal target, arcsec (east, north) */
  offsetArcsec: [number, number];
  rotationDeg: number;
}

export interface FieldModel {
  opts: FieldOptions;
  pointing: Pointing;
  /** afterglow true position */
  afterglow: { ra: number; dec: number; offsetArcsec: number };
  stars: Star[];
  catalog: CatalogEntry[];
  /** radius (deg) of the disc in which field stars were drawn */
  fieldRadiusDeg: number;
  /**
   * The pointing parameters actually used: the requested ones, or smaller ones when the requested
   * offsets could not keep the afterglow on a small chip (see makeField).
   */
  effective: Effective;
}

export interface Effective {
  /** scale applied to the requested offsets, jitter and drift (1 = as requested) */
  scale: number;
  /** arcmin */
  pointingOffsetMin: number;
  pointingOffsetMax: number;
  /** arcsec */
  afterglowOffsetMax: number;
  pointingJitter: number;
  /** arcsec per hour */
  pointingDrift: number;
  /**
   * stars per square degree used: the requested density, raised (at most 4×) for a chip so small that
   * fewer than `minCatalogStars` catalog stars would fall on it (the astrometry needs a few)
   */
  starDensity: number;
}

export interface ChipGeometry {
  /** data section in raw 0-based pixels */
  dataX0: number;
  dataX1: number;
  height: number;
  crpix1: number;
  crpix2: number;
}

/** Magnitude → e⁻/s for a zero point (magnitude of 1 e⁻/s). */
export function fluxFromMag(mag: number, zp: number): number {
  return Math.pow(10, -0.4 * (mag - zp));
}

export function magFromFlux(flux: number, zp: number): number {
  return zp - 2.5 * Math.log10(flux);
}

/** Inverse CDF of dN/dm ∝ 10^(k m) on [m1, m2]. */
export function powerLawMag(u: number, m1: number, m2: number, k: number): number {
  const a = Math.pow(10, k * m1), b = Math.pow(10, k * m2);
  return Math.log10(a + u * (b - a)) / k;
}

/** Offsets (arcsec east, north) from (ra0, dec0) → sky. */
function offsetSky(ra0: number, dec0: number, eastArcsec: number, northArcsec: number): [number, number] {
  const out = tangentToSky(eastArcsec / 3600, northArcsec / 3600, ra0, dec0, [0, 0]);
  return [out[0], out[1]];
}

/**
 * Frame geometry for one frame: the night's offset and rotation plus jitter and drift.
 * `hours` = time since the first object frame.
 */
export function frameGeometry(f: FieldModel, chip: ChipGeometry, hours: number, jitterE: number, jitterN: number, rotJitter: number): FrameGeometry {
  const o = f.opts;
  const p = f.pointing;
  const drift = f.effective.pointingDrift;
  const e = p.offsetArcsec[0] + p.drift[0] * drift * hours + jitterE;
  const n = p.offsetArcsec[1] + p.drift[1] * drift * hours + jitterN;
  const [ra, dec] = offsetSky(o.ra, o.dec, e, n);
  const rot = p.rotationDeg + rotJitter;
  const trueWcs = makeWcs({ ra, dec, crpix1: chip.crpix1, crpix2: chip.crpix2, scaleArcsec: o.pixelScale, rotationDeg: rot, parity: -1 });
  const headerWcs = makeWcs({ ra: o.ra, dec: o.dec, crpix1: chip.crpix1, crpix2: chip.crpix2, scaleArcsec: o.pixelScale, rotationDeg: 0, parity: -1 });
  return { trueWcs, headerWcs, offsetArcsec: [e, n], rotationDeg: rot };
}

/**
 * Builds the field: pointing, afterglow position, stars, catalog. Deterministic by seed.
 *
 * The night's pointing offset, rotation and drift direction and the afterglow's offset from the alert
 * are drawn until the afterglow stays ≥ 64 px (or 1/8 of the chip) inside the data section in every
 * frame, at the extremes of the drift and at ±4σ of the jitter. After 50 failed draws (a chip too
 * small for the requested offsets) offsets, jitter and drift are scaled down by 0.8 every 10 draws;
 * the values used are in `effective` (and in the truth).
 */
/** The star density to draw: the requested one, or enough for `minCatalogStars` catalog stars on a chip of `chipDeg2` (at most 4× the requested). */
function densityFor(o: FieldOptions, chipDeg2: number): number {
  const n = (m: number) => Math.pow(10, o.countSlope * m);
  const inCatalog = (n(Math.min(o.catalogLimit, o.magFaint)) - n(o.magBright)) / (n(o.magFaint) - n(o.magBright));
  const expected = o.starDensity * inCatalog * chipDeg2;
  if (!(o.minCatalogStars > 0) || expected >= o.minCatalogStars || !(inCatalog > 0)) return o.starDensity;
  return Math.min(4 * o.starDensity, Math.ceil(o.minCatalogStars / (inCatalog * chipDeg2)));
}

export function makeField(o: FieldOptions, chip: ChipGeometry, seed: number, sequenceHours: number): FieldModel {
  const scale = o.pixelScale;
  const dw = chip.dataX1 - chip.dataX0;
  const halfW = (dw / 2) * scale; // arcsec
  const halfH = (chip.height / 2) * scale;
  const marginPx = Math.min(64, Math.floor(Math.min(dw, chip.height) / 8));

  // ---- pointing and afterglow: redraw until the afterglow stays on the chip in every frame ----
  const rp = Rng.derive(seed, 'pointing');
  let pointing: Pointing | undefined;
  let ag: { ra: number; dec: number; offsetArcsec: number } | undefined;
  let eff: Effective | undefined;
  for (let attempt = 0; ; attempt++) {
    if (attempt >= 400) throw new Error('simulate: could not keep the afterglow on the chip; reduce the pointing offset, the afterglow offset or the jitter');
    const k = attempt < 50 ? 1 : Math.pow(0.8, Math.floor((attempt - 40) / 10));
    eff = { scale: k, pointingOffsetMin: o.pointingOffsetMin * k, pointingOffsetMax: o.pointingOffsetMax * k, afterglowOffsetMax: o.afterglowOffsetMax * k, pointingJitter: o.pointingJitter * k, pointingDrift: o.pointingDrift * k, starDensity: densityFor(o, (2 * halfW * 2 * halfH) / 3600 ** 2) };
    const mag = rp.range(eff.pointingOffsetMin * 60, eff.pointingOffsetMax * 60);
    const th = rp.range(0, 2 * Math.PI);
    const rot = rp.range(o.rotationMin, o.rotationMax) * (rp.uniform() < 0.5 ? -1 : 1);
    const dth = rp.range(0, 2 * Math.PI);
    const p: Pointing = { offsetArcsec: [mag * Math.sin(th), mag * Math.cos(th)], rotationDeg: rot, drift: [Math.sin(dth), Math.cos(dth)] };
    const ar = eff.afterglowOffsetMax * Math.sqrt(rp.uniform());
    const at = rp.range(0, 2 * Math.PI);
    const [ara, adec] = offsetSky(o.ra, o.dec, ar * Math.sin(at), ar * Math.cos(at));
    // worst case over the sequence: start and end of the drift, ±4σ jitter
    let ok = true;
    const probe: FieldModel = { opts: o, pointing: p, afterglow: { ra: ara, dec: adec, offsetArcsec: ar }, stars: [], catalog: [], fieldRadiusDeg: 0, effective: eff };
    const j = 4 * eff.pointingJitter;
    for (const h of [0, sequenceHours]) {
      for (const [je, jn] of [[j, j], [-j, j], [j, -j], [-j, -j]]) {
        const g = frameGeometry(probe, chip, h, je, jn, 0);
        const px = skyToPix(g.trueWcs, ara, adec, [0, 0]);
        if (!(px[0] >= chip.dataX0 + marginPx && px[0] <= chip.dataX1 - 1 - marginPx && px[1] >= marginPx && px[1] <= chip.height - 1 - marginPx)) ok = false;
      }
    }
    pointing = p;
    ag = { ra: ara, dec: adec, offsetArcsec: ar };
    if (ok) break;
  }
  const driftMax = eff.pointingDrift * sequenceHours;
  const effOffsetMax = eff.pointingOffsetMax * 60;

  // ---- field stars: uniform in a disc around the nominal target that covers every frame ----
  const halfDiag = Math.hypot(halfW, halfH);
  const fieldRadius = halfDiag + effOffsetMax + driftMax + 4 * eff.pointingJitter + 60; // arcsec
  const areaDeg2 = Math.PI * (fieldRadius / 3600) ** 2;
  const rs = Rng.derive(seed, 'stars');
  const n = Math.round(eff.starDensity * areaDeg2);
  const stars: Star[] = [];
  const clear = o.afterglowClearance;
  const agTan = skyToTangent(ag.ra, ag.dec, o.ra, o.dec, [0, 0]);
  for (let i = 0; i < n; i++) {
    const r = fieldRadius * Math.sqrt(rs.uniform());
    const t = rs.range(0, 2 * Math.PI);
    const e = r * Math.sin(t), nn = r * Math.cos(t);
    const mag = powerLawMag(rs.uniform(), o.magBright, o.magFaint, o.countSlope);
    if (Math.hypot(e - agTan[0] * 3600, nn - agTan[1] * 3600) < clear) continue;
    const [ra, dec] = offsetSky(o.ra, o.dec, e, nn);
    stars.push({ id: 0, ra, dec, mag, origin: 'field' });
  }
  // ---- bright supplement: on the chip of the mean pointing, away from the afterglow ----
  const mid = frameGeometry({ opts: o, pointing, afterglow: ag, stars: [], catalog: [], fieldRadiusDeg: 0, effective: eff }, chip, sequenceHours / 2, 0, 0, 0);
  const rb = Rng.derive(seed, 'bright');
  const agPx = skyToPix(mid.trueWcs, ag.ra, ag.dec, [0, 0]);
  const pad = Math.min(150, Math.floor(Math.min(chip.dataX1 - chip.dataX0, chip.height) / 6));
  const minSep = Math.min(300, Math.min(chip.dataX1 - chip.dataX0, chip.height) / 4); // px from the afterglow
  for (let k = 0; k < o.brightStars; k++) {
    let x = 0, y = 0;
    for (let tries = 0; tries < 100; tries++) {
      x = rb.range(chip.dataX0 + pad, chip.dataX1 - pad);
      y = rb.range(pad, chip.height - pad);
      if (Math.hypot(x - agPx[0], y - agPx[1]) >= minSep) break;
    }
    const mag = rb.range(o.brightMagMin, o.brightMagMax);
    const sky = pixToSky(mid.trueWcs, x, y, [0, 0]);
    stars.push({ id: 0, ra: sky[0], dec: sky[1], mag, origin: 'bright' });
  }
  for (const s of o.starsNearAfterglow ?? []) {
    const [ra, dec] = offsetSky(ag.ra, ag.dec, s.east, s.north);
    stars.push({ id: 0, ra, dec, mag: s.mag, origin: 'bright' });
  }
  if (o.blendPairs && o.blendPairs.count > 0) {
    const bp = o.blendPairs;
    const [s0, s1] = bp.sepArcsec ?? [2, 3.2];
    const [m0, m1] = bp.mag ?? [17.8, 18.6];
    const within = bp.withinArcsec ?? 150;
    const rr = Rng.derive(seed, 'blend-pairs');
    const agE = agTan[0] * 3600, agN = agTan[1] * 3600;
    for (let k = 0; k < bp.count; k++) {
      let e = 0, nn = 0;
      for (let tries = 0; tries < 100; tries++) {
        const r = within * Math.sqrt(rr.uniform()), t = rr.range(0, 2 * Math.PI);
        e = r * Math.sin(t);
        nn = r * Math.cos(t);
        if (Math.hypot(e - agE, nn - agN) >= 10) break;
      }
      const sep = rr.range(s0, s1), pa = rr.range(0, Math.PI);
      const de = 0.5 * sep * Math.sin(pa), dn = 0.5 * sep * Math.cos(pa);
      for (const sg of [-1, 1]) {
        const [ra, dec] = offsetSky(o.ra, o.dec, e + sg * de, nn + sg * dn);
        stars.push({ id: 0, ra, dec, mag: rr.range(m0, m1), origin: 'pair' });
      }
    }
  }
  // ids in order of brightness (stable for equal magnitudes: by RA)
  stars.sort((a, b) => a.mag - b.mag || a.ra - b.ra);
  stars.forEach((s, i) => (s.id = i + 1));

  // ---- the reference catalog: measured magnitudes and positions, cut at the completeness limit ----
  const rc = Rng.derive(seed, 'catalog');
  const catalog: CatalogEntry[] = [];
  for (const s of stars) {
    const sigM = o.catalogMagError + 0.03 * Math.pow(10, 0.4 * (s.mag - o.catalogLimit));
    const m = s.mag + sigM * rc.normal();
    const de = o.catalogPosError * rc.normal(), dn = o.catalogPosError * rc.normal();
    if (m > o.catalogLimit) continue;
    const [ra, dec] = offsetSky(s.ra, s.dec, de, dn);
    catalog.push({ id: s.id, ra, dec, mag: m });
  }
  return { opts: o, pointing, afterglow: ag, stars, catalog, fieldRadiusDeg: fieldRadius / 3600, effective: eff };
}

// ---------------------------------------------------------------- afterglow light curve

export interface AfterglowModel {
  /** magnitude at t_ref after T0 */
  m0: number;
  /** seconds after T0 where m = m0 */
  tRef: number;
  /** temporal index α: F ∝ (t − T0)^(−α), m(t) = m0 + 2.5 α log10((t − T0)/t_ref) */
  index: number;
}

export function afterglowMag(a: AfterglowModel, tSinceT0: number): number {
  return a.m0 + 2.5 * a.index * Math.log10(tSinceT0 / a.tRef);
}

/**
 * The exposure-averaged flux of the power law between t1 and t2 (s after T0), relative to the flux
 * at t_ref: (1/(t2−t1)) ∫ (t/t_ref)^(−α) dt. This is what a 60-s frame records.
 */
export function afterglowMeanRelFlux(a: AfterglowModel, t1: number, t2: number): number {
  const al = a.index;
  if (Math.abs(al - 1) < 1e-9) return (a.tRef * Math.log(t2 / t1)) / (t2 - t1);
  return (Math.pow(a.tRef, al) * (Math.pow(t2, 1 - al) - Math.pow(t1, 1 - al))) / ((1 - al) * (t2 - t1));
}

// ---------------------------------------------------------------- seeing

export interface SeeingCurve {
  min: number;
  max: number;
  p1: number;
  p2: number;
  ph1: number;
  ph2: number;
}

/** A smooth seeing curve: two sinusoids (periods 40–80 min and 10–20 min) inside [min, max]. */
export function makeSeeing(min: number, max: number, seed: number): SeeingCurve {
  const r = Rng.derive(seed, 'seeing');
  return { min, max, p1: r.range(2400, 4800), p2: r.range(600, 1200), ph1: r.range(0, 2 * Math.PI), ph2: r.range(0, 2 * Math.PI) };
}

/** FWHM (arcsec) at `t` seconds from the start of the sequence. */
export function seeingAt(s: SeeingCurve, t: number): number {
  const mid = (s.min + s.max) / 2, amp = (s.max - s.min) / 2;
  return mid + amp * (0.65 * Math.sin((2 * Math.PI * t) / s.p1 + s.ph1) + 0.35 * Math.sin((2 * Math.PI * t) / s.p2 + s.ph2));
}
