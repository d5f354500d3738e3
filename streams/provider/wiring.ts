/**
 * Images provider stage (group `provider`): on a GP1 trigger, injects the frames of the burst's
 * folder (GFT_PROVIDER_IMAGES: one folder, a root with a folder per burst id, or a template with
 * {burstId}/{date}/{night}: core/burstImages.ts) into local storage and announces each on `images.raw`. Calibration frames go first, at
 * once, in DATE-OBS order; then object frames in DATE-OBS order on the schedule: by default their
 * DATE-OBS spacing divided by the speed (pacing `date-obs`), or one every interval/speed seconds
 * (pacing `interval`); speed 0 = as fast as possible.
 * Bad files go to `provider.dlq` with the reason (their bytes kept in storage, kind 'other'); the
 * provider goes on. What frames must look like: README.md.
 *
 * State (store of the gp1.trigger partition, changelog `provider.changelog`):
 * - `plan/<burst>`: the frames to release, in order, each with its release offset (ms after the
 *   start); deleted once every frame is out;
 * - `burst/<burst>`: { startedAt (wall clock, ms), next (frames released), total, done }.
 * The trigger only makes the plan (and dead-letters bad files) and is committed at once; frames are
 * released by the stage's punctuation (Kafka Streams' wall-clock punctuator) as they fall due. A
 * restart or a rebalance resumes from the restored `next` on the original timeline: at most the
 * frames of the last punctuation before a kill are announced twice, with the same ids and checksums
 * (GP1 deduplicates by frame id). A burst already planned is never injected again.
 */
import { readFileSync, statSync } from 'node:fs';
import type { StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { providerConfig, type ProviderConfig } from './config.ts';
import { burstImagesDir } from './core/burstImages.ts';
import { dateObsOffsetsMs, frameBytes, inspectFrame, listFrameFiles, orderFrames, releaseOffsetsMs, type FrameFile, type Rejected } from './core/source.ts';

interface Trigger { burstId: string; kind: 'trigger' | 'update' | 'cancel'; referenceVersion: number; t0: string | null; reason: string; issuedAt: number }

/** A frame of a burst's plan: the file, its record fields, when it is due (ms after the start). */
interface Planned { f: FrameFile; dueMs: number; last: boolean }
interface Progress { startedAt: number; next: number; total: number; done: boolean }

/** Frames released per punctuation at most (keeps each written unit small when many are due). */
const RELEASE_BATCH = 8;

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

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

export function providerStage(cfg: ProviderConfig, storage: LocalStorage): StageDefinition<Trigger> {
  return {
    name: 'provider',
    inputs: ['gp1.trigger'],
    outputs: ['images.raw', 'provider.dlq'],
    state: true,
    // finished bursts keep `burst/<id>` (~80 bytes: never injected twice); open = not done yet
    held: { bursts: (store) => store.keys('burst/').filter((k) => !store.get<Progress>(k)!.done).length },
    async handle(msg, ctx) {
      const t = msg.value;
      if (t.kind !== 'trigger') return []; // updates move the pointing, not the frames; cancels handled by GP1
      if (ctx.store.has(`burst/${t.burstId}`)) return []; // planned (or injected) already
      if (!cfg.images) throw invalidInput('provider.no_images', 'no image directory configured (GFT_PROVIDER_IMAGES)');
      const where = burstImagesDir(cfg.images, t, isDir);
      if ('error' in where) throw invalidInput('provider.no_images_for_burst', where.error);
      const { candidates, ignored } = listFrameFiles(where.dir);
      const inspected: Array<FrameFile | Rejected> = [];
      for (const p of candidates) {
        inspected.push(inspectFrame(p, { checkPixels: cfg.checkPixels, cameraName: cfg.camera || undefined, allowedBitpix: cfg.bitpix }));
        await ctx.heartbeat();
      }
      const { frames, rejected } = orderFrames(inspected);
      ctx.log.info('injecting frames', {
        burstId: t.burstId, frames: frames.length, rejected: rejected.length, ignored: ignored.length, dir: where.dir, rule: where.rule, speed: cfg.speed || 'max', pacing: cfg.pacing,
        ...(ignored.length ? { ignoredFiles: ignored.slice(0, 20).map((i) => `${i.path.split('/').pop()}: ${i.reason}`) } : {}),
      });
      const outs: Output[] = [];
      for (const r of rejected) {
        const ref = await storage.put(readFileSync(r.path), { kind: 'other', burstId: t.burstId, source: r.path, name: r.path.split('/').pop() });
        outs.push({
          topic: 'provider.dlq',
          key: r.path,
          value: { stage: 'provider', errorCode: r.code, errorMessage: r.reason, sourceTopic: `file:${r.path}`, partition: -1, offset: '-1', failedAt: t.issuedAt, key: Buffer.from(r.path), value: Buffer.from(ref.uri) },
          headers: { 'gft-error-code': r.code, 'gft-error-message': r.reason, 'gft-stage': 'provider', 'gft-source-file': r.path },
        });
      }
      // Calibration frames first, at once (GP1 builds its masters at the first object frame, so evening
      // and morning calibrations alike must be there by then); then object frames on the schedule.
      const objects = frames.filter((f) => f.imageType === 'object');
      const offsets = objectSchedule(objects, cfg);
      const plan: Planned[] = [
        ...frames.filter((f) => f.imageType !== 'object').map((f) => ({ f, dueMs: 0, last: false })),
        ...objects.map((f, i) => ({ f, dueMs: offsets[i], last: i === objects.length - 1 })),
      ];
      ctx.store.put(`plan/${t.burstId}`, plan);
      ctx.store.put(`burst/${t.burstId}`, { startedAt: ctx.clock.now(), next: 0, total: plan.length, done: plan.length === 0 } satisfies Progress);
      return outs;
    },
    punctuate: {
      everyMs: 200,
      // releases the frames that fell due, a few at a time, and records how far each burst got
      async run(ctx) {
        const outputs: Output[] = [];
        let more = false;
        let nextInMs = Infinity;
        for (const key of ctx.store.keys('burst/')) {
          const p = ctx.store.get<Progress>(key)!;
          if (p.done) continue;
          const burstId = key.slice('burst/'.length);
          const plan = ctx.store.get<Planned[]>(`plan/${burstId}`) ?? [];
          const now = ctx.clock.now();
          while (p.next < plan.length && outputs.length < RELEASE_BATCH && now >= p.startedAt + plan[p.next].dueMs) {
            const { f, last } = plan[p.next];
            const ref = await storage.put(frameBytes(f.path, f.gzip), { kind: 'raw', burstId, source: f.path, name: f.storedName });
            outputs.push({ topic: 'images.raw', key: burstId, value: rawFrameRecord(f, p.next, burstId, ref, last) });
            p.next++;
          }
          if (p.next >= plan.length) {
            p.done = true;
            ctx.store.delete(`plan/${burstId}`);
            ctx.log.info('injection finished', { burstId, frames: p.next });
          } else if (now >= p.startedAt + plan[p.next].dueMs) more = true;
          else nextInMs = Math.min(nextInMs, p.startedAt + plan[p.next].dueMs - now); // wake up when the next frame falls due
          ctx.store.put(key, p);
          if (outputs.length >= RELEASE_BATCH) {
            more = true;
            break;
          }
        }
        return { outputs, more, nextInMs };
      },
    },
  };
}

export async function createStage(): Promise<StageDefinition<Trigger>> {
  return providerStage(providerConfig(), LocalStorage.fromEnv());
}
