/**
 * Guard against a record-loss bug of kafkajs 2.2.4 on a leader change.
 *
 * kafkajs' producer (src/producer/sendMessages.js) remembers, across the retries of one send, which
 * *brokers* already answered. When a send spans several brokers and one of them fails (killed
 * broker), the retry looks up the new leaders; if a partition of the failed broker moved to a broker
 * that already answered in the first attempt, that partition's records are never sent, and the send
 * resolves as if they had been written (acks=all or not, transactional or not). Found by
 * deploy/cluster.test.ts on a 3-broker cluster (3 of 400 records lost on every run); the same flaw is
 * described in tulios/kafkajs pull request 1798 (open, kafkajs is unmaintained).
 *
 * The guard detects it from the send's own result: every partition a record was assigned to must be
 * in the returned RecordMetadata. Records of a missing partition are sent again, pinned to that
 * partition. Their idempotence sequence was rolled back by kafkajs when the failed attempt threw, so
 * the resend is written once; inside a transaction it joins the same transaction before commit.
 *
 * Use: `kafka.producer({ createPartitioner: guard.createPartitioner, … })`, then
 * `guard.sendBatch((b) => producer.sendBatch(b), batch)` (or a transaction's `sendBatch`).
 */
import kafkajs from 'kafkajs';
import type { ICustomPartitioner, Message, ProducerBatch, RecordMetadata, TopicMessages } from 'kafkajs';
import { retriable } from './errors.ts';

const { Partitioners } = kafkajs;

export class SendGuard {
  private readonly assigned = new WeakMap<object, number>();
  /** records sent again because kafkajs dropped them (for metrics and tests) */
  resent = 0;

  /** The default (Java-compatible murmur2) partitioner, remembering each record's partition. */
  readonly createPartitioner: ICustomPartitioner = () => {
    const inner = Partitioners.DefaultPartitioner();
    return (args) => {
      const p = inner(args);
      this.assigned.set(args.message, p);
      return p;
    };
  };

  /** Records of `batch` whose partition is absent from `results`, pinned to it. */
  missing(batch: ProducerBatch, results: RecordMetadata[]): TopicMessages[] {
    const answered = new Set(results.map((r) => `${r.topicName}\0${r.partition}`));
    const out: TopicMessages[] = [];
    for (const tm of batch.topicMessages ?? []) {
      const lost: Message[] = [];
      for (const m of tm.messages) {
        const p = m.partition ?? this.assigned.get(m); // pinned records (changelogs) are checked too
        if (p !== undefined && !answered.has(`${tm.topic}\0${p}`)) lost.push({ ...m, partition: p });
      }
      if (lost.length) out.push({ topic: tm.topic, messages: lost });
    }
    return out;
  }

  /**
   * `send(batch)` (a producer's or a transaction's sendBatch), then resends what kafkajs silently
   * dropped, up to `rounds` times; a retriable `kafka.records_dropped` error if records are still missing.
   * acks=0 sends have no result to check and go through unchanged.
   */
  async sendBatch(send: (b: ProducerBatch) => Promise<RecordMetadata[]>, batch: ProducerBatch, rounds = 5): Promise<RecordMetadata[]> {
    const all: RecordMetadata[] = [];
    let current = batch;
    for (let round = 0; ; round++) {
      const r = await send(current);
      all.push(...r);
      if (batch.acks === 0) return all;
      const lost = this.missing(current, r);
      if (!lost.length) return all;
      const n = lost.reduce((s, t) => s + t.messages.length, 0);
      if (round + 1 >= rounds) throw retriable('kafka.records_dropped', `kafkajs dropped ${n} record(s) of a send ${rounds} times (leader changes); not acknowledged`);
      this.resent += n;
      current = { ...batch, topicMessages: lost };
    }
  }
}
