/**
 * Calibrates raw frames given as bytes against a set of masters, keeping the bank and the master
 * images in memory between frames (the stage calls this once per object frame; reading three
 * masters of 2148x1472 float32 for every frame cost more than the arithmetic). The same choices as
 * `gft gp1 calibrate`: the camera by camera.ts resolveFrameCamera (configured, detected, or described
 * by the frame's own keywords), masters picked
 * by camera, binning, filter and nearest date, then the core's calibrateFrame. Output buffers are
 * reused from frame to frame (the FITS bytes are made before calibrate() returns), so a frame costs
 * no fresh memory.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cameraFromSpec, frameInfo, resolveFrameCamera, unresolvedCameraReason, type CameraConfig } from './core/camera.ts';
import { MasterBank, type MasterMeta } from './core/calibration/bank.ts';
import { calibrateFrame, type CalibrateOptions, type CalibrationMasters, type CalibrationStats } from './core/calibration/calibrate.ts';
import { calibratedBytes, rawFrameFromBytes, readMasterFile, readMasterMeta } from './core/calibration/io.ts';
import type { RawFrame } from './core/calibration/frame.ts';
import type { Master, MasterKind } from './core/calibration/masters.ts';
import type { CalibrationPool } from './core/calibration/pool.ts';

/** Why a frame cannot be calibrated (bad input for this frame, not a failure of the stage). */
export class FrameCalibrationError extends Error {
  constructor(
    readonly code: 'unknown-camera' | 'bad-geometry' | 'no-date' | 'no-master',
    message: string,
  ) {
    super(message);
    this.name = 'FrameCalibrationError';
  }
}

export interface FrameCalibration {
  /** The calibrated FITS file: image (counts/s) + WEIGHT + MASK. */
  fits: Buffer;
  /** Its sha256, when already computed (by the pool worker that wrote it). */
  sha256?: string;
  stats: CalibrationStats;
  masters: Partial<Record<MasterKind, { name: string; sha256: string }>>;
  camera: string;
  /** How the camera was found (camera.ts resolveFrameCamera) and its warnings (e.g. values assumed for a camera described by headers). */
  cameraSource: 'configured' | 'detected' | 'header';
  cameraNotes: string[];
}

/** `coatli` (built-in name) or a path to a camera JSON file (its first camera, or the one named after `#`). */
export const resolveCamera = cameraFromSpec;

export class FrameCalibrator {
  private readonly cache = new Map<string, Master>();
  private out: { image: Float32Array; weight: Float32Array; mask: Uint8Array } | null = null;
  /** Bytes of masters held outside the cache (a bank made from masters in memory). */
  private preloaded = 0;

  /** Bytes of pixels this calibrator holds (masters, output buffers): for the stage's cache metrics. */
  get bytes(): number {
    let n = this.preloaded; // (its masters are the ones the cache then holds)
    if (!n) for (const m of this.cache.values()) n += m.data.byteLength;
    if (this.out) n += this.out.image.byteLength + this.out.weight.byteLength + this.out.mask.byteLength;
    return n;
  }

  private constructor(
    readonly bank: MasterBank,
    private readonly load: (meta: MasterMeta) => Master,
    private readonly camera: CameraConfig | null,
    private readonly cameras: CameraConfig[],
    private readonly opts: Partial<CalibrateOptions> = {},
  ) {}

  /** Reads the bank (headers only) of every master FITS file in `dir`; pixels on first use. */
  static load(dir: string, cameraSpec: string, opts: Partial<CalibrateOptions> = {}): FrameCalibrator {
    const bank = new MasterBank();
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (!/\.fits?(\.fz)?$/i.test(f) || !statSync(p).isFile()) continue;
      const m = readMasterMeta(p);
      if (m) bank.add(m);
    }
    const { camera, cameras } = cameraFromSpec(cameraSpec);
    return new FrameCalibrator(bank, (meta) => readMasterFile(meta.path!), camera, cameras, opts);
  }

  /** A bank of masters already in memory (accepted ones are picked; the others are ignored). */
  static fromMasters(masters: { master: Master; accepted: boolean }[], cameraSpec: string, opts: Partial<CalibrateOptions> = {}): FrameCalibrator {
    const bank = new MasterBank();
    const byName = new Map<string, Master>();
    for (const { master: m, accepted } of masters) {
      bank.add({ kind: m.kind, name: m.name, camera: m.camera, binning: m.binning, filter: m.filter, dateObs: m.dateObs, sha256: m.sha256, width: m.width, height: m.height, stats: m.stats, accepted });
      byName.set(m.name, m);
    }
    const { camera, cameras } = cameraFromSpec(cameraSpec);
    const c = new FrameCalibrator(bank, (meta) => byName.get(meta.name)!, camera, cameras, opts);
    for (const m of byName.values()) c.preloaded += m.data.byteLength;
    return c;
  }

  private master(meta: MasterMeta | null): Master | null {
    if (!meta) return null;
    let m = this.cache.get(meta.name);
    if (!m) this.cache.set(meta.name, (m = this.load(meta)));
    return m;
  }

  /** Camera, masters and options for a frame. @throws FrameCalibrationError */
  private plan(raw: RawFrame): { camera: CameraConfig; masters: CalibrationMasters; used: FrameCalibration['masters']; resolution: Pick<FrameCalibration, 'cameraSource' | 'cameraNotes'> } {
    const fileName = raw.name;
    let r;
    try {
      r = resolveFrameCamera({ camera: this.camera, cameras: this.cameras }, raw.header, raw.width, raw.height);
    } catch (e) {
      throw new FrameCalibrationError('bad-geometry', `${fileName}: ${(e as Error).message}`);
    }
    if (!r) throw new FrameCalibrationError('unknown-camera', `${fileName}: ${unresolvedCameraReason(this.camera, raw.width, raw.height)}`);
    const camera = r.camera;
    const info = frameInfo(raw.header, raw.name);
    if (!info.dateObs) throw new FrameCalibrationError('no-date', `${fileName}: no DATE-OBS and no date in the file name: cannot pick masters`);
    const q = { camera: camera.name, binning: info.binning ?? camera.binning, filter: info.filter, date: info.dateObs };
    const picked = { bias: this.bank.pick('bias', q), dark: this.bank.pick('dark', q), flat: this.bank.pick('flat', q) };
    const missing = (Object.keys(picked) as MasterKind[]).filter((k) => !picked[k]);
    if (missing.length) {
      const noFilter = missing.includes('flat') && !info.filter ? ' (the frame has no FILTER, FILTA, FILTER1 or FILTNAME keyword)' : '';
      throw new FrameCalibrationError('no-master', `${fileName}: no ${missing.join(', ')} master for camera ${q.camera}, binning ${q.binning}${q.filter ? `, filter ${q.filter}` : ''}${noFilter}`);
    }
    return {
      camera,
      masters: { bias: this.master(picked.bias), dark: this.master(picked.dark), flat: this.master(picked.flat) },
      used: Object.fromEntries((Object.keys(picked) as MasterKind[]).map((k) => [k, { name: picked[k]!.name, sha256: picked[k]!.sha256 }])),
      resolution: { cameraSource: r.source, cameraNotes: r.notes },
    };
  }

  /** @throws FrameCalibrationError (unknown camera, no date, no master) or the core's CalibrationError (bad frame) */
  calibrate(bytes: Buffer, fileName: string, sha256: string): FrameCalibration {
    const raw = rawFrameFromBytes(bytes, fileName, sha256);
    const { camera, masters, used, resolution } = this.plan(raw);
    const n = masters.bias!.width * masters.bias!.height;
    if (this.out?.image.length !== n) this.out = { image: new Float32Array(n), weight: new Float32Array(n), mask: new Uint8Array(n) };
    const cal = calibrateFrame(raw, masters, { ...this.opts, camera, out: this.out });
    return { fits: calibratedBytes(cal, raw.header), stats: cal.stats, masters: used, camera: camera.name, ...resolution };
  }

  /**
   * The same on a worker of `pool` (the masters go to shared memory once; the raw pixel buffer is
   * transferred, so `raw` must not be used afterwards). The worker also writes the FITS bytes and
   * hashes them, so that this thread (the stage's consume/produce loop) only stores the file.
   */
  async calibrateOn(pool: CalibrationPool, raw: RawFrame): Promise<FrameCalibration> {
    const { camera, masters, used, resolution } = this.plan(raw);
    const r = await pool.calibrateFits(raw, masters, { ...this.opts, camera });
    return { fits: r.fits, sha256: r.sha256, stats: r.meta.stats, masters: used, camera: camera.name, ...resolution };
  }
}
