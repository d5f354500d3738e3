/**
 * Images provider stage (group `provider`): on a GP1 trigger, injects the frames of the configured
 * directory into local storage and announces each on `images.raw`. Calibration frames go first, at
 * once, in DATE-OBS order; then object frames in DATE-OBS order on the schedule: by default their
 * DATE-OBS spacing divided by the speed (pacing `date-obs`), or one every interval/speed seconds
 * (pacing `interval`); speed 0 = as fast as possible.
 * Bad files go to `provider.dlq` with the reason (their bytes kept in storage, kind 'other'); the
 * provider goes on. What frames must look like: README.md.
 *
 * Outputs are emitted as they are released (ctx.emit); the trigger is committed after the last
 * one. A crash mid-sequence re-runs the trigger: frames are re-announced with the same ids and
 * checksums, which GP1 deduplicates by frame id. A cancellation for a burst still being injected
 * takes effect at the burst's next trigger; GP1 drops frames of cancelled bursts.
 * Long work (reading every frame's pixels, waiting for a frame's time) heartbeats between steps.
 */
import { readFileSync } from 'node:fs';
import type { StageDefinition, StageContext } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { providerConfig, type ProviderConfig } from './config.ts';
import { dateObsOffsetsMs, frameBytes, inspectFrame, listFrameFiles, orderFrames, releaseOffsetsMs, type FrameFile, type Rejected } from './core/source.ts';

interface Trigger { burstId: string; kind: 'trigger' | 'update' | 'cancel'; referenceVersion: number; t0: string | null; reason: string; issuedAt: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function rawFrameRecord(f: FrameFile, seq: number, burstId: string | null, storage: { uri: string; sha256: string; size: number; kind: string }, lastOfSequence = false) {
  return {
    frameId: f.frameId, burstId, seq, fileName: f.storedName, imageType: f.imageType, dateObs: f.dateObs, exptime: f.exptime,
    filter: f.filter, camera: f.camera, binning: f.binning, width: f.width, height: f.height, bitpix: f.bitpix, compressed: f.compressed, storage, lastOfSequence,
  };
}

/** Release offsets (ms after the first object frame) of the object frames, in order. */
export function objectSchedule(objects: FrameFile[], cfg: Pick<ProviderConfig, 'pacing' | 'intervalS' | 'speed'>): number[] {
  const speed = cfg.speed || Infinity;
  return cfg.pacing === 'interval' ? releaseOffsetsMs(objects.length, cfg.intervalS, speed) : dateObsOffsetsMs(objects.map((f) => f.dateObs), speed);
}

export function providerStage(cfg: ProviderConfig, storage: LocalStorage): StageDefinition<Trigger> {
  const done = new Set<string>();
  return {
    name: 'provider',
    inputs: ['gp1.trigger'],
    outputs: ['images.raw', 'provider.dlq'],
    async handle(msg, ctx: StageContext) {
      const t = msg.value;
      if (t.kind !== 'trigger') return []; // updates move the pointing, not the frames; cancels handled by GP1
      if (done.has(t.burstId)) return [];
      if (!cfg.images) throw invalidInput('provider.no_images', 'no image directory configured (GFT_PROVIDER_IMAGES)');
      const { candidates, ignored } = listFrameFiles(cfg.images);
      const inspected: Array<FrameFile | Rejected> = [];
      for (const p of candidates) {
        inspected.push(inspectFrame(p, { checkPixels: cfg.checkPixels, cameraName: cfg.camera || undefined, allowedBitpix: cfg.bitpix }));
        await ctx.heartbeat();
      }
      const { frames, rejected } = orderFrames(inspected);
      ctx.log.info('injecting frames', {
        burstId: t.burstId, frames: frames.length, rejected: rejected.length, ignored: ignored.length, dir: cfg.images, speed: cfg.speed || 'max', pacing: cfg.pacing,
        ...(ignored.length ? { ignoredFiles: ignored.slice(0, 20).map((i) => `${i.path.split('/').pop()}: ${i.reason}`) } : {}),
      });
      for (const r of rejected) {
        const bytes = readFileSync(r.path);
        const ref = await storage.put(bytes, { kind: 'other', burstId: t.burstId, source: r.path, name: r.path.split('/').pop() });
        await ctx.emit({
          topic: 'provider.dlq',
          key: r.path,
          value: { stage: 'provider', errorCode: r.code, errorMessage: r.reason, sourceTopic: `file:${r.path}`, partition: -1, offset: '-1', failedAt: t.issuedAt, key: Buffer.from(r.path), value: Buffer.from(ref.uri) },
          headers: { 'gft-error-code': r.code, 'gft-error-message': r.reason, 'gft-stage': 'provider', 'gft-source-file': r.path },
        });
      }
      // Calibration frames first, at once (GP1 builds its masters at the first object frame, so evening
      // and morning calibrations alike must be there by then); then object frames on the schedule.
      const objects = frames.filter((f) => f.imageType === 'object');
      const ordered = [...frames.filter((f) => f.imageType !== 'object'), ...objects];
      const offsets = objectSchedule(objects, cfg);
      let start = 0;
      let seq = 0;
      let oi = 0;
      for (const f of ordered) {
        if (f.imageType === 'object') {
          if (oi === 0) start = Date.now(); // the first object frame goes at once
          const due = start + offsets[oi++];
          while (Date.now() < due) {
            await sleep(Math.min(1000, due - Date.now()));
            await ctx.heartbeat();
          }
        }
        const ref = await storage.put(frameBytes(f.path, f.gzip), { kind: 'raw', burstId: t.burstId, source: f.path, name: f.storedName });
        await ctx.emit({ topic: 'images.raw', key: t.burstId, value: rawFrameRecord(f, seq++, t.burstId, ref, f === objects[objects.length - 1]) });
      }
      done.add(t.burstId);
      ctx.log.info('injection finished', { burstId: t.burstId, frames: seq });
      return [];
    },
  };
}

export async function createStage(): Promise<StageDefinition<Trigger>> {
  return providerStage(providerConfig(), LocalStorage.fromEnv());
}
