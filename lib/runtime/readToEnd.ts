/**
 * Reads topics from the beginning up to their end as it was when the read started (the high
 * watermarks then), read-committed, with a private throw-away consumer group. For state rebuilds
 * and run comparisons, not for stages.
 *
 * The end is recognised from kafkajs' end-of-batch events, not from the messages delivered: a fetch
 * that holds only commit/abort markers or records of an aborted transaction is never handed to
 * eachBatch, so a log ending with one (any transactional producer's topic) would never be seen to end.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadToEndOptions {
  /** Give up (reject) after this long. Default 120 s. */
  timeoutMs?: number;
  /** Fetch size limits (tests force small fetches with them). */
  maxBytesPerPartition?: number;
  /** Prefix of the throw-away group id. */
  groupPrefix?: string;
}

export async function readToEnd(kafka: Kafka, topics: string[], onMessage: (topic: string, message: KafkaMessage) => void | Promise<void>, opts: ReadToEndOptions = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const high = new Map<string, bigint>();
  const left = new Set<string>();
  try {
    for (const t of topics) {
      for (const o of await admin.fetchTopicOffsets(t).catch(() => [])) {
        high.set(`${t}/${o.partition}`, BigInt(o.high));
        if (BigInt(o.high) > BigInt(o.low)) left.add(`${t}/${o.partition}`);
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (!left.size) return;
  const limits = opts.maxBytesPerPartition ? { maxBytesPerPartition: opts.maxBytesPerPartition, maxBytes: opts.maxBytesPerPartition } : {};
  const consumer = kafka.consumer({ groupId: `${opts.groupPrefix ?? 'read-to-end'}-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200, ...limits });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const t of topics) await consumer.subscribe({ topic: t, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 120_000;
      timer = setTimeout(() => reject(new Error(`${[...left].join(', ')} not read to the end within ${timeoutMs} ms`)), timeoutMs);
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const k = `${payload.topic}/${payload.partition}`;
        if (BigInt(payload.lastOffset) + 1n >= (high.get(k) ?? 0n)) left.delete(k);
        if (!left.size) resolve();
      });
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const end = high.get(`${batch.topic}/${batch.partition}`) ?? 0n;
            for (const m of batch.messages) if (BigInt(m.offset) < end) await onMessage(batch.topic, m);
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
