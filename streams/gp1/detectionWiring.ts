/**
 * GP1 detection stage (group `gp1-detection`): gp1.calibrated + alerts.reference → gp1.candidates
 * + gp1.basefiles.
 *
 * Per calibrated frame: detection, astrometry against the reference file's catalog, photometry
 * (streams/gp1/core/detection). Candidate epochs run on EVENT TIME: the epoch T0+E is closed when
 * a frame with DATE-OBS after T0+E arrives, or the last frame of the sequence; its list uses every
 * frame with DATE-OBS ≤ T0+E. A frame that arrives after its epoch was closed revises that epoch and
 * the later closed ones (a new CandidateList with revision + 1); an unchanged frame set emits nothing.
 * Frames that arrive before their burst's reference file wait for it.
 */
import type { StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { writeFits, type TableInput } from '../../lib/fits/index.ts';
import { field, loadConfig } from '../../lib/config/define.ts';
import { TaskPool } from '../../lib/workers/taskPool.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import type { FrameResult } from './core/detection/frame.ts';
import { buildCandidates, type EpochCandidates, type ReferenceCatalog } from './core/detection/candidates.ts';
import { measureFrame, type MeasureRequest } from './detectionTask.ts';
import { flagBits } from './candidateFlags.ts';

export const detectionSchema = {
  workers: field<number>({ env: 'GFT_GP1_DETECT_WORKERS', type: 'int', doc: 'Worker threads measuring frames in parallel (0 = in the stage thread)', default: 2, min: 0, max: 64 }),
  pixelScale: field<number>({ env: 'GFT_PIXEL_SCALE', type: 'number', doc: 'Pixel scale (arcsec/pixel) assumed when a frame has no usable WCS', default: 0.34, min: 0 }),
};

interface Calibrated { frameId: string; burstId: string | null; dateObs: string; exptime: number; storage: StorageRef; raw?: StorageRef | null; lastOfSequence: boolean }
interface Reference { burstId: string; version: number; t0: string; ra: number; dec: number; errorRadiusDeg: number | null; epochsMinutes: number[]; document: StorageRef }

interface Burst {
  ref?: Reference;
  catalog?: ReferenceCatalog;
  pending: Calibrated[];
  results: Map<string, FrameResult>;
  maxDateObs: string;
  ended: boolean;
  emitted: Map<number, { digest: string; revision: number }>;
  /** Stored files of each measured frame (calibrated, raw), for the lists' frameRefs. */
  files: Map<string, { calibrated: StorageRef; raw: StorageRef | null }>;
}


/** GP1 base file: candidate table + light curves + per-frame summary, as a FITS file with BINTABLEs. */
export function baseFile(burstId: string, e: EpochCandidates, results: FrameResult[]): Buffer {
  const c = e.candidates;
  const lc = c.flatMap((x) => x.lightCurve.map((p) => ({ id: x.id, ...p })));
  const tables: TableInput[] = [
    {
      kind: 'table', extname: 'CANDIDATES',
      cards: [{ key: 'BURST_ID', value: burstId }, { key: 'EPOCH', value: e.epoch }, { key: 'EPOCHSEC', value: e.epochSec }, { key: 'REVISION', value: e.revision }],
      columns: [
        { name: 'ID', format: '24A', values: c.map((x) => x.id) },
        { name: 'RA', format: 'D', unit: 'deg', values: c.map((x) => x.ra) },
        { name: 'DEC', format: 'D', unit: 'deg', values: c.map((x) => x.dec) },
        { name: 'POS_ERR', format: 'E', unit: 'arcsec', values: c.map((x) => x.posErrArcsec) },
        { name: 'MAG', format: 'E', values: c.map((x) => x.mag) },
        { name: 'MAG_ERR', format: 'E', values: c.map((x) => x.magErr) },
        { name: 'DIST', format: 'E', unit: 'arcsec', values: c.map((x) => x.distanceArcsec) },
        { name: 'FLAGS', format: 'J', values: c.map((x) => flagBits(x.flags)) },
        { name: 'SCORE', format: 'E', values: c.map((x) => x.score) },
      ],
    },
    {
      kind: 'table', extname: 'LIGHTCURVES',
      columns: [
        { name: 'CAND_ID', format: '24A', values: lc.map((p) => p.id) },
        { name: 'FRAME_ID', format: '32A', values: lc.map((p) => p.frameId) },
        { name: 'T_T0', format: 'D', unit: 's', values: lc.map((p) => p.t) },
        { name: 'MAG', format: 'E', values: lc.map((p) => p.mag) },
        { name: 'MAG_ERR', format: 'E', values: lc.map((p) => p.magErr) },
        { name: 'UPPER', format: 'L', values: lc.map((p) => p.upperLimit) },
        { name: 'SATUR', format: 'L', values: lc.map((p) => p.saturated) },
      ],
    },
    {
      kind: 'table', extname: 'FRAMES',
      columns: [
        { name: 'FRAME_ID', format: '32A', values: results.map((r) => r.frameId) },
        { name: 'DATE_OBS', format: '24A', values: results.map((r) => r.dateObs) },
        { name: 'ZP', format: 'E', values: results.map((r) => r.zeroPoint.zp) },
        { name: 'LIMMAG', format: 'E', values: results.map((r) => r.limitingMag) },
        { name: 'FWHM', format: 'E', unit: 'arcsec', values: results.map((r) => r.fwhmArcsec) },
        { name: 'WCS_RMS', format: 'E', unit: 'arcsec', values: results.map((r) => r.astrometry.rmsArcsec) },
        { name: 'NMATCH', format: 'J', values: results.map((r) => r.astrometry.matched) },
      ],
    },
  ];
  return writeFits(tables);
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** A frame measured ahead of handle() (runner prepare phase), tagged with the reference it used. */
interface Prepared { refVersion: number; result: FrameResult }

export function detectionStage(storage: LocalStorage, opts: { workers?: number; pixelScale?: number } = {}): StageDefinition<Calibrated | Reference> {
  const bursts = new Map<string, Burst>();
  const burst = (id: string) => {
    let b = bursts.get(id);
    if (!b) bursts.set(id, (b = { pending: [], results: new Map(), maxDateObs: '', ended: false, emitted: new Map(), files: new Map() }));
    return b;
  };
  const workers = opts.workers ?? 0;
  let pool: TaskPool | null = null;

  /** Detection + astrometry + photometry of one frame: on the worker pool when there is one. */
  async function compute(b: Burst, f: Calibrated): Promise<FrameResult> {
    const bytes = await storage.get(f.storage);
    const req: MeasureRequest = { frameId: f.frameId, bytes, hint: { ra: b.ref!.ra, dec: b.ref!.dec, scaleArcsec: opts.pixelScale ?? 0.34 }, catalog: b.catalog! };
    if (!pool) return measureFrame(req);
    // move the bytes to the worker (copy first when the Buffer is a view on a shared pool slab)
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.prototype.slice.call(bytes);
    req.bytes = own;
    return pool.run<FrameResult>('measureFrame', [req], [own.buffer as ArrayBuffer]);
  }

  function record(b: Burst, f: Calibrated, result: FrameResult): void {
    b.results.set(f.frameId, result);
    b.files.set(f.frameId, { calibrated: f.storage, raw: f.raw ?? null });
    if (f.dateObs > b.maxDateObs) b.maxDateObs = f.dateObs;
    if (f.lastOfSequence) b.ended = true;
  }

  interface Closed { e: EpochCandidates; minutes: number; revision: number; used: FrameResult[]; last: FrameResult | undefined }
  function epochsToEmit(b: Burst): Closed[] {
    const ref = b.ref!;
    const t0 = Date.parse(ref.t0);
    const results = [...b.results.values()].sort((x, y) => x.dateObs.localeCompare(y.dateObs) || x.frameId.localeCompare(y.frameId));
    const closed = ref.epochsMinutes.filter((m) => b.ended || Date.parse(b.maxDateObs) > t0 + m * 60_000);
    if (!closed.length) return [];
    const lists = buildCandidates(closed.map((m) => m * 60), results, b.catalog!, { t0: ref.t0, ra: ref.ra, dec: ref.dec, errorRadiusDeg: ref.errorRadiusDeg });
    const outs: Closed[] = [];
    lists.forEach((e, i) => {
      const minutes = closed[i];
      const prev = b.emitted.get(minutes);
      if (prev?.digest === e.revision) return;
      const revision = prev ? prev.revision + 1 : 0;
      b.emitted.set(minutes, { digest: e.revision, revision });
      const used = results.filter((r) => e.frameIds.includes(r.frameId));
      outs.push({ e, minutes, revision, used, last: used[used.length - 1] });
    });
    return outs;
  }

  return {
    name: 'gp1-detection',
    inputs: ['gp1.calibrated', 'alerts.reference'],
    outputs: ['gp1.candidates', 'gp1.basefiles'],
    prepareConcurrency: Math.max(1, workers),
    async init() {
      if (workers > 0) pool = new TaskPool(new URL('./detectionTask.ts', import.meta.url), workers);
    },
    async close() {
      await pool?.close();
      pool = null;
    },
    // Frames of a chunk are measured in parallel on the pool; handle() then folds them in order.
    async prepare(msg): Promise<Prepared | undefined> {
      if (msg.topic !== 'gp1.calibrated') return undefined;
      const f = msg.value as Calibrated;
      const b = f.burstId ? bursts.get(f.burstId) : undefined;
      if (!b?.ref || !b.catalog) return undefined; // handled (and measured) once the reference is there
      return { refVersion: b.ref.version, result: await compute(b, f) };
    },
    async handle(msg, ctx) {
      let burstId: string;
      if (msg.topic === 'alerts.reference') {
        const r = msg.value as Reference;
        burstId = r.burstId;
        const b = burst(burstId);
        if (b.ref && b.ref.version >= r.version) return [];
        type Star = { ra: number; dec: number; mag: number };
        const doc = JSON.parse((await storage.get(r.document)).toString('utf8')) as { catalog: Star[] | { stars: Star[] } };
        const stars = Array.isArray(doc.catalog) ? doc.catalog : doc.catalog.stars;
        b.ref = r;
        b.catalog = { ra: Float64Array.from(stars, (s) => s.ra), dec: Float64Array.from(stars, (s) => s.dec), mag: Float64Array.from(stars, (s) => s.mag) };
        if (!b.catalog.ra.length) ctx.log.warn('reference catalog is empty: astrometry will fail', { burstId });
        const waiting = b.pending.splice(0);
        const results = await Promise.all(waiting.map((f) => compute(b, f)));
        waiting.forEach((f, i) => record(b, f, results[i]));
      } else {
        const f = msg.value as Calibrated;
        if (!f.burstId) throw invalidInput('gp1.no_burst', `calibrated frame ${f.frameId} has no burst id`);
        burstId = f.burstId;
        const b = burst(burstId);
        if (!b.ref) {
          b.pending.push(f);
          return [];
        }
        const p = msg.prepared as Prepared | undefined;
        record(b, f, p && p.refVersion === b.ref.version ? p.result : await compute(b, f));
      }
      const b = burst(burstId);
      if (!b.ref) return [];
      const outs: Output[] = [];
      for (const { e, minutes, revision, used, last } of epochsToEmit(b)) {
        const ref = await storage.put(baseFile(burstId, e, used), { kind: 'basefile', burstId, source: 'gp1-detection', name: `${burstId}_T0+${minutes}min_r${revision}.fits`, created: e.epoch });
        outs.push({ topic: 'gp1.basefiles', key: burstId, value: { burstId, epochMinutes: minutes, revision, frames: e.frameIds, storage: ref } });
        outs.push({
          topic: 'gp1.candidates', key: burstId,
          value: {
            burstId, epochMinutes: minutes, epochTime: e.epoch, revision, frames: e.frameIds,
            zeroPoint: last ? finite(last.zeroPoint.zp) : null, limitingMag: last ? finite(last.limitingMag) : null,
            candidates: e.candidates.map((c) => ({
              id: c.id, ra: c.ra, dec: c.dec, posErrArcsec: c.posErrArcsec, mag: c.mag, magErr: c.magErr, distanceArcsec: c.distanceArcsec,
              fadingIndex: c.fading ? c.fading.alpha : null, flags: flagBits(c.flags), score: c.score,
              lightCurve: c.lightCurve.filter((p) => !p.upperLimit).map((p) => ({ frameId: p.frameId, tSinceT0: p.t, mag: p.mag, magErr: p.magErr, saturated: p.saturated })),
            })),
            baseFile: ref,
            frameRefs: e.frameIds.flatMap((id) => {
              const fr = b.files.get(id);
              return fr ? [{ frameId: id, calibrated: fr.calibrated, raw: fr.raw }] : [];
            }),
          },
        });
        ctx.log.info('candidate list', { burstId, epochMinutes: minutes, revision, frames: e.frameIds.length, candidates: e.candidates.length });
      }
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<Calibrated | Reference>> {
  const cfg = loadConfig(detectionSchema);
  return detectionStage(LocalStorage.fromEnv(), { workers: cfg.workers, pixelScale: cfg.pixelScale });
}
