/**
 * One assigned input partition of a stage (a Kafka Streams task): its state store, its restore, and
 * the steps a batch of its records goes through — decode → (prepare) → handle → collect outputs —
 * before the delivery step (delivery.ts) writes them and commits.
 *
 * Outcome of each message, decided here and nowhere else:
 * - handled: outputs kept, state writes kept;
 * - declared invalid input (an error with `retriable: false` and a code — lib/runtime/errors.ts,
 *   undecodable Avro): a dead letter with the reason and the original bytes; after
 *   `maxConsecutiveDeadLetters` in a row the partition stops, once those dead letters are written and
 *   committed (something is wrong with the stage or its contract: draining everything into the DLQ
 *   would hide it);
 * - a bug (any other error): the partition stops before that message, loudly; nothing is dead-lettered
 *   and the message is not committed, so the fixed stage (or the next owner) processes it;
 * - the group rebalances or the partition is revoked: the task stops before that message and hands
 *   the partition back; never a dead letter;
 * - retriable failures are retried in place with backoff (the runner's retry); FatalStageError stops
 *   the stage.
 * A stopped partition is paused; the rest of the stage goes on. The next assignment retries it.
 */
import type { BatchControl, InRecord, OutRecord, TopicRecords } from './broker/types.ts';
import { isRebalance } from './broker/types.ts';
import { classify, FatalStageError } from './errors.ts';
import type { Delivery, Retry } from './delivery.ts';
import type { Logger } from './log.ts';
import type { InMessage, Output, StageContext, StageDefinition } from './stage.ts';
import { NO_STORE, StateStore } from './state.ts';
import type { ChangelogReplica } from './tables.ts';

export interface TaskEnv<T> {
  stage: StageDefinition<T>;
  log: Logger;
  maxInFlight: number;
  maxInFlightBytes: number;
  maxConsecutiveDeadLetters: number;
  counters: { in: number; out: number; dlq: number; busyMs: number; stoppedPartitions: number; restores: number };
  procTimes: number[];
  stopping(): boolean;
  decode(r: InRecord, physicalTopic: string, partition: number, retry: Retry): Promise<InMessage<T>>;
  encode(o: Output, source: string): { topic: string; record: OutRecord };
  deadLetter(r: InRecord, physicalTopic: string, partition: number, code: string, message: string): { topic: string; record: OutRecord };
  changelog(changes: Map<string, string | null>, partition: number): TopicRecords | null;
  ctx(o: { partition: number | null; store: StateStore; signal: AbortSignal; heartbeat: () => Promise<void> }): StageContext;
  /** Retries with backoff; `failed` = the error of an attempt already made (back off before the next). */
  retry: <R>(what: string, fn: () => Promise<R>, heartbeat?: () => Promise<void>, failed?: unknown) => Promise<R>;
  delivery: Delivery;
  pause(topic: string, partition: number): void;
  sinkAdd?(msgs: InMessage<T>[], topic: string, partition: number, last: string): Promise<void>;
}

type Outcome = { kind: 'ok'; outputs: Output[] } | { kind: 'sink'; msg: InMessage<unknown> } | { kind: 'dlq'; code: string; message: string } | { kind: 'yield' } | { kind: 'bug'; error: Error };

type Early<T> = { msg: InMessage<T>; prepared: Promise<unknown> } | { error: unknown };

const isAbort = (e: unknown) => (e as { name?: string })?.name === 'AbortError';

export class PartitionTask<T> {
  /** Always a store (stateless stages never write to it); stages see NO_STORE unless they declare state. */
  store: StateStore = new StateStore();
  restored: Promise<void> = Promise.resolve();
  revoked = false;
  stopped: string | null = null;
  private consecutiveDlq = 0;
  private readonly abort = new AbortController();

  constructor(
    readonly topic: string, // physical
    readonly partition: number,
    private readonly env: TaskEnv<T>,
  ) {
  }

  private get visibleStore(): StateStore {
    return this.env.stage.state ? this.store : NO_STORE;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Restores the store from the changelog replica (stages with state). */
  async restore(replica: ChangelogReplica | null): Promise<void> {
    if (!replica || this.revoked) return;
    const t0 = performance.now();
    const store = await replica.restore(this.partition);
    if (this.revoked) return;
    this.store = store;
    this.env.counters.restores++;
    this.env.log.info('state restored', { partition: this.partition, keys: store.size, ms: Math.round(performance.now() - t0) });
  }

  revoke(): void {
    this.revoked = true;
    this.abort.abort();
  }

  private stop(reason: string, fields: Record<string, unknown>): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.env.counters.stoppedPartitions++;
    this.env.log.error('partition stopped', { topic: this.topic, partition: this.partition, reason, ...fields });
  }

  /** Processes a fetched batch; returns the next offset to fetch (after the last consumed record). */
  async process(records: InRecord[], ctl: BatchControl): Promise<string | undefined> {
    await this.restored;
    let next: string | undefined;
    let i = 0;
    const retry: Retry = (what, fn) => this.env.retry(what, fn, ctl.heartbeat);
    try {
      while (i < records.length && !this.revoked && !this.stopped && !this.env.stopping() && !ctl.shouldYield()) {
        let bytes = 0;
        let j = i;
        while (j < records.length && j - i < this.env.maxInFlight && bytes < this.env.maxInFlightBytes) {
          bytes += (records[j].value?.length ?? 0) + (records[j].key?.length ?? 0);
          j++;
        }
        const chunk = records.slice(i, j);
        const r = await this.processChunk(chunk, ctl, retry);
        if (r.consumed > 0) next = (BigInt(chunk[r.consumed - 1].offset) + 1n).toString();
        i += r.consumed;
        if (r.halt) break;
      }
    } finally {
      await this.env.delivery.drain();
    }
    if (this.stopped) this.env.pause(this.topic, this.partition);
    return next;
  }

  private async processChunk(chunk: InRecord[], ctl: BatchControl, retry: Retry): Promise<{ consumed: number; halt: boolean }> {
    const env = this.env;
    const stage = env.stage;
    const outputs = new Map<string, OutRecord[]>();
    const push = (o: { topic: string; record: OutRecord }) => {
      let arr = outputs.get(o.topic);
      if (!arr) outputs.set(o.topic, (arr = []));
      arr.push(o.record);
    };
    const sinkMsgs: InMessage<T>[] = [];
    const early = stage.prepare && !stage.sink ? await this.startPrepares(chunk, ctl, retry) : null;
    let consumed = 0;
    let halt = false;
    for (const [i, r] of chunk.entries()) {
      if (i > 0 && (ctl.shouldYield() || this.revoked || env.stopping())) {
        halt = true;
        break;
      }
      env.counters.in++;
      const t0 = performance.now();
      const o = await this.processOne(r, early?.[i], ctl, retry);
      const took = performance.now() - t0;
      env.procTimes.push(took);
      env.counters.busyMs += took;
      if (o.kind === 'ok') {
        this.store.commitMessage();
        for (const out of o.outputs) push(env.encode(out, `${this.topic}/${this.partition}/${r.offset}`));
        env.counters.out += o.outputs.length;
        this.consecutiveDlq = 0;
        consumed++;
      } else if (o.kind === 'sink') {
        sinkMsgs.push(o.msg as InMessage<T>);
        this.consecutiveDlq = 0;
        consumed++;
      } else if (o.kind === 'dlq') {
        this.store.rollbackMessage();
        env.log.warn('message sent to DLQ', { code: o.code, error: o.message, topic: this.topic, partition: this.partition, offset: r.offset });
        push(env.deadLetter(r, this.topic, this.partition, o.code, o.message));
        env.counters.dlq++;
        consumed++;
        if (++this.consecutiveDlq >= env.maxConsecutiveDeadLetters) {
          this.stop('dead-letter limit', { deadLetters: this.consecutiveDlq, lastCode: o.code, hint: 'every recent message failed: the stage or its input contract is broken; these dead letters are written and committed, the partition waits for a restart' });
          halt = true;
          break;
        }
      } else if (o.kind === 'yield') {
        env.counters.in--;
        this.store.rollbackMessage();
        halt = true;
        break;
      } else {
        env.counters.in--;
        this.store.rollbackMessage();
        this.stop('unhandled error (a bug, not bad input: not dead-lettered, not committed)', { offset: r.offset, error: o.error.message, stack: o.error.stack?.split('\n').slice(0, 6).join(' | ') });
        halt = true;
        break;
      }
      await ctl.heartbeat().catch(() => {}); // a rebalance shows in shouldYield() before the next message
    }
    if (consumed) {
      const last = chunk[consumed - 1].offset;
      if (stage.sink) {
        // dead letters now; the rows' offsets are committed by the flush that makes them durable
        if (outputs.size) {
          env.delivery.enqueue({ outputs, changelog: null, commit: null }, retry);
          await env.delivery.drain();
        }
        await env.sinkAdd!(sinkMsgs, this.topic, this.partition, last);
      } else {
        env.delivery.enqueue({ outputs, changelog: env.changelog(this.store.takeChanges(), this.partition), commit: { topic: this.topic, partition: this.partition, offset: (BigInt(last) + 1n).toString() } }, retry);
      }
    }
    return { consumed, halt };
  }

  private async processOne(r: InRecord, early: Early<T> | undefined, ctl: BatchControl, retry: Retry): Promise<Outcome> {
    const env = this.env;
    const stage = env.stage;
    try {
      let msg: InMessage<T>;
      if (early) {
        if ('error' in early) throw early.error;
        msg = early.msg;
        msg.prepared = await early.prepared;
      } else {
        msg = await env.decode(r, this.topic, this.partition, retry);
      }
      if (stage.sink) return { kind: 'sink', msg };
      const ctx = env.ctx({ partition: this.partition, store: this.visibleStore, signal: this.signal, heartbeat: ctl.heartbeat });
      let outputs: Output[];
      try {
        const res = stage.handle!(msg, ctx);
        outputs = res instanceof Promise ? await res : res;
      } catch (e) {
        // the hot path runs without the retry machinery; a retriable failure retries from a clean state
        if (!classify(e).retriable || isRebalance(e) || isAbort(e) || e instanceof FatalStageError) throw e;
        msg.prepared = undefined;
        outputs = await env.retry(
          'handle',
          async () => {
            this.store.rollbackMessage();
            if (this.signal.aborted) throw new DOMException('revoked', 'AbortError');
            return await stage.handle!(msg, ctx);
          },
          ctl.heartbeat,
          e,
        );
      }
      for (const o of outputs) if (!stage.outputs.includes(o.topic)) throw new Error(`stage ${stage.name} produced to undeclared topic '${o.topic}'`);
      return { kind: 'ok', outputs };
    } catch (e) {
      if (e instanceof FatalStageError) throw e;
      if (isRebalance(e) || isAbort(e) || this.revoked) return { kind: 'yield' };
      const c = classify(e);
      if (c.retriable) throw new FatalStageError('stage.retries_exhausted', c.message);
      if (c.code === 'stage.unhandled') return { kind: 'bug', error: e instanceof Error ? e : new Error(String(e)) };
      return { kind: 'dlq', code: c.code, message: c.message };
    }
  }

  /** Decodes a chunk and starts the stage's prepare() on each message, at most prepareConcurrency at once. */
  private async startPrepares(chunk: InRecord[], ctl: BatchControl, retry: Retry): Promise<Early<T>[]> {
    const out: Early<T>[] = [];
    const limit = Math.max(1, this.env.stage.prepareConcurrency ?? 2);
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
    for (const r of chunk) {
      let msg: InMessage<T>;
      try {
        msg = await this.env.decode(r, this.topic, this.partition, retry);
      } catch (e) {
        if (e instanceof FatalStageError) throw e;
        out.push({ error: e });
        continue;
      }
      const ctx = this.env.ctx({ partition: this.partition, store: this.visibleStore, signal: this.signal, heartbeat: ctl.heartbeat });
      const prepared = (async () => {
        await slot();
        try {
          return await this.env.stage.prepare!(msg, ctx);
        } finally {
          release();
        }
      })();
      prepared.catch(() => {}); // observed by the handle step; never an unhandled rejection
      out.push({ msg, prepared });
    }
    return out;
  }

  /** One punctuation of this partition: 0 when more work is due at once, else ms until the next (Infinity: none known). */
  async punctuate(): Promise<number> {
    const env = this.env;
    const p = env.stage.punctuate;
    if (!p || this.revoked || this.stopped || env.stopping()) return Infinity;
    await this.restored;
    if (this.revoked) return Infinity;
    const heartbeat = async () => {};
    const retry: Retry = (what, fn) => env.retry(what, fn, heartbeat);
    const ctx = env.ctx({ partition: this.partition, store: this.visibleStore, signal: this.signal, heartbeat });
    let res: { outputs: Output[]; more?: boolean; nextInMs?: number };
    const t0 = performance.now();
    try {
      res = await p.run(ctx);
      env.counters.busyMs += performance.now() - t0;
      for (const o of res.outputs) if (!env.stage.outputs.includes(o.topic)) throw new Error(`stage ${env.stage.name} produced to undeclared topic '${o.topic}'`);
      this.store.commitMessage();
    } catch (e) {
      this.store.rollbackMessage();
      if (e instanceof FatalStageError) throw e;
      if (isRebalance(e) || isAbort(e) || this.revoked) return Infinity;
      const c = classify(e);
      if (c.retriable) {
        env.log.warn('punctuation failed; retried at the next one', { partition: this.partition, code: c.code, error: c.message });
        return Infinity;
      }
      this.stop(`punctuation failed: ${c.code}`, { error: c.message });
      return Infinity;
    }
    const outputs = new Map<string, OutRecord[]>();
    for (const o of res.outputs) {
      const enc = env.encode(o, `punctuate/${this.partition}`);
      outputs.set(enc.topic, [...(outputs.get(enc.topic) ?? []), enc.record]);
    }
    env.counters.out += res.outputs.length;
    env.delivery.enqueue({ outputs, changelog: env.changelog(this.store.takeChanges(), this.partition), commit: null }, retry);
    await env.delivery.drain();
    return res.more ? 0 : Math.max(0, res.nextInMs ?? Infinity);
  }
}
