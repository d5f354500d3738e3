/**
 * GP1 calibration stage (group `gp1-calibration`): images.raw → gp1.masters + gp1.calibrated.
 *
 * Per burst, calibration frames (bias/dark/flat) are collected into a work folder; at the first
 * object frame the masters are built and validated (the same code as `gft gp1 masters`), announced
 * on gp1.masters with their verdict and provenance, and kept in local storage. Each object frame is
 * then calibrated as it arrives (the same code as `gft gp1 calibrate`): image (counts/s) + WEIGHT +
 * MASK to storage, the record with sky level, noise and FWHM.
 * Idempotent: a frame id already calibrated is calibrated again to identical bytes (content-addressed);
 * frames of cancelled bursts are dropped.
 */
import { copyFileSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { field, loadConfig } from '../../lib/config/define.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import { run as gp1Cli } from './cli.ts';
import { FrameCalibrator, FrameCalibrationError } from './frameCalibrator.ts';
import { CalibrationError } from './core/calibration/calibrate.ts';

export const calibrationSchema = {
  camera: field<string>({ env: 'GFT_GP1_CAMERA', type: 'string', doc: 'Camera description name (coatli, colibri-ddrago, ratir-c1) or a JSON file', default: 'coatli' }),
  minFrames: field<number>({ env: 'GFT_GP1_MIN_FRAMES', type: 'int', doc: 'Override of the minimum frames per master (0 = camera default)', default: 0, min: 0 }),
  workDir: field<string>({ env: 'GFT_GP1_WORK', type: 'string', doc: 'Work folder (default <GFT_HOME>/work)', default: '' }),
  pixelScale: field<number>({ env: 'GFT_PIXEL_SCALE', type: 'number', doc: 'Pixel scale (arcsec/pixel) for the FWHM in arcsec', default: 0.34, min: 0 }),
};

interface RawFrameRec {
  frameId: string; burstId: string | null; seq: number; fileName: string; imageType: string; dateObs: string; exptime: number; filter: string | null;
  camera: string; binning: string; width: number; height: number; bitpix: number; compressed: boolean; storage: StorageRef; lastOfSequence: boolean;
}
interface Trigger { burstId: string; kind: string }

interface BurstWork { dir: string; mastersBuilt: boolean; calFrames: number; calibrator?: FrameCalibrator }

async function quietCli(args: string[]): Promise<number> {
  const log = console.log;
  console.log = () => {};
  try {
    return await gp1Cli(args);
  } finally {
    console.log = log;
  }
}

export function calibrationStage(cfg: ReturnType<typeof loadConfig<typeof calibrationSchema>>, storage: LocalStorage, workRoot: string): StageDefinition<RawFrameRec | Trigger> {
  const bursts = new Map<string, BurstWork>();
  const cancelled = new Set<string>();
  const work = (burstId: string): BurstWork => {
    let w = bursts.get(burstId);
    if (!w) {
      const dir = join(workRoot, burstId.replace(/[^\w.-]/g, '_'));
      rmSync(dir, { recursive: true, force: true });
      for (const d of ['cal', 'masters', 'raw', 'out']) mkdirSync(join(dir, d), { recursive: true });
      bursts.set(burstId, (w = { dir, mastersBuilt: false, calFrames: 0 }));
    }
    return w;
  };
  const camArgs = () => ['--camera', cfg.camera, ...(cfg.minFrames ? ['--min-frames', String(cfg.minFrames)] : [])];

  return {
    name: 'gp1-calibration',
    inputs: ['images.raw', 'gp1.trigger'],
    outputs: ['gp1.masters', 'gp1.calibrated'],
    async handle(msg, ctx) {
      if (msg.topic === 'gp1.trigger') {
        const t = msg.value as Trigger;
        if (t.kind === 'cancel') cancelled.add(t.burstId);
        return [];
      }
      const f = msg.value as RawFrameRec;
      const burstId = f.burstId ?? 'no-burst';
      if (cancelled.has(burstId)) return [];
      const w = work(burstId);
      const bytes = await storage.get(f.storage); // integrity checked
      if (f.imageType === 'bias' || f.imageType === 'dark' || f.imageType === 'flat') {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(join(w.dir, 'cal', f.fileName), bytes);
        w.calFrames++;
        return [];
      }
      if (f.imageType !== 'object') throw invalidInput('gp1.unknown_frame_type', `frame ${f.frameId} has type ${f.imageType}`);
      const outs: Output[] = [];
      if (!w.mastersBuilt) {
        const report = join(w.dir, 'masters-report.json');
        const code = await quietCli(['masters', '--in', join(w.dir, 'cal'), '--out', join(w.dir, 'masters'), '--report', report, ...camArgs()]);
        if (!existsSync(report)) throw invalidInput('gp1.masters_failed', `building masters failed (exit ${code}) for burst ${burstId}`);
        const r = JSON.parse(readFileSync(report, 'utf8')) as { masters: Array<{ kind: 'bias' | 'dark' | 'flat'; accepted: boolean; name: string; file: string | null; issues: Array<{ reason?: string; detail?: string; message?: string } | string>; rejections: Array<{ name?: string; reason?: string; detail?: string; message?: string }>; stats: { level: number; noise: number; hotPixels: number; nFrames: number }; provenance?: { inputs?: Array<{ name: string; sha256: string }>; filter?: string | null; dateObs?: string } }> };
        for (const m of r.masters) {
          let ref: StorageRef | null = null;
          if (m.file && existsSync(m.file)) ref = await storage.put(readFileSync(m.file), { kind: 'master', burstId, source: 'gp1-calibration', name: `${m.name}.fits`, created: f.dateObs });
          const reasons = m.issues.map((i) => (typeof i === 'string' ? i : `${i.reason ?? ''}: ${i.detail ?? i.message ?? ''}`));
          const filter = /master-flat-([^-]+)-/.exec(m.name)?.[1] ?? null;
          outs.push({
            topic: 'gp1.masters',
            key: `${cfg.camera}/${m.kind}/${filter ?? '-'}`,
            value: {
              masterId: m.name, kind: m.kind, camera: cfg.camera, binning: '1x1', filter, dateObs: m.provenance?.dateObs ?? f.dateObs, nFrames: m.stats?.nFrames ?? 0,
              level: m.stats?.level ?? 0, noise: m.stats?.noise ?? 0, hotPixels: m.stats?.hotPixels ?? 0, accepted: m.accepted, reasons,
              inputs: [
                ...(m.provenance?.inputs ?? []).map((i) => ({ frameId: i.name.replace(/\.fits(\.fz)?$/, ''), sha256: i.sha256, used: true, reason: '' })),
                ...(m.rejections ?? []).map((x) => ({ frameId: (x.name ?? '').replace(/\.fits(\.fz)?$/, ''), sha256: '', used: false, reason: `${x.reason ?? ''} ${x.detail ?? x.message ?? ''}`.trim() })),
              ],
              storage: ref,
            },
          });
        }
        w.mastersBuilt = true;
        ctx.log.info('masters built', { burstId, masters: r.masters.length, accepted: r.masters.filter((m) => m.accepted).length });
      }
      // per frame: the core's calibration, in memory, masters loaded once per burst
      w.calibrator ??= FrameCalibrator.load(join(w.dir, 'masters'), cfg.camera);
      let fr;
      try {
        fr = w.calibrator.calibrate(bytes, f.fileName, f.storage.sha256);
      } catch (e) {
        if (e instanceof FrameCalibrationError || e instanceof CalibrationError) throw invalidInput(`gp1.calibration_failed`, `frame ${f.frameId}: ${e.code}: ${e.message}`);
        throw e;
      }
      const ref = await storage.put(fr.fits, { kind: 'calibrated', burstId, source: 'gp1-calibration', name: `${f.frameId}-cal.fits`, created: f.dateObs });
      outs.push({
        topic: 'gp1.calibrated',
        key: burstId,
        value: {
          frameId: f.frameId, burstId, dateObs: f.dateObs, exptime: f.exptime, filter: f.filter, skyLevel: fr.stats.sky, noise: fr.stats.noise,
          fwhmArcsec: Number.isFinite(fr.stats.fwhm) && fr.stats.fwhm > 0 ? fr.stats.fwhm * cfg.pixelScale : null, masters: Object.values(fr.masters).map((m) => m.name), raw: f.storage, storage: ref, lastOfSequence: f.lastOfSequence,
        },
      });
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<RawFrameRec | Trigger>> {
  const cfg = loadConfig(calibrationSchema);
  const p = platformConfig();
  return calibrationStage(cfg, LocalStorage.fromEnv(), cfg.workDir || join(p.home, 'work', p.namespace || 'default', 'gp1-calibration'));
}
