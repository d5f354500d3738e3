/**
 * Our own SVG plots, rendered on the server (no plotting library, no CDN): time-series with a min–max
 * band per downsampled bucket, and light curves (magnitude vs time since T0, log time axis, error bars).
 * Output is plain SVG markup built from numbers and escaped labels; colours are presentation
 * attributes (the Content-Security-Policy forbids inline style attributes).
 */
import { escapeHtml } from '../http/html.ts';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export interface XY {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}

export interface PlotSeries {
  label: string;
  points: XY[];
  color?: string;
}

export interface ChartOptions {
  title: string;
  unit?: string;
  width?: number;
  height?: number;
  xType?: 'time' | 'linear' | 'log';
  xLabel?: string;
  invertY?: boolean;
  yMin?: number;
  yMax?: number;
  /** break the line where two points are further apart than this (x units) */
  gap?: number;
  /** 'line' (default) or 'points' with error bars */
  mode?: 'line' | 'points';
  id?: string;
}

let clipCounter = 0;
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** "Nice" tick values covering [lo, hi] (Heckbert's algorithm). */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const nice = (x: number, round: boolean) => {
    const e = Math.floor(Math.log10(x));
    const f = x / 10 ** e;
    const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * 10 ** e;
  };
  const step = nice(nice(hi - lo, false) / Math.max(1, n - 1), true);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Ticks of a log axis: 1, 2, 5 × 10^k inside [lo, hi], thinned to the decades when too many. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (v >= lo && v <= hi) out.push(v);
  }
  if (out.length > 8) return out.filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
  if (out.length < 2) return niceTicks(lo, hi, 4).filter((v) => v > 0);
  return out;
}

const TIME_STEPS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400].map((s) => s * 1000);

export function timeTicks(lo: number, hi: number, n = 6): { t: number; label: string }[] {
  const span = hi - lo;
  const step = TIME_STEPS.find((s) => span / s <= n) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const out: { t: number; label: string }[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
    const iso = new Date(t).toISOString();
    const label = step >= 86400_000 ? iso.slice(5, 10) : span > 86400_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : step < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
    out.push({ t, label });
  }
  return out;
}

function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Math.round(v * 1e6) / 1e6);
}

export function chart(series: PlotSeries[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 240;
  const m = { l: 56, r: 12, t: 26, b: 34 };
  // legend above the plot area, wrapped into rows
  const legend: { x: number; row: number; label: string; color: string }[] = [];
  if (series.length > 1 || o.mode === 'points') {
    let lx = m.l;
    let row = 0;
    series.forEach((s, i) => {
      const w = 24 + s.label.length * 6;
      if (lx + w > W - m.r && lx > m.l) {
        lx = m.l;
        row++;
      }
      legend.push({ x: lx, row, label: s.label, color: s.color ?? PALETTE[i % PALETTE.length] });
      lx += w;
    });
    m.t += 13 * (row + 1);
  }
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xType = o.xType ?? 'time';
  const tx = (x: number) => (xType === 'log' ? Math.log10(Math.max(x, 1e-9)) : x);
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const title = escapeHtml(o.title + (o.unit ? ` (${o.unit})` : ''));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}"${o.id ? ` id="${escapeHtml(o.id)}"` : ''} data-points="${all.length}">`;
  const titleEl = `<text class="plot-title" x="${m.l}" y="16" font-size="13" font-weight="600" fill="#222">${title}</text>`;
  if (!all.length) {
    return `${head}<title>${title}</title>${titleEl}<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ddd"/><text x="${m.l + pw / 2}" y="${m.t + ph / 2}" text-anchor="middle" fill="#888" font-size="12">no data in this window</text></svg>`;
  }
  let x0 = Math.min(...all.map((p) => tx(p.x)));
  let x1 = Math.max(...all.map((p) => tx(p.x)));
  if (x1 === x0) {
    x0 -= xType === 'time' ? 60_000 : xType === 'log' ? 0.1 : 1;
    x1 += xType === 'time' ? 60_000 : xType === 'log' ? 0.1 : 1;
  } else if (xType !== 'time') {
    const pad = (x1 - x0) * 0.03;
    x0 -= pad;
    x1 += pad;
  }
  let y0 = o.yMin ?? Math.min(...all.map((p) => Math.min(p.y, p.lo ?? p.y)));
  let y1 = o.yMax ?? Math.max(...all.map((p) => Math.max(p.y, p.hi ?? p.y)));
  if (y1 === y0) {
    y0 -= Math.abs(y0) * 0.05 || 1;
    y1 += Math.abs(y1) * 0.05 || 1;
  } else if (o.yMin === undefined && o.yMax === undefined) {
    const pad = (y1 - y0) * 0.06;
    y0 -= pad;
    y1 += pad;
  }
  const X = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => (o.invertY ? m.t + ((y - y0) / (y1 - y0)) * ph : m.t + ph - ((y - y0) / (y1 - y0)) * ph);
  const parts: string[] = [head, `<title>${title}</title>`, titleEl];
  parts.push(`<rect class="plot-area" x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#fff" stroke="#ccc"/>`);
  // y grid and ticks
  for (const v of niceTicks(y0, y1, 5)) {
    const y = f1(Y(v));
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.l - 6}" y="${y}" dy="4" text-anchor="end" font-size="10" fill="#555">${fmtTick(v)}</text>`);
  }
  // x ticks
  if (xType === 'time') {
    for (const { t, label } of timeTicks(x0, x1)) {
      const x = f1(X(t));
      parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#f2f2f2"/><text x="${x}" y="${m.t + ph + 14}" text-anchor="middle" font-size="10" fill="#555">${label}</text>`);
    }
  } else {
    const ticks = xType === 'log' ? logTicks(10 ** x0, 10 ** x1) : niceTicks(x0, x1, 6);
    for (const v of ticks) {
      const x = f1(X(v));
      parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#f2f2f2"/><text x="${x}" y="${m.t + ph + 14}" text-anchor="middle" font-size="10" fill="#555">${fmtTick(v)}</text>`);
    }
  }
  if (o.xLabel) parts.push(`<text x="${m.l + pw}" y="${H - 4}" text-anchor="end" font-size="10" fill="#555">${escapeHtml(o.xLabel)}</text>`);
  const clip = `clip${++clipCounter}`;
  parts.push(`<defs><clipPath id="${clip}"><rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}"/></clipPath></defs><g clip-path="url(#${clip})">`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (!pts.length) return;
    if (o.mode === 'points') {
      const g: string[] = [];
      for (const p of pts) {
        const x = f1(X(p.x));
        if (p.lo !== undefined && p.hi !== undefined) g.push(`<line x1="${x}" x2="${x}" y1="${f1(Y(p.lo))}" y2="${f1(Y(p.hi))}" stroke="${color}"/>`);
        g.push(`<circle cx="${x}" cy="${f1(Y(p.y))}" r="3" fill="${color}"/>`);
      }
      parts.push(`<g class="series" data-label="${escapeHtml(s.label)}">${g.join('')}</g>`);
      return;
    }
    // split into runs at gaps
    const runs: XY[][] = [[]];
    for (let k = 0; k < pts.length; k++) {
      if (k > 0 && o.gap && pts[k].x - pts[k - 1].x > o.gap) runs.push([]);
      runs[runs.length - 1].push(pts[k]);
    }
    const g: string[] = [];
    for (const run of runs) {
      if (run.some((p) => p.lo !== undefined && p.hi !== undefined && p.hi > p.lo)) {
        const top = run.map((p) => `${f1(X(p.x))},${f1(Y(p.hi ?? p.y))}`);
        const bot = run.map((p) => `${f1(X(p.x))},${f1(Y(p.lo ?? p.y))}`).reverse();
        g.push(`<polygon class="band" points="${top.concat(bot).join(' ')}" fill="${color}" fill-opacity="0.15" stroke="none"/>`);
      }
      if (run.length === 1) g.push(`<circle cx="${f1(X(run[0].x))}" cy="${f1(Y(run[0].y))}" r="2" fill="${color}"/>`);
      else g.push(`<polyline points="${run.map((p) => `${f1(X(p.x))},${f1(Y(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    parts.push(`<g class="series" data-label="${escapeHtml(s.label)}">${g.join('')}</g>`);
  });
  parts.push('</g>');
  for (const l of legend) {
    const y = 22 + 13 * l.row;
    parts.push(`<rect x="${l.x}" y="${y}" width="10" height="10" fill="${l.color}"/><text x="${l.x + 14}" y="${y + 9}" font-size="10" fill="#333">${escapeHtml(l.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
