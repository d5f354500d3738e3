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
import { classify, retriable } from './errors.ts';
import { systemClock, type Clock } from './clock.ts';

export interface GlobalTable<V> {
  /** The latest value of `key` read so far. */
  get(key: string): V | undefined;
  /** The latest value of `key`; when absent, read the topic to its current end first (undefined if still absent). */
  lookup(key: string): Promise<V | undefined>;
  keys(): string[];
  readonly size: number;
}

/**
 * Decodes followed records in order (most synchronously; an unknown writer schema asynchronously).
 * A record that cannot be decoded because the registry is away is retried until it can (the records
 * after it wait: a table never loses an entry to an outage); a record that is not Avro is skipped.
 */
class DecodeQueue {
  private chain: Promise<void> = Promise.resolve();
  stopped = false;
  constructor(
    private readonly serdes: Serdes,
    private readonly onError: (e: Error, topic: string, r: InRecord, willRetry: boolean) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  push<V>(topic: string, r: InRecord, reader: string, apply: (v: V | null) => void): void {
    if (r.value === null) {
      this.chain = this.chain.then(() => apply(null));
      return;
    }
    this.chain = this.chain.then(async () => {
      for (let attempt = 0, delay = 200; !this.stopped; attempt++, delay = Math.min(10_000, delay * 2)) {
        try {
          const fast = this.serdes.tryDecodeSync<V>(r.value, reader);
          apply(fast !== NOT_READY ? (fast as V) : await this.serdes.decode<V>(r.value, reader));
          return;
        } catch (e) {
          const again = classify(e).retriable;
          if (attempt === 0 || !again) this.onError(e as Error, topic, r, again);
          if (!again) return;
          await this.clock.sleep(delay);
        }
      }
    });
  }

  /** Whether everything pushed so far is applied, within `ms`. */
  async drainedWithin(ms: number): Promise<boolean> {
    const ac = new AbortController();
    const done = await Promise.race([this.chain.then(() => true), this.clock.sleep(ms, ac.signal).then(() => false)]);
    ac.abort();
    return done;
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
    private readonly o: { clientId: string; tables: Array<{ logical: string; physical: string; reader: string }>; warn: (m: string, f: Record<string, unknown>) => void; clock?: Clock },
  ) {
    this.queue = new DecodeQueue(serdes, (e, topic, r, again) => o.warn(again ? 'table record not decoded yet (retrying)' : 'table record skipped: cannot decode', { topic, offset: r.offset, error: e.message }), o.clock);
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

  /** Read to the end within a handler: a retriable error when it takes longer (the registry away), so the runner retries with heartbeats. */
  private async caughtUpForLookup(physical: string, logical: string): Promise<void> {
    try {
      await this.follower?.caughtUp([physical], 10_000);
    } catch (e) {
      throw retriable('table.not_ready', `global table ${logical} not read to its end: ${(e as Error).message}`, e);
    }
    if (!(await this.queue.drainedWithin(10_000))) throw retriable('table.not_ready', `global table ${logical}: records not decoded yet (schema registry unavailable?)`);
  }

  table<V>(logical: string): GlobalTable<V> {
    const m = this.maps.get(logical) as Map<string, V> | undefined;
    if (!m) throw new Error(`'${logical}' is not a table of this stage (declare it in tables)`);
    const physical = this.o.tables.find((t) => t.logical === logical)!.physical;
    return {
      get: (key) => m.get(key),
      lookup: async (key) => {
        if (m.has(key)) return m.get(key);
        await this.caughtUpForLookup(physical, logical);
        return m.get(key);
      },
      keys: () => [...m.keys()],
      get size() {
        return m.size;
      },
    };
  }

  async stop(): Promise<void> {
    this.queue.stopped = true;
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
    private readonly o: { clientId: string; topic: string; warn: (m: string, f: Record<string, unknown>) => void; maxBytesPerPartition?: number; clock?: Clock },
  ) {
    this.queue = new DecodeQueue(serdes, (e, topic, r, again) => o.warn(again ? 'changelog entry not decoded yet (retrying)' : 'changelog entry skipped: cannot decode', { topic, offset: r.offset, error: e.message }), o.clock);
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
    this.queue.stopped = true;
    if (this.started) await this.follower.stop();
  }
}
