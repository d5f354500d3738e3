/**
 * The rollups of `telemetry` that the pages read for long windows: the project tables `telemetry_1m`
 * and `telemetry_10m` (connectors/clickhouse/rollup.ts): min, max, sum and count per source, metric
 * and minute (ten minutes), recomputed from `telemetry FINAL` by the ClickHouse sink after each batch,
 * so every sample counts once even when a batch was inserted twice. ReplacingMergeTree(version): read
 * with FINAL. A 30-day plot then reads 4,320 ten-minute rows per series (and minute rows at its
 * edges) instead of 2,592,000 raw ones (see `npm run bench -- web`).
 *
 * - Created by `gft db migrate` and by the sink at its start (migration 3 of the project, which fills
 *   it from the telemetry already stored and drops the rollup of before, `web_telemetry_1m`); the
 *   server reads raw rows until it exists.
 * - Retention: daily partitions like `telemetry`; `gft web retention --days N` drops the old ones
 *   (on a cluster, of the local tables on every replica, as `gft db retention` does).
 */
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import { clusterDdl, localTable, type ClusterDdl } from '../connectors/clickhouse/cluster.ts';
import { applyRetention } from '../connectors/clickhouse/migrations.ts';
import { ROLLUPS, ROLLUP_TABLE } from '../connectors/clickhouse/rollup.ts';
import { ident, sql } from '../connectors/clickhouse/sql.ts';
import type { Rollups } from './data/telemetry.ts';

export const ROLLUP = ROLLUP_TABLE;

async function exists(ch: ClickHouse, table: string): Promise<boolean> {
  const r = await ch.query<{ n: string }>(sql`SELECT count() AS n FROM system.tables WHERE database = ${ch.database} AND name = ${table}`);
  return Number(r[0]?.n ?? 0) > 0;
}

/** The rollup tables when they exist (`gft db migrate` has run), else null (the pages read raw rows). */
export async function rollupTable(ch: ClickHouse): Promise<Rollups | null> {
  for (const r of ROLLUPS) if (!(await exists(ch, r.table))) return null;
  return { minute: ident(`${ch.database}.${ROLLUPS[0].table}`), tenMinutes: ident(`${ch.database}.${ROLLUPS[1].table}`) };
}

/** Drops rollup partitions older than `days` (like `gft db retention` does for telemetry). */
export async function rollupRetention(ch: ClickHouse, days: number, now = new Date(), cluster: ClusterDdl | null = clusterDdl()): Promise<string[]> {
  const tables: string[] = [];
  for (const r of ROLLUPS) if (await exists(ch, localTable(r.table, cluster))) tables.push(r.table);
  return tables.length ? applyRetention(ch, days, now, cluster, tables) : [];
}
