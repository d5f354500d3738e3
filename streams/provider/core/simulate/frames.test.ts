/**
 * Statistics of the rendered pixels against the model: bias level and read noise, dark rate, flat
 * levels, sky level and Poisson variance, star flux, saturation. Small frames for speed.
 */
import { describe, expect, it } from 'vitest';
import { COATLI_CAMERA, makeDetector, medianOf, type CameraOptions, type Detector } from './camera.ts';
import { newBuffers, renderBias, renderDark, renderFlat, renderObject, type FrameBuffers } from './frames.ts';
import { addMoffat, moffatAlpha, moffatEnclosed } from './psf.ts';
import { Rng } from './rng.ts';

const small: CameraOptions = { ...COATLI_CAMERA, width: 256, height: 192 };
const det = makeDetector(small, 11);
const { dataX0, dataX1, osX0, osX1, height: H, width: W } = det.geo;
const g = small.gain;

function dataValues(d: Detector, a: ArrayLike<number>): Float64Array {
  const out = new Float64Array((d.geo.dataX1 - d.geo.dataX0) * d.geo.height);
  let j = 0;
  for (let y = 0; y < d.geo.height; y++) for (let x = d.geo.dataX0; x < d.geo.dataX1; x++) out[j++] = a[y * d.geo.width + x];
  return out;
}
function overscanValues(d: Detector, a: ArrayLike<number>): number[] {
  const v: number[] = [];
  for (let y = 0; y < d.geo.height; y++) for (let x = d.geo.osX0; x < d.geo.osX1; x++) v.push(a[y * d.geo.width + x]);
  return v;
}
/** Median of the overscan: what the pipeline uses (quantised to 0.5 ADU on integer data). */
const overscanMedian = (d: Detector, a: ArrayLike<number>) => medianOf(overscanValues(d, a));
/** Mean of the overscan: the level to sub-ADU precision. */
const overscanMean = (d: Detector, a: ArrayLike<number>) => mean(overscanValues(d, a));
const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};
const std = (a: ArrayLike<number>) => {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / (a.length - 1));
};

describe('detector geometry', () => {
  it('has the COATLI sections', () => {
    const full = makeDetector({ ...COATLI_CAMERA, width: 2184, height: 1472, dustCount: 0, hotPixelFraction: 0 }, 1);
    expect(full.geo.datasec).toBe('[1:2148,1:1472]');
    expect(full.geo.biassec).toBe('[2149:2184,1:1472]');
    const left = makeDetector({ ...small, overscan: 48, overscanSide: 'left' }, 1);
    expect(left.geo.datasec).toBe('[49:256,1:192]');
    expect(left.geo.biassec).toBe('[1:48,1:192]');
  });
  it('has a flat response of median 1 with vignetting and dust, no light in the overscan', () => {
    const full = makeDetector({ ...COATLI_CAMERA }, 3);
    const d = dataValues(full, full.response);
    expect(Math.abs(medianOf(d) - 1)).toBeLessThan(1e-6);
    const fw = full.geo.width;
    // corners 10-15 % below the centre (smoothed over 21x21 to beat the pixel-to-pixel noise)
    const box = (cx: number, cy: number) => {
      let s = 0, n = 0;
      for (let y = cy - 10; y <= cy + 10; y++) for (let x = cx - 10; x <= cx + 10; x++) (s += full.response[y * fw + x]), n++;
      return s / n;
    };
    const c = box(1074, 736);
    for (const [x, y] of [[12, 12], [2135, 12], [12, 1459], [2135, 1459]]) {
      const drop = 1 - box(x, y) / c;
      expect(drop).toBeGreaterThan(0.06);
      expect(drop).toBeLessThan(0.2);
    }
    expect(full.response[5 * fw + full.geo.osX0 + 3]).toBe(0);
    expect(full.dust.length).toBe(COATLI_CAMERA.dustCount);
    for (const dd of full.dust) {
      // the donut: the ring (0.45R..R) is deeper than the hole and the surroundings
      const ring = full.response[Math.round(dd.y) * fw + Math.round(dd.x + 0.72 * dd.radius)];
      const out = full.response[Math.round(dd.y) * fw + Math.round(dd.x + dd.radius + 6)];
      if (dd.x + dd.radius + 6 < full.geo.dataX1) expect(ring / out).toBeLessThan(1 - dd.depth + 0.02);
    }
    // ~0.1 % hot pixels
    expect(full.hotPixels.index.length / d.length).toBeCloseTo(0.001, 4);
  });
});

describe('bias frames', () => {
  const b1 = newBuffers(det), b2 = newBuffers(det);
  renderBias(det, Rng.derive(1, 'b', 1), b1, { biasOffset: 0, rowNoise: 0.3 });
  renderBias(det, Rng.derive(1, 'b', 2), b2, { biasOffset: 2.5, rowNoise: 0.3 });
  it('sits at the bias level with the overscan following it', () => {
    expect(Math.abs(mean(dataValues(det, b1.out)) - 1000)).toBeLessThan(1.5);
    expect(Math.abs(overscanMedian(det, b1.out) - 1000)).toBeLessThan(1);
    // the per-readout offset moves data and overscan together
    const d1 = mean(dataValues(det, b1.out)) - overscanMean(det, b1.out);
    const d2 = mean(dataValues(det, b2.out)) - overscanMean(det, b2.out);
    expect(Math.abs(d1 - d2)).toBeLessThan(0.15);
    expect(Math.abs(overscanMean(det, b2.out) - overscanMean(det, b1.out) - 2.5)).toBeLessThan(0.15);
  });
  it('has the read noise: std of a bias difference / √2 = √(RN²/g² + row² + 1/12) ADU', () => {
    const v2 = dataValues(det, b2.out);
    const diff = dataValues(det, b1.out).map((v, i) => v - v2[i]);
    const sigma = std(diff) / Math.SQRT2;
    const expected = Math.sqrt((small.readNoise / g) ** 2 + 0.3 ** 2 + 1 / 12);
    expect(Math.abs(sigma / expected - 1)).toBeLessThan(0.03);
    // in electrons, with the quantisation and row noise removed: ≈ 10 e-
    expect(Math.sqrt(sigma ** 2 - 0.09 - 1 / 12) * g).toBeGreaterThan(9.6);
    expect(Math.sqrt(sigma ** 2 - 0.09 - 1 / 12) * g).toBeLessThan(10.4);
  });
  it('carries the column structure (a fixed pattern, same in every bias)', () => {
    const colMean = (b: FrameBuffers) => {
      const c = new Float64Array(dataX1 - dataX0);
      for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) c[x - dataX0] += b.out[y * W + x] / H;
      return c;
    };
    const c1 = colMean(b1), c2 = colMean(b2);
    let num = 0, d1 = 0, d2 = 0;
    const m1 = mean(c1), m2 = mean(c2);
    for (let i = 0; i < c1.length; i++) {
      num += (c1[i] - m1) * (c2[i] - m2);
      d1 += (c1[i] - m1) ** 2;
      d2 += (c2[i] - m2) ** 2;
    }
    expect(num / Math.sqrt(d1 * d2)).toBeGreaterThan(0.8);
  });
});

describe('dark frames', () => {
  it('recover the dark rate (overscan-subtracted dark − bias) / t', () => {
    const t = 60;
    let sum = 0, n = 0, model = 0;
    for (let k = 0; k < 4; k++) {
      const bd = newBuffers(det), bb = newBuffers(det);
      renderDark(det, Rng.derive(2, 'd', k), bd, t, 0, { biasOffset: 0.7 * k, rowNoise: 0.3 });
      renderBias(det, Rng.derive(2, 'b', k), bb, { biasOffset: -0.5 * k, rowNoise: 0.3 });
      const od = overscanMean(det, bd.out), ob = overscanMean(det, bb.out);
      for (let y = 0; y < H; y++) {
        for (let x = dataX0; x < dataX1; x++) {
          const i = y * W + x;
          if (det.dark[i] > 0.1) continue; // hot pixels and amplifier glow apart
          sum += ((bd.out[i] - od) - (bb.out[i] - ob)) * g / t;
          model += det.dark[i];
          n++;
        }
      }
    }
    const rate = sum / n;
    expect(Math.abs(rate / (model / n) - 1)).toBeLessThan(0.05);
  });
  it('recover 0.05 e-/s/px on a detector without amplifier glow', () => {
    const d0 = makeDetector({ ...small, ampGlow: 0 }, 12);
    let sum = 0, n = 0;
    for (let k = 0; k < 4; k++) {
      const bd = newBuffers(d0), bb = newBuffers(d0);
      renderDark(d0, Rng.derive(2, 'd0', k), bd, 60, 0, { biasOffset: 0.3 * k, rowNoise: 0.3 });
      renderBias(d0, Rng.derive(2, 'b0', k), bb, { biasOffset: -0.2 * k, rowNoise: 0.3 });
      const od = overscanMean(d0, bd.out), ob = overscanMean(d0, bb.out);
      for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) {
        const i = y * W + x;
        if (d0.dark[i] > 0.1) continue;
        sum += ((bd.out[i] - od) - (bb.out[i] - ob)) * g / 60;
        n++;
      }
    }
    expect(Math.abs(sum / n / 0.05 - 1)).toBeLessThan(0.05);
  });
  it('shows the hot pixels at their rates', () => {
    const bd = newBuffers(det);
    renderDark(det, Rng.derive(3, 'd'), bd, 60, 0, { biasOffset: 0, rowNoise: 0.3 });
    const { index, rate } = det.hotPixels;
    let hits = 0;
    for (let k = 0; k < index.length; k++) {
      const i = index[k];
      const x = i % W;
      const expected = 1000 + det.biasColumn[x] + det.biasRow[Math.floor(i / W)] + (det.dark[i] * 60) / g;
      const sigma = Math.sqrt(det.dark[i] * 60 + 100) / g + 1;
      if (Math.abs(bd.out[i] - expected) < 5 * sigma) hits++;
      expect(rate[k]).toBeGreaterThanOrEqual(1);
    }
    expect(hits).toBe(index.length);
  });
});

describe('flat frames', () => {
  it('have median(data) − median(overscan) at the requested level; saturated and under-level flats', () => {
    for (const level of [2800, 4500, 6200]) {
      const b = newBuffers(det);
      renderFlat(det, Rng.derive(4, 'f', level), b, level, 0.01, 0.3, 10, 0, { biasOffset: 1, rowNoise: 0.3 });
      const l = medianOf(dataValues(det, b.out)) - overscanMedian(det, b.out);
      expect(Math.abs(l / level - 1)).toBeLessThan(0.01);
    }
    const s = newBuffers(det);
    renderFlat(det, Rng.derive(4, 's'), s, 90000, 0.01, 0.3, 3, 0, { biasOffset: 0, rowNoise: 0.3 });
    expect(medianOf(dataValues(det, s.out))).toBe(65535);
    const u = newBuffers(det);
    renderFlat(det, Rng.derive(4, 'u'), u, 1400, 0.01, 0.3, 19, 0, { biasOffset: 0, rowNoise: 0.3 });
    expect(medianOf(dataValues(det, u.out)) - overscanMedian(det, u.out)).toBeLessThan(2000);
  });
  it('divided by the response give a flat illumination (pixel-to-pixel structure reproduced)', () => {
    const b = newBuffers(det);
    renderFlat(det, Rng.derive(5, 'f'), b, 5000, 0, 0, 10, 0, { biasOffset: 0, rowNoise: 0 });
    const ratio: number[] = [];
    for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) {
      const i = y * W + x;
      ratio.push((b.out[i] - 1000 - det.biasColumn[x] - det.biasRow[y]) / det.response[i]);
    }
    // residual scatter = photon + read noise only: √(5000·6.2 + 100)/6.2 ≈ 28.4 ADU
    expect(Math.abs(std(ratio) / (Math.sqrt(5000 * g + 100) / g) - 1)).toBeLessThan(0.05);
  });
});

describe('object frames', () => {
  it('have the sky level and Poisson variance: residuals from the expected charge are N(0, √(e + RN²)/g)', () => {
    for (const skyRate of [1.156, 40]) {
      const b = newBuffers(det);
      renderObject(det, Rng.derive(6, 'o', skyRate), b, { exptime: 60, skyRate, skyGradient: 0.02, skyGradientAngle: 1, alpha: 3, beta: 3, sources: [], cosmics: 0, readout: { biasOffset: 0.4, rowNoise: 0.3 } });
      let s = 0, chi = 0, n = 0, level = 0, vsum = 0;
      for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) {
        const i = y * W + x;
        if (det.dark[i] > 0.1) continue;
        const e = b.e[i];
        const r = b.out[i] - (1000 + 0.4 + det.biasColumn[x] + det.biasRow[y] + e / g);
        s += r;
        const v = (e + 100) / (g * g) + 0.09 + 1 / 12;
        chi += (r * r) / v;
        vsum += v;
        level += (e - det.dark[i] * 60) / det.response[i];
        n++;
      }
      // the mean residual: per-pixel noise plus the per-row offsets (0.3 ADU rms over H rows)
      expect(Math.abs(s / n)).toBeLessThan(4 * Math.sqrt(vsum / n / n + 0.09 / H));
      expect(Math.abs(chi / n - 1)).toBeLessThan(0.03);
      expect(Math.abs(level / n / (skyRate * 60) - 1)).toBeLessThan(0.005);
    }
  });

  it('renders a star integrated over pixels (noiseless): pixel sums equal fine integrals, total = flux × enclosed', () => {
    for (const fwhm of [1.2 / 0.34, 2.2 / 0.34, 2.0]) {
      const alpha = moffatAlpha(fwhm, 3);
      const N = 160, cx = 80.3, cy = 79.8, F = 1e5;
      const e = new Float32Array(N * N);
      const r = addMoffat({ e, width: N, height: N, x0: 0, x1: N }, cx, cy, F, alpha, 3);
      // reference: 41x41 sub-samples per pixel over the central 11x11 pixels
      const I0 = (2 / (Math.PI * alpha * alpha)) * F;
      let ref = 0, got = 0;
      for (let y = Math.round(cy) - 5; y <= Math.round(cy) + 5; y++) for (let x = Math.round(cx) - 5; x <= Math.round(cx) + 5; x++) {
        let s = 0;
        for (let j = 0; j < 41; j++) for (let i = 0; i < 41; i++) {
          const dx = x - 0.5 + (i + 0.5) / 41 - cx, dy = y - 0.5 + (j + 0.5) / 41 - cy;
          s += (1 + (dx * dx + dy * dy) / (alpha * alpha)) ** -3;
        }
        ref += (I0 * s) / (41 * 41);
        got += e[y * N + x];
      }
      expect(Math.abs(got / ref - 1)).toBeLessThan(0.002);
      // the whole stamp holds the flux within its radius (≥ 5α: > 99.8 %)
      let total = 0;
      for (let i = 0; i < e.length; i++) total += e[i];
      expect(Math.abs(total / F - r.fraction)).toBeLessThan(1e-4);
      expect(r.fraction).toBeGreaterThan(0.997);
      expect(r.fraction).toBeLessThan(1.0005);
      expect(Math.abs(r.rendered - total)).toBeLessThan(1e-3 * F);
    }
  });

  it('measures a star at its true flux within noise, and saturates and bleeds a bright one', () => {
    const b = newBuffers(det);
    const alpha = moffatAlpha(5, 3);
    const star = { x: 60.2, y: 70.7, electrons: 2e5 };
    const bright = { x: 160.4, y: 100.1, electrons: 5e8 };
    const res = renderObject(det, Rng.derive(7, 'o'), b, { exptime: 60, skyRate: 1.156, skyGradient: 0, skyGradientAngle: 0, alpha, beta: 3, sources: [star, bright], cosmics: 0, readout: { biasOffset: 0, rowNoise: 0.3 } });
    // aperture photometry with a local sky annulus, in electrons
    const R = 15;
    let ap = 0, nap = 0;
    const ann: number[] = [];
    for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) {
      const d = Math.hypot(x - star.x, y - star.y);
      const v = (b.out[y * W + x] - det.biasColumn[x] - det.biasRow[y]) * g;
      if (d <= R) (ap += v), nap++;
      else if (d > 22 && d < 32) ann.push(v);
    }
    const flux = ap - nap * medianOf(ann);
    const truthInAperture = star.electrons * moffatEnclosed(R, alpha, 3); // response ≈ 1 locally
    const noise = Math.sqrt(star.electrons + nap * (70 + 100));
    expect(Math.abs(flux - truthInAperture * res.sources[0].rendered / (star.electrons * res.sources[0].fraction))).toBeLessThan(4 * noise + 0.01 * star.electrons);
    // the bright star: a plateau at the ADC ceiling and a bleed trail along its column
    expect(b.out[100 * W + 160]).toBe(65535);
    expect(res.fullWellPixels).toBeGreaterThan(20);
    let up = 0;
    for (let y = 100; y < H && b.out[y * W + 160] === 65535; y++) up++;
    let across = 0;
    for (let x = 160; x < dataX1 && b.out[100 * W + x] === 65535; x++) across++;
    expect(up).toBeGreaterThan(across);
  });

  it('adds cosmic rays as sharp deposits outside the overscan', () => {
    const b = newBuffers(det);
    const res = renderObject(det, Rng.derive(8, 'o'), b, { exptime: 60, skyRate: 1.156, skyGradient: 0, skyGradientAngle: 0, alpha: 4, beta: 3, sources: [], cosmics: 40, readout: { biasOffset: 0, rowNoise: 0.3 } });
    expect(res.cosmics.count).toBe(40);
    expect(res.cosmics.spots + res.cosmics.tracks + res.cosmics.worms).toBe(40);
    let high = 0;
    for (let y = 0; y < H; y++) for (let x = dataX0; x < dataX1; x++) if (b.out[y * W + x] > 1000 + 11 + 60) high++;
    expect(high).toBeGreaterThan(40);
    let osMax = 0;
    for (let y = 0; y < H; y++) for (let x = osX0; x < osX1; x++) osMax = Math.max(osMax, b.out[y * W + x]);
    expect(osMax).toBeLessThan(1015);
  });
});

describe('speed', () => {
  it('renders a full-size COATLI object frame well under a second', () => {
    const full = makeDetector(COATLI_CAMERA, 9);
    const b = newBuffers(full);
    const r = Rng.derive(9, 'speed');
    const sources = Array.from({ length: 300 }, () => ({ x: r.range(0, 2148), y: r.range(0, 1472), electrons: 60 * 10 ** (-0.4 * (r.range(10, 21) - 22.5)) }));
    const spec = { exptime: 60, skyRate: 1.156, skyGradient: 0.02, skyGradientAngle: 0, alpha: moffatAlpha(5, 3), beta: 3, sources, cosmics: 200, readout: { biasOffset: 0, rowNoise: 0.3 } };
    renderObject(full, r, b, spec); // warm-up
    const t = performance.now();
    renderObject(full, r, b, spec);
    const ms = performance.now() - t;
    console.log(`full-size object frame (2184x1472, 300 stars, 200 cosmics): ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
  });
});
