/**
 * The only place that builds kafkajs clients (kafkajs is unmaintained: keep it behind this module).
 * Addresses and credentials come from typed config, so the same code reaches a managed cluster.
 */
import kafkajs from 'kafkajs';
import type { Kafka as KafkaT, logLevel as LogLevelT } from 'kafkajs';
import type { PlatformConfig } from '../config/platform.ts';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
export { CompressionTypes };

export function createKafka(cfg: PlatformConfig, clientId: string): KafkaT {
  const level = (process.env.GFT_KAFKAJS_LOG ?? 'error').toUpperCase() as keyof typeof LogLevelT;
  return new Kafka({
    clientId,
    brokers: cfg.kafkaBrokers,
    ssl: cfg.kafkaSsl || undefined,
    sasl: cfg.kafkaSaslUser ? { mechanism: 'scram-sha-256', username: cfg.kafkaSaslUser, password: cfg.kafkaSaslPassword } : undefined,
    logLevel: logLevel[level] ?? logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 8 },
    connectionTimeout: 5000,
  });
}
