/**
 * GP1 detection stage (group `gp1-detection`): gp1.calibrated + alerts.reference → gp1.candidates
 * + gp1.basefiles.
 *
 * Per calibrated frame: detection, astrometry against the reference file's catalog, photometry
 * (streams/gp1/core/detection). Candidate epochs run on EVENT TIME: the epoch T0+E is closed when
 * a frame with DATE-OBS after T0+E arrives, or the last frame of the sequence; its list uses every
 * frame with DATE-OBS ≤ T0+E. A frame that arrives after its epoch was closed revises that epoch and
 * the later closed ones (a new CandidateList with revision + 1); an unchanged frame set emits nothing.
 *
 * The reference file is a global table (alerts.reference, read in full by every instance): the frames
 * of a burst join with it whichever instance holds their partition. A frame whose burst has no
 * reference once the table is read to its end is bad input (gp1.no_reference).
 *
 * State (store of the gp1.calibrated partition, changelog `gp1-detection.changelog`):
 * - `frame/<burst>/<frameId>`: a measured frame — its DATE-OBS, end-of-sequence flag, stored files and
 *   its measurement (the FrameResult as exact JSON in storage, kind 'measurement': a claim check,
 *   not megabytes in the changelog);
 * - `emitted/<burst>`: per epoch (minutes), the digest and revision of the last list sent.
 * The epochs are recomputed from these, so a restart or the next owner of the partition goes on with
 * the same lists and revisions. Measurements loaded back from storage are cached by checksum.
 * - `closed/<burst>` (lib/runtime/closing.ts): once the burst is closed — its last frame measured and
 *   every planned epoch's list sent, or no frame for GFT_BURST_IDLE_HOURS of event time — the
 *   entries above are deleted (and its measurements and catalog leave the caches); the marker keeps
 *   the ids of the frames measured, so a redelivered one is ignored, while a frame never seen goes
 *   to the DLQ as `gp1.burst_closed` (its epochs' lists were final). Deleted after
 *   GFT_CLOSED_RETENTION_DAYS.
 */
import type { StageContext, StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { writeFits, type TableInput } from '../../lib/fits/index.ts';
import { field, loadConfig } from '../../lib/config/define.ts';
import { TaskPool } from '../../lib/workers/taskPool.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import type { FrameResult } from './core/detection/frame.ts';
import { buildCandidates, type EpochCandidates, type ReferenceCatalog } from './core/detection/candidates.ts';
import { measureFrame, type MeasureRequest } from './detectionTask.ts';
import { flagBits } from './candidateFlags.ts';
import { Lru } from '../../lib/runtime/lru.ts';
import { baseFileCards } from './core/detection/baseFile.ts';
import { parseExact, stringifyExact } from '../../lib/runtime/exactJson.ts';
import { burstsUnder, closeBurst, closedOf, closingConfig, type ClosedMarker, type ClosingConfig } from '../../lib/runtime/closing.ts';

export const detectionSchema = {
  workers: field<number>({ env: 'GFT_GP1_DETECT_WORKERS', type: 'int', doc: 'Worker threads measuring frames in parallel (0 = in the stage thread)', default: 2, min: 0, max: 64 }),
  pixelScale: field<number>({ env: 'GFT_PIXEL_SCALE', type: 'number', doc: 'Pixel scale (arcsec/pixel) assumed when a frame has no usable WCS', default: 0.34, min: 0 }),
};

interface Calibrated { frameId: string; burstId: string | null; dateObs: string; exptime: number; storage: StorageRef; raw?: StorageRef | null; lastOfSequence: boolean }
interface Reference { burstId: string; version: number; t0: string; ra: number; dec: number; errorRadiusDeg: number | null; epochsMinutes: number[]; document: StorageRef }

/** State entries (see the header). */
interface MeasuredFrame { frameId: string; dateObs: string; lastOfSequence: boolean; calibrated: StorageRef; raw: StorageRef | null; refVersion: number; result: StorageRef }
type Emitted = Record<string, { digest: string; revision: number }>;
type ClosedDetection = ClosedMarker & { frames: string[] };


/** GP1 base file: candidate table + light curves + per-frame summary, as a FITS file with BINTABLEs. */
export function baseFile(burstId: string, e: EpochCandidates, results: FrameResult[]): Buffer {
  const c = e.candidates;
  const lc = c.flatMap((x) => x.lightCurve.map((p) => ({ id: x.id, ...p })));
  const tables: TableInput[] = [
    {
      kind: 'table', extname: 'CANDIDATES',
      cards: baseFileCards(burstId, e),
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

export function detectionStage(storage: LocalStorage, opts: { workers?: number; pixelScale?: number; closing?: ClosingConfig } = {}): StageDefinition<Calibrated> {
  const closing = opts.closing ?? closingConfig();
  const workers = opts.workers ?? 0;
  let pool: TaskPool | null = null;
  /**
   * Caches (never state), bounded so that a stage running for months holds a bounded amount of memory:
   * catalogs by reference document checksum, measurements by checksum (a few hundred frames: the
   * bursts being observed; older ones are read back from storage if a late frame revises them).
   */
  const catalogs = new Lru<string, ReferenceCatalog>(8);
  const results = new Lru<string, FrameResult>(200);

  async function catalogOf(r: Reference, log: (m: string, f: Record<string, unknown>) => void): Promise<ReferenceCatalog> {
    let c = catalogs.get(r.document.sha256);
    if (!c) {
      type Star = { ra: number; dec: number; mag: number };
      const doc = JSON.parse((await storage.get(r.document)).toString('utf8')) as { catalog: Star[] | { stars: Star[] } };
      const stars = Array.isArray(doc.catalog) ? doc.catalog : doc.catalog.stars;
      c = { ra: Float64Array.from(stars, (s) => s.ra), dec: Float64Array.from(stars, (s) => s.dec), mag: Float64Array.from(stars, (s) => s.mag) };
      if (!c.ra.length) log('reference catalog is empty: astrometry will fail', { burstId: r.burstId });
      catalogs.set(r.document.sha256, c);
    }
    return c;
  }

  async function reference(ctx: StageContext, burstId: string): Promise<Reference> {
    const r = await ctx.table<Reference>('alerts.reference').lookup(burstId);
    if (!r) throw invalidInput('gp1.no_reference', `no reference file for burst ${burstId} on alerts.reference: GP1 cannot measure its frames`);
    return r;
  }

  /** Detection + astrometry + photometry of one frame: on the worker pool when there is one. */
  async function compute(r: Reference, catalog: ReferenceCatalog, f: Calibrated): Promise<FrameResult> {
    const bytes = await storage.get(f.storage);
    const req: MeasureRequest = { frameId: f.frameId, bytes, hint: { ra: r.ra, dec: r.dec, scaleArcsec: opts.pixelScale ?? 0.34 }, catalog };
    if (!pool) return measureFrame(req);
    // move the bytes to the worker (copy first when the Buffer is a view on a shared pool slab)
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.prototype.slice.call(bytes);
    req.bytes = own;
    return pool.run<FrameResult>('measureFrame', [req], [own.buffer as ArrayBuffer]);
  }

  async function measurement(ref: StorageRef): Promise<FrameResult> {
    let r = results.get(ref.sha256);
    if (!r) results.set(ref.sha256, (r = parseExact<FrameResult>((await storage.get(ref)).toString('utf8'))));
    return r;
  }

  interface Closed { e: EpochCandidates; minutes: number; revision: number; used: FrameResult[]; last: FrameResult | undefined }
  /** The epochs whose list changed, from the burst's measured frames in the store. */
  async function epochsToEmit(ctx: StageContext, ref: Reference, catalog: ReferenceCatalog): Promise<Closed[]> {
    const burstId = ref.burstId;
    const frames = ctx.store.keys(`frame/${burstId}/`).map((k) => ctx.store.get<MeasuredFrame>(k)!);
    const maxDateObs = frames.reduce((m, f) => (f.dateObs > m ? f.dateObs : m), '');
    const ended = frames.some((f) => f.lastOfSequence);
    const t0 = Date.parse(ref.t0);
    const closed = ref.epochsMinutes.filter((m) => ended || Date.parse(maxDateObs) > t0 + m * 60_000);
    if (!closed.length) return [];
    const measured = await Promise.all(frames.map((f) => measurement(f.result)));
    const sorted = measured.sort((x, y) => x.dateObs.localeCompare(y.dateObs) || x.frameId.localeCompare(y.frameId));
    const lists = buildCandidates(closed.map((m) => m * 60), sorted, catalog, { t0: ref.t0, ra: ref.ra, dec: ref.dec, errorRadiusDeg: ref.errorRadiusDeg });
    const emitted = ctx.store.get<Emitted>(`emitted/${burstId}`) ?? {};
    const outs: Closed[] = [];
    lists.forEach((e, i) => {
      const minutes = closed[i];
      const prev = emitted[String(minutes)];
      if (prev?.digest === e.revision) return;
      const revision = prev ? prev.revision + 1 : 0;
      emitted[String(minutes)] = { digest: e.revision, revision };
      const used = sorted.filter((r) => e.frameIds.includes(r.frameId));
      outs.push({ e, minutes, revision, used, last: used[used.length - 1] });
    });
    if (outs.length) ctx.store.put(`emitted/${burstId}`, emitted);
    return outs;
  }

  /** Closes a burst: its frames and emitted lists leave the state (and its measurements the cache) for a marker. */
  function close(ctx: StageContext, burstId: string, closedAt: string, reason: string): void {
    const frames = ctx.store.keys(`frame/${burstId}/`).map((k) => ctx.store.get<MeasuredFrame>(k)!);
    for (const f of frames) results.delete(f.result.sha256);
    const ref = ctx.table<Reference>('alerts.reference').get(burstId);
    if (ref) catalogs.delete(ref.document.sha256);
    closeBurst(ctx.store, burstId, { prefixes: [`frame/${burstId}/`, `emitted/${burstId}`], closedAt, reason, keep: { frames: frames.map((f) => f.frameId).sort() }, retentionDays: closing.retentionDays });
    ctx.log.info('burst closed', { burstId, reason, frames: frames.length });
  }

  /** When a burst's first frame arrives: closes the open bursts that saw no frame for the idle time (event time). */
  function sweep(ctx: StageContext, current: string, now: string): void {
    for (const b of burstsUnder(ctx.store, 'frame/')) {
      if (b === current) continue;
      const last = ctx.store.keys(`frame/${b}/`).reduce((x, k) => {
        const d = ctx.store.get<MeasuredFrame>(k)!.dateObs;
        return d > x ? d : x;
      }, '');
      if (Date.parse(now) - Date.parse(last) > closing.idleHours * 3_600_000) close(ctx, b, now, `idle: no frame for ${closing.idleHours} h`);
    }
  }

  /** Each caches' entries times a typical size: measurements ~ their JSON, catalogs 24 bytes a star. */
  const cacheBytes = () => results.values().reduce((n, r) => n + 200 * (r.sources?.length ?? 0), 0) + catalogs.values().reduce((n, c) => n + 24 * c.ra.length, 0);

  return {
    name: 'gp1-detection',
    inputs: ['gp1.calibrated'],
    tables: ['alerts.reference'],
    state: true,
    outputs: ['gp1.candidates', 'gp1.basefiles'],
    prepareConcurrency: Math.max(1, workers),
    // a frame takes ~0.3-1 s: its list goes out with its own chunk, not after a whole fetched batch
    maxChunk: Math.max(2, 2 * workers),
    async init() {
      if (workers > 0) pool = new TaskPool(new URL('./detectionTask.ts', import.meta.url), workers);
    },
    async close() {
      await pool?.close();
      pool = null;
    },
    revoked() {
      results.clear();
    },
    held: { bursts: (store) => burstsUnder(store, 'frame/').length, cacheBytes },
    // Frames of a chunk are measured in parallel on the pool; handle() then folds them in order.
    async prepare(msg, ctx): Promise<Prepared | undefined> {
      const f = msg.value;
      if (!f.burstId) return undefined;
      const r = ctx.table<Reference>('alerts.reference').get(f.burstId);
      if (!r) return undefined; // handled (and measured) once the reference is there
      return { refVersion: r.version, result: await compute(r, await catalogOf(r, (m, x) => ctx.log.warn(m, x)), f) };
    },
    async handle(msg, ctx) {
      const f = msg.value;
      if (!f.burstId) throw invalidInput('gp1.no_burst', `calibrated frame ${f.frameId} has no burst id`);
      const burstId = f.burstId;
      const closed = closedOf<ClosedDetection>(ctx.store, burstId);
      if (closed) {
        if (closed.frames.includes(f.frameId)) return []; // redelivered: measured before the burst closed
        throw invalidInput('gp1.burst_closed', `frame ${f.frameId} of burst ${burstId} arrived after the burst was closed at ${closed.closedAt} (${closed.reason}): its epochs' lists are final`);
      }
      if (!ctx.store.keys(`frame/${burstId}/`).length) sweep(ctx, burstId, f.dateObs);
      const ref = await reference(ctx, burstId);
      const catalog = await catalogOf(ref, (m, x) => ctx.log.warn(m, x));
      const key = `frame/${burstId}/${f.frameId}`;
      const known = ctx.store.get<MeasuredFrame>(key);
      if (!known || known.refVersion !== ref.version || known.calibrated.sha256 !== f.storage.sha256) {
        const p = msg.prepared as Prepared | undefined;
        const result = p && p.refVersion === ref.version ? p.result : await compute(ref, catalog, f);
        const json = Buffer.from(stringifyExact(result));
        const stored = await storage.put(json, { kind: 'measurement', burstId, source: 'gp1-detection', name: `${f.frameId}-gp1.json`, created: f.dateObs });
        results.set(stored.sha256, result);
        ctx.store.put(key, { frameId: f.frameId, dateObs: f.dateObs, lastOfSequence: f.lastOfSequence, calibrated: f.storage, raw: f.raw ?? null, refVersion: ref.version, result: stored } satisfies MeasuredFrame);
      }
      const outs: Output[] = [];
      for (const { e, minutes, revision, used, last } of await epochsToEmit(ctx, ref, catalog)) {
        const stored = await storage.put(baseFile(burstId, e, used), { kind: 'basefile', burstId, source: 'gp1-detection', name: `${burstId}_T0+${minutes}min_r${revision}.fits`, created: e.epoch });
        outs.push({ topic: 'gp1.basefiles', key: burstId, value: { burstId, epochMinutes: minutes, revision, frames: e.frameIds, storage: stored } });
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
            baseFile: stored,
            frameRefs: e.frameIds.flatMap((id) => {
              const fr = ctx.store.get<MeasuredFrame>(`frame/${burstId}/${id}`);
              return fr ? [{ frameId: id, calibrated: fr.calibrated, raw: fr.raw }] : [];
            }),
          },
        });
        ctx.log.info('candidate list', { burstId, epochMinutes: minutes, revision, frames: e.frameIds.length, candidates: e.candidates.length });
      }
      // the last frame is in and every planned epoch has its list: nothing of this burst will change
      const emitted = ctx.store.get<Emitted>(`emitted/${burstId}`) ?? {};
      const ended = ctx.store.keys(`frame/${burstId}/`).some((k) => ctx.store.get<MeasuredFrame>(k)!.lastOfSequence);
      if (ended && ref.epochsMinutes.every((m) => emitted[String(m)])) close(ctx, burstId, f.dateObs, 'last frame of the sequence and every epoch done');
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<Calibrated>> {
  const cfg = loadConfig(detectionSchema);
  return detectionStage(LocalStorage.fromEnv(), { workers: cfg.workers, pixelScale: cfg.pixelScale });
}
