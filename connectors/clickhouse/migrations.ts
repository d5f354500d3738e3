/**
 * Tables of the project, created by `gft db migrate` (and by the ClickHouse sink at its start). SQL
 * that runs on Debian's ClickHouse 18.16 and on current releases: MergeTree family with PARTITION BY /
 * ORDER BY; no TTL, no DateTime64, no Map.
 *
 * Idempotency on redelivery: ReplacingMergeTree whose ORDER BY contains a stable identity of the
 * row (source + time + metric, or the Kafka coordinates of the message it came from), so a replayed
 * batch collapses into the same rows (queries use FINAL or argMax when exactness matters).
 * Version column (migration 2): `version UInt64` = the timestamp (ms) of the Kafka record the row
 * came from. A redelivered or replayed record carries the same timestamp, so its copies are the same
 * row; a sample sent again later (a correction) is a newer record and wins. With a version, FINAL,
 * background merges and every replica keep the same row of an identity whatever the order in which
 * the copies were inserted (without one they keep the last inserted, which at-least-once delivery
 * does not fix). Rows of before migration 2 have version 0.
 * Rollups (migration 3): `telemetry_1m`, `telemetry_10m`, exact rollups of telemetry (rollup.ts).
 * Retention: daily partitions, dropped by `gft db retention` (ALTER TABLE … DROP PARTITION); the
 * rollups' by `gft web retention`.
 * On a ClickHouse cluster (GFT_CLICKHOUSE_CLUSTER) every statement takes its cluster form
 * (cluster.ts: Replicated*MergeTree `<table>_local` + Distributed `<table>`, ON CLUSTER; rebuild.ts).
 */
import { ident, raw, sql, type Sql } from './sql.ts';
import type { ClickHouse } from './client.ts';
import { clusterDdl, localTable, onCluster, type ClusterDdl } from './cluster.ts';
import { applyMigrations, migrationPlan, type Migration } from './migrator.ts';
import type { TableRebuild } from './rebuild.ts';
import { fillRollup, fillSql, ROLLUPS, rollupCreate } from './rollup.ts';

export type { Migration } from './migrator.ts';

const t = (db: string, table: string) => ident(`${db}.${table}`);

/** The layout of migration 2: the tables of migration 1 with `version UInt64` (last column). */
const VERSIONED: Record<string, { columns: string; engine: string }> = {
  telemetry: {
    columns: 'source String, metric String, time DateTime, ms UInt16, value Float64, state String, version UInt64',
    engine: 'PARTITION BY toYYYYMMDD(time) ORDER BY (source, metric, time, ms)',
  },
  logs: {
    columns: 'time DateTime, ms UInt16, level String, stage String, instance String, message String, fields String, kafka_id String, version UInt64',
    engine: 'PARTITION BY toYYYYMMDD(time) ORDER BY (stage, time, kafka_id)',
  },
  stage_metrics: {
    columns: `stage String, instance String, time DateTime, ms UInt16, interval_ms UInt64, messages_in UInt64, messages_out UInt64,
        messages_dlq UInt64, retries UInt64, lag Int64, processing_ms_p50 Float64, processing_ms_p99 Float64, version UInt64`,
    engine: 'PARTITION BY toYYYYMMDD(time) ORDER BY (stage, instance, time, ms)',
  },
};

const versioned = (table: string): TableRebuild => ({
  table,
  create: (db, name) => raw(`CREATE TABLE IF NOT EXISTS ${t(db, name)} (
        ${VERSIONED[table].columns}
      ) ENGINE = ReplacingMergeTree(version) ${VERSIONED[table].engine}`),
  columns: VERSIONED[table].columns.split(',').map((c) => c.trim().split(/\s+/)[0]),
  // rows of before: version 0, older than any row written since; their duplicates are copies of one Kafka record
  added: [{ name: 'version', type: 'UInt64', from: '0' }],
  final: false,
});

/** Migration 4: stage_metrics gains the busy time, stopped partitions and what a stage holds (issue 22). */
export const METRICS_HELD = [
  { name: 'busy_ms', type: 'Float64', from: '0' },
  { name: 'stopped_partitions', type: 'UInt32', from: '0' },
  { name: 'state_keys', type: 'UInt64', from: '0' },
  { name: 'state_bytes', type: 'UInt64', from: '0' },
  { name: 'bursts_held', type: 'UInt32', from: '0' },
  { name: 'cache_bytes', type: 'UInt64', from: '0' },
  { name: 'rss_bytes', type: 'UInt64', from: '0' },
];
const metricsHeld: TableRebuild = {
  table: 'stage_metrics',
  create: (db, name) => raw(`CREATE TABLE IF NOT EXISTS ${t(db, name)} (
        ${VERSIONED.stage_metrics.columns}, ${METRICS_HELD.map((c) => `${c.name} ${c.type}`).join(', ')}
      ) ENGINE = ReplacingMergeTree(version) ${VERSIONED.stage_metrics.engine}`),
  columns: [...versioned('stage_metrics').columns, ...METRICS_HELD.map((c) => c.name)],
  added: METRICS_HELD,
  final: false,
};

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'telemetry, logs, stage metrics',
    up: (db) => [
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'telemetry')} (
        source String, metric String, time DateTime, ms UInt16, value Float64, state String
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (source, metric, time, ms)`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'logs')} (
        time DateTime, ms UInt16, level String, stage String, instance String, message String, fields String, kafka_id String
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (stage, time, kafka_id)`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'stage_metrics')} (
        stage String, instance String, time DateTime, ms UInt16, interval_ms UInt64, messages_in UInt64, messages_out UInt64,
        messages_dlq UInt64, retries UInt64, lag Int64, processing_ms_p50 Float64, processing_ms_p99 Float64
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (stage, instance, time, ms)`),
    ],
  },
  {
    id: 2,
    name: 'version column (Kafka record time) in telemetry, logs, stage metrics',
    rebuild: () => Object.keys(VERSIONED).map(versioned),
  },
  {
    id: 3,
    name: 'exact telemetry rollups telemetry_1m, telemetry_10m (replace web_telemetry_1m)',
    up: (db) => [...ROLLUPS.map((r) => rollupCreate(db, r.table)), raw(`DROP TABLE IF EXISTS ${t(db, 'web_telemetry_1m_mv')}`), raw(`DROP TABLE IF EXISTS ${t(db, 'web_telemetry_1m')}`)],
    after: {
      plan: (db) => fillSql(db),
      run: async (ch, c, log) => void (await fillRollup(ch, c, log)),
    },
  },
  {
    id: 4,
    name: 'stage_metrics: busy time, stopped partitions, state and cache size, RSS',
    rebuild: () => [metricsHeld],
  },
];

export const RETAINED_TABLES = ['telemetry', 'logs', 'stage_metrics'];

/** Every statement `migrate` may run, in order (the migration log first): for tests and `gft db migrate --print`. */
export function migrationSql(db: string, cluster: ClusterDdl | null = clusterDdl()): Sql[] {
  return migrationPlan(db, 'schema_migrations', MIGRATIONS, cluster);
}

export async function migrate(ch: ClickHouse, log: (s: string) => void = () => {}, cluster: ClusterDdl | null = clusterDdl()): Promise<number[]> {
  return applyMigrations(ch, { logTable: 'schema_migrations', migrations: MIGRATIONS, cluster, log });
}

/** Drops daily partitions older than `days` from the retained tables (or `tables`). Returns dropped partition ids. */
export async function applyRetention(ch: ClickHouse, days: number, now = new Date(), cluster: ClusterDdl | null = clusterDdl(), tables: string[] = RETAINED_TABLES): Promise<string[]> {
  const cutoff = new Date(now.getTime() - days * 86400_000);
  const cutoffId = Number(`${cutoff.getUTCFullYear()}${String(cutoff.getUTCMonth() + 1).padStart(2, '0')}${String(cutoff.getUTCDate()).padStart(2, '0')}`);
  const dropped: string[] = [];
  for (const table of tables) {
    // On a cluster the rows live in `<table>_local` on every replica of every shard: the parts of
    // all of them (clusterAllReplicas, ClickHouse ≥ 20.x; older servers: this server's parts).
    const local = localTable(table, cluster);
    const list = (from: string) => ch.query<{ partition: string }>(sql`SELECT DISTINCT partition FROM ${raw(from)} WHERE database = ${ch.database} AND table = ${local} AND active`);
    let parts: { partition: string }[];
    if (!cluster) parts = await list('system.parts');
    else {
      try {
        parts = await list(`clusterAllReplicas(${ident(cluster.cluster)}, system.parts)`);
      } catch (e) {
        if (!/clusterAllReplicas/i.test((e as Error).message)) throw e;
        parts = await list('system.parts');
      }
    }
    for (const { partition } of parts) {
      const id = Number(String(partition).replace(/'/g, ''));
      if (Number.isFinite(id) && id < cutoffId) {
        await ch.exec(sql`ALTER TABLE ${t(ch.database, local)}${raw(onCluster(cluster))} DROP PARTITION ${id}`);
        dropped.push(`${table}:${id}`);
      }
    }
  }
  return dropped;
}
