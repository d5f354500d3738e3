/**
 * `npm run bench -- products [--epochs 20] [--candidates 10] [--frame 2148x1472]`: epoch boundary to
 * SDB row on the local stack.
 *
 * The GIC and FSC stages run in-process (StageRunner, a fresh namespace and SDB database) on a burst
 * whose calibrated frames (COATLI size by default, float32, with WCS) and reference are in a fresh
 * local storage. For each of N epochs, one after the other: a candidate list is produced to
 * gp1.candidates (t0 = just before the send, acks=all: the epoch boundary as GP1 publishes it), then
 * ClickHouse is polled (every 5 ms) until the product's row is visible in sdb.products FINAL (t1).
 * Latency = t1 − t0; p50 / p99 over the epochs, split at the gic.products broker timestamp into GIC
 * (list → product announced) and FSC (announced → row visible). Target: p50 < 2 s.
 *
 * Reference, measured in the same run against the same ClickHouse: a bare one-row JSONEachRow insert
 * followed by a select that sees it (the floor of "make a row visible"), and the same poll loop; the
 * chain is printed as a ratio of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { platformConfig } from '../lib/config/platform.ts';
import { StageRunner } from '../lib/runtime/runner.ts';
import { TopicProducer } from '../lib/runtime/producer.ts';
import { createKafka } from '../lib/runtime/kafka.ts';
import { nsName } from '../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace } from '../lib/runtime/testing.ts';
import { LocalStorage } from '../connectors/storage/storage.ts';
import { FsBackend } from '../connectors/storage/backend.ts';
import { ident, raw, sql } from '../connectors/clickhouse/sql.ts';
import { sdbClient } from '../connectors/sdb/sdb.ts';
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import { sampleCandidateList } from '../streams/gic/core/sample.ts';
import { productIdFor } from '../streams/gic/core/dataModel.ts';
import { seedStorage } from '../streams/gic/testing.ts';
import { gicConfig, gicStage } from '../streams/gic/wiring.ts';
import { fscStage } from '../streams/fsc/wiring.ts';
import { ratio, table } from './lib.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

async function visible(ch: ClickHouse, q: ReturnType<typeof sql>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await ch.query<{ n: string }>(q);
    if (Number(r[0]?.n ?? 0) > 0) return performance.now();
    if (Date.now() - start > timeoutMs) throw new Error(`row not visible after ${timeoutMs} ms: ${q.text}`);
    await sleep(5);
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: 'string', default: '20' },
      candidates: { type: 'string', default: '10' },
      frame: { type: 'string', default: '2148x1472' },
    },
  });
  const n = Number(values.epochs);
  const nCand = Number(values.candidates);
  const [fw, fh] = values.frame.split('x').map(Number);
  const ns = randomNamespace('bp');
  const dir = mkdtempSync(join(tmpdir(), 'bench-products-'));
  const storage = new LocalStorage(new FsBackend(dir));
  await provisionNamespace(ns);
  const ch = sdbClient(`sdb_${ns}`);
  const epochs = Array.from({ length: n }, (_, i) => i + 1); // minutes: distinct products, the final at the last
  const lists = epochs.map((e) => sampleCandidateList({ epochMinutes: e, n: nCand }));
  console.log(`products bench: ${n} epochs, ${nCand} candidates, calibrated frames ${fw}x${fh} float32, namespace ${ns}`);
  await seedStorage(storage, lists[lists.length - 1], epochs, { allPixels: true, width: fw, height: fh });

  const quiet = process.env.GFT_LOG_LEVEL;
  process.env.GFT_LOG_LEVEL = 'warn'; // read when the stage loggers are built
  const gic = new StageRunner(gicStage(gicConfig({}), storage), { namespace: ns, publishLogs: false });
  const fsc = new StageRunner(fscStage(ch, storage), { namespace: ns, publishLogs: false });
  const producer = new TopicProducer(ns);
  const announced = new Map<string, number>(); // productId → gic.products broker timestamp (ms)
  const watcher = createKafka(platformConfig(), 'bench-products').consumer({ groupId: `${ns}.bench` });
  let code = 0;
  try {
    await gic.start();
    await fsc.start();
    await watcher.connect();
    await watcher.subscribe({ topic: nsName(ns, 'gic.products'), fromBeginning: true });
    await watcher.run({ eachMessage: async ({ message }) => void announced.set(message.key!.toString(), Number(message.timestamp)) });

    // warm-up: one epoch of another burst (registry ids, resolvers, first parts)
    const warm = sampleCandidateList({ burstId: 'sb19101699', epochMinutes: 1, n: nCand });
    await seedStorage(storage, warm, [1, 2]);
    await producer.send('gp1.candidates', [{ key: warm.burstId, value: warm }]);
    await visible(ch, sql`SELECT count() AS n FROM ${ident(`${ch.database}.products`)} FINAL WHERE product_id = ${productIdFor(warm.burstId, 1)}`, 60_000);

    const total: number[] = [];
    const sendAt: number[] = [];
    for (const list of lists) {
      const pid = productIdFor(list.burstId, list.epochMinutes);
      const wall0 = Date.now();
      const t0 = performance.now();
      await producer.send('gp1.candidates', [{ key: list.burstId, value: list }]);
      const t1 = await visible(ch, sql`SELECT count() AS n FROM ${ident(`${ch.database}.products`)} FINAL WHERE product_id = ${pid}`, 60_000);
      total.push(t1 - t0);
      sendAt.push(wall0);
    }
    await sleep(500);
    const gicPart = lists.map((l, i) => (announced.get(productIdFor(l.burstId, l.epochMinutes)) ?? NaN) - sendAt[i]).filter(Number.isFinite);
    const fscPart = lists.map((l, i) => total[i] - ((announced.get(productIdFor(l.burstId, l.epochMinutes)) ?? NaN) - sendAt[i])).filter(Number.isFinite);

    // reference: bare insert + select of one row, same ClickHouse, same poll loop
    const refTable = ident(`${ch.database}.bench_roundtrip`);
    await ch.exec(raw(`CREATE TABLE IF NOT EXISTS ${refTable} (id String, v Float64) ENGINE = ReplacingMergeTree() ORDER BY id`));
    const ref: number[] = [];
    for (let i = 0; i < Math.max(n, 20); i++) {
      const id = `r${i}`;
      const t0 = performance.now();
      await ch.insert('bench_roundtrip', [{ id, v: i }]);
      const t1 = await visible(ch, sql`SELECT count() AS n FROM ${refTable} FINAL WHERE id = ${id}`, 10_000);
      ref.push(t1 - t0);
    }

    const f = (x: number) => `${x.toFixed(0)} ms`;
    console.log(
      table([
        { path: 'epoch boundary → SDB row (GIC + FSC)', n: total.length, p50: f(pct(total, 0.5)), p99: f(pct(total, 0.99)), 'p50 vs reference': ratio(pct(total, 0.5), pct(ref, 0.5)) },
        { path: '  GIC: list → product announced', n: gicPart.length, p50: f(pct(gicPart, 0.5)), p99: f(pct(gicPart, 0.99)), 'p50 vs reference': ratio(pct(gicPart, 0.5), pct(ref, 0.5)) },
        { path: '  FSC: announced → row visible', n: fscPart.length, p50: f(pct(fscPart, 0.5)), p99: f(pct(fscPart, 0.99)), 'p50 vs reference': ratio(pct(fscPart, 0.5), pct(ref, 0.5)) },
        { path: 'reference: bare ClickHouse insert + select', n: ref.length, p50: f(pct(ref, 0.5)), p99: f(pct(ref, 0.99)), 'p50 vs reference': '1.00x' },
      ]),
    );
    const ok = pct(total, 0.5) < 2000;
    console.log(`target p50 < 2000 ms: ${ok ? 'met' : 'NOT met'} (p50 ${pct(total, 0.5).toFixed(0)} ms)`);
    code = ok ? 0 : 1;
  } finally {
    if (quiet === undefined) delete process.env.GFT_LOG_LEVEL;
    else process.env.GFT_LOG_LEVEL = quiet;
    await watcher.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await Promise.all([gic.stop().catch(() => {}), fsc.stop().catch(() => {})]);
    await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(ch.database)}`)).catch(() => {});
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return code;
}
