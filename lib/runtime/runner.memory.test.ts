/**
 * The runner's commit order, dead letters, partition stops, rebalances, state restore, global tables,
 * punctuation, transactions and zombies, on the in-memory broker with a manual clock (milliseconds
 * per test; the same paths against the real broker are in runner.test.ts).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { MemoryHarness, testTopic } from './memoryHarness.ts';
import { invalidInput, retriable } from './errors.ts';
import { NOT_READY } from './serdes.ts';
import type { InMessage, Output, StageDefinition } from './runner.ts';
import { nsName } from './topology.ts';

interface Tel { source: string; time: number; metrics: Record<string, number>; state: string }
const tel = (state: string, i = 0): Tel => ({ source: 'src', time: 1_700_000_000_000 + i, metrics: { i }, state });
const logOut = (message: string, key: string | null = 'k'): Output => ({ topic: 'out', key, value: { time: 1, level: 'info', stage: 't', instance: 'x', message, fields: {} } });

const IN = testTopic('in', 4);
const OUT = testTopic('out', 4, 'org.gft.ops.LogRecord');

let h: MemoryHarness;
afterEach(async () => {
  await h?.stopAll();
});

function relay(name = 'relay', extra: Partial<StageDefinition<Tel>> = {}): StageDefinition<Tel> {
  return {
    name,
    inputs: ['in'],
    outputs: ['out'],
    handle(msg: InMessage<Tel>) {
      const s = msg.value.state;
      if (s.startsWith('poison')) throw invalidInput('test.poison', `poison ${s}`);
      if (s.startsWith('bug')) throw new Error(`a bug at ${s}`);
      return [logOut(s, msg.key)];
    },
    ...extra,
  };
}

const outMessages = () => h.read('out').map((r) => r.value.message as string);

describe('stage runner on the in-memory broker', () => {
  it('relays in partition order and commits the next offset after the outputs are written', async () => {
    h = new MemoryHarness('m1', [IN, OUT]);
    await h.produce('in', Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 8}`, value: tel(`s${i}`, i) })));
    const r = h.runner(relay(), { maxInFlight: 7 });
    await r.start();
    await h.until(() => outMessages().length === 40);
    const inRecs = h.broker.records(nsName('m1', 'in'));
    for (let p = 0; p < 4; p++) {
      const n = inRecs.filter((x) => x.partition === p).length;
      expect(h.broker.committed(r.groupId, nsName('m1', 'in'), p) ?? 0n).toBe(BigInt(n));
    }
    // per key order kept
    const byKey = new Map<string, number[]>();
    for (const m of outMessages()) byKey.set(`k${Number(m.slice(1)) % 8}`, [...(byKey.get(`k${Number(m.slice(1)) % 8}`) ?? []), Number(m.slice(1))]);
    for (const seq of byKey.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  it('dead-letters declared invalid input with its reason and original bytes; undecodable bytes too', async () => {
    h = new MemoryHarness('m2', [IN, OUT]);
    await h.produce('in', [{ key: 'a', value: tel('s1'), partition: 0 }, { key: 'a', value: tel('poison-1'), partition: 0 }]);
    await h.produceRaw('in', 'junk', Buffer.from('not avro'), 0);
    await h.produce('in', [{ key: 'a', value: tel('s2'), partition: 0 }]);
    const r = h.runner(relay());
    await r.start();
    await h.until(() => outMessages().length === 2 && h.read('relay.dlq').length === 2);
    const dlq = h.read('relay.dlq');
    expect(dlq.map((d) => d.value.errorCode)).toEqual(['test.poison', 'avro.not_framed']);
    expect(dlq[0].headers['gft-source-offset']).toBe('1');
    expect(Buffer.from(dlq[1].value.value).toString()).toBe('not avro');
    expect(h.broker.committed(r.groupId, nsName('m2', 'in'), 0)).toBe(4n);
  });

  it('a bug stops its partition before the message (no dead letter, not committed); other partitions go on', async () => {
    h = new MemoryHarness('m3', [IN, OUT]);
    await h.produce('in', [
      { key: 'a', value: tel('a1'), partition: 0 },
      { key: 'a', value: tel('bug-1'), partition: 0 },
      { key: 'a', value: tel('a2'), partition: 0 },
      { key: 'b', value: tel('b1'), partition: 1 },
      { key: 'b', value: tel('b2'), partition: 1 },
    ]);
    const r = h.runner(relay());
    await r.start();
    await h.until(() => outMessages().length === 3);
    await h.until(() => r.counters.stoppedPartitions === 1);
    expect(outMessages().sort()).toEqual(['a1', 'b1', 'b2']);
    expect(h.read('relay.dlq')).toHaveLength(0);
    expect(h.broker.committed(r.groupId, nsName('m3', 'in'), 0)).toBe(1n); // a1 only: the bug's message is left for a fixed stage
    expect(h.broker.committed(r.groupId, nsName('m3', 'in'), 1)).toBe(2n);
    // later messages of the stopped partition are not processed
    await h.produce('in', [{ key: 'a', value: tel('a3'), partition: 0 }, { key: 'b', value: tel('b3'), partition: 1 }]);
    await h.until(() => outMessages().includes('b3'));
    expect(outMessages()).not.toContain('a3');
  });

  it('stops a partition after N consecutive dead letters, once they are written and committed', async () => {
    h = new MemoryHarness('m4', [IN, OUT]);
    await h.produce('in', [{ key: 'a', value: tel('ok-0'), partition: 2 }, ...Array.from({ length: 12 }, (_, i) => ({ key: 'a', value: tel(`poison-${i}`), partition: 2 }))]);
    const r = h.runner(relay(), { maxConsecutiveDeadLetters: 5, maxInFlight: 3 });
    await r.start();
    await h.until(() => r.counters.stoppedPartitions === 1);
    expect(h.read('relay.dlq').map((d) => d.value.errorMessage)).toEqual(['poison poison-0', 'poison poison-1', 'poison poison-2', 'poison poison-3', 'poison poison-4']);
    expect(h.broker.committed(r.groupId, nsName('m4', 'in'), 2)).toBe(6n); // ok-0 and the 5 dead letters
  });

  it('retries a retriable failure with backoff on the clock, without dead-lettering it', async () => {
    h = new MemoryHarness('m5', [IN, OUT]);
    let failures = 3;
    await h.produce('in', [{ key: 'a', value: tel('s1'), partition: 0 }]);
    const r = h.runner(relay('relay', { handle: () => (failures-- > 0 ? Promise.reject(retriable('dep.down', 'dependency down')) : [logOut('s1')]) }));
    await r.start();
    await h.until(() => outMessages().length === 1, { stepMs: 100 });
    expect(r.counters.retries).toBe(3);
    expect(h.read('relay.dlq')).toHaveLength(0);
  });

  it('shares partitions among instances; a killed instance\'s partitions move after its session timeout, nothing lost', async () => {
    h = new MemoryHarness('m6', [IN, OUT]);
    const a = h.runner(relay());
    const b = h.runner(relay());
    await a.start();
    await b.start();
    await h.until(() => a.assignment().length === 2 && b.assignment().length === 2, { what: 'two partitions each' });
    await h.produce('in', Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: tel(`s${i}`, i) })));
    await h.until(() => outMessages().length >= 20);
    a.kill();
    await h.produce('in', Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: tel(`t${i}`, i) })));
    await h.until(() => b.assignment().length === 4, { stepMs: 1000, what: 'survivor takes all partitions' });
    await h.until(() => new Set(outMessages()).size === 40);
    expect(new Set(outMessages()).size).toBe(40);
  });

  it('a rebalance noticed by a heartbeat inside a handler is not a dead letter; the message is processed by its owner', async () => {
    h = new MemoryHarness('m7', [IN, OUT]);
    let second: ReturnType<typeof h.runner> | null = null;
    const stage = relay('relay', {
      async handle(msg, ctx) {
        if (msg.value.state === 'slow' && !second) {
          second = h.runner(relay());
          await second.start(); // joining triggers a rebalance
          await ctx.heartbeat(); // rejects: the group is rebalancing
        }
        return [logOut(msg.value.state)];
      },
    });
    await h.produce('in', [{ key: 'a', value: tel('slow'), partition: 0 }]);
    const a = h.runner(stage);
    await a.start();
    await h.until(() => outMessages().includes('slow'), { stepMs: 100 });
    expect(h.read('relay.dlq')).toHaveLength(0);
  });

  it('restores a partition\'s state from the changelog when it moves to another instance', async () => {
    h = new MemoryHarness('m8', [IN, OUT]);
    // idempotent per-key state: the set of seen states per key; output = the size after each message
    const counting = (): StageDefinition<Tel> => ({
      name: 'count',
      inputs: ['in'],
      outputs: ['out'],
      state: true,
      handle(msg, ctx) {
        const k = `seen/${msg.key}`;
        const seen = new Set(ctx.store.get<string[]>(k) ?? []);
        seen.add(msg.value.state);
        ctx.store.put(k, [...seen].sort());
        return [logOut(`${msg.key}:${seen.size}`, msg.key)];
      },
    });
    const a = h.runner(counting());
    await a.start();
    await h.produce('in', Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 2}`, value: tel(`s${i}`, i) })));
    await h.until(() => outMessages().length === 10);
    a.kill();
    const b = h.runner(counting());
    await b.start();
    await h.until(() => b.assignment().length === 4, { stepMs: 1000 });
    await h.produce('in', Array.from({ length: 4 }, (_, i) => ({ key: `k${i % 2}`, value: tel(`t${i}`, i) })));
    await h.until(() => outMessages().length >= 14, { stepMs: 100 });
    expect(b.counters.restores).toBeGreaterThan(0);
    // the new owner continued from the restored sets: 5 + 2 per key
    const last = (k: string) => Math.max(...outMessages().filter((m) => m.startsWith(`${k}:`)).map((m) => Number(m.split(':')[1])));
    expect([last('k0'), last('k1')]).toEqual([7, 7]);
    const changelog = h.read('count.changelog', 'org.gft.runtime.StateEntry');
    expect(changelog.every((c) => c.partition === h.read('in').find((x) => `seen/${x.key}` === c.key)!.partition)).toBe(true);
  });

  it('joins a stream with a global table read in full by every instance; a key absent at the table\'s end is bad input', async () => {
    const REF = { ...testTopic('ref', 3, 'org.gft.ops.LogRecord'), cleanup: 'compact' as const };
    h = new MemoryHarness('m9', [IN, OUT, REF]);
    await h.produce('ref', [{ key: 'k1', value: { time: 1, level: 'info', stage: 'r', instance: 'x', message: 'ref-of-k1', fields: {} } }]);
    const join: StageDefinition<Tel> = {
      name: 'join',
      inputs: ['in'],
      outputs: ['out'],
      tables: ['ref'],
      async handle(msg, ctx) {
        const ref = await ctx.table<{ message: string }>('ref').lookup(msg.key!);
        if (!ref) throw invalidInput('test.no_ref', `no reference for ${msg.key}`);
        return [logOut(`${msg.value.state}+${ref.message}`)];
      },
    };
    const a = h.runner(join);
    const b = h.runner(join);
    await a.start();
    await b.start();
    await h.produce('ref', [{ key: 'k2', value: { time: 1, level: 'info', stage: 'r', instance: 'x', message: 'ref-of-k2', fields: {} } }]);
    await h.produce('in', [{ key: 'k1', value: tel('x') }, { key: 'k2', value: tel('y') }, { key: 'k3', value: tel('z') }]);
    await h.until(() => outMessages().length === 2 && h.read('join.dlq').length === 1);
    expect(outMessages().sort()).toEqual(['x+ref-of-k1', 'y+ref-of-k2']);
    expect(h.read('join.dlq')[0].value.errorCode).toBe('test.no_ref');
  });

  it('punctuates each restored partition on the clock, and a new owner resumes where the changelog says', async () => {
    h = new MemoryHarness('m10', [IN, OUT]);
    // on a message "plan:N", emits N items, one per 1000 ms of clock, keeping its progress in the store
    const paced = (): StageDefinition<Tel> => ({
      name: 'paced',
      inputs: ['in'],
      outputs: ['out'],
      state: true,
      handle(msg, ctx) {
        const n = Number(msg.value.state.split(':')[1]);
        ctx.store.put(`plan/${msg.key}`, { n, next: 0, start: ctx.clock.now() });
        return [];
      },
      punctuate: {
        everyMs: 250,
        async run(ctx) {
          const outputs: Output[] = [];
          for (const k of ctx.store.keys('plan/')) {
            const p = ctx.store.get<{ n: number; next: number; start: number }>(k)!;
            while (p.next < p.n && ctx.clock.now() >= p.start + p.next * 1000) outputs.push(logOut(`${k.slice(5)}#${p.next++}`));
            ctx.store.put(k, p);
          }
          return { outputs };
        },
      },
    });
    const a = h.runner(paced());
    await a.start();
    await h.produce('in', [{ key: 'b1', value: tel('plan:10') }]);
    await h.until(() => outMessages().length >= 4, { stepMs: 250 });
    a.kill();
    const b = h.runner(paced());
    await b.start();
    await h.until(() => outMessages().length >= 10 && new Set(outMessages()).size === 10, { stepMs: 500, rounds: 200 });
    const items = outMessages();
    expect(new Set(items).size).toBe(10);
    expect(items.length - new Set(items).size).toBeLessThanOrEqual(1); // at most the item between output and changelog
  });

  it('transactional stage: outputs, changelog and offset commit together; a crash inside a transaction leaves nothing visible', async () => {
    h = new MemoryHarness('m11', [IN, OUT]);
    let crashAt = 3;
    const counted = (): StageDefinition<Tel> => ({
      name: 'txcount',
      inputs: ['in'],
      outputs: ['out'],
      state: true,
      transactional: true,
      handle(msg, ctx) {
        const n = (ctx.store.get<number>(`n/${msg.key}`) ?? 0) + 1; // not idempotent: exactly-once needed
        ctx.store.put(`n/${msg.key}`, n);
        return [logOut(`${msg.key}:${n}`)];
      },
    });
    const a = h.runner(counted(), {
      instance: 'slot1',
      maxInFlight: 2,
      afterOutputsSent: (u) => {
        if (u === crashAt) a.kill();
      },
    });
    await a.start();
    await h.produce('in', Array.from({ length: 12 }, (_, i) => ({ key: 'k', value: tel(`s${i}`, i), partition: 0 })));
    await h.until(() => outMessages().length >= 4, { stepMs: 100 });
    crashAt = -1;
    const b = h.runner(counted(), { instance: 'slot1' }); // the same instance slot: its transactional id fences the open transaction
    await b.start();
    await h.until(() => outMessages().length === 12, { stepMs: 1000 });
    expect(outMessages()).toEqual(Array.from({ length: 12 }, (_, i) => `k:${i + 1}`));
  });

  it('a stalled-then-resumed instance (zombie) cannot commit; its late outputs are identical duplicates', async () => {
    h = new MemoryHarness('m12', [IN, OUT]);
    let release!: () => void;
    const stall = new Promise<void>((r) => (release = r));
    let stalled = false;
    const det = (): StageDefinition<Tel> => ({
      name: 'det',
      inputs: ['in'],
      outputs: ['out'],
      async handle(msg) {
        if (msg.value.state === 'stall' && !stalled) {
          stalled = true;
          await stall; // no heartbeat: the group evicts this member
        }
        return [logOut(`out-of-${msg.value.state}`)];
      },
    });
    await h.produce('in', [{ key: 'a', value: tel('stall'), partition: 0 }, { key: 'a', value: tel('next'), partition: 0 }]);
    const a = h.runner(det());
    await a.start();
    await h.until(() => stalled);
    const b = h.runner(det());
    await b.start();
    await h.until(() => outMessages().includes('out-of-next'), { stepMs: 2000, what: 'the other instance took over' });
    const committedByB = h.broker.committed(b.groupId, nsName('m12', 'in'), 0);
    expect(committedByB).toBe(2n);
    release();
    await h.until(() => outMessages().filter((m) => m === 'out-of-stall').length === 2, { what: 'the zombie wrote its output' });
    expect(h.broker.committed(b.groupId, nsName('m12', 'in'), 0)).toBe(2n); // the zombie's commit was refused
    const outs = h.read('out').filter((o) => o.value.message === 'out-of-stall');
    expect(outs[0].value).toEqual(outs[1].value); // deterministic: downstream sees the same record twice
  });

  it('a table record undecodable while the registry is away is retried, never skipped: the join waits, nothing is dead-lettered', async () => {
    const REF = { ...testTopic('ref', 3, 'org.gft.ops.LogRecord'), cleanup: 'compact' as const };
    h = new MemoryHarness('m13', [IN, OUT, REF]);
    await h.produce('ref', [{ key: 'k1', value: { time: 1, level: 'info', stage: 'r', instance: 'x', message: 'ref-of-k1', fields: {} } }]);
    // the registry is away for the first 5 attempts to read a LogRecord (the table's schema)
    let away = 5;
    const serdes = h.serdes;
    const flaky = {
      register: serdes.register.bind(serdes),
      encode: serdes.encode.bind(serdes),
      tryDecodeSync: <V>(buf: Buffer | null, reader: string) => (reader === 'org.gft.ops.LogRecord' && away > 0 ? (NOT_READY as never) : serdes.tryDecodeSync<V>(buf, reader)),
      decode: async <V>(buf: Buffer | null, reader: string) => {
        if (reader === 'org.gft.ops.LogRecord' && away-- > 0) throw retriable('registry.unavailable', 'fetching schema: fetch failed');
        return serdes.decode<V>(buf, reader);
      },
    };
    const join: StageDefinition<Tel> = {
      name: 'join2',
      inputs: ['in'],
      outputs: ['out'],
      tables: ['ref'],
      async handle(msg, ctx) {
        const ref = await ctx.table<{ message: string }>('ref').lookup(msg.key!);
        if (!ref) throw invalidInput('test.no_ref', `no reference for ${msg.key}`);
        return [logOut(`${msg.value.state}+${ref.message}`)];
      },
    };
    const r = h.runner(join, { serdes: flaky });
    const started = r.start();
    await h.produce('in', [{ key: 'k1', value: tel('x') }]);
    await h.until(() => outMessages().length === 1, { stepMs: 500, what: 'the join once the registry is back' });
    await started;
    expect(outMessages()).toEqual(['x+ref-of-k1']);
    expect(h.read('join2.dlq')).toHaveLength(0);
    expect(away).toBeLessThanOrEqual(0);
  });

  it('rides out the brokers going away while a failure is retried: heartbeats that cannot reach them are not fatal', async () => {
    h = new MemoryHarness('m14', [IN, OUT]);
    let failures = 4;
    await h.produce('in', [{ key: 'a', value: tel('s1'), partition: 0 }]);
    const r = h.runner(relay('relay', { handle: () => (failures-- > 0 ? Promise.reject(retriable('dep.down', 'dependency down')) : [logOut('s1')]) }));
    await r.start();
    h.broker.down = true; // the broker restarts: the retry's heartbeats and the produce fail with connection errors
    await h.until(() => failures < 0, { stepMs: 500, what: 'the handler retried while the broker is away' });
    await h.clock.advance(5000);
    h.broker.down = false;
    await h.until(() => outMessages().length === 1, { stepMs: 500, what: 'the output once the broker is back' });
    expect(r.live).toBe(true);
    expect(h.read('relay.dlq')).toHaveLength(0);
  });
});
