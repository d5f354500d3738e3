import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { ClickHouse } from './client.ts';
import { migrate, applyRetention } from './migrations.ts';
import { clickhouseSink, toRows } from './sink.ts';
import { sql, ident } from './sql.ts';

describe('sink rows (pure)', () => {
  it('maps telemetry to one row per metric and keeps Kafka identity of logs', () => {
    const rows = toRows([
      { topic: 'ops.telemetry', partition: 0, offset: '5', key: 'w', headers: {}, timestamp: 0, bytes: 0, value: { source: 'weather', time: 1_600_000_000_123, metrics: { t: 10, h: 50, bad: Number.NaN }, state: '' } },
      { topic: 'ops.logs', partition: 2, offset: '9', key: 'a', headers: {}, timestamp: 0, bytes: 0, value: { time: 1_600_000_000_000, level: 'info', stage: 'a', instance: 'i', message: 'm', fields: { k: 'v' } } },
    ]);
    expect(rows.telemetry).toHaveLength(2);
    expect(rows.telemetry[0]).toMatchObject({ source: 'weather', metric: 't', time: 1_600_000_000, ms: 123, value: 10, version: 0 });
    expect(rows.logs[0]).toMatchObject({ kafka_id: '2:9', fields: '{"k":"v"}', version: 0 });
    // the version of a row is the timestamp of its Kafka record: the same for every delivery of it
    const again = toRows([{ topic: 'ops.telemetry', partition: 0, offset: '5', key: 'w', headers: {}, timestamp: 1_600_000_000_200, bytes: 0, value: { source: 'weather', time: 1_600_000_000_123, metrics: { t: 10 }, state: '' } }]);
    expect(again.telemetry[0].version).toBe(1_600_000_000_200);
  });
});

const ready = await stackReady();

describe.skipIf(!ready)('ClickHouse sink against the real services', () => {
  const cfg = platformConfig();
  const db = randomNamespace('db').replace(/[^a-z0-9_]/gi, '_');
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = new ClickHouse(cfg, { database: db });
    await migrate(ch);
  });
  afterAll(async () => {
    await ch.exec(`DROP DATABASE IF EXISTS ${ident(db)}`);
    await ch.close();
  });

  it('migrations are idempotent', async () => {
    expect(await migrate(ch)).toEqual([]);
  });

  it('inserts in batches, and a redelivery leaves one set of rows', async () => {
    const ns = randomNamespace('sk');
    await provisionNamespace(ns);
    const kafka = createKafka(cfg, 'sink-test');
    const producer = kafka.producer();
    await producer.connect();
    const serdes = new AvroSerdes(cfg.registryUrl);
    const id = await serdes.register(`${nsName(ns, 'ops.telemetry')}-value`, 'org.gft.ops.Telemetry');
    const n = 2500;
    const base = Date.UTC(2019, 9, 16, 8, 0, 0);
    await producer.send({
      topic: nsName(ns, 'ops.telemetry'),
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({ key: 'weather', value: serdes.encode(id, { source: 'weather', time: base + i * 1000, metrics: { temperature: 10 + i / 1000, wind: 3 }, state: 'ok' }) })),
    });
    await producer.disconnect();
    const count = async () =>
      Number((await ch.query<{ c: string }>(sql`SELECT count() AS c FROM ${ident(`${db}.telemetry`)} FINAL WHERE source = ${'weather'}`))[0].c);
    const rollupCount = async () =>
      Number((await ch.query<{ c: string }>(sql`SELECT sum(n) AS c FROM ${ident(`${db}.telemetry_1m`)} FINAL WHERE source = ${'weather'}`))[0].c);
    for (const group of ['clickhouse-sink', 'clickhouse-sink-replay']) {
      const runner = new StageRunner(clickhouseSink(ch, { maxRows: 1000, maxMs: 300 }), { namespace: ns, groupId: `${ns}.${group}`, publishLogs: false });
      await runner.start();
      const deadline = Date.now() + 30_000;
      while (runner.counters.out < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await runner.stop();
      // plus the runner's own StageMetrics records, which the sink also stores
      expect(runner.counters.out).toBeGreaterThanOrEqual(n);
      expect(await count()).toBe(2 * n);
      // the second group re-inserted every batch (a replay): the rollup still counts each sample once
      expect(await rollupCount()).toBe(2 * n);
    }
  }, 90_000);

  it('drops partitions older than the retention', async () => {
    await ch.insert('telemetry', [
      { source: 'old', metric: 'x', time: Math.floor(Date.UTC(2019, 0, 1) / 1000), ms: 0, value: 1, state: '', version: 1 },
      { source: 'new', metric: 'x', time: Math.floor(Date.now() / 1000), ms: 0, value: 1, state: '', version: 1 },
    ]);
    const dropped = await applyRetention(ch, 30);
    expect(dropped).toContain('telemetry:20190101');
    const left = await ch.query<{ source: string }>(sql`SELECT DISTINCT source FROM ${ident(`${db}.telemetry`)} WHERE source IN (${'old'}, ${'new'})`);
    expect(left.map((r) => r.source)).toEqual(['new']);
  });
});
