/**
 * Apache Kafka in KRaft mode from the Maven Central jars (deploy/kafka/pom.xml): one node that is both
 * broker and controller (the default), or N such nodes in one quorum (`gft stack up --brokers 3`).
 * Listens on 127.0.0.1 only; topics are never auto-created (the topology provisions them).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { repoRoot, type PlatformConfig } from '../../lib/config/platform.ts';
import { execOk } from '../lib/exec.ts';
import { findJava } from '../lib/java.ts';
import { portOpen } from '../lib/proc.ts';
import { paths, type Ctx, type Service } from './types.ts';
import { ADMIN_PRINCIPAL } from '../../lib/config/localSecure.ts';
import { brokerPem, brokerPrincipal, caFile, ensurePki, OPERATOR_PRINCIPAL, operatorTls } from '../security/pki.ts';

const pom = join(repoRoot, 'deploy', 'kafka', 'pom.xml');

export function kafkaVersion(): string {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, 'utf8'));
  if (!m) throw new Error(`no <kafka.version> in ${pom}`);
  return m[1];
}

/**
 * One KRaft node. The default stack has one node (`name` 'kafka', files directly under
 * GFT_HOME/kafka, storage formatted `--standalone`); `gft stack up --brokers N` runs N nodes
 * (`kafka-1`…`kafka-N`, files under GFT_HOME/kafka/cluster/node-<id>) that are all brokers and
 * controllers of one quorum, bootstrapped as a dynamic quorum (KIP-853: `--initial-controllers`).
 */
export interface KafkaNode {
  id: number;
  /** PLAINTEXT listener (clients, replication) */
  port: number;
  /** CONTROLLER listener (the KRaft quorum) */
  controllerPort: number;
  /** INTERNAL listener of the secured stack: inter-broker traffic and the stack's operator, mTLS */
  internalPort: number;
}

/**
 * Node i (1-based) of N: GFT_KAFKA_PORT + 2(i-1), GFT_KAFKA_CONTROLLER_PORT + 2(i-1) and (secured
 * stack) GFT_KAFKA_INTERNAL_PORT + 2(i-1); node 1 = the single node's ports.
 */
export function kafkaNodes(cfg: PlatformConfig, brokers: number, secure = false): KafkaNode[] {
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) throw new Error(`brokers: expected 1…9, got ${brokers}`);
  const nodes = Array.from({ length: brokers }, (_, i) => ({ id: i + 1, port: cfg.kafkaPort + 2 * i, controllerPort: cfg.kafkaControllerPort + 2 * i, internalPort: cfg.kafkaInternalPort + 2 * i }));
  const ports = nodes.flatMap((n) => [n.port, n.controllerPort, ...(secure ? [n.internalPort] : [])]);
  if (new Set(ports).size !== ports.length || ports.some((p) => p > 65535))
    throw new Error(`kafka ports overlap or exceed 65535 with ${brokers} brokers (GFT_KAFKA_PORT=${cfg.kafkaPort}, GFT_KAFKA_CONTROLLER_PORT=${cfg.kafkaControllerPort}${secure ? `, GFT_KAFKA_INTERNAL_PORT=${cfg.kafkaInternalPort}` : ''}; node i uses each + 2(i-1)): move one of them`);
  return nodes;
}

export const kafkaServiceName = (node: number, brokers: number) => (brokers === 1 ? 'kafka' : `kafka-${node}`);

const clusterRoot = (home: string) => join(home, 'kafka', 'cluster');
const clusterFile = (home: string) => join(clusterRoot(home), 'cluster.json');

function dirs(home: string, node: number, brokers: number) {
  const root = brokers === 1 ? join(home, 'kafka') : join(clusterRoot(home), `node-${node}`);
  return {
    libs: join(home, 'kafka', 'libs'),
    root,
    data: join(root, 'data'),
    props: join(root, 'server.properties'),
    format: join(root, 'format.json'),
    /** log4j2 writes kafka.log here */
    logs: brokers === 1 ? paths.logs(home) : join(paths.logs(home), kafkaServiceName(node, brokers)),
  };
}

const fetching = new Map<string, Promise<void>>();

/** Fetches the broker jars once per Kafka version; the nodes of a cluster share them (and one fetch). */
function fetchLibs(ctx: Ctx): Promise<void> {
  let p = fetching.get(ctx.home);
  if (!p) {
    p = fetchLibsOnce(ctx).finally(() => fetching.delete(ctx.home));
    fetching.set(ctx.home, p);
  }
  return p;
}

/** Copied to a temporary folder, then renamed. */
async function fetchLibsOnce(ctx: Ctx): Promise<void> {
  const libs = join(ctx.home, 'kafka', 'libs');
  const version = kafkaVersion();
  if (existsSync(join(libs, `kafka_2.13-${version}.jar`))) return;
  ctx.log(`kafka: fetching Kafka ${version} jars from Maven Central`);
  const tmp = `${libs}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await execOk('mvn', ['-B', '-q', '--no-transfer-progress', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`], { timeoutMs: 10 * 60_000 });
  if (!readdirSync(tmp).some((f) => f === `kafka_2.13-${version}.jar`)) throw new Error(`maven did not deliver kafka_2.13-${version}.jar into ${tmp}`);
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
}

/**
 * The listeners of the secured stack (`gft stack up --secure`): clients on SASL_SSL (SCRAM-SHA-512 and
 * -256) at the usual port; brokers between themselves (INTERNAL) and the KRaft quorum (CONTROLLER) on
 * TLS with client certificates (the principal is the certificate's CN: User:gft-kafka-<id>, super
 * users with the stack's operator); ACLs by the standard KRaft authorizer, denying what no ACL allows.
 */
function securityProperties(node: KafkaNode, all: KafkaNode[], tls: { ca: string; keystore: string; superUsers: string[] }): { listeners: string; advertised: string; map: string; interBroker: string; extra: string } {
  const host = '127.0.0.1';
  const n = all.length;
  return {
    listeners: `SASL_SSL://${host}:${node.port},INTERNAL://${host}:${node.internalPort},CONTROLLER://${host}:${node.controllerPort}`,
    advertised: `SASL_SSL://${host}:${node.port},INTERNAL://${host}:${node.internalPort}${n > 1 ? `,CONTROLLER://${host}:${node.controllerPort}` : ''}`,
    map: 'SASL_SSL:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL',
    interBroker: 'INTERNAL',
    extra: `
# Security (gft stack up --secure): TLS everywhere with the stack's CA (deploy/security/pki.ts).
ssl.keystore.type=PEM
ssl.keystore.location=${tls.keystore}
ssl.truststore.type=PEM
ssl.truststore.location=${tls.ca}
ssl.endpoint.identification.algorithm=https
# Brokers and the quorum authenticate each other (and the stack's operator) by certificate.
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^.*CN=([^,]+).*$/$1/,DEFAULT
# Clients: SCRAM users (gft users, deploy/security/users.ts) over TLS.
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# What no ACL allows is denied (ACLs from the topology: lib/runtime/acls.ts).
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The brokers, the stack's operator (certificate) and the operator's SCRAM user \`admin\` (gft dc3's
# monitor, gft topics, gft users on this machine) are super users; nobody else is.
super.users=${tls.superUsers.map((u) => `User:${u}`).join(';')}
`,
  };
}

export function serverProperties(node: KafkaNode, all: KafkaNode[], dataDir: string, tls?: { ca: string; keystore: string; superUsers: string[] }): string {
  const host = '127.0.0.1';
  const n = all.length;
  const rf = Math.min(3, n);
  const isr = rf >= 3 ? 2 : 1;
  const header = n === 1 ? '' : `# Node ${node.id} of a ${n}-node KRaft quorum (every node is broker and controller).
`;
  const sec = tls ? securityProperties(node, all, tls) : null;
  return `# Generated by \`gft stack up\` (deploy/services/kafka.ts) on every start: edit the generator, not this file.
${header}process.roles=broker,controller
node.id=${node.id}
controller.quorum.bootstrap.servers=${all.map((x) => `${host}:${x.controllerPort}`).join(',')}
listeners=${sec ? sec.listeners : `PLAINTEXT://${host}:${node.port},CONTROLLER://${host}:${node.controllerPort}`}
advertised.listeners=${sec ? sec.advertised : `PLAINTEXT://${host}:${node.port}${n > 1 ? `,CONTROLLER://${host}:${node.controllerPort}` : ''}`}
controller.listener.names=CONTROLLER
inter.broker.listener.name=${sec ? sec.interBroker : 'PLAINTEXT'}
listener.security.protocol.map=${sec ? sec.map : 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'}
log.dirs=${dataDir}
${sec ? sec.extra : ''}
# Topics are provisioned from the topology (\`gft topics create\`), never created by a stray client.
auto.create.topics.enable=false
num.partitions=1
# Topics created without an explicit replication factor (and the registry's own topics).
default.replication.factor=${rf}
min.insync.replicas=${isr}

# Internal topics: ${n === 1 ? 'one node cannot hold more replicas than one, or groups and transactions fail\n# with "coordinator not available"' : `${rf} replicas, ${isr} in sync, so consumer groups and transactions survive one broker down`}.
offsets.topic.replication.factor=${rf}
transaction.state.log.replication.factor=${rf}
transaction.state.log.min.isr=${isr}
share.coordinator.state.topic.replication.factor=${rf}
share.coordinator.state.topic.min.isr=${isr}
# Tests create many short-lived groups: no 3 s wait for more members.
group.initial.rebalance.delay.ms=0
${n > 1 ? '# A killed broker is fenced (and its partitions led elsewhere) after this long without heartbeats.\nbroker.session.timeout.ms=6000\n' : ''}
log.retention.hours=168
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
`;
}

const log4j = () => `-Dlog4j2.configurationFile=${join(repoRoot, 'deploy', 'kafka', 'log4j2.xml')}`;

async function storageTool(ctx: Ctx, java: string, props: string, logsDir: string, args: string[]): Promise<void> {
  await execOk(java, ['-Xmx256m', '-cp', join(ctx.home, 'kafka', 'libs', '*'), log4j(), `-Dkafka.logs.dir=${logsDir}`, 'kafka.tools.StorageTool', 'format', '-c', props, ...args], { timeoutMs: 120_000 });
}

/** Formats the single node's KRaft storage once. The controller address is part of the formatted quorum. */
async function formatSingle(ctx: Ctx, java: string): Promise<void> {
  const d = dirs(ctx.home, 1, 1);
  if (existsSync(join(d.data, 'meta.properties'))) {
    const f = existsSync(d.format) ? (JSON.parse(readFileSync(d.format, 'utf8')) as { controllerPort: number }) : null;
    if (f && f.controllerPort !== ctx.cfg.kafkaControllerPort)
      throw new Error(
        `kafka storage in ${d.data} was formatted for controller port ${f.controllerPort}, now ${ctx.cfg.kafkaControllerPort}: ` +
          `restore GFT_KAFKA_CONTROLLER_PORT or wipe it (gft stack down && rm -rf ${d.data})`,
      );
    return;
  }
  const clusterId = kafkaUuid();
  ctx.log(`kafka: formatting storage (cluster ${clusterId})`);
  rmSync(d.data, { recursive: true, force: true });
  await storageTool(ctx, java, d.props, d.logs, ['-t', clusterId, '--standalone']);
  writeFileSync(d.format, JSON.stringify({ clusterId, controllerPort: ctx.cfg.kafkaControllerPort, formattedAt: new Date().toISOString() }) + '\n');
}

/** A Kafka Uuid as StorageTool prints it (`random-uuid`): 16 random bytes, base64url; never starting with '-'. */
export function kafkaUuid(): string {
  for (;;) {
    const s = randomBytes(16).toString('base64url');
    if (!s.startsWith('-')) return s;
  }
}

interface ClusterRecord {
  clusterId: string;
  nodes: (KafkaNode & { directoryId: string })[];
  formattedAt: string;
}

const formatting = new Map<string, Promise<void>>();

/**
 * Formats every node of the quorum once, with the same cluster id and the same
 * `--initial-controllers` (id@host:controllerPort:directoryId of all nodes): the dynamic quorum
 * starts with every node as a voter, and controllers can later be added or removed
 * (`kafka-metadata-quorum add-controller`). Recorded in GFT_HOME/kafka/cluster/cluster.json.
 * A node whose storage vanished while the others still hold the quorum is not re-formatted (it would
 * vote with an empty log): the whole cluster must be wiped instead.
 */
function formatCluster(ctx: Ctx, java: string, nodes: KafkaNode[]): Promise<void> {
  const key = ctx.home;
  let p = formatting.get(key);
  if (!p) {
    p = (async () => {
      const n = nodes.length;
      const formatted = nodes.filter((x) => existsSync(join(dirs(ctx.home, x.id, n).data, 'meta.properties')));
      let rec = existsSync(clusterFile(ctx.home)) ? (JSON.parse(readFileSync(clusterFile(ctx.home), 'utf8')) as ClusterRecord) : null;
      const wipe = `gft stack down && rm -rf ${clusterRoot(ctx.home)}`;
      if (formatted.length > 0) {
        const same = rec && rec.nodes.length === n && rec.nodes.every((r, i) => r.id === nodes[i].id && r.port === nodes[i].port && r.controllerPort === nodes[i].controllerPort);
        if (!same) throw new Error(`kafka: the cluster storage in ${clusterRoot(ctx.home)} was formatted for other nodes or ports (${rec ? rec.nodes.map((r) => `${r.id}@${r.port}/${r.controllerPort}`).join(' ') : 'unknown'}): restore the GFT_KAFKA_* ports and --brokers, or wipe it (${wipe})`);
        if (formatted.length < n) throw new Error(`kafka: storage of node(s) ${nodes.filter((x) => !formatted.includes(x)).map((x) => x.id).join(', ')} is missing while the others hold the quorum: wipe the cluster (${wipe})`);
        return;
      }
      rec = { clusterId: kafkaUuid(), nodes: nodes.map((x) => ({ ...x, directoryId: kafkaUuid() })), formattedAt: new Date().toISOString() };
      const voters = rec.nodes.map((x) => `${x.id}@127.0.0.1:${x.controllerPort}:${x.directoryId}`).join(',');
      ctx.log(`kafka: formatting a ${n}-node quorum (cluster ${rec.clusterId})`);
      for (const x of nodes) rmSync(dirs(ctx.home, x.id, n).data, { recursive: true, force: true });
      await Promise.all(nodes.map((x) => storageTool(ctx, java, dirs(ctx.home, x.id, n).props, dirs(ctx.home, x.id, n).logs, ['-t', rec!.clusterId, '--initial-controllers', voters])));
      writeFileSync(clusterFile(ctx.home), JSON.stringify(rec, null, 2) + '\n');
    })().finally(() => formatting.delete(key));
    formatting.set(key, p);
  }
  return p;
}

let jvm: string | undefined;
const kafkaJava = () => (jvm ??= findJava(17, process.env.GFT_KAFKA_JAVA).java);

/**
 * One describeCluster through kafkajs: the broker answers the Kafka protocol, not just TCP. On the
 * secured stack `tls` is the operator's certificate and `broker` the node's INTERNAL (mTLS) address.
 */
export async function kafkaAnswers(broker: string, timeoutMs = 5000, nodeId?: number, tls?: { ca: string[]; cert: string; key: string }): Promise<boolean> {
  const [host, port] = broker.split(':');
  if (!(await portOpen(Number(port), host))) return false;
  const { Kafka, logLevel } = (await import('kafkajs')).default; // CommonJS: named exports are not guaranteed
  const admin = new Kafka({ clientId: 'gft-stack-probe', brokers: [broker], ssl: tls, logLevel: logLevel.NOTHING, connectionTimeout: 1500, requestTimeout: 3000, retry: { retries: 0 } }).admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    const probe = (async () => {
      await admin.connect();
      const c = await admin.describeCluster();
      return nodeId === undefined ? c.brokers.length > 0 : c.brokers.some((b) => b.nodeId === nodeId);
    })();
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    return await Promise.race([probe.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}

/** The single default node (`brokers` 1), or node `id` of an N-node quorum. */
export function kafkaService(cfg: PlatformConfig, opts: { node?: number; brokers?: number; secure?: boolean } = {}): Service {
  const brokers = opts.brokers ?? 1;
  const secure = opts.secure ?? false;
  const all = kafkaNodes(cfg, brokers, secure);
  const node = all[(opts.node ?? 1) - 1];
  if (!node) throw new Error(`kafka: no node ${opts.node} among ${brokers}`);
  const name = kafkaServiceName(node.id, brokers);
  const address = `127.0.0.1:${node.port}`;
  const home = resolve(cfg.home);
  const d = dirs(home, node.id, brokers);
  return {
    name,
    address,
    ports: [node.port, node.controllerPort, ...(secure ? [node.internalPort] : [])],
    // The properties file is in the command line: tells the nodes (and the single node) apart.
    marker: d.props,
    startTimeoutMs: 90_000,
    stopTimeoutMs: 30_000,
    async prepare(ctx) {
      mkdirSync(d.logs, { recursive: true });
      await fetchLibs(ctx);
      if (secure) await ensurePki(ctx.home, all.map((x) => x.id), join(dirname(kafkaJava()), 'keytool'));
      // Every node's file (formatting the quorum reads them all); rewritten only when it changed, so
      // a concurrent format of another node never reads a half-written file.
      for (const x of all) {
        const dx = dirs(ctx.home, x.id, brokers);
        const tls = secure ? { ca: caFile(ctx.home), keystore: brokerPem(ctx.home, x.id), superUsers: [...all.map((y) => brokerPrincipal(y.id)), OPERATOR_PRINCIPAL, ADMIN_PRINCIPAL] } : undefined;
        const text = serverProperties(x, all, dx.data, tls);
        mkdirSync(dx.root, { recursive: true });
        if (!existsSync(dx.props) || readFileSync(dx.props, 'utf8') !== text) writeFileSync(dx.props, text);
      }
      if (brokers === 1) await formatSingle(ctx, kafkaJava());
      else await formatCluster(ctx, kafkaJava(), all);
    },
    launch(ctx) {
      return {
        cmd: kafkaJava(),
        args: [
          '-Xms256m',
          brokers === 1 ? '-Xmx1g' : '-Xmx768m',
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-XX:+ExplicitGCInvokesConcurrent',
          '-Djava.awt.headless=true',
          log4j(),
          `-Dkafka.logs.dir=${d.logs}`,
          `-Dgft.authorizer.level=${process.env.GFT_KAFKA_AUTHORIZER_LOG === 'debug' ? 'DEBUG' : 'INFO'}`,
          '-cp',
          join(ctx.home, 'kafka', 'libs', '*'),
          'kafka.Kafka',
          d.props,
        ],
        cwd: d.root,
      };
    },
    // A node counts as up when it answers and the cluster metadata lists it (registered, unfenced).
    async healthy() {
      if (!secure) return kafkaAnswers(address, 5000, brokers === 1 ? undefined : node.id);
      let tls: ReturnType<typeof operatorTls>;
      try {
        tls = operatorTls(home);
      } catch {
        return false; // no certificates yet
      }
      return kafkaAnswers(`127.0.0.1:${node.internalPort}`, 5000, brokers === 1 ? undefined : node.id, tls);
    },
    logFiles: (ctx) => [join(dirs(ctx.home, node.id, brokers).logs, 'kafka.log'), paths.outFile(ctx.home, name)],
  };
}
