/**
 * The telemetry rollups read by the web pages for long windows (web/data/telemetry.ts):
 * `telemetry_1m` and `telemetry_10m`, per source, metric and minute (ten minutes), the min, max,
 * sum and count of the samples that `telemetry FINAL` holds, so each sample counts once however many
 * times it was inserted. (Two granularities because 18.16 merges FINAL in one thread: a 30-day window
 * reads 4,320 ten-minute rows per series instead of 43,200 minute rows; its edges come from the
 * minute rows, so both give the same figures.)
 *
 * Exact under at-least-once delivery:
 * - A row of a rollup is never added to, only recomputed: `refreshRollup` recomputes every minute
 *   (ten minutes) a batch touched from `telemetry FINAL` and inserts the results into a
 *   ReplacingMergeTree keyed by (source, metric, t) with version = the time the recomputation started
 *   (ms). The newest recomputation replaces the older ones, in FINAL and in merges alike (readers
 *   use FINAL).
 * - The writer (the ClickHouse sink, sink.ts) inserts a batch, then refreshes its minutes, and only
 *   then is its offset committed. A batch inserted twice (a crash between insert and commit, a
 *   replay) collapses in `telemetry` and is recomputed, not added. The newest recomputation of a
 *   minute sees every insert into it: each insert is followed by a recomputation whose version is
 *   taken after the insert finished and before its own read, so the highest version belongs to a read
 *   made after every insert finished. This holds on one clock: sink instances on several hosts need
 *   synchronised clocks (NTP); at worst a minute is short until a later batch touches it again.
 * - Rows inserted into `telemetry` by anything else must go through `insertTelemetry` (tests, bench,
 *   datasets) or be followed by `fillRollup`.
 * Created by migration 3 of the project (`gft db migrate`, the sink's start), which fills them from
 * the telemetry already stored and drops the previous rollup of the web pages (`web_telemetry_1m`,
 * an AggregatingMergeTree fed by a materialized view: it counted a re-inserted batch twice).
 * Retention: daily partitions, `gft web retention --days N`. On a cluster: a replicated local table
 * + Distributed like every table (cluster.ts), sharded by source like `telemetry`; writes with
 * `insert_distributed_sync` and reads with `load_balancing = in_order`, so a recomputation reads the
 * replica the batch was written to (after a replica failover a minute can miss the last batch until
 * a later batch touches it).
 * SQL for 18.16 and current releases.
 */
import type { ClickHouse, QuerySettings } from './client.ts';
import type { ClusterDdl } from './cluster.ts';
import { ident, join, raw, sql, type Sql } from './sql.ts';

/** The rollups: table and span (seconds). `telemetry_1m` first: the one to count samples in. */
export const ROLLUPS = [
  { table: 'telemetry_1m', span: 60 },
  { table: 'telemetry_10m', span: 600 },
] as const;
export type Rollup = (typeof ROLLUPS)[number];
export const ROLLUP_TABLE = ROLLUPS[0].table;

export function rollupCreate(db: string, table: string): Sql {
  return raw(`CREATE TABLE IF NOT EXISTS ${ident(`${db}.${table}`)} (
        source String, metric String, t DateTime, vmin Float64, vmax Float64, vsum Float64, n UInt64, version UInt64
      ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMMDD(t) ORDER BY (source, metric, t)`);
}

/** Settings of the sink's writes and recomputations: synchronous Distributed inserts, one replica order. */
export function writeSettings(c: ClusterDdl | null): QuerySettings | undefined {
  return c ? { insert_distributed_sync: 1, load_balancing: 'in_order' } : undefined;
}

export interface TelemetryRow {
  source: string;
  metric: string;
  /** Unix seconds */
  time: number;
  ms: number;
  value: number;
  state: string;
  version: number;
}

export interface SpanRange {
  source: string;
  metric: string;
  /** Unix seconds, start of the first span */
  from: number;
  /** Unix seconds, end of the last span (exclusive) */
  to: number;
}

/**
 * The spans (minutes, ten minutes) a batch touched, per series, as ranges of whole spans. Ranges
 * at most `gapSpans` spans apart are joined: recomputing a span the batch did not touch gives the
 * row it already has, and fewer ranges make a shorter query.
 */
export function touchedRanges(rows: Pick<TelemetryRow, 'source' | 'metric' | 'time'>[], span = 60, gapSpans = 10): SpanRange[] {
  const by = new Map<string, { source: string; metric: string; spans: Set<number> }>();
  for (const r of rows) {
    const k = `${r.source}\u0000${r.metric}`;
    let e = by.get(k);
    if (!e) by.set(k, (e = { source: r.source, metric: r.metric, spans: new Set() }));
    e.spans.add(Math.floor(r.time / span));
  }
  const out: SpanRange[] = [];
  for (const { source, metric, spans } of by.values()) {
    const sorted = [...spans].sort((a, b) => a - b);
    let start = sorted[0];
    let end = sorted[0];
    for (const m of sorted.slice(1)) {
      if (m - end <= gapSpans) end = m;
      else {
        out.push({ source, metric, from: start * span, to: (end + 1) * span });
        start = end = m;
      }
    }
    out.push({ source, metric, from: start * span, to: (end + 1) * span });
  }
  return out;
}

const select = (db: string, r: Rollup, version: number | Sql, where: Sql) => sql`INSERT INTO ${ident(`${db}.${r.table}`)} (source, metric, t, vmin, vmax, vsum, n, version)
    SELECT source, metric, toDateTime(intDiv(toUInt32(time), ${r.span}) * ${r.span}) AS tm, min(value), max(value), sum(value), count(), ${version}
    FROM ${ident(`${db}.telemetry`)} FINAL WHERE ${where} GROUP BY source, metric, tm`;

/** The statement recomputing some span ranges of a rollup (key columns only in the condition: exact under FINAL). */
export function refreshSql(db: string, r: Rollup, ranges: SpanRange[], version: number): Sql {
  const where = join(
    ranges.map((x) => sql`(source = ${x.source} AND metric = ${x.metric} AND time >= ${new Date(x.from * 1000)} AND time < ${new Date(x.to * 1000)})`),
    ' OR ',
  );
  return select(db, r, version, where);
}

/**
 * Recomputes the rollup rows of every minute and ten minutes the rows touched (call it after they
 * are inserted). Returns the number of ranges recomputed.
 */
export async function refreshRollup(ch: ClickHouse, rows: Pick<TelemetryRow, 'source' | 'metric' | 'time'>[], o: { cluster?: ClusterDdl | null; now?: () => number } = {}): Promise<number> {
  if (!rows.length) return 0;
  const counts = await Promise.all(
    ROLLUPS.map(async (r) => {
      const ranges = touchedRanges(rows, r.span, r.span === 60 ? 10 : 1);
      const version = (o.now ?? Date.now)(); // before the read: see the top of this file
      for (let i = 0; i < ranges.length; i += 200) await ch.exec(refreshSql(ch.database, r, ranges.slice(i, i + 200), version), writeSettings(o.cluster ?? null));
      return ranges.length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Inserts telemetry rows (every column present, `version` included), then refreshes their minutes. */
export async function insertTelemetry(ch: ClickHouse, rows: TelemetryRow[], o: { cluster?: ClusterDdl | null } = {}): Promise<void> {
  if (!rows.length) return;
  await ch.insert('telemetry', rows as unknown as Record<string, unknown>[], writeSettings(o.cluster ?? null));
  await refreshRollup(ch, rows, o);
}

/** The statements filling the rollups from all of `telemetry` (what `fillRollup` runs, one day at a time). */
export function fillSql(db: string): Sql[] {
  return ROLLUPS.map((r) => select(db, r, raw('toUInt64(now()) * 1000'), raw('1')));
}

/**
 * Recomputes the whole rollups from `telemetry FINAL`, one day at a time (bounded memory). Returns
 * the number of days. Used when the rollups are created on a database that has telemetry, and after
 * bulk loads that bypassed `insertTelemetry`.
 */
export async function fillRollup(ch: ClickHouse, c: ClusterDdl | null = null, log: (s: string) => void = () => {}): Promise<number> {
  const db = ch.database;
  const days = await ch.query<{ d: string }>(sql`SELECT toString(toDate(time)) AS d FROM ${ident(`${db}.telemetry`)} GROUP BY d ORDER BY d`, writeSettings(c));
  const t0 = Date.now();
  for (const { d } of days) {
    const from = new Date(`${d}T00:00:00Z`);
    const to = new Date(from.getTime() + 86400_000);
    for (const r of ROLLUPS) await ch.exec(select(db, r, Date.now(), sql`time >= ${from} AND time < ${to}`), writeSettings(c));
  }
  if (days.length) log(`filled ${ROLLUPS.map((r) => `${db}.${r.table}`).join(' and ')} from ${days.length} days of telemetry in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return days.length;
}
