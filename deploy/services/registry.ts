/**
 * Apicurio Registry 3.x (the Quarkus fast-jar from Maven Central, deploy/registry/pom.xml) with
 * KafkaSQL storage: every change is a record in a Kafka topic, replayed at start, so schemas and
 * their ids survive restarts. Clients use the Confluent-compatible API under /apis/ccompat/v7.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot, stackBrokers, type PlatformConfig } from '../../lib/config/platform.ts';
import { execOk } from '../lib/exec.ts';
import { findJava } from '../lib/java.ts';
import { listeningPorts, livePid } from '../lib/proc.ts';
import { paths, type Ctx, type Service } from './types.ts';
import { caFile } from '../security/pki.ts';
import { ADMIN_PRINCIPAL, localPassword } from '../../lib/config/localSecure.ts';
import { REGISTRY_PRINCIPAL, REGISTRY_REALM, internalPassword, registryUsers } from '../security/users.ts';

const pom = join(repoRoot, 'deploy', 'registry', 'pom.xml');

/** The KafkaSQL journal (all registry state) and its snapshot topic. Created by the registry itself. */
export const registryTopics = { journal: 'kafkasql-journal', snapshots: 'kafkasql-snapshots' } as const;
/** Apicurio's events topic (apicurio.events.kafka.topic): it creates it at start too. */
export const REGISTRY_EVENTS_TOPIC = 'registry-events';

export function registryVersion(): string {
  const m = /<apicurio\.version>([^<]+)<\/apicurio\.version>/.exec(readFileSync(pom, 'utf8'));
  if (!m) throw new Error(`no <apicurio.version> in ${pom}`);
  return m[1];
}

const appDir = (home: string) => join(home, 'registry', `apicurio-${registryVersion()}`);

/** Unpacks the distribution once per version (into a temporary folder, then renamed). */
async function fetchApp(ctx: Ctx): Promise<void> {
  const dir = appDir(ctx.home);
  if (existsSync(join(dir, 'quarkus-run.jar'))) return;
  ctx.log(`registry: fetching Apicurio Registry ${registryVersion()} from Maven Central`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await execOk('mvn', ['-B', '-q', '--no-transfer-progress', '-f', pom, 'dependency:unpack', `-Dgft.registry.dir=${tmp}`], { timeoutMs: 10 * 60_000 });
  if (!existsSync(join(tmp, 'quarkus-run.jar'))) throw new Error(`maven did not unpack quarkus-run.jar into ${tmp}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

let jvm: string | undefined;
/** Apicurio 3.3 is built for Java 21 (class version 65). */
const registryJava = () => (jvm ??= findJava(21, process.env.GFT_REGISTRY_JAVA).java);

export async function registryAnswers(port: number, timeoutMs = 3000, auth?: { user: string; password: string }): Promise<boolean> {
  try {
    const headers: Record<string, string> = auth ? { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` } : {};
    const r = await fetch(`http://127.0.0.1:${port}/apis/ccompat/v7/subjects`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * Readiness of our registry process. The REST API answers ~2 s before the KafkaSQL journal has been
 * replayed, and lookups then miss subjects that exist (a registration in that window could even
 * create a duplicate). Quarkus' readiness (PersistenceSimpleReadinessCheck) turns UP only once the
 * replay is done; it is served on the management interface, which we bind to a free loopback port,
 * found here from the process's listening sockets.
 */
async function registryReady(pid: number, port: number, timeoutMs = 3000): Promise<boolean> {
  const mgmt = listeningPorts(pid).filter((p) => p !== port);
  if (mgmt.length === 0) return false; // not yet listening
  for (const m of mgmt) {
    try {
      const r = await fetch(`http://127.0.0.1:${m}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await r.json().catch(() => ({}))) as { status?: string };
      if (r.ok && body.status === 'UP') return true;
    } catch {
      /* try the next port */
    }
  }
  return false;
}

/** The consumer group prefix of a registry instance's KafkaSQL consumers. */
export const registryGroupPrefix = (name = 'registry') => `gft-${name}-`;

/**
 * Secured stack: Kafka over SASL_SSL as the principal `registry`, and HTTP basic authentication with
 * roles (Apicurio 3.3's `quarkus.http.auth.basic` + Quarkus' embedded users realm, which stores
 * digests, never passwords): the operator `admin` is sr-admin, stages sr-developer (they register their
 * output schemas), outside consumers sr-readonly; anonymous requests are refused. Written to
 * `config/application.properties` in the registry's working folder (Quarkus reads it there; 0600:
 * it holds the registry's Kafka password), never on the command line.
 */
function secureProperties(home: string): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  const lines = [
    '# Generated by `gft stack up --secure` (deploy/services/registry.ts) at every start: edit the generator.',
    'apicurio.kafka.common.security.protocol=SASL_SSL',
    'apicurio.kafka.common.sasl.mechanism=SCRAM-SHA-512',
    `apicurio.kafka.common.sasl.jaas.config=${esc(`org.apache.kafka.common.security.scram.ScramLoginModule required username="${REGISTRY_PRINCIPAL}" password="${internalPassword(home, REGISTRY_PRINCIPAL)}";`)}`,
    'apicurio.kafka.common.ssl.truststore.type=PEM',
    `apicurio.kafka.common.ssl.truststore.location=${caFile(home)}`,
    'quarkus.http.auth.basic=true',
    'apicurio.authn.mechanism.priority=basic',
    'apicurio.auth.role-based-authorization=true',
    'apicurio.auth.role-source=token',
    'apicurio.auth.anonymous-read-access.enabled=false',
    'quarkus.security.users.embedded.plain-text=false',
    'quarkus.security.users.embedded.algorithm=digest-md5',
    `quarkus.security.users.embedded.realm-name=${REGISTRY_REALM}`,
  ];
  for (const [user, u] of Object.entries(registryUsers(home))) lines.push(`quarkus.security.users.embedded.users.${user}=${u.digest}`, `quarkus.security.users.embedded.roles.${user}=${u.role}`);
  return lines.join('\n') + '\n';
}

/**
 * `name` and `port` let a second instance share the same journal (tests restart such an instance
 * so that the shared registry stays up for the other test files running in parallel).
 */
export function registryService(cfg: PlatformConfig, opts: { name?: string; port?: number; secure?: boolean } = {}): Service {
  const secure = opts.secure ?? false;
  const name = opts.name ?? 'registry';
  const port = opts.port ?? cfg.registryPort;
  const home = resolve(cfg.home);
  return {
    name,
    address: `127.0.0.1:${port}`,
    ports: [port],
    marker: 'quarkus-run.jar',
    startTimeoutMs: 120_000,
    stopTimeoutMs: 20_000,
    async prepare(ctx) {
      mkdirSync(join(ctx.home, 'registry', 'tmp'), { recursive: true });
      mkdirSync(paths.logs(ctx.home), { recursive: true });
      registryJava(); // fail before a 160 MB download when no Java 21+ is around
      await fetchApp(ctx);
    },
    launch(ctx) {
      const tmp = join(ctx.home, 'registry', 'tmp');
      const props: Record<string, string | number> = {
        'quarkus.http.host': '127.0.0.1',
        'quarkus.http.port': port,
        // Health/metrics interface (Quarkus default 0.0.0.0:9000): loopback, on a free port.
        'quarkus.management.host': '127.0.0.1',
        'quarkus.management.port': 0,
        'quarkus.http.access-log.enabled': 'false',
        // The embedded Kafka clients log every config dump and rebalance at INFO.
        'quarkus.log.category."org.apache.kafka".level': 'WARN',
        'apicurio.storage.kind': 'kafkasql',
        // Every broker of the local stack (stack.json), so the registry survives one broker down.
        'apicurio.kafkasql.bootstrap.servers': (stackBrokers(ctx.home) ?? [`127.0.0.1:${ctx.cfg.kafkaPort}`]).join(','),
        'apicurio.kafkasql.topic': registryTopics.journal,
        'apicurio.kafkasql.snapshots.topic': registryTopics.snapshots,
        'apicurio.kafkasql.consumer.group-prefix': registryGroupPrefix(name),
        // Start-up polls the journal and the snapshot topic several times, each poll waiting up to
        // this long for records: 5 s (default) costs ~20 s per start; the broker is local.
        'apicurio.kafkasql.consumer.poll.timeout': 1000,
        'apicurio.storage.snapshot.location': tmp,
        'apicurio.import.work-dir': tmp,
      };
      const confDir = join(ctx.home, 'registry', 'config');
      const conf = join(confDir, 'application.properties');
      if (secure) {
        mkdirSync(confDir, { recursive: true, mode: 0o700 });
        writeFileSync(conf, secureProperties(ctx.home), { mode: 0o600 });
      } else rmSync(conf, { force: true });
      return {
        cmd: registryJava(),
        args: ['-Xms64m', '-Xmx512m', '-Djava.awt.headless=true', `-Djava.io.tmpdir=${tmp}`, ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`), '-jar', join(appDir(ctx.home), 'quarkus-run.jar')],
        cwd: join(ctx.home, 'registry'),
      };
    },
    async healthy() {
      const pw = secure ? localPassword(home, ADMIN_PRINCIPAL) : null;
      if (!(await registryAnswers(port, 3000, pw ? { user: ADMIN_PRINCIPAL, password: pw } : undefined))) return false;
      const pid = livePid(paths.pidFile(home, name), 'quarkus-run.jar');
      return pid === null ? true : registryReady(pid, port); // a registry we did not start: the API answering is all we can check
    },
    logFiles: (ctx) => [paths.outFile(ctx.home, name)],
  };
}
