/**
 * The only place that builds kafkajs clients (kafkajs is unmaintained: keep it behind this module).
 * Addresses and credentials come from typed config, so the same code reaches a managed cluster.
 */
import kafkajs from 'kafkajs';
import type { Kafka as KafkaT, logLevel as LogLevelT } from 'kafkajs';
import type { PlatformConfig } from '../config/platform.ts';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
export { CompressionTypes };

/**
 * Errors kafkajs logs at ERROR level although it retries them and they are expected: a transaction
 * begun while the broker is still writing the previous one's markers (CONCURRENT_TRANSACTIONS).
 */
const EXPECTED = /another concurrent operation on the same transaction|CONCURRENT_TRANSACTIONS/;

type Entry = { namespace: string; level: number; label: string; log: { message: string; error?: string; [k: string]: unknown } };

/** kafkajs' JSON lines on stderr, minus the expected retries above (kept at GFT_KAFKAJS_LOG=debug). */
function logCreator(): (e: Entry) => void {
  return ({ namespace, level, label, log }) => {
    if (level <= logLevel.ERROR && EXPECTED.test(`${log.message} ${log.error ?? ''}`) && process.env.GFT_KAFKAJS_LOG !== 'debug') return;
    const { message, ...extra } = log;
    console.error(JSON.stringify({ level: label, logger: 'kafkajs', namespace, message, ...extra }));
  };
}

export function createKafka(cfg: PlatformConfig, clientId: string): KafkaT {
  const level = (process.env.GFT_KAFKAJS_LOG ?? 'error').toUpperCase() as keyof typeof LogLevelT;
  return new Kafka({
    logCreator,
    clientId,
    brokers: cfg.kafkaBrokers,
    ssl: cfg.kafkaSsl || undefined,
    sasl: cfg.kafkaSaslUser ? { mechanism: 'scram-sha-256', username: cfg.kafkaSaslUser, password: cfg.kafkaSaslPassword } : undefined,
    logLevel: logLevel[level] ?? logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 8 },
    connectionTimeout: 5000,
  });
}
