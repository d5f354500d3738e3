import { describe, expect, it } from 'vitest';
import { angularSeparation, pixToSky, pixelScaleArcsec } from '../../../../lib/wcs/index.ts';
import { makeNight } from './synthetic.ts';
import { headerFromRecord, headerPixelScale, processFrame, withHintScale } from './frame.ts';
import { fitZeroPoint, limitingMagnitude } from './photometry.ts';

/** Largest sky error of a fitted WCS over the frame, arcsec. */
function worstError(night: ReturnType<typeof makeNight>['frames'][number], wcs: NonNullable<ReturnType<typeof processFrame>['wcs']>): number {
  let worst = 0;
  for (const [x, y] of [[0, 0], [night.width - 1, 0], [0, night.height - 1], [night.width - 1, night.height - 1], [night.width / 2, night.height / 2]]) {
    const a = pixToSky(wcs, x, y), b = pixToSky(night.trueWcs, x, y);
    worst = Math.max(worst, angularSeparation(a[0], a[1], b[0], b[1]) * 3600);
  }
  return worst;
}

describe('astrometry', () => {
  it('recovers the WCS from a header off by 5 arcmin and rotated by 1 degree', () => {
    const night = makeNight({ starts: [300], headerOffsetArcmin: [3, -4], headerRotationDeg: 1, afterglow: null, seed: 31 });
    const f = night.frames[0];
    const r = processFrame({ ...f, wcs: f.headerWcs }, night.catalog);
    expect(r.astrometry.ok).toBe(true);
    expect(r.astrometry.method).toBe('header');
    expect(r.astrometry.matched).toBeGreaterThan(25);
    expect(r.astrometry.rmsArcsec).toBeLessThan(0.1);
    expect(worstError(f, r.wcs!)).toBeLessThan(0.1);
    expect(pixelScaleArcsec(r.wcs!)).toBeCloseTo(0.7, 3);
  });

  it('blind-matches a frame without WCS from an approximate centre and pixel scale', () => {
    const night = makeNight({ starts: [300], afterglow: null, seed: 32 });
    const f = night.frames[0];
    // centre known to 3', scale to 5 %, neither parity nor rotation given
    const c = pixToSky(f.trueWcs, f.width / 2, f.height / 2);
    const r = processFrame({ ...f, wcs: null, hint: { ra: c[0] + 0.03, dec: c[1] - 0.03, scaleArcsec: 0.7 * 1.04 } }, night.catalog);
    expect(r.astrometry.ok).toBe(true);
    expect(r.astrometry.method).toBe('blind');
    expect(worstError(f, r.wcs!)).toBeLessThan(0.15);
  });

  it('blind-matches a small chip in a dense field (few of the brightest catalog stars around the centre fall on it)', () => {
    // 7′ x 5′ chip, a 14′ search radius: the 70 brightest catalog stars of the search area put ~4 on
    // the chip; the second pass (catalog at the detections' depth, local triangles) must find it
    for (const seed of [41, 42, 43]) {
      const night = makeNight({ starts: [300], afterglow: null, seed, width: 600, height: 450, nStars: 1000 });
      const f = night.frames[0];
      const c = pixToSky(f.trueWcs, f.width / 2, f.height / 2);
      const r = processFrame({ ...f, wcs: null, hint: { ra: c[0] + 0.05, dec: c[1] - 0.05, scaleArcsec: 0.7 * 1.03 } }, night.catalog);
      expect(r.astrometry.method, r.astrometry.notes.join('; ')).toBe('blind');
      expect(r.astrometry.notes.join('; ')).toContain("detections' depth");
      expect(worstError(f, r.wcs!)).toBeLessThan(0.15);
    }
  });

  it('falls back to the blind match when the header is far off', () => {
    const night = makeNight({ starts: [300], headerOffsetArcmin: [14, 0], headerRotationDeg: 3, afterglow: null, seed: 33 });
    const f = night.frames[0];
    const r = processFrame({ ...f, wcs: f.headerWcs }, night.catalog, { astrometry: { maxOffsetArcmin: 5, maxRotationDeg: 0.5 } });
    // voting over ±5' / 0.5° cannot find a 14' / 3° error: the blind match about the header centre must
    expect(r.astrometry.ok).toBe(true);
    expect(r.astrometry.method).toBe('blind');
    expect(worstError(f, r.wcs!)).toBeLessThan(0.15);
    // a wide voting search finds it directly; a too narrow rotation range must not yield a wrong solution
    const r2 = processFrame({ ...f, wcs: f.headerWcs }, night.catalog, { astrometry: { maxOffsetArcmin: 16, maxRotationDeg: 4 } });
    expect(r2.astrometry.method).toBe('header');
    expect(worstError(f, r2.wcs!)).toBeLessThan(0.15);
    const r3 = processFrame({ ...f, wcs: f.headerWcs }, night.catalog, { astrometry: { maxOffsetArcmin: 16, maxRotationDeg: 0.5 } });
    if (r3.astrometry.ok) expect(worstError(f, r3.wcs!)).toBeLessThan(0.15);
  });

  it('reports failure instead of a wrong solution on an empty catalog area', () => {
    const night = makeNight({ starts: [300], afterglow: null, seed: 34 });
    const f = night.frames[0];
    const far = { ra: Float64Array.from(night.catalog.ra, (r) => r + 5), dec: night.catalog.dec, mag: night.catalog.mag };
    const r = processFrame({ ...f, wcs: f.headerWcs }, far);
    expect(r.astrometry.ok).toBe(false);
    expect(Number.isNaN(r.zeroPoint.zp)).toBe(true);
  });
});

describe('blind-match hint', () => {
  it('reads the pixel scale from PIXSCALE/SECPIX, else from XPIXSZ and FOCALLEN; the camera scale fills a header hint without one', () => {
    expect(headerPixelScale(headerFromRecord({ PIXSCALE: 0.68 }))).toBe(0.68);
    expect(headerPixelScale(headerFromRecord({ SECPIX: 0.34, XPIXSZ: 9, FOCALLEN: 1000 }))).toBe(0.34);
    expect(headerPixelScale(headerFromRecord({ XPIXSZ: 15, FOCALLEN: 9100 }))).toBeCloseTo(0.34, 3);
    expect(headerPixelScale(headerFromRecord({ XPIXSZ: 15 }))).toBeUndefined();
    expect(headerPixelScale(headerFromRecord({ PIXSCALE: 0, FOCALLEN: 0, XPIXSZ: 15 }))).toBeUndefined();
    const camera = { ra: 1, dec: 2, scaleArcsec: 0.34 };
    expect(withHintScale({ ra: 10, dec: 20 }, camera)).toEqual({ ra: 10, dec: 20, scaleArcsec: 0.34 });
    expect(withHintScale({ ra: 10, dec: 20, scaleArcsec: 0.7 }, camera)).toEqual({ ra: 10, dec: 20, scaleArcsec: 0.7 });
    expect(withHintScale(null, camera)).toEqual(camera);
    expect(withHintScale(null, null)).toBeNull();
  });
});

describe('photometric calibration', () => {
  it('zero point within its error of the truth (aperture correction aside), and a sane limit', () => {
    const night = makeNight({ starts: [300], afterglow: null, seed: 35, zp: 23 });
    const f = night.frames[0];
    const r = processFrame({ ...f, wcs: f.headerWcs }, night.catalog);
    // aperture radius = 1 FWHM of a Gaussian holds 93.75 %: zp_ap = 23 + 2.5 log10(0.9375) = 22.930
    expect(r.zeroPoint.nStars).toBeGreaterThan(30);
    expect(Math.abs(r.zeroPoint.zp - 22.93)).toBeLessThan(0.02);
    expect(r.zeroPoint.zpErr).toBeLessThan(0.01);
    // 5σ in an r = 3.08 px aperture over σ_sky = 0.232 counts/s: 6.3 counts/s → 20.9 mag
    expect(r.limitingMag).toBeGreaterThan(20.6);
    expect(r.limitingMag).toBeLessThan(21.2);
    // sources carry calibrated magnitudes
    const s = r.sources.filter((x) => x.catalogIndex >= 0 && x.snr > 50 && !x.flags);
    const d = s.map((x) => x.mag - night.catalog.mag[x.catalogIndex]).sort((a, b) => a - b);
    expect(Math.abs(d[d.length >> 1])).toBeLessThan(0.01);
  });

  it('fitZeroPoint clips outliers and limitingMagnitude follows the formula', () => {
    const src = [100, 200, 400, 800, 50, 1000].map((flux) => ({ flux, fluxErr: 1, flags: 0 }));
    const mags = src.map((s) => 25 - 2.5 * Math.log10(s.flux));
    mags[5] -= 1; // a variable or mismatched star
    const z = fitZeroPoint(src, mags, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]);
    expect(z.zp).toBeCloseTo(25, 6);
    expect(z.nStars).toBe(5);
    expect(limitingMagnitude(25, 2, 1, 5)).toBeCloseTo(25 - 2.5 * Math.log10(5 * Math.sqrt(Math.PI * 4)), 10);
  });
});
