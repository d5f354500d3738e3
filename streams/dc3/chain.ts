/**
 * The DC3 chain in one process: each stage runs as its own StageRunner (its own consumer group, in
 * one run namespace), exactly as `gft stage run <name>` would run it in its own process, plus a
 * monitor that follows the chain's outputs (reference files, candidate lists, products, receipts)
 * and decides when the run is complete. Used by `gft dc3`, `gft replay` and `npm run bench -- dc3`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName, topicSpec } from '../../lib/runtime/topology.ts';
import { STAGE_WIRING, loadStage } from '../../lib/runtime/stageCli.ts';

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

export type ChainOutcome = 'complete' | 'timeout' | 'idle' | 'not-triggered';

export interface ChainProgress {
  framesIn: number;
  calibrated: number;
  epochsDone: number;
  epochsExpected: number;
  productsAccepted: number;
  productsRejected: number;
  dlq: number;
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

const WATCHED = ['alerts.managed', 'alerts.reference', 'images.raw', 'gp1.candidates', 'gic.products', 'fsc.receipts'];

export class Chain {
  readonly runners: StageRunner[] = [];
  readonly outputs: ChainOutputs = { references: new Map(), lists: [], products: [], receipts: [], objectFrames: [], decisions: [] };
  private consumer: Consumer | null = null;
  private readonly firstOutput = new Map<string, number>();
  private lastChange = Date.now();
  startedAt = Date.now();

  constructor(
    readonly namespace: string,
    readonly stages: readonly string[],
    private readonly log: (s: string) => void = () => {},
  ) {}

  by(name: string): StageRunner | undefined {
    return this.runners.find((r) => r.stage.name === name);
  }

  /** Starts the monitor, then the stages (downstream first, so nothing waits on a rebalance). */
  async start(): Promise<void> {
    const cfg = platformConfig();
    const kafka = createKafka(cfg, 'gft-chain-monitor');
    const serdes = new AvroSerdes(cfg.registryUrl);
    this.consumer = kafka.consumer({ groupId: nsName(this.namespace, `chain-monitor-${process.pid}-${Date.now()}`), maxWaitTimeInMs: 200 });
    await this.consumer.connect();
    for (const t of WATCHED) await this.consumer.subscribe({ topic: nsName(this.namespace, t), fromBeginning: true });
    const o = this.outputs;
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const logical = WATCHED.find((t) => topic === nsName(this.namespace, t))!;
        const v = (await serdes.decode(message.value!, topicSpec(logical).schema)) as Record<string, any>;
        this.lastChange = Date.now();
        if (logical === 'alerts.managed') o.decisions.push({ burstId: v.burstId ?? null, action: v.action, reason: v.reason, seenAt: Date.now() });
        else if (logical === 'alerts.reference') o.references.set(v.burstId, v.epochsMinutes);
        else if (logical === 'images.raw') {
          if (v.imageType === 'object') o.objectFrames.push(Date.parse(v.dateObs));
        }
        else if (logical === 'gp1.candidates') o.lists.push(v);
        else if (logical === 'gic.products') o.products.push(v);
        else o.receipts.push(v);
      },
    });
    this.startedAt = Date.now();
    for (const name of [...this.stages].reverse()) {
      if (!existsSync(join(repoRoot, STAGE_WIRING[name]))) {
        this.log(`stage ${name}: not available in this build, skipped`);
        continue;
      }
      const r = new StageRunner(await loadStage(name), { namespace: this.namespace, sessionTimeoutMs: 60_000, metricsIntervalMs: 2000 });
      await r.start();
      this.runners.unshift(r);
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
    const r = this.outputs.receipts;
    return {
      framesIn: this.by('provider')?.counters.out ?? 0,
      calibrated: this.by('gp1-calibration')?.counters.out ?? 0,
      epochsDone: this.epochsDone(),
      epochsExpected: this.epochsExpected(),
      productsAccepted: r.filter((x) => x.status === 'accepted').length,
      productsRejected: r.filter((x) => x.status !== 'accepted').length,
      dlq: this.runners.reduce((s, x) => s + x.counters.dlq, 0),
    };
  }

  /**
   * Complete: every epoch of every referenced burst has a candidate list, every product a receipt
   * (when the chain has GIC/FSC), and every candidate list its product.
   */
  complete(): boolean {
    const o = this.outputs;
    const expected = this.epochsExpected();
    if (!expected || this.epochsDone() < expected) return false;
    if (this.by('gic') && o.products.length < o.lists.length) return false;
    if (this.by('fsc')) {
      const receipted = new Set(o.receipts.map((r) => `${r.productId}\u0000${r.revision ?? 0}`));
      if (!o.products.every((p) => receipted.has(`${p.productId}\u0000${p.revision ?? 0}`))) return false;
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
  async wait(o: { timeoutS: number; idleS?: number; onProgress?: (p: ChainProgress) => void }): Promise<ChainOutcome> {
    const deadline = Date.now() + o.timeoutS * 1000;
    let last = '';
    let lastActivity = '';
    for (;;) {
      for (const r of this.runners) if (!this.firstOutput.has(r.stage.name) && r.counters.out > 0) this.firstOutput.set(r.stage.name, Date.now() - this.startedAt);
      const p = this.progress();
      const line = JSON.stringify(p);
      if (line !== last) o.onProgress?.(p);
      last = line;
      // activity: any stage consumed or produced something (a long step keeps `busyMs` unchanged
      // until it ends, so idleS must exceed the longest single step, e.g. building masters)
      // (the ClickHouse sink is left out: it keeps consuming the stages' own metrics and logs)
      const activity = this.runners.filter((r) => !r.stage.inputs.every((t) => t.startsWith('ops.'))).map((r) => `${r.counters.in}/${r.counters.out}/${r.counters.dlq}`).join(',') + line;
      if (activity !== lastActivity) this.lastChange = Math.max(this.lastChange, Date.now());
      lastActivity = activity;
      if (this.complete()) return 'complete';
      if (this.notTriggered()) return 'not-triggered';
      if (Date.now() > deadline) return 'timeout';
      if (o.idleS && Date.now() - this.lastChange > o.idleS * 1000) return 'idle';
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  timings(): StageTiming[] {
    return this.runners.map((r) => ({
      stage: r.stage.name,
      in: r.counters.in,
      out: r.counters.out,
      dlq: r.counters.dlq,
      busySeconds: Math.round(r.counters.busyMs) / 1000,
      firstOutputSeconds: this.firstOutput.has(r.stage.name) ? this.firstOutput.get(r.stage.name)! / 1000 : null,
    }));
  }

  /** Stops the stages (in parallel) and the monitor. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop().catch(() => {})));
    await this.consumer?.disconnect().catch(() => {});
    this.consumer = null;
  }
}

export function progressLine(p: ChainProgress): string {
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
