/**
 * The local stack against its real clients: kafkajs 2.2.4 on Kafka 4.1 (admin, produce, consumer
 * groups, idempotent + transactional producer), Apicurio through @kafkajs/confluent-schema-registry
 * (ids survive a registry restart), ClickHouse through @clickhouse/client.
 *
 * beforeAll calls up() (idempotent: starts only what is not running; one broker or the recorded
 * cluster layout). Topics take the brokers' default replication factor (1 or 3). The registry restart uses a
 * second instance on a free port sharing the same KafkaSQL journal, so the shared registry stays up for
 * the test files running in parallel; `restart('registry')` goes through the same start/stop code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaT } from 'kafkajs';
import confluent from '@kafkajs/confluent-schema-registry';
import { createClient } from '@clickhouse/client';
import { platformConfig } from '../lib/config/platform.ts';
import { createAndAwaitTopics } from '../lib/runtime/topics.ts';
import { brokers, formatStatus, services, startService, status, stopService, up, type Service } from './stack.ts';
import { registryService } from './services/registry.ts';

const { Kafka, logLevel } = kafkajs;
const { SchemaRegistry, SchemaType } = confluent as unknown as typeof import('@kafkajs/confluent-schema-registry');

const cfg = platformConfig();
const rnd = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const log = (s: string) => console.log(`[stack] ${s}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Addresses of LISTEN sockets on `port` from /proc/net/tcp{,6}, as hex. */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue;
      const [addr, p] = cols[1].split(':');
      if (parseInt(p, 16) === port) out.push(addr);
    }
  }
  return out;
}
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F', '00000000000000000000000001000000']);

let kafka: KafkaT;

beforeAll(async () => {
  await up({ log });
  kafka = new Kafka({ clientId: 'gft-stack-test', brokers: platformConfig().kafkaBrokers, logLevel: logLevel.WARN });
}, 600_000);

describe('stack', () => {
  it('reports every service healthy; a second up() is a quick no-op', async () => {
    const rows = await status();
    console.log(formatStatus(rows));
    const kafkaNames = brokers().length === 1 ? ['kafka'] : brokers().map((b) => `kafka-${b.id}`);
    expect(rows.map((r) => r.service).sort()).toEqual(['clickhouse', ...kafkaNames, 'registry'].sort());
    for (const r of rows) expect(r, r.service).toMatchObject({ healthy: true, pid: expect.any(Number) });
    const t0 = Date.now();
    await up({ log: () => {} });
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('a service that dies during start fails fast with the tail of its log', async () => {
    const name = `fake-${rnd()}`;
    const fake: Service = {
      name,
      address: '127.0.0.1:1',
      ports: [],
      marker: name,
      startTimeoutMs: 30_000,
      stopTimeoutMs: 1000,
      prepare: async () => {},
      launch: () => ({ cmd: 'sh', args: ['-c', `echo "${name}: cannot open config" >&2; exit 3`], cwd: tmpdir() }),
      healthy: async () => false,
      logFiles: (ctx) => [join(ctx.home, 'logs', `${name}.out`)],
    };
    const t0 = Date.now();
    const err = await startService(fake, { log: () => {} }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/exited during start/);
    expect(err?.message).toContain(`${name}: cannot open config`);
    expect(Date.now() - t0).toBeLessThan(10_000);
    rmSync(join(resolve(cfg.home), 'logs', `${name}.out`), { force: true });
  });

  it('listens on 127.0.0.1 only', () => {
    const s = services();
    for (const port of [...s.kafka, s.registry, s.clickhouse].flatMap((x) => x.ports)) {
      const addrs = listeners(port);
      expect(addrs.length, `port ${port}`).toBeGreaterThan(0);
      for (const a of addrs) expect(LOOPBACK.has(a), `port ${port} bound to ${a}`).toBe(true);
    }
  });
});

describe('kafkajs 2.2.4 against Kafka 4.1', () => {
  it('admin creates a topic; produce; a consumer group reads everything and commits', async () => {
    const topic = `gft-stack-test-${rnd()}`;
    const groupId = `gft-stack-test-${rnd()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createAndAwaitTopics(admin, [{ topic, numPartitions: 3 }]);
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics[0].partitions).toHaveLength(3);

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
      // A brand-new topic's leadership can take a moment to reach every metadata cache on a loaded
      // machine ("does not host this topic-partition"): retry that case only.
      for (let attempt = 0; ; attempt++) {
        try {
          await producer.send({ topic, acks: -1, messages: sent });
          break;
        } catch (e) {
          if (attempt >= 10 || !/does not host this topic-partition|leader/i.test((e as Error).message)) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${seen.length}/30 in 30 s`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push(message.value!.toString());
              if (seen.length === sent.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      await consumer.disconnect(); // commits the offsets of what it processed
      expect(seen.sort()).toEqual(sent.map((m) => m.value).sort());

      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
      expect(committed).toBe(sent.length);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('topic creation waits for leaders and accepts a concurrent creation of the same topics', async () => {
    const topics = [0, 1, 2].map((i) => ({ topic: `gft-stack-create-${rnd()}-${i}`, numPartitions: 2 }));
    const admins = [kafka.admin(), kafka.admin()];
    await Promise.all(admins.map((a) => a.connect()));
    try {
      await Promise.all(admins.map((a) => createAndAwaitTopics(a, topics)));
      const { topics: md } = await admins[0].fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      expect(md.map((t) => t.partitions.filter((p) => p.leader >= 0).length)).toEqual([2, 2, 2]);
      await expect(createAndAwaitTopics(admins[0], [{ topic: 'bad name!', numPartitions: 1 }])).rejects.toThrow();
    } finally {
      await Promise.all(admins.map((a) => a.disconnect()));
    }
  });

  it('transactions: a read_committed consumer sees committed batches only', async () => {
    const topic = `gft-stack-tx-${rnd()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createAndAwaitTopics(admin, [{ topic, numPartitions: 1 }]);
      const producer = kafka.producer({ transactionalId: `gft-stack-tx-${rnd()}`, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (const [value, outcome] of [
        ['c1', 'commit'],
        ['a1', 'abort'],
        ['c2', 'commit'],
      ] as const) {
        const tx = await producer.transaction();
        await tx.send({ topic, messages: [{ key: 'k', value }, { key: 'k', value: `${value}b` }] });
        await (outcome === 'commit' ? tx.commit() : tx.abort());
      }
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId: `gft-stack-tx-${rnd()}`, readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw only ${seen.join(',')} in 30 s`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push(message.value!.toString());
              if (seen.includes('c2b')) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      expect(seen).toEqual(['c1', 'c1b', 'c2', 'c2b']);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('auto-creation of topics is off', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    try {
      await expect(producer.send({ topic: `gft-stack-nope-${rnd()}`, messages: [{ value: 'x' }], timeout: 3000 })).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
  });
});

describe('schema registry (Apicurio, ccompat API)', () => {
  const port = freePort();
  let second: ReturnType<typeof registryService> | undefined;

  afterAll(async () => {
    if (second) await stopService(second, { log });
  });

  it('registers an Avro schema; after a restart the same schema has the same id and old messages decode', async () => {
    const ccompat = (p: number) => `http://127.0.0.1:${p}/apis/ccompat/v7`;
    const subject = `gft-stack-test-${rnd()}-value`;
    const schema = {
      type: 'record',
      name: 'StackProbe',
      namespace: 'org.colibri.gft.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'n', type: 'long' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    };
    const value = { id: 'probe-1', n: 42, note: 'before restart' };

    const shared = new SchemaRegistry({ host: ccompat(cfg.registryPort) });
    const { id } = await shared.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
    expect(id).toBeGreaterThan(0);
    const encoded = await shared.encode(id, value);
    expect(encoded[0]).toBe(0); // Confluent framing: magic byte, then the 4-byte id
    expect(encoded.readInt32BE(1)).toBe(id);

    // A second registry process on the same journal, started, checked, stopped and started again.
    second = registryService(cfg, { name: 'registry-test', port: await port });
    for (const round of ['first start', 'after restart']) {
      if (round === 'after restart') await stopService(second, { log });
      await startService(second, { log });
      const fresh = new SchemaRegistry({ host: ccompat(await port) }); // no client-side cache
      expect(await fresh.decode(encoded), round).toEqual(value);
      expect(await fresh.getRegistryId(subject, 1), round).toBe(id);
      const again = await fresh.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
      expect(again.id, round).toBe(id);
    }
  }, 240_000);
});

describe('ClickHouse', () => {
  it('pings; creates, inserts, selects through @clickhouse/client', async () => {
    const r = await fetch(`http://127.0.0.1:${cfg.clickhouseHttpPort}/ping`);
    expect(await r.text()).toBe('Ok.\n');
    const ch = createClient({ url: `http://127.0.0.1:${cfg.clickhouseHttpPort}`, username: 'default', password: '' });
    const table = `gft_stack_test_${rnd()}`;
    try {
      await ch.command({ query: `CREATE TABLE ${table} (id UInt32, name String, band LowCardinality(String), t DateTime) ENGINE = MergeTree ORDER BY id` });
      const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `n${i}`, band: ['g', 'r', 'i'][i % 3], t: '2026-01-01 00:00:00' }));
      await ch.insert({ table, values: rows, format: 'JSONEachRow' });
      const rs = await ch.query({ query: `SELECT band, count() AS c, any(toUnixTimestamp(t)) AS ts FROM ${table} GROUP BY band ORDER BY band`, format: 'JSONEachRow' });
      // DateTime text is read in the server time zone, configured to UTC.
      expect(await rs.json()).toEqual([
        { band: 'g', c: '334', ts: 1767225600 },
        { band: 'i', c: '333', ts: 1767225600 },
        { band: 'r', c: '333', ts: 1767225600 },
      ]);
      const tz = await (await ch.query({ query: 'SELECT timezone() AS tz', format: 'JSONEachRow' })).json<{ tz: string }>();
      expect(tz[0].tz).toMatch(/^(Etc\/)?UTC$/);
    } finally {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
      await ch.close();
    }
  });
});
