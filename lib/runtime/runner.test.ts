import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { platformConfig, repoRoot } from '../config/platform.ts';
import { createKafka } from './kafka.ts';
import { AvroSerdes } from './serdes.ts';
import { StageRunner } from './runner.ts';
import { nsName } from './topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from './testing.ts';
import { relayStage } from './fixtures/relayStage.ts';
import { invalidInput } from './errors.ts';

const ready = await stackReady();

interface Consumed { key: string | null; value: any; headers: Record<string, string> }

async function readAll(kafka: Kafka, serdes: AvroSerdes | null, topic: string, reader: string, expected: number, timeoutMs = 30_000, done?: (out: Consumed[]) => boolean): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: Consumed[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => resolve(), timeoutMs);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          out.push({ key: message.key?.toString() ?? null, value: serdes ? await serdes.decode(message.value, reader) : message.value, headers });
          if (out.length >= expected || done?.(out)) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}

describe.skipIf(!ready)('stage runner against the real broker and registry', () => {
  const cfg = platformConfig();
  let kafka: Kafka;
  let producer: Producer;
  let serdes: AvroSerdes;

  beforeAll(async () => {
    kafka = createKafka(cfg, 'runner-test');
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
    serdes = new AvroSerdes(cfg.registryUrl);
  });
  afterAll(async () => {
    await producer?.disconnect();
  });

  async function produceSamples(ns: string, states: string[]): Promise<void> {
    const id = await serdes.register(`${nsName(ns, 'ops.telemetry')}-value`, 'org.gft.ops.Telemetry');
    const messages = states.map((s, i) => ({ key: 'src', value: serdes.encode(id, { source: 'src', time: 1_600_000_000_000 + i, metrics: { i }, state: s }) }));
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: nsName(ns, 'ops.telemetry'), messages: messages.slice(i, i + 500), acks: -1 });
  }

  it('sends a poison message to the DLQ with its reason and keeps consuming', async () => {
    const ns = randomNamespace('rt');
    await provisionNamespace(ns);
    await produceSamples(ns, ['a', 'b', 'poison-1', 'c']);
    // and a message that is not Avro at all
    await producer.send({ topic: nsName(ns, 'ops.telemetry'), messages: [{ key: 'junk', value: Buffer.from('not avro') }] });
    await produceSamples(ns, ['d']);
    const runner = new StageRunner(relayStage(0, 'relay'), { namespace: ns, metricsIntervalMs: 500 });
    await runner.start();
    // ops.logs also carries the stage's own log records: wait for the 4 relayed samples
    const outs = await readAll(kafka, serdes, nsName(ns, 'ops.logs'), 'org.gft.ops.LogRecord', 100_000, 30_000, (o) => o.filter((x) => x.value.message.length === 1).length >= 4);
    const dlq = await readAll(kafka, serdes, nsName(ns, 'relay.dlq'), 'org.gft.runtime.DeadLetter', 2);
    await runner.stop();
    expect(outs.map((o) => o.value.message).filter((m: string) => m.length === 1).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(dlq).toHaveLength(2);
    const poison = dlq.find((d) => d.value.errorCode === 'test.poison')!;
    expect(poison.headers['gft-error-code']).toBe('test.poison');
    expect(poison.headers['gft-stage']).toBe('relay');
    expect(poison.headers['gft-source-topic']).toBe(nsName(ns, 'ops.telemetry'));
    expect(poison.headers['gft-source-offset']).toBe('2');
    expect(poison.value.errorMessage).toContain('poison-1');
    const junk = dlq.find((d) => d.value.errorCode === 'avro.not_framed')!;
    expect(Buffer.from(junk.value.value).toString()).toBe('not avro');
    expect(junk.headers['gft-source-partition']).toBeDefined();
    expect(runner.counters.dlq).toBe(2);
  });

  it('runs prepare() on a chunk in parallel and handle() in order; a failed prepare goes to the DLQ', async () => {
    const ns = randomNamespace('pp');
    await provisionNamespace(ns);
    const states = Array.from({ length: 12 }, (_, i) => (i === 5 ? 'poison-prep' : `s${String(i).padStart(2, '0')}`));
    await produceSamples(ns, states);
    let running = 0;
    let maxRunning = 0;
    const handled: string[] = [];
    const base = relayStage(0, 'prep');
    const stage: typeof base = {
      ...base,
      prepareConcurrency: 3,
      async prepare(msg) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 60 - (Number(msg.offset) % 4) * 15)); // finish out of order
        running--;
        if (msg.value.state === 'poison-prep') throw invalidInput('test.prepare', 'prepare failed');
        return `prepared:${msg.value.state}`;
      },
      async handle(msg, ctx) {
        handled.push(String(msg.prepared));
        return base.handle!(msg, ctx);
      },
    };
    const runner = new StageRunner(stage, { namespace: ns, maxInFlight: 50 });
    await runner.start();
    const outs = await readAll(kafka, serdes, nsName(ns, 'ops.logs'), 'org.gft.ops.LogRecord', 100_000, 30_000, (o) => o.filter((x) => /^s\d\d$/.test(x.value.message)).length >= 11);
    const dlq = await readAll(kafka, serdes, nsName(ns, 'prep.dlq'), 'org.gft.runtime.DeadLetter', 1);
    await runner.stop();
    const expected = states.filter((s) => s !== 'poison-prep');
    expect(handled).toEqual(expected.map((s) => `prepared:${s}`)); // in input order, each with its own result
    expect(outs.map((o) => o.value.message).filter((m: string) => /^s\d\d$/.test(m))).toEqual(expected);
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(dlq.map((d) => d.value.errorCode)).toEqual(['test.prepare']);
  });

  it('stops the partition after N consecutive dead letters, once they are written and committed', async () => {
    const ns = randomNamespace('br');
    await provisionNamespace(ns);
    await produceSamples(ns, Array.from({ length: 40 }, (_, i) => `poison-${i}`));
    const runner = new StageRunner(relayStage(0, 'relay'), { namespace: ns, maxConsecutiveDeadLetters: 10, maxInFlight: 5 });
    await runner.start();
    const dlq = await readAll(kafka, serdes, nsName(ns, 'relay.dlq'), 'org.gft.runtime.DeadLetter', 10);
    for (let i = 0; i < 50 && runner.counters.stoppedPartitions === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(runner.counters.stoppedPartitions).toBe(1);
    expect(dlq).toHaveLength(10);
    await new Promise((r) => setTimeout(r, 500)); // nothing more comes once stopped
    expect(runner.counters.dlq).toBe(10);
    await runner.stop();
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: runner.groupId, topics: [nsName(ns, 'ops.telemetry')] });
    await admin.disconnect();
    // ops.telemetry is keyed by source: all 40 went to one partition; its 10 dead letters are committed
    expect(committed.partitions.map((p) => Number(p.offset)).filter((o) => o > 0)).toEqual([10]);
  });

  /** kill -9 of a relay stage process, then a restart; crashAfterChunk: it kills itself between a chunk's produce and its commit. */
  async function killAndRestart(ns: string, n: number, transactional: boolean, crashAfterChunk?: number): Promise<string[]> {
    await produceSamples(ns, Array.from({ length: n }, (_, i) => `s${i}`));
    const start = (crash?: number): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/runtime/fixtures/relayStage.ts')], {
        cwd: repoRoot,
        env: { ...process.env, GFT_NAMESPACE: ns, RELAY_DELAY_MS: '10', RELAY_MAX_IN_FLIGHT: '20', GFT_LOG_STDERR: '0', GFT_SESSION_TIMEOUT_MS: '6000', RELAY_TRANSACTIONAL: transactional ? '1' : '0', RELAY_CRASH_AFTER_CHUNK: crash ? String(crash) : '' },
        stdio: 'ignore',
      });
    const first = start(crashAfterChunk);
    if (crashAfterChunk) {
      await new Promise((r) => first.once('exit', r));
    } else {
      // wait until some outputs exist, then kill -9 in the middle of the stream
      const early = await readAll(kafka, null, nsName(ns, 'ops.logs'), '', 60, 60_000);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      expect(early.length).toBeGreaterThanOrEqual(60);
    }
    const second = start();
    // the killed member holds its partition until its session times out (6 s here), then the restart resumes
    const all = await readAll(kafka, serdes, nsName(ns, 'ops.logs'), 'org.gft.ops.LogRecord', 100_000, 60_000, (o) => new Set(o.map((x) => x.value.message).filter((m: string) => /^s\d+$/.test(m))).size >= n);
    await new Promise((r) => setTimeout(r, 1000)); // anything produced twice would be there by now
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    // ops.logs also carries the stages' own log records: keep the relayed samples only
    return all.map((o) => o.value.message as string).filter((m) => /^s\d+$/.test(m));
  }

  it('survives kill -9 mid-batch: every input accounted for after restart', async () => {
    const ns = randomNamespace('k9');
    await provisionNamespace(ns);
    const n = 400;
    const states = await killAndRestart(ns, n, false);
    const unique = new Set(states);
    const missing = Array.from({ length: n }, (_, i) => `s${i}`).filter((s) => !unique.has(s));
    expect(missing).toEqual([]);
    // duplicates only from the uncommitted chunk at the kill (at most one in-flight chunk of 20, plus one being produced)
    expect(states.length - unique.size).toBeLessThanOrEqual(40);
  }, 120_000);

  it('a crash between a chunk\'s produce and its commit duplicates that chunk (at-least-once)', async () => {
    const ns = randomNamespace('k9c');
    await provisionNamespace(ns);
    const n = 200;
    const states = await killAndRestart(ns, n, false, 3);
    const unique = new Set(states);
    expect(Array.from({ length: n }, (_, i) => `s${i}`).filter((s) => !unique.has(s))).toEqual([]);
    expect(states.length - unique.size).toBeGreaterThanOrEqual(1); // the crashed chunk went out twice
  }, 120_000);

  it('transactional stage: the same crash, restart: every input exactly once (outputs and offsets commit together)', async () => {
    const ns = randomNamespace('tx');
    await provisionNamespace(ns);
    const n = 200;
    const states = await killAndRestart(ns, n, true, 3);
    const unique = new Set(states);
    expect(Array.from({ length: n }, (_, i) => `s${i}`).filter((s) => !unique.has(s))).toEqual([]);
    expect(states.length).toBe(n); // no duplicates: the killed chunk's transaction was aborted, never read
    expect(states).toEqual(Array.from({ length: n }, (_, i) => `s${i}`)); // and in order
  }, 120_000);
});
