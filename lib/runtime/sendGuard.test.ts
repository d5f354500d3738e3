import { describe, expect, it } from 'vitest';
import type { Message, PartitionerArgs, ProducerBatch, RecordMetadata } from 'kafkajs';
import { SendGuard } from './sendGuard.ts';

const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: partitionId + 1, partitionErrorCode: 0, replicas: [1, 2, 3], isr: [1, 2, 3] }));

/** A stand-in for kafkajs' sendMessages: partitions each record, then answers for the partitions `answer` lets through. */
function fakeSend(guard: SendGuard, answer: (p: number, call: number) => boolean) {
  const partitioner = guard.createPartitioner();
  const calls: { topic: string; partition: number; value: string }[][] = [];
  const send = async (b: ProducerBatch): Promise<RecordMetadata[]> => {
    const call = calls.length;
    const written: { topic: string; partition: number; value: string }[] = [];
    const parts = new Set<string>();
    for (const tm of b.topicMessages!) {
      for (const m of tm.messages) {
        const p = partitioner({ topic: tm.topic, partitionMetadata, message: m } as PartitionerArgs);
        if (!answer(p, call)) continue; // the kafkajs bug: silently not sent
        written.push({ topic: tm.topic, partition: p, value: String(m.value) });
        parts.add(`${tm.topic}|${p}`);
      }
    }
    calls.push(written);
    return [...parts].map((k) => ({ topicName: k.split('|')[0], partition: Number(k.split('|')[1]), errorCode: 0 }));
  };
  return { send, calls };
}

const batch = (n: number): ProducerBatch => ({ acks: -1, topicMessages: [{ topic: 't', messages: Array.from({ length: n }, (_, i): Message => ({ key: `k${i}`, value: `v${i}` })) }] });

describe('SendGuard (kafkajs drops records of a partition that moved to a broker that already answered)', () => {
  it('resends exactly the records of the partitions missing from the result, pinned to them', async () => {
    const guard = new SendGuard();
    const { send, calls } = fakeSend(guard, (p, call) => call > 0 || p !== 0);
    const b = batch(30);
    await guard.sendBatch(send, b);
    expect(calls).toHaveLength(2);
    expect(calls[0].some((w) => w.partition === 0)).toBe(false);
    expect(calls[1].length).toBeGreaterThan(0);
    expect(calls[1].every((w) => w.partition === 0)).toBe(true);
    expect(guard.resent).toBe(calls[1].length);
    const all = calls.flat().map((w) => w.value).sort();
    expect(all).toEqual(b.topicMessages![0].messages.map((m) => String(m.value)).sort()); // every record once
  });

  it('sends once when nothing is missing; gives up with a retriable error when records keep being dropped', async () => {
    const guard = new SendGuard();
    const ok = fakeSend(guard, () => true);
    await guard.sendBatch(ok.send, batch(10));
    expect(ok.calls).toHaveLength(1);
    expect(guard.resent).toBe(0);

    const never = fakeSend(guard, (p) => p !== 1);
    const err = await guard.sendBatch(never.send, batch(10), 3).catch((e: unknown) => e);
    expect(err).toMatchObject({ retriable: true, code: 'kafka.records_dropped' });
    expect(never.calls).toHaveLength(3);
  });
});
