/**
 * `gft chaos`: DC3 under faults, compared with an undisturbed run of the same night.
 *
 * 1. A synthetic night (seeded) runs undisturbed: the reference (stages in one process).
 * 2. The same night runs again with `instances` instances of every stage as separate processes, while
 *    a seeded schedule kill -9s a random instance of a stage (every stage in turn) and restarts it
 *    after a random delay — an alerts instance right after a packet is sent, so that its transaction
 *    is cut — and, once per run, restarts the Kafka broker, stops ClickHouse for 20 s and stops the
 *    schema registry for 20 s. Telemetry samples flow to the ClickHouse sink meanwhile.
 * 3. The disturbed run must give what the undisturbed one gave: candidate lists identical field by
 *    field, products and base files HDU by HDU (as `gft replay --compare`), SDB rows with FINAL =
 *    products, every telemetry sample once in ClickHouse (FINAL) and counted once in the web rollup,
 *    no dead letter.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, sql } from '../../connectors/clickhouse/sql.ts';
import { rawRecord } from '../../connectors/voevent/intake.ts';
import { makeRng } from '../../lib/stats/distributions.ts';
import type { Chain } from './chain.ts';
import { CHAIN, progressLine } from './chain.ts';
import { runDc3, type Dc3Summary } from './run.ts';
import { compareRuns, readRun, type Comparison } from './compare.ts';

const { AssignerProtocol } = kafkajs;

export interface ChaosOptions {
  out: string;
  namespace: string;
  kills: number;
  seed: number;
  instances: number;
  frames: number;
  /** speed of the disturbed night (the window of the kills follows from it) */
  speed: number;
  /** broker restart, ClickHouse and registry stops (default on) */
  services: boolean;
  timeoutS: number;
  log: (s: string) => void;
}

export interface ChaosEvent {
  at: number; // ms after the alert
  kind: 'kill' | 'restart' | 'broker-restart' | 'clickhouse-stop' | 'clickhouse-start' | 'registry-stop' | 'registry-start' | 'alert-resend';
  target?: string;
  note?: string;
}

export interface ChaosReport {
  namespace: string;
  reference: string;
  seed: number;
  instances: number;
  outcome: string;
  killsPerStage: Record<string, number>;
  restarts: number;
  unexpectedExits: number;
  longestStallSeconds: number;
  chainSeconds: number;
  referenceChainSeconds: number;
  identical: boolean;
  comparison: Comparison;
  sdb: { rows: number; rowsFinal: number; products: number };
  telemetry: { produced: number; rowsFinal: number; rollupCount: number };
  dlqEntries: number;
  events: ChaosEvent[];
  ok: boolean;
}

/** The seeded PRNG of lib/stats (mulberry32): the same seed gives the same schedule. */
export function prng(seed: number): () => number {
  return makeRng(seed).uniform;
}

export interface KillPlan {
  at: number;
  stage: string;
  instance: number;
  restartAfter: number;
}

/**
 * The kill schedule: `kills` kills spread over [windowMs/20, windowMs], stages taken in turn (a
 * seeded shuffle of the chain, repeated) so that every stage is hit, a random instance each time,
 * restarted 0.5–4 s later.
 */
export function killSchedule(seed: number, kills: number, instances: number, windowMs: number, stages: readonly string[] = CHAIN): KillPlan[] {
  const rnd = prng(seed);
  const order = [...stages];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const times = Array.from({ length: kills }, () => windowMs / 20 + rnd() * (windowMs - windowMs / 20)).sort((a, b) => a - b);
  return times.map((at, i) => ({ at: Math.round(at), stage: order[i % order.length], instance: 1 + Math.floor(rnd() * instances), restartAfter: Math.round(500 + rnd() * 3500) }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The instance (1-based) of `stage` that holds `partition` of `topic`, from the group's assignment; 0 when none. */
async function owner(namespace: string, stage: string, topic: string, partition: number): Promise<number> {
  const admin = createKafka(platformConfig(), 'gft-chaos-owner').admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([nsName(namespace, stage)]);
    for (const m of groups[0]?.members ?? []) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      if (a?.assignment[nsName(namespace, topic)]?.includes(partition)) return Number(new RegExp(`${stage}-(\\d+)`).exec(m.clientId)?.[1] ?? 0);
    }
    return 0;
  } finally {
    await admin.disconnect();
  }
}

/** Runs the schedule against a running chain; resolves when every event was played. */
async function disturb(chain: Chain, o: ChaosOptions, alertFile: string, windowMs: number, events: ChaosEvent[], stats: { restarts: number }): Promise<void> {
  const t0 = Date.now();
  const at = () => Date.now() - t0;
  const sup = chain.supervisor!;
  const plan = killSchedule(o.seed, o.kills, o.instances, windowMs);
  const pending: Promise<unknown>[] = [];
  const stack = await import('../../deploy/stack.ts');
  const svc = stack.services();
  const quiet = { log: () => {} };
  const service = async (when: number, name: 'clickhouse' | 'registry', stopMs: number) => {
    await sleep(Math.max(0, when - at()));
    events.push({ at: at(), kind: `${name}-stop` });
    o.log(`chaos: ${name} stopped for ${stopMs / 1000} s`);
    await stack.stopService(svc[name], quiet);
    await sleep(stopMs);
    await stack.startService(svc[name], quiet);
    events.push({ at: at(), kind: `${name}-start` });
    o.log(`chaos: ${name} back`);
  };
  if (o.services) {
    pending.push(service(windowMs * 0.25, 'clickhouse', 20_000));
    pending.push(
      (async () => {
        await sleep(Math.max(0, windowMs * 0.5 - at()));
        const s = at();
        o.log('chaos: restarting the Kafka broker');
        await stack.restart('kafka', quiet);
        events.push({ at: s, kind: 'broker-restart', note: `${((at() - s) / 1000).toFixed(1)} s` });
        o.log(`chaos: broker back after ${((at() - s) / 1000).toFixed(1)} s`);
      })(),
    );
    pending.push(service(windowMs * 0.75, 'registry', 20_000));
  }
  const producer = new TopicProducer(o.namespace, platformConfig(), 'gft-chaos');
  for (const k of plan) {
    await sleep(Math.max(0, k.at - at()));
    if (chain.complete()) break;
    let index = k.instance;
    if (k.stage === 'alerts') {
      // a packet (the same alert again: a duplicate, decided and recorded in a transaction), then
      // the alerts instance that holds voevent.raw is killed while it handles it
      await producer.send('voevent.raw', [rawRecord(readFileSync(alertFile), 'file', alertFile, Date.now())]).catch(() => {});
      events.push({ at: at(), kind: 'alert-resend' });
      index = (await owner(o.namespace, 'alerts', 'voevent.raw', 0).catch(() => 0)) || k.instance;
      await sleep(3);
    }
    const inst = sup.of(k.stage)[index - 1];
    if (!inst) continue;
    events.push({ at: at(), kind: 'kill', target: inst.id });
    o.log(`chaos: kill -9 ${inst.id}`);
    await inst.kill();
    pending.push(
      (async () => {
        await sleep(k.restartAfter);
        inst.start();
        stats.restarts++;
        events.push({ at: at(), kind: 'restart', target: inst.id });
      })(),
    );
  }
  await Promise.all(pending);
  await producer.disconnect().catch(() => {});
}

/** Telemetry samples into the run's ops.telemetry while it runs (the ClickHouse sink's input), one source per run. */
export async function telemetry(namespace: string, source: string, n: number, spanMs: number): Promise<number> {
  const producer = new TopicProducer(namespace, platformConfig(), 'gft-chaos-telemetry');
  const base = Math.floor(Date.now() / 1000) * 1000;
  let sent = 0;
  try {
    for (let i = 0; i < n; i += 10) {
      const batch = Array.from({ length: Math.min(10, n - i) }, (_, k) => ({ key: source, value: { source, time: base + (i + k) * 1000, metrics: { seq: i + k, temp: 10 + ((i + k) % 7) }, state: 'chaos' } }));
      for (;;) {
        try {
          await producer.send('ops.telemetry', batch);
          break;
        } catch {
          await sleep(1000); // the broker is restarting: the samples are sent when it is back
        }
      }
      sent += batch.length;
      await sleep(spanMs / Math.ceil(n / 10));
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
  return sent;
}

/** Generates the synthetic night of a disturbed run in `<out>/night`; the runDc3 inputs that name it (chaos, failover). */
export async function syntheticNight(o: { out: string; seed: number; frames: number; log: (s: string) => void }) {
  const night = join(o.out, 'night');
  const { simulateNight } = await import('../provider/core/simulate/index.ts');
  o.log(`generating the synthetic night (seed ${o.seed}, ${o.frames} object frames) in ${night}`);
  await simulateNight({ out: night, seed: o.seed, frames: o.frames, force: true } as never);
  return { images: join(night, 'raw'), alert: join(night, 'voevent.xml'), catalog: join(night, 'catalog.csv'), camera: 'coatli', seed: o.seed, frames: o.frames };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  mkdirSync(o.out, { recursive: true });
  const inputs = await syntheticNight(o);
  const refNs = `${o.namespace}-ref`;
  const sdbDb = (ns: string) => `sdb_${ns.replace(/[^A-Za-z0-9_]/g, '_')}`;

  o.log(`undisturbed run ${refNs}`);
  const ref = await runDc3({ ...inputs, out: join(o.out, 'reference'), namespace: refNs, speed: 0, timeoutS: o.timeoutS, sdbDatabase: sdbDb(refNs), log: (l) => o.log(`[ref] ${l}`) });
  if (ref.outcome !== 'complete') throw new Error(`the undisturbed run did not complete (${ref.outcome}): nothing to compare with`);

  // the kills fall while the night is injected (frames × 60 s of night at --speed), before the run can complete
  const windowMs = Math.max(20_000, 0.9 * ((o.frames * 60) / Math.max(o.speed, 1)) * 1000);
  const events: ChaosEvent[] = [];
  const stats = { restarts: 0 };
  let disturbing: Promise<void> = Promise.resolve();
  let feeding: Promise<number> = Promise.resolve(0);
  const source = `chaos-${o.namespace}`;
  const stalls: number[] = [];
  let lastProgress = 0;
  let chainRef: Chain | null = null;
  o.log(`disturbed run ${o.namespace}: ${o.instances} instances per stage, ${o.kills} kills over ${Math.round(windowMs / 1000)} s${o.services ? ', broker restart, ClickHouse and registry stops' : ''}`);
  const run = await runDc3({
    ...inputs,
    out: join(o.out, 'disturbed'),
    namespace: o.namespace,
    speed: o.speed,
    timeoutS: o.timeoutS,
    instances: o.instances,
    sdbDatabase: sdbDb(o.namespace),
    // a killed instance's partitions move after its session: 8 s instead of 30
    stageEnv: { GFT_SESSION_TIMEOUT_MS: '8000' },
    onAlertSent: (chain, alert) => {
      chainRef = chain;
      lastProgress = Date.now();
      disturbing = disturb(chain, o, alert, windowMs, events, stats);
      disturbing.catch((e: Error) => o.log(`chaos: the schedule failed: ${e.message}`));
      feeding = telemetry(o.namespace, source, 300, windowMs / 2);
    },
    // the ClickHouse sink stops with the chain: before that, it gets the time to catch up after the
    // outages (an outage late in the run leaves it in backoff when the last product is accepted)
    beforeStop: async () => {
      const expected = (await feeding) * 2;
      const ch = new ClickHouse(platformConfig(), { database: 'default' });
      try {
        const q = sql`SELECT count() AS n FROM ${ident(`${platformConfig().clickhouseDatabase}.telemetry`)} FINAL WHERE source = ${source}`;
        for (let i = 0; i < 180; i++) {
          const n = await ch.query<{ n: string }>(q).then((r) => Number(r[0]?.n ?? 0), () => 0);
          if (n >= expected) return;
          await sleep(1000);
        }
      } finally {
        await ch.close();
      }
    },
    onProgress: (p) => {
      const now = Date.now();
      if (lastProgress) stalls.push(now - lastProgress);
      lastProgress = now;
      o.log(`[chaos] ${progressLine(p)}`);
    },
    log: (l) => o.log(`[chaos] ${l}`),
  });
  await disturbing.catch(() => {});
  const produced = await feeding;
  void chainRef;

  // the comparison, as gft replay --compare
  const cfg = platformConfig();
  const kafka = createKafka(cfg, 'gft-chaos-compare');
  const comparison = await compareRuns(await readRun(kafka, refNs, cfg.registryUrl), await readRun(kafka, o.namespace, cfg.registryUrl), LocalStorage.fromEnv());
  const products = new Set((await readRun(kafka, o.namespace, cfg.registryUrl)).products.map((p) => `${p.productId} ${p.revision}`)).size;
  const ch = new ClickHouse(cfg, { database: 'default' });
  const count = async (q: ReturnType<typeof sql>) => Number((await ch.query<{ n: string }>(q))[0]?.n ?? 0);
  const db = sdbDb(o.namespace);
  const rows = await count(sql`SELECT count() AS n FROM ${ident(`${db}.products`)}`);
  const rowsFinal = await count(sql`SELECT count() AS n FROM ${ident(`${db}.products`)} FINAL`);
  // the sink writes into the project database: wait until every sample arrived (it retries while ClickHouse was away)
  const gft = cfg.clickhouseDatabase;
  let telemetryFinal = 0;
  for (let i = 0; i < 60; i++) {
    telemetryFinal = await count(sql`SELECT count() AS n FROM ${ident(`${gft}.telemetry`)} FINAL WHERE source = ${source}`);
    if (telemetryFinal >= produced * 2) break;
    await sleep(1000);
  }
  // the one-minute rollup (connectors/clickhouse/rollup.ts), recomputed from telemetry FINAL by the sink
  const rollupCount = await count(sql`SELECT sum(n) AS n FROM ${ident(`${gft}.telemetry_1m`)} FINAL WHERE source = ${source}`);
  await ch.close();
  const killsPerStage: Record<string, number> = Object.fromEntries(CHAIN.map((s) => [s, 0]));
  for (const e of events) if (e.kind === 'kill') killsPerStage[e.target!.replace(/-\d+$/, '')]++;
  const dlqEntries = (run.deadLetters as unknown[] | undefined)?.length ?? 0;
  const identical = comparison.identical && comparison.lists.compared === ref.epochs.length && comparison.products.compared === ref.products.length;
  const report: ChaosReport = {
    namespace: o.namespace,
    reference: refNs,
    seed: o.seed,
    instances: o.instances,
    outcome: run.outcome,
    killsPerStage,
    restarts: stats.restarts,
    unexpectedExits: ((run as Dc3Summary & { warnings: string[] }).warnings ?? []).filter((w) => w.includes('exited on its own')).length,
    longestStallSeconds: Math.round(Math.max(0, ...stalls)) / 1000,
    chainSeconds: Number(run.chainSeconds ?? NaN),
    referenceChainSeconds: Number(ref.chainSeconds ?? NaN),
    identical,
    comparison,
    sdb: { rows, rowsFinal, products },
    // each sample has two metrics (seq, temp): two telemetry rows
    telemetry: { produced: produced * 2, rowsFinal: telemetryFinal, rollupCount },
    dlqEntries,
    events,
    ok: false,
  };
  // a stage instance that exits by itself (e.g. while the broker restarts) fails the run: stages ride outages out
  report.ok = run.outcome === 'complete' && report.unexpectedExits === 0 && identical && dlqEntries === 0 && rowsFinal === products && telemetryFinal === produced * 2 && rollupCount === produced * 2;
  writeFileSync(join(o.out, 'chaos.json'), JSON.stringify(report, null, 1));
  return report;
}

export function formatChaos(r: ChaosReport, file: string): string {
  const yes = (b: boolean) => (b ? 'yes' : 'NO');
  const lines = ['', `gft chaos ${r.namespace}: seed ${r.seed}, ${r.instances} instances per stage, against ${r.reference}`, '', '  stage             kills'];
  for (const [s, n] of Object.entries(r.killsPerStage)) lines.push(`  ${s.padEnd(16)}  ${String(n).padStart(5)}`);
  const total = Object.values(r.killsPerStage).reduce((a, b) => a + b, 0);
  const svc = (k: string) => r.events.find((e) => e.kind === k);
  lines.push(
    `  ${'total'.padEnd(16)}  ${String(total).padStart(5)}`,
    '',
    `  restarts                     ${r.restarts} of killed instances; ${r.unexpectedExits ? `${r.unexpectedExits} instance(s) DIED ON THEIR OWN` : 'none died on its own'}`,
    `  broker restart               ${svc('broker-restart') ? `yes (${svc('broker-restart')!.note})` : 'no'}`,
    `  ClickHouse stopped 20 s      ${yes(!!svc('clickhouse-stop'))}`,
    `  registry stopped 20 s        ${yes(!!svc('registry-stop'))}`,
    `  outcome                      ${r.outcome} (chain ${r.chainSeconds.toFixed(1)} s; undisturbed ${r.referenceChainSeconds.toFixed(1)} s)`,
    `  longest stall                ${r.longestStallSeconds.toFixed(1)} s`,
    `  identical                    ${yes(r.identical)} (${r.comparison.lists.compared} lists, ${r.comparison.products.compared} products, ${r.comparison.baseFiles.compared} base files compared${r.comparison.differences.length ? `; ${r.comparison.differences.length} differences, first: ${r.comparison.differences[0]}` : ''})`,
    `  duplicates before FINAL      ${r.sdb.rows - r.sdb.rowsFinal} (SDB products rows ${r.sdb.rows}, with FINAL ${r.sdb.rowsFinal})`,
    `  SDB rows (FINAL) = products  ${yes(r.sdb.rowsFinal === r.sdb.products)} (${r.sdb.rowsFinal} = ${r.sdb.products})`,
    `  telemetry rows (FINAL)       ${r.telemetry.rowsFinal} of ${r.telemetry.produced} samples; counted ${r.telemetry.rollupCount} times in the one-minute rollup (no sample twice: ${yes(r.telemetry.rollupCount === r.telemetry.produced)})`,
    `  DLQ entries                  ${r.dlqEntries}`,
    '',
    `  ${r.ok ? 'PASS' : 'FAIL'}  (report: ${file})`,
  );
  return lines.join('\n');
}
