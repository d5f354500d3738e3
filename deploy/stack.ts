/**
 * The local platform: Kafka (KRaft), Apicurio Registry (KafkaSQL storage) and ClickHouse, on
 * 127.0.0.1, with data, logs and pid files under GFT_HOME (default .gft/, gitignored).
 *
 * - `up()` installs what is missing, starts what is not running and healthy, waits for health.
 *   Idempotent and safe to call concurrently (a lock file serialises callers across processes).
 * - `down()` stops only processes whose pid files we wrote (SIGTERM, then SIGKILL).
 * - `status()` probes each service.
 * A failed start throws an Error whose message carries the last lines of that service's logs.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { platformConfig, repoRoot, type PlatformConfig } from '../lib/config/platform.ts';
import { exec } from './lib/exec.ts';
import { fileSize, livePid, pidAlive, portOpen, sleep, startDetached, stopPid, tail, withLock } from './lib/proc.ts';
import { clickhouseService } from './services/clickhouse.ts';
import { kafkaService } from './services/kafka.ts';
import { registryService } from './services/registry.ts';
import { paths, type Ctx, type Service, type ServiceName } from './services/types.ts';

export type { Service, ServiceName };

export interface ServiceStatus {
  service: string;
  /** our live process, null when none */
  pid: number | null;
  address: string;
  healthy: boolean;
}

export interface UpOptions {
  log?: (line: string) => void;
  /** run deploy/install-debian.sh first (default true; GFT_SKIP_INSTALL=1 also skips it) */
  install?: boolean;
}

const LOCK_WAIT_MS = 15 * 60_000;
const defaultLog = (s: string) => process.stderr.write(`${s}\n`);

function context(log?: (s: string) => void, cfg: PlatformConfig = platformConfig()): Ctx {
  return { cfg, home: resolve(cfg.home), log: log ?? defaultLog };
}

export function services(cfg: PlatformConfig = platformConfig()): Record<ServiceName, Service> {
  return { kafka: kafkaService(cfg), registry: registryService(cfg), clickhouse: clickhouseService(cfg) };
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

async function stopOne(svc: Pick<Service, 'name' | 'marker' | 'stopTimeoutMs'>, ctx: Ctx): Promise<void> {
  const pidFile = paths.pidFile(ctx.home, svc.name);
  const pid = livePid(pidFile, svc.marker);
  if (pid) {
    const how = await stopPid(pid, svc.stopTimeoutMs);
    ctx.log(`${svc.name}: stopped pid ${pid}${how === 'kill' ? ` (SIGKILL after ${svc.stopTimeoutMs / 1000}s)` : ''}`);
  }
  rmSync(pidFile, { force: true });
}

/** Client settings that point away from the local stack (production or a shared cluster). */
function elsewhere(cfg: PlatformConfig): string[] {
  const out: string[] = [];
  const local = (u: string, port: number) => new RegExp(`^(https?://)?(127\\.0\\.0\\.1|localhost):${port}(/|$)`).test(u);
  if (!cfg.kafkaBrokers.every((b) => local(b, cfg.kafkaPort))) out.push(`GFT_KAFKA_BROKERS=${cfg.kafkaBrokers.join(',')}: clients use those brokers, not the local Kafka`);
  if (!local(cfg.registryUrl, cfg.registryPort)) out.push(`GFT_REGISTRY_URL=${cfg.registryUrl}: clients use that registry, not the local one`);
  if (!local(cfg.clickhouseUrl, cfg.clickhouseHttpPort)) out.push(`GFT_CLICKHOUSE_URL=${cfg.clickhouseUrl}: clients use that ClickHouse, not the local one`);
  return out;
}

/** Installs what is missing and starts every service that is not already running and healthy. */
export async function up(opts: UpOptions = {}): Promise<void> {
  const ctx = context(opts.log);
  const s = services(ctx.cfg);
  await locked(ctx, async () => {
    const t0 = Date.now();
    for (const n of elsewhere(ctx.cfg)) ctx.log(`note: ${n}`);
    if (opts.install !== false) await install(ctx);
    // The registry download runs while Kafka and ClickHouse start; the registry itself needs Kafka.
    const registryReady = s.registry.prepare(ctx);
    registryReady.catch(() => {});
    const results = await Promise.allSettled([ensure(s.kafka, ctx), ensure(s.clickhouse, ctx), registryReady]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await ensure(s.registry, ctx);
    ctx.log(`stack: up (${((Date.now() - t0) / 1000).toFixed(1)}s); data and logs in ${ctx.home}`);
  });
}

/** Stops our processes (registry first: it is a Kafka client). Leaves data in place. */
export async function down(opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  const s = services(ctx.cfg);
  await locked(ctx, async () => {
    // Extra registry instances (tests start some that share the journal) go first.
    const runDir = paths.run(ctx.home);
    const extra = existsSync(runDir) ? readdirSync(runDir).filter((f) => /^registry-.+\.pid$/.test(f)).map((f) => f.slice(0, -4)) : [];
    await Promise.all([s.registry, ...extra.map((name) => ({ ...s.registry, name }))].map((svc) => stopOne(svc, ctx)));
    await Promise.all([stopOne(s.kafka, ctx), stopOne(s.clickhouse, ctx)]);
  });
}

export async function status(): Promise<ServiceStatus[]> {
  const ctx = context(() => {});
  return Promise.all(
    Object.values(services(ctx.cfg)).map(async (svc) => ({
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

/** Stops then starts one service (e.g. to show that the registry keeps its schema ids). */
export async function restart(name: ServiceName, opts: { log?: (line: string) => void } = {}): Promise<void> {
  const ctx = context(opts.log);
  const svc = services(ctx.cfg)[name];
  await locked(ctx, async () => {
    await stopOne(svc, ctx);
    await ensure(svc, ctx);
  });
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

/** Log files of a service, most useful first. */
export function logFiles(name: ServiceName): string[] {
  const ctx = context(() => {});
  return services(ctx.cfg)[name].logFiles(ctx);
}
