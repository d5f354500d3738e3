/**
 * Tables of the web pages, in the project database (`GFT_CLICKHOUSE_DATABASE`), all prefixed `web_`
 * and tracked in their own `web_schema_migrations` (the lead's `schema_migrations` is not touched).
 * SQL for Debian's ClickHouse 18.16 and current releases.
 *
 * Mutable records (users, sessions, shifts, shifters) are ReplacingMergeTree rows with a `version`
 * (ms × 1000 + counter): an update is an insert of a higher version, a deletion an insert with
 * `deleted`/`revoked` = 1; reads use FINAL (these tables are small). Nothing is ever updated in place.
 * On a ClickHouse cluster (GFT_CLICKHOUSE_CLUSTER) the statements take their cluster form
 * (connectors/clickhouse/cluster.ts). The telemetry rollup the pages read is a project table
 * (`telemetry_1m`, connectors/clickhouse/rollup.ts), created by `gft db migrate`.
 */
import { ident, raw, type Sql } from '../connectors/clickhouse/sql.ts';
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import { clusterDdl, type ClusterDdl } from '../connectors/clickhouse/cluster.ts';
import { applyMigrations, migrationPlan, type Migration } from '../connectors/clickhouse/migrator.ts';

type WebMigration = Migration;

const t = (db: string, table: string) => ident(`${db}.${table}`);

export const WEB_MIGRATIONS: WebMigration[] = [
  {
    id: 1,
    name: 'web users, sessions, shifts, shifters, audit',
    up: (db) => [
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'web_users')} (
        username String, role String, password_hash String, disabled UInt8, created DateTime, updated DateTime, updated_by String, version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY username`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'web_sessions')} (
        id_hash String, username String, csrf String, created DateTime, expires DateTime, revoked UInt8, version UInt64
      ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(expires) ORDER BY id_hash`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'web_shifters')} (
        id String, name String, email String, phone String, username String, active UInt8, updated DateTime, updated_by String, version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY id`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'web_shifts')} (
        id String, starts_at DateTime, ends_at DateTime, shifter_id String, duty String, status String, notes String, deleted UInt8,
        updated DateTime, updated_by String, version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY id`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'web_audit')} (
        time DateTime, username String, action String, target String, detail String, ip String
      ) ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (time, username)`),
    ],
  },
];

/** Every statement `migrateWeb` may run, in order. */
export function webMigrationSql(db: string, cluster: ClusterDdl | null = clusterDdl()): Sql[] {
  return migrationPlan(db, 'web_schema_migrations', WEB_MIGRATIONS, cluster);
}

export async function migrateWeb(ch: ClickHouse, log: (s: string) => void = () => {}, cluster: ClusterDdl | null = clusterDdl()): Promise<number[]> {
  return applyMigrations(ch, { logTable: 'web_schema_migrations', migrations: WEB_MIGRATIONS, cluster, log, label: 'web' });
}

let counter = 0;
/** Monotonic version for ReplacingMergeTree rows written by this process. */
export function nextVersion(now = Date.now()): number {
  counter = (counter + 1) % 1000;
  return now * 1000 + counter;
}

export const unixSeconds = (ms: number) => Math.floor(ms / 1000);
