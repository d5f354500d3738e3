/**
 * `gft voevent …`
 * - `parse FILE…`: each file parsed and applied to the alert manager; one JSON object per file on stdout
 *   (ivorn, burstId, packetType, role, instrument, t0, ra, dec, errorRadiusDeg, noticeLevel, cites,
 *   action, reason, …). Each file starts from an empty burst state, or with `--sequence` the files are
 *   applied in the order given to one state per burst. A bad file prints `FILE: code: message` on
 *   stderr and the command exits 1 (the other files are still processed).
 * - `kafka --brokers … [--topic …]`: VOEvent XML carried on Kafka topics (NASA GCN) → voevent.raw
 *   (connectors/voevent/kafkaIntake.ts).
 * - `send FILE|DIR|-`: publishes the exact bytes to the raw VOEvent topic (connectors/voevent/intake.ts).
 * - `subscribe HOST[:PORT]` (VTP subscriber, default port 8099) and `receive` (VTP receiver on
 *   127.0.0.1:8098 by default): every VOEvent received goes to voevent.raw until SIGINT/SIGTERM
 *   (connectors/voevent/vtpIntake.ts). `publish HOST[:PORT] FILE…` sends files to a VTP receiver.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { parseVoevent, type ParsedAlert } from './core/parse.ts';
import { applyAlert, DEFAULT_MANAGER_CONFIG, type BurstState, type Decision } from './core/manager.ts';

export const summary = 'VOEvents: voevent parse FILE… (parsed alert + manager decision as JSON) | send | subscribe | receive | publish | kafka';

const spec: CommandSpec = {
  usage:
    'gft voevent parse [--sequence] [--states] [--max-error DEG] [--pretty] FILE…\n' +
    '       gft voevent send [--namespace NS] FILE|DIR|-\n' +
    '       gft voevent subscribe [--namespace NS] [--ivo IVO] [--filter XPATH]… HOST[:PORT]\n' +
    '       gft voevent receive [--namespace NS] [--ivo IVO] [--host ADDR] [--port N] [--allow CIDR]…\n' +
    '       gft voevent publish HOST[:PORT] FILE…\n' +
    '       gft voevent kafka [--namespace NS] --brokers HOST:PORT [--topic T|/REGEX/]… [--group G] [--from-beginning] [--sasl MECH] [--ssl]',
  description:
    'parse: prints one JSON object per file: the parsed alert and what the alert manager does with it (trigger | update | retract | ignore, with the reason).\n' +
    'Each file is applied to an empty burst state, or with --sequence to one state per burst, in the order given.\n' +
    'Exit status: 0 when every file parsed, 1 when one did not (its error is printed on stderr), 2 on usage errors.\n' +
    'kafka: consumes VOEvent XML from an external Kafka (NASA GCN: --brokers kafka.gcn.nasa.gov:9092 --sasl oauthbearer --ssl, with\n' +
    'GFT_VOEVENT_KAFKA_CLIENT_ID / _CLIENT_SECRET / _TOKEN_URL set) and keeps every message byte for byte on voevent.raw until SIGINT/SIGTERM;\n' +
    'external offsets are committed only once voevent.raw has the bytes. Default topics: the GCN SVOM VOEvent topics.',
  options: {
    sequence: { type: 'boolean', description: 'apply the files in order to shared burst states', default: false },
    states: { type: 'boolean', description: 'with --sequence: also print the final state of every burst', default: false },
    'max-error': { type: 'number', description: 'largest error radius that triggers (deg)', default: DEFAULT_MANAGER_CONFIG.maxErrorRadiusDeg },
    pretty: { type: 'boolean', description: 'indent the JSON', default: false },
    namespace: { type: 'string', description: 'send/subscribe/receive: run namespace (default $GFT_NAMESPACE)', default: '' },
    ivo: { type: 'string', description: 'subscribe/receive: our IVOA identifier in VTP answers', default: 'ivo://org.gft/colibri#intake' },
    filter: { type: 'string', multiple: true, description: 'subscribe: XPath filter announced to the broker (repeatable)' },
    host: { type: 'string', description: 'receive: listen address', default: '127.0.0.1' },
    port: { type: 'number', description: 'receive: listen port', default: 8098 },
    allow: { type: 'string', multiple: true, description: 'receive: IPv4 CIDR allowed to push (repeatable; default anyone reaching the address)' },
    brokers: { type: 'string', description: 'kafka: external brokers host:port,… (default $GFT_VOEVENT_KAFKA_BROKERS)' },
    topic: { type: 'string', multiple: true, description: 'kafka: topic to read (repeatable) or one /regex/ (default $GFT_VOEVENT_KAFKA_TOPICS: the GCN SVOM VOEvent topics)' },
    group: { type: 'string', description: 'kafka: consumer group on the external cluster (default gft-voevent-intake)' },
    'from-beginning': { type: 'boolean', description: 'kafka: a new group starts at the earliest retained message', default: false },
    sasl: { type: 'string', description: 'kafka: none | plain | scram-sha-256 | scram-sha-512 | oauthbearer (secrets from GFT_VOEVENT_KAFKA_* variables)' },
    ssl: { type: 'boolean', description: 'kafka: TLS to the external brokers (GCN requires it; default $GFT_VOEVENT_KAFKA_SSL)', default: false },
  },
};

/** The JSON line printed for one file. */
export function parseReport(file: string, a: ParsedAlert, d: Decision) {
  return {
    file,
    ivorn: a.ivorn,
    burstId: a.burstId,
    mission: a.mission,
    packetType: a.packetType,
    packetName: a.packetName,
    role: a.role,
    isTest: a.isTest,
    instrument: a.instrument,
    noticeLevel: a.noticeLevel,
    t0: a.t0,
    ra: a.ra,
    dec: a.dec,
    errorRadiusDeg: a.errorRadiusDeg,
    slewStatus: a.slewStatus,
    cites: a.cites,
    grbStream: a.grbStream,
    notGrbReason: a.notGrbReason,
    positionIgnored: a.positionIgnored,
    action: d.action,
    reason: d.reason,
    burstT0: d.state.t0,
    referenceVersion: d.state.referenceVersion,
  };
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const [sub, ...files] = a.positionals;
  const namespace = String(a.options.namespace || process.env.GFT_NAMESPACE || '');
  if (sub === 'send' && files.length) return send(files, namespace);
  if (sub === 'subscribe' && files.length === 1) return vtpIntake('subscribe', a.options, namespace, hostPort(files[0], 8099));
  if (sub === 'kafka' && files.length === 0) return kafkaIntake(a.options, namespace);
  if (sub === 'receive' && files.length === 0) return vtpIntake('receive', a.options, namespace);
  if (sub === 'publish' && files.length >= 2) return publish(hostPort(files[0], 8098), files.slice(1));
  if (sub !== 'parse' || !files.length) throw new UsageError(formatHelp(spec));

  const maxError = Number(a.options['max-error']);
  if (!(maxError >= 0)) throw new UsageError('--max-error must be a non-negative number of degrees');
  const sequence = Boolean(a.options.sequence);
  const indent = a.options.pretty ? 2 : undefined;
  const states = new Map<string, BurstState>();
  let failed = 0;
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      failed++;
      console.error(`gft voevent parse: ${f}: cannot read: ${(e as Error).message}`);
      continue;
    }
    try {
      const p = parseVoevent(bytes);
      const d = applyAlert(sequence ? states.get(p.burstId) : undefined, p, { maxErrorRadiusDeg: maxError });
      if (sequence) states.set(p.burstId, d.state);
      console.log(JSON.stringify(parseReport(f, p, d), null, indent));
    } catch (e) {
      failed++;
      const code = (e as { code?: unknown }).code;
      console.error(`gft voevent parse: ${f}: ${typeof code === 'string' ? code : 'error'}: ${(e as Error).message}`);
    }
  }
  if (sequence && a.options.states) for (const s of states.values()) console.log(JSON.stringify({ state: s }, null, indent));
  return failed ? 1 : 0;
}

async function send(files: string[], namespace: string): Promise<number> {
  const { TopicProducer } = await import('../../lib/runtime/producer.ts');
  const { publishFiles, publishStdin } = await import('../../connectors/voevent/intake.ts');
  const p = new TopicProducer(namespace);
  try {
    if (files[0] === '-') await publishStdin(p);
    else console.log(`sent ${await publishFiles(p, files)} VOEvents to voevent.raw`);
  } finally {
    await p.disconnect();
  }
  return 0;
}

function hostPort(s: string, dflt: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new UsageError(`expected HOST[:PORT], got '${s}'`);
  const port = m[2] ? Number(m[2]) : dflt;
  if (!(port > 0 && port < 65536)) throw new UsageError(`bad port in '${s}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Runs the VTP subscriber or receiver into voevent.raw until SIGINT/SIGTERM. */
async function vtpIntake(kind: 'subscribe' | 'receive', o: Record<string, unknown>, namespace: string, to?: { host: string; port: number }): Promise<number> {
  const { TopicProducer } = await import('../../lib/runtime/producer.ts');
  const { subscribeToRaw, receiveToRaw } = await import('../../connectors/voevent/vtpIntake.ts');
  const producer = new TopicProducer(namespace);
  await producer.connect();
  const log = (e: object) => console.error(JSON.stringify({ t: new Date().toISOString(), component: `vtp-${kind}`, ...e }));
  let stop: () => Promise<void>;
  if (kind === 'subscribe') {
    const s = subscribeToRaw(producer, { host: to!.host, port: to!.port, localIvo: String(o.ivo), filters: o.filter as string[], log });
    stop = () => s.stop();
  } else {
    const allow = o.allow as string[];
    const r = await receiveToRaw(producer, { host: String(o.host), port: Number(o.port), localIvo: String(o.ivo), allow: allow.length ? allow : undefined, log });
    log({ event: 'listening', host: r.host, port: r.port });
    stop = () => r.receiver.close();
  }
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  await stop();
  await producer.disconnect();
  return 0;
}

/** VOEvents from an external Kafka (GCN) to voevent.raw until SIGINT/SIGTERM. */
async function kafkaIntake(o: Record<string, unknown>, namespace: string): Promise<number> {
  const { loadConfig } = await import('../../lib/config/define.ts');
  const { TopicProducer } = await import('../../lib/runtime/producer.ts');
  const { KafkaVoeventIntake, kafkaIntakeSchema } = await import('../../connectors/voevent/kafkaIntake.ts');
  const env: Record<string, string | undefined> = { ...process.env };
  if (o.brokers) env.GFT_VOEVENT_KAFKA_BROKERS = String(o.brokers);
  if ((o.topic as string[] | undefined)?.length) env.GFT_VOEVENT_KAFKA_TOPICS = (o.topic as string[]).join(',');
  if (o.group) env.GFT_VOEVENT_KAFKA_GROUP = String(o.group);
  if (o['from-beginning']) env.GFT_VOEVENT_KAFKA_FROM_BEGINNING = 'true';
  if (o.sasl) env.GFT_VOEVENT_KAFKA_SASL = String(o.sasl);
  if (o.ssl) env.GFT_VOEVENT_KAFKA_SSL = 'true';
  let intake: InstanceType<typeof KafkaVoeventIntake>;
  const producer = new TopicProducer(namespace);
  const log = (msg: string, f: Record<string, unknown> = {}) => console.error(JSON.stringify({ t: new Date().toISOString(), component: 'voevent-kafka', msg, ...f }));
  try {
    intake = new KafkaVoeventIntake(loadConfig(kafkaIntakeSchema, env), producer, log);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await producer.connect();
  await intake.start();
  log('consuming', { brokers: intake.cfg.brokers, topics: intake.cfg.topics, group: intake.cfg.groupId });
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  await intake.stop();
  await producer.disconnect();
  log('stopped', { ...intake.counters });
  return 0;
}

/** Sends files to a VTP receiver; prints the answer per file; exit 1 when one was not acked. */
async function publish(to: { host: string; port: number }, files: string[]): Promise<number> {
  const { publishVoevent } = await import('../../connectors/voevent/vtp.ts');
  let failed = 0;
  for (const f of files) {
    try {
      const m = await publishVoevent(to.host, to.port, readFileSync(f));
      console.log(JSON.stringify({ file: f, role: m.role, origin: m.origin, result: m.result }));
      if (m.role !== 'ack') failed++;
    } catch (e) {
      failed++;
      console.error(`gft voevent publish: ${f}: ${(e as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}
