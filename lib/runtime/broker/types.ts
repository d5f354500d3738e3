/**
 * What the stage runner needs from a Kafka client, and nothing more: a consumer-group member, a
 * producer (plain or transactional), an admin client and a topic follower. Two implementations:
 * `kafkajs.ts` (the real brokers) and `memory.ts` (partitions, offsets, groups, rebalances,
 * transactions in memory, on an injected clock) so the runner's retry, DLQ, commit order, restore
 * and rebalance paths are tested in milliseconds.
 *
 * Contracts every implementation keeps:
 * - Records of a partition are handed over in offset order, one batch at a time per member.
 * - `assigned` is called after every (re)join with the member's whole assignment, before any batch
 *   of that generation; whatever the member held before is void (it may have been another's since).
 * - A member that learns the group is rebalancing (a heartbeat rejects with RebalanceError) should
 *   finish quickly: commits of the current generation are still accepted until it rejoins.
 * - A commit refused because the group moved on rejects with RebalanceError; the new owner of the
 *   partition re-processes from the last accepted commit.
 * - Reads are read-committed: records of open or aborted transactions are never handed over.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface InRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

export interface OutRecord {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  /** Explicit partition (changelogs: the task's partition); default: by key (murmur2, as Java clients). */
  partition?: number;
  timestamp?: number;
}

export interface TopicRecords {
  topic: string;
  records: OutRecord[];
}

export interface FetchedBatch extends TopicPartition {
  records: InRecord[];
}

export interface BatchControl {
  /** Keeps the membership alive (throttled). Rejects with RebalanceError when the group rebalances. */
  heartbeat(): Promise<void>;
  /** True once the member should hand the partition back (rebalance noticed, stopping). */
  shouldYield(): boolean;
}

export interface MemberHooks {
  /** The member's whole assignment after a (re)join; every earlier assignment is void. */
  assigned(partitions: TopicPartition[]): void;
  /**
   * One fetched batch of one partition. Returns the next offset to fetch for that partition (the
   * offset after the last record it consumed), or undefined when it consumed none: unconsumed
   * records are fetched again.
   */
  batch(b: FetchedBatch, ctl: BatchControl): Promise<string | undefined>;
  /** The member lost the group (connection lost, session expired, consumer restarting): its assignment is void. */
  lost(reason: Error): void;
}

export interface GroupConsumer {
  /** Joins the group and starts fetching; resolves once running. Reconnects by itself while the brokers are away. */
  run(hooks: MemberHooks): Promise<void>;
  /** Commits next offsets for the group. Rejects with RebalanceError when the group moved on. */
  commit(offsets: Array<TopicPartition & { offset: string }>): Promise<void>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Leaves the group (after the batch in progress) and disconnects. */
  stop(): Promise<void>;
}

export interface GroupOffsets {
  groupId: string;
  offsets: Array<TopicPartition & { offset: string }>;
}

export interface BrokerProducer {
  connect(): Promise<void>;
  /** Sends and waits for acks=all. Idempotent producer: retries never duplicate. */
  send(batches: TopicRecords[]): Promise<void>;
  /**
   * One transaction: the records and the group offsets commit together or not at all (transactional
   * producers only). A producer fenced by a newer one with the same transactional id rejects.
   */
  sendInTransaction(batches: TopicRecords[], offsets: GroupOffsets | null, hooks?: { afterSend?: () => void }): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicCreate {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: Array<{ name: string; value: string }>;
}

export interface BrokerAdmin {
  connect(): Promise<void>;
  topics(): Promise<string[]>;
  /** Partition count of a topic; 0 when it does not exist. */
  partitions(topic: string): Promise<number>;
  /** Creates topics and waits for their leaders; topics that exist already are accepted. */
  createTopics(topics: TopicCreate[]): Promise<void>;
  /** Read-committed end offset (last stable offset) of each partition. */
  endOffsets(topic: string): Promise<Map<number, bigint>>;
  brokerCount(): Promise<number>;
  disconnect(): Promise<void>;
}

export interface TopicFollower {
  /** Starts reading its topics from the beginning, and keeps following them. */
  start(): Promise<void>;
  /**
   * Resolves once every partition of its topics (or of `topics`) was read up to its end offset as of
   * this call. Rejects after `timeoutMs`.
   */
  caughtUp(topics?: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface FollowerOptions {
  clientId: string;
  topics: string[];
  onRecord(topic: string, partition: number, record: InRecord): void;
  /** Fetch size limit (tests force small fetches with it). */
  maxBytesPerPartition?: number;
}

export interface Broker {
  consumer(o: { clientId: string; groupId: string; topics: string[]; sessionTimeoutMs: number; maxBytesPerPartition?: number }): GroupConsumer;
  producer(o: { clientId: string; transactionalId?: string }): BrokerProducer;
  admin(o: { clientId: string }): BrokerAdmin;
  /** Reads `topics` in full (no group offsets), handing every record over in partition order. */
  follower(o: FollowerOptions): TopicFollower;
}

/** The group moved on (rebalance, eviction): not the input's fault, never a dead letter. */
export class RebalanceError extends Error {
  readonly code = 'kafka.rebalance';
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RebalanceError';
  }
}

const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

/** True for RebalanceError and for a client's own errors that mean the same. */
export function isRebalance(e: unknown): boolean {
  if (e instanceof RebalanceError) return true;
  const x = e as { type?: string; message?: string; cause?: unknown } | null;
  if (!x) return false;
  if (x.type && REBALANCE_TYPES.has(x.type)) return true;
  if (typeof x.message === 'string' && /not aware of this member|rebalance in progress|generation id .* not valid|Specified group generation/i.test(x.message)) return true;
  return x.cause ? isRebalance(x.cause) : false;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
