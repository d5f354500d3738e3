/**
 * Simulated sources as `org.gft.ops.Telemetry` values (schemas/avro/ops/Telemetry.avsc): source, event
 * time (ms), metrics (name → double) and a state string. Pure: the same (source, time, seed) always
 * gives the same record.
 */
import { tcsSample } from './tcs.ts';
import { weatherSample } from './weather.ts';

export interface TelemetryValue {
  source: string;
  time: number;
  metrics: Record<string, number>;
  state: string;
}

export type SourceName = 'tcs' | 'weather';

export function telemetryAt(source: SourceName, ms: number, seed: number): TelemetryValue {
  if (source === 'tcs') {
    const s = tcsSample(ms, seed);
    return { source: 'tcs', time: ms, metrics: { ...s.metrics }, state: s.state };
  }
  const w = weatherSample(ms, seed);
  return { source: 'weather', time: ms, metrics: { ...w }, state: w.rain ? 'rain' : 'dry' };
}
