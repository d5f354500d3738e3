import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  angularSeparation,
  designation,
  fitTanWcs,
  makeWcs,
  pixToSky,
  pixelScaleArcsec,
  rotate,
  rotationDeg,
  skyToPix,
  skyToTangent,
  tangentToSky,
  wcsCards,
  wcsFromHeader,
  writeWcs,
  type HeaderReader,
  type TanWcs,
} from './index.ts';

/** A minimal header over a plain object, as lib/fits's Header behaves for these calls. */
function hdr(cards: Record<string, string | number>): HeaderReader & { set(k: string, v: string | number): void; cards: Record<string, string | number> } {
  return {
    cards,
    has: (k) => k in cards,
    getNumber: (k) => (typeof cards[k] === 'number' ? (cards[k] as number) : undefined),
    getString: (k) => (k in cards ? String(cards[k]) : undefined),
    set: (k, v) => {
      cards[k] = v;
    },
  };
}

describe('sphere', () => {
  it('angular separation: known values and stability', () => {
    expect(angularSeparation(0, 0, 90, 0)).toBeCloseTo(90, 12);
    expect(angularSeparation(10, 89, 190, 89)).toBeCloseTo(2, 10);
    expect(angularSeparation(0, 0, 180, 0)).toBeCloseTo(180, 10);
    expect(angularSeparation(123.4, -45.6, 123.4, -45.6 + 1 / 3600) * 3600).toBeCloseTo(1, 8);
    // 1" in RA at dec 60 is 0.5" on the sky
    expect(angularSeparation(200, 60, 200 + 1 / 3600, 60) * 3600).toBeCloseTo(0.5, 6);
  });

  it('tangent projection round trip, including across RA=0 and near the pole', () => {
    for (const [ra0, dec0] of [
      [0.1, 10],
      [359.9, -30],
      [180, 89.5],
      [45, -89],
    ]) {
      for (const [dra, ddec] of [
        [0.2, 0.1],
        [-0.3, -0.2],
        [0, 0],
      ]) {
        const ra = (ra0 + dra / Math.cos((dec0 * Math.PI) / 180) + 360) % 360;
        const dec = dec0 + ddec;
        const t = skyToTangent(ra, dec, ra0, dec0);
        const s = tangentToSky(t[0], t[1], ra0, dec0);
        expect(angularSeparation(ra, dec, s[0], s[1]) * 3600).toBeLessThan(1e-6);
      }
    }
  });

  it('designation truncates', () => {
    expect(designation(187.70593, 12.39112)).toBe('J123049.42+122328.0');
    expect(designation(0.001, -0.5)).toBe('J000000.24-003000.0');
  });
});

describe('TAN WCS from header', () => {
  it('CD, PC+CDELT and CROTA2 forms agree', () => {
    const rho = 1.5;
    const s = 0.7 / 3600;
    const c = Math.cos((rho * Math.PI) / 180), sn = Math.sin((rho * Math.PI) / 180);
    const common = { CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 150.1, CRVAL2: 2.2, CRPIX1: 1092.5, CRPIX2: 736.5 };
    const a = wcsFromHeader(hdr({ ...common, CD1_1: -s * c, CD1_2: -s * sn, CD2_1: -s * sn, CD2_2: s * c })).wcs!;
    const b = wcsFromHeader(hdr({ ...common, CDELT1: -s, CDELT2: s, PC1_1: c, PC1_2: sn, PC2_1: -sn, PC2_2: c })).wcs!;
    const d = wcsFromHeader(hdr({ ...common, CDELT1: -s, CDELT2: s, CROTA2: rho })).wcs!;
    for (const w of [b, d]) for (let i = 0; i < 4; i++) expect(w.cd[i]).toBeCloseTo(a.cd[i], 15);
    expect(pixelScaleArcsec(a)).toBeCloseTo(0.7, 10);
  });

  it('reports why a header has no usable WCS', () => {
    expect(wcsFromHeader(hdr({ NAXIS: 2 })).wcs).toBeNull();
    expect(wcsFromHeader(hdr({ CRVAL1: 1, CRVAL2: 2, CRPIX1: 1, CRPIX2: 1 })).notes.join()).toMatch(/CD/);
    expect(wcsFromHeader(hdr({ CTYPE1: 'GLON-TAN', CTYPE2: 'GLAT-TAN', CRVAL1: 1, CRVAL2: 2, CD1_1: 1e-4, CD2_2: 1e-4 })).wcs).toBeNull();
    const sip = wcsFromHeader(hdr({ CTYPE1: 'RA---TAN-SIP', CTYPE2: 'DEC--TAN-SIP', CRVAL1: 1, CRVAL2: 2, CRPIX1: 5, CRPIX2: 5, CD1_1: 1e-4, CD2_2: 1e-4 }));
    expect(sip.wcs).not.toBeNull();
    expect(sip.notes.join()).toMatch(/distortion/);
  });

  it('pixel ↔ sky round trip and known values', () => {
    const w = makeWcs({ ra: 10, dec: 20, crpix1: 101, crpix2: 51, scaleArcsec: 1, rotationDeg: 0 });
    // CRPIX (1-based) is pixel (100, 50) 0-based
    const c = pixToSky(w, 100, 50);
    expect(c[0]).toBeCloseTo(10, 12);
    expect(c[1]).toBeCloseTo(20, 12);
    // +y is north: 3600 px = 1 degree along the meridian (gnomonic: atan(1°) in rad ≈ 1°−)
    const n = pixToSky(w, 100, 50 + 360);
    expect(n[0]).toBeCloseTo(10, 10);
    expect((n[1] - 20) * 3600).toBeCloseTo((Math.atan((0.1 * Math.PI) / 180) * 180 * 3600) / Math.PI, 6);
    // +x is west with the usual parity
    expect(pixToSky(w, 110, 50)[0]).toBeLessThan(10);
    const r = rotate(w, 30);
    expect(rotationDeg(r)).toBeCloseTo(30, 10);
    for (const [x, y] of [
      [0, 0],
      [2183, 1471],
      [4191.5, 0.25],
    ]) {
      const s = pixToSky(r, x, y);
      const p = skyToPix(r, s[0], s[1]);
      expect(p[0]).toBeCloseTo(x, 8);
      expect(p[1]).toBeCloseTo(y, 8);
    }
  });

  it('writes cards that read back to the same WCS', () => {
    const w = rotate(makeWcs({ ra: 300.5, dec: -60.25, crpix1: 2096.5, crpix2: 2048.5, scaleArcsec: 0.38 }), -0.8);
    const h = hdr({});
    writeWcs(h, w);
    expect(wcsCards(w).length).toBe(14);
    const back = wcsFromHeader(h).wcs!;
    expect(back).toEqual(w);
  });
});

describe('fitTanWcs', () => {
  function pairs(truth: TanWcs, n: number, noisePx = 0, seed = 1) {
    let s = seed;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const g = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
    const x = new Float64Array(n), y = new Float64Array(n), ra = new Float64Array(n), dec = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rnd() * 4000;
      y[i] = rnd() * 4000;
      const sky = pixToSky(truth, x[i], y[i]);
      ra[i] = sky[0];
      dec[i] = sky[1];
      x[i] += noisePx * g();
      y[i] += noisePx * g();
    }
    return { x, y, ra, dec };
  }

  it('recovers a rotated, offset WCS exactly from noiseless pairs', () => {
    const truth = rotate(makeWcs({ ra: 359.95, dec: 45, crpix1: 2000.5, crpix2: 2000.5, scaleArcsec: 0.4 }), 1.0);
    const p = pairs(truth, 50);
    const f = fitTanWcs(p, { crpix: [2000.5, 2000.5], crval: [0.1, 45.08] });
    expect(f.rmsArcsec).toBeLessThan(1e-6);
    expect(angularSeparation(f.wcs.crval1, f.wcs.crval2, truth.crval1, truth.crval2) * 3600).toBeLessThan(1e-6);
    for (let i = 0; i < 4; i++) expect(f.wcs.cd[i]).toBeCloseTo(truth.cd[i], 12);
  });

  it('clips outliers and reports the rms of the kept pairs', () => {
    const truth = makeWcs({ ra: 150, dec: 2, crpix1: 1000, crpix2: 700, scaleArcsec: 0.7 });
    const p = pairs(truth, 80, 0.1, 7);
    for (let i = 0; i < 5; i++) p.x[i] += 30; // five wrong matches
    const f = fitTanWcs(p, { clip: 3 });
    expect(f.nUsed).toBe(75);
    expect(f.used[0]).toBe(0);
    expect(f.rmsArcsec).toBeGreaterThan(0.05);
    expect(f.rmsArcsec).toBeLessThan(0.15); // ≈ 0.1 px × 0.7"/px × √2
  });

  it('similarity fit from two pairs', () => {
    const truth = rotate(makeWcs({ ra: 20, dec: -10, crpix1: 500, crpix2: 500, scaleArcsec: 1 }), 10);
    const p = pairs(truth, 2, 0, 3);
    const f = fitTanWcs(p, { similarity: true, crpix: [500, 500] });
    expect(f.rmsArcsec).toBeLessThan(1e-6);
    expect(rotationDeg(f.wcs)).toBeCloseTo(10, 6);
    expect(() => fitTanWcs({ x: [1], y: [1], ra: [1], dec: [1] })).toThrow(RangeError);
  });
});

const astropy = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import astropy.wcs'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!astropy)('against astropy.wcs (reference)', () => {
  it('pixel → sky agrees to 1e-9 deg for CD, PC and CROTA2 headers', () => {
    const headers: Record<string, string | number>[] = [
      { CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 83.8221, CRVAL2: -5.3911, CRPIX1: 1092.5, CRPIX2: 736.5, CD1_1: -9.4e-5, CD1_2: 1.7e-6, CD2_1: 1.6e-6, CD2_2: 9.45e-5 },
      { CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 359.99, CRVAL2: 72.5, CRPIX1: 2096, CRPIX2: 2048, CDELT1: -1.05e-4, CDELT2: 1.05e-4, PC1_1: 0.99985, PC1_2: -0.0174, PC2_1: 0.0174, PC2_2: 0.99985 },
      { CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', CRVAL1: 201.3, CRVAL2: -43.0, CRPIX1: 10, CRPIX2: 20, CDELT1: -2e-4, CDELT2: 2e-4, CROTA2: 12.5 },
    ];
    const pts = [
      [0, 0],
      [100.25, 3000.75],
      [4191, 4095],
      [-50, 2000],
    ];
    const script = `
import json, sys, warnings
warnings.simplefilter('ignore')
from astropy.wcs import WCS
hs, pts = json.loads(sys.argv[1])
out = []
for h in hs:
    w = WCS(h)
    out.append([list(map(float, w.all_pix2world([[x, y]], 0)[0])) for x, y in pts])
print(json.dumps(out))`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, JSON.stringify([headers, pts])], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout) as number[][][];
    headers.forEach((h, k) => {
      const w = wcsFromHeader(hdr(h)).wcs!;
      pts.forEach(([x, y], i) => {
        const s = pixToSky(w, x, y);
        expect(angularSeparation(s[0], s[1], ref[k][i][0], ref[k][i][1])).toBeLessThan(1e-9);
      });
    });
  });
});
