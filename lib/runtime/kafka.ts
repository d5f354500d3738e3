/**
 * The only place that builds kafkajs clients (kafkajs is unmaintained: keep it behind this module).
 * Addresses and credentials come from typed config, so the same code reaches a managed cluster.
 *
 * Authentication: SASL/SCRAM-SHA-512 or -256 (GFT_KAFKA_SASL_MECHANISM) with GFT_KAFKA_SASL_USER and
 * GFT_KAFKA_SASL_PASSWORD[_FILE]; TLS with GFT_KAFKA_SSL, or GFT_KAFKA_CA (a PEM CA file, TLS on).
 * On the local secured stack (`gft stack up --secure`) without a configured user, a client of a stage
 * authenticates as that stage's principal: the stage is the one its client id starts with (the
 * runner names its clients `<stage>-<instance>-…`, `gft ops simulate` `ops-sim`), or `principal`
 * when the caller says it; any other client is the operator `admin`. Passwords never reach a log line
 * (lib/config/secrets.ts).
 */
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaT, logLevel as LogLevelT, SASLOptions } from 'kafkajs';
import type { PlatformConfig } from '../config/platform.ts';
import { writeLogLine } from './log.ts';
import { localPassword } from '../config/localSecure.ts';
import { redact } from '../config/secrets.ts';
import { STAGES } from './topology.ts';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
export { CompressionTypes };

/**
 * Errors kafkajs logs at ERROR level although it retries them and they are expected: a transaction
 * begun while the broker is still writing the previous one's markers (CONCURRENT_TRANSACTIONS).
 */
// (also the coordinator lookups of a group or transactional id that kafkajs retries at every start)
// (and ListOffsets answered NOT_LEADER by a just-created topic's leader: topics.ts probes for it, kafkajs retries)
const EXPECTED = /another concurrent operation on the same transaction|CONCURRENT_TRANSACTIONS|The group coordinator is not available|This is not the correct coordinator for this group|Response ListOffsets\(.*\) This server is not the leader/;

type Entry = { namespace: string; level: number; label: string; log: { message: string; error?: string; [k: string]: unknown } };

/** kafkajs' JSON lines on stderr, minus the expected retries above (kept at GFT_KAFKAJS_LOG=debug). */
function logCreator(): (e: Entry) => void {
  return ({ namespace, level, label, log }) => {
    if (level <= logLevel.ERROR && EXPECTED.test(`${log.message} ${log.error ?? ''}`) && process.env.GFT_KAFKAJS_LOG !== 'debug') return;
    const { message, ...extra } = log;
    writeLogLine(redact(JSON.stringify({ level: label, logger: 'kafkajs', namespace, message, ...extra })), label);
  };
}

/** Principals of the stages, longest first (so `gp1-calibration-…` is not taken for a shorter name). */
const STAGE_PRINCIPALS = STAGES.filter((s) => s !== 'external').sort((a, b) => b.length - a.length);

/** The stage a client id belongs to (`<stage>` or `<stage>-…`), or null. */
export function stageOfClient(clientId: string): string | null {
  return STAGE_PRINCIPALS.find((s) => clientId === s || clientId.startsWith(`${s}-`)) ?? null;
}

/** The SASL settings of a client: the configured user, or on the local secured stack its stage's principal. */
export function saslFor(cfg: PlatformConfig, clientId: string, principal?: string): SASLOptions | undefined {
  const mechanism = cfg.kafkaSaslMechanism as 'scram-sha-512' | 'scram-sha-256';
  const local = cfg.localPrincipals;
  const who = local ? (principal ?? stageOfClient(clientId)) : null;
  if (local && who) {
    const password = localPassword(local, who);
    if (password === null) throw new Error(`the local secured stack has no credentials for principal '${who}' (client ${clientId}): run \`gft stack up --secure\` again`);
    return { mechanism, username: who, password };
  }
  return cfg.kafkaSaslUser ? { mechanism, username: cfg.kafkaSaslUser, password: cfg.kafkaSaslPassword } : undefined;
}

/** TLS settings: off, the system CAs (GFT_KAFKA_SSL), or the CA file GFT_KAFKA_CA. */
export function tlsFor(cfg: Pick<PlatformConfig, 'kafkaSsl' | 'kafkaCa'>): { ca: string[] } | true | undefined {
  if (cfg.kafkaCa) {
    let pem: string;
    try {
      pem = readFileSync(cfg.kafkaCa, 'utf8');
    } catch (e) {
      throw new Error(`GFT_KAFKA_CA: cannot read ${cfg.kafkaCa} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return { ca: [pem] };
  }
  return cfg.kafkaSsl || undefined;
}

export function createKafka(cfg: PlatformConfig, clientId: string, opts: { principal?: string } = {}): KafkaT {
  const level = (process.env.GFT_KAFKAJS_LOG ?? 'error').toUpperCase() as keyof typeof LogLevelT;
  return new Kafka({
    logCreator,
    clientId,
    brokers: cfg.kafkaBrokers,
    ssl: tlsFor(cfg),
    sasl: saslFor(cfg, clientId, opts.principal),
    logLevel: logLevel[level] ?? logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 8 },
    connectionTimeout: 5000,
  });
}
