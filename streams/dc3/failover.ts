/**
 * `gft failover` (`gft chaos --failover`): DC3 through a Kafka broker failure, on a stack of its own.
 *
 * 1. A stack of its own (GFT_HOME `<GFT_HOME>/failover`, ports from `--port-base`, so the default stack
 *    and its tests are never touched) starts with ONE Kafka node; a synthetic night runs there
 *    undisturbed, every stage in this process, on the filesystem store: the one-node reference.
 * 2. The stack switches to three KRaft nodes (topics with 3 replicas, min ISR 2) and, when MinIO is
 *    built (or `--storage s3`), the S3 store; the same night runs again with `--instances` processes
 *    per stage at `--speed`. When half of the frames are calibrated, the broker that leads the
 *    partition of `gp1.calibrated` holding the burst is killed (-9); it is started again `--down`
 *    seconds later. Telemetry samples flow to the ClickHouse sink meanwhile.
 * 3. The run must complete and give what the reference gave: candidate lists identical field by field,
 *    products and base files HDU by HDU (as `gft replay --compare`; the reference's objects read from
 *    the filesystem, the run's from S3), and nothing lost: every frame announced and calibrated, a
 *    receipt for every product, SDB rows (FINAL) = products, every telemetry sample once, no dead
 *    letter, no stage instance exiting by itself, the killed broker back in the partition's ISR.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Admin } from 'kafkajs';
import { platformConfig } from '../../lib/config/platform.ts';
import { UsageError } from '../../lib/cli/args.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { createTopics } from '../../lib/runtime/topics.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, sql } from '../../connectors/clickhouse/sql.ts';
import type { Chain, ChainProgress } from './chain.ts';
import { runDc3, type Dc3Summary } from './run.ts';
import { compareRuns, readRun, type Comparison, type RunRecord } from './compare.ts';
import { syntheticNight, telemetry } from './chaos.ts';

export type StorageChoice = 'auto' | 's3' | 'fs';

export interface FailoverOptions {
  out: string;
  namespace: string;
  seed: number;
  frames: number;
  speed: number;
  instances: number;
  storage: StorageChoice;
  /** seconds between the kill and the restart of the broker */
  downS: number;
  timeoutS: number;
  /** GFT_HOME of the failover stack */
  home: string;
  portBase: number;
  /** leave the failover stack running at the end */
  keepStack: boolean;
  /**
   * Start a stage instance again when it exits by itself, a second later, as the rendered systemd
   * units (Restart=on-failure) and Kubernetes Deployments do. Off: such an exit fails the run.
   */
  restartOnFailure: boolean;
  log: (s: string) => void;
}

export interface FailoverEvent {
  at: number; // ms after the alert of the failover run
  what: string;
}

export interface FailoverReport {
  namespace: string;
  reference: string;
  seed: number;
  frames: number;
  instances: number;
  home: string;
  storage: { reference: string; run: string; note: string };
  outcome: string;
  broker: {
    topic: string;
    partition: number;
    killed: number;
    /** progress when it was killed */
    killedAt: { seconds: number; calibrated: number; of: number };
    /** seconds from the kill until another broker led the partition (null: never seen) */
    newLeaderAfterS: number | null;
    newLeader: number | null;
    downS: number;
    /** seconds from the start command until the broker answered */
    restartS: number;
    /** seconds from the restart until it was back in the partition's ISR (null: never seen) */
    backInIsrAfterS: number | null;
  } | null;
  chainSeconds: number;
  referenceChainSeconds: number;
  longestStallSeconds: number;
  identical: boolean;
  comparison: Comparison;
  lost: {
    framesIn: [number, number];
    calibrated: [number, number];
    epochs: [number, number];
    productsAccepted: [number, number];
    sdbRowsFinal: number;
    products: number;
    telemetry: { produced: number; rowsFinal: number };
    dlq: number;
    unexpectedExits: number;
  };
  /** stage instances that exited by themselves: why (the last fatal error in their log), restarted or not */
  exits: Array<{ instance: string; atS: number; error: string; restarted: boolean }>;
  restartOnFailure: boolean;
  events: FailoverEvent[];
  ok: boolean;
}

/**
 * The ports of the failover stack, all below Linux's ephemeral range (32768): Kafka nodes at
 * base+92/+93, +94/+95, +96/+97 (broker/controller), the secured stack's inter-broker listeners at
 * base+192…, the registry at base+81, ClickHouse at base+123 (HTTP) and base+0 (native), MinIO at
 * base+900/+901. The default base 26000 stays clear of the default stack (19092-19093, 18081, 18123,
 * 19000, 19192, 19900) and of the ranges the test suite uses.
 */
export function failoverPorts(base: number): Record<string, string> {
  if (!Number.isInteger(base) || base < 1024 || base + 901 >= 32768) throw new UsageError(`--port-base: a whole number from 1024 to ${32768 - 902} (ports base..base+901 must stay below 32768), got ${base}`);
  return {
    GFT_KAFKA_PORT: String(base + 92),
    GFT_KAFKA_CONTROLLER_PORT: String(base + 93),
    GFT_KAFKA_INTERNAL_PORT: String(base + 192),
    GFT_REGISTRY_PORT: String(base + 81),
    GFT_CLICKHOUSE_HTTP_PORT: String(base + 123),
    GFT_CLICKHOUSE_TCP_PORT: String(base),
    GFT_S3_PORT: String(base + 900),
    GFT_S3_CONSOLE_PORT: String(base + 901),
  };
}

/** Client settings that would point the run elsewhere than its own stack: unset for the run. */
export const FOREIGN_ENV = ['GFT_KAFKA_BROKERS', 'GFT_REGISTRY_URL', 'GFT_CLICKHOUSE_URL', 'GFT_STORAGE_URL', 'GFT_STORAGE_DIR', 'GFT_S3_ENDPOINT', 'GFT_S3_ACCESS_KEY', 'GFT_S3_SECRET_KEY', 'GFT_NAMESPACE', 'GFT_SDB_DATABASE'];

/** Which store the failover run uses: S3 when asked, or (auto) when MinIO is built; why, for the report. */
export function chooseStorage(choice: StorageChoice, minioBuilt: boolean, minioPath: string): { s3: boolean; note: string } {
  if (choice === 's3') return { s3: true, note: minioBuilt ? 'S3 (MinIO)' : `S3 (MinIO not built yet: building it into ${minioPath}, minutes)` };
  if (choice === 'fs') return { s3: false, note: 'filesystem (--storage fs)' };
  return minioBuilt ? { s3: true, note: 'S3 (MinIO, built)' } : { s3: false, note: `filesystem: S3 skipped, MinIO is not built (${minioPath} missing; \`npx gft stack up --s3\` builds it once, minutes, or use --storage s3)` };
}

/** The partitions of `topic` that hold records (the burst's, with one burst), from the high watermarks. */
export async function partitionsWithData(admin: Admin, topic: string): Promise<number[]> {
  return (await admin.fetchTopicOffsets(topic)).filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => p.partition).sort((a, b) => a - b);
}

async function partitionState(admin: Admin, topic: string, partition: number): Promise<{ leader: number; isr: number[] } | null> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = topics[0]?.partitions.find((x) => x.partitionId === partition);
  return p ? { leader: p.leader, isr: [...p.isr] } : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 250 ms until it returns a value or `timeoutMs` passes (errors count as no answer yet). */
async function until<T>(check: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await check().catch(() => null);
    if (v !== null) return v;
    await sleep(250);
  }
  return null;
}

/** Distinct accepted products of a run (a product announced again after a failure gets a second receipt). */
export function acceptedProducts(s: Pick<Dc3Summary, 'products'>): number {
  return new Set(s.products.filter((p) => p.status === 'accepted').map((p) => p.productId)).size;
}

/** The last fatal error a stage instance logged (its first two lines), for the report. */
export function lastFatal(logFile: string): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return `(no log at ${logFile})`;
  }
  const lines = text.split('\n').filter((l) => l.includes('"level":"error"') && l.includes('"stage'));
  for (const l of lines.reverse()) {
    try {
      const v = JSON.parse(l) as { msg?: string; error?: string; code?: string };
      if (v.error) return `${v.msg ?? 'error'}: ${String(v.error).split('\n').slice(0, 2).map((x) => x.trim()).join(' ')}`;
    } catch {
      /* not JSON */
    }
  }
  return `(no fatal error in ${logFile})`;
}

/**
 * createTopics, retried up to 5 times: on a 3-broker cluster kafkajs' fetchTopicOffsets (the readiness
 * check at the end of createTopics) throws a TypeError now and then while its cached metadata of a new
 * topic has no partition yet ("Cannot destructure property 'partitions' of 'high.pop(...)'"; seen on
 * 2 of 4 new namespaces). lib/runtime/topics.ts should retry it itself; until then, here.
 */
export async function createTopicsRetrying(admin: Admin, namespace: string, log: (s: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createTopics(admin, namespace);
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      log(`creating the topics of ${namespace} failed (${(e as Error).message.split('\n')[0]}); again in 2 s (attempt ${attempt + 1}/5)`);
      await sleep(2000);
    }
  }
}

const sdbDb = (ns: string) => `sdb_${ns.replace(/[^A-Za-z0-9_]/g, '_')}`;

export async function runFailover(o: FailoverOptions): Promise<FailoverReport> {
  // the stack of its own: every service address of this process and of the stage processes it starts
  const home = resolve(o.home);
  for (const k of FOREIGN_ENV) if (process.env[k] !== undefined) {
    o.log(`note: ${k} is set; unset for the failover run (it uses its own stack)`);
    delete process.env[k];
  }
  Object.assign(process.env, { GFT_HOME: home, ...failoverPorts(o.portBase) });
  mkdirSync(o.out, { recursive: true });
  const stack = await import('../../deploy/stack.ts');
  const { minioBinary } = await import('../../deploy/services/s3.ts');
  const store = chooseStorage(o.storage, existsSync(minioBinary()), minioBinary());
  o.log(`failover stack in ${home} (Kafka ${process.env.GFT_KAFKA_PORT}.., registry ${process.env.GFT_REGISTRY_PORT}, ClickHouse ${process.env.GFT_CLICKHOUSE_HTTP_PORT}${store.s3 ? `, MinIO ${process.env.GFT_S3_PORT}` : ''}); run storage: ${store.note}`);
  const slog = (s: string) => o.log(`[stack] ${s}`);
  try {
    return await failover(o, home, store, stack, slog);
  } finally {
    if (o.keepStack) o.log(`the failover stack keeps running: GFT_HOME=${home} ${Object.entries(failoverPorts(o.portBase)).map(([k, v]) => `${k}=${v}`).join(' ')} npx gft stack down`);
    else await stack.down({ log: slog }).catch((e: Error) => o.log(`stack down failed: ${e.message}`));
  }
}

async function failover(o: FailoverOptions, home: string, store: { s3: boolean; note: string }, stack: typeof import('../../deploy/stack.ts'), slog: (s: string) => void): Promise<FailoverReport> {
  const inputs = await syntheticNight(o);

  // 1. the one-node reference: one broker, the filesystem store, every stage in this process
  const refNs = `${o.namespace}-ref`;
  let t = Date.now();
  await stack.up({ brokers: 1, s3: store.s3, secure: false, log: slog });
  o.log(`one-node stack up in ${((Date.now() - t) / 1000).toFixed(1)} s; reference run ${refNs}`);
  const fsDir = join(home, 'storage');
  process.env.GFT_STORAGE_DIR = fsDir;
  const ref = await runDc3({ ...inputs, out: join(o.out, 'reference'), namespace: refNs, speed: 0, timeoutS: o.timeoutS, sdbDatabase: sdbDb(refNs), log: (l) => o.log(`[ref] ${l}`) });
  if (ref.outcome !== 'complete') throw new Error(`the one-node reference run did not complete (${ref.outcome}): nothing to compare with`);
  const cfg1 = platformConfig();
  const refRecord: RunRecord = await readRun(createKafka(cfg1, 'gft-failover-ref'), refNs, cfg1.registryUrl);
  const refFrames = ref.frames as { injected: number; calibrated: number };
  const refAccepted = acceptedProducts(ref);

  // 2. three brokers (+ S3): the same night with instances, the burst's gp1.calibrated leader killed mid-night
  t = Date.now();
  await stack.up({ brokers: 3, s3: store.s3, secure: false, log: slog });
  o.log(`3-broker stack up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  delete process.env.GFT_STORAGE_DIR;
  if (store.s3) process.env.GFT_STORAGE_URL = `s3://gft/${o.namespace}`;
  else process.env.GFT_STORAGE_DIR = join(home, 'storage-cluster');
  const runStorage = store.s3 ? `s3://gft/${o.namespace} (MinIO 127.0.0.1:${process.env.GFT_S3_PORT})` : `filesystem ${process.env.GFT_STORAGE_DIR}`;

  const cfg = platformConfig();
  const kafka = createKafka(cfg, 'gft-failover');
  const admin = kafka.admin();
  await admin.connect();
  // The run's topics, made here first (runDc3 then finds them made and ready)
  await createTopicsRetrying(admin, o.namespace, o.log);
  const events: FailoverEvent[] = [];
  let tAlert = 0;
  const at = () => Date.now() - tAlert;
  const note = (what: string) => {
    events.push({ at: at(), what });
    o.log(`failover: ${what}`);
  };
  let broker: FailoverReport['broker'] = null;
  let failing: Promise<void> | null = null;
  let feeding: Promise<number> = Promise.resolve(0);
  const source = `failover-${o.namespace}`;
  const stalls: number[] = [];
  let lastProgress = 0;
  const topic = nsName(o.namespace, 'gp1.calibrated');

  const killAndRestart = async (p: ChainProgress): Promise<void> => {
    const parts = await partitionsWithData(admin, topic);
    if (parts.length !== 1) throw new Error(`expected the burst's calibrated frames in one partition of ${topic}, found data in ${parts.length ? parts.join(', ') : 'none'}`);
    const partition = parts[0];
    const before = await partitionState(admin, topic, partition);
    if (!before || before.leader < 0) throw new Error(`${topic}[${partition}] has no leader`);
    const killed = before.leader;
    const kAt = at();
    await stack.killBroker(killed, { log: slog });
    note(`kill -9 of broker ${killed}, leader of ${topic}[${partition}] (ISR ${before.isr.join(',')}), ${p.calibrated}/${refFrames.calibrated} calibrated`);
    const kill = Date.now();
    const moved = await until(async () => {
      const s = await partitionState(admin, topic, partition);
      return s && s.leader >= 0 && s.leader !== killed ? s : null;
    }, o.downS * 1000);
    const newLeaderAfterS = moved ? (Date.now() - kill) / 1000 : null;
    if (moved) note(`broker ${moved.leader} leads ${topic}[${partition}] after ${newLeaderAfterS!.toFixed(1)} s (ISR ${moved.isr.join(',')})`);
    else note(`no new leader of ${topic}[${partition}] seen within ${o.downS} s`);
    await sleep(Math.max(0, kill + o.downS * 1000 - Date.now()));
    const s0 = Date.now();
    await stack.startBroker(killed, { log: slog });
    const restartS = (Date.now() - s0) / 1000;
    note(`broker ${killed} started again after ${((s0 - kill) / 1000).toFixed(1)} s down (answering in ${restartS.toFixed(1)} s)`);
    const back = await until(async () => ((await partitionState(admin, topic, partition))?.isr.includes(killed) ? true : null), 120_000);
    const backInIsrAfterS = back ? (Date.now() - s0) / 1000 : null;
    note(back ? `broker ${killed} back in the ISR of ${topic}[${partition}] ${backInIsrAfterS!.toFixed(1)} s after its start` : `broker ${killed} not back in the ISR of ${topic}[${partition}] within 120 s`);
    broker = { topic: 'gp1.calibrated', partition, killed, killedAt: { seconds: kAt / 1000, calibrated: p.calibrated, of: refFrames.calibrated }, newLeaderAfterS, newLeader: moved?.leader ?? null, downS: (s0 - kill) / 1000, restartS, backInIsrAfterS };
  };

  // stage instances that exit by themselves: recorded with the reason; started again with --restart-on-failure
  const exits: FailoverReport['exits'] = [];
  const logDir = join(o.out, 'failover', 'logs');
  let chainRef: Chain | null = null;
  let done = false;
  const seenExits = new Set<unknown>();
  const watchExits = setInterval(() => {
    const sup = chainRef?.supervisor;
    if (!sup || done) return;
    for (const e of sup.failures()) {
      if (seenExits.has(e)) continue;
      seenExits.add(e);
      const id = `${e.stage}-${e.index}`;
      exits.push({ instance: id, atS: (e.at - tAlert) / 1000, error: lastFatal(join(logDir, `${id}.log`)), restarted: o.restartOnFailure });
      note(`${id} exited by itself (code ${e.code}): ${exits[exits.length - 1].error}${o.restartOnFailure ? '; starting it again (--restart-on-failure)' : ''}`);
      const inst = sup.instances.find((i) => i.spec.stage === e.stage && i.spec.index === e.index);
      if (o.restartOnFailure && inst) setTimeout(() => !done && !inst.running && inst.start(), 1000);
    }
  }, 500);

  o.log(`failover run ${o.namespace}: 3 brokers, ${o.instances} instances per stage, ${runStorage}; broker killed when ${Math.ceil(refFrames.calibrated / 2)}/${refFrames.calibrated} are calibrated, down ${o.downS} s`);
  let run: Dc3Summary;
  try {
    run = await runDc3({
      ...inputs,
      out: join(o.out, 'failover'),
      namespace: o.namespace,
      speed: o.speed,
      timeoutS: o.timeoutS,
      instances: o.instances,
      sdbDatabase: sdbDb(o.namespace),
      onAlertSent: (chain) => {
        chainRef = chain;
        tAlert = Date.now();
        lastProgress = tAlert;
        feeding = telemetry(o.namespace, source, 200, 30_000);
      },
      onProgress: (p) => {
        if (chainRef && chainRef.complete()) done = true; // runDc3 stops the instances next: no restart from here on
        const now = Date.now();
        if (lastProgress) stalls.push(now - lastProgress);
        lastProgress = now;
        if (!failing && p.calibrated >= Math.ceil(refFrames.calibrated / 2)) {
          failing = killAndRestart(p);
          failing.catch((e: Error) => note(`the failover schedule failed: ${e.message}`));
        }
      },
      log: (l) => o.log(`[failover] ${l}`),
    });
  } finally {
    done = true;
    clearInterval(watchExits);
    for (const i of (chainRef as Chain | null)?.supervisor?.instances ?? []) if (i.running) await i.stop().catch(() => {}); // one started again while the chain stopped
    await (failing ?? Promise.resolve()).catch(() => {});
  }
  const produced = await feeding;
  const record = await readRun(kafka, o.namespace, cfg.registryUrl);
  const comparison = await compareRuns(refRecord, record, LocalStorage.fromEnv({ ...process.env, GFT_STORAGE_URL: '', GFT_STORAGE_DIR: fsDir }), LocalStorage.fromEnv());
  await admin.disconnect();

  const ch = new ClickHouse(cfg, { database: 'default' });
  const count = async (q: ReturnType<typeof sql>) => Number((await ch.query<{ n: string }>(q))[0]?.n ?? 0);
  const sdbRowsFinal = await count(sql`SELECT count() AS n FROM ${ident(`${sdbDb(o.namespace)}.products`)} FINAL`);
  let telemetryFinal = 0;
  for (let i = 0; i < 60; i++) {
    telemetryFinal = await count(sql`SELECT count() AS n FROM ${ident(`${cfg.clickhouseDatabase}.telemetry`)} FINAL WHERE source = ${source}`);
    if (telemetryFinal >= produced * 2) break;
    await sleep(1000);
  }
  await ch.close();

  const frames = run.frames as { injected: number; calibrated: number };
  const accepted = acceptedProducts(run);
  const products = new Set(record.products.map((p) => `${p.productId} ${p.revision}`)).size;
  const identical = comparison.identical && comparison.lists.compared === ref.epochs.length && comparison.products.compared === ref.products.length;
  const report: FailoverReport = {
    namespace: o.namespace,
    reference: refNs,
    seed: o.seed,
    frames: o.frames,
    instances: o.instances,
    home,
    storage: { reference: `filesystem ${fsDir} (one node)`, run: runStorage, note: store.note },
    outcome: run.outcome,
    broker,
    chainSeconds: Number(run.chainSeconds ?? NaN),
    referenceChainSeconds: Number(ref.chainSeconds ?? NaN),
    longestStallSeconds: Math.round(Math.max(0, ...stalls)) / 1000,
    identical,
    comparison,
    lost: {
      framesIn: [frames.injected, refFrames.injected],
      calibrated: [frames.calibrated, refFrames.calibrated],
      epochs: [run.epochs.length, ref.epochs.length],
      productsAccepted: [accepted, refAccepted],
      sdbRowsFinal,
      products,
      telemetry: { produced: produced * 2, rowsFinal: telemetryFinal }, // two metrics per sample
      dlq: (run.deadLetters as unknown[] | undefined)?.length ?? 0,
      unexpectedExits: exits.length,
    },
    exits,
    restartOnFailure: o.restartOnFailure,
    events,
    ok: false,
  };
  const l = report.lost;
  const same = (x: [number, number]) => x[0] === x[1];
  const b = report.broker as FailoverReport['broker'];
  report.ok = run.outcome === 'complete' && identical && !!b && b.newLeaderAfterS !== null && b.backInIsrAfterS !== null
    && same(l.framesIn) && same(l.calibrated) && same(l.epochs) && same(l.productsAccepted) && l.sdbRowsFinal === l.products
    && l.telemetry.rowsFinal === l.telemetry.produced && l.dlq === 0 && (l.unexpectedExits === 0 || o.restartOnFailure);
  writeFileSync(join(o.out, 'failover.json'), JSON.stringify(report, null, 1));
  return report;
}

export function formatFailover(r: FailoverReport, file: string): string {
  const yes = (x: boolean) => (x ? 'yes' : 'NO');
  const pair = (x: [number, number]) => `${x[0]} of ${x[1]}${x[0] === x[1] ? '' : '  <-- DIFFERS'}`;
  const b = r.broker;
  const l = r.lost;
  const lines = [
    '',
    `gft failover ${r.namespace}: seed ${r.seed}, ${r.frames} object frames, 3 brokers, ${r.instances} instances per stage, against ${r.reference} (one node)`,
    `  stack                        ${r.home}`,
    `  storage                      run: ${r.storage.run}; reference: ${r.storage.reference}`,
    '',
    b
      ? `  killed                       broker ${b.killed}, leader of ${b.topic}[${b.partition}] (the burst's), ${b.killedAt.seconds.toFixed(1)} s after the alert, ${b.killedAt.calibrated}/${b.killedAt.of} calibrated`
      : '  killed                       NOTHING (the run ended before half of its frames were calibrated, or the schedule failed)',
    ...(b
      ? [
          `  new leader                   ${b.newLeader === null ? 'NONE SEEN' : `broker ${b.newLeader} after ${b.newLeaderAfterS!.toFixed(1)} s`}`,
          `  down                         ${b.downS.toFixed(1)} s (start-broker answered in ${b.restartS.toFixed(1)} s)`,
          `  back in the ISR              ${b.backInIsrAfterS === null ? 'NO' : `${b.backInIsrAfterS.toFixed(1)} s after its start`}`,
        ]
      : []),
    `  outcome                      ${r.outcome} (chain ${r.chainSeconds.toFixed(1)} s; one-node reference ${r.referenceChainSeconds.toFixed(1)} s as fast as possible in one process)`,
    `  longest stall                ${r.longestStallSeconds.toFixed(1)} s`,
    `  identical to the one-node run ${yes(r.identical)} (${r.comparison.lists.compared} lists, ${r.comparison.products.compared} products, ${r.comparison.baseFiles.compared} base files compared${r.comparison.differences.length ? `; ${r.comparison.differences.length} differences, first: ${r.comparison.differences[0]}` : ''})`,
    '  nothing lost (run of reference):',
    `    frames announced           ${pair(l.framesIn)}`,
    `    masters + calibrated       ${pair(l.calibrated)}`,
    `    candidate lists            ${pair(l.epochs)}`,
    `    products accepted          ${pair(l.productsAccepted)}`,
    `    SDB rows (FINAL) = products ${yes(l.sdbRowsFinal === l.products)} (${l.sdbRowsFinal} = ${l.products})`,
    `    telemetry rows (FINAL)     ${l.telemetry.rowsFinal} of ${l.telemetry.produced}`,
    `    DLQ entries                ${l.dlq}`,
    `    instances that died        ${l.unexpectedExits}${r.exits.length ? (r.restartOnFailure ? ' (started again, --restart-on-failure)' : '  <-- each stops the run (use --restart-on-failure to start them again as systemd would)') : ''}`,
    ...r.exits.map((e) => `      ${e.instance} at ${e.atS.toFixed(1)} s: ${e.error}`),
    '',
    `  ${r.ok ? 'PASS' : 'FAIL'}${r.ok && r.exits.length ? ` with ${r.exits.length} stage instance(s) started again` : ''}  (report: ${file})`,
  ];
  return lines.join('\n');
}
