/**
 * Dashboard queries over `telemetry` (long format: source, metric, time, ms, value, state; ORDER BY
 * source, metric, time; daily partitions). Every query names the source and the metrics, so ClickHouse
 * reads only those ranges of the primary key, and bounds time, so it reads only those partitions.
 * Time-series are downsampled in ClickHouse to ~300 buckets (intDiv on the Unix time: 18.16 has no
 * toStartOfInterval) with avg, min and max per bucket, so 30 days of 1 Hz data come back as ~360 rows;
 * buckets of whole minutes read the rollups (../rollup.ts: min, max, sum and count per minute and per
 * ten minutes, exact, read with FINAL) instead of the raw rows: ten-minute rows inside the window
 * when the buckets are whole ten minutes, minute rows at its edges, so the figures are those of the
 * minute rows; the mean of a bucket is sum(vsum) / sum(n).
 * Series and statistics read the raw rows with FINAL too (a sample inserted twice, not merged yet,
 * counts once); conditions are on key columns only, so FINAL stays exact.
 *
 * Windows end at the source's latest sample (not at the wall clock), so a replayed or historical run
 * (DC3 of 2019-10-16) is shown as well as live data.
 */
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, join, sql, type Sql } from '../../connectors/clickhouse/sql.ts';

export interface Point {
  t: number; // Unix ms, bucket start
  avg: number;
  min: number;
  max: number;
}

export interface Series {
  metric: string;
  points: Point[];
}

export interface LatestValue {
  metric: string;
  value: number;
  time: number;
  state: string;
}

export const RANGES: Record<string, { seconds: number; bucket: number; label: string }> = {
  '1h': { seconds: 3600, bucket: 10, label: '1 hour' },
  '6h': { seconds: 6 * 3600, bucket: 60, label: '6 hours' },
  '24h': { seconds: 86400, bucket: 300, label: '24 hours' },
  '7d': { seconds: 7 * 86400, bucket: 1800, label: '7 days' },
  '30d': { seconds: 30 * 86400, bucket: 7200, label: '30 days' },
};

export function rangeOf(key: string | null | undefined, dflt = '24h') {
  const k = key && key in RANGES ? key : dflt;
  return { key: k, ...RANGES[k] };
}

export const chTime = (s: string) => Date.parse(String(s).replace(' ', 'T') + 'Z');

/** The rollup tables (connectors/clickhouse/rollup.ts). */
export interface Rollups {
  minute: Sql;
  tenMinutes: Sql;
}

export class TelemetryQueries {
  /**
   * @param rollup the rollups (../rollup.ts), used for buckets that are whole minutes and for
   *   statistics over more than 6 hours; null: raw rows only.
   */
  constructor(
    readonly ch: ClickHouse,
    readonly table: Sql = ident(`${ch.database}.telemetry`),
    public rollup: Rollups | null = null,
  ) {}

  /**
   * The rollup rows of the minutes t with floor(start) ≤ t < end (what the minute rollup alone
   * gives): ten-minute rows for the whole ten minutes inside when `tens`, minute rows for the rest.
   */
  private rollupRows(source: string, names: Sql, start: number, end: number, tens: boolean): Sql {
    const r = this.rollup!;
    const m0 = Math.floor(start / 60_000) * 60_000;
    const m1 = Math.ceil(end / 60_000) * 60_000; // minute t < end ⇔ t < m1
    const lo = Math.ceil(m0 / 600_000) * 600_000;
    const hi = Math.floor(m1 / 600_000) * 600_000;
    const rows = (table: Sql, from: number, to: number) =>
      sql`SELECT metric, t, vmin, vmax, vsum, n FROM ${table} FINAL WHERE source = ${source} AND metric IN (${names}) AND t >= ${new Date(from)} AND t < ${new Date(to)}`;
    if (!tens || lo >= hi) return rows(r.minute, m0, m1);
    const parts = [rows(r.tenMinutes, lo, hi)];
    if (m0 < lo) parts.push(rows(r.minute, m0, lo));
    if (hi < m1) parts.push(rows(r.minute, hi, m1));
    return join(parts, ' UNION ALL ');
  }

  /**
   * Unix ms of the latest sample of a source (null when none). Looks at the last ten minutes, then the
   * last two days (partition pruning and the time column of the key), and only then at everything.
   */
  async latestTime(source: string, now = Date.now()): Promise<number | null> {
    for (const since of [new Date(now - 600_000), new Date(now - 2 * 86400_000), null]) {
      const where = since ? sql`source = ${source} AND time >= ${since}` : sql`source = ${source}`;
      const r = await this.ch.query<{ t: string; n: string }>(sql`SELECT max(time) AS t, count() AS n FROM ${this.table} WHERE ${where}`);
      if (Number(r[0]?.n ?? 0) > 0) return chTime(r[0].t) + 999;
    }
    return null;
  }

  /** The latest value of every metric of a source (within 10 minutes of its latest sample). */
  async latest(source: string, end?: number | null): Promise<LatestValue[]> {
    const tEnd = end ?? (await this.latestTime(source));
    if (tEnd === null) return [];
    // aliases differ from column names: current ClickHouse substitutes aliases inside aggregates
    const rows = await this.ch.query<{ metric: string; v: number; t: string; st: string }>(sql`
      SELECT metric, argMax(value, toUInt64(time) * 1000 + ms) AS v, max(time) AS t, argMax(state, toUInt64(time) * 1000 + ms) AS st
      FROM ${this.table}
      WHERE source = ${source} AND time >= ${new Date(tEnd - 600_000)} AND time <= ${new Date(tEnd)}
      GROUP BY metric ORDER BY metric`);
    return rows.map((r) => ({ metric: r.metric, value: Number(r.v), time: chTime(r.t), state: r.st }));
  }

  /** Downsampled series of some metrics of a source over [start, end). */
  async series(source: string, metrics: string[], start: number, end: number, bucketSec: number): Promise<Series[]> {
    if (!metrics.length) return [];
    const b = Math.max(1, Math.floor(bucketSec));
    const names = join(metrics.map((m) => sql`${m}`));
    const rows = await this.ch.query<{ metric: string; tb: string; avg: number; min: number; max: number }>(
      this.rollup && b % 60 === 0
        ? sql`
      SELECT metric, intDiv(toUInt32(t), ${b}) * ${b} AS tb, sum(vsum) / sum(n) AS avg, min(vmin) AS min, max(vmax) AS max
      FROM (${this.rollupRows(source, names, start, end, b % 600 === 0)})
      GROUP BY metric, tb ORDER BY metric, tb`
        : sql`
      SELECT metric, intDiv(toUInt32(time), ${b}) * ${b} AS tb, avg(value) AS avg, min(value) AS min, max(value) AS max
      FROM ${this.table} FINAL
      WHERE source = ${source} AND metric IN (${names}) AND time >= ${new Date(start)} AND time < ${new Date(end)}
      GROUP BY metric, tb ORDER BY metric, tb`,
    );
    const by = new Map<string, Point[]>(metrics.map((m) => [m, []]));
    for (const r of rows) by.get(r.metric)?.push({ t: Number(r.tb) * 1000, avg: Number(r.avg), min: Number(r.min), max: Number(r.max) });
    return metrics.map((m) => ({ metric: m, points: by.get(m)! }));
  }

  /** min / max / avg / count per metric over [start, end). */
  async stats(source: string, metrics: string[], start: number, end: number): Promise<Record<string, { min: number; max: number; avg: number; n: number }>> {
    if (!metrics.length) return {};
    const names = join(metrics.map((m) => sql`${m}`));
    const rows = await this.ch.query<{ metric: string; min: number; max: number; avg: number; cnt: string }>(
      this.rollup && end - start > 6 * 3600_000
        ? sql`
      SELECT metric, min(vmin) AS min, max(vmax) AS max, sum(vsum) / sum(n) AS avg, sum(n) AS cnt
      FROM (${this.rollupRows(source, names, start, end, true)})
      GROUP BY metric`
        : sql`
      SELECT metric, min(value) AS min, max(value) AS max, avg(value) AS avg, count() AS cnt
      FROM ${this.table} FINAL
      WHERE source = ${source} AND metric IN (${names}) AND time >= ${new Date(start)} AND time < ${new Date(end)}
      GROUP BY metric`,
    );
    const out: Record<string, { min: number; max: number; avg: number; n: number }> = {};
    for (const r of rows) out[r.metric] = { min: Number(r.min), max: Number(r.max), avg: Number(r.avg), n: Number(r.cnt) };
    return out;
  }

  /**
   * State changes of a source over a window, newest first: the state per bucket (the last one in
   * the bucket) from ClickHouse, then consecutive equal states merged here.
   */
  async stateChanges(source: string, metric: string, start: number, end: number, bucketSec = 60, limit = 30): Promise<{ time: number; state: string }[]> {
    const b = Math.max(1, Math.floor(bucketSec));
    const rows = await this.ch.query<{ t: string; st: string }>(sql`
      SELECT intDiv(toUInt32(time), ${b}) * ${b} AS t, argMax(state, time) AS st FROM ${this.table}
      WHERE source = ${source} AND metric = ${metric} AND time >= ${new Date(start)} AND time < ${new Date(end)}
      GROUP BY t ORDER BY t`);
    const out: { time: number; state: string }[] = [];
    for (const r of rows) if (!out.length || out[out.length - 1].state !== r.st) out.push({ time: Number(r.t) * 1000, state: r.st });
    return out.reverse().slice(0, limit);
  }

  /** Host sources (`host:<name>`) seen in the last two days of data. */
  async hosts(now = Date.now()): Promise<string[]> {
    const rows = await this.ch.query<{ source: string }>(sql`
      SELECT source FROM ${this.table} WHERE source >= 'host:' AND source < 'host;' AND time >= ${new Date(now - 2 * 86400_000)} GROUP BY source ORDER BY source`);
    if (rows.length) return rows.map((r) => r.source);
    const all = await this.ch.query<{ source: string }>(sql`SELECT source FROM ${this.table} WHERE source >= 'host:' AND source < 'host;' GROUP BY source ORDER BY source LIMIT 20`);
    return all.map((r) => r.source);
  }
}
