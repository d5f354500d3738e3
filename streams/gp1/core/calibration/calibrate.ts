/**
 * Per-frame calibration (GP1's image-by-image version of the COATLI batch step), pure: no I/O.
 *
 * For each pixel of DATASEC (raw in ADU, t = EXPTIME in s, masters cropped to DATASEC):
 *
 *   out = (raw − overscan − bias − darkRate·t) / (t · flat)                      [counts/s = ADU/s]
 *
 * in float32 arithmetic, operation by operation in that order (as numpy computes it on float32
 * arrays, and as the float32 product stores it): ((raw − ov) − bias) − dark·t, divided by t·flat.
 * The WebAssembly kernels (simd.ts) and the JavaScript below (Math.fround after each operation, which
 * is exactly float32 arithmetic for + − × ÷) give the same bits. Rounding is 2⁻²⁴ relative per
 * operation: 10⁻⁴ ADU at 1000 ADU, far below any read noise.
 *
 * Inverse-variance weight, background only (what SExtractor-like detection expects; the sources' own
 * Poisson noise is added by photometry from GAIN and EXPTIME). In ADU before flat-fielding, with g in
 * e-/ADU and RN in e-:
 *
 *   var(raw) = RN²/g² + (sky_ADU + dark_ADU)/g = (RN²/g + sky_ADU + dark_ADU) / g            [ADU²]
 *   sky_ADU  = |sky| · t · flat    (the sky counts the pixel collected; sky = the frame's median, counts/s)
 *   dark_ADU = max(darkRate, 0) · t
 *   var(masters) = σ_bias² + (t·σ_dark)²      (the masters' own random noise, stats.randomNoise; 0 if unknown)
 *   var(out) = (var(raw) + var(masters)) / (t·flat)²,   weight = 1/var(out)
 *
 * With flat = 1, no dark and noiseless masters this is domain.md's variance = (RN²/g + |sky|)/(g t²),
 * |sky| in ADU. The masters' term matters with few calibration frames (3 RATIR biases: +40% variance).
 *
 * Mask bits (maskBits.ts): HOT (master dark rate above its hot threshold), LOW_FLAT (flat < lowFlat:
 * value 0, weight 0), SATURATED (raw ≥ saturation), COSMIC (cosmic.ts). Weight is 0 for the bits in
 * `zeroWeightBits` (default LOW_FLAT, as the COATLI pipeline; the detection stage reads the mask).
 *
 * Statistics: sky = median of the unmasked calibrated pixels, noise = 1.4826 × MAD (both on ≤ 2^18
 * pixels on a regular stride, counts/s); FWHM from bright isolated stars (fwhm.ts).
 */
import { bounds, formatSection, frameGeometry, frameInfo, type CameraConfig, type Section } from '../camera.ts';
import { detectCosmicRays, type CosmicOptions } from './cosmic.ts';
import { overscanLevel, SKY_SAMPLES, type MasterImage, type RawFrame } from './frame.ts';
import { estimateFwhm, type FwhmOptions } from './fwhm.ts';
import { MASK } from './maskBits.ts';
import { scratchBuffer, statsOfBuffer } from '../../../../lib/stats/robust.ts';
import { calibrationKernel, type PassInputs } from './simd.ts';

export { MASK } from './maskBits.ts';

/** A frame that cannot be calibrated; `code` is stable (for the stage's DLQ reason). */
export class CalibrationError extends Error {
  constructor(
    readonly code: 'bad-exptime' | 'bad-keyword' | 'bad-geometry' | 'master-shape' | 'wrong-type',
    message: string,
  ) {
    super(message);
    this.name = 'CalibrationError';
  }
}

export interface CalibrationMasters {
  bias?: MasterImage | null;
  /** Dark rate, ADU/s. */
  dark?: MasterImage | null;
  /** Normalised flat. */
  flat?: MasterImage | null;
}

export interface CalibrateOptions {
  camera: CameraConfig;
  /** Default: camera.lowFlat. */
  lowFlat?: number;
  /** Mask bits whose pixels get weight 0. Default MASK.LOW_FLAT. */
  zeroWeightBits?: number;
  /** Dark rate above which a pixel is HOT, ADU/s. Default: the master dark's stats.hotThreshold. */
  hotThreshold?: number;
  /** Cosmic-ray detection options, or false to skip it. */
  cosmic?: CosmicOptions | false;
  /** FWHM options, or false to skip it. */
  fwhm?: FwhmOptions | false;
  /** Output buffers to fill (e.g. shared memory); allocated when absent. */
  out?: { image?: Float32Array; weight?: Float32Array; mask?: Uint8Array };
}

export interface CalibrationStats {
  /** Median sky, counts/s. */
  sky: number;
  /** Robust σ of the sky, counts/s. */
  noise: number;
  /** FWHM, px (NaN when no star qualified). */
  fwhm: number;
  fwhmStars: number;
  /** Overscan median, ADU. */
  overscan: number;
  exptime: number;
  gain: number;
  /** e-. */
  readNoise: number;
  /** Saturation in calibrated units (counts/s at flat 1). */
  saturation: number;
  nHot: number;
  nLowFlat: number;
  nSaturated: number;
  nCosmic: number;
}

export interface CalibratedFrame {
  name: string;
  width: number;
  height: number;
  /** counts/s, float32. */
  image: Float32Array;
  /** 1/variance, (counts/s)⁻². */
  weight: Float32Array;
  mask: Uint8Array;
  stats: CalibrationStats;
  /** DATASEC of the raw frame that was kept. */
  dataSection: Section;
  /** HISTORY lines: what was applied, with the masters' names and checksums. */
  history: string[];
  /** Header cards to set on the calibrated image (values in calibrated units). */
  cards: { key: string; value: string | number | boolean; comment?: string }[];
  /** Raw-header keywords that no longer apply and must not be copied. */
  dropKeys: string[];
}

function checkShape(m: MasterImage | null | undefined, w: number, h: number, what: string, frame: string): void {
  if (m && (m.width !== w || m.height !== h)) {
    throw new CalibrationError('master-shape', `${frame}: master ${what} ${m.name} is ${m.width}x${m.height}, the data section is ${w}x${h}`);
  }
}

export function calibrateFrame(raw: RawFrame, masters: CalibrationMasters, opts: CalibrateOptions): CalibratedFrame {
  const cam = opts.camera;
  const info = frameInfo(raw.header, raw.name);
  if (info.problems.length) throw new CalibrationError('bad-keyword', `${raw.name}: ${info.problems.join('; ')}`);
  const t = info.exptime;
  if (!(t !== null && t > 0)) throw new CalibrationError('bad-exptime', `${raw.name}: EXPTIME ${t ?? '(missing)'}; counts/s need a positive exposure`);
  let geo;
  try {
    geo = frameGeometry(cam, raw.header, raw.width, raw.height);
  } catch (e) {
    throw new CalibrationError('bad-geometry', `${raw.name}: ${(e as Error).message}`);
  }
  const b = bounds(geo.data);
  const W = b.x1 - b.x0;
  const H = b.y1 - b.y0;
  const bias = masters.bias ?? null;
  const dark = masters.dark ?? null;
  const flat = masters.flat ?? null;
  checkShape(bias, W, H, 'bias', raw.name);
  checkShape(dark, W, H, 'dark', raw.name);
  checkShape(flat, W, H, 'flat', raw.name);

  const N = W * H;
  // every element is written below: uninitialised memory, which the allocator recycles from earlier
  // frames without faulting in fresh zeroed pages (a quarter of the pass's time on a fresh frame)
  const image = opts.out?.image ?? uninitFloat32(N);
  const weight = opts.out?.weight ?? uninitFloat32(N);
  const mask = opts.out?.mask ?? new Uint8Array(Buffer.allocUnsafeSlow(N).buffer, 0, N);
  if (image.length !== N || weight.length !== N || mask.length !== N) throw new CalibrationError('master-shape', `${raw.name}: output buffers do not match ${W}x${H}`);

  const ov = overscanLevel(raw, geo.overscan);
  const sat = geo.saturation;
  const lowFlat = opts.lowFlat ?? cam.lowFlat;
  const hotThr = opts.hotThreshold ?? dark?.stats?.hotThreshold ?? Infinity;
  const invT = 1 / t;
  const k: Kernel = {
    src: raw.data,
    rawWidth: raw.width,
    x0: b.x0,
    y0: b.y0,
    W,
    H,
    ov,
    t,
    sat,
    hotThr,
    lowFlat,
    bd: bias?.data ?? null,
    dd: dark?.data ?? null,
    fd: flat?.data ?? null,
  };

  // sky and noise first, from calibrated values of a regular sample of unmasked pixels (≤ 2^18), so
  // that image, mask and weight are then written in one pass over the frame: by the WebAssembly
  // kernel (simd.ts) when available, by the JavaScript below otherwise — the same bits
  const wasm = calibrationKernel();
  const onWasm = wasm?.load(k, [bias?.sha256 ?? null, dark?.sha256 ?? null, flat?.sha256 ?? null]) ?? false;
  const { median: sky, sigma: noise } = sampledSky(k, SKY_SAMPLES);

  const g = geo.gain;
  const zeroBits = opts.zeroWeightBits ?? MASK.LOW_FLAT;
  const rnB = bias?.stats?.randomNoise;
  const rnD = dark?.stats?.randomNoise;
  // the masters' variance, in units of g·ADU² so it adds to RN²/g
  const mVarG = g * ((Number.isFinite(rnB) ? rnB! ** 2 : 0) + (Number.isFinite(rnD) ? (t * rnD!) ** 2 : 0));
  // the pass also lists the pixels the cosmic-ray and FWHM searches would stop at (significant
  // above the sky), so neither has to scan the frame again
  const crSigma = opts.cosmic === false ? Infinity : (opts.cosmic?.sigma ?? 5);
  const peakSigma = opts.fwhm === false ? Infinity : PEAK_SIGMA;
  const sel: Selection = { sky, k2: crSigma * crSigma, lowPeak: sky + peakSigma * noise, cand: new Int32Array(0), n: 0 };
  // the weight's constants, rounded to float32 like every operand of the float32 arithmetic
  const f32 = Math.fround;
  const terms: WeightTerms = { gt2: f32(g * t * t), base: f32((geo.readNoise * geo.readNoise) / g + mVarG), absSkyT: f32(Math.abs(sky) * t), halfT: f32(0.5 * t), zeroBits };
  const done = onWasm ? wasm!.pass(k, { ...terms, sky, k2: sel.k2, lowPeak: sel.lowPeak }, image, weight, mask) : null;
  const counts = done ? done.counts : fusedPass(k, terms, image, weight, mask, sel);
  const nHot = counts[0];
  const nSat = counts[1];
  const nLow = counts[2];
  const fd = k.fd;
  const candidates = done ? done.candidates : sel.cand.subarray(0, sel.n);

  const crInput = { image, width: W, height: H, weight, mask, sky, gainTime: g * t, flat: fd ?? null, candidates };
  let nCosmic = 0;
  if (opts.cosmic !== false) nCosmic = detectCosmicRays(crInput, opts.cosmic ?? {});

  const satRate = (sat - ov - (bias?.stats?.level ?? 0)) * invT;
  let fwhm = NaN;
  let fwhmStars = 0;
  let psfFwhm = NaN;
  const measureFwhm = (): void => {
    const r = estimateFwhm({ image, width: W, height: H, mask, sky, noise, candidates }, { maxPeak: 0.8 * satRate, ...(opts.fwhm ?? {}) });
    fwhm = r.fwhm;
    fwhmStars = r.stars.length;
  };
  if (opts.fwhm !== false) measureFwhm();
  // An undersampled PSF: the sharpness test flagged the stars' peaks (no FWHM, or one below 2 px from
  // the stars it left). The flags are cleared and the PSF measured on the peaks as they are: when the
  // faint stars the test left alone (peaks 5–20σ, `sharpEvidence`) show a sharp PSF, or the peaks have
  // a tight stellar locus (≥ 6 and half of them within ±10 %: stars share one width, cosmic-ray spots
  // scatter), the cosmic rays are searched again with the star-hypothesis test for the locus' FWHM
  // (cosmic.ts) when it is below 2 px. Otherwise (3–4″ seeing on a sparse field: broad stars too faint
  // or too few for the FWHM, 5–10 sharp cosmic-ray spots with widths 1.1–3.4 px) the flags are put
  // back. Frames with FWHM ≥ 2 px never come here: their masks are unchanged.
  if (opts.cosmic !== false && opts.fwhm !== false && !(fwhm >= UNDERSAMPLED_FWHM) && nCosmic > 0) {
    const fin = { image, width: W, height: H, mask, sky, noise, candidates };
    const evidence = sharpEvidence(fin, 0.8 * satRate, opts.fwhm);
    const saved = mask.slice();
    for (let i = 0; i < N; i++) mask[i] &= ~MASK.COSMIC;
    const widths = estimateFwhm(fin, { maxPeak: 0.8 * satRate, maxStars: 60, ...(opts.fwhm ?? {}) }).stars.map((x) => x.fwhm);
    const tight = locus(widths, 0.1);
    if (evidence || (tight.count >= 6 && tight.count >= 0.5 * widths.length)) {
      psfFwhm = locus(widths, 0.15).median;
      nCosmic = detectCosmicRays(crInput, psfFwhm < UNDERSAMPLED_FWHM ? { ...(opts.cosmic ?? {}), psfFwhm } : (opts.cosmic ?? {}));
      measureFwhm();
    } else mask.set(saved);
  }
  if (nCosmic && zeroBits & MASK.COSMIC) for (let i = 0; i < N; i++) if (mask[i] & MASK.COSMIC) weight[i] = 0;

  const stats: CalibrationStats = { sky, noise, fwhm, fwhmStars, overscan: ov, exptime: t, gain: g, readNoise: geo.readNoise, saturation: satRate, nHot, nLowFlat: nLow, nSaturated: nSat, nCosmic };

  const sha = (m: MasterImage) => m.sha256;
  const history = [
    `GP1 calibration, camera ${cam.name}`,
    ...geo.sources,
    geo.overscan ? `overscan ${formatSection(geo.overscan)} median ${ov.toFixed(2)} ADU subtracted` : 'no overscan',
    `cropped to DATASEC ${formatSection(geo.data)}`,
    // name and checksum on separate lines: each fits one 72-character HISTORY card
    ...(bias ? [`bias ${bias.name}`, `sha256 ${sha(bias)}`] : ['no bias subtracted']),
    ...(dark ? [`dark rate x ${t} s ${dark.name}`, `sha256 ${sha(dark)}`] : ['no dark subtracted']),
    ...(flat ? [`flat ${flat.name}`, `sha256 ${sha(flat)}`] : ['no flat-field applied']),
    `divided by EXPTIME ${t} s: counts/s`,
    `weight = g t^2 f^2/(RN^2/g + g var(masters) + |sky| t f + dark t)`,
    'float32 arithmetic',
    `gain ${g} e-/ADU, read noise ${geo.readNoise} e-`,
    `mask: 1 hot, 2 low flat (<${lowFlat}), 4 saturated (raw >= ${sat}), 8 cosmic`,
  ];
  const cards: CalibratedFrame['cards'] = [
    { key: 'BUNIT', value: 'counts/s', comment: 'ADU per second' },
    { key: 'GAIN', value: g, comment: 'e-/ADU' },
    { key: 'RDNOISE', value: geo.readNoise, comment: 'read noise, e-' },
    { key: 'SATURATE', value: round(satRate), comment: 'saturation, counts/s (flat 1)' },
    { key: 'SKYLEVEL', value: round(sky), comment: 'median sky, counts/s' },
    { key: 'SKYNOISE', value: round(noise), comment: 'robust sky sigma, counts/s' },
    { key: 'FWHM', value: Number.isFinite(fwhm) ? round(fwhm) : -1, comment: `FWHM, px, from ${fwhmStars} stars (-1: none)` },
    { key: 'NCOSMIC', value: nCosmic, comment: 'pixels flagged as cosmic rays' },
    { key: 'OVSCNLVL', value: round(ov), comment: 'overscan median subtracted, ADU' },
    { key: 'GP1CAL', value: true, comment: 'calibrated by GP1' },
  ];
  if (bias) cards.push({ key: 'GP1BIAS', value: bias.name }, { key: 'GP1BSHA', value: bias.sha256 });
  if (dark) cards.push({ key: 'GP1DARK', value: dark.name }, { key: 'GP1DSHA', value: dark.sha256 });
  if (flat) cards.push({ key: 'GP1FLAT', value: flat.name }, { key: 'GP1FSHA', value: flat.sha256 });
  // provenance: how far each master is from the frame (beyond ±12 h another night's: the bank's
  // stand-in when the night's own could not be made, issue 20)
  for (const [m, key, what] of [[bias, 'GP1BAGE', 'bias'], [dark, 'GP1DAGE', 'dark'], [flat, 'GP1FAGE', 'flat']] as const) {
    const t = m?.dateObs ? Date.parse(m.dateObs) : NaN, t0 = info.dateObs ? Date.parse(info.dateObs) : NaN;
    if (!Number.isFinite(t) || !Number.isFinite(t0)) continue;
    const h = Math.round((t - t0) / 3600e3);
    cards.push({ key, value: h, comment: `h from the frame to the master ${what}${Math.abs(h) > 12 ? ' (another night)' : ''}` });
  }
  // the crop moves the pixel origin: shift a header WCS reference pixel
  for (const [k, d] of [['CRPIX1', b.x0], ['CRPIX2', b.y0]] as const) {
    const v = raw.header.get(k);
    if (d && typeof v === 'number') cards.push({ key: k, value: v - d, comment: 'shifted by the DATASEC crop' });
  }
  return { name: raw.name, width: W, height: H, image, weight, mask, stats, dataSection: geo.data, history, cards, dropKeys: ['BIASSEC', 'DATASEC', 'TRIMSEC', 'BZERO', 'BSCALE', 'BLANK', 'BUNIT'] };
}

/** Inputs of the per-pixel kernels (kept together so the kernels stay small, monomorphic functions); the
 *  WebAssembly pass takes the same (simd.ts). */
type Kernel = PassInputs;

/**
 * Median and robust σ of the calibrated values of pixels i = 0, s, 2s, … (s = ⌊N/max⌋) of the data
 * section that would carry no SATURATED/LOW_FLAT/HOT bit. Same pixels and values as sampling the
 * finished image, without a pass over it.
 */
function sampledSky(k: Kernel, max: number): { median: number; sigma: number } {
  const { src, rawWidth, x0, y0, W, H, sat, hotThr, lowFlat, bd, dd, fd } = k;
  const N = W * H;
  const step = max < N ? Math.max(1, Math.floor(N / max)) : 1;
  const buf = scratchBuffer(Math.ceil(N / step));
  const f32 = Math.fround;
  const ov = f32(k.ov);
  const t = f32(k.t);
  let n = 0;
  // position (x, y) of pixel i carried along the stride instead of divided out
  const dx = step % W;
  const dy = Math.floor(step / W);
  let x = 0;
  let row = y0 * rawWidth + x0;
  for (let i = 0; i < N; i += step) {
    const r = src[row + x];
    x += dx;
    row += dy * rawWidth;
    if (x >= W) {
      x -= W;
      row += rawWidth;
    }
    if (r >= sat) continue;
    const d = dd ? dd[i] : 0;
    if (d > hotThr) continue;
    const f = fd ? fd[i] : 1;
    if (!(f >= lowFlat)) continue;
    const v = f32(f32(f32(f32(r - ov) - (bd ? bd[i] : 0)) - f32(d * t)) / f32(t * f));
    if (v === v) buf[n++] = v;
  }
  return statsOfBuffer(buf, n);
}

/** Below this FWHM (px) the cosmic-ray sharpness test cuts stars (cosmic.ts): see calibrateFrame. */
export const UNDERSAMPLED_FWHM = 2;

/**
 * Whether the unflagged stars with peaks above 5σ (at most 60, isolated) show a PSF sharper than
 * UNDERSAMPLED_FWHM: at least 3 of them, their locus below it. Measured: 8–9 such stars at 1.5–1.8 px
 * on the frames of a night at FWHM 1.1–1.2 px (0.68″/px); 0–1, at 8–10 px, on a sparse night in 3–4″
 * seeing at 0.34″/px, whose first search found no star for the FWHM.
 */
function sharpEvidence(inp: Parameters<typeof estimateFwhm>[0], maxPeak: number, o: CalibrateOptions['fwhm']): boolean {
  const r = estimateFwhm(inp, { maxPeak, maxStars: 60, ...(o || {}), minSnr: 5 });
  return r.stars.length >= 3 && locus(r.stars.map((x) => x.fwhm), 0.15).median < UNDERSAMPLED_FWHM;
}

/** The densest ±tol cluster of the values (stars share one width; cosmic-ray spots scatter): its size and median (NaN when fewer than 3 values). */
function locus(values: number[], tol: number): { median: number; count: number } {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length < 3) return { median: NaN, count: 0 };
  let best = 0, bl = 0, bh = 0;
  for (let i = 0, lo = 0, hi = 0; i < v.length; i++) {
    while (v[lo] < v[i] / (1 + tol)) lo++;
    while (hi + 1 < v.length && v[hi + 1] <= v[i] * (1 + tol)) hi++;
    if (hi - lo + 1 >= best) {
      best = hi - lo + 1;
      bl = lo;
      bh = hi;
    }
  }
  const s = v.slice(bl, bh + 1);
  return { median: s.length % 2 ? s[(s.length - 1) >> 1] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]), count: s.length };
}

/** Candidate pixels for the cosmic-ray and FWHM searches, collected by fusedPass. */
interface Selection {
  sky: number;
  /** Cosmic-ray pre-test: (v − sky)²·weight > k2. */
  k2: number;
  /** Peak pre-test: v > lowPeak. */
  lowPeak: number;
  /** Pixel indices (ascending), grown as needed; the first `n` are valid. */
  cand: Int32Array;
  n: number;
}

/** Peaks above this many σ are listed for the FWHM search (fwhm.ts looks at local maxima above 5σ). */
const PEAK_SIGMA = 5;

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(Math.max(1024, a.length * 2));
  b.set(a);
  return b;
}

interface WeightTerms {
  /** g·t², float32. */
  gt2: number;
  /** RN²/g + g·var(masters), float32. */
  base: number;
  /** |sky|·t, float32. */
  absSkyT: number;
  /** t/2, float32. */
  halfT: number;
  zeroBits: number;
}

/**
 * One pass over the data section, in float32 arithmetic (each operation rounded, in this order):
 * image = (((raw − ov) − bias) − dark·t) / (t·flat), the static mask bits and
 * weight = ((g t²·f)·f) / ((base + |sky|t·f) + (dark + |dark|)·t/2) (0 where the mask has a zeroBits
 * bit or raw is NaN). Returns [nHot, nSaturated, nLowFlat]. Missing masters count as bias 0, dark 0,
 * flat 1 (the same numbers). The reference the WebAssembly kernel (simd.ts) reproduces bit for bit,
 * and the path taken without it.
 */
function fusedPass(k: Kernel, wt: WeightTerms, image: Float32Array, weight: Float32Array, mask: Uint8Array, sel: Selection): [number, number, number] {
  const { src, rawWidth, x0, y0, W, H, sat, hotThr, lowFlat, bd, dd, fd } = k;
  const { gt2, base, absSkyT, halfT, zeroBits } = wt;
  const { sky, k2, lowPeak } = sel;
  const f32 = Math.fround;
  const ov = f32(k.ov);
  const t = f32(k.t);
  let cand = sel.cand;
  let nc = 0;
  let nHot = 0;
  let nSat = 0;
  let nLow = 0;
  for (let y = 0; y < H; y++) {
    const rrow = (y0 + y) * rawWidth + x0;
    const o = y * W;
    for (let x = 0; x < W; x++) {
      const i = o + x;
      const r = src[rrow + x];
      const d = dd ? dd[i] : 0;
      const f = fd ? fd[i] : 1;
      let m = 0;
      if (d > hotThr) {
        m |= MASK.HOT;
        nHot++;
      }
      if (r >= sat) {
        m |= MASK.SATURATED;
        nSat++;
      }
      let v = 0;
      if (f >= lowFlat) v = f32(f32(f32(f32(r - ov) - (bd ? bd[i] : 0)) - f32(d * t)) / f32(t * f));
      else {
        m |= MASK.LOW_FLAT;
        nLow++;
      }
      image[i] = v;
      mask[i] = m;
      // a NaN pixel (BLANK in the raw file) gets no weight
      const w = m & zeroBits || !(r === r) ? 0 : f32(f32(f32(gt2 * f) * f) / f32(f32(base + f32(absSkyT * f)) + f32(f32(d + Math.abs(d)) * halfT)));
      weight[i] = w;
      // rare conditions first: on sky pixels the branch is predictable (e > 0 is a coin flip)
      const e = v - sky;
      if ((e * e * w > k2 || v > lowPeak) && e > 0) {
        if (nc === cand.length) cand = grow(cand);
        cand[nc++] = i;
      }
    }
  }
  sel.cand = cand;
  sel.n = nc;
  return [nHot, nSat, nLow];
}

function uninitFloat32(n: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}

function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
}
