/**
 * The stage runner: consume → decode → typed transform → produce → commit, for one stage.
 *
 * Contracts (who does what):
 * - A stage is a plain object (`StageDefinition`): it never touches Kafka. It gets one decoded
 *   record at a time and returns zero or more outputs, or throws a classified error
 *   (lib/runtime/errors.ts). Sinks (`sink` mode) get batches and write side effects idempotently.
 * - The runner owns consume, produce, commit and DLQ. Consumer group id = stage name.
 * - Commits only finished work: a message's offset is committed after its outputs (or its DLQ
 *   record) were acknowledged by the brokers (acks=all), in partition order, next-offset semantics.
 *   A crash replays from the last commit: at-least-once; sinks are idempotent by stable ids.
 * - Retriable failures (broker, registry, ClickHouse, storage) are retried in place with exponential
 *   backoff while heartbeating; past `retryMaxElapsedMs` the stage stops without committing.
 * - Invalid input goes to `<stage>.dlq` (Avro DeadLetter with the original bytes, reason in headers).
 * - A breaker stops the stage when most of the recent messages went to the DLQ: something is wrong
 *   with the stage or its contract, draining everything into the DLQ would hide it.
 * - Work in flight is bounded by count and bytes per chunk; kafkajs fetches the next batch of a
 *   partition only after `eachBatch` returns, so a slow stage pauses its partitions naturally.
 */
import type { Consumer, Producer, EachBatchPayload, KafkaMessage, IHeaders, Admin } from 'kafkajs';
import { platformConfig, type PlatformConfig } from '../config/platform.ts';
import { createKafka, CompressionTypes } from './kafka.ts';
import { AvroSerdes, NOT_READY } from './serdes.ts';
import { classify, FatalStageError } from './errors.ts';
import { nsName, topicSpec as declaredTopic, dlqTopic, type TopicSpec } from './topology.ts';
import { Logger, instanceId, type LogRecordValue } from './log.ts';
import { clusterLayout, createAndAwaitTopics, topicRequest } from './topics.ts';

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
  log: Logger;
  /** Call during long work so the group does not evict this member. */
  heartbeat(): Promise<void>;
  /**
   * Produces an output now (acknowledged before it resolves) instead of with the handler's return
   * value: for paced sources (the images provider) whose outputs must go out over time. The input is
   * still committed only after the handler returns, so a crash re-runs it: emitted outputs must be
   * idempotent downstream (stable keys and ids).
   */
  emit(output: Output): Promise<void>;
}

export interface SinkSpec<T> {
  maxRows: number;
  maxMs: number;
  /** Must be idempotent: a batch may be delivered again after a crash. Throws classified errors. */
  flush(messages: InMessage<T>[], ctx: StageContext): Promise<void>;
}

export interface StageDefinition<T = any> {
  name: string;
  inputs: string[];
  outputs: string[];
  /** Reader schema per input topic (defaults to the topic's declared schema). */
  readers?: Record<string, string>;
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
   * Exactly-once across output topics: each chunk's outputs (all topics, DLQ included) and its input
   * offset are committed in one Kafka transaction, so a crash never leaves one output topic written
   * and another not (consumers read committed records only, kafkajs' default). Transactional id:
   * `<group>-tx[-$GFT_INSTANCE_ID]` (a restarted instance fences and aborts its predecessor's open
   * transaction). Outputs sent with ctx.emit are outside the transaction.
   */
  transactional?: boolean;
  sink?: SinkSpec<T>;
  init?(ctx: StageContext): Promise<void>;
  close?(ctx: StageContext): Promise<void>;
}

export interface RunnerOptions {
  namespace?: string;
  config?: PlatformConfig;
  fromBeginning?: boolean;
  maxInFlight?: number;
  maxInFlightBytes?: number;
  partitionsConsumedConcurrently?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  retryMaxElapsedMs?: number;
  breakerWindow?: number;
  breakerMinMessages?: number;
  breakerThreshold?: number;
  metricsIntervalMs?: number;
  publishLogs?: boolean;
  /** Group session timeout: how long a dead member holds its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** Topics outside the declared topology (benchmarks, tests, one-off tools). */
  extraTopics?: TopicSpec[];
  /** Override the group id (default: stage name, namespaced). */
  groupId?: string;
  /**
   * Fault injection for crash tests: called after a chunk's outputs are sent (inside the transaction
   * for a transactional stage) and before its offset is committed, with the chunk's number (from 1).
   */
  afterOutputsSent?: (chunk: number) => void;
  log?: Logger;
}

export interface StageCounters {
  in: number;
  out: number;
  dlq: number;
  retries: number;
  lag: number;
  committed: number;
  /** Milliseconds spent decoding and handling messages (the stage's share of a run's time). */
  busyMs: number;
}

const REBALANCED = new Set(['UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function headersToRecord(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

type Produced = { topic: string; messages: { key: string | Buffer | null; value: Buffer; headers?: IHeaders }[] };

export class StageRunner<T = any> {
  readonly ns: string;
  readonly groupId: string;
  readonly counters: StageCounters = { in: 0, out: 0, dlq: 0, retries: 0, lag: 0, committed: 0, busyMs: 0 };
  readonly log: Logger;
  private readonly cfg: PlatformConfig;
  private readonly opts: Required<Omit<RunnerOptions, 'config' | 'groupId' | 'log' | 'namespace' | 'extraTopics' | 'sessionTimeoutMs' | 'afterOutputsSent'>>;
  private readonly sessionTimeoutMs: number;
  private readonly extraTopics: TopicSpec[];
  private readonly serdes: AvroSerdes;
  private consumer?: Consumer;
  private producer?: Producer;
  private admin?: Admin;
  private readonly schemaIds = new Map<string, number>();
  private readonly recent: boolean[] = [];
  private procTimes: number[] = [];
  private metricsTimer?: NodeJS.Timeout;
  private logQueue: LogRecordValue[] = [];
  private stopping = false;
  private fatal?: Error;
  private done?: Promise<void>;
  private resolveDone?: () => void;
  private rejectDone?: (e: Error) => void;
  private sinkBuffer: { msg: InMessage<T>; partition: number; topic: string; offset: string }[] = [];
  private sinkFirstAt = 0;
  private sinkTimer?: NodeJS.Timeout;
  private lock: Promise<unknown> = Promise.resolve();
  private lastMetricsAt = Date.now();
  private lastCounters = { in: 0, out: 0, dlq: 0, retries: 0 };

  constructor(
    readonly stage: StageDefinition<T>,
    options: RunnerOptions = {},
  ) {
    this.cfg = options.config ?? platformConfig();
    this.ns = options.namespace ?? this.cfg.namespace;
    this.groupId = options.groupId ?? nsName(this.ns, stage.name);
    this.faults = options.afterOutputsSent;
    this.log = options.log ?? new Logger(stage.name);
    this.opts = {
      fromBeginning: options.fromBeginning ?? true,
      maxInFlight: options.maxInFlight ?? 500,
      maxInFlightBytes: options.maxInFlightBytes ?? 16 << 20,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      retryInitialMs: options.retryInitialMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      retryMaxElapsedMs: options.retryMaxElapsedMs ?? 300_000,
      breakerWindow: options.breakerWindow ?? 50,
      breakerMinMessages: options.breakerMinMessages ?? 20,
      breakerThreshold: options.breakerThreshold ?? 0.9,
      metricsIntervalMs: options.metricsIntervalMs ?? 10_000,
      publishLogs: options.publishLogs ?? true,
    };
    this.extraTopics = options.extraTopics ?? [];
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? Number(process.env.GFT_SESSION_TIMEOUT_MS || 30_000);
    if (!stage.handle && !stage.sink) throw new Error(`stage ${stage.name} defines neither handle nor sink`);
    this.serdes = new AvroSerdes(this.cfg.registryUrl);
  }

  private topicSpec(name: string): TopicSpec {
    return this.extraTopics.find((t) => t.name === name) ?? declaredTopic(name);
  }

  private physical(topic: string): string {
    return nsName(this.ns, topic);
  }

  private logical(physical: string): string {
    return this.ns && physical.startsWith(this.ns + '.') ? physical.slice(this.ns.length + 1) : physical;
  }

  private ctx(heartbeat: () => Promise<void>, source = 'emit'): StageContext {
    return {
      stage: this.stage.name,
      namespace: this.ns,
      log: this.log,
      heartbeat,
      emit: async (o: Output) => {
        await this.inflight; // earlier chunks' outputs go first
        const enc = this.encodeOutput(o, source);
        await this.send(new Map([[enc.topic, [enc]]]), heartbeat);
        this.counters.out++;
      },
    };
  }

  /** Connects, registers the output schemas, subscribes and starts consuming. Resolves once running. */
  async start(): Promise<void> {
    const kafka = createKafka(this.cfg, `${this.stage.name}-${instanceId}`);
    this.admin = kafka.admin();
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
    if (this.stage.transactional) {
      const instance = process.env.GFT_INSTANCE_ID ? `-${process.env.GFT_INSTANCE_ID}` : '';
      // short first retry: a transaction begun right after the previous commit is refused with
      // CONCURRENT_TRANSACTIONS until the broker has written the markers (a few ms)
      this.txProducer = kafka.producer({ transactionalId: `${this.groupId}-tx${instance}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { initialRetryTime: 10, retries: 12 } });
    }
    this.consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, sessionTimeout: this.sessionTimeoutMs, heartbeatInterval: Math.min(3000, Math.floor(this.sessionTimeoutMs / 3)), maxBytesPerPartition: 8 << 20 });
    const dlq = dlqTopic(this.stage.name);
    const outTopics = [...new Set([...this.stage.outputs, dlq.name, 'ops.metrics', 'ops.logs'])];
    await this.retryForever('registry.register', async () => {
      for (const t of outTopics) {
        const spec = t === dlq.name ? dlq : this.topicSpec(t);
        this.schemaIds.set(t, await this.serdes.register(`${this.physical(t)}-value`, spec.schema));
      }
    });
    await this.admin.connect();
    // The stage's own DLQ must exist before the first failure (brokers run without auto-create).
    const dlqName = this.physical(dlq.name);
    if (!(await this.admin.listTopics()).includes(dlqName)) {
      await createAndAwaitTopics(this.admin, [topicRequest(this.ns, dlq, await clusterLayout(this.admin))])
        .catch((e) => this.log.warn('could not create DLQ topic', { topic: dlqName, error: (e as Error).message }));
    }
    await this.producer.connect();
    await this.txProducer?.connect();
    await this.consumer.connect();
    for (const t of this.stage.inputs) await this.consumer.subscribe({ topic: this.physical(t), fromBeginning: this.opts.fromBeginning });
    if (this.opts.publishLogs) this.log.attach((r) => this.logQueue.push(r));
    const hb = async () => {};
    await this.stage.init?.(this.ctx(hb));
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => {});
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      const err = (e.payload as { error: Error }).error;
      this.log.error('consumer crashed', { error: err.message });
      if (!this.stopping) void this.fail(err);
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: (p) => this.eachBatch(p),
    });
    this.metricsTimer = setInterval(() => void this.publishMetrics().catch((e) => this.log.warn('metrics publish failed', { error: (e as Error).message })), this.opts.metricsIntervalMs);
    this.metricsTimer.unref();
    if (this.stage.sink) {
      this.sinkTimer = setInterval(() => void this.withLock(() => this.flushSinkIfDue(false)).catch((e) => void this.fail(e)), Math.max(50, Math.floor(this.stage.sink.maxMs / 4)));
      this.sinkTimer.unref();
    }
    this.log.info('stage started', { group: this.groupId, inputs: this.stage.inputs.map((t) => this.physical(t)), outputs: this.stage.outputs.map((t) => this.physical(t)) });
  }

  /** Resolves when the stage stops cleanly, rejects when it stops on a fatal error. */
  wait(): Promise<void> {
    if (!this.done) throw new Error('not started');
    return this.done;
  }

  private async fail(err: Error): Promise<void> {
    if (this.fatal) return;
    this.fatal = err;
    this.log.error('stage stopping on fatal error', { code: (err as { code?: string }).code ?? 'fatal', error: err.message });
    await this.stop().catch(() => {});
    this.rejectDone?.(err);
  }

  /** Clean shutdown: finish the current chunk, flush the sink, commit, disconnect. */
  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    clearInterval(this.metricsTimer);
    clearInterval(this.sinkTimer);
    try {
      await this.consumer?.stop();
      if (!this.fatal) await this.withLock(() => this.flushSinkIfDue(true));
      if (!this.fatal) await this.publishMetrics().catch(() => {});
      await this.stage.close?.(this.ctx(async () => {}));
    } finally {
      await this.consumer?.disconnect().catch(() => {});
      await this.producer?.disconnect().catch(() => {});
      await this.txProducer?.disconnect().catch(() => {});
      await this.admin?.disconnect().catch(() => {});
      this.log.info('stage stopped', { ...this.counters });
      if (!this.fatal) this.resolveDone?.();
    }
  }

  private withLock<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  /** Retries a retriable operation with exponential backoff; non-retriable errors are rethrown. */
  private async retry<R>(what: string, fn: () => Promise<R>, heartbeat?: () => Promise<void>): Promise<R> {
    const start = Date.now();
    let delay = this.opts.retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const c = classify(e);
        if (!c.retriable || REBALANCED.has((e as { type?: string }).type ?? '')) throw e;
        if (Date.now() - start > this.opts.retryMaxElapsedMs || this.stopping)
          throw new FatalStageError('stage.retries_exhausted', `${what}: still failing after ${Math.round((Date.now() - start) / 1000)} s: ${c.message}`);
        this.counters.retries++;
        this.log.warn('retriable failure, backing off', { what, code: c.code, error: c.message, attempt, delayMs: delay });
        const until = Date.now() + delay;
        while (Date.now() < until) {
          await sleep(Math.min(1000, until - Date.now()));
          await heartbeat?.().catch(() => {});
        }
        delay = Math.min(this.opts.retryMaxMs, delay * 2);
      }
    }
  }

  private retryForever<R>(what: string, fn: () => Promise<R>) {
    return this.retry(what, fn);
  }

  private deadLetter(m: KafkaMessage, topic: string, partition: number, code: string, message: string): Produced['messages'][number] {
    const failedAt = Date.now();
    const value = this.serdes.encode(this.schemaIds.get(dlqTopic(this.stage.name).name)!, {
      stage: this.stage.name,
      errorCode: code,
      errorMessage: message.slice(0, 4000),
      sourceTopic: topic,
      partition,
      offset: m.offset,
      failedAt,
      key: m.key ?? null,
      value: m.value ?? null,
    });
    return {
      key: m.key ?? null,
      value,
      headers: {
        'gft-error-code': code,
        'gft-error-message': message.slice(0, 1000),
        'gft-stage': this.stage.name,
        'gft-source-topic': topic,
        'gft-source-partition': String(partition),
        'gft-source-offset': m.offset,
      },
    };
  }

  /** Sliding window of outcomes with a running failure count (O(1) per message). */
  private recordOutcome(ok: boolean): void {
    this.recent.push(ok);
    if (!ok) this.recentFailed++;
    if (this.recent.length > this.opts.breakerWindow && !this.recent.shift()) this.recentFailed--;
    if (this.recentFailed && this.recent.length >= this.opts.breakerMinMessages && this.recentFailed / this.recent.length >= this.opts.breakerThreshold)
      throw new FatalStageError('stage.breaker_open', `DLQ breaker open: ${this.recentFailed} of the last ${this.recent.length} messages failed`);
  }
  private recentFailed = 0;

  private async decode(m: KafkaMessage, physicalTopic: string, partition: number, heartbeat: () => Promise<void>): Promise<InMessage<T>> {
    const topic = this.logical(physicalTopic);
    let reader = this.readerNames.get(topic);
    if (!reader) this.readerNames.set(topic, (reader = this.stage.readers?.[topic] ?? this.topicSpec(topic).schema));
    const fast = this.serdes.tryDecodeSync<T>(m.value, reader);
    const value = fast !== NOT_READY ? (fast as T) : await this.retry('decode', () => this.serdes.decode<T>(m.value, reader), heartbeat);
    return {
      topic,
      partition,
      offset: m.offset,
      key: m.key ? m.key.toString('utf8') : null,
      value,
      headers: headersToRecord(m.headers),
      timestamp: Number(m.timestamp),
      bytes: (m.value?.length ?? 0) + (m.key?.length ?? 0),
    };
  }

  private readonly readerNames = new Map<string, string>();

  private encodeOutput(o: Output, source: string): Produced['messages'][number] & { topic: string } {
    if (!this.stage.outputs.includes(o.topic)) throw new Error(`stage ${this.stage.name} produced to undeclared topic '${o.topic}'`);
    return {
      topic: o.topic,
      key: o.key,
      value: this.serdes.encode(this.schemaIds.get(o.topic)!, o.value),
      headers: { ...(o.headers ?? {}), 'gft-source': source, 'gft-stage': this.stage.name },
    };
  }

  private async send(batches: Map<string, Produced['messages']>, heartbeat: () => Promise<void>): Promise<void> {
    if (!batches.size) return;
    const topicMessages = [...batches.entries()].map(([t, messages]) => ({ topic: this.physical(t), messages }));
    await this.retry('produce', () => this.producer!.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None }), heartbeat);
  }

  /** Transactional stages: the chunk's outputs and its input offset, committed together or not at all. */
  private async sendAndCommitTx(batches: Map<string, Produced['messages']>, topic: string, partition: number, lastOffset: string, heartbeat: () => Promise<void>): Promise<void> {
    const topicMessages = [...batches.entries()].map(([t, messages]) => ({ topic: this.physical(t), messages }));
    const next = (BigInt(lastOffset) + 1n).toString();
    await this.retry(
      'transaction',
      async () => {
        const txn = await this.txProducer!.transaction();
        try {
          if (topicMessages.length) await txn.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
          this.faults?.(++this.chunksSent);
          await txn.sendOffsets({ consumerGroupId: this.groupId, topics: [{ topic, partitions: [{ partition, offset: next }] }] });
          await txn.commit();
        } catch (e) {
          await txn.abort().catch(() => {});
          throw e;
        }
      },
      heartbeat,
    );
    this.counters.committed++;
  }

  private async commit(topic: string, partition: number, lastOffset: string, heartbeat: () => Promise<void>): Promise<void> {
    const next = (BigInt(lastOffset) + 1n).toString();
    try {
      await this.retry('commit', () => this.consumer!.commitOffsets([{ topic, partition, offset: next }]), heartbeat);
    } catch (e) {
      // The group moved on (this member was evicted or the partition revoked): the work is done but
      // its offset cannot be committed by us any more; the new owner re-processes it (at-least-once,
      // idempotent outputs). Retrying would only stall this member.
      const type = (e as { type?: string }).type ?? '';
      if (REBALANCED.has(type) || /not aware of this member|rebalanc|generation/i.test((e as Error).message)) {
        this.log.warn('commit refused after a rebalance; the new owner will re-process', { topic, partition, offset: next, error: (e as Error).message });
        return;
      }
      throw e;
    }
    this.counters.committed++;
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, resolveOffset, isRunning, isStale } = p;
    this.counters.lag = Number(batch.offsetLagLow());
    try {
      let chunk: KafkaMessage[] = [];
      let bytes = 0;
      for (const m of batch.messages) {
        if (!isRunning() || isStale() || this.stopping) break;
        chunk.push(m);
        bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
        if (chunk.length >= this.opts.maxInFlight || bytes >= this.opts.maxInFlightBytes) {
          await this.withLock(() => this.processChunk(batch.topic, batch.partition, chunk, heartbeat, resolveOffset));
          chunk = [];
          bytes = 0;
        }
      }
      if (chunk.length && !this.stopping) await this.withLock(() => this.processChunk(batch.topic, batch.partition, chunk, heartbeat, resolveOffset));
      await this.inflight;
    } catch (e) {
      if (e instanceof FatalStageError || this.fatal) {
        void this.fail(e as Error);
        return; // never let kafkajs retry: nothing past the failure is committed
      }
      throw e;
    }
  }

  private async processChunk(topic: string, partition: number, chunk: KafkaMessage[], heartbeat: () => Promise<void>, resolveOffset: (o: string) => void): Promise<void> {
    const ctx = this.ctx(heartbeat);
    const outputs = new Map<string, Produced['messages']>();
    const push = (t: string, m: Produced['messages'][number]) => {
      let arr = outputs.get(t);
      if (!arr) outputs.set(t, (arr = []));
      arr.push(m);
    };
    const dlqName = dlqTopic(this.stage.name).name;
    const sinkMsgs: InMessage<T>[] = [];
    const early = this.stage.prepare && !this.stage.sink ? await this.startPrepares(chunk, topic, partition, heartbeat) : null;
    for (const [i, m] of chunk.entries()) {
      this.counters.in++;
      const t0 = performance.now();
      try {
        let msg: InMessage<T>;
        if (early) {
          const d = early[i];
          if ('error' in d) throw d.error;
          msg = d.msg;
          msg.prepared = await d.prepared;
        } else {
          msg = await this.decode(m, topic, partition, heartbeat);
        }
        if (this.stage.sink) {
          sinkMsgs.push(msg);
        } else {
          const source = `${topic}/${partition}/${m.offset}`;
          const hctx = this.ctx(heartbeat, source);
          // first attempt without the retry machinery (the hot path); retriable failures then retry
          let outs: Output[];
          try {
            const r = this.stage.handle!(msg, hctx);
            outs = r instanceof Promise ? await r : r;
          } catch (e) {
            if (!classify(e).retriable) throw e;
            msg.prepared = undefined;
            outs = await this.retry('handle', async () => await this.stage.handle!(msg, hctx), heartbeat);
          }
          for (const o of outs) {
            const enc = this.encodeOutput(o, source);
            push(enc.topic, enc);
          }
          this.counters.out += outs.length;
        }
        this.recordOutcome(true);
      } catch (e) {
        if (e instanceof FatalStageError) throw e;
        const c = classify(e);
        this.log.warn('message sent to DLQ', { code: c.code, error: c.message, topic, partition, offset: m.offset });
        push(dlqName, this.deadLetter(m, topic, partition, c.code, c.message));
        this.counters.dlq++;
        this.recordOutcome(false);
      }
      const took = performance.now() - t0;
      this.procTimes.push(took);
      this.counters.busyMs += took;
      await heartbeat().catch(() => {}); // throttled by kafkajs; keeps long chunks alive in the group
    }
    const last = chunk[chunk.length - 1].offset;
    if (!this.stage.sink) {
      // Pipelined: this chunk's produce + commit run while the next chunk is decoded and handled.
      // Chained on the previous one, so outputs and commits stay in partition order.
      const prev = this.inflight;
      this.inflight = (async () => {
        await prev;
        if (this.txProducer) {
          await this.sendAndCommitTx(outputs, topic, partition, last, heartbeat);
          resolveOffset(last);
          return;
        }
        await this.send(outputs, heartbeat);
        this.faults?.(++this.chunksSent);
        resolveOffset(last);
        await this.commit(topic, partition, last, heartbeat);
      })();
      this.inflight.catch(() => {});
      return;
    }
    await this.send(outputs, heartbeat);
    {
      // Offsets of a sink are committed by the flush that makes their rows durable (a chunk of
      // only dead-lettered messages is flushed at once, since nothing of it is buffered).
      for (const msg of sinkMsgs) this.sinkBuffer.push({ msg, partition, topic, offset: msg.offset });
      if (sinkMsgs.length && !this.sinkFirstAt) this.sinkFirstAt = Date.now();
      this.pendingSinkOffsets.set(`${topic}\u0000${partition}`, last);
      resolveOffset(last);
      await this.flushSinkIfDue(false, heartbeat);
    }
  }

  /** Decodes a chunk and starts the stage's prepare() on each message, at most prepareConcurrency at once. */
  private async startPrepares(chunk: KafkaMessage[], topic: string, partition: number, heartbeat: () => Promise<void>): Promise<Array<{ msg: InMessage<T>; prepared: Promise<unknown> } | { error: unknown }>> {
    const out: Array<{ msg: InMessage<T>; prepared: Promise<unknown> } | { error: unknown }> = [];
    const limit = Math.max(1, this.stage.prepareConcurrency ?? 2);
    let running = 0;
    const waiting: Array<() => void> = [];
    const slot = async () => {
      while (running >= limit) await new Promise<void>((r) => waiting.push(r));
      running++;
    };
    const release = () => {
      running--;
      waiting.shift()?.();
    };
    for (const m of chunk) {
      let msg: InMessage<T>;
      try {
        msg = await this.decode(m, topic, partition, heartbeat);
      } catch (e) {
        if (e instanceof FatalStageError) throw e;
        out.push({ error: e });
        continue;
      }
      const ctx = this.ctx(heartbeat, `${topic}/${partition}/${m.offset}`);
      const prepared = (async () => {
        await slot();
        try {
          return await this.stage.prepare!(msg, ctx);
        } finally {
          release();
        }
      })();
      prepared.catch(() => {}); // observed by the handle step; never an unhandled rejection
      out.push({ msg, prepared });
    }
    return out;
  }

  /** The produce + commit of the last processed chunk (pipelined); awaited before a batch ends. */
  private inflight: Promise<void> = Promise.resolve();

  private txProducer: Producer | null = null;
  private chunksSent = 0;
  private faults: ((chunk: number) => void) | undefined;

  private readonly pendingSinkOffsets = new Map<string, string>();

  private async flushSinkIfDue(force: boolean, heartbeat: () => Promise<void> = async () => {}): Promise<void> {
    const sink = this.stage.sink;
    if (!sink || !this.pendingSinkOffsets.size) return;
    const due = force || this.sinkBuffer.length === 0 || this.sinkBuffer.length >= sink.maxRows || (this.sinkFirstAt && Date.now() - this.sinkFirstAt >= sink.maxMs);
    if (!due) return;
    const batch = this.sinkBuffer;
    if (batch.length) {
      await this.retry('sink.flush', () => sink.flush(batch.map((b) => b.msg), this.ctx(heartbeat)), heartbeat);
      this.counters.out += batch.length;
    }
    this.sinkBuffer = [];
    this.sinkFirstAt = 0;
    const offsets = [...this.pendingSinkOffsets.entries()];
    this.pendingSinkOffsets.clear();
    for (const [k, last] of offsets) {
      const [topic, partition] = k.split('\u0000');
      await this.commit(topic, Number(partition), last, heartbeat);
    }
  }

  /** Publishes StageMetrics and queued logs (best effort: observability never blocks the stage). */
  private async publishMetrics(): Promise<void> {
    if (!this.producer) return;
    const now = Date.now();
    const times = this.procTimes.sort((a, b) => a - b);
    this.procTimes = [];
    const c = this.counters;
    const value = {
      stage: this.stage.name,
      instance: instanceId,
      time: now,
      intervalMs: now - this.lastMetricsAt,
      messagesIn: c.in - this.lastCounters.in,
      messagesOut: c.out - this.lastCounters.out,
      messagesDlq: c.dlq - this.lastCounters.dlq,
      retries: c.retries - this.lastCounters.retries,
      lag: c.lag,
      processingMsP50: percentile(times, 0.5),
      processingMsP99: percentile(times, 0.99),
    };
    this.lastMetricsAt = now;
    this.lastCounters = { in: c.in, out: c.out, dlq: c.dlq, retries: c.retries };
    const logs = this.logQueue.splice(0, this.logQueue.length);
    const topicMessages = [{ topic: this.physical('ops.metrics'), messages: [{ key: this.stage.name, value: this.serdes.encode(this.schemaIds.get('ops.metrics')!, value) }] }];
    if (logs.length) topicMessages.push({ topic: this.physical('ops.logs'), messages: logs.map((l) => ({ key: this.stage.name, value: this.serdes.encode(this.schemaIds.get('ops.logs')!, l) })) });
    await this.producer.sendBatch({ topicMessages, acks: -1 });
  }
}

/** Runs a stage until SIGINT/SIGTERM (clean shutdown) or a fatal error (exit code 1). */
export async function runStageProcess<T>(stage: StageDefinition<T>, options: RunnerOptions = {}): Promise<number> {
  const runner = new StageRunner(stage, options);
  const onSignal = (sig: string) => {
    runner.log.info('signal received, stopping', { signal: sig });
    void runner.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await runner.start();
  try {
    await runner.wait();
    return 0;
  } catch (e) {
    runner.log.error('stage failed', { error: (e as Error).message });
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
