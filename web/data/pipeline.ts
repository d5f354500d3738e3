/**
 * Queries over `stage_metrics` (one row per stage instance per reporting interval, from the runner)
 * and `logs` (every stage's structured logs). Windows end at the latest metrics row, so a finished
 * run is shown as it ended. Log search passes the user's text as a quoted literal (sql``), never as SQL.
 */
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, join, sql, type Sql } from '../../connectors/clickhouse/sql.ts';
import { chTime } from './telemetry.ts';

export interface StageState {
  stage: string;
  lastSeen: number;
  instances: number;
  messagesIn: number;
  messagesOut: number;
  dlq: number;
  retries: number;
  ratePerSec: number;
  lag: number;
  p99Ms: number;
  status: 'ok' | 'idle' | 'lagging' | 'dlq' | 'stale';
  /** What the stage holds at its latest report, summed over its instances (null: metrics of before migration 4). */
  held: { bursts: number; stateBytes: number; cacheBytes: number; rssBytes: number } | null;
}

export interface StagePoint {
  t: number;
  rate: number;
  lag: number;
  dlq: number;
}

export interface LogRow {
  time: number;
  level: string;
  stage: string;
  instance: string;
  message: string;
  fields: string;
}

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export class PipelineQueries {
  readonly metrics: Sql;
  readonly logs: Sql;
  constructor(readonly ch: ClickHouse) {
    this.metrics = ident(`${ch.database}.stage_metrics`);
    this.logs = ident(`${ch.database}.logs`);
  }

  /** Unix ms of the latest stage metrics row (null when none). */
  async latestMetricsTime(): Promise<number | null> {
    const r = await this.ch.query<{ t: string; n: string }>(sql`SELECT max(time) AS t, count() AS n FROM ${this.metrics}`);
    return Number(r[0]?.n ?? 0) > 0 ? chTime(r[0].t) + 999 : null;
  }

  /** Per-stage state over the `windowSec` before the latest metrics row. */
  async stages(windowSec = 900): Promise<{ end: number | null; stages: StageState[] }> {
    const end = await this.latestMetricsTime();
    if (end === null) return { end, stages: [] };
    // aliases differ from column names: current ClickHouse substitutes aliases inside aggregates
    const rows = await this.ch.query<{ stage: string; last: string; instances: string; min: string; mout: string; dlq: string; nretries: string; ms: string; lastlag: string; p99: number }>(sql`
      SELECT stage, max(time) AS last, uniqExact(instance) AS instances, sum(messages_in) AS min, sum(messages_out) AS mout,
             sum(messages_dlq) AS dlq, sum(retries) AS nretries, sum(interval_ms) AS ms, argMax(lag, time) AS lastlag, max(processing_ms_p99) AS p99
      FROM ${this.metrics} WHERE time >= ${new Date(end - windowSec * 1000)} AND time <= ${new Date(end)}
      GROUP BY stage ORDER BY stage`);
    const held = await this.held(end, windowSec);
    const stages = rows.map((r): StageState => {
      const lastSeen = chTime(r.last);
      const instances = Number(r.instances);
      const messagesIn = Number(r.min);
      const ms = Number(r.ms);
      const s: StageState = {
        stage: r.stage,
        lastSeen,
        instances,
        messagesIn,
        messagesOut: Number(r.mout),
        dlq: Number(r.dlq),
        retries: Number(r.nretries),
        ratePerSec: ms > 0 ? (messagesIn * 1000 * instances) / ms : 0,
        lag: Number(r.lastlag),
        p99Ms: Number(r.p99),
        status: 'ok',
        held: held.get(r.stage) ?? null,
      };
      s.status = end - lastSeen > 60_000 ? 'stale' : s.dlq > 0 ? 'dlq' : s.lag > 1000 ? 'lagging' : messagesIn === 0 ? 'idle' : 'ok';
      return s;
    });
    return { end, stages };
  }

  /** Per stage: the bursts, state bytes, cache bytes and RSS of each instance's latest report, summed. */
  async held(end: number, windowSec: number): Promise<Map<string, NonNullable<StageState['held']>>> {
    let rows: { stage: string; bh: string; sb: string; cb: string; rss: string }[];
    try {
      rows = await this.ch.query(sql`
        SELECT stage, sum(ibh) AS bh, sum(isb) AS sb, sum(icb) AS cb, sum(irss) AS rss FROM (
          SELECT stage, instance, argMax(bursts_held, time) AS ibh, argMax(state_bytes, time) AS isb, argMax(cache_bytes, time) AS icb, argMax(rss_bytes, time) AS irss
          FROM ${this.metrics} WHERE time >= ${new Date(end - windowSec * 1000)} AND time <= ${new Date(end)} GROUP BY stage, instance)
        GROUP BY stage`);
    } catch (e) {
      if (/bursts_held|Missing columns|Unknown identifier/i.test((e as Error).message)) return new Map(); // not migrated yet (gft db migrate)
      throw e;
    }
    return new Map(rows.map((r) => [r.stage, { bursts: Number(r.bh), stateBytes: Number(r.sb), cacheBytes: Number(r.cb), rssBytes: Number(r.rss) }]));
  }

  /** Throughput (messages in per second), lag and DLQ count per stage, in buckets. */
  async stageSeries(start: number, end: number, bucketSec: number): Promise<Map<string, StagePoint[]>> {
    const b = Math.max(1, Math.floor(bucketSec));
    const rows = await this.ch.query<{ stage: string; t: string; n: string; ms: string; inst: string; maxlag: string; dlq: string }>(sql`
      SELECT stage, intDiv(toUInt32(time), ${b}) * ${b} AS t, sum(messages_in) AS n, sum(interval_ms) AS ms, uniqExact(instance) AS inst,
             max(lag) AS maxlag, sum(messages_dlq) AS dlq
      FROM ${this.metrics} WHERE time >= ${new Date(start)} AND time < ${new Date(end)}
      GROUP BY stage, t ORDER BY stage, t`);
    const out = new Map<string, StagePoint[]>();
    for (const r of rows) {
      const ms = Number(r.ms);
      const p = { t: Number(r.t) * 1000, rate: ms > 0 ? (Number(r.n) * 1000 * Number(r.inst)) / ms : 0, lag: Number(r.maxlag), dlq: Number(r.dlq) };
      const arr = out.get(r.stage) ?? [];
      arr.push(p);
      out.set(r.stage, arr);
    }
    return out;
  }

  async latestLogTime(): Promise<number | null> {
    const r = await this.ch.query<{ t: string; n: string }>(sql`SELECT max(time) AS t, count() AS n FROM ${this.logs}`);
    return Number(r[0]?.n ?? 0) > 0 ? chTime(r[0].t) + 999 : null;
  }

  /**
   * Log search: text (case-insensitive substring of the message or the fields), level at least
   * `minLevel`, stage, time window; newest first.
   */
  async searchLogs(q: { text?: string; minLevel?: string; stage?: string; start?: number; end?: number; limit?: number }): Promise<LogRow[]> {
    const where: Sql[] = [sql`1`];
    if (q.start !== undefined) where.push(sql`time >= ${new Date(q.start)}`);
    if (q.end !== undefined) where.push(sql`time <= ${new Date(q.end)}`);
    if (q.stage) where.push(sql`stage = ${q.stage}`);
    const li = LEVELS.indexOf((q.minLevel ?? '') as (typeof LEVELS)[number]);
    if (li > 0) where.push(sql`level IN (${join(LEVELS.slice(li).map((l) => sql`${l}`))})`);
    if (q.text) where.push(sql`(positionCaseInsensitive(message, ${q.text}) > 0 OR positionCaseInsensitive(fields, ${q.text}) > 0)`);
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 200)));
    const rows = await this.ch.query<{ time: string; ms: number; level: string; stage: string; instance: string; message: string; fields: string }>(sql`
      SELECT time, ms, level, stage, instance, message, fields FROM ${this.logs}
      WHERE ${join(where, ' AND ')} ORDER BY time DESC, ms DESC LIMIT ${limit}`);
    return rows.map((r) => ({ time: chTime(r.time) + Number(r.ms), level: r.level, stage: r.stage, instance: r.instance, message: r.message, fields: r.fields }));
  }

  async logStages(): Promise<string[]> {
    const rows = await this.ch.query<{ stage: string }>(sql`SELECT DISTINCT stage FROM ${this.logs} ORDER BY stage LIMIT 100`);
    return rows.map((r) => r.stage);
  }

  /**
   * Recent alerts for the dashboard: what the alert manager logged (stage `alerts`) and every
   * warning or error of any stage, over the day before the latest log line.
   */
  async recentAlerts(limit = 15): Promise<LogRow[]> {
    const end = await this.latestLogTime();
    if (end === null) return [];
    const rows = await this.ch.query<{ time: string; ms: number; level: string; stage: string; instance: string; message: string; fields: string }>(sql`
      SELECT time, ms, level, stage, instance, message, fields FROM ${this.logs}
      WHERE time >= ${new Date(end - 86400_000)} AND (stage = 'alerts' OR level IN ('warn', 'error'))
      ORDER BY time DESC, ms DESC LIMIT ${limit}`);
    return rows.map((r) => ({ time: chTime(r.time) + Number(r.ms), level: r.level, stage: r.stage, instance: r.instance, message: r.message, fields: r.fields }));
  }
}
