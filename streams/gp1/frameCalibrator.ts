/**
 * Calibrates raw frames given as bytes against a folder of masters, keeping the bank and the master
 * images in memory between frames (the stage calls this once per object frame; reading three
 * masters of 2148x1472 float32 for every frame cost more than the arithmetic). The same choices as
 * `gft gp1 calibrate`: the camera from configuration (or detected from the header), masters picked
 * by camera, binning, filter and nearest date, then the core's calibrateFrame.
 */
import { basename, join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { readImage } from '../../lib/fits/index.ts';
import { cameraByName, detectCamera, frameInfo, loadCameraFile, type CameraConfig } from './core/camera.ts';
import { MasterBank, type MasterMeta } from './core/calibration/bank.ts';
import { calibrateFrame, type CalibrateOptions, type CalibrationMasters, type CalibrationStats } from './core/calibration/calibrate.ts';
import { calibratedBytes, readMasterFile, readMasterMeta } from './core/calibration/io.ts';
import type { Master, MasterKind } from './core/calibration/masters.ts';
import type { RawFrame } from './core/calibration/frame.ts';

/** Why a frame cannot be calibrated (bad input for this frame, not a failure of the stage). */
export class FrameCalibrationError extends Error {
  constructor(
    readonly code: 'unknown-camera' | 'no-date' | 'no-master',
    message: string,
  ) {
    super(message);
    this.name = 'FrameCalibrationError';
  }
}

export interface FrameCalibration {
  /** The calibrated FITS file: image (counts/s) + WEIGHT + MASK. */
  fits: Buffer;
  stats: CalibrationStats;
  masters: Partial<Record<MasterKind, { name: string; sha256: string }>>;
  camera: string;
}

/** `coatli` (built-in name) or a path to a camera JSON file (its first camera, or the one named after `#`). */
export function resolveCamera(spec: string): { camera: CameraConfig | null; cameras: CameraConfig[] } {
  if (/\.json(#.*)?$/i.test(spec)) {
    const [file, name] = spec.split('#');
    const cameras = loadCameraFile(file);
    return { camera: name ? cameraByName(name, cameras) : cameras[0], cameras };
  }
  return { camera: spec ? cameraByName(spec) : null, cameras: [] };
}

export class FrameCalibrator {
  private readonly cache = new Map<string, Master>();

  private constructor(
    readonly bank: MasterBank,
    private readonly camera: CameraConfig | null,
    private readonly cameras: CameraConfig[],
    private readonly opts: Partial<CalibrateOptions> = {},
  ) {}

  /** Reads the bank (headers only) of every master FITS file in `dir`. */
  static load(dir: string, cameraSpec: string, opts: Partial<CalibrateOptions> = {}): FrameCalibrator {
    const bank = new MasterBank();
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (!/\.fits?(\.fz)?$/i.test(f) || !statSync(p).isFile()) continue;
      const m = readMasterMeta(p);
      if (m) bank.add(m);
    }
    const { camera, cameras } = resolveCamera(cameraSpec);
    return new FrameCalibrator(bank, camera, cameras, opts);
  }

  private master(meta: MasterMeta | null): Master | null {
    if (!meta?.path) return null;
    let m = this.cache.get(meta.path);
    if (!m) this.cache.set(meta.path, (m = readMasterFile(meta.path)));
    return m;
  }

  /** @throws FrameCalibrationError (unknown camera, no date, no master) or the core's CalibrationError (bad frame) */
  calibrate(bytes: Buffer, fileName: string, sha256: string): FrameCalibration {
    const img = readImage(bytes);
    const data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
    const raw: RawFrame = { name: basename(fileName), header: img.header, width: img.width, height: img.height, data, sha256 };
    const camera = this.camera ?? detectCamera(raw.header, raw.width, raw.height, this.cameras);
    if (!camera) throw new FrameCalibrationError('unknown-camera', `${fileName}: camera not detected from the header; configure GFT_GP1_CAMERA`);
    const info = frameInfo(raw.header, raw.name);
    if (!info.dateObs) throw new FrameCalibrationError('no-date', `${fileName}: no DATE-OBS and no date in the file name: cannot pick masters`);
    const q = { camera: camera.name, binning: info.binning ?? camera.binning, filter: info.filter, date: info.dateObs };
    const picked = { bias: this.bank.pick('bias', q), dark: this.bank.pick('dark', q), flat: this.bank.pick('flat', q) };
    const missing = (Object.keys(picked) as MasterKind[]).filter((k) => !picked[k]);
    if (missing.length) throw new FrameCalibrationError('no-master', `${fileName}: no ${missing.join(', ')} master for camera ${q.camera}, binning ${q.binning}${q.filter ? `, filter ${q.filter}` : ''}`);
    const masters: CalibrationMasters = { bias: this.master(picked.bias), dark: this.master(picked.dark), flat: this.master(picked.flat) };
    const cal = calibrateFrame(raw, masters, { ...this.opts, camera });
    return {
      fits: calibratedBytes(cal, raw.header),
      stats: cal.stats,
      masters: Object.fromEntries((Object.keys(picked) as MasterKind[]).map((k) => [k, { name: picked[k]!.name, sha256: picked[k]!.sha256 }])),
      camera: camera.name,
    };
  }
}
