/**
 * Pixel generation: one raw frame from the detector maps and what fell on it.
 *
 * Every frame is built in two passes over one reusable buffer set:
 *   1. expected charge `e` (e⁻, float): light × flat response + dark current × t, then point sources
 *      in local stamps, charge bleeding of saturated columns, cosmic-ray deposits;
 *   2. digitisation into `out` (ADU, uint16): Poisson noise on the charge (exact below λ = 30 e⁻,
 *      normal approximation above, merged with the read noise into one deviate), full-well clip,
 *      ADU = bias(x, y) + frame bias offset + row noise + charge / gain, rounded, clipped to 0..ceiling.
 * No allocation per pixel; the buffers are allocated once per night.
 */
import type { Detector } from './camera.ts';
import { addMoffat, bleedColumns, type StampResult } from './psf.ts';
import { POISSON_EXACT_MAX, Rng } from './rng.ts';

export interface FrameBuffers {
  /** expected charge, e⁻ */
  e: Float32Array;
  /** raw ADU */
  out: Uint16Array;
}

export function newBuffers(det: Detector): FrameBuffers {
  const n = det.geo.width * det.geo.height;
  return { e: new Float32Array(n), out: new Uint16Array(n) };
}

export interface ReadoutSpec {
  /** ADU added to the whole frame's bias (data and overscan): the bias drift of this readout */
  biasOffset: number;
  /** ADU rms of a per-row offset shared by data and overscan (correlated readout noise) */
  rowNoise: number;
}

/**
 * Pass 2: noise, full well, bias, gain, ADC. Reads `b.e`, writes `b.out`. Pixels outside the data
 * section get read noise only (their expected charge is 0).
 */
export function digitize(det: Detector, rng: Rng, b: FrameBuffers, r: ReadoutSpec): void {
  const { width: W, height: H } = det.geo;
  const c = det.opts;
  const { e, out } = b;
  const rn = c.readNoise;
  const rn2 = rn * rn;
  const invGain = 1 / c.gain;
  const fw = c.fullWell;
  const ceil = c.saturate;
  const bcol = det.biasColumn;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    const rowBias = c.biasLevel + det.biasRow[y] + r.biasOffset + r.rowNoise * rng.normal() + 0.5; // +0.5: round
    for (let x = 0; x < W; x++) {
      const i = row + x;
      const v = e[i];
      let q: number;
      if (v >= POISSON_EXACT_MAX) q = v + Math.sqrt(v + rn2) * rng.normal();
      else if (v > 0) q = rng.poissonSmall(v) + rn * rng.normal();
      else q = rn * rng.normal();
      if (q > fw) q = fw;
      let adu = rowBias + bcol[x] + q * invGain;
      if (adu < 0) adu = 0;
      else if (adu > ceil) adu = ceil;
      out[i] = adu; // Uint16Array truncates: with the +0.5 above, a rounding
    }
  }
}

/** Sets `e` to the dark current × t (data section), 0 elsewhere. */
export function fillDark(det: Detector, e: Float32Array, exptime: number): void {
  const d = det.dark;
  for (let i = 0; i < e.length; i++) e[i] = d[i] * exptime;
}

/**
 * Sets `e` to a uniform illumination `level` (e⁻ per pixel of response 1) × response × (1 + a linear
 * gradient) + dark × t. The gradient is g·(cos θ·(x − xc)/w + sin θ·(y − yc)/h): ±g/2 at the edges.
 */
export function fillIllumination(det: Detector, e: Float32Array, level: number, gradient: number, gradAngle: number, exptime: number): void {
  const { width: W, height: H, dataX0, dataX1 } = det.geo;
  const dw = dataX1 - dataX0;
  const gx = (gradient * Math.cos(gradAngle)) / dw;
  const gy = (gradient * Math.sin(gradAngle)) / H;
  const xc = dataX0 + dw / 2, yc = H / 2;
  const resp = det.response, d = det.dark;
  e.fill(0);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    const base = level * (1 + gy * (y - yc));
    const slope = level * gx;
    for (let x = dataX0; x < dataX1; x++) {
      const i = row + x;
      e[i] = resp[i] * (base + slope * (x - xc)) + d[i] * exptime;
    }
  }
}

// ---------------------------------------------------------------- cosmic rays

export interface CosmicSummary {
  count: number;
  spots: number;
  tracks: number;
  worms: number;
  /** total deposited charge, e⁻ */
  electrons: number;
}

function deposit(e: Float32Array, W: number, x0: number, x1: number, H: number, x: number, y: number, q: number): number {
  // bilinear split of a point deposit over the 4 nearest pixels
  const fx = Math.floor(x), fy = Math.floor(y);
  const ax = x - fx, ay = y - fy;
  let put = 0;
  for (let j = 0; j < 2; j++) {
    const yy = fy + j;
    if (yy < 0 || yy >= H) continue;
    const wy = j ? ay : 1 - ay;
    for (let i = 0; i < 2; i++) {
      const xx = fx + i;
      if (xx < x0 || xx >= x1) continue;
      const v = q * wy * (i ? ax : 1 - ax);
      e[yy * W + xx] += v;
      put += v;
    }
  }
  return put;
}

/**
 * Cosmic rays: `count` events in the data section, not flat-fielded and not blurred by the PSF:
 * 55 % spots (1–3 px, 500–20 000 e⁻), 35 % straight tracks (3–25 px, ~1200 e⁻ per px of path,
 * log-normal), 10 % curly low-energy electron "worms".
 */
export function addCosmics(det: Detector, e: Float32Array, rng: Rng, count: number): CosmicSummary {
  const { width: W, height: H, dataX0: x0, dataX1: x1 } = det.geo;
  const s: CosmicSummary = { count, spots: 0, tracks: 0, worms: 0, electrons: 0 };
  for (let k = 0; k < count; k++) {
    const x = rng.range(x0, x1 - 1);
    const y = rng.range(0, H - 1);
    const kind = rng.uniform();
    if (kind < 0.55) {
      s.spots++;
      const total = Math.exp(Math.log(3000) + 0.8 * rng.normal());
      const q = Math.min(20000, Math.max(500, total));
      const sig = rng.range(0.25, 0.7);
      const n = 12;
      for (let j = 0; j < n; j++) s.electrons += deposit(e, W, x0, x1, H, x + sig * rng.normal(), y + sig * rng.normal(), q / n);
    } else if (kind < 0.9) {
      s.tracks++;
      const len = rng.range(3, 25);
      const th = rng.range(0, Math.PI);
      const dqdx = Math.exp(Math.log(1200) + 0.35 * rng.normal());
      const steps = Math.ceil(len * 4);
      const dx = (Math.cos(th) * len) / steps, dy = (Math.sin(th) * len) / steps;
      for (let j = 0; j < steps; j++) s.electrons += deposit(e, W, x0, x1, H, x + j * dx, y + j * dy, (dqdx * len) / steps);
    } else {
      s.worms++;
      let th = rng.range(0, 2 * Math.PI);
      let px = x, py = y;
      const steps = 8 + rng.int(30);
      const q = Math.exp(Math.log(700) + 0.4 * rng.normal());
      for (let j = 0; j < steps; j++) {
        th += 0.6 * rng.normal();
        px += 0.5 * Math.cos(th);
        py += 0.5 * Math.sin(th);
        s.electrons += deposit(e, W, x0, x1, H, px, py, q / 2);
      }
    }
  }
  return s;
}

/** Number of cosmic-ray events for an exposure: Poisson(rate [1/s/Mpx] × t × data Mpx). */
export function cosmicCount(det: Detector, rng: Rng, rate: number, exptime: number): number {
  const mpx = ((det.geo.dataX1 - det.geo.dataX0) * det.geo.height) / 1e6;
  return rng.poisson(rate * exptime * mpx);
}

// ---------------------------------------------------------------- object frames

export interface PointSource {
  /** 0-based raw pixel position */
  x: number;
  y: number;
  /** total charge collected for a flat response of 1, e⁻ (flux × t) */
  electrons: number;
}

export interface ObjectSpec {
  exptime: number;
  /** sky, e⁻/s per pixel of response 1 */
  skyRate: number;
  skyGradient: number;
  skyGradientAngle: number;
  /** Moffat α (px) and β */
  alpha: number;
  beta: number;
  sources: PointSource[];
  cosmics: number;
  readout: ReadoutSpec;
}

export interface ObjectResult {
  sources: StampResult[];
  cosmics: CosmicSummary;
  /** pixels at full well after bleeding */
  fullWellPixels: number;
}

/** Renders an object frame into `b.out`. */
export function renderObject(det: Detector, rng: Rng, b: FrameBuffers, s: ObjectSpec): ObjectResult {
  const { width: W, height: H, dataX0, dataX1 } = det.geo;
  const e = b.e;
  fillIllumination(det, e, s.skyRate * s.exptime, s.skyGradient, s.skyGradientAngle, s.exptime);
  const target = { e, width: W, height: H, x0: dataX0, x1: dataX1, response: det.response };
  const results: StampResult[] = [];
  const fw = det.opts.fullWell;
  const saturating: StampResult[] = [];
  for (const src of s.sources) {
    const r = addMoffat(target, src.x, src.y, src.electrons, s.alpha, s.beta);
    results.push(r);
    if (r.peak > 0.5 * fw) saturating.push(r);
  }
  let fullWellPixels = 0;
  for (const r of saturating) fullWellPixels += bleedColumns(e, W, H, r.bx0, r.bx1, r.by0, r.by1, fw);
  const cosmics = addCosmics(det, e, rng, s.cosmics);
  digitize(det, rng, b, s.readout);
  return { sources: results, cosmics, fullWellPixels };
}

/** A bias frame (zero exposure). */
export function renderBias(det: Detector, rng: Rng, b: FrameBuffers, readout: ReadoutSpec): void {
  b.e.fill(0);
  digitize(det, rng, b, readout);
}

/** A dark frame: dark current × t plus cosmic rays, shutter closed. */
export function renderDark(det: Detector, rng: Rng, b: FrameBuffers, exptime: number, cosmics: number, readout: ReadoutSpec): CosmicSummary {
  fillDark(det, b.e, exptime);
  const c = addCosmics(det, b.e, rng, cosmics);
  digitize(det, rng, b, readout);
  return c;
}

/**
 * A twilight flat: uniform sky at `levelAdu` ADU above bias for a pixel of response 1 (so the
 * median over the data section ≈ levelAdu), a twilight gradient, dark, cosmic rays.
 */
export function renderFlat(det: Detector, rng: Rng, b: FrameBuffers, levelAdu: number, gradient: number, gradAngle: number, exptime: number, cosmics: number, readout: ReadoutSpec): CosmicSummary {
  fillIllumination(det, b.e, levelAdu * det.opts.gain, gradient, gradAngle, exptime);
  const c = addCosmics(det, b.e, rng, cosmics);
  digitize(det, rng, b, readout);
  return c;
}
