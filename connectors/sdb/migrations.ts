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
 * Version (migration 2): every table has `version UInt64` = the time (ms) the FSC wrote the product
 * (`received`, to the ms), and is ReplacingMergeTree(version). Copies of an identity differ only in
 * what the FSC recorded when it processed them (`received`; the status and reasons of a validator
 * that changed meanwhile): the latest processing wins, in FINAL, in background merges
 * (OPTIMIZE … FINAL) and on every replica alike, whatever order the copies were inserted in
 * (without a version a merge keeps the last inserted, and under at-least-once delivery with several
 * FSC instances that order is an accident). Copies with equal versions are equal rows. Rows of before
 * migration 2 were copied as FINAL showed them, with version = `received` × 1000 (products) or 0.
 * A revision supersedes: queries take, per product id, the highest accepted revision (queries.ts).
 * Rejected products keep their products row (status 'rejected', reasons) and no candidate rows.
 * On a ClickHouse cluster (GFT_CLICKHOUSE_CLUSTER) the statements take their cluster form
 * (../clickhouse/cluster.ts, rebuild.ts): rows sharded by product_id, so a product and its candidates
 * and points share a shard.
 */
import { ident, raw, type Sql } from '../clickhouse/sql.ts';
import type { ClickHouse } from '../clickhouse/client.ts';
import { clusterDdl, type ClusterDdl } from '../clickhouse/cluster.ts';
import { applyMigrations, migrationPlan, type Migration } from '../clickhouse/migrator.ts';
import type { TableRebuild } from '../clickhouse/rebuild.ts';

export type SdbMigration = Migration;

const t = (db: string, table: string) => ident(`${db}.${table}`);

/** The layout of migration 2: the tables of migration 1 with `version UInt64` (last column). */
const VERSIONED: Record<string, { columns: string; engine: string; version: string }> = {
  products: {
    columns: `product_id String, burst_id String, obs_id String, epoch String, epoch_minutes Nullable(Float64), revision UInt32,
        sha256 String, size UInt64, storage_uri String, status String, reasons Array(String),
        card String, prdm_ver String, proc_ver String, pip_ver String, program String,
        t0 DateTime, t0_ms UInt16, epoch_time DateTime, created_at DateTime, date String,
        ra_obj Float64, dec_obj Float64, err_rad Float64,
        n_frames UInt32, n_candidates UInt32, n_points UInt32, n_cutouts UInt32, received DateTime, version UInt64`,
    engine: 'PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, sha256)',
    version: 'toUInt64(received) * 1000',
  },
  candidates: {
    columns: `product_id String, revision UInt32, cand_id String, burst_id String, obs_id String, epoch String, t0 DateTime, sha256 String,
        ra Float64, dec Float64, pos_err Float64, mag Float64, mag_err Float64, dist_alert Float64, flags UInt32, score Float64,
        fade_idx Nullable(Float64), version UInt64`,
    engine: 'PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, cand_id)',
    version: '0',
  },
  lightcurve_points: {
    columns: `product_id String, revision UInt32, cand_id String, frame_id String, burst_id String, t0 DateTime, sha256 String,
        t_t0 Float64, mag Float64, mag_err Float64, version UInt64`,
    engine: 'PARTITION BY toYYYYMM(t0) ORDER BY (product_id, revision, cand_id, frame_id)',
    version: '0',
  },
};

const versioned = (table: string): TableRebuild => ({
  table,
  create: (db, name) => raw(`CREATE TABLE IF NOT EXISTS ${t(db, name)} (
        ${VERSIONED[table].columns}
      ) ENGINE = ReplacingMergeTree(version) ${VERSIONED[table].engine}`),
  columns: VERSIONED[table].columns.split(/,(?![^(]*\))/).map((c) => c.trim().split(/\s+/)[0]),
  added: [{ name: 'version', type: 'UInt64', from: VERSIONED[table].version }],
  // small tables: copy what FINAL showed, so the row each identity shows stays the same
  final: true,
});

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
  {
    id: 2,
    name: 'version column (write time, ms) in products, candidates, light-curve points',
    rebuild: () => Object.keys(VERSIONED).map(versioned),
  },
];

export const SDB_TABLES = ['products', 'candidates', 'lightcurve_points'];

/** Every statement `migrateSdb` may run, in order. */
export function sdbMigrationSql(db: string, cluster: ClusterDdl | null = clusterDdl()): Sql[] {
  return migrationPlan(db, 'schema_migrations', SDB_MIGRATIONS, cluster);
}

/** Creates the database and applies the migrations it has not seen. Safe to run concurrently (migrator.ts). */
export async function migrateSdb(ch: ClickHouse, log: (s: string) => void = () => {}, cluster: ClusterDdl | null = clusterDdl()): Promise<number[]> {
  return applyMigrations(ch, { logTable: 'schema_migrations', migrations: SDB_MIGRATIONS, cluster, log, label: 'sdb' });
}
