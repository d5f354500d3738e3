/**
 * Addresses of the platform services. The same code runs against the local stack started by
 * `gft stack up` (the defaults) and against a managed Kafka / registry / ClickHouse cluster
 * (set the variables).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { field, loadConfig } from './define.ts';
import { ADMIN_PRINCIPAL, caFile, clickhousePasswordFile, localPassword, stackSecure } from './localSecure.ts';
import { readSecretFile } from './secrets.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const platformSchema = {
  home: field<string>({ env: 'GFT_HOME', type: 'string', doc: 'Folder for local service data, logs and storage (gitignored)', default: () => join(repoRoot, '.gft') }),
  kafkaPort: field<number>({ env: 'GFT_KAFKA_PORT', type: 'int', doc: 'Local Kafka broker port', default: 19092, min: 1, max: 65535 }),
  kafkaControllerPort: field<number>({ env: 'GFT_KAFKA_CONTROLLER_PORT', type: 'int', doc: 'Local KRaft controller port', default: 19093, min: 1, max: 65535 }),
  kafkaInternalPort: field<number>({ env: 'GFT_KAFKA_INTERNAL_PORT', type: 'int', doc: 'Local inter-broker (mTLS) listener port of the secured stack (`gft stack up --secure`)', default: 19192, min: 1, max: 65535 }),
  registryPort: field<number>({ env: 'GFT_REGISTRY_PORT', type: 'int', doc: 'Local schema registry (Apicurio) port', default: 18081, min: 1, max: 65535 }),
  clickhouseHttpPort: field<number>({ env: 'GFT_CLICKHOUSE_HTTP_PORT', type: 'int', doc: 'Local ClickHouse HTTP port', default: 18123, min: 1, max: 65535 }),
  clickhouseTcpPort: field<number>({ env: 'GFT_CLICKHOUSE_TCP_PORT', type: 'int', doc: 'Local ClickHouse native port', default: 19000, min: 1, max: 65535 }),
  kafkaBrokers: field<string[]>({ env: 'GFT_KAFKA_BROKERS', type: 'list', doc: 'Kafka bootstrap servers (comma-separated); unset: the brokers of the local stack (GFT_HOME/stack.json), else 127.0.0.1:GFT_KAFKA_PORT', default: () => [`127.0.0.1:${process.env.GFT_KAFKA_PORT || 19092}`] }),
  kafkaSaslUser: field<string>({ env: 'GFT_KAFKA_SASL_USER', type: 'string', doc: 'SASL/SCRAM user (empty: no SASL; on the local secured stack: the stage of each client, else `admin`)', default: '' }),
  kafkaSaslPassword: field<string>({ env: 'GFT_KAFKA_SASL_PASSWORD', type: 'string', doc: 'SASL password (or GFT_KAFKA_SASL_PASSWORD_FILE: a file holding it)', default: '', secret: true }),
  kafkaSaslMechanism: field<string>({ env: 'GFT_KAFKA_SASL_MECHANISM', type: 'string', doc: 'scram-sha-512 or scram-sha-256', default: 'scram-sha-512' }),
  kafkaSsl: field<boolean>({ env: 'GFT_KAFKA_SSL', type: 'boolean', doc: 'Use TLS to reach the brokers (implied by GFT_KAFKA_CA)', default: false }),
  kafkaAcls: field<string>({ env: 'GFT_KAFKA_ACLS', type: 'string', doc: 'Provisioning a namespace (`gft topics create`, dc3, tests) also grants the stages their ACLs (lib/runtime/acls.ts): auto (on the local secured stack), on, off', default: 'auto' }),
  kafkaCa: field<string>({ env: 'GFT_KAFKA_CA', type: 'string', doc: 'PEM file of the CA(s) that signed the brokers\' certificates (TLS on; empty: the system CAs)', default: '' }),
  registryUrl: field<string>({ env: 'GFT_REGISTRY_URL', type: 'url', doc: 'Confluent-compatible schema registry URL', default: () => `http://127.0.0.1:${process.env.GFT_REGISTRY_PORT || 18081}/apis/ccompat/v7` }),
  registryUser: field<string>({ env: 'GFT_REGISTRY_USER', type: 'string', doc: 'Registry user (HTTP basic auth; empty: the Kafka SASL user and password)', default: '' }),
  registryPassword: field<string>({ env: 'GFT_REGISTRY_PASSWORD', type: 'string', doc: 'Registry password (or GFT_REGISTRY_PASSWORD_FILE)', default: '', secret: true }),
  clickhouseUrl: field<string>({ env: 'GFT_CLICKHOUSE_URL', type: 'url', doc: 'ClickHouse HTTP URL', default: () => `http://127.0.0.1:${process.env.GFT_CLICKHOUSE_HTTP_PORT || 18123}` }),
  clickhouseUser: field<string>({ env: 'GFT_CLICKHOUSE_USER', type: 'string', doc: 'ClickHouse user', default: 'default' }),
  clickhousePassword: field<string>({ env: 'GFT_CLICKHOUSE_PASSWORD', type: 'string', doc: 'ClickHouse password (or GFT_CLICKHOUSE_PASSWORD_FILE)', default: '', secret: true }),
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
  if (!['scram-sha-512', 'scram-sha-256'].includes(cfg.kafkaSaslMechanism)) throw new Error(`GFT_KAFKA_SASL_MECHANISM: expected scram-sha-512 or scram-sha-256, got '${cfg.kafkaSaslMechanism}'`);
  // The local secured stack (`gft stack up --secure`): TLS with its CA, and, for clients given no
  // credentials of their own, the local principals: each stage's clients their stage's (picked by
  // client id in lib/runtime/kafka.ts), every other client the operator `admin`.
  let localPrincipals: string | null = null;
  if (!env.GFT_KAFKA_BROKERS && stackSecure(cfg.home)) {
    cfg.kafkaSsl = true;
    cfg.kafkaCa ||= caFile(cfg.home);
    if (!cfg.kafkaSaslUser) {
      cfg.kafkaSaslUser = ADMIN_PRINCIPAL;
      cfg.kafkaSaslPassword = localPassword(cfg.home, ADMIN_PRINCIPAL) ?? '';
      localPrincipals = cfg.home;
    }
    if (!env.GFT_CLICKHOUSE_URL && !cfg.clickhousePassword) {
      const f = clickhousePasswordFile(cfg.home, cfg.clickhouseUser);
      if (existsSync(f)) cfg.clickhousePassword = readSecretFile(f, `ClickHouse password of ${cfg.clickhouseUser}`);
    }
  }
  if (!['auto', 'on', 'off'].includes(cfg.kafkaAcls)) throw new Error(`GFT_KAFKA_ACLS: expected auto, on or off, got '${cfg.kafkaAcls}'`);
  return {
    ...cfg,
    /** provisioning a namespace grants the stages' ACLs */
    provisionAcls: cfg.kafkaAcls === 'on' || (cfg.kafkaAcls === 'auto' && !env.GFT_KAFKA_BROKERS && stackSecure(cfg.home)),
    /** GFT_HOME of the local secured stack whose per-stage principals the clients use (null: the configured user for every client) */
    localPrincipals,
  };
}

/** The registry's HTTP basic credentials: GFT_REGISTRY_USER/PASSWORD, else the Kafka SASL ones; null without any. */
export function registryCredentials(cfg: Pick<PlatformConfig, 'registryUser' | 'registryPassword' | 'kafkaSaslUser' | 'kafkaSaslPassword'>): { user: string; password: string } | null {
  if (cfg.registryUser) return { user: cfg.registryUser, password: cfg.registryPassword };
  if (cfg.kafkaSaslUser) return { user: cfg.kafkaSaslUser, password: cfg.kafkaSaslPassword };
  return null;
}
