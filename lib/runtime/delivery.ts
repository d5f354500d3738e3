/**
 * The last steps of the runner's chain (arroyo's Produce → CommitOffsets): what "done" means for a
 * unit of work, per delivery mode. A unit is a chunk of one partition (or a punctuation): its outputs
 * (DLQ included), its changelog entries and the next offset of its input.
 *
 * - At-least-once (`AtLeastOnce`): outputs acknowledged by all in-sync replicas, then the changelog
 *   entries, then the offset. A crash before the offset re-runs the chunk: outputs must be
 *   deterministic (downstream deduplicates by key and revision), and a state entry never claims work
 *   whose outputs were not acknowledged. Units are pipelined — the next chunk is processed while this
 *   one is written — and written in order.
 * - Exactly-once (`Transactional`): outputs, changelog entries and the offset in one Kafka
 *   transaction; consumers read committed records only.
 *
 * A commit refused because the group moved on is not an error: the new owner re-processes from the
 * last accepted commit.
 */
import type { BrokerProducer, GroupConsumer, OutRecord, TopicRecords } from './broker/types.ts';
import { RebalanceError } from './broker/types.ts';
import type { Logger } from './log.ts';

export interface WorkUnit {
  /** physical topic → records (outputs and dead letters) */
  outputs: Map<string, OutRecord[]>;
  /** changelog records (physical topic, explicit partitions) */
  changelog: TopicRecords | null;
  /** the input's next offset, when the unit consumed input */
  commit: { topic: string; partition: number; offset: string } | null;
}

export type Retry = <R>(what: string, fn: () => Promise<R>) => Promise<R>;

export interface Delivery {
  /** Starts writing a unit after the ones before it. */
  enqueue(u: WorkUnit, retry: Retry): void;
  /** Resolves when every enqueued unit is written; rejects with the first failure. */
  drain(): Promise<void>;
}

const batches = (m: Map<string, OutRecord[]>): TopicRecords[] => [...m].filter(([, r]) => r.length).map(([topic, records]) => ({ topic, records }));

abstract class Pipelined implements Delivery {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  constructor(protected readonly counters: { committed: number }) {}

  enqueue(u: WorkUnit, retry: Retry): void {
    const prev = this.tail;
    this.tail = (async () => {
      await prev;
      await this.write(u, retry);
    })();
    this.tail.catch((e) => (this.failure ??= e));
  }

  async drain(): Promise<void> {
    await this.tail.catch(() => {});
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      this.tail = Promise.resolve();
      throw f;
    }
  }

  protected abstract write(u: WorkUnit, retry: Retry): Promise<void>;
}

export class AtLeastOnce extends Pipelined {
  constructor(
    private readonly producer: BrokerProducer,
    private readonly consumer: () => GroupConsumer | null,
    private readonly log: Logger,
    counters: { committed: number },
    private readonly fault?: () => void,
  ) {
    super(counters);
  }

  protected async write(u: WorkUnit, retry: Retry): Promise<void> {
    const out = batches(u.outputs);
    if (out.length) await retry('produce', () => this.producer.send(out));
    if (u.changelog?.records.length) await retry('changelog', () => this.producer.send([u.changelog!]));
    this.fault?.();
    if (!u.commit) return;
    const c = u.commit;
    try {
      await retry('commit', async () => {
        const consumer = this.consumer();
        if (!consumer) throw new RebalanceError('no consumer');
        await consumer.commit([c]);
      });
      this.counters.committed++;
    } catch (e) {
      if (!(e instanceof RebalanceError)) throw e;
      this.log.warn('commit refused after a rebalance; the new owner re-processes', { topic: c.topic, partition: c.partition, offset: c.offset, error: e.message });
    }
  }
}

export class Transactional extends Pipelined {
  constructor(
    private readonly producer: BrokerProducer,
    private readonly groupId: string,
    counters: { committed: number },
    private readonly fault?: () => void,
  ) {
    super(counters);
  }

  protected async write(u: WorkUnit, retry: Retry): Promise<void> {
    const all = batches(u.outputs);
    if (u.changelog?.records.length) all.push(u.changelog);
    if (!all.length && !u.commit) return;
    await retry('transaction', () => this.producer.sendInTransaction(all, u.commit ? { groupId: this.groupId, offsets: [u.commit] } : null, { afterSend: this.fault }));
    if (u.commit) this.counters.committed++;
  }
}
