/**
 * A one-minute rollup of `telemetry` for the long windows of the pages: `web_telemetry_1m`
 * (AggregatingMergeTree: min, max, avg and count states per source, metric and minute), filled by the
 * materialized view `web_telemetry_1m_mv` on every insert into `telemetry`. A 30-day plot then reads
 * 43,200 rollup rows per series instead of 2,592,000 raw ones (see `npm run bench -- web`).
 *
 * - Created at web server start (idempotent) once `telemetry` exists (`gft db migrate`); when the view
 *   is created, the rows already in `telemetry` are aggregated into the rollup (day by day, up to the
 *   minute of creation: samples of that minute arriving concurrently may be counted twice or missed
 *   in the average, never in min/max).
 * - Replays into `telemetry` collapse there (ReplacingMergeTree) but add states here again: min and
 *   max are unaffected, an average over a replayed span weights the replayed samples twice.
 * - Retention: daily partitions like `telemetry`; `gft web retention --days N` drops the old ones
 *   (`gft db retention` does not know this table).
 * SQL for ClickHouse 18.16 and current releases.
 */
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import { ident, raw, sql, type Sql } from '../connectors/clickhouse/sql.ts';

export const ROLLUP = 'web_telemetry_1m';
export const ROLLUP_MV = 'web_telemetry_1m_mv';

async function exists(ch: ClickHouse, table: string): Promise<boolean> {
  const r = await ch.query<{ n: string }>(sql`SELECT count() AS n FROM system.tables WHERE database = ${ch.database} AND name = ${table}`);
  return Number(r[0]?.n ?? 0) > 0;
}

/** Creates the rollup and its view when `telemetry` exists; returns the rollup table, or null. */
export async function ensureRollup(ch: ClickHouse, log: (s: string) => void = () => {}): Promise<Sql | null> {
  const db = ch.database;
  if (!(await exists(ch, 'telemetry'))) return null;
  const rollup = ident(`${db}.${ROLLUP}`);
  await ch.exec(raw(`CREATE TABLE IF NOT EXISTS ${rollup} (
    source String, metric String, t DateTime,
    vmin AggregateFunction(min, Float64), vmax AggregateFunction(max, Float64), vavg AggregateFunction(avg, Float64), n AggregateFunction(count)
  ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(t) ORDER BY (source, metric, t)`));
  if (await exists(ch, ROLLUP_MV)) return rollup;
  const telemetry = ident(`${db}.telemetry`);
  const cutoff = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  await ch.exec(raw(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${ident(`${db}.${ROLLUP_MV}`)} TO ${rollup} AS
    SELECT source, metric, toStartOfMinute(time) AS t, minState(value) AS vmin, maxState(value) AS vmax, avgState(value) AS vavg, countState() AS n
    FROM ${telemetry} GROUP BY source, metric, t`));
  const parts = await ch.query<{ p: string }>(sql`SELECT DISTINCT partition AS p FROM system.parts WHERE database = ${db} AND table = 'telemetry' AND active ORDER BY p`);
  for (const { p } of parts) {
    const day = Number(String(p).replace(/'/g, ''));
    if (!Number.isInteger(day)) continue;
    await ch.exec(sql`INSERT INTO ${rollup}
      SELECT source, metric, toStartOfMinute(time) AS t, minState(value), maxState(value), avgState(value), countState()
      FROM ${telemetry} WHERE toYYYYMMDD(time) = ${day} AND time < ${cutoff} GROUP BY source, metric, t`);
  }
  log(`created ${ROLLUP} (one-minute telemetry rollup) from ${parts.length} daily partitions`);
  return rollup;
}

/** Drops rollup partitions older than `days` (like `gft db retention` does for telemetry). */
export async function rollupRetention(ch: ClickHouse, days: number, now = new Date()): Promise<string[]> {
  if (!(await exists(ch, ROLLUP))) return [];
  const c = new Date(now.getTime() - days * 86400_000);
  const cutoff = c.getUTCFullYear() * 10000 + (c.getUTCMonth() + 1) * 100 + c.getUTCDate();
  const parts = await ch.query<{ p: string }>(sql`SELECT DISTINCT partition AS p FROM system.parts WHERE database = ${ch.database} AND table = ${ROLLUP} AND active`);
  const dropped: string[] = [];
  for (const { p } of parts) {
    const day = Number(String(p).replace(/'/g, ''));
    if (Number.isInteger(day) && day < cutoff) {
      await ch.exec(sql`ALTER TABLE ${ident(`${ch.database}.${ROLLUP}`)} DROP PARTITION ${day}`);
      dropped.push(`${ROLLUP}:${day}`);
    }
  }
  return dropped;
}
