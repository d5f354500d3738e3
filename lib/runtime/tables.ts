/**
 * Topics every instance of a stage reads in full, outside the group assignment:
 *
 * - Global tables (Kafka Streams' GlobalKTable): the latest value per key of a small keyed topic
 *   (reference files, GP1 triggers). A stream partition joins with them correctly whichever instance
 *   holds it. `lookup` of a missing key reads the topic to its current end first, so a record produced
 *   before the one being handled (the reference file of a burst before its frames) is always found.
 * - The stage's changelog replica: every instance follows its stage's whole `<stage>.changelog`, so a
 *   partition assigned to it is restored from memory once the replica has read to the end (Kafka
 *   Streams' standby replicas, in their simplest form: the raw entries, not the stage's objects).
 *
 * Both read committed records only: entries of aborted transactions are never seen.
 */
import type { Broker, InRecord, TopicFollower } from './broker/types.ts';
import { NOT_READY } from './serdes.ts';
import type { Serdes } from './runner.ts';
import { StateStore } from './state.ts';

export interface GlobalTable<V> {
  /** The latest value of `key` read so far. */
  get(key: string): V | undefined;
  /** The latest value of `key`; when absent, read the topic to its current end first (undefined if still absent). */
  lookup(key: string): Promise<V | undefined>;
  keys(): string[];
  readonly size: number;
}

/** Decodes followed records in order (most synchronously; an unknown writer schema asynchronously). */
class DecodeQueue {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly serdes: Serdes,
    private readonly onError: (e: Error, topic: string, r: InRecord) => void,
  ) {}

  push<V>(topic: string, r: InRecord, reader: string, apply: (v: V | null) => void): void {
    if (r.value === null) {
      this.chain = this.chain.then(() => apply(null));
      return;
    }
    this.chain = this.chain.then(async () => {
      try {
        const fast = this.serdes.tryDecodeSync<V>(r.value, reader);
        apply(fast !== NOT_READY ? (fast as V) : await this.serdes.decode<V>(r.value, reader));
      } catch (e) {
        this.onError(e as Error, topic, r);
      }
    });
  }

  drained(): Promise<void> {
    return this.chain;
  }
}

export class TableSet {
  private readonly maps = new Map<string, Map<string, unknown>>();
  private readonly follower: TopicFollower | null;
  private readonly queue: DecodeQueue;

  constructor(
    broker: Broker,
    serdes: Serdes,
    private readonly o: { clientId: string; tables: Array<{ logical: string; physical: string; reader: string }>; warn: (m: string, f: Record<string, unknown>) => void },
  ) {
    this.queue = new DecodeQueue(serdes, (e, topic, r) => o.warn('table record skipped: cannot decode', { topic, offset: r.offset, error: e.message }));
    for (const t of o.tables) this.maps.set(t.logical, new Map());
    const byPhysical = new Map(o.tables.map((t) => [t.physical, t]));
    this.follower = o.tables.length
      ? broker.follower({
          clientId: `${o.clientId}-tables`,
          topics: o.tables.map((t) => t.physical),
          onRecord: (topic, _p, r) => {
            const t = byPhysical.get(topic)!;
            const key = r.key?.toString('utf8') ?? '';
            const m = this.maps.get(t.logical)!;
            this.queue.push(topic, r, t.reader, (v) => {
              if (v === null) m.delete(key);
              else m.set(key, v);
            });
          },
        })
      : null;
  }

  /** Starts following and reads every table to its end. */
  async start(timeoutMs?: number): Promise<void> {
    if (!this.follower) return;
    await this.follower.start();
    await this.caughtUp(undefined, timeoutMs);
  }

  async caughtUp(physical?: string[], timeoutMs?: number): Promise<void> {
    await this.follower?.caughtUp(physical, timeoutMs);
    await this.queue.drained();
  }

  table<V>(logical: string): GlobalTable<V> {
    const m = this.maps.get(logical) as Map<string, V> | undefined;
    if (!m) throw new Error(`'${logical}' is not a table of this stage (declare it in tables)`);
    const physical = this.o.tables.find((t) => t.logical === logical)!.physical;
    return {
      get: (key) => m.get(key),
      lookup: async (key) => {
        if (m.has(key)) return m.get(key);
        await this.caughtUp([physical]);
        return m.get(key);
      },
      keys: () => [...m.keys()],
      get size() {
        return m.size;
      },
    };
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }
}

/** The latest entry per key of every partition of a stage's changelog. */
export class ChangelogReplica {
  private readonly partitions = new Map<number, Map<string, string>>();
  private readonly follower: TopicFollower;
  private readonly queue: DecodeQueue;
  private started: Promise<void> | null = null;

  constructor(
    broker: Broker,
    serdes: Serdes,
    private readonly o: { clientId: string; topic: string; warn: (m: string, f: Record<string, unknown>) => void; maxBytesPerPartition?: number },
  ) {
    this.queue = new DecodeQueue(serdes, (e, topic, r) => o.warn('changelog entry skipped: cannot decode', { topic, offset: r.offset, error: e.message }));
    this.follower = broker.follower({
      clientId: `${o.clientId}-changelog`,
      topics: [o.topic],
      maxBytesPerPartition: o.maxBytesPerPartition,
      onRecord: (_t, partition, r) => {
        let m = this.partitions.get(partition);
        if (!m) this.partitions.set(partition, (m = new Map()));
        const key = r.key?.toString('utf8') ?? '';
        const map = m;
        this.queue.push<{ json: string }>(o.topic, r, 'org.gft.runtime.StateEntry', (v) => {
          if (v === null) map.delete(key);
          else map.set(key, v.json);
        });
      },
    });
  }

  start(): Promise<void> {
    return (this.started ??= this.follower.start());
  }

  /** The store of `partition` as the changelog has it once read to its current end. */
  async restore(partition: number, timeoutMs?: number): Promise<StateStore> {
    await this.start();
    await this.follower.caughtUp(undefined, timeoutMs);
    await this.queue.drained();
    return new StateStore(this.partitions.get(partition) ?? []);
  }

  async stop(): Promise<void> {
    if (this.started) await this.follower.stop();
  }
}
