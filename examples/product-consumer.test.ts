import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig } from '../lib/config/platform.ts';
import { TopicProducer } from '../lib/runtime/producer.ts';
import { nsName } from '../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../lib/runtime/testing.ts';
import { LocalStorage } from '../connectors/storage/storage.ts';
import { FsBackend } from '../connectors/storage/backend.ts';
import { buildProduct } from '../streams/gic/core/product.ts';
import { sampleProductInput } from '../streams/gic/core/sample.ts';
import { consumeProducts, type ProductAnnouncement } from './product-consumer.ts';

const ready = await stackReady();

describe.skipIf(!ready)('example product consumer (own group) on the real stack', () => {
  it('decodes announcements through the registry and downloads the verified files', async () => {
    const ns = randomNamespace('ex');
    await provisionNamespace(ns);
    const dir = mkdtempSync(join(tmpdir(), 'ex-store-'));
    const out = mkdtempSync(join(tmpdir(), 'ex-out-'));
    const storage = new LocalStorage(new FsBackend(dir));
    const p = buildProduct(sampleProductInput({ epochMinutes: 5, n: 2 }));
    const ref = await storage.put(p.bytes, { kind: 'product', burstId: p.burstId, source: 'test', name: `${p.productId}_r0.fits` });
    const value: ProductAnnouncement = { productId: p.productId, burstId: p.burstId, obsId: p.obsId, epochMinutes: 5, revision: 0, prdmVersion: '1.005', card: p.card, createdAt: p.createdAtMs, candidates: p.nCandidates, storage: ref };
    const producer = new TopicProducer(ns);
    await producer.send('gic.products', [{ key: p.productId, value }, { key: p.productId, value }]); // and a redelivery
    await producer.disconnect();

    const cfg = platformConfig();
    const got: { p: ProductAnnouncement; file: string }[] = [];
    let done: () => void = () => {};
    const twice = new Promise<void>((r) => (done = r));
    const c = await consumeProducts({
      brokers: cfg.kafkaBrokers, registryUrl: cfg.registryUrl, groupId: `${ns}.external-team`, topic: nsName(ns, 'gic.products'),
      storageDir: dir, outDir: out, fromBeginning: true,
      onProduct: (a, file) => {
        got.push({ p: a, file });
        if (got.length === 2) done();
      },
    });
    await Promise.race([twice, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 30_000))]);
    await c.stop();
    expect(got[0].p).toMatchObject({ productId: p.productId, epochMinutes: 5, revision: 0, candidates: 2, storage: { sha256: ref.sha256 } });
    expect(got[1].file).toBe(got[0].file);
    expect(readFileSync(got[0].file).equals(p.bytes)).toBe(true);
  }, 60_000);
});
