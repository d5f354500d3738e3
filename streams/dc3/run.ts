/**
 * DC3 end to end on the local stack, in one process: every stage runs as its own StageRunner
 * (its own consumer group, in a fresh run namespace), exactly as `gft stage run <name>` would run it
 * in its own process. Inputs: a synthetic night (default) or --images/--alert/--catalog.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { createTopics } from '../../lib/runtime/topics.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { STAGE_WIRING, loadStage } from '../../lib/runtime/stageCli.ts';
import { rawRecord } from '../../connectors/voevent/intake.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';

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
  log: (s: string) => void;
}

const CHAIN = ['alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc', 'clickhouse-sink'];

export async function runDc3(o: Dc3Options): Promise<Record<string, unknown>> {
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
  let truth: unknown = null;
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
  process.env.GFT_NAMESPACE = o.namespace;
  process.env.GFT_PROVIDER_IMAGES = resolve(images);
  process.env.GFT_PROVIDER_SPEED = String(o.speed);
  process.env.GFT_ALERTS_CATALOG = resolve(catalog);
  process.env.GFT_GP1_CAMERA = o.camera;
  process.env.GFT_STORAGE_DIR ??= join(cfg.home, 'storage');

  // stages
  const runners: StageRunner[] = [];
  const tStage: Record<string, number> = {};
  for (const name of CHAIN) {
    if (!existsSync(join(repoRoot, STAGE_WIRING[name]))) {
      o.log(`stage ${name}: not available in this build, skipped`);
      continue;
    }
    const r = new StageRunner(await loadStage(name), { namespace: o.namespace, sessionTimeoutMs: 60_000, metricsIntervalMs: 2000 });
    await r.start();
    runners.push(r);
  }
  const by = (n: string) => runners.find((r) => r.stage.name === n);

  // collect outputs
  const serdes = new AvroSerdes(cfg.registryUrl);
  const lists: Array<Record<string, any>> = [];
  const receipts: Array<Record<string, any>> = [];
  const consumer = kafka.consumer({ groupId: nsName(o.namespace, 'dc3-monitor') });
  await consumer.connect();
  const watched = ['gp1.candidates', 'fsc.receipts'];
  for (const t of watched) await consumer.subscribe({ topic: nsName(o.namespace, t), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      if (topic.endsWith('gp1.candidates')) lists.push(await serdes.decode(message.value, 'org.gft.gp1.CandidateList'));
      else receipts.push(await serdes.decode(message.value, 'org.gft.fsc.FscReceipt'));
    },
  });

  // the alert
  const p = new TopicProducer(o.namespace);
  const tAlert = Date.now();
  await p.send('voevent.raw', [rawRecord(readFileSync(alert), 'file', alert, tAlert)]);
  await p.disconnect();
  o.log(`alert sent: ${alert}`);

  const expectedEpochs = 4;
  const wantProducts = !!by('fsc');
  const deadline = Date.now() + o.timeoutS * 1000;
  let lastLine = '';
  const epochs = () => new Set(lists.map((l) => l.epochMinutes)).size;
  for (;;) {
    const line = `frames in ${by('provider')?.counters.out ?? 0} | calibrated ${by('gp1-calibration')?.counters.out ?? 0} | epochs ${epochs()}/${expectedEpochs} | products accepted ${receipts.filter((r) => r.status === 'accepted').length} | DLQ ${runners.reduce((s, r) => s + r.counters.dlq, 0)}`;
    if (line !== lastLine) o.log(line);
    lastLine = line;
    for (const r of runners) if (!tStage[r.stage.name] && r.counters.out > 0) tStage[r.stage.name] = Date.now() - tAlert;
    const done = epochs() >= expectedEpochs && (!wantProducts || receipts.length >= expectedEpochs);
    if (done) break;
    if (Date.now() > deadline) {
      o.log(`timeout after ${o.timeoutS} s`);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  for (const r of [...runners].reverse()) await r.stop().catch(() => {});

  const best = (() => {
    const last = [...lists].sort((a, b) => b.epochMinutes - a.epochMinutes || b.revision - a.revision)[0];
    return last?.candidates?.slice().sort((a: any, b: any) => b.score - a.score)[0] ?? null;
  })();
  const storage = LocalStorage.fromEnv();
  const productsDir = join(o.out, 'products');
  mkdirSync(productsDir, { recursive: true });
  for (const l of lists) if (l.baseFile) writeFileSync(join(productsDir, `gp1_${l.burstId}_T0+${l.epochMinutes}min_r${l.revision}.fits`), await storage.get(l.baseFile));
  const summary = {
    namespace: o.namespace,
    alert,
    images,
    wallSeconds: (Date.now() - started) / 1000,
    alertToLastEpochSeconds: (Date.now() - tAlert) / 1000,
    frames: { injected: by('provider')?.counters.out ?? 0, calibrated: by('gp1-calibration')?.counters.out ?? 0 },
    epochs: lists.map((l) => ({ epochMinutes: l.epochMinutes, revision: l.revision, frames: l.frames.length, candidates: l.candidates.length, zeroPoint: l.zeroPoint, limitingMag: l.limitingMag })),
    bestCandidate: best && { id: best.id, ra: best.ra, dec: best.dec, mag: best.mag, fadingIndex: best.fadingIndex, distanceArcsec: best.distanceArcsec, lightCurve: best.lightCurve },
    products: receipts.map((r) => ({ productId: r.productId, status: r.status, reasons: r.reasons })),
    firstOutputAfterAlertMs: tStage,
    dlq: Object.fromEntries(runners.map((r) => [r.stage.name, r.counters.dlq])),
    truth: truth ? { afterglow: (truth as any).afterglow?.ra !== undefined ? { ra: (truth as any).afterglow.ra, dec: (truth as any).afterglow.dec } : undefined } : undefined,
    next: { dashboard: 'npx gft web  →  http://127.0.0.1:8080', sdb: `SELECT * FROM sdb.products FINAL WHERE burst_id = '<burst>'` },
  };
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 1));
  if (existsSync(alert)) copyFileSync(alert, join(o.out, 'alert.xml'));
  return summary;
}
