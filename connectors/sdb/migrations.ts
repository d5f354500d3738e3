/**
 * The SDB (science database of the FSC Colibri-interface): ClickHouse tables for products, their
 * candidates and light-curve points, in their own database (GFT_SDB_DATABASE, default 'sdb'), with
 * their own migration log (`<db>.schema_migrations`). SQL that runs on Debian's ClickHouse 18.16 and
 * on current releases: MergeTree family, PARTITION BY / ORDER BY, Nullable, Array(String); no TTL,
 * no DateTime64, no Map/JSON.
 *
 * Idempotency: ReplacingMergeTree whose ORDER BY is the identity of a row, so a redelivered or
 * replayed product collapses into the rows it already has (read with FINAL):
 *   products          (product_id, revision, sha256)   one row per distinct delivered content
 *   candidates        (product_id, revision, cand_id)
 *   lightcurve_points (product_id, revision, cand_id, frame_id)
 * The partition key (month of T0) is a function of the identity, so duplicates always share a
 * partition (ReplacingMergeTree only collapses rows within one partition).
 * A revision supersedes: queries take, per product id, the highest accepted revision (queries.ts).
 * Rejected products keep their products row (status 'rejected', reasons) and no candidate rows.
 * On a ClickHouse cluster (GFT_CLICKHOUSE_CLUSTER) the statements take their cluster form
 * (../clickhouse/cluster.ts): rows sharded by product_id, so a product and its candidates and points
 * share a shard.
 */
import { ident, raw, sql, type Sql } from '../clickhouse/sql.ts';
import type { ClickHouse } from '../clickhouse/client.ts';
import { clusterDdl, clusterizeAll, type ClusterDdl } from '../clickhouse/cluster.ts';

export interface SdbMigration {
  id: number;
  name: string;
  up(db: string): Sql[];
}

const t = (db: string, table: string) => ident(`${db}.${table}`);

export const SDB_MIGRATIONS: SdbMigration[] = [
  {
    id: 1,
    name: 'products, candidates, light-curve points',
    up: (db) => [
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'products')} (
        product_id String, burst_id String, obs_id String, epoch String, epoch_minutes Nullable(Float64), revision UInt32,
        sha256 String, size UInt64, storage_uri String, status String, reasons Array(String),
        card String, prdm_ver String, proc_ver String, pip_ver String, program String,
        t0 DateTime, t0_ms UInt16, epoch_time DateTime, created_at DateTime, date String,
        ra_obj Float64, dec_obj Float64, err_rad Float64,
        n_frames UInt32, n_candidates UInt32, n_points UInt32, n_cutouts UInt32, received DateTime
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, sha256)`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'candidates')} (
        product_id String, revision UInt32, cand_id String, burst_id String, obs_id String, epoch String, t0 DateTime, sha256 String,
        ra Float64, dec Float64, pos_err Float64, mag Float64, mag_err Float64, dist_alert Float64, flags UInt32, score Float64,
        fade_idx Nullable(Float64)
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, cand_id)`),
      raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'lightcurve_points')} (
        product_id String, revision UInt32, cand_id String, frame_id String, burst_id String, t0 DateTime, sha256 String,
        t_t0 Float64, mag Float64, mag_err Float64
      ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, cand_id, frame_id)`),
    ],
  },
];

export const SDB_TABLES = ['products', 'candidates', 'lightcurve_points'];

const setupSql = (db: string) => [raw(`CREATE DATABASE IF NOT EXISTS ${ident(db)}`), raw(`CREATE TABLE IF NOT EXISTS ${t(db, 'schema_migrations')} (id UInt32, name String, applied DateTime) ENGINE = MergeTree() ORDER BY id`)];

/** Every statement `migrateSdb` may run, in order. */
export function sdbMigrationSql(db: string, cluster: ClusterDdl | null = clusterDdl()): Sql[] {
  return clusterizeAll([...setupSql(db), ...SDB_MIGRATIONS.flatMap((m) => m.up(db))], cluster);
}

/** Creates the database and applies the migrations it has not seen. Safe to run concurrently (IF NOT EXISTS). */
export async function migrateSdb(ch: ClickHouse, log: (s: string) => void = () => {}, cluster: ClusterDdl | null = clusterDdl()): Promise<number[]> {
  const db = ch.database;
  for (const stmt of clusterizeAll(setupSql(db), cluster)) await ch.exec(stmt);
  const done = new Set((await ch.query<{ id: number }>(sql`SELECT id FROM ${t(db, 'schema_migrations')}`)).map((r) => Number(r.id)));
  const applied: number[] = [];
  for (const m of SDB_MIGRATIONS) {
    if (done.has(m.id)) continue;
    for (const stmt of clusterizeAll(m.up(db), cluster)) await ch.exec(stmt);
    await ch.insert('schema_migrations', [{ id: m.id, name: m.name, applied: Math.floor(Date.now() / 1000) }]);
    log(`sdb: applied migration ${m.id}: ${m.name}`);
    applied.push(m.id);
  }
  return applied;
}
