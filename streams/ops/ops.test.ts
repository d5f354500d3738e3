/**
 * The ops simulators end to end on the real stack: produced to ops.telemetry (Avro through the
 * registry, in a random namespace), consumed by the ClickHouse sink into a scratch database, one row
 * per metric, values equal to the pure model's. And the CLI is deterministic by seed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrate } from '../../connectors/clickhouse/migrations.ts';
import { clickhouseSink } from '../../connectors/clickhouse/sink.ts';
import { ident, raw, sql } from '../../connectors/clickhouse/sql.ts';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { provisionNamespace, randomNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { telemetryAt } from './core/samples.ts';
import { runSimulator } from './simulator.ts';
import { kafkaTelemetryOut } from './wiring.ts';

const START = Date.parse('2019-10-16T08:00:00Z');

describe('gft ops simulate --stdout', () => {
  it('prints the same records for the same seed, others for another seed', () => {
    const cli = (seed: number) =>
      spawnSync(process.execPath, [join(repoRoot, 'bin', 'gft.mjs'), 'ops', 'simulate', '--stdout', '--no-pace', '--count', '3', '--speed', '10', '--start', '2019-10-16T08:00:00Z', '--sources', 'tcs,weather', '--seed', String(seed)], { encoding: 'utf8' });
    const a = cli(4);
    expect(a.status, a.stderr).toBe(0);
    const lines = a.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines[2]).toEqual(telemetryAt('tcs', START + 10_000, 4));
    expect(cli(4).stdout).toBe(a.stdout);
    expect(cli(5).stdout).not.toBe(a.stdout);
  }, 60_000);
});

const ready = await stackReady();

describe.skipIf(!ready)('ops telemetry → Kafka → ClickHouse sink', () => {
  const cfg = platformConfig();
  const db = randomNamespace('ops');
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = new ClickHouse(cfg, { database: db });
    await migrate(ch);
  });
  afterAll(async () => {
    await ch?.exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`));
    await ch?.close();
  });

  it('lands every metric of every sample as one row', async () => {
    const ns = randomNamespace('ops');
    await provisionNamespace(ns);
    const out = kafkaTelemetryOut(ns, cfg);
    const ticks = 30;
    const r = await runSimulator({ sources: ['tcs', 'weather'], seed: 9, start: START, rate: 1, speed: 60, count: ticks, pace: false, batch: 10, send: (x) => out.send(x) });
    await out.close();
    expect(r.records).toBe(2 * ticks);
    const perTick = Object.keys(telemetryAt('tcs', START, 9).metrics).length + Object.keys(telemetryAt('weather', START, 9).metrics).length;
    const runner = new StageRunner(clickhouseSink(ch, { maxRows: 500, maxMs: 200 }), { namespace: ns, publishLogs: false, metricsIntervalMs: 60_000 });
    await runner.start();
    const count = async () => Number((await ch.query<{ c: string }>(sql`SELECT count() AS c FROM ${ident(`${db}.telemetry`)}`))[0].c);
    const deadline = Date.now() + 30_000;
    while ((await count()) < ticks * perTick && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    await runner.stop();
    expect(await count()).toBe(ticks * perTick);
    const t = START + 7 * 60_000;
    const rows = await ch.query<{ metric: string; value: number; state: string }>(
      sql`SELECT metric, value, state FROM ${ident(`${db}.telemetry`)} WHERE source = 'tcs' AND time = ${new Date(t)} ORDER BY metric`,
    );
    const expected = telemetryAt('tcs', t, 9);
    expect(Object.fromEntries(rows.map((x) => [x.metric, Number(x.value)]))).toEqual(expected.metrics);
    expect(rows[0].state).toBe(expected.state);
  }, 90_000);
});
