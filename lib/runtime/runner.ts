/**
 * The stage runner: one stage, one consumer group, as many instances as you start.
 *
 * Contracts (who does what):
 * - A stage is a plain object (`StageDefinition`, stage.ts): it never touches Kafka. It gets one
 *   decoded record at a time with a context (its partition's state store, global tables, a revocation
 *   signal) and returns outputs, or throws a classified error (errors.ts).
 * - The runner owns consume, decode, produce, commit, dead letters, state and rebalances, through
 *   the broker interface (broker/types.ts: kafkajs for real, memory for tests) and an injected clock.
 * - Work is split per assigned input partition (task.ts: decode → prepare → handle → outputs), then
 *   written by the delivery step (delivery.ts: outputs → changelog → offset, or one transaction).
 * - Rebalances: after every (re)join each assigned partition gets a fresh task whose store is restored
 *   from the changelog before anything of it is processed; the tasks of the earlier assignment are
 *   revoked (their long work aborted, their unfinished messages left to the new owner). A rebalance is
 *   never a dead letter.
 * - Global tables are read to their end before the first record is processed, then followed.
 * - Retriable failures (broker, registry, ClickHouse, storage) are retried in place with backoff while
 *   heartbeating, without a time limit by default: a stage rides out a broker restart.
 * - Invalid input → `<stage>.dlq` (original bytes, reason in headers); a bug stops its partition;
 *   `maxConsecutiveDeadLetters` in a row stop the partition once they are written and committed.
 * - Work in flight is bounded by count and bytes per chunk.
 */
import { platformConfig, type PlatformConfig } from '../config/platform.ts';
import { AvroSerdes, NOT_READY } from './serdes.ts';
import { classify, FatalStageError } from './errors.ts';
import { nsName, topicSpec as declaredTopic, dlqTopic, changelogTopic, type TopicSpec } from './topology.ts';
import { Logger, instanceId, type LogRecordValue } from './log.ts';
import { topicLayout, topicRequest } from './topics.ts';
import { systemClock, type Clock } from './clock.ts';
import { KafkajsBroker } from './broker/kafkajs.ts';
import { isRebalance, tpKey, type BatchControl, type Broker, type BrokerAdmin, type BrokerProducer, type FetchedBatch, type GroupConsumer, type InRecord, type OutRecord, type TopicPartition } from './broker/types.ts';
import { AtLeastOnce, Transactional, type Delivery } from './delivery.ts';
import { PartitionTask, type TaskEnv } from './task.ts';
import { ChangelogReplica, TableSet } from './tables.ts';
import type { InMessage, Output, StageContext, StageDefinition } from './stage.ts';
import type { StateStore } from './state.ts';
import { NO_STORE } from './state.ts';
import { startHealthServer } from './health.ts';

export type { InMessage, Output, StageContext, StageDefinition, SinkSpec, Punctuator } from './stage.ts';

/** What the runner needs of the Avro serdes (AvroSerdes with a registry; LocalSerdes in tests). */
export interface Serdes {
  register(subject: string, schemaName: string): Promise<number>;
  encode(id: number, value: unknown): Buffer;
  tryDecodeSync<T>(buf: Buffer | null, readerName: string): T | typeof NOT_READY;
  decode<T>(buf: Buffer | null, readerName: string): Promise<T>;
}

export interface RunnerOptions {
  namespace?: string;
  config?: PlatformConfig;
  maxInFlight?: number;
  maxInFlightBytes?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Give up a retriable failure after this long (default: never — ride out any outage). */
  retryMaxElapsedMs?: number;
  /** Consecutive dead letters on one partition that stop it (default 20). */
  maxConsecutiveDeadLetters?: number;
  metricsIntervalMs?: number;
  publishLogs?: boolean;
  /** Group session timeout: how long a dead member holds its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** Topics outside the declared topology (benchmarks, tests, one-off tools). */
  extraTopics?: TopicSpec[];
  /** Override the group id (default: stage name, namespaced). */
  groupId?: string;
  /** This instance's id (default GFT_INSTANCE_ID, else host:pid): transactional id, client ids, logs. */
  instance?: string;
  /**
   * Fault injection for crash tests: called after a unit's outputs are sent (inside the transaction
   * for a transactional stage) and before its offset is committed, with the unit's number (from 1).
   */
  afterOutputsSent?: (unit: number) => void;
  log?: Logger;
  broker?: Broker;
  serdes?: Serdes;
  clock?: Clock;
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
  rebalances: number;
  restores: number;
  stoppedPartitions: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export class StageRunner<T = any> {
  readonly ns: string;
  readonly groupId: string;
  readonly instance: string;
  readonly counters: StageCounters = { in: 0, out: 0, dlq: 0, retries: 0, lag: 0, committed: 0, busyMs: 0, rebalances: 0, restores: 0, stoppedPartitions: 0 };
  readonly log: Logger;
  readonly clock: Clock;
  private readonly cfg: PlatformConfig;
  private readonly opts: { maxInFlight: number; maxInFlightBytes: number; retryInitialMs: number; retryMaxMs: number; retryMaxElapsedMs: number; maxConsecutiveDeadLetters: number; metricsIntervalMs: number; publishLogs: boolean };
  private readonly sessionTimeoutMs: number;
  private readonly extraTopics: TopicSpec[];
  private readonly broker: Broker;
  private readonly serdes: Serdes;
  private readonly clientId: string;
  private consumer: GroupConsumer | null = null;
  private producer?: BrokerProducer;
  private txProducer?: BrokerProducer;
  private admin?: BrokerAdmin;
  private tables?: TableSet;
  private replica: ChangelogReplica | null = null;
  private delivery!: Delivery;
  private tasks = new Map<string, PartitionTask<T>>();
  private readonly schemaIds = new Map<string, number>();
  private readonly readerNames = new Map<string, string>();
  private procTimes: number[] = [];
  private logQueue: LogRecordValue[] = [];
  private stopping = false;
  private killed = false;
  private fatal?: Error;
  private done?: Promise<void>;
  private resolveDone?: () => void;
  private rejectDone?: (e: Error) => void;
  private readonly loops = new AbortController();
  private lock: Promise<unknown> = Promise.resolve();
  private lastMetricsAt = 0;
  private lastCounters = { in: 0, out: 0, dlq: 0, retries: 0, busyMs: 0 };
  private unitsSent = 0;
  private readonly faults: ((unit: number) => void) | undefined;
  private sinkBuffer: InMessage<T>[] = [];
  private sinkFirstAt = 0;
  private readonly pendingSinkOffsets = new Map<string, { topic: string; partition: number; offset: string }>();

  constructor(
    readonly stage: StageDefinition<T>,
    options: RunnerOptions = {},
  ) {
    this.cfg = options.config ?? platformConfig();
    this.ns = options.namespace ?? this.cfg.namespace;
    this.groupId = options.groupId ?? nsName(this.ns, stage.name);
    this.instance = options.instance ?? (process.env.GFT_INSTANCE_ID || instanceId);
    this.clientId = `${stage.name}-${this.instance}`;
    this.faults = options.afterOutputsSent;
    this.log = options.log ?? new Logger(stage.name);
    this.clock = options.clock ?? systemClock;
    this.opts = {
      maxInFlight: options.maxInFlight ?? 500,
      maxInFlightBytes: options.maxInFlightBytes ?? 16 << 20,
      retryInitialMs: options.retryInitialMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      retryMaxElapsedMs: options.retryMaxElapsedMs ?? Number(process.env.GFT_RETRY_MAX_ELAPSED_MS || Infinity),
      maxConsecutiveDeadLetters: options.maxConsecutiveDeadLetters ?? 20,
      metricsIntervalMs: options.metricsIntervalMs ?? Number(process.env.GFT_METRICS_INTERVAL_MS || 10_000),
      publishLogs: options.publishLogs ?? true,
    };
    this.extraTopics = options.extraTopics ?? [];
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? Number(process.env.GFT_SESSION_TIMEOUT_MS || 30_000);
    if (!stage.handle && !stage.sink) throw new Error(`stage ${stage.name} defines neither handle nor sink`);
    if (stage.state && stage.inputs.length !== 1) throw new Error(`stage ${stage.name}: a stage with state has exactly one input stream (its store is partitioned like it); has ${stage.inputs.length}`);
    if (stage.state && stage.sink) throw new Error(`stage ${stage.name}: a sink has no state store`);
    // the stage's own principal on a secured cluster; the followers' groups `<ns>.<stage>-<instance>-…`
    this.broker = options.broker ?? new KafkajsBroker(this.cfg, (m, f) => this.log.warn(m, f), { principal: stage.name, groupPrefix: this.ns ? `${this.ns}.` : '' });
    this.serdes = options.serdes ?? new AvroSerdes(this.cfg.registryUrl);
  }

  private topicSpec(name: string): TopicSpec {
    if (name === `${this.stage.name}.changelog`) return changelogTopic(this.stage.name);
    if (name === `${this.stage.name}.dlq`) return dlqTopic(this.stage.name);
    return this.extraTopics.find((t) => t.name === name) ?? declaredTopic(name);
  }

  private physical(topic: string): string {
    return nsName(this.ns, topic);
  }

  private logical(physical: string): string {
    return this.ns && physical.startsWith(this.ns + '.') ? physical.slice(this.ns.length + 1) : physical;
  }

  private ctx(o: { partition: number | null; store: StateStore; signal: AbortSignal; heartbeat: () => Promise<void> }): StageContext {
    const tables = this.tables;
    return {
      stage: this.stage.name,
      namespace: this.ns,
      instance: this.instance,
      log: this.log,
      clock: this.clock,
      heartbeat: o.heartbeat,
      signal: o.signal,
      partition: o.partition,
      store: o.store,
      table: <V>(topic: string) => {
        if (!tables) throw new Error('tables are not started yet');
        return tables.table<V>(topic);
      },
    };
  }

  /** Connects, provisions its DLQ/changelog, registers the output schemas, reads its tables, joins the group. Resolves once running. */
  async start(): Promise<void> {
    this.done = new Promise((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => {});
    const stage = this.stage;
    this.admin = this.broker.admin({ clientId: `${this.clientId}-admin` });
    await this.retry('kafka.connect', () => this.admin!.connect());
    await this.retry('topics.provision', () => this.provisionTopics());
    const dlq = dlqTopic(stage.name);
    const outTopics = [...new Set([...stage.outputs, dlq.name, 'ops.metrics', 'ops.logs', ...(stage.state ? [`${stage.name}.changelog`] : [])])];
    await this.retry('registry.register', async () => {
      for (const t of outTopics) this.schemaIds.set(t, await this.serdes.register(`${this.physical(t)}-value`, this.topicSpec(t).schema));
    });
    this.producer = this.broker.producer({ clientId: `${this.clientId}-producer` });
    await this.retry('kafka.connect', () => this.producer!.connect());
    if (stage.transactional) {
      this.txProducer = this.broker.producer({ clientId: `${this.clientId}-tx`, transactionalId: `${this.groupId}-tx-${this.instance}` });
      await this.retry('kafka.connect', () => this.txProducer!.connect());
    }
    const fault = this.faults ? () => this.faults!(++this.unitsSent) : undefined;
    this.delivery = this.txProducer ? new Transactional(this.txProducer, this.groupId, this.counters, fault) : new AtLeastOnce(this.producer, () => this.consumer, this.log, this.counters, fault);
    this.tables = new TableSet(this.broker, this.serdes, {
      clientId: this.clientId,
      tables: (stage.tables ?? []).map((t) => ({ logical: t, physical: this.physical(t), reader: stage.readers?.[t] ?? this.topicSpec(t).schema })),
      warn: (m, f) => this.log.warn(m, f),
      clock: this.clock,
    });
    await this.retry('tables.read', () => this.tables!.start());
    if (stage.state) {
      this.replica = new ChangelogReplica(this.broker, this.serdes, { clientId: this.clientId, topic: this.physical(`${stage.name}.changelog`), warn: (m, f) => this.log.warn(m, f), clock: this.clock });
      await this.retry('changelog.read', () => this.replica!.start());
    }
    if (this.opts.publishLogs) this.log.attach((r) => this.logQueue.push(r));
    // init may need a dependency that is away (ClickHouse for the sinks' migrations): retried like the rest
    if (stage.init) await this.retry('stage.init', () => stage.init!(this.ctx({ partition: null, store: NO_STORE, signal: this.loops.signal, heartbeat: async () => {} })));
    this.consumer = this.broker.consumer({ clientId: `${this.clientId}-consumer`, groupId: this.groupId, topics: stage.inputs.map((t) => this.physical(t)), sessionTimeoutMs: this.sessionTimeoutMs });
    await this.retry('kafka.join', () =>
      this.consumer!.run({
        assigned: (tps) => this.assigned(tps),
        lost: (e) => this.lost(e),
        batch: (b, ctl) => this.batch(b, ctl),
      }),
    );
    this.lastMetricsAt = this.clock.now();
    this.loop(this.opts.metricsIntervalMs, async () => {
      await this.publishMetrics().catch((e) => this.log.warn('metrics publish failed', { error: (e as Error).message }));
      return false;
    });
    if (stage.sink) this.loop(Math.max(50, Math.floor(stage.sink.maxMs / 4)), async () => (await this.withLock(() => this.flushSinkIfDue(false)), false));
    if (stage.punctuate) this.loop(stage.punctuate.everyMs, () => this.punctuateAll());
    this.log.info('stage started', { group: this.groupId, instance: this.instance, inputs: stage.inputs.map((t) => this.physical(t)), tables: stage.tables ?? [], state: !!stage.state, outputs: stage.outputs.map((t) => this.physical(t)) });
  }

  /** The stage's DLQ and changelog exist (brokers run without auto-create), and the changelog is co-partitioned with the input. */
  private async provisionTopics(): Promise<void> {
    const admin = this.admin!;
    const specs = [dlqTopic(this.stage.name), ...(this.stage.state ? [changelogTopic(this.stage.name)] : [])];
    const existing = new Set(await admin.topics());
    const missing = specs.filter((t) => !existing.has(this.physical(t.name)));
    if (missing.length) {
      const layout = topicLayout(await admin.brokerCount());
      // a changelog gets its input's partition count, whatever the configuration says now
      const req = await Promise.all(missing.map(async (t) => ({ ...topicRequest(this.ns, t, layout), ...(t.name.endsWith('.changelog') ? { numPartitions: (await admin.partitions(this.physical(this.stage.inputs[0]))) || topicRequest(this.ns, t, layout).numPartitions } : {}) })));
      await admin.createTopics(req);
    }
    if (this.stage.state) {
      const input = this.physical(this.stage.inputs[0]);
      const [pi, pc] = [await admin.partitions(input), await admin.partitions(this.physical(`${this.stage.name}.changelog`))];
      if (pi && pc !== pi)
        throw new FatalStageError('stage.not_copartitioned', `${this.physical(`${this.stage.name}.changelog`)} has ${pc} partitions but ${input} has ${pi}: the state of input partition p lives in changelog partition p. Recreate the changelog with ${pi} partitions (it is rebuilt from the inputs' replay) or run in a new namespace.`);
    }
  }

  /** Resolves when the stage stops cleanly, rejects when it stops on a fatal error. */
  wait(): Promise<void> {
    if (!this.done) throw new Error('not started');
    return this.done;
  }

  /** For health probes: false once the stage failed for good. */
  get live(): boolean {
    return !this.fatal;
  }

  /** For health probes: null while the stage consumes; else why not. */
  notReady(): string | null {
    if (this.fatal) return `failed: ${this.fatal.message}`;
    if (this.stopping) return 'stopping';
    if (!this.consumer) return 'starting';
    const stopped = [...this.tasks.values()].filter((t) => t.stopped);
    if (stopped.length) return `${stopped.length} partition(s) stopped: ${stopped[0].stopped}`;
    return null;
  }

  /** Partitions currently assigned to this instance (logical topic names). */
  assignment(): TopicPartition[] {
    return [...this.tasks.values()].filter((t) => !t.revoked).map((t) => ({ topic: this.logical(t.topic), partition: t.partition }));
  }

  // ---- group membership ----

  private assigned(tps: TopicPartition[]): void {
    this.counters.rebalances++;
    this.revokeAll();
    for (const tp of tps) {
      const task = new PartitionTask<T>(tp.topic, tp.partition, this.taskEnv());
      if (this.replica) task.restored = this.withLock(() => task.restore(this.replica));
      task.restored.catch((e) => void this.fail(e as Error));
      this.tasks.set(tpKey(tp.topic, tp.partition), task);
    }
    this.log.info('partitions assigned', { partitions: tps.map((t) => `${this.logical(t.topic)}/${t.partition}`).join(' ') || 'none' });
  }

  private lost(e: Error): void {
    this.log.warn('group membership lost; partitions dropped until the member rejoins', { error: e.message });
    this.revokeAll();
  }

  private revokeAll(): void {
    if (!this.tasks.size) return;
    const parts = [...this.tasks.values()].map((t) => t.partition);
    for (const t of this.tasks.values()) t.revoke();
    this.tasks = new Map();
    this.stage.revoked?.(parts);
  }

  private async batch(b: FetchedBatch, ctl: BatchControl): Promise<string | undefined> {
    const task = this.tasks.get(tpKey(b.topic, b.partition));
    if (!task || task.revoked || this.stopping) return undefined;
    if (task.stopped) {
      this.consumer?.pause([{ topic: b.topic, partition: b.partition }]);
      return undefined;
    }
    try {
      return await this.withLock(() => task.process(b.records, ctl));
    } catch (e) {
      if (isRebalance(e)) return undefined;
      void this.fail(e instanceof FatalStageError ? e : new FatalStageError('stage.runner_failed', (e as Error).stack ?? String(e)));
      return undefined;
    }
  }

  /** Punctuates every task; returns ms until the next is due (0: at once). */
  private async punctuateAll(): Promise<number> {
    let next = Infinity;
    for (const task of [...this.tasks.values()]) {
      try {
        next = Math.min(next, await this.withLock(() => task.punctuate()));
      } catch (e) {
        void this.fail(e as Error);
      }
    }
    return next;
  }

  private taskEnv(): TaskEnv<T> {
    return {
      stage: this.stage,
      log: this.log,
      maxInFlight: Math.min(this.opts.maxInFlight, this.stage.maxChunk ?? Infinity),
      maxInFlightBytes: this.opts.maxInFlightBytes,
      maxConsecutiveDeadLetters: this.opts.maxConsecutiveDeadLetters,
      counters: this.counters,
      procTimes: this.procTimes,
      stopping: () => this.stopping,
      decode: (r, topic, partition, retry) => this.decode(r, topic, partition, retry),
      encode: (o, source) => this.encodeOutput(o, source),
      deadLetter: (r, topic, partition, code, message) => this.deadLetter(r, topic, partition, code, message),
      changelog: (changes, partition) => this.changelogRecords(changes, partition),
      ctx: (o) => this.ctx(o),
      retry: (what, fn, heartbeat, failed) => this.retry(what, fn, heartbeat, failed),
      delivery: this.delivery,
      pause: (topic, partition) => this.consumer?.pause([{ topic, partition }]),
      sinkAdd: this.stage.sink ? (msgs, topic, partition, last) => this.sinkAdd(msgs, topic, partition, last) : undefined,
    };
  }

  // ---- lifecycle ----

  private async fail(err: Error): Promise<void> {
    if (this.fatal || this.killed) return;
    this.fatal = err;
    this.log.error('stage stopping on fatal error', { code: (err as { code?: string }).code ?? 'fatal', error: err.message });
    await this.stop().catch(() => {});
    this.rejectDone?.(err);
  }

  /** Clean shutdown: finish the current chunk, flush the sink, commit, leave the group, disconnect. */
  async stop(): Promise<void> {
    if (this.stopping) return this.done?.catch(() => {});
    this.stopping = true;
    this.loops.abort();
    try {
      for (const t of this.tasks.values()) t.revoke();
      await this.consumer?.stop();
      if (!this.fatal) await this.withLock(() => this.flushSinkIfDue(true)).catch((e) => this.log.warn('final sink flush failed', { error: (e as Error).message }));
      await this.delivery?.drain().catch(() => {});
      if (!this.fatal) await this.publishMetrics().catch(() => {});
      await this.stage.close?.(this.ctx({ partition: null, store: NO_STORE, signal: this.loops.signal, heartbeat: async () => {} }));
    } finally {
      await this.tables?.stop().catch(() => {});
      await this.replica?.stop().catch(() => {});
      await this.producer?.disconnect().catch(() => {});
      await this.txProducer?.disconnect().catch(() => {});
      await this.admin?.disconnect().catch(() => {});
      this.log.info('stage stopped', { ...this.counters });
      if (!this.fatal) this.resolveDone?.();
    }
  }

  /**
   * Test handle for the in-memory broker: like kill -9 of this instance's process — nothing more is
   * written or committed, the group is not left (it notices at the session timeout).
   */
  kill(): void {
    const b = this.broker as { sever?: (clientId: string) => void };
    if (!b.sever) throw new Error('kill() needs a broker that can sever clients (the in-memory broker)');
    this.killed = true;
    this.stopping = true;
    this.loops.abort();
    b.sever(this.clientId);
    for (const t of this.tasks.values()) t.revoke();
  }

  /**
   * Runs `fn` every `ms` until the stage stops; again at once when it returns true or 0, sooner when it
   * returns a number of ms below `ms` (when its next work falls due).
   */
  private loop(ms: number, fn: () => Promise<boolean | number>): void {
    void (async () => {
      const signal = this.loops.signal;
      while (!signal.aborted) {
        const r = await fn().catch((e) => {
          void this.fail(e as Error);
          return false;
        });
        if (signal.aborted) return;
        const wait = r === true ? 0 : r === false ? ms : Math.min(ms, r);
        if (wait <= 0) await new Promise<void>((res) => setImmediate(res));
        else await this.clock.sleep(wait, signal);
      }
    })();
  }

  private withLock<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  /** Retries a retriable operation with exponential backoff; other errors (and rebalances) are rethrown. */
  async retry<R>(what: string, fn: () => Promise<R>, heartbeat?: () => Promise<void>, failed?: unknown): Promise<R> {
    const start = this.clock.now();
    let delay = this.opts.retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (failed !== undefined && attempt === 1) throw failed;
        return await fn();
      } catch (e) {
        const c = classify(e);
        if (!c.retriable || isRebalance(e)) throw e;
        if (this.killed) return new Promise<R>(() => {});
        if (this.clock.now() - start > this.opts.retryMaxElapsedMs || (this.stopping && !this.fatal && what !== 'sink.flush'))
          throw new FatalStageError('stage.retries_exhausted', `${what}: still failing after ${Math.round((this.clock.now() - start) / 1000)} s: ${c.message}`);
        this.counters.retries++;
        if (attempt <= 3 || attempt % 10 === 0) this.log.warn('retriable failure, backing off', { what, code: c.code, error: c.message, attempt, delayMs: delay });
        const until = this.clock.now() + delay;
        while (this.clock.now() < until) {
          await this.clock.sleep(Math.min(1000, until - this.clock.now()));
          try {
            await heartbeat?.();
          } catch (h) {
            if (isRebalance(h)) throw h; // a rebalance during the backoff hands the partition back
            // a heartbeat that cannot reach the brokers (they restart): keep backing off; the group
            // membership is the consumer's business (kafkajs rejoins, or the partition moves)
          }
        }
        delay = Math.min(this.opts.retryMaxMs, delay * 2);
      }
    }
  }

  // ---- records ----

  private async decode(r: InRecord, physicalTopic: string, partition: number, retry: <R>(what: string, fn: () => Promise<R>) => Promise<R>): Promise<InMessage<T>> {
    const topic = this.logical(physicalTopic);
    let reader = this.readerNames.get(topic);
    if (!reader) this.readerNames.set(topic, (reader = this.stage.readers?.[topic] ?? this.topicSpec(topic).schema));
    const fast = this.serdes.tryDecodeSync<T>(r.value, reader);
    const value = fast !== NOT_READY ? (fast as T) : await retry('decode', () => this.serdes.decode<T>(r.value, reader));
    return { topic, partition, offset: r.offset, key: r.key ? r.key.toString('utf8') : null, value, headers: r.headers, timestamp: r.timestamp, bytes: (r.value?.length ?? 0) + (r.key?.length ?? 0) };
  }

  private encodeOutput(o: Output, source: string): { topic: string; record: OutRecord } {
    if (!this.stage.outputs.includes(o.topic)) throw new Error(`stage ${this.stage.name} produced to undeclared topic '${o.topic}'`);
    return { topic: this.physical(o.topic), record: { key: o.key, value: this.serdes.encode(this.schemaIds.get(o.topic)!, o.value), headers: { ...(o.headers ?? {}), 'gft-source': source, 'gft-stage': this.stage.name } } };
  }

  private deadLetter(m: InRecord, physicalTopic: string, partition: number, code: string, message: string): { topic: string; record: OutRecord } {
    const dlq = dlqTopic(this.stage.name).name;
    const value = this.serdes.encode(this.schemaIds.get(dlq)!, {
      stage: this.stage.name,
      errorCode: code,
      errorMessage: message.slice(0, 4000),
      sourceTopic: physicalTopic,
      partition,
      offset: m.offset,
      failedAt: this.clock.now(),
      key: m.key ?? null,
      value: m.value ?? null,
    });
    return {
      topic: this.physical(dlq),
      record: {
        key: m.key ?? null,
        value,
        headers: { 'gft-error-code': code, 'gft-error-message': message.slice(0, 1000), 'gft-stage': this.stage.name, 'gft-source-topic': physicalTopic, 'gft-source-partition': String(partition), 'gft-source-offset': m.offset },
      },
    };
  }

  private changelogRecords(changes: Map<string, string | null>, partition: number): { topic: string; records: OutRecord[] } | null {
    if (!changes.size) return null;
    const logical = `${this.stage.name}.changelog`;
    const id = this.schemaIds.get(logical)!;
    return { topic: this.physical(logical), records: [...changes].map(([key, json]) => ({ key, partition, value: json === null ? null : this.serdes.encode(id, { stage: this.stage.name, json }) })) };
  }

  // ---- sinks ----

  private async sinkAdd(msgs: InMessage<T>[], topic: string, partition: number, last: string): Promise<void> {
    this.sinkBuffer.push(...msgs);
    if (msgs.length && !this.sinkFirstAt) this.sinkFirstAt = this.clock.now();
    this.pendingSinkOffsets.set(tpKey(topic, partition), { topic, partition, offset: (BigInt(last) + 1n).toString() });
    await this.flushSinkIfDue(false);
  }

  /** Offsets of a sink are committed by the flush that makes their rows durable. */
  private async flushSinkIfDue(force: boolean): Promise<void> {
    const sink = this.stage.sink;
    if (!sink || !this.pendingSinkOffsets.size) return;
    const due = force || this.sinkBuffer.length === 0 || this.sinkBuffer.length >= sink.maxRows || (this.sinkFirstAt && this.clock.now() - this.sinkFirstAt >= sink.maxMs);
    if (!due) return;
    const batch = this.sinkBuffer;
    if (batch.length) {
      await this.retry('sink.flush', () => sink.flush(batch, this.ctx({ partition: null, store: NO_STORE, signal: this.loops.signal, heartbeat: async () => {} })));
      this.counters.out += batch.length;
    }
    this.sinkBuffer = [];
    this.sinkFirstAt = 0;
    const offsets = [...this.pendingSinkOffsets.values()];
    this.pendingSinkOffsets.clear();
    for (const o of offsets) {
      try {
        await this.retry('commit', async () => this.consumer!.commit([o]));
        this.counters.committed++;
      } catch (e) {
        if (!isRebalance(e)) throw e;
        this.log.warn('commit refused after a rebalance; the new owner re-processes', { ...o });
      }
    }
  }

  /** What the stage holds now (StageMetrics' state fields): its stores' size, open bursts, cache bytes. */
  heldNow(): { stateKeys: number; stateBytes: number; burstsHeld: number; cacheBytes: number } {
    let stateKeys = 0;
    let stateBytes = 0;
    let burstsHeld = 0;
    for (const t of this.tasks.values()) {
      if (t.revoked || !this.stage.state) continue;
      stateKeys += t.store.size;
      stateBytes += t.store.bytes;
      burstsHeld += this.stage.held?.bursts(t.store) ?? 0;
    }
    return { stateKeys, stateBytes, burstsHeld, cacheBytes: this.stage.held?.cacheBytes?.() ?? 0 };
  }

  /** Publishes StageMetrics and queued logs (best effort: observability never blocks the stage). */
  private async publishMetrics(): Promise<void> {
    if (!this.producer || this.killed) return;
    const now = this.clock.now();
    const times = this.procTimes.sort((a, b) => a - b);
    this.procTimes.length = 0;
    const c = this.counters;
    const value = {
      stage: this.stage.name,
      instance: this.instance,
      time: now,
      intervalMs: now - this.lastMetricsAt,
      messagesIn: c.in - this.lastCounters.in,
      messagesOut: c.out - this.lastCounters.out,
      messagesDlq: c.dlq - this.lastCounters.dlq,
      retries: c.retries - this.lastCounters.retries,
      lag: c.lag,
      processingMsP50: percentile(times, 0.5),
      processingMsP99: percentile(times, 0.99),
      busyMs: c.busyMs - this.lastCounters.busyMs,
      stoppedPartitions: [...this.tasks.values()].filter((t) => t.stopped).length,
      ...this.heldNow(),
      rssBytes: process.memoryUsage.rss(),
    };
    this.lastMetricsAt = now;
    this.lastCounters = { in: c.in, out: c.out, dlq: c.dlq, retries: c.retries, busyMs: c.busyMs };
    const logs = this.logQueue.splice(0, this.logQueue.length);
    const records = [{ topic: this.physical('ops.metrics'), records: [{ key: this.stage.name, value: this.serdes.encode(this.schemaIds.get('ops.metrics')!, value) }] }];
    if (logs.length) records.push({ topic: this.physical('ops.logs'), records: logs.map((l) => ({ key: this.stage.name, value: this.serdes.encode(this.schemaIds.get('ops.logs')!, l) })) });
    await this.producer.send(records);
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
  // GET /health/live and /health/ready on GFT_HEALTH_PORT (unset: no server), for process supervisors
  const health = await startHealthServer({ live: () => runner.live, notReady: () => runner.notReady() }, { stage: stage.name, instance: runner.instance });
  try {
    await runner.start();
    await runner.wait();
    return 0;
  } catch (e) {
    runner.log.error('stage failed', { error: (e as Error).message });
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await health?.close();
  }
}
