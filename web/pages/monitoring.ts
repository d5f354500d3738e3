/**
 * Monitoring: host metrics (CPU, memory, disk, load) per host, per-stage throughput, lag and DLQ
 * counts over time (stage_metrics), and log search. The search text goes to ClickHouse as a quoted
 * string literal (`positionCaseInsensitive(message, ${text})`), never as SQL.
 */
import type { Deps } from '../deps.ts';
import { sendHtml, type Ctx } from '../http/context.ts';
import { fmtTime, html, qs, trusted, type SafeHtml } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { chart } from '../plot/svg.ts';
import { LEVELS } from '../data/pipeline.ts';
import { rangeOf } from '../data/telemetry.ts';
import { logsTable, stagesTable } from './dashboard.ts';
import { live, page, rangeLinks } from './layout.ts';
import { plotsFor, tiles, type PlotGroup } from './telemetry.ts';

const HOST_PLOTS: PlotGroup[] = [
  { title: 'CPU, memory and disk use', unit: '%', metrics: ['cpuPct', 'memUsedPct', 'diskUsedPct'] },
  { title: 'Load average', metrics: ['load1', 'load5'] },
];

async function hostsSection(d: Deps, range: string): Promise<SafeHtml> {
  const hosts = await d.telemetry.hosts();
  if (!hosts.length) return html`<p class="empty">No host telemetry yet (run <code>npx gft ops simulate</code>).</p>`;
  const parts: SafeHtml[] = [];
  for (const h of hosts.slice(0, 8)) {
    const latest = await d.telemetry.latest(h);
    parts.push(html`<div class="card" data-host="${h}"><h2>${h.slice(5)}</h2>${tiles(latest, ['cpuPct', 'memUsedPct', 'diskUsedPct', 'load1', 'memUsedMB', 'diskFreeGB'], { cpuPct: 'CPU', memUsedPct: 'Memory', diskUsedPct: 'Disk', load1: 'Load (1 min)', memUsedMB: 'Memory used', diskFreeGB: 'Disk free' })}${await plotsFor(d, h, HOST_PLOTS, range)}</div>`);
  }
  return html`${parts}`;
}

async function stagesSection(d: Deps, range: string): Promise<SafeHtml> {
  const r = rangeOf(range);
  const state = await d.pipeline.stages();
  if (state.end === null) return html`<p class="empty">No stage metrics yet.</p>`;
  const bucket = Math.max(60, r.bucket);
  const series = await d.pipeline.stageSeries(state.end - r.seconds * 1000, state.end, bucket);
  const names = [...series.keys()];
  const gap = bucket * 1000 * 2.5;
  const thr = chart(names.map((s) => ({ label: s, points: series.get(s)!.map((p) => ({ x: p.t, y: p.rate })) })), { title: 'Throughput (messages in)', unit: 'msg/s', gap, id: 'plot-throughput' });
  const lag = chart(names.map((s) => ({ label: s, points: series.get(s)!.map((p) => ({ x: p.t, y: p.lag })) })), { title: 'Consumer lag', unit: 'messages', gap, id: 'plot-lag' });
  const dlq = chart(names.map((s) => ({ label: s, points: series.get(s)!.map((p) => ({ x: p.t, y: p.dlq })) })), { title: 'Dead-lettered', unit: 'messages per bucket', gap, id: 'plot-dlq' });
  return html`${stagesTable(state.end, state.stages)}<div class="grid"><div class="card">${trusted(thr)}</div><div class="card">${trusted(lag)}</div><div class="card">${trusted(dlq)}</div></div>`;
}

interface LogQuery {
  q: string;
  level: string;
  stage: string;
  range: string;
}

function logQuery(ctx: Ctx): LogQuery {
  const p = ctx.url.searchParams;
  const level = p.get('level') ?? '';
  return {
    q: (p.get('q') ?? '').slice(0, 200),
    level: (LEVELS as readonly string[]).includes(level) ? level : '',
    stage: (p.get('stage') ?? '').slice(0, 64),
    range: rangeOf(p.get('logrange'), '24h').key,
  };
}

async function logsSection(d: Deps, lq: LogQuery): Promise<SafeHtml> {
  const end = await d.pipeline.latestLogTime();
  if (end === null) return html`<p class="empty">No logs yet.</p>`;
  const r = rangeOf(lq.range, '24h');
  const rows = await d.pipeline.searchLogs({ text: lq.q || undefined, minLevel: lq.level || undefined, stage: lq.stage || undefined, start: end - r.seconds * 1000, end, limit: 200 });
  return html`<p class="muted" id="log-count">${rows.length}${rows.length === 200 ? '+' : ''} lines, ${r.label} to ${fmtTime(end)}</p>${logsTable(rows)}`;
}

export function registerMonitoring(r: Router, d: Deps): void {
  r.get('/monitoring', 'view', async (ctx) => {
    const range = rangeOf(ctx.url.searchParams.get('range')).key;
    const lq = logQuery(ctx);
    const stages = await d.pipeline.logStages();
    const [hosts, st, logs] = await Promise.all([hostsSection(d, range), stagesSection(d, range), logsSection(d, lq)]);
    sendHtml(ctx, 200, page(ctx, {
      title: 'Monitoring',
      active: 'monitoring',
      body: html`${rangeLinks('/monitoring', range, { q: lq.q, level: lq.level, stage: lq.stage })}
<section><h2>Pipeline stages</h2>${live(`/fragment/monitoring-stages${qs({ range })}`, st, 'stages')}</section>
<section><h2>Hosts</h2>${live(`/fragment/monitoring-hosts${qs({ range })}`, hosts, 'hosts')}</section>
<section class="card"><h2>Log search</h2>
<form method="get" action="/monitoring" class="inline" id="log-search"><input type="hidden" name="range" value="${range}">
<input name="q" value="${lq.q}" placeholder="text in message or fields" aria-label="search text" size="30">
<select name="level" aria-label="minimum level"><option value="">any level</option>${LEVELS.map((l) => html`<option value="${l}"${l === lq.level ? html` selected` : ''}>≥ ${l}</option>`)}</select>
<select name="stage" aria-label="stage"><option value="">any stage</option>${stages.map((s) => html`<option${s === lq.stage ? html` selected` : ''}>${s}</option>`)}</select>
<select name="logrange" aria-label="window">${['1h', '6h', '24h', '7d', '30d'].map((k) => html`<option value="${k}"${k === lq.range ? html` selected` : ''}>${rangeOf(k).label}</option>`)}</select>
<button type="submit">Search</button></form>
${live(`/fragment/monitoring-logs${qs({ q: lq.q, level: lq.level, stage: lq.stage, logrange: lq.range })}`, logs, 'logs')}</section>`,
    }));
  });
  r.get('/fragment/monitoring-stages', 'view', async (ctx) => sendHtml(ctx, 200, await stagesSection(d, rangeOf(ctx.url.searchParams.get('range')).key)));
  r.get('/fragment/monitoring-hosts', 'view', async (ctx) => sendHtml(ctx, 200, await hostsSection(d, rangeOf(ctx.url.searchParams.get('range')).key)));
  r.get('/fragment/monitoring-logs', 'view', async (ctx) => sendHtml(ctx, 200, await logsSection(d, logQuery(ctx))));
}
