/**
 * DC3 end to end on the local stack, in one process: every stage runs as its own StageRunner
 * (its own consumer group, in a fresh run namespace), exactly as `gft stage run <name>` would run it
 * in its own process. Inputs: a synthetic night (default) or --images/--alert/--catalog.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, copyFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../../lib/cli/args.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { createTopics } from '../../lib/runtime/topics.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { Chain, CHAIN, latestLists, progressLine, type ChainOutcome, type ChainProgress } from './chain.ts';
import { rawRecord } from '../../connectors/voevent/intake.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { quoteString } from '../../connectors/clickhouse/sql.ts';

export interface Dc3Options {
  out: string;
  namespace: string;
  images?: string;
  alert?: string;
  catalog?: string;
  camera: string;
  speed: number; // 0 = as fast as possible
  seed: number;
  width?: number;
  height?: number;
  frames: number;
  timeoutS: number;
  /** instances per stage as separate processes (0: every stage in this process) */
  instances?: number;
  /** environment of the stage processes (with instances) */
  stageEnv?: Record<string, string>;
  /** SDB database of the run (default GFT_SDB_DATABASE or sdb) */
  sdbDatabase?: string;
  /** called once the alert is sent, with the running chain (gft chaos disturbs it from there) */
  onAlertSent?: (chain: Chain, alertFile: string) => void;
  onProgress?: (p: ChainProgress) => void;
  /** called once the run is over and before the stages stop (gft chaos lets the ClickHouse sink catch up) */
  beforeStop?: (chain: Chain) => Promise<void>;
  log: (s: string) => void;
}

/** What the stages of a run are configured with (kept in summary.json: a replay needs the same). */
export interface RunConfig {
  images: string;
  catalog: string;
  camera: string;
  speed: number;
  sdbDatabase?: string;
}

const SDB_AT_START = process.env.GFT_SDB_DATABASE;

/** The stages read their configuration from the environment (as `gft stage run` would). */
export function configureChain(namespace: string, c: RunConfig): void {
  process.env.GFT_NAMESPACE = namespace;
  process.env.GFT_PROVIDER_IMAGES = c.images;
  process.env.GFT_PROVIDER_SPEED = String(c.speed);
  process.env.GFT_ALERTS_CATALOG = c.catalog;
  process.env.GFT_GP1_CAMERA = c.camera;
  const sdb = c.sdbDatabase ?? SDB_AT_START;
  if (sdb) process.env.GFT_SDB_DATABASE = sdb;
  else delete process.env.GFT_SDB_DATABASE;
  process.env.GFT_STORAGE_DIR ??= join(platformConfig().home, 'storage');
}

export interface Dc3Summary extends Record<string, unknown> {
  namespace: string;
  outcome: ChainOutcome;
  /** What a user should look at: incomplete run, empty epochs, dead letters, rejected products. */
  warnings: string[];
  /** framesObserved: object frames with DATE-OBS ≤ the epoch; frames: those the list was built from (solved and calibrated) */
  epochs: Array<{ epochMinutes: number; revision: number; framesObserved: number; frames: number; candidates: number; zeroPoint: number | null; limitingMag: number | null }>;
  products: Array<{ productId: string; status: string; reasons: string[] }>;
}

/**
 * Checks `--images/--alert/--catalog` before anything starts (a wrong path would otherwise leave the
 * chain waiting for frames until --timeout). @throws UsageError with what is wrong
 */
export async function checkDc3Inputs(o: Pick<Dc3Options, 'images' | 'alert' | 'catalog'>): Promise<void> {
  if (!o.images) {
    if (o.alert || o.catalog) throw new UsageError('--alert and --catalog go with --images DIR (without --images a synthetic night brings its own)');
    return;
  }
  if (!o.alert || !o.catalog) throw new UsageError('--images needs --alert FILE.xml and --catalog FILE (see docs/dc3-inputs.md)');
  let isDir = false;
  try {
    isDir = statSync(o.images).isDirectory();
  } catch {
    throw new UsageError(`--images ${o.images}: no such folder`);
  }
  if (!isDir) throw new UsageError(`--images ${o.images}: not a folder (give the folder holding the night's raw frames)`);
  const { listFrameFiles } = await import('../provider/source.ts');
  const { candidates, ignored } = listFrameFiles(o.images);
  if (!candidates.length) throw new UsageError(`--images ${o.images}: no FITS frames (.fits, .fit, .fts, .fits.fz, .fits.gz)${ignored.length ? `; ${ignored.length} other file(s), e.g. ${basename(ignored[0].path)}` : ''}`);
  try {
    readFileSync(o.alert);
  } catch (e) {
    throw new UsageError(`--alert: ${(e as Error).message}`);
  }
  const { loadCatalog } = await import('../alerts/catalogFile.ts');
  const stars = await loadCatalog(o.catalog).catch((e: Error) => Promise.reject(new UsageError(`--catalog: ${e.message}`)));
  if (!stars.length) throw new UsageError(`--catalog ${o.catalog}: no star with ra, dec and mag`);
}

export async function runDc3(o: Dc3Options): Promise<Dc3Summary> {
  await checkDc3Inputs(o);
  const started = Date.now();
  const { up } = await import('../../deploy/stack.ts');
  await up({ log: (s: string) => o.log(`[stack] ${s}`) });
  const cfg = platformConfig();
  const kafka = createKafka(cfg, 'gft-dc3');
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, o.namespace);
  await admin.disconnect();
  mkdirSync(o.out, { recursive: true });

  // inputs
  let images = o.images;
  let alert = o.alert;
  let catalog = o.catalog;
  let truth: any = null;
  if (!images) {
    const nightDir = join(o.out, 'night');
    o.log(`generating a synthetic night (seed ${o.seed}) in ${nightDir}`);
    const { simulateNight } = await import('../provider/core/simulate/index.ts');
    await simulateNight({ out: nightDir, seed: o.seed, frames: o.frames, force: true, camera: o.width && o.height ? { width: o.width, height: o.height } : undefined, onProgress: (p: { done: number; total: number }) => p.done % 20 === 0 && o.log(`  simulate ${p.done}/${p.total}`) } as never);
    images = join(nightDir, 'raw');
    alert = join(nightDir, 'voevent.xml');
    catalog = join(nightDir, 'catalog.csv');
    truth = JSON.parse(readFileSync(join(nightDir, 'truth.json'), 'utf8'));
  }
  if (!alert || !catalog) throw new Error('--images needs --alert FILE.xml and --catalog FILE.csv');
  const runConfig: RunConfig = { images: resolve(images), catalog: resolve(catalog), camera: o.camera, speed: o.speed, ...(o.sdbDatabase ? { sdbDatabase: o.sdbDatabase } : {}) };
  configureChain(o.namespace, runConfig);

  const chain = new Chain(o.namespace, CHAIN, o.log, { instances: o.instances ?? 0, logDir: join(o.out, 'logs'), env: o.stageEnv });
  try {
    await chain.start();
  } catch (e) {
    await chain.stop();
    throw e;
  }
  const readyAt = Date.now();

  // the alert
  const p = new TopicProducer(o.namespace);
  const tAlert = Date.now();
  await p.send('voevent.raw', [rawRecord(readFileSync(alert), 'file', alert, tAlert)]);
  await p.disconnect();
  o.log(`alert sent: ${alert}`);
  o.onAlertSent?.(chain, alert);

  chain.startedAt = tAlert; // per-stage first outputs count from the alert
  const outcome = await chain.wait({
    timeoutS: o.timeoutS,
    // a caller with its own display takes the progress; otherwise it is a log line
    onProgress: (pr) => (o.onProgress ? o.onProgress(pr) : o.log(progressLine(pr))),
  });
  const chainSeconds = (Date.now() - tAlert) / 1000;
  if (outcome === 'not-triggered') o.log('the alert manager decided on the alert and did not trigger GP1: nothing to wait for');
  else if (outcome !== 'complete') o.log(`stopped waiting: ${outcome} after ${o.timeoutS} s`);
  await o.beforeStop?.(chain).catch((e: Error) => o.log(`before stopping the stages: ${e.message}`));
  await chain.stop(); // process instances publish their last metrics as they stop
  const timings = chain.timings();
  const progress = chain.progress();

  const lists = latestLists(chain.outputs.lists);
  const receipts = chain.outputs.receipts;
  const best = (() => {
    const last = [...lists].sort((a, b) => b.epochMinutes - a.epochMinutes)[0];
    return last?.candidates?.slice().sort((a: any, b: any) => b.score - a.score)[0] ?? null;
  })();
  const storage = LocalStorage.fromEnv();
  const productsDir = join(o.out, 'products');
  mkdirSync(productsDir, { recursive: true });
  for (const l of lists) if (l.baseFile) writeFileSync(join(productsDir, `gp1_${l.burstId}_T0+${l.epochMinutes}min_r${l.revision}.fits`), await storage.get(l.baseFile));
  for (const pr of chain.outputs.products) writeFileSync(join(productsDir, `${pr.productId}_r${pr.revision}.fits`), await storage.get(pr.storage));
  const objectFrames = lists.reduce((n, l) => Math.max(n, l.frames.length), 0);
  const realTimeSeconds = lists.reduce((m, l) => Math.max(m, l.epochMinutes * 60), 0);
  const busy = timings.reduce((s, t) => s + t.busySeconds, 0);
  const burstId = lists[0]?.burstId ?? [...chain.outputs.references.keys()][0] ?? '<burst>';
  const warnings: string[] = [];
  // frames observed by each epoch (DATE-OBS ≤ T0 + epoch): none is no failure (a late start), none usable is
  const observedBy = (l: Record<string, any>) => chain.outputs.objectFrames.filter((t) => t <= Date.parse(l.epochTime)).length;
  const firstObs = chain.outputs.objectFrames.length ? Math.min(...chain.outputs.objectFrames) : NaN;
  for (const l of lists) {
    if (l.frames.length) continue;
    const t0ms = Date.parse(l.epochTime) - l.epochMinutes * 60_000;
    if (observedBy(l) === 0) warnings.push(`epoch T0+${l.epochMinutes} min: no frame observed by then (first object frame at T0+${((firstObs - t0ms) / 60_000).toFixed(1)} min): its list is empty`);
    else warnings.push(`epoch T0+${l.epochMinutes} min: none of the ${observedBy(l)} frame(s) observed by then is usable (astrometry or zero point failed on each? see the gp1-detection logs)`);
  }
  if (lists.length && chain.outputs.objectFrames.length) {
    // frames that cannot belong to this burst's follow-up: a mismatch of --images and --alert?
    const t0ms = Date.parse(lists[0].epochTime) - lists[0].epochMinutes * 60_000;
    const lastEpoch = t0ms + Math.max(...lists.map((l) => l.epochMinutes)) * 60_000;
    const before = chain.outputs.objectFrames.filter((t) => t < t0ms);
    const after = chain.outputs.objectFrames.filter((t) => t > lastEpoch);
    const t0 = new Date(t0ms).toISOString();
    if (before.length) warnings.push(`${before.length} of the ${chain.outputs.objectFrames.length} object frames are dated before T0 ${t0} (the earliest by ${((t0ms - Math.min(...before)) / 3_600_000).toFixed(2)} h): they enter every epoch's list; do the images belong to this alert?`);
    if (after.length === chain.outputs.objectFrames.length) warnings.push(`all ${after.length} object frames are dated after the last epoch (the first ${((firstObs - t0ms) / 3_600_000).toFixed(2)} h after T0 ${t0}): every list is empty; do the images belong to this alert?`);
  }
  if (outcome === 'not-triggered') {
    for (const d of chain.outputs.decisions) warnings.push(`the alert did not trigger GP1: ${d.action}${d.burstId ? ` (${d.burstId})` : ''}: ${d.reason}`);
  } else if (outcome !== 'complete') warnings.push(`the run did not complete (${outcome}): ${progress.epochsDone}/${progress.epochsExpected} epochs`);
  // dead letters as the DLQ topics hold them (the provider's rejected files included)
  const dlqByStage = new Map<string, number>();
  for (const d of chain.deadLetters) dlqByStage.set(d.stage, (dlqByStage.get(d.stage) ?? 0) + 1);
  for (const [stage, n] of dlqByStage) warnings.push(`${stage}: ${n} message(s) on ${stage}.dlq (reasons below and in the topic's headers)`);
  if (outcome === 'stage-stopped') for (const s of chain.stoppedPartitions()) warnings.push(`${s.stage} stopped ${s.partitions} partition(s): a bug or its dead-letter limit (see its log); the run cannot complete`);
  const failed = chain.supervisor?.failures() ?? [];
  for (const e of failed) warnings.push(`stage process ${e.stage}-${e.index} exited on its own (code ${e.code}${e.signal ? `, ${e.signal}` : ''}); its log: ${join(o.out, 'logs', `${e.stage}-${e.index}.log`)}`);
  if (progress.productsRejected) warnings.push(`${progress.productsRejected} product(s) rejected by the FSC (reasons in fsc.receipts)`);
  const summary: Dc3Summary = {
    warnings,
    namespace: o.namespace,
    outcome,
    alert,
    images,
    config: runConfig,
    wallSeconds: (Date.now() - started) / 1000,
    stackAndSetupSeconds: (readyAt - started) / 1000,
    /** alert sent → last product receipt (the chain's work, stack already up) */
    chainSeconds,
    objectFramesPerSecond: objectFrames / chainSeconds,
    speedUpOverRealTime: realTimeSeconds ? realTimeSeconds / chainSeconds : null,
    frames: { injected: progress.framesIn, calibrated: progress.calibrated, objectFramesInLastEpoch: objectFrames },
    epochs: lists.map((l) => ({ epochMinutes: l.epochMinutes, revision: l.revision, framesObserved: observedBy(l), frames: l.frames.length, candidates: l.candidates.length, zeroPoint: l.zeroPoint, limitingMag: l.limitingMag })),
    bestCandidate: best && { id: best.id, ra: best.ra, dec: best.dec, mag: best.mag, fadingIndex: best.fadingIndex, distanceArcsec: best.distanceArcsec, lightCurve: best.lightCurve },
    products: receipts.map((r) => ({ productId: r.productId, status: r.status, reasons: r.reasons })),
    stages: timings.map((t) => ({ ...t, shareOfBusy: busy ? Math.round((1000 * t.busySeconds) / busy) / 1000 : 0 })),
    dlq: Object.fromEntries(timings.map((t) => [t.stage, dlqByStage.get(t.stage) ?? 0])),
    deadLetters: chain.deadLetters,
    instances: o.instances ?? 0,
    truth: truth?.afterglow ? { afterglow: { ra: truth.afterglow.ra, dec: truth.afterglow.dec } } : undefined,
    next: {
      dashboard: 'npx gft web  →  http://127.0.0.1:8080 (products page)',
      sdb: `curl -s 'http://127.0.0.1:${cfg.clickhouseHttpPort}/' --data-binary "SELECT product_id, revision, status, n_candidates FROM ${process.env.GFT_SDB_DATABASE || 'sdb'}.products FINAL WHERE burst_id = ${quoteString(burstId)} FORMAT PrettyCompact"`,
      files: productsDir,
    },
  };
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 1));
  if (existsSync(alert)) copyFileSync(alert, join(o.out, 'alert.xml'));
  return summary;
}
