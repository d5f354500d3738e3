/** Shared helpers for benchmarks: repeated timing with warm-up, a reference-python runner, formatting. */
import { spawnSync } from 'node:child_process';

export interface Timing {
  runs: number;
  medianMs: number;
  minMs: number;
}

export async function time(fn: () => unknown | Promise<unknown>, opts: { runs?: number; warmup?: number } = {}): Promise<Timing> {
  const runs = opts.runs ?? 5;
  for (let i = 0; i < (opts.warmup ?? 1); i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { runs, medianMs: t[Math.floor(t.length / 2)], minMs: t[0] };
}

/** Runs Debian's python (which sees python3-numpy/astropy) on a script; returns stdout parsed as JSON. */
export function python<T = unknown>(script: string, args: string[] = []): T {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python reference failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as T;
}

export function ratio(ours: number, reference: number): string {
  return (ours / reference).toFixed(2) + 'x';
}

export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]);
  const w = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(w[i])).join('  ');
  return [line(keys), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(keys.map((k) => String(r[k]))))].join('\n');
}

/** Runs fn with console.log/error silenced (a command's own output, when a bench times it). */
export async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const [log, err] = [console.log, console.error];
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = err;
  }
}
