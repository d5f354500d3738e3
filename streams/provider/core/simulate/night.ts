/**
 * The synthetic night as a plan (every frame's metadata, the field, the detector) and an in-memory
 * renderer of any frame of it. No file I/O here: `write.ts` turns a plan into files.
 *
 * Everything is a pure function of the options: the same options and seed give the same plan and
 * the same pixels, whatever the order in which frames are rendered (each frame draws from its own
 * random stream).
 */
import { geometry, makeDetector, type CameraOptions, COATLI_CAMERA, type Detector } from './camera.ts';
import { afterglowMag, afterglowMeanRelFlux, DEFAULT_FIELD, fluxFromMag, frameGeometry, makeField, makeSeeing, seeingAt, type AfterglowModel, type FieldModel, type FieldOptions, type FrameGeometry, type SeeingCurve } from './field.ts';
import { cosmicCount, newBuffers, renderBias, renderDark, renderFlat, renderObject, type FrameBuffers, type PointSource, type ReadoutSpec } from './frames.ts';
import { moffatAlpha } from './psf.ts';
import { Rng } from './rng.ts';
import { airmass, altitudeDeg, gmstDeg, mjd, SPM, sunPosition } from './astro.ts';
import { burstIdFor } from './voevent.ts';
import { skyToPix, wcsCards, type TanWcs } from '../../../../lib/wcs/index.ts';

/** A FITS header card (structurally the `FitsCard` of lib/fits). */
export interface Card {
  key: string;
  value?: string | number | boolean | null;
  comment?: string;
}

export type FrameType = 'bias' | 'dark' | 'flat' | 'object';

export interface NightOptions {
  seed: number;
  /** T0 of the burst, ISO 8601 UTC */
  t0: string;
  /** alert position (the VOEvent's), degrees; rounded to 4 decimals as the VOEvent writes it */
  ra: number;
  dec: number;
  /** VOEvent Error2Radius, degrees */
  errorRadius: number;
  /** Burst_Id; default sbYYMMDD01 from T0 */
  burstId?: string;
  /** MXT quality flag in the IVORN */
  qualityFlag: number;

  camera: CameraOptions;
  /** field parameters (pixelScale, star counts, catalog, pointing, afterglow offset) */
  field: Omit<FieldOptions, 'ra' | 'dec'>;

  filter: string;
  /** magnitude of a source giving 1 e⁻/s (flat response 1, no extinction variation) */
  zeroPoint: number;
  /** sky surface brightness, mag/arcsec² in the filter */
  skyMag: number;
  /** fractional peak-to-peak sky gradient across the data section */
  skyGradient: number;
  /** seeing FWHM range, arcsec */
  seeingMin: number;
  seeingMax: number;
  /**
   * Seeing FWHM (arcsec) of each object frame, in order (the last value for any later frame): replaces
   * the smooth curve between seeingMin and seeingMax. Absent: the curve.
   */
  seeingFrames?: number[];
  moffatBeta: number;
  /** cosmic-ray events per second per megapixel of the data section */
  cosmicRate: number;

  /** object frames: count, cadence (s between starts), exposure (s), first start after T0 (s) */
  frames: number;
  cadence: number;
  exptime: number;
  startDelay: number;
  /**
   * Explicit object-frame starts, seconds after T0, ascending and at least `exptime` apart: replaces
   * frames/cadence/startDelay (e.g. a few frames spread over the hour). Absent: the regular sequence.
   */
  startTimes?: number[];
  /** Write the telescope's WCS into object headers (default true); false = a header without WCS. */
  headerWcs?: boolean;

  afterglowIndex: number;
  /** afterglow magnitude at afterglowTref seconds after T0 */
  afterglowMag: number;
  afterglowTref: number;

  biasCount: number;
  darkCount: number;
  darkExptime: number;
  /** usable flats (levels within 2500..6500 ADU above bias); one saturated and one under-level are added */
  flatCount: number;
  /**
   * Levels (ADU above bias) of the first and last of the `flatCount` flats, spread evenly between
   * (default 6200 → 2800, all inside the COATLI pipeline's 2000–7000 window). A flat outside that
   * window is marked unusable in the manifest and the truth, e.g. [1800, 900]: a night whose flats
   * all fail the level rule.
   */
  flatLevels?: [number, number];
  /** start of the calibration sequence (biases), ISO; default T0 − 7 h 50 min (evening) */
  calibStart?: string;
}

export const DEFAULT_NIGHT: NightOptions = {
  seed: 1,
  t0: '2019-10-16T08:30:00Z',
  ra: 11.8732,
  dec: 33.6021,
  errorRadius: 0.05,
  qualityFlag: 1,
  camera: COATLI_CAMERA,
  field: DEFAULT_FIELD,
  filter: 'r',
  zeroPoint: 22.5,
  skyMag: 20.0,
  skyGradient: 0.02,
  seeingMin: 1.2,
  seeingMax: 2.2,
  moffatBeta: 3,
  cosmicRate: 1.0,
  frames: 60,
  cadence: 60,
  exptime: 60,
  startDelay: 120,
  afterglowIndex: 1.2,
  afterglowMag: 15.2,
  afterglowTref: 300,
  biasCount: 10,
  darkCount: 10,
  darkExptime: 60,
  flatCount: 6,
};

/** Options with nested parts partially given. */
export type NightInput = Partial<Omit<NightOptions, 'camera' | 'field'>> & { camera?: Partial<CameraOptions>; field?: Partial<NightOptions['field']> };

export function resolveOptions(o: NightInput = {}): NightOptions {
  const camera = { ...DEFAULT_NIGHT.camera, ...(o.camera ?? {}) };
  const field = { ...DEFAULT_NIGHT.field, ...(o.field ?? {}) };
  if (o.field?.pixelScale === undefined) field.pixelScale = DEFAULT_FIELD.pixelScale * camera.binning;
  const r: NightOptions = { ...DEFAULT_NIGHT, ...stripUndefined(o), camera, field };
  r.ra = Math.round(r.ra * 1e4) / 1e4;
  r.dec = Math.round(r.dec * 1e4) / 1e4;
  validate(r);
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && k !== 'camera' && k !== 'field') (out as Record<string, unknown>)[k] = v;
  return out;
}

function validate(o: NightOptions): void {
  const bad = (m: string) => {
    throw new RangeError(`simulate: ${m}`);
  };
  if (!Number.isInteger(o.seed) || o.seed < 0) bad(`seed must be a non-negative integer, got ${o.seed}`);
  if (!Number.isFinite(Date.parse(o.t0))) bad(`t0 '${o.t0}' is not an ISO date`);
  if (!(o.dec >= -90 && o.dec <= 90)) bad(`dec ${o.dec} out of range`);
  if (!(o.ra >= 0 && o.ra < 360)) bad(`ra ${o.ra} out of range [0, 360)`);
  if (o.startTimes !== undefined) {
    const st = o.startTimes;
    if (!st.length) bad('startTimes is empty');
    st.forEach((t, i) => {
      if (!(Number.isFinite(t) && t > 0)) bad(`startTimes[${i}] = ${t}: frames must start after T0`);
      if (i > 0 && !(t - st[i - 1] >= o.exptime)) bad(`startTimes[${i}] = ${t}: less than one exposure after the previous start`);
    });
  }
  if (!(o.frames >= 1 && Number.isInteger(o.frames))) bad(`frames must be a positive integer`);
  if (!(o.exptime > 0)) bad('exptime must be > 0');
  if (!(o.cadence >= o.exptime)) bad(`cadence ${o.cadence} s is shorter than the exposure ${o.exptime} s`);
  if (!(o.startDelay > 0)) bad('the first frame must start after T0');
  if (!(o.seeingMin > 0 && o.seeingMax >= o.seeingMin)) bad('seeing range');
  if (o.seeingFrames !== undefined && (!o.seeingFrames.length || !o.seeingFrames.every((v) => Number.isFinite(v) && v > 0))) bad(`seeingFrames must be positive FWHMs in arcsec, got [${o.seeingFrames.join(', ')}]`);
  if (o.flatLevels !== undefined && !(o.flatLevels.length === 2 && o.flatLevels.every((v) => Number.isFinite(v) && v > 0 && v < 60000))) bad(`flatLevels must be two levels in ADU above bias (0..60000), got [${o.flatLevels.join(', ')}]`);
  if (!(o.moffatBeta > 1)) bad('Moffat beta must be > 1');
  if (!(o.camera.gain > 0 && o.camera.readNoise >= 0)) bad('gain/read noise');
  if (!(o.camera.saturate > 0 && o.camera.saturate <= 65535)) bad('saturate must be within 1..65535 (16-bit frames)');
  if (!(o.biasCount >= 0 && o.darkCount >= 0 && o.flatCount >= 0)) bad('calibration counts');
  if (o.calibStart !== undefined && !Number.isFinite(Date.parse(o.calibStart))) bad(`calibStart '${o.calibStart}' is not an ISO date`);
  geometry(o.camera);
}

export interface FramePlan {
  index: number;
  type: FrameType;
  /** COATLI-style name `YYYYMMDDTHHMMSSC0<t>.fits` */
  name: string;
  /** exposure start, ms since epoch */
  start: number;
  exptime: number;
  /** flats: usable for a master (level within the pipeline's window) and why not */
  usable: boolean;
  note?: string;
  /** flats: target level above bias, ADU */
  flatLevel?: number;
  readout: ReadoutSpec;
  /** object frames */
  object?: {
    sequence: number;
    tStart: number; // s after T0
    tMid: number;
    seeing: number; // arcsec FWHM
    geom: FrameGeometry;
    afterglowMagMid: number;
    afterglowMagMean: number;
    /** e⁻ collected from the afterglow (flat response 1) */
    afterglowElectrons: number;
  };
}

export interface NightPlan {
  opts: NightOptions;
  burstId: string;
  t0: number;
  det: Detector;
  field: FieldModel;
  seeing: SeeingCurve;
  afterglow: AfterglowModel;
  /** sky, e⁻/s per pixel of response 1 */
  skyRate: number;
  /** star fluxes, e⁻/s, aligned with field.stars */
  starFlux: Float64Array;
  frames: FramePlan[];
  /** twilight-gradient direction of the flats and sky-gradient direction of the night, radians */
  flatGradAngle: number;
  skyGradAngle: number;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `YYYYMMDDTHHMMSS` of a UTC instant (seconds truncated). */
export function compactUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
}

/** FITS DATE-OBS with milliseconds, no zone (UTC, TIMESYS). */
export function fitsDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '');
}

export function planNight(input: NightInput = {}): NightPlan {
  const o = resolveOptions(input);
  const t0 = Date.parse(o.t0);
  const det = makeDetector(o.camera, o.seed);
  const geo = det.geo;
  const chip = { dataX0: geo.dataX0, dataX1: geo.dataX1, height: geo.height, crpix1: geo.crpix1, crpix2: geo.crpix2 };
  const starts = objectStarts(o);
  const seqHours = o.startTimes ? (starts[starts.length - 1] - starts[0] + o.exptime) / 3600 : ((o.frames - 1) * o.cadence + o.exptime) / 3600;
  const field = makeField({ ...o.field, ra: o.ra, dec: o.dec }, chip, o.seed, seqHours);
  const seeing = makeSeeing(o.seeingMin, o.seeingMax, o.seed);
  const afterglow: AfterglowModel = { m0: o.afterglowMag, tRef: o.afterglowTref, index: o.afterglowIndex };
  const skyRate = fluxFromMag(o.skyMag, o.zeroPoint) * o.field.pixelScale * o.field.pixelScale;
  const starFlux = Float64Array.from(field.stars, (s) => fluxFromMag(s.mag, o.zeroPoint));
  const night = Rng.derive(o.seed, 'night');
  const flatGradAngle = night.range(0, 2 * Math.PI);
  const skyGradAngle = night.range(0, 2 * Math.PI);

  const frames: FramePlan[] = [];
  const calibStart = o.calibStart !== undefined ? Date.parse(o.calibStart) : t0 - (7 * 60 + 50) * 60000;
  // bias drift: 0.3 ADU/hour over the night plus 0.6 ADU rms per readout; the overscan follows it
  const readout = (start: number, idx: number): ReadoutSpec => {
    const r = Rng.derive(o.seed, 'readout', idx);
    return { biasOffset: (0.3 * (start - calibStart)) / 3.6e6 + 0.6 * r.normal(), rowNoise: 0.3 };
  };
  const push = (type: FrameType, start: number, exptime: number, extra: Partial<FramePlan> = {}) => {
    const index = frames.length;
    const letter = type[0];
    frames.push({ index, type, name: `${compactUtc(start)}C0${letter}.fits`, start, exptime, usable: true, readout: readout(start, index), ...extra });
  };
  let t = calibStart;
  for (let i = 0; i < o.biasCount; i++, t += 20000) push('bias', t, 0);
  t += 30000;
  for (let i = 0; i < o.darkCount; i++, t += (o.darkExptime + 15) * 1000) push('dark', t, o.darkExptime);
  // evening twilight flats, 40 min after the calibration start (sun ~3–8° below the horizon by default)
  let tf = Math.max(t + 60000, calibStart + 40 * 60000);
  const flatSeq: Array<{ level: number; usable: boolean; note?: string }> = [{ level: 90000, usable: false, note: 'saturated: twilight sky too bright' }];
  const [flatHi, flatLo] = o.flatLevels ?? [6200, 2800];
  for (let i = 0; i < o.flatCount; i++) {
    const f = o.flatCount > 1 ? i / (o.flatCount - 1) : 0.5;
    const level = flatHi - f * (flatHi - flatLo);
    // the COATLI pipeline's level window (2000..7000 ADU above bias)
    if (level < 2000) flatSeq.push({ level, usable: false, note: 'under-level: below the 2000 ADU floor' });
    else if (level > 7000) flatSeq.push({ level, usable: false, note: 'over-level: above the 7000 ADU ceiling' });
    else flatSeq.push({ level, usable: true });
  }
  flatSeq.push({ level: 1400, usable: false, note: 'under-level: below the 2000 ADU floor' });
  flatSeq.forEach((f, i) => {
    const exptime = Math.round(3 * Math.pow(1.3, i));
    push('flat', tf, exptime, { usable: f.usable, note: f.note, flatLevel: f.level });
    tf += (exptime + 20) * 1000;
  });
  // object frames
  const firstStart = t0 + starts[0] * 1000;
  for (let k = 0; k < starts.length; k++) {
    const start = o.startTimes ? t0 + starts[k] * 1000 : firstStart + k * o.cadence * 1000;
    const tStart = (start - t0) / 1000;
    const tMid = tStart + o.exptime / 2;
    const jr = Rng.derive(o.seed, 'jitter', k);
    const jit = field.effective.pointingJitter;
    const geom = frameGeometry(field, chip, (start - firstStart) / 3.6e6, jit * jr.normal(), jit * jr.normal(), 0.003 * jr.normal());
    const rel = afterglowMeanRelFlux(afterglow, tStart, tStart + o.exptime);
    const f0 = fluxFromMag(afterglow.m0, o.zeroPoint);
    push('object', start, o.exptime, {
      object: {
        sequence: k,
        tStart,
        tMid,
        seeing: o.seeingFrames ? o.seeingFrames[Math.min(k, o.seeingFrames.length - 1)] : seeingAt(seeing, (start - firstStart) / 1000 + o.exptime / 2),
        geom,
        afterglowMagMid: afterglowMag(afterglow, tMid),
        afterglowMagMean: afterglow.m0 - 2.5 * Math.log10(rel),
        afterglowElectrons: f0 * rel * o.exptime,
      },
    });
  }
  // names must be unique (one-second resolution)
  const seen = new Set<string>();
  for (const f of frames) {
    if (seen.has(f.name)) throw new Error(`simulate: two frames named ${f.name}; frames must start at least 1 s apart`);
    seen.add(f.name);
  }
  return { opts: o, burstId: o.burstId ?? burstIdFor(t0), t0, det, field, seeing, afterglow, skyRate, starFlux, frames, flatGradAngle, skyGradAngle };
}

/** Object-frame starts, seconds after T0: `startTimes`, else startDelay + k·cadence for k < frames. */
export function objectStarts(o: Pick<NightOptions, 'frames' | 'cadence' | 'startDelay' | 'startTimes'>): number[] {
  if (o.startTimes !== undefined) return o.startTimes.slice();
  return Array.from({ length: o.frames }, (_, k) => o.startDelay + k * o.cadence);
}

// ---------------------------------------------------------------- rendering

export interface StarOnFrame {
  id: number;
  x: number;
  y: number;
  /** e⁻ rendered into the image (response applied, stamp-truncated), before noise */
  electrons: number;
  /** the brightest pixel reached the ADC ceiling or the full well */
  saturated: boolean;
}

export interface FrameTruth {
  name: string;
  type: FrameType;
  start: string;
  exptime: number;
  usable: boolean;
  note?: string;
  biasOffsetAdu: number;
  cosmicRays: number;
  flatLevelAdu?: number;
  object?: {
    sequence: number;
    tStartSinceT0: number;
    tMidSinceT0: number;
    seeingFwhmArcsec: number;
    seeingFwhmPx: number;
    moffatAlphaPx: number;
    moffatBeta: number;
    skyElectronsPerPixel: number;
    skyAduPerPixel: number;
    airmass: number;
    pointing: { ra: number; dec: number; offsetArcsec: [number, number]; rotationDeg: number };
    trueWcs: TanWcs;
    headerWcs: TanWcs;
    afterglow: { x: number; y: number; magMid: number; magMean: number; electrons: number; renderedElectrons: number; saturated: boolean };
    /** stars whose centre falls on the data section */
    stars: StarOnFrame[];
    fullWellPixels: number;
  };
}

export interface RenderedFrame {
  plan: FramePlan;
  /** raw ADU, row-major, width × height; a view of the reusable buffer: copy it to keep it */
  data: Uint16Array;
  cards: Card[];
  truth: FrameTruth;
}

/** Renders frame `index` of the plan. Pass the same buffers for every frame to avoid reallocation. */
export function renderFrame(plan: NightPlan, index: number, buffers: FrameBuffers = newBuffers(plan.det)): RenderedFrame {
  const f = plan.frames[index];
  const { det, opts: o } = plan;
  const rng = Rng.derive(o.seed, `frame:${f.type}`, index);
  const truth: FrameTruth = { name: f.name, type: f.type, start: new Date(f.start).toISOString(), exptime: f.exptime, usable: f.usable, note: f.note, biasOffsetAdu: f.readout.biasOffset, cosmicRays: 0 };
  if (f.type === 'bias') {
    renderBias(det, rng, buffers, f.readout);
  } else if (f.type === 'dark') {
    truth.cosmicRays = renderDark(det, rng, buffers, f.exptime, cosmicCount(det, rng, o.cosmicRate, f.exptime), f.readout).count;
  } else if (f.type === 'flat') {
    truth.flatLevelAdu = f.flatLevel;
    truth.cosmicRays = renderFlat(det, rng, buffers, f.flatLevel ?? 0, 0.01, plan.flatGradAngle, f.exptime, cosmicCount(det, rng, o.cosmicRate, f.exptime), f.readout).count;
  } else {
    const r = renderObjectFrame(plan, f, rng, buffers);
    truth.object = r.object;
    truth.cosmicRays = r.cosmicRays;
  }
  return { plan: f, data: buffers.out, cards: frameCards(plan, f), truth };
}

function renderObjectFrame(plan: NightPlan, f: FramePlan, rng: Rng, b: FrameBuffers): { object: NonNullable<FrameTruth['object']>; cosmicRays: number } {
  const { det, opts: o, field } = plan;
  const ob = f.object!;
  const geo = det.geo;
  const w = ob.geom.trueWcs;
  const fwhmPx = ob.seeing / o.field.pixelScale;
  const alpha = moffatAlpha(fwhmPx, o.moffatBeta);
  const sources: PointSource[] = [];
  const ids: number[] = [];
  const p = [0, 0];
  // stars near enough to the chip for their wings to matter: 400 px for the brightest, 40 px otherwise
  for (let i = 0; i < field.stars.length; i++) {
    const s = field.stars[i];
    skyToPix(w, s.ra, s.dec, p);
    const margin = s.mag < 13 ? 400 : 40;
    if (!(p[0] > geo.dataX0 - margin && p[0] < geo.dataX1 + margin && p[1] > -margin && p[1] < geo.height + margin)) continue;
    sources.push({ x: p[0], y: p[1], electrons: plan.starFlux[i] * f.exptime });
    ids.push(s.id);
  }
  skyToPix(w, field.afterglow.ra, field.afterglow.dec, p);
  const ag = { x: p[0], y: p[1] };
  sources.push({ x: ag.x, y: ag.y, electrons: ob.afterglowElectrons });
  const res = renderObject(det, rng, b, {
    exptime: f.exptime,
    skyRate: plan.skyRate,
    skyGradient: o.skyGradient,
    skyGradientAngle: plan.skyGradAngle,
    alpha,
    beta: o.moffatBeta,
    sources,
    cosmics: cosmicCount(det, rng, o.cosmicRate, f.exptime),
    readout: f.readout,
  });
  const satE = (o.camera.saturate - o.camera.biasLevel) * o.camera.gain;
  const skyE = plan.skyRate * f.exptime;
  const satLimit = Math.min(satE, o.camera.fullWell) - skyE;
  const stars: StarOnFrame[] = [];
  for (let k = 0; k < ids.length; k++) {
    const s = sources[k];
    if (!(s.x >= geo.dataX0 - 0.5 && s.x < geo.dataX1 - 0.5 && s.y >= -0.5 && s.y < geo.height - 0.5)) continue;
    const r = res.sources[k];
    stars.push({ id: ids[k], x: s.x, y: s.y, electrons: r.rendered, saturated: r.peak >= satLimit });
  }
  const agr = res.sources[res.sources.length - 1];
  const center = ob.geom.trueWcs;
  const alt = altitudeDeg(center.crval1, center.crval2, f.start + (f.exptime * 1000) / 2);
  const object = {
    sequence: ob.sequence,
    tStartSinceT0: ob.tStart,
    tMidSinceT0: ob.tMid,
    seeingFwhmArcsec: ob.seeing,
    seeingFwhmPx: fwhmPx,
    moffatAlphaPx: alpha,
    moffatBeta: o.moffatBeta,
    skyElectronsPerPixel: skyE,
    skyAduPerPixel: skyE / o.camera.gain,
    airmass: airmass(alt),
    pointing: { ra: center.crval1, dec: center.crval2, offsetArcsec: ob.geom.offsetArcsec, rotationDeg: ob.geom.rotationDeg },
    trueWcs: ob.geom.trueWcs,
    headerWcs: ob.geom.headerWcs,
    afterglow: { x: ag.x, y: ag.y, magMid: ob.afterglowMagMid, magMean: ob.afterglowMagMean, electrons: ob.afterglowElectrons, renderedElectrons: agr.rendered, saturated: agr.peak >= satLimit },
    stars,
    fullWellPixels: res.fullWellPixels,
  };
  return { object, cosmicRays: res.cosmics.count };
}

// ---------------------------------------------------------------- headers

const IMAGETYP: Record<FrameType, string> = { bias: 'bias', dark: 'dark', flat: 'flat', object: 'object' };

/** The raw header a COATLI-like camera + TCS would write. WCS: the telescope's belief (nominal). */
export function frameCards(plan: NightPlan, f: FramePlan): Card[] {
  const o = plan.opts;
  const c = o.camera;
  const geo = plan.det.geo;
  const mid = f.start + (f.exptime * 1000) / 2;
  const cards: Card[] = [
    { key: 'DATE-OBS', value: fitsDate(f.start), comment: 'start of exposure (UTC)' },
    { key: 'TIMESYS', value: 'UTC', comment: 'time scale of DATE-OBS' },
    { key: 'MJD-OBS', value: round(mjd(f.start), 8), comment: '[d] MJD at start of exposure' },
    { key: 'EXPTIME', value: f.exptime, comment: '[s] exposure length' },
    { key: 'EXPOSURE', value: f.exptime, comment: '[s] exposure length' },
    { key: 'DATE', value: fitsDate(f.start + (f.exptime + 12) * 1000).slice(0, 19), comment: 'file creation date (UTC)' },
    { key: 'ORIGIN', value: 'OAN San Pedro Martir', comment: 'organisation responsible for data' },
    { key: 'OBSERVAT', value: 'OAN-SPM', comment: 'observatory' },
    { key: 'TELESCOP', value: 'COATLI', comment: 'name of the data acquisition telescope' },
    { key: 'INSTRUME', value: 'COATLI', comment: 'name of the data acquisition instrument' },
    { key: 'DETECTOR', value: 'C0', comment: 'camera' },
    { key: 'LATITUDE', value: SPM.lat, comment: '[deg] observatory latitude' },
    { key: 'LONGITUD', value: SPM.lon, comment: '[deg] observatory longitude (east)' },
    { key: 'ALTITUDE', value: SPM.alt, comment: '[m] observatory altitude' },
    { key: 'IMAGETYP', value: IMAGETYP[f.type], comment: 'image type' },
    { key: 'OBJECT', value: f.type === 'object' ? plan.burstId : f.type, comment: 'target name' },
    { key: 'FILTER', value: o.filter, comment: 'filter in the beam (shutter closed for bias and dark)' },
    { key: 'BINNING', value: `${c.binning}x${c.binning}`, comment: '[pixelX x pixelY] chip binning' },
    { key: 'BINX', value: c.binning, comment: '[pixels] binning along X axis' },
    { key: 'BINY', value: c.binning, comment: '[pixels] binning along Y axis' },
    { key: 'CCDSUM', value: `${c.binning} ${c.binning}`, comment: 'on-chip summation' },
    { key: 'CCD_TEMP', value: -30, comment: '[C] CCD temperature' },
    { key: 'SHUTTER', value: f.type === 'bias' || f.type === 'dark' ? 1 : 0, comment: 'shutter state (0 - opened, 1 - closed)' },
    { key: 'GAIN', value: c.gain, comment: '[e-/ADU] detector gain' },
    { key: 'RDNOISE', value: c.readNoise, comment: '[e-] read noise' },
    { key: 'SATURATE', value: c.saturate, comment: '[ADU] saturation level (ADC ceiling)' },
    { key: 'DATASEC', value: geo.datasec, comment: 'imaging area' },
  ];
  if (geo.biassec) cards.push({ key: 'BIASSEC', value: geo.biassec, comment: 'overscan (bias) strip' });
  if (f.type === 'object' && f.object) {
    const lst = (gmstDeg(mid) + SPM.lon + 360) % 360;
    const ha = (((lst - o.ra) % 360) + 540) % 360 - 180;
    const alt = altitudeDeg(o.ra, o.dec, mid);
    const sun = sunPosition(mid);
    cards.push(
      { key: 'RA', value: o.ra, comment: '[deg] nominal target RA (ICRS)' },
      { key: 'DEC', value: o.dec, comment: '[deg] nominal target Dec (ICRS)' },
      { key: 'EQUINOX', value: 2000, comment: 'equinox of RA, DEC' },
      { key: 'TARRA', value: o.ra, comment: '[deg] target position RA' },
      { key: 'TARDEC', value: o.dec, comment: '[deg] target position Dec' },
      // below the horizon (an alert position or T0 the site could not observe): no airmass to write
      ...(alt > 0 ? [{ key: 'AIRMASS', value: round(airmass(alt), 4), comment: 'airmass at mid-exposure' }] : []),
      // (not ALTITUDE: that is the observatory's, above; a keyword written twice is a fitsverify warning)
      { key: 'OBJCTALT', value: round(alt, 3), comment: '[deg] target altitude at mid-exposure' },
      { key: 'LST', value: round(lst, 4), comment: '[deg] local sidereal time at mid-exposure' },
      { key: 'HA', value: round(ha, 4), comment: '[deg] hour angle at mid-exposure' },
      { key: 'SUN_ALT', value: round(altitudeDeg(sun.ra, sun.dec, mid), 2), comment: '[deg] solar altitude' },
    );
    if (o.headerWcs !== false) for (const [k, v, cm] of wcsCards(f.object.geom.headerWcs)) cards.push({ key: k, value: v, comment: cm || undefined });
  }
  cards.push(
    { key: 'SIMULATE', value: true, comment: 'synthetic frame (gft simulate night)' },
    { key: 'SIMSEED', value: o.seed, comment: 'seed of the synthetic night' },
  );
  return cards;
}

function round(v: number, d: number): number {
  const m = Math.pow(10, d);
  return Math.round(v * m) / m;
}
