/**
 * The ClickHouse sink: consumes telemetry, logs and stage metrics and inserts them in batches
 * (≥ 1000 rows or 1 s, whichever first). Idempotent on redelivery through the tables' identities
 * and versions (see migrations.ts: `version` = the Kafka record's timestamp, so copies of a record
 * are one row). A flush inserts the rows, then recomputes the one-minute rollup of the minutes its
 * telemetry touched (rollup.ts), and only then are the offsets committed (the runner's sink mode):
 * a batch inserted twice (crash between insert and commit, replay) is counted once in both.
 */
import type { StageDefinition, InMessage } from '../../lib/runtime/runner.ts';
import type { ClickHouse } from './client.ts';
import { clusterDdl, type ClusterDdl } from './cluster.ts';
import { refreshRollup, writeSettings } from './rollup.ts';

interface TelemetryValue { source: string; time: number; metrics: Record<string, number>; state: string }
interface LogValue { time: number; level: string; stage: string; instance: string; message: string; fields: Record<string, string> }
interface MetricsValue {
  stage: string; instance: string; time: number; intervalMs: number; messagesIn: number; messagesOut: number; messagesDlq: number;
  retries: number; lag: number; processingMsP50: number; processingMsP99: number;
  busyMs?: number; stoppedPartitions?: number; stateKeys?: number; stateBytes?: number; burstsHeld?: number; cacheBytes?: number; rssBytes?: number;
}

const secs = (ms: number) => Math.floor(ms / 1000);
/** The row's version: the Kafka record's timestamp (ms), the same for every delivery of the record. */
const version = (m: InMessage) => (Number.isFinite(m.timestamp) && m.timestamp > 0 ? Math.floor(m.timestamp) : 0);

export function toRows(messages: InMessage[]): Record<string, Record<string, unknown>[]> {
  const tables: Record<string, Record<string, unknown>[]> = { telemetry: [], logs: [], stage_metrics: [] };
  for (const m of messages) {
    if (m.topic === 'ops.telemetry') {
      const v = m.value as TelemetryValue;
      for (const [metric, value] of Object.entries(v.metrics)) {
        if (!Number.isFinite(value)) continue;
        tables.telemetry.push({ source: v.source, metric, time: secs(v.time), ms: v.time % 1000, value, state: v.state, version: version(m) });
      }
    } else if (m.topic === 'ops.logs') {
      const v = m.value as LogValue;
      tables.logs.push({ time: secs(v.time), ms: v.time % 1000, level: v.level, stage: v.stage, instance: v.instance, message: v.message, fields: JSON.stringify(v.fields), kafka_id: `${m.partition}:${m.offset}`, version: version(m) });
    } else if (m.topic === 'ops.metrics') {
      const v = m.value as MetricsValue;
      tables.stage_metrics.push({
        stage: v.stage, instance: v.instance, time: secs(v.time), ms: v.time % 1000, interval_ms: v.intervalMs, messages_in: v.messagesIn,
        messages_out: v.messagesOut, messages_dlq: v.messagesDlq, retries: v.retries, lag: v.lag, processing_ms_p50: v.processingMsP50, processing_ms_p99: v.processingMsP99,
        version: version(m), busy_ms: v.busyMs ?? 0, stopped_partitions: v.stoppedPartitions ?? 0, state_keys: v.stateKeys ?? 0, state_bytes: v.stateBytes ?? 0,
        bursts_held: v.burstsHeld ?? 0, cache_bytes: v.cacheBytes ?? 0, rss_bytes: v.rssBytes ?? 0,
      });
    }
  }
  return tables;
}

export function clickhouseSink(ch: ClickHouse, opts: { maxRows?: number; maxMs?: number; name?: string; cluster?: ClusterDdl | null } = {}): StageDefinition {
  const cluster = opts.cluster === undefined ? clusterDdl() : opts.cluster;
  return {
    name: opts.name ?? 'clickhouse-sink',
    inputs: ['ops.telemetry', 'ops.logs', 'ops.metrics'],
    outputs: [],
    sink: {
      maxRows: opts.maxRows ?? 1000,
      maxMs: opts.maxMs ?? 1000,
      async flush(messages) {
        await flushRows(ch, toRows(messages), cluster);
      },
    },
  };
}

/** Inserts the rows of a batch, then refreshes the rollup minutes of its telemetry (what a flush does). */
export async function flushRows(ch: ClickHouse, tables: Record<string, Record<string, unknown>[]>, cluster: ClusterDdl | null = null): Promise<void> {
  await Promise.all(Object.entries(tables).map(([table, rows]) => ch.insert(table, rows, writeSettings(cluster))));
  await refreshRollup(ch, tables.telemetry as { source: string; metric: string; time: number }[], { cluster });
}
