/**
 * The DC3 chain: every stage in its own consumer group, in one run namespace, plus a monitor that
 * follows the chain's topics (reference files, frames, candidate lists, products, receipts, dead
 * letters, metrics) and decides when the run is complete. Two ways to run the stages:
 * - in this process, each as its own StageRunner (what `gft stage run <name>` runs) — the default;
 * - as separate OS processes, N instances per stage (`instances`), sharing the partitions of their
 *   inputs as a real deployment does (lib/runtime/supervisor.ts); `gft chaos` kills and restarts them.
 * Progress is read from the topics (distinct frames, lists, products, dead letters) in both ways, so
 * duplicates from redelivery after a crash never count twice.
 * Used by `gft dc3`, `gft replay`, `gft chaos` and `npm run bench -- dc3`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { DLQ_STAGES, TOPICS, dlqTopic, nsName, topicSpec } from '../../lib/runtime/topology.ts';
import { STAGE_WIRING, loadStage } from '../../lib/runtime/stageCli.ts';
import { Supervisor } from '../../lib/runtime/supervisor.ts';

export const CHAIN = ['alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc', 'clickhouse-sink'] as const;

/** What the monitor saw on the chain's output topics. */
export interface ChainOutputs {
  /** burst id → epochs (minutes) of its latest reference file */
  references: Map<string, number[]>;
  lists: Array<Record<string, any>>;
  products: Array<Record<string, any>>;
  receipts: Array<Record<string, any>>;
  /** DATE-OBS (ms) of the object frames the provider injected */
  objectFrames: number[];
  /** the alert manager's decisions (alerts.managed) and when the monitor saw them */
  decisions: Array<{ burstId: string | null; action: string; reason: string; seenAt: number }>;
}

export type ChainOutcome = 'complete' | 'timeout' | 'idle' | 'not-triggered' | 'stage-stopped';

export interface ChainProgress {
  /** distinct frames announced on images.raw */
  framesIn: number;
  /** distinct masters and calibrated frames announced */
  calibrated: number;
  epochsDone: number;
  epochsExpected: number;
  productsAccepted: number;
  productsRejected: number;
  /** records on the stages' dead-letter topics */
  dlq: number;
}

export interface ChainOptions {
  /** Instances per stage, each a separate OS process (0: every stage in this process). */
  instances?: number;
  /** Folder for the stage processes' logs. */
  logDir?: string;
  /** Session timeout of the in-process runners (ms). */
  sessionTimeoutMs?: number;
  /** Environment of the stage processes. */
  env?: Record<string, string>;
}

/** A dead letter seen on a stage's DLQ topic. */
export interface DeadLetterSeen {
  stage: string;
  code: string;
  message: string;
  source: string;
}

export interface StageTiming {
  stage: string;
  in: number;
  out: number;
  dlq: number;
  busySeconds: number;
  /** first output after the chain's start, seconds (null: none) */
  firstOutputSeconds: number | null;
}

const WATCHED = ['alerts.managed', 'alerts.reference', 'images.raw', 'gp1.masters', 'gp1.calibrated', 'gp1.candidates', 'gic.products', 'fsc.receipts', 'ops.metrics', ...DLQ_STAGES.map((s) => dlqTopic(s).name)];

export class Chain {
  readonly runners: StageRunner[] = [];
  readonly supervisor: Supervisor | null;
  readonly outputs: ChainOutputs = { references: new Map(), lists: [], products: [], receipts: [], objectFrames: [], decisions: [] };
  readonly deadLetters: DeadLetterSeen[] = [];
  private readonly frames = new Set<string>();
  private readonly seenDlq = new Set<string>();
  private readonly calibrated = new Set<string>();
  /** stage → summed ops.metrics of its instances */
  private readonly metrics = new Map<string, { in: number; out: number; dlq: number; busyMs: number; stoppedPartitions: number }>();
  /** instance → what it held at its latest ops.metrics report */
  readonly held = new Map<string, { stage: string; time: number; burstsHeld: number; stateKeys: number; stateBytes: number; cacheBytes: number; rssBytes: number }>();
  private consumer: Consumer | null = null;
  private readonly firstOutput = new Map<string, number>();
  private lastChange = Date.now();
  private seen = 0;
  startedAt = Date.now();

  constructor(
    readonly namespace: string,
    readonly stages: readonly string[],
    private readonly log: (s: string) => void = () => {},
    private readonly opts: ChainOptions = {},
  ) {
    this.supervisor = opts.instances ? new Supervisor({ log }) : null;
  }

  by(name: string): StageRunner | undefined {
    return this.runners.find((r) => r.stage.name === name);
  }

  private stopped = false;

  /**
   * The monitor: a consumer of the watched topics. When kafkajs gives up on it (the brokers away for
   * a while: `gft chaos` restarts them) it is rebuilt in the same group, so it goes on from its
   * committed offsets (what it may see twice is counted once: distinct sets).
   */
  private async startMonitor(groupId: string): Promise<void> {
    const cfg = platformConfig();
    const kafka = createKafka(cfg, 'gft-chain-monitor');
    const serdes = new AvroSerdes(cfg.registryUrl);
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.stopped || (e.payload as { restart: boolean }).restart) return;
      setTimeout(() => {
        if (this.stopped) return;
        void consumer.disconnect().catch(() => {});
        this.startMonitor(groupId).catch((err: Error) => this.log(`monitor: reconnect failed: ${err.message}`));
      }, 2000);
    });
    await consumer.connect();
    for (const t of WATCHED) await consumer.subscribe({ topic: nsName(this.namespace, t), fromBeginning: true });
    await this.runMonitor(consumer, serdes);
  }

  /** Starts the monitor, then the stages (downstream first, so nothing waits on a rebalance). */
  async start(): Promise<void> {
    await this.startMonitor(nsName(this.namespace, `chain-monitor-${process.pid}-${Date.now()}`));
    await this.startStages();
  }

  private async runMonitor(consumer: Consumer, serdes: AvroSerdes): Promise<void> {
    const o = this.outputs;
    const producerOf = new Map(TOPICS.map((t) => [t.name, t.producer as string]));
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const logical = WATCHED.find((t) => topic === nsName(this.namespace, t))!;
        const spec = logical.endsWith('.dlq') ? dlqTopic(logical.slice(0, -4)) : topicSpec(logical);
        const v = (await serdes.decode(message.value!, spec.schema)) as Record<string, any>;
        if (logical === 'ops.metrics') {
          const m = this.metrics.get(v.stage) ?? { in: 0, out: 0, dlq: 0, busyMs: 0, stoppedPartitions: 0 };
          this.metrics.set(v.stage, { in: m.in + v.messagesIn, out: m.out + v.messagesOut, dlq: m.dlq + v.messagesDlq, busyMs: m.busyMs + (v.busyMs ?? 0), stoppedPartitions: Math.max(m.stoppedPartitions, v.stoppedPartitions ?? 0) });
          if (Number(v.time) >= (this.held.get(v.instance)?.time ?? 0))
            this.held.set(v.instance, { stage: v.stage, time: Number(v.time), burstsHeld: v.burstsHeld ?? 0, stateKeys: Number(v.stateKeys ?? 0), stateBytes: Number(v.stateBytes ?? 0), cacheBytes: Number(v.cacheBytes ?? 0), rssBytes: Number(v.rssBytes ?? 0) });
          return;
        }
        this.lastChange = Date.now();
        this.seen++;
        const producer = producerOf.get(logical);
        if (producer && !this.firstOutput.has(producer)) this.firstOutput.set(producer, Date.now() - this.startedAt);
        if (logical === 'alerts.managed') o.decisions.push({ burstId: v.burstId ?? null, action: v.action, reason: v.reason, seenAt: Date.now() });
        else if (logical === 'alerts.reference') o.references.set(v.burstId, v.epochsMinutes);
        else if (logical === 'images.raw') {
          if (this.frames.has(v.frameId)) return; // announced again after a restart
          this.frames.add(v.frameId);
          if (v.imageType === 'object') o.objectFrames.push(Date.parse(v.dateObs));
        } else if (logical === 'gp1.masters') this.calibrated.add(`master ${v.masterId}`);
        else if (logical === 'gp1.calibrated') this.calibrated.add(`frame ${v.frameId}`);
        else if (logical === 'gp1.candidates') o.lists.push(v);
        else if (logical === 'gic.products') o.products.push(v);
        else if (logical === 'fsc.receipts') o.receipts.push(v);
        else if (!this.seenDlq.has(`${topic}/${v.sourceTopic}/${v.partition}/${v.offset}`) && this.seenDlq.add(`${topic}/${v.sourceTopic}/${v.partition}/${v.offset}`))
          this.deadLetters.push({ stage: v.stage, code: v.errorCode, message: v.errorMessage, source: String(v.sourceTopic).startsWith('file:') ? String(v.sourceTopic).slice(5) : `${v.sourceTopic}/${v.partition}/${v.offset}` });
      },
    });
  }

  private async startStages(): Promise<void> {
    this.startedAt = Date.now();
    const available = [...this.stages].filter((name) => {
      if (existsSync(join(repoRoot, STAGE_WIRING[name]))) return true;
      this.log(`stage ${name}: not available in this build, skipped`);
      return false;
    });
    if (this.supervisor) {
      // downstream first, so that nothing waits on a rebalance; then wait for every group to be whole
      for (const name of [...available].reverse()) for (let i = 1; i <= this.opts.instances!; i++) this.supervisor.add({ stage: name, index: i, namespace: this.namespace, logDir: this.opts.logDir, env: this.opts.env }).start();
      this.log(`${available.length} stages x ${this.opts.instances} instances started as processes${this.opts.logDir ? ` (logs in ${this.opts.logDir})` : ''}`);
      await this.groupsReady(available, this.opts.instances!);
      return;
    }
    for (const name of [...available].reverse()) {
      const r = new StageRunner(await loadStage(name), { namespace: this.namespace, sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 60_000, metricsIntervalMs: 2000 });
      await r.start();
      this.runners.unshift(r);
    }
  }

  /** Waits until each stage's consumer group is stable with `n` members (processes started and joined). */
  async groupsReady(stages: string[], n: number, timeoutMs = 180_000): Promise<void> {
    const admin = createKafka(platformConfig(), 'gft-chain-groups').admin();
    await admin.connect();
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { groups } = await admin.describeGroups(stages.map((s) => nsName(this.namespace, s)));
        const waiting = groups.filter((g) => g.state !== 'Stable' || g.members.length < n).map((g) => `${g.groupId} (${g.state}, ${g.members.length}/${n})`);
        if (!waiting.length) return;
        const dead = this.supervisor?.failures() ?? [];
        if (dead.length) throw new Error(`stage processes exited while starting: ${dead.map((d) => `${d.stage}-${d.index} (code ${d.code})`).join(', ')}${this.opts.logDir ? ` — see ${this.opts.logDir}` : ''}`);
        if (Date.now() > deadline) throw new Error(`stage groups not ready within ${timeoutMs / 1000} s: ${waiting.join(', ')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** (burst, epoch) pairs that have a candidate list. */
  epochsDone(): number {
    return new Set(this.outputs.lists.map((l) => `${l.burstId}\u0000${l.epochMinutes}`)).size;
  }

  epochsExpected(): number {
    return [...this.outputs.references.values()].reduce((n, e) => n + e.length, 0);
  }

  progress(): ChainProgress {
    // the latest verdict per product (a redelivered announcement gets the same receipt again)
    const verdicts = new Map(this.outputs.receipts.map((x) => [`${x.productId}\u0000${x.sha256}`, x.status as string]));
    return {
      framesIn: this.frames.size,
      calibrated: this.calibrated.size,
      epochsDone: this.epochsDone(),
      epochsExpected: this.epochsExpected(),
      productsAccepted: [...verdicts.values()].filter((s) => s === 'accepted').length,
      productsRejected: [...verdicts.values()].filter((s) => s !== 'accepted').length,
      dlq: this.deadLetters.length,
    };
  }

  /** Partitions stopped by a stage (a bug, or the dead-letter limit): the run cannot complete. */
  stoppedPartitions(): Array<{ stage: string; partitions: number }> {
    const fromRunners = this.runners.filter((r) => r.counters.stoppedPartitions > 0).map((r) => ({ stage: r.stage.name, partitions: r.counters.stoppedPartitions }));
    const fromMetrics = [...this.metrics].filter(([, m]) => m.stoppedPartitions > 0).map(([stage, m]) => ({ stage, partitions: m.stoppedPartitions }));
    return this.runners.length ? fromRunners : fromMetrics;
  }

  /**
   * Complete: every epoch of every referenced burst has a candidate list, every product a receipt
   * (when the chain has GIC/FSC), and every candidate list its product.
   */
  complete(): boolean {
    const o = this.outputs;
    const expected = this.epochsExpected();
    if (!expected || this.epochsDone() < expected) return false;
    const has = (stage: string) => this.stages.includes(stage) && existsSync(join(repoRoot, STAGE_WIRING[stage]));
    // distinct: a list or product announced again after a restart counts once
    const lists = new Set(o.lists.map((l) => `${l.burstId}\u0000${l.epochMinutes}\u0000${l.revision}`));
    const products = new Map(o.products.map((p) => [`${p.productId}\u0000${p.revision}`, p.storage?.sha256 as string]));
    if (has('gic') && products.size < lists.size) return false;
    // per burst too: one burst's final products must not hide another's missing ones
    if (has('gic'))
      for (const b of new Set(o.lists.map((l) => l.burstId as string))) {
        const lb = new Set(o.lists.filter((l) => l.burstId === b).map((l) => `${l.epochMinutes}\u0000${l.revision}`)).size;
        const pb = new Set(o.products.filter((p) => p.burstId === b).map((p) => `${p.productId}\u0000${p.revision}`)).size;
        if (pb < lb) return false;
      }
    if (has('fsc')) {
      const receipted = new Set(o.receipts.map((r) => `${r.productId}\u0000${r.sha256}`));
      if (![...products].every(([k, sha]) => receipted.has(`${k.split('\u0000')[0]}\u0000${sha}`))) return false;
    }
    return true;
  }

  /**
   * The alert manager decided on every alert it got and none of them triggered GP1 (ignored: test,
   * catalog, no usable position…; retracted), 2 s after its last decision: nothing more will come.
   */
  notTriggered(): boolean {
    const d = this.outputs.decisions;
    return d.length > 0 && this.outputs.references.size === 0 && d.every((x) => x.action !== 'trigger' && x.action !== 'update') && Date.now() - d[d.length - 1].seenAt > 2000;
  }

  /** Waits until complete(), an alert that triggers nothing, the timeout, or (idleS > 0) no stage consumed or produced anything for idleS seconds. */
  async wait(o: { timeoutS: number; idleS?: number; onProgress?: (p: ChainProgress) => void; tolerateStops?: boolean }): Promise<ChainOutcome> {
    const deadline = Date.now() + o.timeoutS * 1000;
    let last = '';
    let lastActivity = '';
    for (;;) {
      const p = this.progress();
      const line = JSON.stringify(p);
      if (line !== last) o.onProgress?.(p);
      last = line;
      // activity: any stage consumed or produced something (a long step keeps `busyMs` unchanged
      // until it ends, so idleS must exceed the longest single step, e.g. building masters)
      // (the ClickHouse sink is left out: it keeps consuming the stages' own metrics and logs)
      const activity = this.runners.filter((r) => !r.stage.inputs.every((t) => t.startsWith('ops.'))).map((r) => `${r.counters.in}/${r.counters.out}/${r.counters.dlq}`).join(',') + line + this.seen;
      if (activity !== lastActivity) this.lastChange = Math.max(this.lastChange, Date.now());
      lastActivity = activity;
      if (this.complete()) return 'complete';
      if (this.notTriggered()) return 'not-triggered';
      if (this.stoppedPartitions().length && !o.tolerateStops) return 'stage-stopped';
      if (Date.now() > deadline) return 'timeout';
      if (o.idleS && Date.now() - this.lastChange > o.idleS * 1000) return 'idle';
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Per stage: messages in/out, dead letters, busy time (in-process: the runners' counters; processes: ops.metrics of all instances). */
  timings(): StageTiming[] {
    const first = (stage: string) => (this.firstOutput.has(stage) ? this.firstOutput.get(stage)! / 1000 : null);
    if (this.runners.length)
      return this.runners.map((r) => ({ stage: r.stage.name, in: r.counters.in, out: r.counters.out, dlq: r.counters.dlq, busySeconds: Math.round(r.counters.busyMs) / 1000, firstOutputSeconds: first(r.stage.name) }));
    return this.stages.map((stage) => {
      const m = this.metrics.get(stage) ?? { in: 0, out: 0, dlq: 0, busyMs: 0 };
      return { stage, in: m.in, out: m.out, dlq: m.dlq, busySeconds: Math.round(m.busyMs) / 1000, firstOutputSeconds: first(stage) };
    });
  }

  /** Stops the stages (in parallel, cleanly: their last metrics are published) and the monitor. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop().catch(() => {})));
    if (this.supervisor) {
      await this.supervisor.stopAll();
      await new Promise((r) => setTimeout(r, 500)); // the instances' last metrics reach the monitor
    }
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => {});
    this.consumer = null;
  }
}

export function progressLine(p: ChainProgress): string {
  // (distinct counts: frames announced again after a restart count once)
  return `frames in ${p.framesIn} | calibrated ${p.calibrated} | epochs ${p.epochsDone}/${p.epochsExpected || '?'} | products accepted ${p.productsAccepted}${p.productsRejected ? ` rejected ${p.productsRejected}` : ''} | DLQ ${p.dlq}`;
}

/** The latest revision of each (burst, epoch) candidate list. */
export function latestLists(lists: Array<Record<string, any>>): Array<Record<string, any>> {
  const m = new Map<string, Record<string, any>>();
  for (const l of lists) {
    const k = `${l.burstId}\u0000${l.epochMinutes}`;
    const prev = m.get(k);
    if (!prev || l.revision > prev.revision) m.set(k, l);
  }
  return [...m.values()].sort((a, b) => a.burstId.localeCompare(b.burstId) || a.epochMinutes - b.epochMinutes);
}
