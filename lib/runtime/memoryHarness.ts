/**
 * Runner tests without a broker: an in-memory Kafka, local schema ids and a manual clock, with the
 * declared topics of a namespace provisioned, and helpers to produce Avro records, read a topic back
 * decoded, and wait for a condition while letting the runners work.
 */
import { ManualClock, settle, systemClock } from './clock.ts';
import { StateStore } from './state.ts';
import type { GlobalTable } from './tables.ts';
import type { InMessage, Output, StageContext } from './stage.ts';
import { MemoryBroker } from './broker/memory.ts';
import { LocalSerdes } from './localSerdes.ts';
import { StageRunner, type RunnerOptions, type StageDefinition } from './runner.ts';
import { allTopics, changelogTopic, dlqTopic, nsName, topicSpec, type TopicSpec } from './topology.ts';
import { partitionsOf, topicLayout } from './topics.ts';
import { Logger } from './log.ts';

export class MemoryHarness {
  readonly clock = new ManualClock();
  readonly broker = new MemoryBroker(this.clock);
  readonly serdes = new LocalSerdes();
  private readonly ids = new Map<string, number>();
  readonly runners: StageRunner[] = [];
  private seq = 0;

  constructor(
    readonly ns = 'mem',
    readonly extra: TopicSpec[] = [],
    partitions = 6,
  ) {
    const layout = topicLayout(1, { GFT_TOPIC_PARTITIONS: String(partitions) });
    for (const t of [...allTopics(), ...extra]) this.broker.createTopic(nsName(ns, t.name), partitionsOf(t, layout));
  }

  spec(topic: string): TopicSpec {
    if (topic.endsWith('.dlq')) return dlqTopic(topic.slice(0, -4));
    if (topic.endsWith('.changelog')) return changelogTopic(topic.slice(0, -10));
    return this.extra.find((t) => t.name === topic) ?? topicSpec(topic);
  }

  async produce(topic: string, records: Array<{ key: string | null; value: unknown; partition?: number; headers?: Record<string, string> }>): Promise<void> {
    const spec = this.spec(topic);
    let id = this.ids.get(spec.schema);
    if (id === undefined) this.ids.set(spec.schema, (id = await this.serdes.register(`${topic}-value`, spec.schema)));
    const p = this.broker.producer({ clientId: 'harness' });
    await p.send([{ topic: nsName(this.ns, topic), records: records.map((r) => ({ key: r.key, value: this.serdes.encode(id!, r.value), partition: r.partition, headers: r.headers })) }]);
  }

  /** Raw bytes into a topic (not Avro). */
  async produceRaw(topic: string, key: string | null, value: Buffer, partition?: number): Promise<void> {
    await this.broker.producer({ clientId: 'harness' }).send([{ topic: nsName(this.ns, topic), records: [{ key, value, partition }] }]);
  }

  /** The committed records of a topic, decoded with its schema (tombstones as null). */
  read<V = any>(topic: string, schema = this.spec(topic).schema): Array<{ key: string | null; value: V; partition: number; offset: string; headers: Record<string, string> }> {
    return this.broker.records(nsName(this.ns, topic)).map((r) => ({
      key: r.key?.toString('utf8') ?? null,
      value: (r.value === null ? null : this.serdes.tryDecodeSync<V>(r.value, schema)) as V,
      partition: r.partition,
      offset: r.offset,
      headers: r.headers,
    }));
  }

  runner<T>(stage: StageDefinition<T>, o: RunnerOptions = {}): StageRunner<T> {
    const r = new StageRunner(stage, {
      namespace: this.ns,
      broker: this.broker,
      serdes: this.serdes,
      clock: this.clock,
      instance: `i${++this.seq}`,
      extraTopics: this.extra,
      metricsIntervalMs: 3_600_000,
      log: new Logger(stage.name, 'error', false),
      sessionTimeoutMs: 10_000,
      retryInitialMs: 100,
      ...o,
    });
    this.runners.push(r as StageRunner);
    return r;
  }

  /** Lets the runners work (and the clock move by `stepMs` per round) until `cond` holds. */
  /**
   * `stepMs`: the manual clock moves that much per round; `realMs`: each round also waits that long in
   * real time (stages doing real I/O: ClickHouse, files).
   */
  async until(cond: () => boolean, o: { stepMs?: number; realMs?: number; rounds?: number; what?: string } = {}): Promise<void> {
    const rounds = o.rounds ?? 400;
    for (let i = 0; i < rounds; i++) {
      if (cond()) return;
      await settle(3);
      if (cond()) return;
      if (o.realMs) await new Promise((r) => setTimeout(r, o.realMs));
      if (o.stepMs) await this.clock.advance(o.stepMs);
    }
    if (!cond()) throw new Error(`condition not reached${o.what ? `: ${o.what}` : ''}`);
  }

  async stopAll(): Promise<void> {
    for (const r of this.runners) if (!(r as unknown as { killed: boolean }).killed) await r.stop().catch(() => {});
  }
}

export function testTopic(name: string, partitions = 4, schema = 'org.gft.ops.Telemetry'): TopicSpec {
  return { name, schema, key: 'test key', partitions, cleanup: 'delete', retentionMs: 3_600_000, producer: 'external', consumers: [], doc: 'test' };
}

/**
 * A context for calling a stage's handle() directly in a unit test: its own store (a fresh one unless
 * given) and global tables from plain maps.
 */
export function stageContext(o: { stage?: string; store?: StateStore; tables?: Record<string, Map<string, unknown>>; partition?: number } = {}): StageContext {
  const tables = o.tables ?? {};
  return {
    stage: o.stage ?? 'test',
    namespace: '',
    instance: 'test',
    log: new Logger(o.stage ?? 'test', 'error', false),
    clock: systemClock,
    heartbeat: async () => {},
    signal: new AbortController().signal,
    partition: o.partition ?? 0,
    store: o.store ?? new StateStore(),
    table: <V>(name: string): GlobalTable<V> => {
      const m = (tables[name] ?? new Map()) as Map<string, V>;
      return { get: (k) => m.get(k), lookup: async (k) => m.get(k), keys: () => [...m.keys()], get size() { return m.size; } };
    },
  };
}

/** Runs a handler as the runner would for one message: the store keeps its writes only when it succeeds. */
export async function handleOnce<T>(stage: StageDefinition<T>, msg: InMessage<T>, ctx: StageContext): Promise<Output[]> {
  try {
    const outs = await stage.handle!(msg, ctx);
    ctx.store.commitMessage();
    return outs;
  } catch (e) {
    ctx.store.rollbackMessage();
    throw e;
  }
}
