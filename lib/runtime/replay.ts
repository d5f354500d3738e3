/**
 * Replay support: copy a range of a recorded topic into another run namespace, byte for byte
 * (keys, values, headers and timestamps unchanged). Values stay valid: a Confluent-framed message
 * names a global schema id, which decodes under any subject of the same registry.
 *
 * Ranges: offsets [from, to] per partition, or timestamps [fromTime, toTime] (ms, inclusive);
 * the end defaults to the high watermark seen when the copy starts, so a live topic still ends.
 */
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { randomBytes } from 'node:crypto';

export interface Range {
  fromOffset?: number;
  toOffset?: number;
  fromTime?: number;
  toTime?: number;
}

export interface CopyResult {
  source: string;
  target: string;
  copied: number;
  partitions: { partition: number; from: string; to: string; copied: number }[];
}

/** Start/end offsets per partition for a range. End is exclusive. */
export async function resolveRange(admin: Admin, topic: string, range: Range): Promise<Map<number, { start: bigint; end: bigint }>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const out = new Map<number, { start: bigint; end: bigint }>();
  // fetchTopicOffsetsByTimestamp returns the high watermark when nothing is at or after the time
  const byTime = async (ts: number) => new Map((await admin.fetchTopicOffsetsByTimestamp(topic, ts)).map((p) => [p.partition, BigInt(p.offset)]));
  const fromT = range.fromTime !== undefined ? await byTime(range.fromTime) : undefined;
  const toT = range.toTime !== undefined ? await byTime(range.toTime + 1) : undefined;
  for (const p of offsets) {
    const low = BigInt(p.low);
    const high = BigInt(p.high);
    let start = low;
    let end = high;
    if (range.fromOffset !== undefined) start = BigInt(range.fromOffset) > low ? BigInt(range.fromOffset) : low;
    if (range.toOffset !== undefined) end = BigInt(range.toOffset) + 1n < high ? BigInt(range.toOffset) + 1n : high;
    if (fromT) start = fromT.get(p.partition) ?? high;
    if (toT) end = toT.get(p.partition) ?? high;
    out.set(p.partition, { start, end: end < start ? start : end });
  }
  return out;
}

export async function copyTopic(kafka: Kafka, source: string, target: string, range: Range = {}, log: (s: string) => void = () => {}): Promise<CopyResult> {
  const admin = kafka.admin();
  await admin.connect();
  const bounds = await resolveRange(admin, source, range);
  await admin.disconnect();
  const total = [...bounds.values()].reduce((s, b) => s + Number(b.end - b.start), 0);
  const result: CopyResult = { source, target, copied: 0, partitions: [...bounds.entries()].map(([partition, b]) => ({ partition, from: String(b.start), to: String(b.end - 1n), copied: 0 })) };
  if (total === 0) return result;
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `gft-replay-${randomBytes(6).toString('hex')}` });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: source, fromBeginning: true });
  const remaining = new Map([...bounds.entries()].filter(([, b]) => b.end > b.start));
  await new Promise<void>((resolve, reject) => {
    // the end of a partition is seen from end-of-batch events: a transactional topic ends with a
    // commit marker that is never handed to eachBatch (lib/runtime/readToEnd.ts)
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const b = bounds.get(payload.partition);
      if (b && BigInt(payload.lastOffset) + 1n >= b.end) remaining.delete(payload.partition);
      if (!remaining.size) resolve();
    });
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          const b = bounds.get(batch.partition)!;
          const keep: KafkaMessage[] = batch.messages.filter((m) => BigInt(m.offset) >= b.start && BigInt(m.offset) < b.end);
          if (keep.length) {
            await producer.send({ topic: target, acks: -1, messages: keep.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp })) });
            result.copied += keep.length;
            result.partitions.find((p) => p.partition === batch.partition)!.copied += keep.length;
            log(`replay: ${source} → ${target}: ${result.copied}/${total}`);
          }
          const last = batch.messages[batch.messages.length - 1];
          if (last) resolveOffset(last.offset);
          if (last && BigInt(last.offset) + 1n >= b.end) remaining.delete(batch.partition);
          if (!remaining.size) resolve();
        },
      })
      .then(() => {
        // seek each partition to its range start once assigned
        for (const [partition, b] of bounds) consumer.seek({ topic: source, partition, offset: String(b.start) });
      })
      .catch(reject);
  });
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}
