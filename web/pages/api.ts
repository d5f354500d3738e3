/**
 * JSON endpoints (same login and roles as the pages: no session → 401) and the live-update stream.
 *
 * `/api/events` is a Server-Sent Events stream: the server looks every `liveIntervalMs` at the block
 * numbers of the tables the pages read (system.parts: cheap, no table scan) and sends `event: update`
 * when new rows arrived. Pages then re-fetch their `data-live` fragments. The
 * session is re-checked at every tick; a revoked or expired session ends the stream.
 */
import type { ServerResponse } from 'node:http';
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { join, sql } from '../../connectors/clickhouse/sql.ts';
import type { Deps } from '../deps.ts';
import { HttpError, sendJson, type Ctx } from '../http/context.ts';
import type { Router } from '../http/router.ts';
import { rangeOf } from '../data/telemetry.ts';
import { parseCookies, cookieName } from '../auth/cookies.ts';
import { SESSION_COOKIE } from './login.ts';

const SOURCE_RE = /^(tcs|weather|host:[A-Za-z0-9._-]{1,64})$/;
const METRIC_RE = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

/**
 * A signature of the data the pages show: the highest block number of each table's active parts.
 * Every INSERT takes a new block number; merges keep the highest one of the parts they merge, so the
 * signature changes on inserts only (not on background merges).
 */
export async function dataVersion(ch: ClickHouse, sdbDatabase: string): Promise<string> {
  const tables = ['telemetry', 'logs', 'stage_metrics', 'web_shifts', 'web_shifters'];
  const rows = await ch.query<{ database: string; table: string; b: string }>(sql`
    SELECT database, table, max(max_block_number) AS b FROM system.parts
    WHERE active AND ((database = ${ch.database} AND table IN (${join(tables.map((t) => sql`${t}`))})) OR database = ${sdbDatabase})
    GROUP BY database, table ORDER BY database, table`);
  return rows.map((r) => `${r.database}.${r.table}:${r.b}`).join('|');
}

export class LiveHub {
  private readonly clients = new Set<{ res: ServerResponse; token: string }>();
  private timer?: NodeJS.Timeout;
  private version = '';
  private ticking = false;
  private pings = 0;

  constructor(private readonly d: Deps) {}

  /** Registers a stream; the data version is known before it resolves, so the first tick only signals real changes. */
  async add(res: ServerResponse, token: string): Promise<void> {
    if (!this.version) this.version = await dataVersion(this.d.ch, this.d.sdb.database).catch(() => '');
    const c = { res, token };
    this.clients.add(c);
    res.on('close', () => {
      this.clients.delete(c);
      if (!this.clients.size) this.stopTimer();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.d.config.liveIntervalMs);
      this.timer.unref();
    }
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const c of [...this.clients]) {
        if (!(await this.d.sessions.get(c.token))) {
          c.res.write('event: logout\ndata: {}\n\n');
          c.res.end();
          this.clients.delete(c);
        }
      }
      if (!this.clients.size) return this.stopTimer();
      const v = await dataVersion(this.d.ch, this.d.sdb.database).catch(() => this.version);
      const changed = v !== this.version;
      this.version = v;
      const ping = ++this.pings % 3 === 0;
      for (const c of this.clients) {
        if (changed) c.res.write(`event: update\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
        else if (ping) c.res.write(': ping\n\n');
      }
    } finally {
      this.ticking = false;
    }
  }

  close(): void {
    this.stopTimer();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}

export function registerApi(r: Router, d: Deps, hub: LiveHub): void {
  r.get('/api/events', 'view', async (ctx: Ctx) => {
    ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const token = parseCookies(ctx.req.headers.cookie)[cookieName(SESSION_COOKIE, ctx.secure)] ?? '';
    await hub.add(ctx.res, token);
    ctx.res.write(`retry: 5000\nevent: hello\ndata: ${JSON.stringify({ user: ctx.user!.username })}\n\n`);
  });

  r.get('/api/me', 'view', (ctx) => sendJson(ctx, 200, { username: ctx.user!.username, role: ctx.user!.role }));

  r.get('/api/telemetry', 'view', async (ctx) => {
    const p = ctx.url.searchParams;
    const source = p.get('source') ?? '';
    const metrics = (p.get('metrics') ?? '').split(',').filter(Boolean);
    if (!SOURCE_RE.test(source)) throw new HttpError(400, 'source: tcs, weather or host:<name>');
    if (!metrics.length || metrics.length > 20 || !metrics.every((m) => METRIC_RE.test(m))) throw new HttpError(400, 'metrics: 1–20 comma-separated names');
    const range = rangeOf(p.get('range'));
    const end = await d.telemetry.latestTime(source);
    if (end === null) return sendJson(ctx, 200, { source, range: range.key, end: null, series: [] });
    const series = await d.telemetry.series(source, metrics, end - range.seconds * 1000, end, range.bucket);
    sendJson(ctx, 200, { source, range: range.key, end, bucketSec: range.bucket, series });
  });

  r.get('/api/latest', 'view', async (ctx) => {
    const source = ctx.url.searchParams.get('source') ?? '';
    if (!SOURCE_RE.test(source)) throw new HttpError(400, 'source: tcs, weather or host:<name>');
    sendJson(ctx, 200, { source, values: await d.telemetry.latest(source) });
  });

  r.get('/api/stages', 'view', async (ctx) => sendJson(ctx, 200, await d.pipeline.stages()));

  r.get('/api/logs', 'view', async (ctx) => {
    const p = ctx.url.searchParams;
    const end = await d.pipeline.latestLogTime();
    const range = rangeOf(p.get('range'), '24h');
    const rows = end === null ? [] : await d.pipeline.searchLogs({ text: p.get('q')?.slice(0, 200) || undefined, minLevel: p.get('level') || undefined, stage: p.get('stage')?.slice(0, 64) || undefined, start: end - range.seconds * 1000, end, limit: Number(p.get('limit') ?? 200) || 200 });
    sendJson(ctx, 200, { end, rows });
  });

  r.get('/api/products', 'view', async (ctx) => sendJson(ctx, 200, { products: await d.sdb.products({ burstId: ctx.url.searchParams.get('burst')?.slice(0, 64) || undefined, limit: 200 }) }));
}
