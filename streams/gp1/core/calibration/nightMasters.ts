/**
 * A night's masters from a set of raw calibration frames — what `gft gp1 masters` and the
 * gp1-calibration stage both do, so they cannot drift apart:
 *
 * 1. classify each frame from its header (IMAGETYP/OBSTYPE…, else the file-name letter b/d/f/o);
 *    GP1 masters and frames without a type are listed as unclassified, with the reason;
 * 2. the camera of the first classified frame, by the one resolution every GP1 entry point uses
 *    (camera.ts resolveFrameCamera: the configured camera when the frame fits it, else a known camera
 *    detected from the header or size, else the camera the frame's own keywords describe — BIASSEC,
 *    DATASEC, GAIN, RDNOISE, SATURATE — with notes saying what came from the header and what was assumed);
 * 3. one set of masters per binning found (frames without binning keywords at the camera's):
 *    the bias, then the dark rate (when there are dark frames), then one flat per filter (flats
 *    without a filter keyword make one flat without filter, reported in a note);
 * 4. each master validated against the previous one the caller's bank knows (`previous`), then
 *    handed to `onMaster` (the CLI writes it to its folder, the stage to storage).
 *
 * Frames are given with their header and a loader; pixels are read one frame at a time, when their
 * master is built. Order: frames by name, as a sorted folder listing, so that provenance and the
 * pair-noise statistics do not depend on arrival order. Pure apart from the loaders and callbacks.
 */
import { frameInfo, resolveFrameCamera, unresolvedCameraReason, type CameraConfig, type FrameType, type HeaderLike } from '../camera.ts';
import { tolerancesFor, validateMaster } from './compare.ts';
import type { RawFrame } from './frame.ts';
import { buildMasterBias, buildMasterDark, buildMasterFlat, type BankSubstitute, type Combiner, type Master, type MasterKind, type MasterOptions, type MasterResult } from './masters.ts';

/** One raw frame: what its header says, and how to read its pixels. */
export interface FrameEntry {
  /** File name (type letter, provenance). */
  name: string;
  /** Header of the frame's image HDU; absent when it could not be read (`unreadable` says why). */
  header?: HeaderLike;
  width?: number;
  height?: number;
  unreadable?: string;
  /** Reads the pixels (physical ADU); called once, when the frame's master is built. */
  load(): RawFrame | Promise<RawFrame>;
}

export interface NightMastersOptions {
  /** The camera; default: detected from the headers (among `cameras` and the built-ins). */
  camera?: CameraConfig | null;
  cameras?: CameraConfig[];
  /** Fewest frames per kind (default: the camera's). */
  minFrames?: Partial<Record<MasterKind, number>>;
  combine?: 'median' | 'sigclip';
  /** Stack allocator and combine implementation (the worker pool's). */
  alloc?: (n: number) => Float32Array;
  combiner?: Combiner;
  /** The previous master of the bank a new one is compared with (null: none); `note` adds to the result's notes. */
  previous?: (m: Master, note: (text: string) => void) => Master | null | Promise<Master | null>;
  /**
   * The bank's newest accepted master for a key, dated at or before `before` (the night's newest frame
   * of that kind): it stands in for a master of the night that could not be made or was rejected
   * (`MasterResult.fromBank`). Absent or null: no stand-in, the master is `missing`.
   */
  fallback?: (q: { kind: MasterKind; camera: string; binning: string; filter: string | null; before: string | null }) => Omit<BankSubstitute, 'hoursBefore'> | null | Promise<Omit<BankSubstitute, 'hoursBefore'> | null>;
  /** Each validated master (or master-less result), in build order. */
  onMaster?: (r: MasterResult) => void | Promise<void>;
}

/** A master the night needed (it had frames of that kind) that was neither made nor found in the bank. */
export interface MissingMaster {
  kind: MasterKind;
  binning: string;
  filter: string | null;
  /** Why the night's own master was not accepted (its issues and frame rejections, summarised). */
  why: string;
}

export interface NightMasters {
  camera: CameraConfig;
  /** How the camera was found (configured, detected, header) and the warnings that go with it. */
  cameraSource: 'configured' | 'detected' | 'header';
  cameraNotes: string[];
  /** Classified frames per type. */
  frames: Record<FrameType, number>;
  unclassified: { file: string; why: string }[];
  /** Frames whose pixels could not be read when their master was built. */
  unreadable: { name: string; error: string }[];
  /** In build order: per binning, bias, dark, flats by filter. */
  masters: MasterResult[];
  /** Masters not made, with no stand-in in the bank: the night cannot be calibrated with them. */
  missing: MissingMaster[];
}

/** Nothing to build: no camera could be told, or no calibration frame. `code` is stable. */
export class NightMastersError extends Error {
  constructor(
    readonly code: 'no-camera' | 'no-calibration-frames',
    message: string,
    readonly unclassified: { file: string; why: string }[] = [],
  ) {
    super(message);
    this.name = 'NightMastersError';
  }
}

interface Group {
  bias: FrameEntry[];
  dark: FrameEntry[];
  flats: Map<string, FrameEntry[]>;
}

const newGroup = (): Group => ({ bias: [], dark: [], flats: new Map() });

/**
 * Builds and validates the masters of `entries` (see the file comment).
 * @throws NightMastersError when the camera cannot be told or there is no calibration frame
 */
export async function buildNightMasters(entries: FrameEntry[], opts: NightMastersOptions = {}): Promise<NightMasters> {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const frames: Record<FrameType, number> = { bias: 0, dark: 0, flat: 0, object: 0 };
  const unclassified: { file: string; why: string }[] = [];
  const byBinning = new Map<string, Group>();
  let camera: CameraConfig | null = null;
  let cameraSource: NightMasters['cameraSource'] = 'configured';
  let cameraNotes: string[] = [];
  let firstSize: [number, number] | null = null;
  for (const e of sorted) {
    if (e.unreadable !== undefined || !e.header) {
      unclassified.push({ file: e.name, why: `unreadable: ${e.unreadable ?? 'no header'}` });
      continue;
    }
    if (e.header.get('GP1KIND') !== undefined) {
      unclassified.push({ file: e.name, why: 'a GP1 master, not a raw frame' });
      continue;
    }
    const info = frameInfo(e.header, e.name);
    if (!info.type) {
      unclassified.push({ file: e.name, why: 'no IMAGETYP (or OBSTYPE, IMGTYPE, FRAMETYP) keyword and no type letter b/d/f/o in the file name' });
      continue;
    }
    if (!camera && !firstSize) {
      firstSize = [e.width ?? 0, e.height ?? 0];
      let r;
      try {
        r = resolveFrameCamera({ camera: opts.camera, cameras: opts.cameras }, e.header, e.width ?? 0, e.height ?? 0);
      } catch (err) {
        throw new NightMastersError('no-camera', `${e.name}: its header describes the detector wrongly: ${(err as Error).message}`, unclassified);
      }
      if (r) ({ camera, source: cameraSource, notes: cameraNotes } = r);
    }
    frames[info.type]++;
    if (info.type === 'object') continue;
    const bin = info.binning ?? '';
    const g = byBinning.get(bin) ?? newGroup();
    byBinning.set(bin, g);
    if (info.type === 'flat') {
      const f = info.filter ?? '';
      g.flats.set(f, [...(g.flats.get(f) ?? []), e]);
    } else g[info.type].push(e);
  }
  if (!camera && !firstSize && opts.camera) camera = opts.camera; // nothing classified: the error below says so
  if (!entries.length) throw new NightMastersError('no-calibration-frames', 'no calibration frame (no .fits, .fits.fz or .fits.gz file) to build masters from');
  if (!camera) {
    const why = firstSize ? unresolvedCameraReason(opts.camera, firstSize[0], firstSize[1]) : 'cannot tell the camera: no classified frame';
    throw new NightMastersError('no-camera', why, unclassified);
  }
  if (!frames.bias && !frames.dark && !frames.flat) {
    const why = unclassified.length ? `; ${unclassified.length} frame(s) unclassified, e.g. ${unclassified[0].file}: ${unclassified[0].why}` : '';
    throw new NightMastersError('no-calibration-frames', `no calibration frame (bias, dark or flat)${why}`, unclassified);
  }
  const cam = camera;

  // frames without binning keywords are taken at the camera's binning
  const bins = new Map<string, Group>();
  for (const [b, g] of byBinning) {
    const key = b || cam.binning;
    const t = bins.get(key) ?? newGroup();
    t.bias.push(...g.bias);
    t.dark.push(...g.dark);
    for (const [f, es] of g.flats) t.flats.set(f, [...(t.flats.get(f) ?? []), ...es]);
    bins.set(key, t);
  }

  const unreadable: { name: string; error: string }[] = [];
  async function* pixels(list: FrameEntry[]): AsyncGenerator<RawFrame> {
    for (const e of list) {
      let f: RawFrame;
      try {
        f = await e.load();
      } catch (err) {
        unreadable.push({ name: e.name, error: (err as Error).message });
        continue;
      }
      yield f;
    }
  }
  const masters: MasterResult[] = [];
  const missing: MissingMaster[] = [];
  const newestDate = (list: FrameEntry[]): string | null => {
    let best: string | null = null;
    for (const e of list) {
      const d = e.header ? frameInfo(e.header, e.name).dateObs : null;
      if (d && (!best || Date.parse(d) > Date.parse(best))) best = d;
    }
    return best;
  };
  const finish = async (r: MasterResult, binning: string, list: FrameEntry[]): Promise<MasterResult> => {
    if (r.master) validateMaster(r, opts.previous ? await opts.previous(r.master, (t) => r.notes.push(t)) : null, tolerancesFor(r.kind, cam));
    if (!r.accepted) {
      // the night's own master could not be made or was rejected: the bank's newest accepted one of
      // the same key stands in for it (said in the notes and the report), else it is missing
      const before = newestDate(list);
      const sub = opts.fallback ? await opts.fallback({ kind: r.kind, camera: cam.name, binning, filter: r.filter, before }) : null;
      const why = summarise(r);
      if (sub) {
        const hoursBefore = before ? Math.max(0, (Date.parse(before) - Date.parse(sub.dateObs)) / 3600e3) : NaN;
        r.fromBank = { ...sub, hoursBefore };
        r.notes.push(`the night's ${label(r)} was not accepted (${why}): the bank's newest accepted one, ${sub.name} (${Number.isFinite(hoursBefore) ? `${hoursBefore.toFixed(0)} h older` : sub.dateObs}), is used instead`);
      } else missing.push({ kind: r.kind, binning, filter: r.filter, why });
    }
    masters.push(r);
    await opts.onMaster?.(r);
    return r;
  };
  const base: Omit<MasterOptions, 'minFrames'> = {
    camera: cam,
    ...(opts.combine ? { combine: opts.combine } : {}),
    ...(opts.alloc ? { alloc: opts.alloc } : {}),
    ...(opts.combiner ? { combiner: opts.combiner } : {}),
  };
  for (const [binning, g] of [...bins.entries()].sort()) {
    const o = { ...base, binning };
    const bias = await finish(await buildMasterBias(pixels(g.bias), { ...o, minFrames: opts.minFrames?.bias }), binning, g.bias);
    const dark = g.dark.length ? await finish(await buildMasterDark(pixels(g.dark), { ...o, minFrames: opts.minFrames?.dark, bias }), binning, g.dark) : null;
    for (const [filter, list] of [...g.flats.entries()].sort()) {
      const r = await buildMasterFlat(pixels(list), { ...o, minFrames: opts.minFrames?.flat, bias, dark, filter: filter || undefined });
      if (!filter) r.notes.push(`${list.length} flat frame(s) without a filter keyword (FILTER, FILTA, FILTER1, FILTNAME): one flat without filter, used only for frames without one`);
      await finish(r, binning, list);
    }
  }
  return { camera: cam, cameraSource, cameraNotes, frames, unclassified, unreadable, masters, missing };
}

function label(r: MasterResult): string {
  return `master ${r.kind}${r.kind === 'flat' && r.filter ? ` (filter ${r.filter})` : ''}`;
}

/** Why a master was not accepted, in one line: its issues, else its frames' rejections by reason. */
function summarise(r: MasterResult): string {
  const parts: string[] = r.issues.map((i) => i.reason);
  const byReason = new Map<string, number>();
  for (const x of r.rejections) byReason.set(x.reason, (byReason.get(x.reason) ?? 0) + 1);
  for (const [k, n] of byReason) parts.push(`${n} frame(s) ${k}${r.rejections.length === n ? `, e.g. ${r.rejections[0].detail}` : ''}`);
  return parts.join('; ') || 'no master';
}
