/**
 * GIC + FSC on the real stack: candidate lists in → products in storage → receipts → SDB rows;
 * a redelivered product leaves one set of rows; a corrupted product is rejected and kept.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { ident, raw } from '../../connectors/clickhouse/sql.ts';
import { countRows, products, sdbClient } from '../../connectors/sdb/sdb.ts';
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { sampleCandidateList, sampleProductInput } from '../gic/core/sample.ts';
import { buildProduct } from '../gic/core/product.ts';
import { collect, seedStorage } from '../gic/testing.ts';
import { gicConfig, gicStage } from '../gic/wiring.ts';
import { fscStage } from './wiring.ts';

const ready = await stackReady();

interface Receipt { productId: string; sha256: string; status: string; reasons: string[]; rows: number }
interface Announced { productId: string; revision: number; storage: { uri: string; sha256: string; size: number; kind: string }; candidates: number; epochMinutes: number | null }

describe.skipIf(!ready)('GIC → FSC → SDB on the real stack', () => {
  const ns = randomNamespace('pc');
  const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'gic-fsc-'))));
  let ch: ClickHouse;
  let gic: StageRunner;
  let fsc: StageRunner;
  const producer = new TopicProducer(ns);

  beforeAll(async () => {
    await provisionNamespace(ns);
    ch = sdbClient(`sdb_${ns}`);
    gic = new StageRunner(gicStage(gicConfig({}), storage), { namespace: ns, publishLogs: false });
    fsc = new StageRunner(fscStage(ch, storage), { namespace: ns, publishLogs: false });
    await gic.start();
    await fsc.start();
  });
  afterAll(async () => {
    await Promise.all([gic?.stop(), fsc?.stop()]);
    await producer.disconnect();
    await ch?.exec(raw(`DROP DATABASE IF EXISTS ${ident(ch.database)}`)).catch(() => {});
    await ch?.close();
  });

  it('candidate lists → products in storage → accepted receipts → SDB rows; a redelivery adds no row; a corrupted product is rejected and kept', async () => {
    const l5 = sampleCandidateList({ epochMinutes: 5, n: 2 });
    const l10 = sampleCandidateList({ epochMinutes: 10, n: 3 });
    const { ref, docRef } = await seedStorage(storage, l10, [5, 10]);
    await producer.send('alerts.reference', [{
      key: ref.burstId,
      value: { burstId: ref.burstId, version: ref.version, t0: ref.t0, ra: ref.ra, dec: ref.dec, errorRadiusDeg: ref.errorRadiusDeg, bestIvorn: 'ivo://org.svom/fsc#test', cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes: [5, 10], catalogStars: 0, document: docRef, issuedAt: 0 },
    }]);
    await producer.send('gp1.candidates', [{ key: l5.burstId, value: l5 }, { key: l10.burstId, value: l10 }]);

    const ids = ['sb19101601_1910160101_5min', 'sb19101601_1910160101_10min', 'sb19101601_1910160101_final'];
    const receipts = await collect<Receipt>(ns, 'fsc.receipts', 'org.gft.fsc.FscReceipt', (g) => g.length >= 3);
    expect(receipts.map((r) => r.productId).sort()).toEqual([...ids].sort());
    for (const r of receipts) expect(r, r.productId).toMatchObject({ status: 'accepted', reasons: [] });
    const announced = await collect<Announced>(ns, 'gic.products', 'org.gft.gic.Product', (g) => g.length >= 3);
    const ten = announced.find((a) => a.productId === ids[1])!;
    expect(ten).toMatchObject({ revision: 0, candidates: 3, epochMinutes: 10, storage: { kind: 'product' } });
    expect(announced.find((a) => a.productId === ids[2])!.epochMinutes).toBeNull();
    const bytes = await storage.get(ten.storage); // in storage, digest verified
    expect(bytes.subarray(0, 9).toString()).toBe('SIMPLE  =');
    expect(bytes.includes(Buffer.from("CUTOUT"))).toBe(true);
    expect(bytes.includes(Buffer.from('master-flat-r-test'))).toBe(true);

    expect(await countRows(ch, ids[0])).toEqual({ products: 1, candidates: 2, points: 10 });
    expect(await countRows(ch, ids[1])).toEqual({ products: 1, candidates: 3, points: 30 });
    expect(await countRows(ch, ids[2])).toEqual({ products: 1, candidates: 3, points: 30 });
    expect(receipts.find((r) => r.productId === ids[1])!.rows).toBe(1 + 3 + 30);

    // delivering the same product again: one more receipt, no more rows
    await producer.send('gic.products', [{ key: ten.productId, value: ten }]);
    const again = await collect<Receipt>(ns, 'fsc.receipts', 'org.gft.fsc.FscReceipt', (g) => g.length >= 4);
    expect(again.filter((r) => r.productId === ids[1])).toHaveLength(2);
    expect(await countRows(ch, ids[1])).toEqual({ products: 1, candidates: 3, points: 30 });

    // a corrupted product: rejected with reasons, its row kept with status rejected, its bytes in storage
    const good = buildProduct(sampleProductInput({ epochMinutes: 30, n: 2 })).bytes;
    const bad = Buffer.from(good);
    bad[good.length - 200] ^= 0x10;
    const badRef = await storage.put(bad, { kind: 'product', burstId: 'sb19101601', source: 'test', name: 'corrupt.fits' });
    const pid30 = 'sb19101601_1910160101_30min';
    await producer.send('gic.products', [{ key: pid30, value: { productId: pid30, burstId: 'sb19101601', obsId: '1910160101', epochMinutes: 30, revision: 0, prdmVersion: '1.005', card: 'FGFT_CAND_EPOCH', createdAt: Date.parse('2019-10-16T09:05:00Z'), candidates: 2, storage: badRef } }]);
    const all = await collect<Receipt>(ns, 'fsc.receipts', 'org.gft.fsc.FscReceipt', (g) => g.some((r) => r.productId === pid30));
    const rej = all.find((r) => r.productId === pid30)!;
    expect(rej.status).toBe('rejected');
    expect(rej.reasons.some((r) => r.startsWith('checksum.datasum_bad'))).toBe(true);
    const [row] = await products(ch, { productId: pid30 });
    expect(row).toMatchObject({ status: 'rejected', sha256: badRef.sha256 });
    expect(row.reasons).toEqual(rej.reasons);
    expect(await countRows(ch, pid30)).toEqual({ products: 1, candidates: 0, points: 0 });
    expect((await storage.get(badRef)).equals(bad)).toBe(true);
  }, 120_000);
});
