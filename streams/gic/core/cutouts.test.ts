import { describe, it, expect } from 'vitest';
import { makeWcs, pixToSky, skyToPix } from '../../../lib/wcs/index.ts';
import { cutout } from './cutouts.ts';

describe('cut-outs', () => {
  const w = 100, h = 80;
  const data = Float32Array.from({ length: w * h }, (_, i) => i);
  const wcs = makeWcs({ ra: 150, dec: 20, crpix1: 50.5, crpix2: 40.5, scaleArcsec: 0.5, rotationDeg: 30 });

  it('keeps every pixel at its sky position (CRPIX shifted by the stamp origin)', () => {
    const [ra, dec] = pixToSky(wcs, 30, 25);
    const c = cutout({ width: w, height: h, data }, wcs, 'c', ra, dec, 16)!;
    expect([c.x0, c.y0]).toEqual([22, 17]);
    expect(c.data[(25 - c.y0) * 16 + (30 - c.x0)]).toBe(25 * w + 30);
    const [x, y] = skyToPix(c.wcs, ra, dec);
    expect(x).toBeCloseTo(30 - c.x0, 6);
    expect(y).toBeCloseTo(25 - c.y0, 6);
  });

  it('fills pixels outside the frame with NaN, and skips candidates off the frame', () => {
    const [ra, dec] = pixToSky(wcs, 1, 1);
    const c = cutout({ width: w, height: h, data }, wcs, 'corner', ra, dec, 8)!;
    expect(Number.isNaN(c.data[0])).toBe(true);
    expect(c.data[(1 - c.y0) * 8 + (1 - c.x0)]).toBe(1 * w + 1);
    const [ra2, dec2] = pixToSky(wcs, -20, 10);
    expect(cutout({ width: w, height: h, data }, wcs, 'off', ra2, dec2, 8)).toBeNull();
  });
});
