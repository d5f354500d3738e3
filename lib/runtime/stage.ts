/**
 * The stage contract: what a stage declares and what it gets. A stage is a plain object; it never
 * touches Kafka. The runner (runner.ts) owns consume, decode, produce, commit, dead letters, state
 * restore, global tables and rebalances.
 */
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { StateStore } from './state.ts';
import type { GlobalTable } from './tables.ts';

export interface InMessage<T = unknown> {
  topic: string; // logical topic name (without namespace)
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  headers: Record<string, string>;
  timestamp: number; // broker/producer timestamp, ms
  bytes: number;
  /** What the stage's prepare() returned for this message, when it defines one. */
  prepared?: unknown;
}

export interface Output {
  topic: string; // logical topic name; must be declared in `outputs`
  key: string | null;
  value: unknown;
  headers?: Record<string, string>;
}

export interface StageContext {
  stage: string;
  namespace: string;
  /** This instance (GFT_INSTANCE_ID, else host:pid). */
  instance: string;
  log: Logger;
  clock: Clock;
  /** Call during long work so the group does not evict this member; rejects when the group rebalances (let it propagate). */
  heartbeat(): Promise<void>;
  /** Aborted when the partition being worked on is revoked or the stage stops: long work should end (let the error propagate). */
  signal: AbortSignal;
  /** The input partition being worked on (null in init/close). */
  partition: number | null;
  /**
   * The state store of that partition (stages with `state: true`). Writes made by a handle() or a
   * punctuation that fails are discarded; the others reach the changelog with the outputs.
   */
  store: StateStore;
  /** A global table declared in `tables`: the latest value per key of a topic, read in full by every instance. */
  table<V = unknown>(topic: string): GlobalTable<V>;
}

export interface SinkSpec<T> {
  maxRows: number;
  maxMs: number;
  /** Must be idempotent: a batch may be delivered again after a crash. Throws classified errors. */
  flush(messages: InMessage<T>[], ctx: StageContext): Promise<void>;
}

export interface Punctuator {
  /** How often to run (wall clock); sooner again while `run` reports more work due. */
  everyMs: number;
  /**
   * Runs for each assigned, restored partition with its store (Kafka Streams' wall-clock punctuation):
   * time-driven outputs, e.g. frames released on a schedule. Outputs and store writes are flushed like
   * a handled message's. Returns the outputs, whether more work is due at once, and when the next
   * work falls due (ms from now) if sooner than `everyMs`: the runner wakes up then, not a tick later.
   */
  run(ctx: StageContext): Promise<{ outputs: Output[]; more?: boolean; nextInMs?: number }>;
}

export interface StageDefinition<T = any> {
  name: string;
  /** Streams: partitions are shared among the instances of the stage (one consumer group). */
  inputs: string[];
  outputs: string[];
  /** Reader schema per input topic or table (defaults to the topic's declared schema). */
  readers?: Record<string, string>;
  /**
   * Global tables (Kafka Streams' GlobalKTable): small keyed topics every instance reads in full,
   * outside the group assignment (reference files, triggers), so a join with them is right whichever
   * instance holds a stream partition. Read to their end before the stage processes anything.
   */
  tables?: string[];
  /**
   * A keyed state store per input partition (needs exactly one input stream), written to the compacted
   * `<stage>.changelog` (partition p for input partition p) and restored from it when the partition is
   * assigned, before anything of it is processed.
   */
  state?: boolean;
  handle?(msg: InMessage<T>, ctx: StageContext): Promise<Output[]> | Output[];
  /**
   * Optional parallel phase before handle(): started for every message of a chunk at once (at most
   * `prepareConcurrency` at a time), e.g. CPU work on worker threads; handle() then sees the
   * messages one by one, in order, with `msg.prepared` set. Must have no side effects that matter
   * (a crash re-runs it). A failure surfaces as the failure of that message's handle step; a
   * retried handle runs without `prepared`.
   */
  prepare?(msg: InMessage<T>, ctx: StageContext): Promise<unknown>;
  prepareConcurrency?: number;
  /**
   * At most this many messages per chunk (outputs and commit per chunk): small for slow messages
   * (a frame takes a second), so that outputs of early messages do not wait for a whole fetched batch.
   */
  maxChunk?: number;
  punctuate?: Punctuator;
  /**
   * Exactly-once across output topics: each chunk's outputs (all topics, DLQ and changelog included)
   * and its input offset are committed in one Kafka transaction. Transactional id:
   * `<group>-tx-<instance>` (a restarted instance with the same GFT_INSTANCE_ID fences and aborts its
   * predecessor's open transaction).
   */
  transactional?: boolean;
  sink?: SinkSpec<T>;
  init?(ctx: StageContext): Promise<void>;
  close?(ctx: StageContext): Promise<void>;
  /** The runner dropped these input partitions (rebalance): drop caches derived from their state. */
  revoked?(partitions: number[]): void;
  /**
   * What the stage holds, for its metrics (StageMetrics.burstsHeld / cacheBytes): the bursts whose
   * state in this store is open (not yet closed), and the bytes of its in-memory caches (masters,
   * catalogs, measurements). A stage that lives through a season keeps both bounded (docs/season.md).
   */
  held?: { bursts(store: StateStore): number; cacheBytes?(): number };
}
