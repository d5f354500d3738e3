/**
 * Weather and telescope status pages: latest values and downsampled time-series plots from
 * `telemetry` (see data/telemetry.ts). Each section is also a fragment (`/fragment/…`) that the live
 * script re-fetches when new telemetry arrives.
 */
import { weatherUnsafe, type WeatherSample } from '../../streams/ops/core/weather.ts';
import type { Deps } from '../deps.ts';
import { sendHtml, type Ctx } from '../http/context.ts';
import { fmtNum, fmtTime, html, qs, type SafeHtml, trusted } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { chart, type PlotSeries } from '../plot/svg.ts';
import { rangeOf, type LatestValue, type Series } from '../data/telemetry.ts';
import { live, page, rangeLinks } from './layout.ts';

export const UNITS: Record<string, [string, number]> = {
  temperature: ['°C', 1], dewPoint: ['°C', 1], humidity: ['%', 0], windSpeed: ['m/s', 1], windGust: ['m/s', 1], windDirection: ['°', 0],
  pressure: ['hPa', 1], skyQuality: ['mag/arcsec²', 2], cloudCover: ['', 2], rain: ['', 0], rainRate: ['mm/h', 1],
  ra: ['°', 4], dec: ['°', 4], alt: ['°', 2], az: ['°', 2], ha: ['°', 2], airmass: ['', 3], domeAz: ['°', 1], domeShutter: ['', 0],
  focus: ['µm', 1], ccdTemp: ['°C', 2], coolerPower: ['%', 0], followUp: ['', 0],
  cpuPct: ['%', 1], memUsedPct: ['%', 1], diskUsedPct: ['%', 1], load1: ['', 2], load5: ['', 2], memUsedMB: ['MB', 0], diskFreeGB: ['GB', 1],
};

export interface PlotGroup {
  title: string;
  unit?: string;
  metrics: string[];
  mode?: 'line' | 'points';
  invertY?: boolean;
}

export const WEATHER_PLOTS: PlotGroup[] = [
  { title: 'Temperature and dew point', unit: '°C', metrics: ['temperature', 'dewPoint'] },
  { title: 'Relative humidity', unit: '%', metrics: ['humidity'] },
  { title: 'Wind speed and gusts', unit: 'm/s', metrics: ['windSpeed', 'windGust'] },
  { title: 'Wind direction', unit: '°', metrics: ['windDirection'], mode: 'points' },
  { title: 'Pressure', unit: 'hPa', metrics: ['pressure'] },
  { title: 'Sky quality', unit: 'mag/arcsec²', metrics: ['skyQuality'] },
  { title: 'Rain rate', unit: 'mm/h', metrics: ['rainRate'] },
  { title: 'Cloud cover', unit: 'fraction', metrics: ['cloudCover'] },
];

export const TELESCOPE_PLOTS: PlotGroup[] = [
  { title: 'Altitude', unit: '°', metrics: ['alt'] },
  { title: 'Azimuth: telescope and dome', unit: '°', metrics: ['az', 'domeAz'], mode: 'points' },
  { title: 'Airmass', metrics: ['airmass'], invertY: true },
  { title: 'Focus', unit: 'µm', metrics: ['focus'] },
  { title: 'CCD temperature', unit: '°C', metrics: ['ccdTemp'] },
  { title: 'Cooler power and dome shutter', unit: '%, 0/1', metrics: ['coolerPower', 'domeShutter'] },
];

export function toPlotSeries(series: Series[]): PlotSeries[] {
  return series.map((s) => ({ label: s.metric, points: s.points.map((p) => ({ x: p.t, y: p.avg, lo: p.min, hi: p.max })) }));
}

/** Charts of one source over a window ending at its latest sample. */
export async function plotsFor(d: Deps, source: string, groups: PlotGroup[], rangeKey: string | null): Promise<SafeHtml> {
  const r = rangeOf(rangeKey);
  const end = await d.telemetry.latestTime(source);
  if (end === null) return html`<p class="empty">No telemetry from ${source} yet.</p>`;
  const start = end - r.seconds * 1000;
  const all = await d.telemetry.series(source, groups.flatMap((g) => g.metrics), start, end, r.bucket);
  const by = new Map(all.map((s) => [s.metric, s]));
  const charts = groups.map((g) =>
    trusted(
      chart(toPlotSeries(g.metrics.map((m) => by.get(m)!)), {
        title: g.title,
        unit: g.unit,
        mode: g.mode,
        invertY: g.invertY,
        gap: r.bucket * 1000 * 2.5,
        id: `plot-${source.replace(/[^a-z0-9]/gi, '-')}-${g.metrics.join('-')}`,
      }),
    ),
  );
  return html`<p class="muted">${r.label} to ${fmtTime(end)} · ${r.bucket} s buckets (line: mean, band: min–max)</p><div class="grid">${charts.map((c) => html`<div class="card">${c}</div>`)}</div>`;
}

export function valueOf(latest: LatestValue[], metric: string): number | null {
  const v = latest.find((l) => l.metric === metric);
  return v ? v.value : null;
}

export function fmtMetric(metric: string, v: number | null): string {
  const [unit, digits] = UNITS[metric] ?? ['', 2];
  return v === null ? '—' : `${fmtNum(v, digits)}${unit ? ` ${unit}` : ''}`;
}

export function tiles(latest: LatestValue[], metrics: string[], labels: Record<string, string> = {}): SafeHtml {
  return html`<div class="tiles">${metrics.map(
    (m) => html`<div class="tile" data-metric="${m}"><div class="k">${labels[m] ?? m}</div><div class="v">${fmtMetric(m, valueOf(latest, m))}</div></div>`,
  )}</div>`;
}

export async function weatherNow(d: Deps): Promise<SafeHtml> {
  const latest = await d.telemetry.latest('weather');
  if (!latest.length) return html`<p class="empty">No weather data yet.</p>`;
  const w = Object.fromEntries(latest.map((l) => [l.metric, l.value])) as unknown as WeatherSample;
  const unsafe = weatherUnsafe(w);
  return html`<p>As of ${fmtTime(Math.max(...latest.map((l) => l.time)))} · ${unsafe ? html`<span class="badge error" id="weather-verdict">dome must stay closed: ${unsafe}</span>` : html`<span class="badge ok" id="weather-verdict">safe to observe</span>`}</p>
${tiles(latest, ['temperature', 'humidity', 'dewPoint', 'windSpeed', 'windGust', 'windDirection', 'pressure', 'skyQuality', 'cloudCover', 'rainRate'], { temperature: 'Temperature', humidity: 'Humidity', dewPoint: 'Dew point', windSpeed: 'Wind', windGust: 'Gusts', windDirection: 'Wind from', pressure: 'Pressure', skyQuality: 'Sky quality', cloudCover: 'Cloud cover', rainRate: 'Rain' })}`;
}

export async function telescopeNow(d: Deps): Promise<SafeHtml> {
  const latest = await d.telemetry.latest('tcs');
  if (!latest.length) return html`<p class="empty">No TCS data yet.</p>`;
  const state = latest.find((l) => l.metric === 'alt')?.state ?? latest[0].state;
  const t = Math.max(...latest.map((l) => l.time));
  return html`<p>As of ${fmtTime(t)} · state <span class="badge ${state}" id="tcs-state">${state}</span>${valueOf(latest, 'followUp') ? html` <span class="badge warn">GRB follow-up</span>` : ''}</p>
${tiles(latest, ['ra', 'dec', 'alt', 'az', 'ha', 'airmass', 'domeAz', 'domeShutter', 'focus', 'ccdTemp', 'coolerPower'], { ra: 'RA', dec: 'Dec', alt: 'Altitude', az: 'Azimuth', ha: 'Hour angle', airmass: 'Airmass', domeAz: 'Dome azimuth', domeShutter: 'Shutter open', focus: 'Focus', ccdTemp: 'CCD temperature', coolerPower: 'Cooler power' })}`;
}

async function stateHistory(d: Deps, rangeKey: string | null): Promise<SafeHtml> {
  const r = rangeOf(rangeKey);
  const end = await d.telemetry.latestTime('tcs');
  if (end === null) return html``;
  const changes = await d.telemetry.stateChanges('tcs', 'alt', end - r.seconds * 1000, end, Math.max(30, Math.round(r.seconds / 3000)));
  return html`<table><thead><tr><th>since</th><th>state</th></tr></thead><tbody>${changes.map((c) => html`<tr><td>${fmtTime(c.time)}</td><td><span class="badge ${c.state}">${c.state}</span></td></tr>`)}</tbody></table>`;
}

export function registerTelemetryPages(r: Router, d: Deps): void {
  r.get('/weather', 'view', async (ctx: Ctx) => {
    const range = rangeOf(ctx.url.searchParams.get('range')).key;
    sendHtml(ctx, 200, page(ctx, {
      title: 'Weather',
      active: 'weather',
      body: html`<div class="card"><h2>Now</h2>${live('/fragment/weather-now', await weatherNow(d))}</div>
${rangeLinks('/weather', range)}${live(`/fragment/weather-plots${qs({ range })}`, await plotsFor(d, 'weather', WEATHER_PLOTS, range), 'weather-plots')}`,
    }));
  });
  r.get('/telescope', 'view', async (ctx: Ctx) => {
    const range = rangeOf(ctx.url.searchParams.get('range')).key;
    sendHtml(ctx, 200, page(ctx, {
      title: 'Telescope status',
      active: 'telescope',
      body: html`<div class="card"><h2>TCS now</h2>${live('/fragment/telescope-now', await telescopeNow(d))}</div>
${rangeLinks('/telescope', range)}${live(`/fragment/telescope-plots${qs({ range })}`, await plotsFor(d, 'tcs', TELESCOPE_PLOTS, range), 'telescope-plots')}
<div class="card"><h2>State changes</h2>${live(`/fragment/telescope-states${qs({ range })}`, await stateHistory(d, range))}</div>`,
    }));
  });
  r.get('/fragment/weather-now', 'view', async (ctx) => sendHtml(ctx, 200, await weatherNow(d)));
  r.get('/fragment/telescope-now', 'view', async (ctx) => sendHtml(ctx, 200, await telescopeNow(d)));
  r.get('/fragment/weather-plots', 'view', async (ctx) => sendHtml(ctx, 200, await plotsFor(d, 'weather', WEATHER_PLOTS, ctx.url.searchParams.get('range'))));
  r.get('/fragment/telescope-plots', 'view', async (ctx) => sendHtml(ctx, 200, await plotsFor(d, 'tcs', TELESCOPE_PLOTS, ctx.url.searchParams.get('range'))));
  r.get('/fragment/telescope-states', 'view', async (ctx) => sendHtml(ctx, 200, await stateHistory(d, ctx.url.searchParams.get('range'))));
}
