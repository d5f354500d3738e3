/**
 * The telemetry producer loop: ticks at `rate` per wall-clock second; tick k carries event time
 * `start + k × speed / rate` seconds, so `--speed 60` plays an hour of telemetry per minute and the
 * samples do not depend on how late a tick fires (no drift, no Date.now() in the simulated values).
 * Unpaced (`pace: false`) runs produce as fast as the sink accepts, in batches: a backfill.
 *
 * Host monitoring is real (this machine), sampled at wall-clock time on paced runs only.
 * Contract of `send`: resolves once the records are acknowledged (TopicProducer: acks=all); a
 * rejection stops the loop and is rethrown by `run` (the CLI exits non-zero).
 */
import { telemetryAt, type SourceName, type TelemetryValue } from './core/samples.ts';
import type { HostMonitor } from './hostMonitor.ts';

export type Source = SourceName | 'host';
export const ALL_SOURCES: Source[] = ['tcs', 'weather', 'host'];

export interface SimulatorOptions {
  sources: Source[];
  seed: number;
  /** event time of tick 0, Unix ms */
  start: number;
  /** ticks per wall-clock second (paced runs) */
  rate: number;
  /** event seconds per wall-clock second */
  speed: number;
  /** ticks to produce (undefined: until aborted) */
  count?: number;
  pace: boolean;
  /** ticks per send on unpaced runs */
  batch?: number;
  host?: HostMonitor;
  send(records: TelemetryValue[]): Promise<void>;
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SimulatorResult {
  ticks: number;
  records: number;
  lastEventTime: number;
}

/** Event time of tick k. */
export function tickTime(o: Pick<SimulatorOptions, 'start' | 'rate' | 'speed'>, k: number): number {
  return o.start + Math.round((k * o.speed * 1000) / o.rate);
}

/** The simulated (deterministic) records of tick k. */
export function tickRecords(o: Pick<SimulatorOptions, 'start' | 'rate' | 'speed' | 'seed' | 'sources'>, k: number): TelemetryValue[] {
  const t = tickTime(o, k);
  const out: TelemetryValue[] = [];
  for (const s of o.sources) if (s !== 'host') out.push(telemetryAt(s, t, o.seed));
  return out;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runSimulator(o: SimulatorOptions): Promise<SimulatorResult> {
  if (!(o.rate > 0)) throw new Error('rate must be > 0');
  if (!(o.speed > 0)) throw new Error('speed must be > 0');
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => defaultSleep(ms, o.signal));
  const res: SimulatorResult = { ticks: 0, records: 0, lastEventTime: o.start };
  const limit = o.count ?? Infinity;
  const wallStart = now();
  let k = 0;
  while (k < limit && !o.signal?.aborted) {
    if (!o.pace) {
      const n = Math.min(o.batch ?? 1000, limit - k);
      const recs: TelemetryValue[] = [];
      for (let i = 0; i < n; i++) recs.push(...tickRecords(o, k + i));
      if (recs.length) await o.send(recs);
      res.records += recs.length;
      k += n;
      res.ticks = k;
      res.lastEventTime = tickTime(o, k - 1);
      continue;
    }
    const due = wallStart + (k * 1000) / o.rate;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    if (o.signal?.aborted) break;
    const recs = tickRecords(o, k);
    if (o.host && o.sources.includes('host')) recs.push(o.host.sample(now()));
    if (recs.length) await o.send(recs);
    res.records += recs.length;
    res.lastEventTime = tickTime(o, k);
    k++;
    res.ticks = k;
  }
  return res;
}
