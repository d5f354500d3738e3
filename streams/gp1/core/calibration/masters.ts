/**
 * Master bias, dark rate and flat, after the COATLI batch pipeline (domain.md):
 *
 * - bias: per frame subtract the overscan median, crop to DATASEC; combine. Units ADU.
 * - dark: rate = (frame − overscan − bias) / EXPTIME per frame; combine. Units ADU/s.
 * - flat (one filter): keep frames with min < median(data) − median(overscan) < max (default
 *   2000–7000 ADU); subtract overscan, bias and dark rate × EXPTIME; divide each by its median;
 *   combine; the master is renormalised to median 1. Without an overscan (RATIR) the level is taken
 *   above the master bias level, which then holds the whole pedestal.
 *
 * Combine = median, or sigma-clipped mean (camera `combine`). Frames are rejected one by one with an
 * explicit reason (wrong type/filter/binning/shape, bad exposure, saturated, level out of range);
 * the master itself carries issues (too few frames, no or rejected bias/dark). A master with issues
 * is still built when at least one frame survives, so its statistics can be reported, but it is
 * `accepted: false`.
 *
 * Memory: frames are consumed one at a time from an (async) iterable and only their cropped,
 * processed copy is kept (N × DATASEC float32), so a caller that reads files lazily holds one raw
 * frame at a time. `alloc` lets the worker pool place the stack in shared memory.
 */
import { formatSection, frameGeometry, frameInfo, type CameraConfig } from '../camera.ts';
import { combineStack, type CombineCounts, type CombineMethod, type CombineOptions } from './combine.ts';
import { cropSubtract, frameChecksum, FRAME_SAMPLES, overscanLevel, sha256Pixels, type MasterImage, type RawFrame } from './frame.ts';
import { robustStats, scratchBuffer, statsOfBuffer } from '../../../../lib/stats/robust.ts';
import type { MasterComparison } from './compare.ts';

export type MasterKind = 'bias' | 'dark' | 'flat';

export type FrameRejectReason =
  | 'wrong-type'
  | 'wrong-filter'
  | 'wrong-binning'
  | 'wrong-shape'
  | 'bad-exptime'
  | 'bad-keyword'
  | 'bad-geometry'
  | 'saturated'
  | 'level-out-of-range'
  | 'unreadable';

export interface FrameRejection {
  name: string;
  reason: FrameRejectReason;
  detail: string;
}

export type MasterIssueReason =
  | 'no-frames'
  | 'too-few-frames'
  | 'no-bias'
  | 'bias-rejected'
  | 'dark-rejected'
  | 'shape-change'
  | 'level-change'
  | 'noise-change'
  | 'structure-change'
  | 'hot-pixel-change';

export interface MasterIssue {
  reason: MasterIssueReason;
  detail: string;
}

export interface MasterStats {
  /** Median of the master (ADU, ADU/s, or 1 for flats). */
  level: number;
  /** Robust σ (1.4826 MAD) of the master's pixels, same units. */
  noise: number;
  /** Bias/dark: pixels above `hotThreshold`. Flat: pixels below the camera's lowFlat. */
  hotPixels: number;
  /** Bias/dark: level + hotSigma × noise. Flat: lowFlat. */
  hotThreshold: number;
  nFrames: number;
  /** Values rejected by the sigma-clipped mean (0 for the median). */
  clipped: number;
  /**
   * Random (non-repeating) noise per pixel expected in the master: the median over consecutive input
   * pairs of robust σ(frame_k − frame_k−1)/√2, × √(π/2)/√N for the median (× 1/√N for the mean).
   * Unlike `noise` it excludes fixed structure; compare.ts scales the structure test with it. NaN with one frame.
   */
  randomNoise: number;
  min: number;
  max: number;
}

/** One input frame of a master, for provenance. */
export interface FrameRecord {
  name: string;
  sha256: string;
  dateObs: string | null;
  exptime: number | null;
  /** Overscan median, ADU (0 without overscan). */
  overscan: number;
  /** Median of DATASEC above the overscan (flats: above the bias level when there is no overscan), ADU. */
  level: number;
}

export interface MasterProvenance {
  inputs: FrameRecord[];
  bias?: { name: string; sha256: string };
  dark?: { name: string; sha256: string };
  combine: { method: CombineMethod; clipSigma?: number };
  overscan: string | null;
  dataSection: string;
  minFrames: number;
}

export interface Master extends MasterImage {
  kind: MasterKind;
  camera: string;
  binning: string;
  /** Flats only. */
  filter: string | null;
  /** Median DATE-OBS of the inputs, ISO UTC. */
  dateObs: string;
  stats: MasterStats;
  provenance: MasterProvenance;
}

export interface MasterResult {
  kind: MasterKind;
  filter: string | null;
  /** Null when no frame survived (or a prerequisite is missing). */
  master: Master | null;
  /** True when the master exists and has no issue. */
  accepted: boolean;
  rejections: FrameRejection[];
  issues: MasterIssue[];
  notes: string[];
  /** Set by validateMaster when a previous master was compared. */
  comparison?: MasterComparison;
  /**
   * Set by buildNightMasters when this master could not be made (or was rejected) and the bank's
   * newest accepted master of the same kind, camera, binning and filter stands in for it.
   */
  fromBank?: BankSubstitute;
}

/** A bank master used in place of a night's master that could not be made. */
export interface BankSubstitute {
  name: string;
  sha256: string;
  dateObs: string;
  /** Where the bank keeps it (a file for the CLI). */
  path?: string;
  /** Hours from the substitute's date to the night's newest calibration frame of that kind (≥ 0). */
  hoursBefore: number;
}

export type FrameSource = Iterable<RawFrame> | AsyncIterable<RawFrame>;

export type Combiner = (stack: Float32Array[], out: Float32Array, opts: CombineOptions) => CombineCounts | Promise<CombineCounts>;

export interface MasterOptions {
  camera: CameraConfig;
  /** Fewest frames (default: the camera's minFrames for the kind). */
  minFrames?: number;
  /** Default: the camera's. */
  combine?: CombineMethod;
  clipSigma?: number;
  /** Frames with another binning are rejected (default: the camera's; frames without binning keywords pass). */
  binning?: string;
  /** Flats: the filter of the master (default: the first flat's). */
  filter?: string;
  /** Dark and flat: the master bias (a MasterResult that is not accepted adds a `bias-rejected` issue). */
  bias?: Master | MasterResult | null;
  /** Flat: the master dark rate (optional; without it the dark current is not subtracted). */
  dark?: Master | MasterResult | null;
  /** Allocator of the stack buffers (the worker pool passes shared memory). */
  alloc?: (n: number) => Float32Array;
  /** Combine implementation (the worker pool's); default combineStack on this thread. */
  combiner?: Combiner;
}

function unwrap(x: Master | MasterResult | null | undefined): { master: Master | null; accepted: boolean } {
  if (!x) return { master: null, accepted: false };
  if ('master' in x && 'accepted' in x && 'rejections' in x) return { master: x.master, accepted: x.accepted };
  return { master: x as Master, accepted: true };
}

export function buildMasterBias(frames: FrameSource, opts: MasterOptions): Promise<MasterResult> {
  return buildMaster('bias', frames, opts);
}

export function buildMasterDark(frames: FrameSource, opts: MasterOptions): Promise<MasterResult> {
  return buildMaster('dark', frames, opts);
}

export function buildMasterFlat(frames: FrameSource, opts: MasterOptions): Promise<MasterResult> {
  return buildMaster('flat', frames, opts);
}

/** Master name: `master-<kind>[-<filter>]-<camera>-<binning>-<YYYYMMDDTHHMMSS>`. */
export function masterName(kind: MasterKind, camera: string, binning: string, filter: string | null, dateObs: string): string {
  const stamp = dateObs.replace(/[-:]/g, '').replace(/\.\d+/, '').replace(/Z$/, '');
  const f = filter ? `-${filter.replace(/[^A-Za-z0-9_.+]/g, '_')}` : '';
  return `master-${kind}${f}-${camera}-${binning}-${stamp}`;
}

async function buildMaster(kind: MasterKind, frames: FrameSource, opts: MasterOptions): Promise<MasterResult> {
  const cam = opts.camera;
  const minFrames = opts.minFrames ?? cam.minFrames[kind];
  const method = opts.combine ?? cam.combine;
  const clipSigma = opts.clipSigma ?? cam.clipSigma;
  const binning = opts.binning ?? cam.binning;
  const alloc = opts.alloc ?? ((n: number) => new Float32Array(n));
  const rejections: FrameRejection[] = [];
  const issues: MasterIssue[] = [];
  const notes: string[] = [];
  let filter: string | null = kind === 'flat' ? (opts.filter ?? null) : null;

  const bias = unwrap(opts.bias);
  const dark = unwrap(opts.dark);
  const result = (master: Master | null): MasterResult => ({ kind, filter, master, accepted: master !== null && issues.length === 0, rejections, issues, notes });

  if (kind !== 'bias') {
    if (!bias.master) {
      issues.push({ reason: 'no-bias', detail: `a master ${kind} needs a master bias` });
      // still classify the frames so the report says what was there
    } else if (!bias.accepted) {
      issues.push({ reason: 'bias-rejected', detail: `built on ${bias.master.name}, which was rejected` });
    }
  }
  if (kind === 'flat') {
    if (!dark.master) notes.push('no master dark: dark current not subtracted from the flats');
    else if (!dark.accepted) issues.push({ reason: 'dark-rejected', detail: `built on ${dark.master.name}, which was rejected` });
  }

  const stack: Float32Array[] = [];
  const inputs: FrameRecord[] = [];
  let width = 0;
  let height = 0;
  let dataSection = '';
  let overscanSection: string | null = null;
  const reject = (name: string, reason: FrameRejectReason, detail: string) => rejections.push({ name, reason, detail });
  // a buffer allocated for a frame that was then rejected is reused by the next frame
  let spare: Float32Array | null = null;
  const pairNoise: number[] = [];

  for await (const f of frames as AsyncIterable<RawFrame>) {
    const info = frameInfo(f.header, f.name);
    if (info.problems.length) {
      reject(f.name, 'bad-keyword', info.problems.join('; '));
      continue;
    }
    if (info.type && info.type !== kind) {
      reject(f.name, 'wrong-type', `frame type is ${info.type}, not ${kind}`);
      continue;
    }
    if (info.binning && binning && info.binning !== binning) {
      reject(f.name, 'wrong-binning', `binning ${info.binning}, camera ${cam.name} expects ${binning}`);
      continue;
    }
    if (kind === 'flat') {
      if (filter === null) filter = info.filter;
      if (filter !== null && (info.filter ?? '').toLowerCase() !== filter.toLowerCase()) {
        reject(f.name, 'wrong-filter', `filter ${info.filter ?? '(none)'}, master is for ${filter}`);
        continue;
      }
    }
    const t = info.exptime;
    if (kind === 'dark' && !(t !== null && t > 0)) {
      reject(f.name, 'bad-exptime', `EXPTIME ${t ?? '(missing)'}: a dark rate needs a positive exposure`);
      continue;
    }
    if (kind === 'flat' && dark.master && !(t !== null && t >= 0)) {
      reject(f.name, 'bad-exptime', `EXPTIME ${t ?? '(missing)'}: cannot scale the dark rate`);
      continue;
    }
    let geo;
    try {
      geo = frameGeometry(cam, f.header, f.width, f.height);
    } catch (e) {
      reject(f.name, 'bad-geometry', (e as Error).message);
      continue;
    }
    const w = geo.data.x2 - geo.data.x1 + 1;
    const h = geo.data.y2 - geo.data.y1 + 1;
    const expect = stack.length ? { w: width, h: height, what: 'the first accepted frame' } : bias.master ? { w: bias.master.width, h: bias.master.height, what: `master bias ${bias.master.name}` } : null;
    if (expect && (w !== expect.w || h !== expect.h)) {
      reject(f.name, 'wrong-shape', `data section ${w}x${h}, ${expect.what} is ${expect.w}x${expect.h}`);
      continue;
    }
    if (kind !== 'bias' && bias.master && (bias.master.width !== w || bias.master.height !== h)) {
      reject(f.name, 'wrong-shape', `data section ${w}x${h}, master bias is ${bias.master.width}x${bias.master.height}`);
      continue;
    }
    if (kind === 'flat' && dark.master && (dark.master.width !== w || dark.master.height !== h)) {
      reject(f.name, 'wrong-shape', `data section ${w}x${h}, master dark is ${dark.master.width}x${dark.master.height}`);
      continue;
    }

    const ov = overscanLevel(f, geo.overscan);
    const buf: Float32Array = spare && spare.length === w * h ? spare : alloc(w * h);
    spare = buf;
    const crop = cropSubtract(f, geo.data, ov, geo.saturation, buf);
    const satFrac = crop.saturated / (w * h);
    if (satFrac > cam.maxSaturatedFraction) {
      reject(f.name, 'saturated', `${(100 * satFrac).toFixed(1)}% of the pixels ≥ ${geo.saturation} ADU (limit ${(100 * cam.maxSaturatedFraction).toFixed(1)}%)`);
      continue;
    }
    let level = robustStats(buf, { maxSamples: FRAME_SAMPLES }).median;
    if (kind === 'flat') {
      // COATLI: median(data) − median(overscan); no overscan → above the master bias level
      if (!geo.overscan) {
        if (bias.master) level -= bias.master.stats?.level ?? 0;
        else notes.push(`${f.name}: no overscan and no master bias: flat level measured above 0`);
      }
      const { min, max } = cam.flatLevel;
      if (!(level > min && level < max)) {
        reject(f.name, 'level-out-of-range', `level above ${geo.overscan ? 'overscan' : 'bias'} ${level.toFixed(0)} ADU, outside ${min}–${max} ADU`);
        continue;
      }
    }
    if (kind !== 'bias' && !bias.master) {
      // classified only: without a bias nothing can be combined
      inputs.push({ name: f.name, sha256: frameChecksum(f), dateObs: info.dateObs, exptime: t, overscan: ov, level });
      continue;
    }
    if (kind === 'dark') subtractScaled(buf, bias.master!.data, null, 0, 1 / t!);
    if (kind === 'flat') {
      subtractScaled(buf, bias.master!.data, dark.master?.data ?? null, t ?? 0, 1);
      const med = robustStats(buf, { maxSamples: FRAME_SAMPLES }).median;
      if (!(med > 0)) {
        reject(f.name, 'level-out-of-range', `median ${med} after bias/dark subtraction: cannot normalise`);
        continue;
      }
      scale(buf, 1 / med);
    }
    if (!stack.length) {
      width = w;
      height = h;
      dataSection = formatSection(geo.data);
      overscanSection = geo.overscan ? formatSection(geo.overscan) : null;
    }
    if (stack.length) pairNoise.push(diffSigma(buf, stack[stack.length - 1]) / Math.SQRT2);
    stack.push(buf);
    spare = null;
    inputs.push({ name: f.name, sha256: frameChecksum(f), dateObs: info.dateObs, exptime: t, overscan: ov, level });
  }

  if (kind !== 'bias' && !bias.master) return result(null);
  if (stack.length === 0) {
    issues.push({ reason: 'no-frames', detail: `no usable ${kind} frame${filter ? ` in filter ${filter}` : ''} (${rejections.length} rejected)` });
    return result(null);
  }
  if (stack.length < minFrames) {
    issues.push({ reason: 'too-few-frames', detail: `${stack.length} usable ${kind} frame${stack.length > 1 ? 's' : ''}${filter ? ` in filter ${filter}` : ''}, at least ${minFrames} required` });
  }

  const out = alloc(width * height);
  const combineOpts: CombineOptions = { method, clipSigma };
  const counts = await (opts.combiner ?? combineStack)(stack, out, combineOpts);
  stack.length = 0;

  let stats = masterStats(out, kind, cam.hotSigma, cam.lowFlat);
  if (kind === 'flat' && stats.level > 0 && stats.level !== 1) {
    scale(out, 1 / stats.level);
    stats = masterStats(out, kind, cam.hotSigma, cam.lowFlat);
  }
  stats.nFrames = inputs.length;
  stats.clipped = counts.clipped;
  if (pairNoise.length) {
    pairNoise.sort((a, b) => a - b);
    const perFrame = pairNoise[(pairNoise.length - 1) >> 1];
    const nf = inputs.length;
    stats.randomNoise = (perFrame * (method === 'median' ? Math.sqrt(Math.PI / 2) : 1)) / Math.sqrt(nf);
  }

  const dates = inputs.map((i) => i.dateObs).filter((d): d is string => !!d).sort();
  const dateObs = dates.length ? dates[(dates.length - 1) >> 1] : new Date(0).toISOString();
  if (!dates.length) notes.push('no DATE-OBS on any input: master dated 1970-01-01');
  const name = masterName(kind, cam.name, binning, filter, dateObs);
  const master: Master = {
    kind,
    name,
    camera: cam.name,
    binning,
    filter,
    dateObs,
    width,
    height,
    data: out,
    sha256: sha256Pixels(out),
    stats,
    provenance: {
      inputs,
      ...(kind !== 'bias' && bias.master ? { bias: { name: bias.master.name, sha256: bias.master.sha256 } } : {}),
      ...(kind === 'flat' && dark.master ? { dark: { name: dark.master.name, sha256: dark.master.sha256 } } : {}),
      combine: method === 'sigclip' ? { method, clipSigma } : { method },
      overscan: overscanSection,
      dataSection,
      minFrames,
    },
  };
  return result(master);
}

/** buf = (buf − a − b × t) × k, in place. */
function subtractScaled(buf: Float32Array, a: Float32Array, b: Float32Array | null, t: number, k: number): void {
  const n = buf.length;
  if (b) for (let i = 0; i < n; i++) buf[i] = (buf[i] - a[i] - b[i] * t) * k;
  else if (k === 1) for (let i = 0; i < n; i++) buf[i] -= a[i];
  else for (let i = 0; i < n; i++) buf[i] = (buf[i] - a[i]) * k;
}

function scale(buf: Float32Array, k: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] *= k;
}

/** Statistics of a master (see {@link MasterStats}). One selection on ≤ 2^20 samples + one full pass. */
export function masterStats(data: Float32Array, kind: MasterKind, hotSigma: number, lowFlat: number): MasterStats {
  const { median, sigma } = robustStats(data, { maxSamples: FRAME_SAMPLES });
  const hotThreshold = kind === 'flat' ? lowFlat : median + hotSigma * sigma;
  let hot = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (kind === 'flat' ? v < hotThreshold : v > hotThreshold) hot++;
  }
  return { level: median, noise: sigma, hotPixels: hot, hotThreshold, nFrames: 0, clipped: 0, randomNoise: NaN, min, max };
}

/** Robust σ of a − b on ≤ 2^20 pixels (regular stride). */
function diffSigma(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const step = Math.max(1, Math.floor(n / FRAME_SAMPLES));
  const buf = scratchBuffer(Math.ceil(n / step));
  let m = 0;
  for (let i = 0; i < n; i += step) buf[m++] = a[i] - b[i];
  return statsOfBuffer(buf, m).sigma;
}
