/**
 * Kafka wiring of the ops simulators (stage `ops-sim` in lib/runtime/topology.ts): they are sources,
 * not consumers, so they produce through TopicProducer (Avro through the registry, acks=all,
 * namespaced topic) to `ops.telemetry`, key = source. The ClickHouse sink (connectors/clickhouse)
 * turns each record into one row per metric of `telemetry`.
 *
 * The Kafka timestamp is the wall-clock send time, not the event time: the topic's 7-day retention
 * works on timestamps, and a backfill of an old night must not be deleted on arrival. The event
 * time travels in the record (`time`).
 */
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { platformConfig, type PlatformConfig } from '../../lib/config/platform.ts';
import type { TelemetryValue } from './core/samples.ts';

export const TOPIC = 'ops.telemetry';
export const STAGE = 'ops-sim';

export interface TelemetryOut {
  send(records: TelemetryValue[]): Promise<void>;
  close(): Promise<void>;
}

export function kafkaTelemetryOut(namespace?: string, cfg: PlatformConfig = platformConfig()): TelemetryOut {
  const p = new TopicProducer(namespace ?? cfg.namespace, cfg, STAGE);
  return {
    async send(records) {
      for (let i = 0; i < records.length; i += 5000) {
        await p.send(TOPIC, records.slice(i, i + 5000).map((r) => ({ key: r.source, value: r })));
      }
    },
    close: () => p.disconnect(),
  };
}

export function stdoutTelemetryOut(write: (s: string) => void = (s) => process.stdout.write(s)): TelemetryOut {
  return {
    async send(records) {
      write(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    },
    async close() {},
  };
}
