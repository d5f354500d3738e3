/**
 * The local platform: Kafka (KRaft: one node, or `brokers: 3` nodes in one quorum), Apicurio Registry
 * (KafkaSQL storage), ClickHouse and, with `s3: true`, an S3-compatible object store (MinIO), on
 * 127.0.0.1, with data, logs and pid files under GFT_HOME (default .gft/, gitignored).
 *
 * - `up()` installs what is missing, starts what is not running and healthy, waits for health.
 *   Idempotent and safe to call concurrently (a lock file serialises callers across processes).
 *   The layout (brokers, s3) is recorded in GFT_HOME/stack.json (deploy/state.ts); a later `up()`
 *   without options keeps it.
 * - `down()` stops only processes whose pid files we wrote (SIGTERM, then SIGKILL).
 * - `status()` probes each service; `kafkaOverview()` says which broker leads what.
 * A failed start throws an Error whose message carries the last lines of that service's logs.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { platformConfig, repoRoot, type PlatformConfig } from '../lib/config/platform.ts';
import { UsageError } from '../lib/cli/args.ts';
import { exec } from './lib/exec.ts';
import { fileSize, livePid, pidAlive, portOpen, sleep, startDetached, stopPid, tail, withLock } from './lib/proc.ts';
import { clickhouseService } from './services/clickhouse.ts';
import { kafkaNodes, kafkaService } from './services/kafka.ts';
import { REGISTRY_EVENTS_TOPIC, registryService, registryTopics } from './services/registry.ts';
import { ensurePasswords } from './security/users.ts';
import { operatorTls } from './security/pki.ts';
import { ensureBucket, s3Service } from './services/s3.ts';
import { paths, type Ctx, type Service } from './services/types.ts';
import { readState, writeState, type StackState } from './state.ts';

export type { Service, StackState };

export interface ServiceStatus {
  service: string;
  /** our live process, null when none */
  pid: number | null;
  address: string;
  healthy: boolean;
}

export interface Layout {
  /** Kafka nodes (each broker + controller); 1 is the default */
  brokers: number;
  /** run the S3-compatible object store too */
  s3: boolean;
  /** Kafka on SASL_SSL with ACLs, registry and ClickHouse with passwords (deploy/security/) */
  secure: boolean;
}

export interface UpOptions extends Partial<Layout> {
  log?: (line: string) => void;
  /** run deploy/install-debian.sh first (default true; GFT_SKIP_INSTALL=1 also skips it) */
  install?: boolean;
  /** start only these services (e.g. a Kafka cluster of its own in a test); default all */
  only?: ('kafka' | 'registry' | 'clickhouse' | 's3')[];
}

const LOCK_WAIT_MS = 15 * 60_000;
const defaultLog = (s: string) => process.stderr.write(`${s}\n`);

function context(log?: (s: string) => void, cfg: PlatformConfig = platformConfig()): Ctx {
  return { cfg, home: resolve(cfg.home), log: log ?? defaultLog };
}

/** The layout recorded by the last `up` (GFT_HOME/stack.json), overridden by `opts`; default one broker, no S3. */
export function layout(home: string, opts: Partial<Layout> = {}): Layout {
  const st = readState(home);
  return { brokers: opts.brokers ?? st?.kafka.brokers ?? 1, s3: opts.s3 ?? st?.s3 ?? false, secure: opts.secure ?? st?.secure ?? false };
}

export interface Services {
  /** one service per Kafka node: `kafka`, or `kafka-1`…`kafka-N` */
  kafka: Service[];
  registry: Service;
  clickhouse: Service;
  /** the S3-compatible store (MinIO), when the layout has it */
  s3?: Service;
}

export function services(cfg: PlatformConfig = platformConfig(), l: Layout = layout(resolve(cfg.home))): Services {
  const kafka = kafkaNodes(cfg, l.brokers, l.secure).map((n) => kafkaService(cfg, { node: n.id, brokers: l.brokers, secure: l.secure }));
  return { kafka, registry: registryService(cfg, { secure: l.secure }), clickhouse: clickhouseService(cfg, { secure: l.secure }), ...(l.s3 ? { s3: s3Service() } : {}) };
}

const list = (s: Services): Service[] => [...s.kafka, s.registry, s.clickhouse, ...(s.s3 ? [s.s3] : [])];

/**
 * Kafka services of every layout (the single node, cluster nodes 1…9): what `down` and a layout
 * switch may have to stop. A cluster node's name, pid file and marker do not depend on the cluster size.
 */
function anyKafka(cfg: PlatformConfig): Service[] {
  for (let max = 9; max >= 2; max--) {
    try {
      return [kafkaService(cfg), ...kafkaNodes(cfg, max).map((n) => kafkaService(cfg, { node: n.id, brokers: max }))];
    } catch {
      /* ports overlapping or beyond 65535 with that many nodes: fewer */
    }
  }
  return [kafkaService(cfg)];
}

const lockFile = (ctx: Ctx) => join(paths.run(ctx.home), 'stack.lock');
const locked = <T>(ctx: Ctx, fn: () => Promise<T>) => withLock(lockFile(ctx), fn, { timeoutMs: LOCK_WAIT_MS, onWait: () => ctx.log('stack: another gft is starting or stopping the stack; waiting for it') });

/** Debian packages (deploy/install-debian.sh): a single dpkg-query when nothing is missing. */
async function install(ctx: Ctx): Promise<void> {
  if (process.env.GFT_SKIP_INSTALL === '1') return;
  if (!existsSync('/usr/bin/dpkg-query')) {
    ctx.log('install: not a Debian system; skipping deploy/install-debian.sh (install its packages yourself)');
    return;
  }
  const r = await exec('bash', [join(repoRoot, 'deploy', 'install-debian.sh')], { onLine: (l) => l && ctx.log(`install: ${l}`), timeoutMs: 60 * 60_000 });
  // Not fatal: a machine may lack a package the stack does not need (chromium, astropy). A service
  // whose tool is missing then fails on its own, with a message naming it.
  if (r.code !== 0) ctx.log(`install: deploy/install-debian.sh failed (exit ${r.code}); continuing with what is installed`);
}

function failure(svc: Service, ctx: Ctx, why: string): Error {
  const parts = [`${svc.name}: ${why}`];
  for (const f of svc.logFiles(ctx)) {
    if (fileSize(f) === 0) continue;
    parts.push(`--- last 40 lines of ${f}`, tail(f, 40));
  }
  return new Error(parts.join('\n'));
}

async function waitHealthy(svc: Service, ctx: Ctx, pid: number, timeoutMs: number): Promise<'ok' | 'exited' | 'timeout'> {
  const t0 = Date.now();
  let nextNote = t0 + 5000;
  for (;;) {
    if (!pidAlive(pid)) return 'exited';
    if (await svc.healthy()) return 'ok';
    const now = Date.now();
    if (now - t0 > timeoutMs) return 'timeout';
    if (now >= nextNote) {
      ctx.log(`${svc.name}: waiting for ${svc.address} (${Math.round((now - t0) / 1000)}s)`);
      nextNote += 5000;
    }
    await sleep(300);
  }
}

/** Starts `svc` unless our process for it is alive and healthy; resolves once healthy. Caller holds the lock. */
async function ensure(svc: Service, ctx: Ctx): Promise<void> {
  const pidFile = paths.pidFile(ctx.home, svc.name);
  const existing = livePid(pidFile, svc.marker);
  if (existing) {
    if (await svc.healthy()) {
      ctx.log(`${svc.name}: running (pid ${existing}) at ${svc.address}`);
      return;
    }
    ctx.log(`${svc.name}: pid ${existing} is alive but not answering; waiting`);
    if ((await waitHealthy(svc, ctx, existing, svc.startTimeoutMs)) === 'ok') return;
    ctx.log(`${svc.name}: still not answering; restarting pid ${existing}`);
    await stopPid(existing, svc.stopTimeoutMs);
  }
  rmSync(pidFile, { force: true });
  for (const port of svc.ports) {
    if (await portOpen(port))
      throw failure(svc, ctx, `port 127.0.0.1:${port} is taken by a process that this GFT_HOME (${ctx.home}) did not start; stop it or move our service with the GFT_*_PORT variables`);
  }
  await svc.prepare(ctx);
  const launch = svc.launch(ctx);
  const t0 = Date.now();
  const pid = startDetached({ ...launch, outFile: paths.outFile(ctx.home, svc.name), pidFile });
  ctx.log(`${svc.name}: started pid ${pid}; waiting for ${svc.address}`);
  const r = await waitHealthy(svc, ctx, pid, svc.startTimeoutMs);
  if (r === 'ok') {
    ctx.log(`${svc.name}: healthy at ${svc.address} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    return;
  }
  if (r === 'timeout') await stopPid(pid, 5000);
  rmSync(pidFile, { force: true });
  throw failure(svc, ctx, r === 'exited' ? 'exited during start' : `not healthy after ${svc.startTimeoutMs / 1000}s (stopped it)`);
}

async function stopOne(svc: Pick<Service, 'name' | 'marker' | 'stopTimeoutMs'>, ctx: Ctx, timeoutMs = svc.stopTimeoutMs): Promise<void> {
  const pidFile = paths.pidFile(ctx.home, svc.name);
  const pid = livePid(pidFile, svc.marker);
  if (pid) {
    const how = await stopPid(pid, timeoutMs);
    ctx.log(`${svc.name}: stopped pid ${pid}${how === 'kill' ? ` (SIGKILL after ${timeoutMs / 1000}s)` : ''}`);
  }
  rmSync(pidFile, { force: true });
}

/**
 * Stops Kafka nodes together. A broker's controlled shutdown needs a controller quorum: when the
 * whole cluster stops, the node(s) left last wait for one (Kafka waits up to 5 minutes), so after a
 * short grace they get SIGKILL; their logs are recovered at the next start. One node alone (the
 * default stack, `restart kafka-2`) keeps the normal timeout.
 */
async function stopKafka(nodes: Service[], ctx: Ctx): Promise<void> {
  const live = nodes.filter((k) => livePid(paths.pidFile(ctx.home, k.name), k.marker));
  await Promise.all(nodes.map((k) => stopOne(k, ctx, live.length > 1 ? 10_000 : k.stopTimeoutMs)));
}

/** Client settings that point away from the local stack (production or a shared cluster). */
function elsewhere(cfg: PlatformConfig, brokers: number): string[] {
  const out: string[] = [];
  const local = (u: string, port: number) => new RegExp(`^(https?://)?(127\\.0\\.0\\.1|localhost):${port}(/|$)`).test(u);
  const ours = new Set(kafkaNodes(cfg, brokers).map((n) => n.port));
  if (process.env.GFT_KAFKA_BROKERS && !cfg.kafkaBrokers.every((b) => [...ours].some((p) => local(b, p)))) out.push(`GFT_KAFKA_BROKERS=${cfg.kafkaBrokers.join(',')}: clients use those brokers, not the local Kafka`);
  if (!local(cfg.registryUrl, cfg.registryPort)) out.push(`GFT_REGISTRY_URL=${cfg.registryUrl}: clients use that registry, not the local one`);
  if (!local(cfg.clickhouseUrl, cfg.clickhouseHttpPort)) out.push(`GFT_CLICKHOUSE_URL=${cfg.clickhouseUrl}: clients use that ClickHouse, not the local one`);
  return out;
}

/** Installs what is missing and starts every service of the layout that is not already running and healthy. */
export async function up(opts: UpOptions = {}): Promise<void> {
  const ctx = context(opts.log);
  await locked(ctx, async () => {
    const t0 = Date.now();
    const l = layout(ctx.home, opts);
    const s = services(ctx.cfg, l);
    for (const n of elsewhere(ctx.cfg, l.brokers)) ctx.log(`note: ${n}`);
    // Another Kafka layout still running (e.g. one node, now --brokers 3): it holds node 1's ports.
    const names = new Set(s.kafka.map((k) => k.name));
    const others = anyKafka(ctx.cfg).filter((k) => !names.has(k.name) && livePid(paths.pidFile(ctx.home, k.name), k.marker));
    if (others.length) {
      ctx.log(`kafka: switching to ${l.brokers} broker(s); stopping ${others.map((k) => k.name).join(', ')} (their data stays)`);
      await stopOne(s.registry, ctx); // a Kafka client of the old layout
      await stopKafka(others, ctx);
    }
    // Secured ↔ plaintext: listeners, registry and ClickHouse users change; the data stays.
    const before = readState(ctx.home);
    if ((before?.secure ?? false) !== l.secure) {
      const running = [...s.kafka, s.registry, s.clickhouse].filter((x) => livePid(paths.pidFile(ctx.home, x.name), x.marker));
      if (running.length) {
        ctx.log(`stack: switching to ${l.secure ? 'the secured stack (SASL_SSL, ACLs, passwords)' : 'plaintext'}; restarting ${running.map((x) => x.name).join(', ')}`);
        await stopOne(s.registry, ctx);
        await Promise.all([stopKafka(s.kafka, ctx), stopOne(s.clickhouse, ctx)]);
      }
    }
    if (l.secure) ensurePasswords(ctx.home);
    writeState(ctx.home, { kafka: { brokers: l.brokers, bootstrap: s.kafka.map((k) => k.address) }, s3: l.s3, secure: l.secure });
    const want = (x: 'kafka' | 'registry' | 'clickhouse' | 's3') => !opts.only || opts.only.includes(x);
    // Not in the layout any more (`up --no-s3`): stop it.
    if (!s.s3) await stopOne(s3Service(), ctx);
    if (opts.install !== false && !opts.only) await install(ctx);
    // The registry download runs while Kafka and ClickHouse start; the registry itself needs Kafka.
    const registryReady = want('registry') ? s.registry.prepare(ctx) : Promise.resolve();
    registryReady.catch(() => {});
    const s3 = s.s3 && want('s3') ? s.s3 : undefined;
    const results = await Promise.allSettled([
      ...(want('kafka') ? s.kafka.map((k) => ensure(k, ctx)) : []),
      ...(want('clickhouse') ? [ensure(s.clickhouse, ctx)] : []),
      ...(s3 ? [ensure(s3, ctx).then(() => ensureBucket(ctx))] : []),
      registryReady,
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new Error(failed.map((e) => e.message).join('\n\n'));
    if (l.secure && want('kafka')) await secureKafkaOf(ctx, l);
    if (want('registry')) await ensure(s.registry, ctx);
    ctx.log(`stack: up${l.secure ? ' (secured)' : ''} (${((Date.now() - t0) / 1000).toFixed(1)}s); data and logs in ${ctx.home}`);
  });
}

/** The INTERNAL (mTLS) addresses of the secured brokers: where the operator's tools connect. */
export function internalBrokers(cfg: PlatformConfig, l: Layout): string[] {
  return kafkaNodes(cfg, l.brokers, true).map((n) => `127.0.0.1:${n.internalPort}`);
}

/** The KRaft cluster id of the local Kafka (its first node's meta.properties). */
function clusterIdOf(home: string, brokers: number): string {
  const dir = brokers === 1 ? join(home, 'kafka', 'data') : join(home, 'kafka', 'cluster', 'node-1', 'data');
  try {
    return /^cluster\.id=(.+)$/m.exec(readFileSync(join(dir, 'meta.properties'), 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** SCRAM users of the internal principals, and the base ACLs (registry, stages without namespace). */
async function secureKafkaOf(ctx: Ctx, l: Layout): Promise<void> {
  const { secureKafka } = await import('./security/users.ts');
  await secureKafka(ctx.home, internalBrokers(ctx.cfg, l), clusterIdOf(ctx.home, l.brokers), { topics: [...Object.values(registryTopics), REGISTRY_EVENTS_TOPIC], groupPrefix: 'gft-registry' }, ctx.log);
}

/** Stops our processes (registry first: it is a Kafka client). Leaves data and the recorded layout in place. */
export async function down(opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  const s = services(ctx.cfg);
  await locked(ctx, async () => {
    // Extra registry instances (tests start some that share the journal) go first.
    const runDir = paths.run(ctx.home);
    const extra = existsSync(runDir) ? readdirSync(runDir).filter((f) => /^registry-.+\.pid$/.test(f)).map((f) => f.slice(0, -4)) : [];
    await Promise.all([s.registry, ...extra.map((name) => ({ ...s.registry, name }))].map((svc) => stopOne(svc, ctx)));
    const kafka = new Map([...anyKafka(ctx.cfg), ...s.kafka].map((k) => [k.name, k]));
    await Promise.all([stopKafka([...kafka.values()], ctx), stopOne(s.clickhouse, ctx), stopOne(s.s3 ?? s3Service(), ctx)]);
  });
}

export async function status(): Promise<ServiceStatus[]> {
  const ctx = context(() => {});
  return Promise.all(
    list(services(ctx.cfg)).map(async (svc) => ({
      service: svc.name,
      pid: livePid(paths.pidFile(ctx.home, svc.name), svc.marker),
      address: svc.address,
      healthy: await svc.healthy(),
    })),
  );
}

export function formatStatus(rows: ServiceStatus[]): string {
  const table = [['service', 'pid', 'address', 'healthy'], ...rows.map((r) => [r.service, r.pid ? String(r.pid) : '-', r.address, r.healthy ? 'yes' : 'no'])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table.map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** A service of the current layout by name: kafka (every node), kafka-N, registry, clickhouse. */
function named(ctx: Ctx, name: string): Service[] {
  const s = services(ctx.cfg);
  const found = name === 'kafka' ? s.kafka : list(s).filter((x) => x.name === name);
  if (!found.length) throw new UsageError(`no service '${name}' in this stack (${list(s).map((x) => x.name).join(', ')})`);
  return found;
}

/** Stops then starts one service (e.g. to show that the registry keeps its schema ids); `kafka` restarts every node. */
export async function restart(name: string, opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  const svcs = named(ctx, name);
  await locked(ctx, async () => {
    if (svcs.length > 1) await stopKafka(svcs, ctx);
    else await stopOne(svcs[0], ctx);
    await Promise.all(svcs.map((svc) => ensure(svc, ctx)));
  });
}

/** Restarts a service only when our process of it runs (the registry after its users changed). */
export async function restartIfRunning(name: string, opts: { log?: (line: string) => void } = {}): Promise<boolean> {
  const ctx = context(opts.log);
  const svcs = named(ctx, name);
  if (!svcs.some((svc) => livePid(paths.pidFile(ctx.home, svc.name), svc.marker))) return false;
  await restart(name, opts);
  return true;
}

function brokerService(ctx: Ctx, node: number): Service {
  const s = services(ctx.cfg);
  const svc = s.kafka[node - 1];
  if (!Number.isInteger(node) || !svc) throw new UsageError(`no broker ${node}: the stack runs ${s.kafka.length} (gft stack up --brokers 3 for a cluster)`);
  return svc;
}

/** kill -9 of Kafka node `node` (1-based): a crash, for failover tests. Resolves once the process is gone. Returns its pid. */
export async function killBroker(node: number, opts: { log?: (line: string) => void } = {}): Promise<number> {
  const ctx = context(opts.log);
  const svc = brokerService(ctx, node);
  return locked(ctx, async () => {
    const pid = livePid(paths.pidFile(ctx.home, svc.name), svc.marker);
    if (!pid) throw new Error(`${svc.name} is not running`);
    process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(50);
    ctx.log(`${svc.name}: killed pid ${pid} (SIGKILL)`);
    return pid;
  });
}

/** Starts Kafka node `node` again (no-op when it runs) and waits until the cluster lists it. */
export async function startBroker(node: number, opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  const svc = brokerService(ctx, node);
  await locked(ctx, () => ensure(svc, ctx));
}

/** Starts (or finds healthy) any service description, e.g. a second registry instance in a test. */
export async function startService(svc: Service, opts: { log?: (line: string) => void } = {}): Promise<number> {
  const ctx = context(opts.log);
  return locked(ctx, async () => {
    await ensure(svc, ctx);
    return livePid(paths.pidFile(ctx.home, svc.name), svc.marker)!;
  });
}

export async function stopService(svc: Service, opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  await locked(ctx, () => stopOne(svc, ctx));
}

/** Log files of a service (or of every Kafka node for `kafka`), most useful first. */
export function logFiles(name: string): string[] {
  const ctx = context(() => {});
  return named(ctx, name).flatMap((svc) => svc.logFiles(ctx));
}

/** How `gft stack status` reaches the secured brokers: the operator's certificate on the INTERNAL listener (undefined: plaintext stack). */
export function operatorAccess(): { brokers: string[]; ssl: { ca: string[]; cert: string; key: string } } | undefined {
  const ctx = context(() => {});
  const l = layout(ctx.home);
  if (!l.secure) return undefined;
  try {
    return { brokers: internalBrokers(ctx.cfg, l), ssl: operatorTls(ctx.home) };
  } catch {
    return undefined;
  }
}

/** The Kafka nodes of the current layout: id and client address. */
export function brokers(): { id: number; address: string }[] {
  const ctx = context(() => {});
  return kafkaNodes(ctx.cfg, layout(ctx.home).brokers).map((n) => ({ id: n.id, address: `127.0.0.1:${n.port}` }));
}
