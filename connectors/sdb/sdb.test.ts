import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { ident, raw } from '../clickhouse/sql.ts';
import { sha256 } from '../storage/storage.ts';
import { buildProduct } from '../../streams/gic/core/product.ts';
import { sampleProductInput } from '../../streams/gic/core/sample.ts';
import { validateProduct } from '../../streams/fsc/core/validate.ts';
import { migrateSdb } from './migrations.ts';
import { countRows, currentCandidates, insertProduct, products, sdbClient, type ValidatedProduct } from './sdb.ts';
import type { ClickHouse } from '../clickhouse/client.ts';

const ready = await stackReady();

function validated(bytes: Buffer, over: Partial<ValidatedProduct> = {}): ValidatedProduct {
  const v = validateProduct(bytes);
  const s = v.summary;
  return {
    productId: s.productId!, burstId: s.burstId!, obsId: s.obsId!, epochMinutes: s.epochMinutes ?? null, revision: s.revision ?? 0,
    sha256: sha256(bytes), size: bytes.length, storageUri: `gft-store://sha256/${sha256(bytes)}`, status: v.ok ? 'accepted' : 'rejected', reasons: v.reasons,
    content: s, createdAtMs: Date.parse('2019-10-16T08:45:00Z'), receivedMs: Date.now(), ...over,
  };
}

describe.skipIf(!ready)('SDB on the real ClickHouse', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = sdbClient(`sdb_${randomNamespace('t')}`);
    expect(await migrateSdb(ch)).toEqual([1, 2]);
    expect(await migrateSdb(ch)).toEqual([]); // idempotent
  });
  afterAll(async () => {
    await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(ch.database)}`));
    await ch.close();
  });

  it('inserting the same product twice leaves one set of rows', async () => {
    const p = buildProduct(sampleProductInput({ epochMinutes: 5, n: 4 }));
    const v = validated(p.bytes);
    expect(v.status).toBe('accepted');
    expect(await insertProduct(ch, v)).toBe(1 + 4 + 20);
    expect(await insertProduct(ch, { ...v, receivedMs: Date.now() + 5000 })).toBe(25);
    expect(await countRows(ch, p.productId)).toEqual({ products: 1, candidates: 4, points: 20 });
    const rows = await products(ch, { productId: p.productId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'accepted', epoch: '5', revision: 0, n_candidates: 4, n_points: 20, reasons: [] });
  });

  it('keeps rejected products with their reasons and no candidate rows', async () => {
    const p = buildProduct(sampleProductInput({ epochMinutes: 30, n: 2 }));
    const bad = Buffer.from(p.bytes);
    bad[bad.length - 100] ^= 0xff;
    const v = validated(bad);
    expect(v.status).toBe('rejected');
    await insertProduct(ch, v);
    await insertProduct(ch, v);
    expect(await countRows(ch, p.productId)).toEqual({ products: 1, candidates: 0, points: 0 });
    const [row] = await products(ch, { productId: p.productId });
    expect(row.status).toBe('rejected');
    expect(row.reasons.some((r) => r.startsWith('checksum.'))).toBe(true);
  });

  it('a revision supersedes: current candidates come from the highest accepted revision', async () => {
    const burstId = 'sb19101602';
    const r0 = buildProduct(sampleProductInput({ burstId, epochMinutes: 10, n: 3, revision: 0 }));
    const r1 = buildProduct(sampleProductInput({ burstId, epochMinutes: 10, n: 2, revision: 1, seed: 9 }));
    await insertProduct(ch, validated(r1.bytes));
    await insertProduct(ch, validated(r0.bytes)); // late redelivery of the older revision
    const cur = await currentCandidates(ch, burstId);
    expect(cur).toHaveLength(2);
    expect(new Set(cur.map((c) => c.revision))).toEqual(new Set([1]));
  });
});
