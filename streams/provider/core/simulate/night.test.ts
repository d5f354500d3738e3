/**
 * The night as a plan and its rendered frames, in memory (no FITS): counts and names, the afterglow's
 * light curve, WCS against truth, the catalog's depth, flux truth, determinism.
 */
import { describe, expect, it } from 'vitest';
import { medianOf } from './camera.ts';
import { afterglowMag, DEFAULT_FIELD } from './field.ts';
import { moffatEnclosed, moffatAlpha } from './psf.ts';
import { planNight, renderFrame, type NightInput } from './night.ts';
import { newBuffers } from './frames.ts';
import { angularSeparation, pixToSky, skyToPix, rotationDeg, pixelScaleArcsec, skyToTangent } from '../../../../lib/wcs/index.ts';

// a tiny chip at the requested density (uncrowded apertures): no denser field for the astrometry
const SMALL: NightInput = { seed: 5, camera: { width: 256, height: 192 }, frames: 6, biasCount: 8, darkCount: 8, flatCount: 6, field: { minCatalogStars: 0 } };

describe('the default night plan', () => {
  const plan = planNight({ seed: 1 });
  const of = (t: string) => plan.frames.filter((f) => f.type === t);

  it('has ≥ 8 bias, ≥ 8 dark, ≥ 6 usable flats + a saturated and an under-level one, 60 object frames', () => {
    expect(of('bias').length).toBeGreaterThanOrEqual(8);
    expect(of('dark').length).toBeGreaterThanOrEqual(8);
    expect(of('dark').every((f) => f.exptime === 60)).toBe(true);
    const flats = of('flat');
    expect(flats.filter((f) => f.usable).length).toBeGreaterThanOrEqual(6);
    expect(flats.filter((f) => f.usable).every((f) => f.flatLevel! >= 2500 && f.flatLevel! <= 6500)).toBe(true);
    expect(flats.some((f) => !f.usable && /saturated/.test(f.note ?? ''))).toBe(true);
    expect(flats.some((f) => !f.usable && /under-level/.test(f.note ?? '') && f.flatLevel! < 2000)).toBe(true);
    expect(of('object').length).toBe(60);
  });

  it('names frames COATLI-style, calibrations earlier the same night, objects every 60 s from T0 + 2 min', () => {
    for (const f of plan.frames) {
      expect(f.name).toMatch(/^\d{8}T\d{6}C0[bdfo]\.fits$/);
      expect(f.name[17]).toBe(f.type[0]);
    }
    const obj = of('object');
    expect(obj[0].name).toBe('20191016T083200C0o.fits');
    expect(obj[59].start - obj[0].start).toBe(59 * 60000);
    const lastCal = Math.max(...plan.frames.filter((f) => f.type !== 'object').map((f) => f.start));
    expect(lastCal).toBeLessThan(obj[0].start);
    expect(plan.frames.every((f) => f.name.startsWith('20191016'))).toBe(true);
    expect(plan.burstId).toBe('sb19101601');
  });

  it('fades the afterglow as a power law of index 1.2', () => {
    for (const f of of('object')) {
      const o = f.object!;
      expect(o.afterglowMagMid).toBeCloseTo(15.2 + 2.5 * 1.2 * Math.log10(o.tMid / 300), 10);
      // exposure mean by numerical integration
      let s = 0;
      for (let k = 0; k < 600; k++) s += ((o.tStart + (k + 0.5) * 0.1) / 300) ** -1.2;
      expect(o.afterglowMagMean).toBeCloseTo(15.2 - 2.5 * Math.log10(s / 600), 5);
    }
    const o = of('object');
    expect(o[0].object!.afterglowMagMid).toBeLessThan(15);
    expect(o[59].object!.afterglowMagMid).toBeGreaterThan(18.3);
  });

  it('keeps the afterglow at S/N ≥ 10 in every frame by default (best aperture, worst seeing)', () => {
    for (const p of [plan, planNight({ seed: 2 }), planNight({ seed: 3 })]) {
      const c = p.opts.camera;
      const bg = p.skyRate * 60 + c.darkRate * 60 + c.readNoise ** 2;
      for (const f of p.frames.filter((x) => x.type === 'object')) {
        const o = f.object!;
        const fwhmPx = o.seeing / 0.34;
        const alpha = moffatAlpha(fwhmPx, 3);
        let best = 0;
        for (let R = 0.3 * fwhmPx; R < 2.5 * fwhmPx; R += 0.05 * fwhmPx) {
          const sig = o.afterglowElectrons * moffatEnclosed(R, alpha, 3);
          best = Math.max(best, sig / Math.sqrt(sig + Math.PI * R * R * bg));
        }
        expect(best).toBeGreaterThan(10);
      }
    }
  });

  it('writes the telescope WCS in the header: nominal CRVAL, north up; the truth is offset and rotated', () => {
    for (const f of of('object')) {
      const g = f.object!.geom;
      expect(g.headerWcs.crval1).toBe(plan.opts.ra);
      expect(g.headerWcs.crval2).toBe(plan.opts.dec);
      expect(rotationDeg(g.headerWcs)).toBeCloseTo(0, 10);
      expect(pixelScaleArcsec(g.headerWcs)).toBeCloseTo(0.34, 10);
      // truth minus offset = header: the true centre lies offsetArcsec (east, north) from the nominal one
      const t = skyToTangent(g.trueWcs.crval1, g.trueWcs.crval2, plan.opts.ra, plan.opts.dec, [0, 0]);
      expect(t[0] * 3600).toBeCloseTo(g.offsetArcsec[0], 6);
      expect(t[1] * 3600).toBeCloseTo(g.offsetArcsec[1], 6);
      const sep = angularSeparation(g.trueWcs.crval1, g.trueWcs.crval2, plan.opts.ra, plan.opts.dec) * 60;
      expect(sep).toBeGreaterThan(0.3);
      expect(sep).toBeLessThan(3.2);
      const rot = Math.abs(rotationDeg(g.trueWcs));
      expect(rot).toBeGreaterThan(0.48);
      expect(rot).toBeLessThan(1.02);
      // both WCS put the same pixel at different places: the header is wrong by the offset
      const c1 = pixToSky(g.headerWcs, 1073.5, 735.5, [0, 0]);
      const c2 = pixToSky(g.trueWcs, 1073.5, 735.5, [0, 0]);
      expect(angularSeparation(c1[0], c1[1], c2[0], c2[1]) * 3600).toBeCloseTo(Math.hypot(...g.offsetArcsec), 0);
      expect(f.object!.seeing).toBeGreaterThanOrEqual(1.2);
      expect(f.object!.seeing).toBeLessThanOrEqual(2.2);
    }
    // frame-to-frame jitter is a few arcsec, not arcmin
    const a = of('object')[10].object!.geom.offsetArcsec, b = of('object')[11].object!.geom.offsetArcsec;
    expect(Math.hypot(a[0] - b[0], a[1] - b[1])).toBeLessThan(20);
  });

  it('keeps the afterglow inside the error circle, on the chip, and out of the catalog', () => {
    const ag = plan.field.afterglow;
    expect(angularSeparation(ag.ra, ag.dec, plan.opts.ra, plan.opts.dec)).toBeLessThan(plan.opts.errorRadius);
    for (const f of of('object')) {
      const p = skyToPix(f.object!.geom.trueWcs, ag.ra, ag.dec, [0, 0]);
      expect(p[0]).toBeGreaterThan(64);
      expect(p[0]).toBeLessThan(2148 - 64);
      expect(p[1]).toBeGreaterThan(64);
      expect(p[1]).toBeLessThan(1472 - 64);
    }
    for (const c of plan.field.catalog) expect(angularSeparation(c.ra, c.dec, ag.ra, ag.dec) * 3600).toBeGreaterThan(3);
  });

  it('cuts the catalog at its completeness limit while fainter stars exist in the field', () => {
    const lim = plan.opts.field.catalogLimit;
    expect(plan.field.catalog.every((c) => c.mag <= lim)).toBe(true);
    const faint = plan.field.stars.filter((s) => s.mag > lim + 0.3);
    expect(faint.length).toBeGreaterThan(plan.field.catalog.length);
    // number counts: dN/dm ∝ 10^(0.3 m) → N(20..21)/N(19..20) ≈ 2
    const n = (a: number, b: number) => plan.field.stars.filter((s) => s.origin === 'field' && s.mag >= a && s.mag < b).length;
    expect(n(20, 21) / n(19, 20)).toBeGreaterThan(1.6);
    expect(n(20, 21) / n(19, 20)).toBeLessThan(2.4);
    // catalog magnitudes carry small errors, positions ~0.1"
    const byId = new Map(plan.field.stars.map((s) => [s.id, s]));
    const dm = plan.field.catalog.map((c) => c.mag - byId.get(c.id)!.mag);
    expect(Math.max(...dm.map(Math.abs))).toBeLessThan(0.3);
    const dp = plan.field.catalog.map((c) => angularSeparation(c.ra, c.dec, byId.get(c.id)!.ra, byId.get(c.id)!.dec) * 3600);
    expect(medianOf(dp)).toBeLessThan(0.3);
  });
});

describe('a small night rendered in memory', () => {
  const plan = planNight(SMALL);
  const b = newBuffers(plan.det);
  const frames = plan.frames.map((_, i) => {
    const r = renderFrame(plan, i, b);
    return { ...r, data: r.data.slice() };
  });
  const objects = frames.filter((f) => f.plan.type === 'object');

  it('is deterministic by seed, frame by frame and in any order', () => {
    const again = planNight(SMALL);
    const b2 = newBuffers(again.det);
    for (const i of [plan.frames.length - 1, 0, 9, 17, 20]) {
      expect(Buffer.compare(Buffer.from(renderFrame(again, i, b2).data.buffer), Buffer.from(frames[i].data.buffer))).toBe(0);
    }
    const other = planNight({ ...SMALL, seed: 6 });
    const o = renderFrame(other, plan.frames.length - 1, newBuffers(other.det)).data;
    expect(Buffer.compare(Buffer.from(o.buffer), Buffer.from(frames[plan.frames.length - 1].data.buffer))).not.toBe(0);
  });

  it('records each star’s rendered electrons = flux × t × response × (stamp fraction)', () => {
    const { det } = plan;
    let checked = 0;
    for (const f of objects) {
      const t = f.truth.object!;
      for (const s of t.stars) {
        const star = plan.field.stars.find((x) => x.id === s.id)!;
        const fluxE = plan.starFlux[plan.field.stars.indexOf(star)];
        const inner = s.x > det.geo.dataX0 + 30 && s.x < det.geo.dataX1 - 30 && s.y > 30 && s.y < det.geo.height - 30;
        if (!inner || star.mag < 12) continue;
        const resp = det.response[Math.round(s.y) * det.geo.width + Math.round(s.x)];
        expect(Math.abs(s.electrons / (fluxE * 60 * resp) - 1)).toBeLessThan(0.02);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('measures the afterglow following the power law within noise (calibrated aperture photometry)', () => {
    const { det } = plan;
    const { width: W } = det.geo;
    const g = plan.opts.camera.gain;
    for (const f of objects) {
      const t = f.truth.object!;
      const ag = t.afterglow;
      const R = 2 * t.seeingFwhmPx;
      let ap = 0, nap = 0;
      const ann: number[] = [];
      // calibrate with the true maps: (raw − bias − dark·t) / response, in electrons
      for (let y = Math.max(0, Math.floor(ag.y - 40)); y < Math.min(det.geo.height, ag.y + 40); y++) {
        for (let x = Math.max(det.geo.dataX0, Math.floor(ag.x - 40)); x < Math.min(det.geo.dataX1, ag.x + 40); x++) {
          const i = y * W + x;
          const bias = plan.opts.camera.biasLevel + det.biasColumn[x] + det.biasRow[y] + f.plan.readout.biasOffset;
          const v = ((f.data[i] - bias) * g - det.dark[i] * 60) / det.response[i];
          const d = Math.hypot(x - ag.x, y - ag.y);
          if (d <= R) (ap += v), nap++;
          else if (d > R + 6 && d < R + 20) ann.push(v);
        }
      }
      const flux = ap - nap * medianOf(ann);
      const expected = ag.electrons * moffatEnclosed(R, t.moffatAlphaPx, 3);
      const noise = Math.sqrt(expected + nap * (t.skyElectronsPerPixel + 3 + 100));
      expect(Math.abs(flux - expected)).toBeLessThan(4 * noise + 0.01 * expected);
      expect(ag.magMid).toBeCloseTo(afterglowMag(plan.afterglow, t.tMidSinceT0), 10);
    }
  });

  it('writes headers with the camera keywords and the nominal WCS', () => {
    const o = objects[0];
    const h = new Map(o.cards.map((c) => [c.key, c.value]));
    expect(h.get('IMAGETYP')).toBe('object');
    expect(h.get('EXPTIME')).toBe(60);
    expect(h.get('INSTRUME')).toBe('COATLI');
    expect(h.get('FILTER')).toBe('r');
    expect(h.get('GAIN')).toBe(6.2);
    expect(h.get('RDNOISE')).toBe(10);
    expect(h.get('SATURATE')).toBe(65535);
    expect(h.get('DATASEC')).toBe('[1:220,1:192]');
    expect(h.get('BIASSEC')).toBe('[221:256,1:192]');
    expect(h.get('CRVAL1')).toBe(plan.opts.ra);
    expect(h.get('CRVAL2')).toBe(plan.opts.dec);
    expect(h.get('RA')).toBe(plan.opts.ra);
    expect(h.get('DATE-OBS')).toBe(new Date(o.plan.start).toISOString().replace('Z', ''));
    expect(h.get('CTYPE1')).toBe('RA---TAN');
    expect(h.get('AIRMASS')).toBeGreaterThanOrEqual(1);
    expect(h.get('OBJCTALT')).toBeGreaterThan(0);
    expect(h.get('ALTITUDE')).toBe(2800); // the observatory's, once
    const flat = frames.find((f) => f.plan.type === 'flat')!;
    expect(new Map(flat.cards.map((c) => [c.key, c.value])).get('IMAGETYP')).toBe('flat');
    expect(flat.cards.some((c) => c.key === 'CRVAL1')).toBe(false);
  });
});

describe('a field below the horizon of the site at T0 (an alert the telescope could not observe)', () => {
  it('still renders, with the altitude and without an airmass (FITS cannot hold NaN)', () => {
    const plan = planNight({ ...SMALL, ra: 200.5, dec: -20.3, t0: '2025-03-01T02:00:00Z' });
    const i = plan.frames.findIndex((f) => f.type === 'object');
    const h = new Map(renderFrame(plan, i, newBuffers(plan.det)).cards.map((c) => [c.key, c.value]));
    expect(h.get('OBJCTALT')).toBeLessThan(0);
    expect(h.has('AIRMASS')).toBe(false);
  });
});

describe('a small synthetic chip gets enough catalog stars for the astrometry', () => {
  const onChip = (plan: ReturnType<typeof planNight>) => {
    const w = plan.frames.find((f) => f.object)!.object!.geom.trueWcs;
    const p = [0, 0];
    return plan.field.catalog.filter((c) => {
      skyToPix(w, c.ra, c.dec, p);
      return p[0] >= 0 && p[1] >= 0 && p[0] < plan.opts.camera.width && p[1] < plan.opts.camera.height;
    }).length;
  };
  it('raises the star density of a 1200x1000 chip (≥ 25 catalog stars expected); leaves the default chip and an explicit 0 as requested', () => {
    const small = planNight({ seed: 3, frames: 2, camera: { width: 1200, height: 1000 } });
    expect(small.field.effective.starDensity).toBeGreaterThan(DEFAULT_FIELD.starDensity);
    expect(small.field.effective.starDensity).toBeLessThanOrEqual(4 * DEFAULT_FIELD.starDensity);
    expect(onChip(small)).toBeGreaterThanOrEqual(15);
    const asked = planNight({ seed: 3, frames: 2, camera: { width: 1200, height: 1000 }, field: { minCatalogStars: 0 } });
    expect(asked.field.effective.starDensity).toBe(DEFAULT_FIELD.starDensity);
    expect(onChip(asked)).toBeLessThan(onChip(small));
    expect(planNight({ seed: 3, frames: 2 }).field.effective.starDensity).toBe(DEFAULT_FIELD.starDensity);
  });
});
