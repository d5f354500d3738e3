/**
 * A zombie FSC instance cannot make an SDB row appear twice. Two instances of the FSC stage (the real
 * stage, the real ClickHouse; the broker in memory, so the stall is exact): instance A takes a product,
 * writes its SDB rows and stalls before answering (no heartbeat: the group evicts it); instance B takes
 * the partition over and handles the product again; then A resumes: its receipt goes out (kafkajs does
 * not fence it, nor does the in-memory broker), its commit is refused. With FINAL the product has one
 * row, its candidates and points once each, and the two receipts are the same verdict on the same bytes.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryHarness } from '../../lib/runtime/memoryHarness.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, stackProblem } from '../../lib/runtime/testing.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { ident, raw, sql } from '../../connectors/clickhouse/sql.ts';
import { countRows, sdbClient } from '../../connectors/sdb/sdb.ts';
import { buildProduct } from '../gic/core/product.ts';
import { sampleProductInput } from '../gic/core/sample.ts';
import { fscStage, type ProductValue } from './wiring.ts';

// ClickHouse is what this test needs of the stack (the broker is in memory)
const problem = await stackProblem();
if (problem && process.env.GFT_REQUIRE_STACK === '1') throw new Error(`local stack required but unavailable: ${problem}`);
if (problem) console.warn(`SKIPPED FSC zombie test: ${problem}`);

describe.skipIf(!!problem)('a stalled-then-resumed FSC instance', () => {
  const db = `sdb_${randomNamespace('zfsc')}`;
  const ch = sdbClient(db);
  afterAll(async () => {
    await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`)).catch(() => {});
    await ch.close();
  });

  it('cannot make an SDB row appear twice; its late receipt is the same verdict', async () => {
    const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'zfsc-'))));
    const p = buildProduct(sampleProductInput({ epochMinutes: 10, n: 3 }));
    const stored = await storage.put(p.bytes, { kind: 'product', burstId: p.burstId, source: 'test', name: `${p.productId}_r${p.revision}.fits` });
    const value: ProductValue = { productId: p.productId, burstId: p.burstId, obsId: p.obsId, epochMinutes: p.epochMinutes, revision: p.revision, prdmVersion: '1.005', card: p.card, createdAt: p.createdAtMs, candidates: p.nCandidates, storage: stored };

    const h = new MemoryHarness('zf');
    let release!: () => void;
    const resume = new Promise<void>((r) => (release = r));
    let stalled = false;
    const zombie = fscStage(ch, storage);
    const handle = zombie.handle!;
    zombie.handle = async (msg, ctx) => {
      const outs = await handle(msg, ctx); // the SDB rows are written
      if (!stalled) {
        stalled = true;
        await resume; // …and the instance stalls before its receipt and commit (no heartbeat)
      }
      return outs;
    };
    const a = h.runner(zombie);
    await a.start();
    await h.produce('gic.products', [{ key: value.productId, value }]);
    await h.until(() => stalled, { realMs: 50, rounds: 1200, what: 'A wrote the rows and stalled' });
    const b = h.runner(fscStage(ch, storage));
    await b.start();
    const receipts = () => h.read('fsc.receipts').map((r) => r.value as { productId: string; sha256: string; status: string });
    await h.until(() => receipts().length === 1, { stepMs: 2000, realMs: 50, rounds: 1200, what: 'B took the partition over and answered' });
    const topic = nsName('zf', 'gic.products');
    const part = h.broker.records(topic)[0].partition;
    expect(h.broker.committed(b.groupId, topic, part)).toBe(1n);
    release();
    await h.until(() => receipts().length === 2, { realMs: 50, rounds: 1200, what: "the zombie's late receipt" });
    expect(h.broker.committed(b.groupId, topic, part)).toBe(1n); // the zombie's commit was refused (nothing new either way)
    const [r1, r2] = receipts();
    expect(r1).toMatchObject({ productId: value.productId, sha256: stored.sha256, status: 'accepted' });
    expect(r2).toMatchObject({ productId: r1.productId, sha256: r1.sha256, status: r1.status });
    // two instances wrote the product's rows; with FINAL it is there once
    expect(await countRows(ch, value.productId)).toEqual({ products: 1, candidates: 3, points: 30 });
    const before = Number((await ch.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(`${db}.products`)} WHERE product_id = ${value.productId}`))[0].n);
    expect(before).toBeGreaterThanOrEqual(1); // (2 until ClickHouse merges the parts: the duplicates FINAL hides)
    await h.stopAll();
  }, 120_000);
});
