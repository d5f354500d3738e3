/**
 * `gft stack up --brokers 3` on a Kafka cluster of its own (temporary GFT_HOME, free ports, the jars of
 * the main stack): three KRaft nodes in one quorum, clients find every broker through stack.json, and
 * one broker killed with SIGKILL in the middle of an acks=all producer loses nothing: every
 * acknowledged record is consumed back exactly once by a consumer group, and a transaction commits,
 * while that broker is still down (internal topics have 3 replicas, min ISR 2). The broker then
 * comes back and catches up. kafkajs 2.2.4 itself drops records in that situation (see
 * lib/runtime/sendGuard.ts): the assertions are on the guarded producer; the plain one's losses are printed.
 *
 * Runs whenever the main stack's Kafka jars are there (always under `gft test`); ~1 min, 3 JVMs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaT } from 'kafkajs';
import { platformConfig } from '../lib/config/platform.ts';
import { createAndAwaitTopics } from '../lib/runtime/topics.ts';
import { SendGuard } from '../lib/runtime/sendGuard.ts';
import { kafkaOverview } from './kafkaStatus.ts';

const { Kafka, logLevel } = kafkajs;
const mainHome = resolve(platformConfig().home);
const libs = join(mainHome, 'kafka', 'libs');
const haveLibs = existsSync(libs);
if (!haveLibs) {
  const why = `no Kafka jars in ${libs} (run \`npx gft stack up\` once)`;
  if (process.env.GFT_REQUIRE_STACK === '1') throw new Error(`cluster test: ${why}`);
  console.warn(`SKIPPED 3-broker cluster test: ${why}`);
}

const log = (s: string) => console.log(`[cluster] ${s}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** Six consecutive free ports: node i uses base + 2(i-1) (broker) and base + 1 + 2(i-1) (controller). */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // below Linux's ephemeral range (32768+): a client connection cannot take the port between the check and the bind
    const base = 20000 + 2 * Math.floor(Math.random() * 6000);
    const ok = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => portFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no 6 consecutive free ports found');
}

describe.skipIf(!haveLibs)('Kafka cluster (3 KRaft nodes)', () => {
  let home: string;
  let stack: typeof import('./stack.ts');
  let kafka: KafkaT;
  let admin: Admin;
  let bootstrap: string[];
  const saved = { ...process.env };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'gft-cluster-'));
    mkdirSync(join(home, 'kafka'), { recursive: true });
    symlinkSync(libs, join(home, 'kafka', 'libs'));
    const base = await freeBase();
    // The stack functions read their configuration from the environment (this file runs in its own process).
    Object.assign(process.env, { GFT_HOME: home, GFT_KAFKA_PORT: String(base), GFT_KAFKA_CONTROLLER_PORT: String(base + 1) });
    delete process.env.GFT_KAFKA_BROKERS;
    stack = await import('./stack.ts');
    const t0 = Date.now();
    await stack.up({ brokers: 3, only: ['kafka'], log });
    log(`3 nodes up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    bootstrap = platformConfig().kafkaBrokers;
    kafka = new Kafka({ clientId: 'gft-cluster-test', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 3000 } });
    admin = kafka.admin();
    await admin.connect();
  }, 240_000);

  afterAll(async () => {
    await admin?.disconnect().catch(() => {});
    if (stack) await stack.down({ log });
    process.env = saved;
    if (home) rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('clients get every broker from stack.json; the cluster lists three nodes', async () => {
    const base = Number(process.env.GFT_KAFKA_PORT);
    expect(bootstrap).toEqual([base, base + 2, base + 4].map((p) => `127.0.0.1:${p}`));
    expect(platformConfig({ ...process.env, GFT_KAFKA_BROKERS: 'b:1' }).kafkaBrokers).toEqual(['b:1']);
    const c = await admin.describeCluster();
    expect(c.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
  });

  it('a broker killed during an acks=all producer loses nothing; groups and transactions work while it is down', async () => {
    const topic = `failover-${Date.now().toString(36)}`;
    await createAndAwaitTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }]);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const victim = md.topics[0].partitions.find((p) => p.partitionId === 0)!.leader;
    expect([1, 2, 3]).toContain(victim);

    // Two producers side by side: kafkajs as it is, and through SendGuard (lib/runtime/sendGuard.ts),
    // which resends what kafkajs 2.2.4 silently drops when a partition's leader moves mid-send.
    const guard = new SendGuard();
    const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const guarded = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: guard.createPartitioner });
    await Promise.all([plain.connect(), guarded.connect()]);
    const acked = { plain: [] as string[], guarded: [] as string[] };
    let killedAt = -1;
    const t0 = Date.now();
    for (let batch = 0; batch < 40; batch++) {
      if (batch === 10) {
        await stack.killBroker(victim, { log });
        killedAt = acked.guarded.length;
      }
      const messages = (p: string) => Array.from({ length: 10 }, (_, i) => ({ key: `k${(batch * 10 + i) % 17}`, value: `${p}${batch * 10 + i}` }));
      const [a, b] = [messages('p'), messages('g')];
      await Promise.all([
        plain.send({ topic, acks: -1, messages: a }).then(() => acked.plain.push(...a.map((m) => m.value))),
        guard.sendBatch((x) => guarded.sendBatch(x), { acks: -1, topicMessages: [{ topic, messages: b }] }).then(() => acked.guarded.push(...b.map((m) => m.value))),
      ]);
    }
    await Promise.all([plain.disconnect(), guarded.disconnect()]);
    log(`produced 2 × ${acked.guarded.length} records (broker ${victim} killed after ${killedAt}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; the guard resent ${guard.resent}`);
    expect(killedAt).toBe(100);

    const during = await kafkaOverview(stack.brokers(), [topic]);
    expect(during?.brokers.find((b) => b.id === victim)?.up).toBe(false);
    expect(during?.offline).toBe(0);
    expect(during?.topics[0].partitions.every((p) => p.leader !== victim)).toBe(true);

    // A consumer group (its offsets in __consumer_offsets, 3 replicas) reads everything back, then commits.
    const total = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    const groupId = `failover-${Date.now().toString(36)}`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`consumed ${seen.length}/${total} in 60 s`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= total) {
              clearTimeout(timer);
              res();
            }
          },
        })
        .catch(rej);
    });
    await consumer.disconnect();
    const got = new Set(seen);
    const lostPlain = acked.plain.filter((v) => !got.has(v));
    log(`kafkajs without the guard: ${lostPlain.length} of ${acked.plain.length} acknowledged records missing${lostPlain.length ? ` (${lostPlain.join(',')})` : ''}`);
    const g = seen.filter((v) => v.startsWith('g'));
    expect(g.length).toBe(acked.guarded.length); // no duplicate either (idempotent producer)
    expect(g.sort()).toEqual([...acked.guarded].sort());
    expect(seen.length).toBe(total);
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(committed).toBe(total);

    // A transaction (its state in __transaction_state, 3 replicas, min ISR 2) commits with the broker still down.
    const tx = kafka.producer({ transactionalId: `failover-tx-${Date.now().toString(36)}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    const t = await tx.transaction();
    await t.send({ topic, messages: [{ key: 'tx', value: 'committed-while-down' }] });
    await t.commit();
    await tx.disconnect();

    const internal = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets', '__transaction_state'] });
    for (const it of internal.topics) expect(it.partitions.every((p) => p.replicas.length === 3), it.name).toBe(true);
    const cfgs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: '__transaction_state', configNames: ['min.insync.replicas'] }] });
    expect(cfgs.resources[0].configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');

    // Back again: the broker rejoins and every partition of the topic is fully in sync.
    await stack.startBroker(victim, { log });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const o = await kafkaOverview(stack.brokers(), [topic]);
      if (o && o.brokers.every((b) => b.up) && o.underReplicated === 0) break;
      if (Date.now() > deadline) throw new Error(`broker ${victim} did not catch up in 60 s: ${JSON.stringify(o)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 180_000);
});
