/**
 * An in-memory Kafka for runner tests (arroyo's LocalBroker, Kafka Streams' TopologyTestDriver):
 * topics with partitions and offsets, consumer groups with eager rebalances (range assignment, so
 * co-partitioned topics stay together), session timeouts and committed offsets, idempotent and
 * transactional producers (read-committed visibility, fencing by transactional id), followers —
 * all on an injected clock. Not a protocol implementation: the semantics the runner relies on.
 *
 * Test handles: `sever(clientId)` is a kill -9 of whatever that client runs (no leave, no more
 * writes; the group notices at the session timeout); `records(topic)` and `committed(group, …)` for
 * assertions. Membership changes and appends wake the members at once; time-based events (session
 * expiry, backoff, punctuation) need `ManualClock.advance`.
 */
import kafkajs from 'kafkajs';
import { ManualClock, type Clock } from '../clock.ts';
import {
  RebalanceError,
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

interface Entry extends InRecord {
  txn: { id: string; epoch: number; startedAt: number; state: 'open' | 'committed' | 'aborted' } | null;
}

interface MemTopic {
  partitions: Entry[][];
  config: Record<string, string>;
}

interface Member {
  id: string;
  clientId: string;
  topics: string[];
  sessionTimeoutMs: number;
  lastSeen: number;
  generation: number;
  joined: boolean;
  dead: boolean;
}

interface Group {
  id: string;
  generation: number;
  state: 'stable' | 'rebalancing';
  rebalanceStartedAt: number;
  members: Map<string, Member>;
  assignment: Map<string, TopicPartition[]>;
  committed: Map<string, bigint>;
}

export class KafkaError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = 'KafkaJSProtocolError';
  }
}

const partitioner = kafkajs.Partitioners.DefaultPartitioner();

export class MemoryBroker implements Broker {
  readonly clock: Clock;
  private readonly topicsByName = new Map<string, MemTopic>();
  private readonly groups = new Map<string, Group>();
  private readonly txnEpochs = new Map<string, number>();
  /** Clients created so far (client id + its life), for sever(). */
  private readonly clients: Array<{ clientId: string; life: { dead: boolean } }> = [];
  /** Open transactions are aborted by the coordinator after this (transaction.timeout.ms). */
  transactionTimeoutMs = 15_000;
  private waiters = new Set<() => void>();
  private memberSeq = 0;
  /** Records handed over per batch at most. */
  maxBatch = 100;
  /** Brokers the cluster reports (for the topic layout). */
  brokers = 1;
  /** The brokers are away (a restart): sends, commits and heartbeats fail with a connection error. */
  down = false;

  unreachable(): KafkaError {
    return new KafkaError('NETWORK_EXCEPTION', 'Connection error: connect ECONNREFUSED 127.0.0.1:19092', true);
  }

  constructor(clock: Clock = new ManualClock()) {
    this.clock = clock;
  }

  // ---- test handles ----

  createTopic(topic: string, partitions: number, config: Record<string, string> = {}): void {
    if (!this.topicsByName.has(topic)) this.topicsByName.set(topic, { partitions: Array.from({ length: partitions }, () => []), config });
  }

  /** Kill -9 of every client whose id starts with `clientId`: no leave, no further reads or writes. */
  sever(clientId: string): void {
    for (const c of this.clients) if (c.clientId.startsWith(clientId)) c.life.dead = true;
    this.notify();
  }

  /** A life for a new client: dead once severed (clients created later with the same id live). */
  life(clientId: string): { dead: boolean } {
    const life = { dead: false };
    this.clients.push({ clientId, life });
    return life;
  }

  /** Aborts transactions left open longer than the transaction timeout (a producer that died inside one). */
  expireTransactions(): void {
    const now = this.clock.now();
    let changed = false;
    for (const t of this.topicsByName.values())
      for (const log of t.partitions)
        for (const e of log)
          if (e.txn?.state === 'open' && now - e.txn.startedAt > this.transactionTimeoutMs) {
            e.txn.state = 'aborted';
            changed = true;
          }
    if (changed) this.notify();
  }

  /** Committed (visible) records of a topic, partition by partition, in offset order. */
  records(topic: string): Array<InRecord & { partition: number }> {
    this.expireTransactions();
    const t = this.topic(topic);
    return t.partitions.flatMap((log, partition) => visible(log).map((e) => ({ partition, offset: e.offset, key: e.key, value: e.value, headers: e.headers, timestamp: e.timestamp })));
  }

  committed(groupId: string, topic: string, partition: number): bigint | undefined {
    return this.groups.get(groupId)?.committed.get(tpKey(topic, partition));
  }

  /** Members of a group and their assignment (for assertions). */
  assignment(groupId: string): Map<string, TopicPartition[]> {
    const g = this.groups.get(groupId);
    if (!g) return new Map();
    return new Map([...g.assignment].map(([id, a]) => [g.members.get(id)?.clientId ?? id, a]));
  }

  // ---- internals ----

  topic(name: string): MemTopic {
    const t = this.topicsByName.get(name);
    if (!t) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic-partition: ${name}`, true);
    return t;
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }

  /** Waits for an append or a membership change, or `ms` on the clock. */
  async changed(ms: number): Promise<void> {
    const ac = new AbortController();
    await Promise.race([new Promise<void>((r) => this.waiters.add(r)), this.clock.sleep(ms, ac.signal)]);
    ac.abort();
    this.expireTransactions();
  }

  append(topic: string, r: { key: string | Buffer | null; value: Buffer | null; headers?: Record<string, string>; partition?: number; timestamp?: number }, txn: Entry['txn'] = null): void {
    const t = this.topic(topic);
    const key = r.key === null ? null : Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key);
    const p =
      r.partition ??
      partitioner({ topic, partitionMetadata: t.partitions.map((_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })), message: { key, value: r.value } });
    if (p < 0 || p >= t.partitions.length) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `${topic} has no partition ${p}`);
    const log = t.partitions[p];
    log.push({ offset: String(log.length), key, value: r.value, headers: { ...(r.headers ?? {}) }, timestamp: r.timestamp ?? this.clock.now(), txn });
  }

  group(id: string): Group {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = { id, generation: 0, state: 'stable', rebalanceStartedAt: 0, members: new Map(), assignment: new Map(), committed: new Map() }));
    return g;
  }

  join(groupId: string, clientId: string, topics: string[], sessionTimeoutMs: number): Member {
    const g = this.group(groupId);
    const m: Member = { id: `m${++this.memberSeq}`, clientId, topics, sessionTimeoutMs, lastSeen: this.clock.now(), generation: -1, joined: false, dead: false };
    g.members.set(m.id, m);
    this.startRebalance(g);
    return m;
  }

  leave(groupId: string, m: Member): void {
    const g = this.group(groupId);
    if (!g.members.delete(m.id)) return;
    m.dead = true;
    this.startRebalance(g);
  }

  private startRebalance(g: Group): void {
    g.state = 'rebalancing';
    g.rebalanceStartedAt = this.clock.now();
    for (const m of g.members.values()) m.joined = false;
    this.notify();
  }

  /** Evicts members whose session expired (or who never rejoined a rebalance in time); completes a rebalance when every live member rejoined. */
  tick(g: Group): void {
    const now = this.clock.now();
    let changed = false;
    for (const m of [...g.members.values()]) {
      const expired = now - m.lastSeen > m.sessionTimeoutMs;
      const stuck = g.state === 'rebalancing' && !m.joined && now - g.rebalanceStartedAt > Math.max(60_000, m.sessionTimeoutMs);
      if (expired || stuck) {
        g.members.delete(m.id);
        m.dead = true;
        changed = true;
      }
    }
    if (changed) this.startRebalance(g);
    if (g.state === 'rebalancing' && [...g.members.values()].every((m) => m.joined)) {
      g.generation++;
      g.assignment = rangeAssign(g, this);
      for (const m of g.members.values()) m.generation = g.generation;
      g.state = 'stable';
      this.notify();
    }
  }

  // ---- Broker ----

  consumer(o: { clientId: string; groupId: string; topics: string[]; sessionTimeoutMs: number }): GroupConsumer {
    return new MemoryConsumer(this, o);
  }

  producer(o: { clientId: string; transactionalId?: string }): BrokerProducer {
    return new MemoryProducer(this, o.clientId, o.transactionalId);
  }

  admin(o: { clientId: string }): BrokerAdmin {
    const broker = this;
    void o;
    return {
      connect: async () => {},
      disconnect: async () => {},
      topics: async () => [...broker.topicsByName.keys()],
      partitions: async (topic) => broker.topicsByName.get(topic)?.partitions.length ?? 0,
      createTopics: async (topics: TopicCreate[]) => {
        for (const t of topics) broker.createTopic(t.topic, t.numPartitions, Object.fromEntries((t.configEntries ?? []).map((c) => [c.name, c.value])));
      },
      endOffsets: async (topic) => new Map(broker.topic(topic).partitions.map((log, p) => [p, stableEnd(log)])),
      brokerCount: async () => broker.brokers,
    };
  }

  follower(o: FollowerOptions): TopicFollower {
    return new MemoryFollower(this, o);
  }

  fence(transactionalId: string): number {
    const epoch = (this.txnEpochs.get(transactionalId) ?? 0) + 1;
    this.txnEpochs.set(transactionalId, epoch);
    // the predecessor's open transaction is aborted
    for (const t of this.topicsByName.values()) for (const log of t.partitions) for (const e of log) if (e.txn?.id === transactionalId && e.txn.state === 'open') e.txn.state = 'aborted';
    this.notify();
    return epoch;
  }

  epoch(transactionalId: string): number {
    return this.txnEpochs.get(transactionalId) ?? 0;
  }
}

/** Offset of the first record of an open transaction, else the log end (the last stable offset). */
function stableEnd(log: Entry[]): bigint {
  const open = log.findIndex((e) => e.txn?.state === 'open');
  return BigInt(open < 0 ? log.length : open);
}

function visible(log: Entry[]): Entry[] {
  const end = Number(stableEnd(log));
  return log.slice(0, end).filter((e) => e.txn?.state !== 'aborted');
}

/** Kafka's RangeAssignor: per topic, contiguous ranges over the members sorted by id. */
function rangeAssign(g: Group, broker: MemoryBroker): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>([...g.members.keys()].map((id) => [id, []]));
  const topics = new Set([...g.members.values()].flatMap((m) => m.topics));
  for (const topic of [...topics].sort()) {
    const members = [...g.members.values()].filter((m) => m.topics.includes(topic)).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const n = broker.topic(topic).partitions.length;
    const per = Math.floor(n / members.length);
    const extra = n % members.length;
    let p = 0;
    members.forEach((m, i) => {
      const count = per + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) out.get(m.id)!.push({ topic, partition: p++ });
    });
  }
  return out;
}

class MemoryConsumer implements GroupConsumer {
  private readonly life: { dead: boolean };
  private member: Member | null = null;
  private running = false;
  private readonly paused = new Set<string>();
  private positions = new Map<string, bigint>();
  private assignment: TopicPartition[] = [];
  private loop?: Promise<void>;
  private rr = 0;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly o: { clientId: string; groupId: string; topics: string[]; sessionTimeoutMs: number },
  ) {
    this.life = broker.life(o.clientId);
  }

  private get dead(): boolean {
    return this.life.dead;
  }

  async run(hooks: MemberHooks): Promise<void> {
    for (const t of this.o.topics) this.broker.topic(t); // unknown topic: rejects, as a real subscribe would
    this.running = true;
    this.member = this.broker.join(this.o.groupId, this.o.clientId, this.o.topics, this.o.sessionTimeoutMs);
    this.loop = this.consume(hooks);
  }

  private async consume(hooks: MemberHooks): Promise<void> {
    const g = this.broker.group(this.o.groupId);
    let generation = -1;
    while (this.running && !this.dead) {
      let m = this.member!;
      this.broker.tick(g);
      if (m.dead) {
        // evicted (session expired): rejoin as a new member
        hooks.lost(new RebalanceError('the group evicted this member'));
        generation = -1;
        m = this.member = this.broker.join(this.o.groupId, this.o.clientId, this.o.topics, this.o.sessionTimeoutMs);
      }
      m.lastSeen = this.broker.clock.now();
      if (g.state === 'rebalancing') {
        m.joined = true;
        this.broker.tick(g);
        if (g.state === 'rebalancing') {
          await this.broker.changed(Math.max(50, Math.floor(m.sessionTimeoutMs / 3)));
          continue;
        }
      }
      if (m.generation !== generation) {
        generation = m.generation;
        this.assignment = g.assignment.get(m.id) ?? [];
        this.positions = new Map(this.assignment.map((tp) => [tpKey(tp.topic, tp.partition), g.committed.get(tpKey(tp.topic, tp.partition)) ?? 0n]));
        hooks.assigned(this.assignment);
      }
      const batch = this.nextBatch();
      if (!batch) {
        await this.broker.changed(Math.max(50, Math.floor(m.sessionTimeoutMs / 3)));
        continue;
      }
      const member = m;
      const ctl: BatchControl = {
        heartbeat: async () => {
          if (this.dead) return new Promise<void>(() => {}); // a killed process never comes back
          if (this.broker.down) throw this.broker.unreachable();
          member.lastSeen = this.broker.clock.now();
          this.broker.tick(g);
          if (member.dead) throw new RebalanceError('The coordinator is not aware of this member');
          if (g.state === 'rebalancing') throw new RebalanceError('The group is rebalancing, so a rejoin is needed');
        },
        shouldYield: () => !this.running || this.dead || member.dead || g.state === 'rebalancing',
      };
      const next = await hooks.batch(batch, ctl);
      if (this.dead) return;
      if (next !== undefined && member.generation === generation) this.positions.set(tpKey(batch.topic, batch.partition), BigInt(next));
      // nothing consumed (a stopped or revoked partition): fetch again only after something changed
      if (next === undefined && g.state === 'stable') await this.broker.changed(Math.max(50, Math.floor(m.sessionTimeoutMs / 3)));
      else await new Promise<void>((r) => setImmediate(r)); // never starve timers, like a network round trip
    }
  }

  private nextBatch(): { topic: string; partition: number; records: InRecord[] } | null {
    const n = this.assignment.length;
    for (let i = 0; i < n; i++) {
      const tp = this.assignment[(this.rr + i) % n];
      const k = tpKey(tp.topic, tp.partition);
      if (this.paused.has(k)) continue;
      const log = this.broker.topic(tp.topic).partitions[tp.partition];
      const end = stableEnd(log);
      let pos = this.positions.get(k) ?? 0n;
      const records: InRecord[] = [];
      while (pos < end && records.length < this.broker.maxBatch) {
        const e = log[Number(pos)];
        pos++;
        if (e.txn?.state === 'aborted') continue;
        records.push({ offset: e.offset, key: e.key, value: e.value, headers: { ...e.headers }, timestamp: e.timestamp });
      }
      if (!records.length) {
        this.positions.set(k, pos); // skipped aborted records only
        continue;
      }
      this.rr = (this.rr + i + 1) % n;
      return { ...tp, records };
    }
    return null;
  }

  async commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void> {
    if (this.dead) return new Promise<void>(() => {});
    if (this.broker.down) throw this.broker.unreachable();
    const g = this.broker.group(this.o.groupId);
    const m = this.member;
    if (!m || m.dead || !g.members.has(m.id)) throw new RebalanceError('The coordinator is not aware of this member');
    if (m.generation !== g.generation) throw new RebalanceError('The provided generation id is not valid (Specified group generation id is not valid)');
    for (const o of offsets) g.committed.set(tpKey(o.topic, o.partition), BigInt(o.offset));
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.add(tpKey(tp.topic, tp.partition));
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(tpKey(tp.topic, tp.partition));
    this.broker.notify();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.broker.notify();
    await this.loop?.catch(() => {});
    if (this.member && !this.dead) this.broker.leave(this.o.groupId, this.member);
  }
}

class MemoryProducer implements BrokerProducer {
  private epoch = 0;
  private readonly life: { dead: boolean };

  constructor(
    private readonly broker: MemoryBroker,
    clientId: string,
    private readonly transactionalId?: string,
  ) {
    this.life = broker.life(clientId);
  }

  private check(): Promise<never> | null {
    // a killed process writes nothing more, and never hears back
    return this.life.dead ? new Promise<never>(() => {}) : null;
  }

  async connect(): Promise<void> {
    if (this.transactionalId && !this.epoch) this.epoch = this.broker.fence(this.transactionalId);
  }

  async send(batches: TopicRecords[]): Promise<void> {
    const dead = this.check();
    if (dead) return dead;
    if (this.broker.down) throw this.broker.unreachable();
    for (const b of batches) this.broker.topic(b.topic);
    for (const b of batches) for (const r of b.records) this.broker.append(b.topic, r);
    this.broker.notify();
  }

  async sendInTransaction(batches: TopicRecords[], offsets: GroupOffsets | null, hooks?: { afterSend?: () => void }): Promise<void> {
    const dead = this.check();
    if (dead) return dead;
    const id = this.transactionalId;
    if (!id) throw new Error('sendInTransaction on a producer without a transactional id');
    if (this.broker.epoch(id) !== this.epoch) throw new KafkaError('PRODUCER_FENCED', `producer ${id} was fenced by a newer instance with the same transactional id`);
    const txn = { id, epoch: this.epoch, startedAt: this.broker.clock.now(), state: 'open' as 'open' | 'committed' | 'aborted' };
    for (const b of batches) this.broker.topic(b.topic);
    for (const b of batches) for (const r of b.records) this.broker.append(b.topic, r, txn);
    hooks?.afterSend?.();
    if (this.life.dead) return new Promise<never>(() => {}); // died inside the transaction: it stays open
    if (offsets) {
      // like kafkajs' TxnOffsetCommit: the group's generation is not checked (no zombie fencing)
      const g = this.broker.group(offsets.groupId);
      for (const o of offsets.offsets) g.committed.set(tpKey(o.topic, o.partition), BigInt(o.offset));
    }
    txn.state = 'committed';
    this.broker.notify();
  }

  async disconnect(): Promise<void> {}
}

class MemoryFollower implements TopicFollower {
  private readonly life: { dead: boolean };
  private running = false;
  private readonly position = new Map<string, number>();
  private loop?: Promise<void>;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly o: { clientId: string; topics: string[]; onRecord(topic: string, partition: number, record: InRecord): void },
  ) {
    this.life = broker.life(o.clientId);
  }

  async start(): Promise<void> {
    for (const t of this.o.topics) this.broker.topic(t);
    this.running = true;
    this.pump();
    this.loop = (async () => {
      while (this.running && !this.life.dead) {
        await this.broker.changed(1000);
        this.pump();
      }
    })();
  }

  /** Hands over every visible record not yet seen. */
  private pump(): void {
    for (const topic of this.o.topics) {
      this.broker.topic(topic).partitions.forEach((log, partition) => {
        const k = tpKey(topic, partition);
        const end = Number(stableEnd(log));
        for (let pos = this.position.get(k) ?? 0; pos < end; pos++) {
          const e = log[pos];
          if (e.txn?.state !== 'aborted') this.o.onRecord(topic, partition, { offset: e.offset, key: e.key, value: e.value, headers: { ...e.headers }, timestamp: e.timestamp });
          this.position.set(k, pos + 1);
        }
      });
    }
  }

  async caughtUp(topics: string[] = this.o.topics): Promise<void> {
    this.pump();
    for (const t of topics) this.broker.topic(t);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.broker.notify();
    await this.loop;
  }
}
