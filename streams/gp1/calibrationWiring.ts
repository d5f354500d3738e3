/**
 * GP1 calibration stage (group `gp1-calibration`): images.raw → gp1.masters + gp1.calibrated.
 *
 * Per burst, calibration frames (bias/dark/flat) are remembered as they arrive — their storage
 * reference and header, not their pixels, and no temporary file: they are already in local storage.
 * At the first object frame the masters are built and validated by the calibration core
 * (buildNightMasters, the code of `gft gp1 masters`), reading the frames back from storage one at a
 * time, announced on gp1.masters with their verdict and provenance, and the accepted ones stored.
 * Each object frame is then calibrated as it arrives (FrameCalibrator, the code of
 * `gft gp1 calibrate`) against the masters as stored (read back from their bytes, so a replay that
 * loads them from storage calibrates identically): image (counts/s) + WEIGHT + MASK to storage, the
 * record with sky level, noise and FWHM.
 *
 * Threads: with GFT_GP1_CAL_WORKERS > 0, object frames of a fetched chunk are calibrated ahead of
 * handle() on a calibration worker pool (runner prepare phase), so the stage thread stays free for the
 * other stages of a one-process chain; handle() then stores and announces them in order. Results are
 * identical either way.
 *
 * State (store of the images.raw partition, changelog `gp1-calibration.changelog`):
 * - `cal/<burst>/<file name>`: a calibration frame's storage reference, until the masters are built;
 * - `masters/<burst>`: the accepted masters as stored ({ name, storage, builtAt }), once built — a
 *   restart or the next owner of the partition calibrates the burst's later frames against exactly these;
 * - `closed/<burst>` (lib/runtime/closing.ts): once the burst is closed — its last frame calibrated,
 *   cancelled, or no frame for GFT_BURST_IDLE_HOURS of event time — its entries above are deleted
 *   and its calibrator leaves the cache; the marker keeps the masters' references, so a late or
 *   redelivered object frame is still calibrated identically (read back from storage), and is
 *   deleted after GFT_CLOSED_RETENTION_DAYS.
 * Cancellations come from the gp1.trigger global table (the latest record per burst). Headers of
 * calibration frames and calibrators are caches (rebuilt from storage when absent).
 *
 * Idempotent: a frame id already calibrated is calibrated again to identical bytes (content-addressed);
 * frames of cancelled bursts are dropped.
 */
import type { StageContext, StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput } from '../../lib/runtime/errors.ts';
import { field, loadConfig } from '../../lib/config/define.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import { cameraFromSpec, type CameraConfig } from './core/camera.ts';
import { CalibrationError } from './core/calibration/calibrate.ts';
import { masterBytes, rawFrameFromBytes, rawFrameHeader, readMasterBytes } from './core/calibration/io.ts';
import type { Master, MasterResult } from './core/calibration/masters.ts';
import { buildNightMasters, NightMastersError, type FrameEntry } from './core/calibration/nightMasters.ts';
import { CalibrationPool } from './core/calibration/pool.ts';
import { Lru } from '../../lib/runtime/lru.ts';
import { burstsUnder, closeBurst, closedOf, closingConfig, type ClosedMarker, type ClosingConfig } from '../../lib/runtime/closing.ts';
import { FrameCalibrator, FrameCalibrationError, type FrameCalibration } from './frameCalibrator.ts';

export const calibrationSchema = {
  camera: field<string>({ env: 'GFT_GP1_CAMERA', type: 'string', doc: 'Camera description: a built-in name (coatli, colibri-ddrago, ratir-c1), a camera JSON file, or FILE.json#name', default: 'coatli' }),
  minFrames: field<number>({ env: 'GFT_GP1_MIN_FRAMES', type: 'int', doc: 'Override of the minimum frames per master (0 = camera default)', default: 0, min: 0 }),
  pixelScale: field<number>({ env: 'GFT_PIXEL_SCALE', type: 'number', doc: 'Pixel scale (arcsec/pixel) for the FWHM in arcsec', default: 0.34, min: 0 }),
  workers: field<number>({ env: 'GFT_GP1_CAL_WORKERS', type: 'int', doc: 'Worker threads calibrating object frames ahead of the stage thread (0 = in the stage thread)', default: 0, min: 0, max: 64 }),
};

interface RawFrameRec {
  frameId: string; burstId: string | null; seq: number; fileName: string; imageType: string; dateObs: string; exptime: number; filter: string | null;
  camera: string; binning: string; width: number; height: number; bitpix: number; compressed: boolean; storage: StorageRef; lastOfSequence: boolean;
}
interface Trigger { burstId: string; kind: string }

/** State entries (see the header). */
interface CalEntry { fileName: string; storage: StorageRef; dateObs?: string }
interface StoredMasters { masters: Array<{ name: string; storage: StorageRef }>; builtAt?: string }
type ClosedCalibration = ClosedMarker & Partial<StoredMasters>;

/** Object frames calibrated ahead of handle() (workers). */
type Prepared = { calibration: FrameCalibration } | { error: unknown };

/** What `gft gp1 masters` accepts as file names (the rest of a folder is not a frame). */
const FITS_NAME = /\.fits?(\.fz)?$/i;

export function calibrationStage(cfg: ReturnType<typeof loadConfig<typeof calibrationSchema>>, storage: LocalStorage, closing: ClosingConfig = closingConfig()): StageDefinition<RawFrameRec> {
  /**
   * Caches, bounded (the state store holds what must be remembered): calibrators per burst and masters
   * digest — a burst's masters are ~80 MB of pixels for a COATLI chip, so only the last few bursts keep
   * theirs — and headers of calibration frames by sha256 until their burst's masters are built.
   */
  const calibrators = new Lru<string, FrameCalibrator>(2, { maxBytes: 512 * 2 ** 20, sizeOf: (c) => c.bytes });
  const headers = new Lru<string, Omit<FrameEntry, 'load'>>(2000);
  const mastersKey = (burstId: string, m: StoredMasters) => `${burstId} ${m.masters.map((x) => x.storage.sha256).join(',')}`;
  const cancelled = (ctx: StageContext, burstId: string) => ctx.table<Trigger>('gp1.trigger').get(burstId)?.kind === 'cancel';

  /** The burst's calibrator, from the masters in its state (read back from storage when not cached). */
  async function calibratorOf(burstId: string, m: StoredMasters): Promise<FrameCalibrator> {
    const k = mastersKey(burstId, m);
    let c = calibrators.get(k);
    if (!c) {
      const built: Master[] = [];
      for (const x of m.masters) built.push(readMasterBytes(await storage.get(x.storage), `${x.name}.fits`));
      c = FrameCalibrator.fromMasters(built.map((master) => ({ master, accepted: true })), cfg.camera);
      calibrators.set(k, c);
    }
    return c;
  }

  /** A calibration frame for buildNightMasters: its header (cached at arrival, else read again) and a loader. */
  async function frameEntry(e: CalEntry): Promise<FrameEntry> {
    const load = async () => rawFrameFromBytes(await storage.get(e.storage), e.fileName, e.storage.sha256);
    let h = headers.get(e.storage.sha256);
    if (!h) {
      try {
        h = { name: e.fileName, ...rawFrameHeader(await storage.get(e.storage)) };
      } catch (err) {
        if ((err as { retriable?: boolean }).retriable) throw err;
        h = { name: e.fileName, unreadable: (err as Error).message };
      }
    }
    return { ...h, name: e.fileName, load };
  }
  let cameraSpec: { camera: CameraConfig | null; cameras: CameraConfig[] } | null = null;
  const camera = () => (cameraSpec ??= cameraFromSpec(cfg.camera));
  const workers = cfg.workers;
  let pool: CalibrationPool | null = null;

  /**
   * The bank's stand-in for a master the night could not make (issue 20 item 5): the newest accepted
   * master in storage of the same kind, camera, binning and filter, dated at or before the night (every
   * stored master is an accepted one; the name carries kind, filter, camera, binning and date).
   */
  async function bankMaster(q: { kind: string; camera: string; binning: string; filter: string | null; before: string | null }): Promise<{ name: string; sha256: string; dateObs: string; storage: StorageRef } | null> {
    const f = q.filter ? `-${q.filter.replace(/[^A-Za-z0-9_.+]/g, '_')}` : '';
    const re = new RegExp(`^master-${q.kind}${f.replace(/[.+]/g, '\\$&')}-${q.camera.replace(/[^\w-]/g, '\\$&')}-${q.binning}-(\\d{8}T\\d{6})\\.fits$`);
    const limit = q.before ? q.before.replace(/[-:]/g, '').replace(/\.\d+/, '').replace(/Z$/, '').slice(0, 15) : null;
    let best: { name: string; sha256: string; stamp: string } | null = null;
    for await (const o of storage.backend.list('meta')) {
      if (!o.key.endsWith('.json')) continue;
      let m: { sha256: string; kind: string; name?: string };
      try {
        m = JSON.parse((await storage.backend.get(o.key)).toString('utf8')) as typeof m;
      } catch {
        continue;
      }
      const hit = m.kind === 'master' && m.name ? re.exec(m.name) : null;
      if (!hit || (limit && hit[1] > limit)) continue;
      if (!best || hit[1] > best.stamp || (hit[1] === best.stamp && m.sha256 < best.sha256)) best = { name: m.name!.replace(/\.fits$/, ''), sha256: m.sha256, stamp: hit[1] };
    }
    if (!best) return null;
    const st = best.stamp;
    const dateObs = `${st.slice(0, 4)}-${st.slice(4, 6)}-${st.slice(6, 8)}T${st.slice(9, 11)}:${st.slice(11, 13)}:${st.slice(13, 15)}Z`;
    const ref = await storage.meta(`gft-store://sha256/${best.sha256}`);
    return { name: best.name, sha256: best.sha256, dateObs, storage: { uri: `gft-store://sha256/${best.sha256}`, sha256: best.sha256, size: ref.size, kind: 'master' } as StorageRef };
  }

  /** A master's gp1.masters record (the fields `gft gp1 masters` reports), storing the accepted ones. */
  async function announce(r: MasterResult, burstId: string, f: RawFrameRec, built: StoredMasters['masters']): Promise<Output> {
    const m = r.master;
    let ref: StorageRef | null = null;
    if (m && r.accepted) {
      ref = await storage.put(masterBytes(r), { kind: 'master', burstId, source: 'gp1-calibration', name: `${m.name}.fits`, created: f.dateObs });
      built.push({ name: m.name, storage: ref });
    } else if (r.fromBank && (r.fromBank as { storage?: StorageRef }).storage) {
      // the night's master was not accepted: the bank's stands in (said in the record's reasons)
      built.push({ name: r.fromBank.name, storage: (r.fromBank as unknown as { storage: StorageRef }).storage });
    }
    const filter = m ? (/master-flat-([^-]+)-/.exec(m.name)?.[1] ?? null) : null;
    const fin = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : 0);
    const binning = m?.binning ?? camera().camera?.binning ?? '1x1';
    // the master's camera (from the frames' own headers when no configured camera fits them), else the
    // configured camera's name (a built-in's name is its configuration value; a camera file's is inside it)
    const cam = m?.camera ?? camera().camera?.name ?? cfg.camera;
    return {
      topic: 'gp1.masters',
      key: `${cam}/${r.kind}/${filter ?? '-'}`,
      value: {
        // a kind whose master could not be built at all (no usable frame) still gets a record, named for what is missing
        masterId: m?.name ?? `master-${r.kind}${r.filter ? `-${r.filter}` : ''}-${cam}-${binning}-none`,
        kind: r.kind,
        camera: cam,
        binning,
        filter,
        dateObs: m?.dateObs ?? f.dateObs,
        nFrames: m?.stats.nFrames ?? 0,
        level: fin(m?.stats.level),
        noise: fin(m?.stats.noise),
        hotPixels: m?.stats.hotPixels ?? 0,
        accepted: r.accepted,
        reasons: [...r.issues.map((i) => `${i.reason}: ${i.detail}`), ...(r.fromBank ? [`replaced by the bank's ${r.fromBank.name} (${Number.isFinite(r.fromBank.hoursBefore) ? `${r.fromBank.hoursBefore.toFixed(0)} h older` : r.fromBank.dateObs})`] : [])],
        inputs: [
          ...(m?.provenance.inputs ?? []).map((i) => ({ frameId: i.name.replace(/\.fits(\.fz)?$/, ''), sha256: i.sha256, used: true, reason: '' })),
          ...r.rejections.map((x) => ({ frameId: x.name.replace(/\.fits(\.fz)?$/, ''), sha256: '', used: false, reason: `${x.reason} ${x.detail}`.trim() })),
        ],
        storage: ref,
      },
    };
  }

  /** Builds, validates, stores and announces the burst's masters; records them in the state. */
  async function buildMasters(burstId: string, f: RawFrameRec, ctx: StageContext): Promise<{ outs: Output[]; masters: StoredMasters }> {
    const { camera: cam, cameras } = camera();
    const outs: Output[] = [];
    const built: StoredMasters['masters'] = [];
    const m = cfg.minFrames;
    const calKeys = ctx.store.keys(`cal/${burstId}/`);
    const entries: FrameEntry[] = [];
    for (const k of calKeys) entries.push(await frameEntry(ctx.store.get<CalEntry>(k)!));
    try {
      await buildNightMasters(entries, {
        camera: cam,
        cameras,
        ...(m ? { minFrames: { bias: m, dark: m, flat: m } } : {}),
        fallback: (q) => bankMaster(q),
        onMaster: async (r) => {
          outs.push(await announce(r, burstId, f, built));
        },
      });
    } catch (e) {
      if (e instanceof NightMastersError) throw invalidInput('gp1.masters_failed', `building masters failed for burst ${burstId}: ${e.message}`);
      throw e;
    }
    const masters: StoredMasters = { masters: built, builtAt: f.dateObs };
    ctx.store.put(`masters/${burstId}`, masters);
    for (const k of calKeys) {
      headers.delete(ctx.store.get<CalEntry>(k)!.storage.sha256);
      ctx.store.delete(k); // the masters are built once per burst; the frames stay in storage
    }
    ctx.log.info('masters built', { burstId, masters: outs.length, accepted: built.length });
    return { outs, masters };
  }

  /** Closes a burst: its entries go, a marker with the masters' references stays, its calibrator leaves the cache. */
  function close(ctx: StageContext, burstId: string, closedAt: string, reason: string): void {
    const m = ctx.store.get<StoredMasters>(`masters/${burstId}`);
    if (m) calibrators.delete(mastersKey(burstId, m));
    for (const k of ctx.store.keys(`cal/${burstId}/`)) headers.delete(ctx.store.get<CalEntry>(k)!.storage.sha256);
    closeBurst(ctx.store, burstId, { prefixes: [`masters/${burstId}`, `cal/${burstId}/`], closedAt, reason, keep: m ? { masters: m.masters } : {}, retentionDays: closing.retentionDays });
    ctx.log.info('burst closed', { burstId, reason });
  }

  /** Closes the other open bursts of the store that were cancelled or saw no frame for the idle time (event time `now`). */
  function sweep(ctx: StageContext, current: string, now: string): void {
    const t = Date.parse(now);
    for (const b of new Set([...burstsUnder(ctx.store, 'masters/'), ...burstsUnder(ctx.store, 'cal/')])) {
      if (b === current) continue;
      if (cancelled(ctx, b)) {
        close(ctx, b, now, 'cancelled');
        continue;
      }
      const m = ctx.store.get<StoredMasters>(`masters/${b}`);
      const last = m?.builtAt ?? ctx.store.keys(`cal/${b}/`).reduce((x, k) => {
        const d = ctx.store.get<CalEntry>(k)!.dateObs ?? '';
        return d > x ? d : x;
      }, '');
      if (last && t - Date.parse(last) > closing.idleHours * 3_600_000) close(ctx, b, now, `idle: no frame for ${closing.idleHours} h`);
    }
  }

  const mastersOfClosed = (ctx: StageContext, burstId: string): StoredMasters | undefined => {
    const c = closedOf<ClosedCalibration>(ctx.store, burstId);
    return c?.masters ? { masters: c.masters } : undefined;
  };

  function calibrated(f: RawFrameRec, burstId: string, fr: FrameCalibration, ref: StorageRef): Output {
    return {
      topic: 'gp1.calibrated',
      key: burstId,
      value: {
        frameId: f.frameId, burstId, dateObs: f.dateObs, exptime: f.exptime, filter: f.filter, skyLevel: fr.stats.sky, noise: fr.stats.noise,
        fwhmArcsec: Number.isFinite(fr.stats.fwhm) && fr.stats.fwhm > 0 ? fr.stats.fwhm * cfg.pixelScale : null, masters: Object.values(fr.masters).map((m) => m.name), raw: f.storage, storage: ref, lastOfSequence: f.lastOfSequence,
      },
    };
  }

  const failed = (f: RawFrameRec, e: unknown): never => {
    if (e instanceof FrameCalibrationError || e instanceof CalibrationError) throw invalidInput(`gp1.calibration_failed`, `frame ${f.frameId}: ${e.code}: ${e.message}`);
    throw e;
  };

  return {
    name: 'gp1-calibration',
    // a frame takes ~0.1-0.3 s: calibrated frames go out a few at a time, not after a whole fetched batch
    maxChunk: Math.max(4, 2 * workers),
    inputs: ['images.raw'],
    tables: ['gp1.trigger'],
    state: true,
    outputs: ['gp1.masters', 'gp1.calibrated'],
    revoked() {
      calibrators.clear();
    },
    held: {
      bursts: (store) => new Set([...burstsUnder(store, 'masters/'), ...burstsUnder(store, 'cal/')]).size,
      cacheBytes: () => calibrators.values().reduce((n, c) => n + c.bytes, 0),
    },
    ...(workers > 0
      ? {
          prepareConcurrency: workers,
          async init() {
            pool = await CalibrationPool.create(workers);
          },
          async close() {
            await pool?.close();
            pool = null;
          },
          // object frames of bursts whose masters exist: decoded here, calibrated on a worker, FITS bytes made here
          async prepare(msg, ctx): Promise<Prepared | undefined> {
            const f = msg.value;
            const burstId = f.burstId ?? 'no-burst';
            const m = ctx.store.get<StoredMasters>(`masters/${burstId}`) ?? mastersOfClosed(ctx, burstId);
            if (f.imageType !== 'object' || !pool || !m || cancelled(ctx, burstId)) return undefined;
            try {
              const calibrator = await calibratorOf(burstId, m);
              const bytes = await storage.get(f.storage);
              return { calibration: await calibrator.calibrateOn(pool, rawFrameFromBytes(bytes, f.fileName, f.storage.sha256)) };
            } catch (error) {
              return { error };
            }
          },
        }
      : {}),
    async handle(msg, ctx) {
      const f = msg.value;
      const burstId = f.burstId ?? 'no-burst';
      if (cancelled(ctx, burstId)) {
        if (ctx.store.has(`masters/${burstId}`) || ctx.store.keys(`cal/${burstId}/`).length) close(ctx, burstId, f.dateObs, 'cancelled');
        return [];
      }
      const closed = closedOf<ClosedCalibration>(ctx.store, burstId);
      if (!closed) sweep(ctx, burstId, f.dateObs);
      const built = ctx.store.get<StoredMasters>(`masters/${burstId}`) ?? (closed?.masters ? { masters: closed.masters } : undefined);
      if (f.imageType === 'bias' || f.imageType === 'dark' || f.imageType === 'flat') {
        if (!FITS_NAME.test(f.fileName) || built || closed) return []; // masters are built once per burst
        const bytes = await storage.get(f.storage); // integrity checked
        try {
          headers.set(f.storage.sha256, { name: f.fileName, ...rawFrameHeader(bytes) });
        } catch (e) {
          headers.set(f.storage.sha256, { name: f.fileName, unreadable: (e as Error).message });
        }
        ctx.store.put(`cal/${burstId}/${f.fileName}`, { fileName: f.fileName, storage: f.storage, dateObs: f.dateObs } satisfies CalEntry); // a redelivered frame replaces itself
        return [];
      }
      if (f.imageType !== 'object') throw invalidInput('gp1.unknown_frame_type', `frame ${f.frameId} has type ${f.imageType}`);
      if (closed && !built) throw invalidInput('gp1.burst_closed', `frame ${f.frameId}: burst ${burstId} was closed at ${closed.closedAt} (${closed.reason}) without masters: it cannot be calibrated`);
      const { outs, masters } = built ? { outs: [] as Output[], masters: built } : await buildMasters(burstId, f, ctx);
      const prepared = msg.prepared as Prepared | undefined;
      let fr: FrameCalibration;
      if (prepared && 'calibration' in prepared) fr = prepared.calibration;
      else if (prepared) fr = failed(f, prepared.error);
      else {
        try {
          fr = (await calibratorOf(burstId, masters)).calibrate(await storage.get(f.storage), f.fileName, f.storage.sha256);
        } catch (e) {
          fr = failed(f, e);
        }
      }
      const ref = await storage.put(fr.fits, { kind: 'calibrated', burstId, source: 'gp1-calibration', name: `${f.frameId}-cal.fits`, created: f.dateObs }, fr.sha256);
      outs.push(calibrated(f, burstId, fr, ref));
      if (f.lastOfSequence && !closed) close(ctx, burstId, f.dateObs, 'last frame of the sequence');
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<RawFrameRec>> {
  const cfg = loadConfig(calibrationSchema);
  return calibrationStage(cfg, LocalStorage.fromEnv());
}
