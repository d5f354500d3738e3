/**
 * A season on one long-lived chain (issue 22): N different synthetic nights (distinct burst ids, T0s
 * a day apart, fields 25° apart) sent one after the other to the same stages, which are started once.
 * Each night's frames sit in `<out>/nights/<burstId>/raw` and the provider finds them by its
 * `{burstId}` template; each night's catalog is added to a catalog folder just before its alert, and
 * the alerts stage finds it there without a restart. After each burst: the chain time (alert → last
 * receipt), the products, and per stage the RSS of its processes and what it holds (bursts, state
 * and cache bytes, from its metrics). Used by `npm run bench -- soak` and its CI-sized test.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { createTopics } from '../../lib/runtime/topics.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { rawRecord } from '../../connectors/voevent/intake.ts';
import { Chain, CHAIN } from './chain.ts';
import { configureChain } from './run.ts';

export interface SeasonOptions {
  out: string;
  namespace: string;
  bursts: number;
  /** object frames per night */
  frames: number;
  /** camera size of the synthetic nights (default: the COATLI chip) */
  width?: number;
  height?: number;
  /** instances per stage as processes (0: every stage in this process) */
  instances: number;
  /** seconds to wait for each burst */
  timeoutS: number;
  /** extra environment of the stage processes */
  env?: Record<string, string>;
  log: (s: string) => void;
  /** after each burst, with its row (the bench prints it) */
  onBurst?: (row: BurstRow) => void;
}

export interface StageHeld { rssMB: number; bursts: number; stateKeys: number; stateBytes: number; cacheBytes: number }

export interface BurstRow {
  index: number;
  burstId: string;
  chainSeconds: number;
  products: number;
  accepted: number;
  dlq: number;
  /** per stage: RSS of its processes (process mode; the chain's process in-process) and what it holds */
  stages: Record<string, StageHeld>;
}

const DAY = 86_400_000;
const BASE_T0 = Date.parse('2024-03-01T02:10:00Z');

/** The night of burst i: T0 a day after the previous one, a field 25° further in RA, Dec alternating. */
export function seasonNight(i: number): { t0: string; ra: number; dec: number; seed: number } {
  return { t0: new Date(BASE_T0 + i * DAY).toISOString(), ra: (40 + 25 * i) % 360, dec: i % 2 ? 12 : 28, seed: 101 + i };
}

/** RSS (bytes) of a process and its descendants, from /proc (Linux); 0 when it is gone. */
export function treeRss(pid: number): number {
  let total = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(/\s+/) : []) total += treeRss(Number(k));
    }
  } catch {
    // exited meanwhile
  }
  return total;
}

/** Least-squares slope of ys over xs. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

/**
 * The bench's verdict over bursts 2..N: the largest RSS slope of a stage (MB per burst) and the chain
 * time's slope as a percentage of its mean.
 */
export function seasonTrend(rows: BurstRow[]): { rssMBPerBurst: number; stage: string; chainPctPerBurst: number } {
  const after = rows.slice(1);
  const xs = after.map((r) => r.index);
  let worst = { rssMBPerBurst: -Infinity, stage: '-' };
  for (const stage of Object.keys(after[0]?.stages ?? {})) {
    const s = slope(xs, after.map((r) => r.stages[stage].rssMB));
    if (s > worst.rssMBPerBurst) worst = { rssMBPerBurst: s, stage };
  }
  const chain = after.map((r) => r.chainSeconds);
  const mean = chain.reduce((a, b) => a + b, 0) / Math.max(1, chain.length);
  return { ...worst, chainPctPerBurst: mean ? (100 * slope(xs, chain)) / mean : 0 };
}

export function trendLine(t: ReturnType<typeof seasonTrend>): string {
  return `max RSS growth per burst after the second: ${t.rssMBPerBurst.toFixed(1)} MB (${t.stage}); chain time trend: ${t.chainPctPerBurst.toFixed(1)} % per burst`;
}

/** Generates the nights, starts the chain once, sends the bursts one after the other; returns a row per burst and the chain (stopped). */
export async function runSeason(o: SeasonOptions): Promise<{ rows: BurstRow[]; chain: Chain }> {
  const { up } = await import('../../deploy/stack.ts');
  await up({ log: (s: string) => o.log(`[stack] ${s}`) });
  const admin = createKafka(platformConfig(), 'gft-season').admin();
  await admin.connect();
  await createTopics(admin, o.namespace);
  await admin.disconnect();

  const nights = resolve(o.out, 'nights');
  const catalogs = resolve(o.out, 'catalogs');
  mkdirSync(catalogs, { recursive: true });
  const { simulateNight } = await import('../provider/core/simulate/index.ts');
  const ids: string[] = [];
  for (let i = 0; i < o.bursts; i++) {
    const n = seasonNight(i);
    const burstId = `sb${n.t0.slice(2, 4)}${n.t0.slice(5, 7)}${n.t0.slice(8, 10)}01`;
    o.log(`generating night ${i + 1}/${o.bursts}: ${burstId}, T0 ${n.t0}, field (${n.ra}, ${n.dec})`);
    await simulateNight({ out: join(nights, burstId), seed: n.seed, t0: n.t0, ra: n.ra, dec: n.dec, burstId, frames: o.frames, force: true, ...(o.width && o.height ? { camera: { width: o.width, height: o.height } } : {}) });
    ids.push(burstId);
  }

  configureChain(o.namespace, { images: join(nights, '{burstId}', 'raw'), catalog: catalogs, camera: 'coatli', speed: 0 });
  const chain = new Chain(o.namespace, CHAIN, o.log, { instances: o.instances, logDir: join(o.out, 'logs'), env: { GFT_METRICS_INTERVAL_MS: '1000', ...o.env } });
  await chain.start();
  const rows: BurstRow[] = [];
  try {
    for (const [i, burstId] of ids.entries()) {
      copyFileSync(join(nights, burstId, 'catalog.csv'), join(catalogs, `${burstId}.csv`)); // a new field's catalog, no restart
      const p = new TopicProducer(o.namespace);
      const alert = join(nights, burstId, 'voevent.xml');
      const sent = Date.now();
      await p.send('voevent.raw', [rawRecord(readFileSync(alert), 'file', alert, sent)]);
      await p.disconnect();
      const deadline = sent + o.timeoutS * 1000;
      while (!(chain.outputs.references.has(burstId) && chain.complete())) {
        if (Date.now() > deadline) throw new Error(`burst ${burstId} not complete within ${o.timeoutS} s: ${JSON.stringify(chain.progress())}`);
        if (chain.stoppedPartitions().length) throw new Error(`a stage stopped a partition during burst ${burstId}: ${JSON.stringify(chain.stoppedPartitions())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const chainSeconds = (Date.now() - sent) / 1000;
      await new Promise((r) => setTimeout(r, 2500)); // the stages' next metrics (1 s) report the closed burst
      const mine = chain.outputs.products.filter((x) => x.burstId === burstId);
      const accepted = new Set(chain.outputs.receipts.filter((r) => r.status === 'accepted' && mine.some((m) => m.productId === r.productId)).map((r) => r.productId));
      rows.push({ index: i + 1, burstId, chainSeconds, products: new Set(mine.map((m) => m.productId)).size, accepted: accepted.size, dlq: chain.deadLetters.length, stages: stagesHeld(chain) });
      o.onBurst?.(rows[rows.length - 1]);
    }
  } finally {
    await chain.stop();
  }
  return { rows, chain };
}

/** Per stage: RSS of its instances' processes (or of this process for in-process stages) and what they reported holding. */
function stagesHeld(chain: Chain): Record<string, StageHeld> {
  const out: Record<string, StageHeld> = {};
  for (const stage of chain.stages) {
    const h: StageHeld = { rssMB: 0, bursts: 0, stateKeys: 0, stateBytes: 0, cacheBytes: 0 };
    if (chain.supervisor) for (const inst of chain.supervisor.of(stage)) h.rssMB += inst.proc?.pid ? treeRss(inst.proc.pid) / 2 ** 20 : 0;
    else h.rssMB = process.memoryUsage.rss() / 2 ** 20;
    const runner = chain.by(stage);
    if (runner) {
      const now = runner.heldNow();
      Object.assign(h, { bursts: now.burstsHeld, stateKeys: now.stateKeys, stateBytes: now.stateBytes, cacheBytes: now.cacheBytes });
    } else
      for (const x of chain.held.values())
        if (x.stage === stage) {
          h.bursts += x.burstsHeld;
          h.stateKeys += x.stateKeys;
          h.stateBytes += x.stateBytes;
          h.cacheBytes += x.cacheBytes;
        }
    out[stage] = h;
  }
  return out;
}
