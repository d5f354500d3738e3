/**
 * The runner's broker interface (./types.ts) on kafkajs, the only place besides lib/runtime/kafka.ts
 * that knows kafkajs' shapes for consuming and producing. kafkajs is unmaintained: keep it here.
 *
 * What this adds to kafkajs:
 * - `assigned` from the GROUP_JOIN event (kafkajs has no assignment callback); a heartbeat that
 *   reports a rebalance rejects with RebalanceError, and the batch's own error is re-thrown to kafkajs
 *   afterwards so that it rejoins at once.
 * - A consumer that crashed without kafkajs restarting it (e.g. "no broker available" while the
 *   brokers restart) is rebuilt with backoff until stop(): a stage rides out a broker restart
 *   instead of exiting.
 * - A follower: a consumer in a group of its own (never committing) that reads its topics from the
 *   beginning, with end-of-batch positions, so that `caughtUp` sees the end of a log that ends with
 *   transaction markers or aborted records (kafkajs never hands such fetches to eachBatch).
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type { PlatformConfig } from '../../config/platform.ts';
import { createKafka, CompressionTypes } from '../kafka.ts';
import { createAndAwaitTopics } from '../topics.ts';
import { SendGuard } from '../sendGuard.ts';
import {
  RebalanceError,
  isRebalance,
  tpKey,
  type BatchControl,
  type Broker,
  type BrokerAdmin,
  type BrokerProducer,
  type FollowerOptions,
  type GroupConsumer,
  type GroupOffsets,
  type InRecord,
  type MemberHooks,
  type TopicCreate,
  type TopicFollower,
  type TopicPartition,
  type TopicRecords,
} from './types.ts';

/** The group's coordinator is gone (its broker died) and kafkajs does not find the new one by itself. */
export function lostCoordinator(e: unknown): boolean {
  for (let x = e as { name?: string; type?: string; message?: string; cause?: unknown } | undefined, i = 0; x && i < 5; x = x.cause as typeof x, i++) {
    if (x.name === 'KafkaJSBrokerNotFound' || x.type === 'NOT_COORDINATOR' || x.type === 'COORDINATOR_NOT_AVAILABLE') return true;
    if (/not found in the cached metadata|not the correct coordinator/i.test(x.message ?? '')) return true;
  }
  return false;
}

export function headersToRecord(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

type KMsg = EachBatchPayload['batch']['messages'][number];
const inRecord = (m: KMsg): InRecord => ({ offset: m.offset, key: m.key, value: m.value, headers: headersToRecord(m.headers), timestamp: Number(m.timestamp) });

function toTopicMessages(batches: TopicRecords[], physical: (t: string) => string) {
  return batches
    .filter((b) => b.records.length)
    .map((b) => ({
      topic: physical(b.topic),
      messages: b.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, partition: r.partition, timestamp: r.timestamp !== undefined ? String(r.timestamp) : undefined })),
    }));
}

class KafkajsConsumer implements GroupConsumer {
  private consumer: Consumer | null = null;
  private hooks!: MemberHooks;
  private stopping = false;
  private rebalancing = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly o: { groupId: string; topics: string[]; sessionTimeoutMs: number; maxBytesPerPartition?: number },
    private readonly warn: (m: string, f: Record<string, unknown>) => void,
  ) {}

  async run(hooks: MemberHooks): Promise<void> {
    this.hooks = hooks;
    await this.startConsumer(true);
  }

  private async startConsumer(first: boolean): Promise<void> {
    const o = this.o;
    const c = this.kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs),
      heartbeatInterval: Math.min(3000, Math.floor(o.sessionTimeoutMs / 3)),
      maxBytesPerPartition: o.maxBytesPerPartition ?? 8 << 20,
    });
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      this.rebalancing = false;
      this.restarts = 0;
      const a = e.payload.memberAssignment as Record<string, number[]>;
      this.hooks.assigned(Object.entries(a).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))));
    });
    c.on(c.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    c.on(c.events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      if (this.stopping) return;
      this.hooks.lost(error);
      // kafkajs restarts retriable crashes itself; when it gives up (e.g. no broker available while
      // the brokers restart) the consumer is rebuilt here, with backoff, until stop()
      if (!restart) this.reconnectLater(c, error);
    });
    try {
      await c.connect();
      for (const topic of o.topics) await c.subscribe({ topic, fromBeginning: true });
      await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (p) => this.eachBatch(p) });
    } catch (e) {
      if (first || this.stopping) throw e; // the first connection: the caller's retry decides
      this.reconnectLater(c, e as Error);
    }
  }

  private reconnectLater(old: Consumer, err: Error): void {
    if (this.stopping) return;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(this.restarts++, 5));
    this.warn('consumer lost the brokers; reconnecting', { error: err.message, delayMs: delay });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      void old
        .disconnect()
        .catch(() => {})
        .then(() => this.startConsumer(false))
        .catch(() => {});
    }, delay);
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    let rebalanceError: unknown = null;
    const ctl: BatchControl = {
      heartbeat: async () => {
        try {
          await p.heartbeat();
        } catch (e) {
          if (!isRebalance(e)) throw e;
          this.rebalancing = true;
          rebalanceError = e;
          throw new RebalanceError('the group is rebalancing', { cause: e });
        }
      },
      shouldYield: () => this.stopping || this.rebalancing || !p.isRunning() || p.isStale(),
    };
    const next = await this.hooks.batch({ topic: batch.topic, partition: batch.partition, records: batch.messages.map(inRecord) }, ctl);
    if (next !== undefined) {
      const last = BigInt(next) - 1n;
      if (batch.messages.length && last >= BigInt(batch.messages[0].offset)) p.resolveOffset(last.toString());
    }
    // hand the rebalance back to kafkajs so that it rejoins now, not at its next heartbeat
    if (rebalanceError) throw rebalanceError;
  }

  async commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void> {
    if (!this.consumer) throw new RebalanceError('not a member of the group');
    const c = this.consumer;
    try {
      await c.commitOffsets(offsets);
    } catch (e) {
      if (isRebalance(e)) throw new RebalanceError(`commit refused: ${(e as Error).message}`, { cause: e });
      // the group coordinator died with its broker and kafkajs keeps asking it (NOT_COORDINATOR, or the
      // broker missing from its cached metadata): the consumer is rebuilt and rejoins; the commit is
      // refused like one after a rebalance (whoever owns the partition next re-processes from the last
      // accepted commit). Found by `gft failover` (a broker leading a stage's coordinator killed).
      if (lostCoordinator(e)) {
        this.reconnectLater(c, e as Error);
        throw new RebalanceError(`commit refused, coordinator lost: ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
  }

  pause(tps: TopicPartition[]): void {
    for (const { topic, partition } of tps) this.consumer?.pause([{ topic, partitions: [partition] }]);
  }

  resume(tps: TopicPartition[]): void {
    for (const { topic, partition } of tps) this.consumer?.resume([{ topic, partitions: [partition] }]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.consumer?.stop().catch(() => {});
    await this.consumer?.disconnect().catch(() => {});
  }
}

class KafkajsProducer implements BrokerProducer {
  private readonly producer: Producer;
  private connected = false;
  /** kafkajs can drop the records of a partition whose leader moved during a send: resent (sendGuard.ts). */
  private readonly guard = new SendGuard();

  constructor(kafka: Kafka, private readonly transactional: boolean, transactionalId?: string) {
    const createPartitioner = this.guard.createPartitioner;
    this.producer = transactional
      ? // short first retry: a transaction begun right after the previous commit is refused with
        // CONCURRENT_TRANSACTIONS until the broker has written the markers (a few ms)
        kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 15_000, createPartitioner, retry: { initialRetryTime: 10, retries: 12 } })
      : kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner });
  }

  async connect(): Promise<void> {
    if (!this.connected) await this.producer.connect();
    this.connected = true;
  }

  async send(batches: TopicRecords[]): Promise<void> {
    const topicMessages = toTopicMessages(batches, (t) => t);
    if (topicMessages.length) await this.guard.sendBatch((b) => this.producer.sendBatch(b), { topicMessages, acks: -1, compression: CompressionTypes.None });
  }

  async sendInTransaction(batches: TopicRecords[], offsets: GroupOffsets | null, hooks?: { afterSend?: () => void }): Promise<void> {
    if (!this.transactional) throw new Error('sendInTransaction on a producer without a transactional id');
    const txn = await this.producer.transaction();
    try {
      const topicMessages = toTopicMessages(batches, (t) => t);
      if (topicMessages.length) await this.guard.sendBatch((b) => txn.sendBatch(b), { topicMessages, acks: -1, compression: CompressionTypes.None });
      hooks?.afterSend?.();
      if (offsets?.offsets.length) {
        const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
        for (const o of offsets.offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
        await txn.sendOffsets({ consumerGroupId: offsets.groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      }
      await txn.commit();
    } catch (e) {
      await txn.abort().catch(() => {});
      throw e;
    }
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => {});
    this.connected = false;
  }
}

class KafkajsAdmin implements BrokerAdmin {
  private readonly admin: Admin;
  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }
  connect = () => this.admin.connect();
  topics = () => this.admin.listTopics();
  async partitions(topic: string): Promise<number> {
    if (!(await this.admin.listTopics()).includes(topic)) return 0;
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  }
  createTopics = (topics: TopicCreate[]) => createAndAwaitTopics(this.admin, topics);
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    return new Map((await this.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  }
  async brokerCount(): Promise<number> {
    return (await this.admin.describeCluster()).brokers.length;
  }
  disconnect = () => this.admin.disconnect();
}

class KafkajsFollower implements TopicFollower {
  private consumer: Consumer | null = null;
  private readonly position = new Map<string, bigint>();
  private waiters: Array<() => void> = [];
  private crashed: Error | null = null;
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly o: FollowerOptions & { groupPrefix: string },
  ) {}

  async start(): Promise<void> {
    // a group of its own that never commits: every start reads the topics from the beginning
    const limits = this.o.maxBytesPerPartition ? { maxBytesPerPartition: this.o.maxBytesPerPartition, maxBytes: this.o.maxBytesPerPartition } : {};
    const c = this.kafka.consumer({ groupId: `${this.o.groupPrefix}-follower-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false, ...limits });
    this.consumer = c;
    const advance = (topic: string, partition: number, next: bigint) => {
      const k = tpKey(topic, partition);
      if ((this.position.get(k) ?? 0n) < next) this.position.set(k, next);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    };
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n));
    c.on(c.events.CRASH, (e) => {
      const p = e.payload as { error: Error; restart: boolean };
      if (p.restart || this.stopped || this.consumer !== c) return; // kafkajs restarts it itself
      // kafkajs gave up (brokers away, coordinator moving): a new follower reads the topics again from
      // the beginning (records are applied idempotently: the latest per key wins); caughtUp waits for it
      this.crashed = p.error;
      setTimeout(() => {
        if (this.stopped || this.consumer !== c) return;
        void c.disconnect().catch(() => {});
        this.start().then(
          () => (this.crashed = null),
          (err: Error) => (this.crashed = err),
        );
      }, 2000);
    });
    await c.connect();
    for (const topic of this.o.topics) await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) this.o.onRecord(batch.topic, batch.partition, inRecord(m));
        if (batch.messages.length) advance(batch.topic, batch.partition, BigInt(batch.messages[batch.messages.length - 1].offset) + 1n);
      },
    });
  }

  async caughtUp(topics: string[] = this.o.topics, timeoutMs = 120_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = new Map<string, bigint>();
    try {
      for (const t of topics) for (const o of await admin.fetchTopicOffsets(t)) if (BigInt(o.high) > BigInt(o.low)) ends.set(tpKey(t, o.partition), BigInt(o.high));
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const behind = () => [...ends].filter(([k, end]) => (this.position.get(k) ?? 0n) < end);
    const deadline = Date.now() + timeoutMs;
    while (behind().length) {
      if (Date.now() > deadline) throw Object.assign(new Error(`${behind().map(([k]) => k.replace('\u0000', '/')).join(', ')} not read to the end within ${timeoutMs} ms${this.crashed ? ` (the follower crashed: ${this.crashed.message}; rebuilding)` : ''}`), { retriable: true, code: 'changelog.behind' });
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => {});
  }
}

export class KafkajsBroker implements Broker {
  /**
   * `principal`: the Kafka principal of every client (a stage's own user on the secured stack);
   * `groupPrefix`: prefix of the followers' own groups (`<ns>.<stage>-…`, within the stage's ACLs).
   */
  constructor(
    private readonly cfg: PlatformConfig,
    private readonly warn: (m: string, f: Record<string, unknown>) => void = () => {},
    private readonly o: { principal?: string; groupPrefix?: string } = {},
  ) {}

  private kafka(clientId: string): Kafka {
    return createKafka(this.cfg, clientId, { principal: this.o.principal });
  }

  consumer(o: { clientId: string; groupId: string; topics: string[]; sessionTimeoutMs: number; maxBytesPerPartition?: number }): GroupConsumer {
    return new KafkajsConsumer(this.kafka(o.clientId), o, this.warn);
  }

  producer(o: { clientId: string; transactionalId?: string }): BrokerProducer {
    return new KafkajsProducer(this.kafka(o.clientId), !!o.transactionalId, o.transactionalId);
  }

  admin(o: { clientId: string }): BrokerAdmin {
    return new KafkajsAdmin(this.kafka(o.clientId));
  }

  follower(o: FollowerOptions): TopicFollower {
    return new KafkajsFollower(this.kafka(o.clientId), { ...o, groupPrefix: `${this.o.groupPrefix ?? ''}${o.clientId}` });
  }
}
