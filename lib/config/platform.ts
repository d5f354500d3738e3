/**
 * Addresses of the platform services. The same code runs against the local stack started by
 * `gft stack up` (the defaults) and against a managed Kafka / registry / ClickHouse cluster
 * (set the variables).
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { field, loadConfig } from './define.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const platformSchema = {
  home: field<string>({ env: 'GFT_HOME', type: 'string', doc: 'Folder for local service data, logs and storage (gitignored)', default: () => join(repoRoot, '.gft') }),
  kafkaPort: field<number>({ env: 'GFT_KAFKA_PORT', type: 'int', doc: 'Local Kafka broker port', default: 19092, min: 1, max: 65535 }),
  kafkaControllerPort: field<number>({ env: 'GFT_KAFKA_CONTROLLER_PORT', type: 'int', doc: 'Local KRaft controller port', default: 19093, min: 1, max: 65535 }),
  registryPort: field<number>({ env: 'GFT_REGISTRY_PORT', type: 'int', doc: 'Local schema registry (Apicurio) port', default: 18081, min: 1, max: 65535 }),
  clickhouseHttpPort: field<number>({ env: 'GFT_CLICKHOUSE_HTTP_PORT', type: 'int', doc: 'Local ClickHouse HTTP port', default: 18123, min: 1, max: 65535 }),
  clickhouseTcpPort: field<number>({ env: 'GFT_CLICKHOUSE_TCP_PORT', type: 'int', doc: 'Local ClickHouse native port', default: 19000, min: 1, max: 65535 }),
  kafkaBrokers: field<string[]>({ env: 'GFT_KAFKA_BROKERS', type: 'list', doc: 'Kafka bootstrap servers (comma-separated); unset: the brokers of the local stack (GFT_HOME/stack.json), else 127.0.0.1:GFT_KAFKA_PORT', default: () => [`127.0.0.1:${process.env.GFT_KAFKA_PORT || 19092}`] }),
  kafkaSaslUser: field<string>({ env: 'GFT_KAFKA_SASL_USER', type: 'string', doc: 'SASL/SCRAM-SHA-256 user (empty: no SASL)', default: '' }),
  kafkaSaslPassword: field<string>({ env: 'GFT_KAFKA_SASL_PASSWORD', type: 'string', doc: 'SASL password', default: '', secret: true }),
  kafkaSsl: field<boolean>({ env: 'GFT_KAFKA_SSL', type: 'boolean', doc: 'Use TLS to reach the brokers', default: false }),
  registryUrl: field<string>({ env: 'GFT_REGISTRY_URL', type: 'url', doc: 'Confluent-compatible schema registry URL', default: () => `http://127.0.0.1:${process.env.GFT_REGISTRY_PORT || 18081}/apis/ccompat/v7` }),
  clickhouseUrl: field<string>({ env: 'GFT_CLICKHOUSE_URL', type: 'url', doc: 'ClickHouse HTTP URL', default: () => `http://127.0.0.1:${process.env.GFT_CLICKHOUSE_HTTP_PORT || 18123}` }),
  clickhouseUser: field<string>({ env: 'GFT_CLICKHOUSE_USER', type: 'string', doc: 'ClickHouse user', default: 'default' }),
  clickhousePassword: field<string>({ env: 'GFT_CLICKHOUSE_PASSWORD', type: 'string', doc: 'ClickHouse password', default: '', secret: true }),
  clickhouseDatabase: field<string>({ env: 'GFT_CLICKHOUSE_DATABASE', type: 'string', doc: 'ClickHouse database of the project', default: 'gft' }),
  namespace: field<string>({ env: 'GFT_NAMESPACE', type: 'string', doc: 'Run namespace: prefix of topic names and group ids (empty: none)', default: '' }),
};

export type PlatformConfig = ReturnType<typeof platformConfig>;

export const stackStateFile = (home: string) => join(resolve(home), 'stack.json');

/** The client addresses `gft stack up` recorded in GFT_HOME/stack.json (deploy/state.ts), or null. */
export function stackBrokers(home: string): string[] | null {
  try {
    const b = (JSON.parse(readFileSync(stackStateFile(home), 'utf8')) as { kafka?: { bootstrap?: unknown } }).kafka?.bootstrap;
    return Array.isArray(b) && b.length > 0 && b.every((x) => typeof x === 'string' && x) ? (b as string[]) : null;
  } catch {
    return null;
  }
}

export function platformConfig(env: Record<string, string | undefined> = process.env) {
  const cfg = loadConfig(platformSchema, env);
  // Unset GFT_KAFKA_BROKERS: every broker of the running local stack (one, or the three of
  // `gft stack up --brokers 3`), so clients reach the cluster whichever broker is down.
  if (!env.GFT_KAFKA_BROKERS) cfg.kafkaBrokers = stackBrokers(cfg.home) ?? cfg.kafkaBrokers;
  return cfg;
}
