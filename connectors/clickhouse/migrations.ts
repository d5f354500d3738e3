/**
 * Tables of the project, created by `gft db migrate`. SQL that runs on Debian's ClickHouse 18.16 and
 * on current releases: MergeTree family with PARTITION BY / ORDER BY; no TTL, no DateTime64, no Map.
 *
 * Idempotency on redelivery: ReplacingMergeTree whose ORDER BY contains a stable identity of the
 * row (source + time + metric, or the Kafka coordinates of the message it came from), so a replayed
 * batch collapses into the same rows (queries use FINAL or argMax when exactness matters).
 * Retention: daily partitions, dropped by `gft db retention` (ALTER TABLE … DROP PARTITION).
 * On a ClickHouse cluster (GFT_CLICKHOUSE_CLUSTER) every statement takes its cluster form
 * (cluster.ts: Replicated*MergeTree `<table>_local` + Distributed `<table>`, ON CLUSTER).
 */
import { ident, raw, sql, type Sql } from './sql.ts';
import type { ClickHouse } from './client.ts';
import { clusterDdl, clusterizeAll, localTable, onCluster, type ClusterDdl } from './cluster.ts';

export interface Migration {
  id: number;
  name: string;
  up(db: string): Sql[];
}

const t = (db: string, table: string) => ident(`${db}.${table}`);

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
];

export const RETAINED_TABLES = ['telemetry', 'logs', 'stage_metrics'];

/** Every statement `migrate` may run, in order (the migration log first): for tests and `gft db migrate --print`. */
export function migrationSql(db: string, cluster: ClusterDdl | null = clusterDdl()): Sql[] {
  return clusterizeAll([...setupSql(db), ...MIGRATIONS.flatMap((m) => m.up(db))], cluster);
}

const setupSql = (db: string) => [raw(`CREATE DATABASE IF NOT EXISTS ${ident(db)}`), raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'schema_migrations')} (id UInt32, name String, applied DateTime) ENGINE = MergeTree() ORDER BY id`)];

export async function migrate(ch: ClickHouse, log: (s: string) => void = () => {}, cluster: ClusterDdl | null = clusterDdl()): Promise<number[]> {
  const db = ch.database;
  for (const stmt of clusterizeAll(setupSql(db), cluster)) await ch.exec(stmt);
  const done = new Set((await ch.query<{ id: number }>(sql`SELECT id FROM ${t(db, 'schema_migrations')}`)).map((r) => Number(r.id)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.id)) continue;
    for (const stmt of clusterizeAll(m.up(db), cluster)) await ch.exec(stmt);
    await ch.insert('schema_migrations', [{ id: m.id, name: m.name, applied: Math.floor(Date.now() / 1000) }]);
    log(`applied migration ${m.id}: ${m.name}`);
    applied.push(m.id);
  }
  return applied;
}

/** Drops daily partitions older than `days` from the retained tables. Returns dropped partition ids. */
export async function applyRetention(ch: ClickHouse, days: number, now = new Date(), cluster: ClusterDdl | null = clusterDdl()): Promise<string[]> {
  const cutoff = new Date(now.getTime() - days * 86400_000);
  const cutoffId = Number(`${cutoff.getUTCFullYear()}${String(cutoff.getUTCMonth() + 1).padStart(2, '0')}${String(cutoff.getUTCDate()).padStart(2, '0')}`);
  const dropped: string[] = [];
  for (const table of RETAINED_TABLES) {
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
