import { describe, it, expect } from 'vitest';
import kafkajs from 'kafkajs';
import { missingProducts, pickBursts, treeCpuSeconds } from './reprocess.ts';
import { burstIdFor } from '../streams/provider/core/simulate/index.ts';

describe('bench reprocess', () => {
  it('picks bursts a day apart or more whose ids fall on partitions 0, 1, 3, 4 of 6 (two each for two instances)', () => {
    const t0 = Date.parse('2019-10-16T08:30:00Z');
    const b = pickBursts(4, 6, t0, burstIdFor);
    expect(b.map((x) => x.partition)).toEqual([0, 1, 3, 4]);
    expect(new Set(b.map((x) => x.burstId)).size).toBe(4);
    for (let i = 1; i < b.length; i++) expect(b[i].t0 - b[i - 1].t0).toBeGreaterThanOrEqual(86_400_000);
    // the partition the producers would choose (murmur2 of the key)
    const p = kafkajs.Partitioners.DefaultPartitioner();
    const meta = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
    for (const x of b) expect(p({ topic: 't', partitionMetadata: meta, message: { key: x.burstId, value: null } })).toBe(x.partition);
  });

  it('measures the CPU time of a process tree', () => {
    const t0 = treeCpuSeconds([process.pid]);
    // spin until this process has used 0.3 CPU s (whatever the machine's load), at most 20 s
    const c0 = process.cpuUsage();
    const end = Date.now() + 20_000;
    let x = 0;
    const used = () => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; };
    while (used() < 0.3 && Date.now() < end) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i);
    expect(x).toBeGreaterThan(0);
    expect(treeCpuSeconds([process.pid]) - t0).toBeGreaterThan(0.25);
  });

  it('waits per burst: the final products of finished bursts do not make up for another burst\'s missing ones', () => {
    const epochs = [5, 10];
    const product = (b: string, e: number | 'final') => ({ productId: `${b}_${e}`, burstId: b, epochMinutes: e === 'final' ? 10 : e, storage: { sha256: `sha-${b}-${e}` } });
    const receipt = (p: ReturnType<typeof product>, status = 'accepted') => ({ productId: p.productId, sha256: p.storage.sha256, status });
    const lists = ['a', 'b'].flatMap((b) => epochs.map((e) => ({ burstId: b, epochMinutes: e })));
    const products = [product('a', 5), product('a', 10), product('a', 'final'), product('b', 5)]; // 4 products for 4 lists
    const o = { references: new Map([['a', epochs], ['b', epochs]]), lists, products, receipts: products.map((p) => receipt(p)) };
    expect(missingProducts(o)).toEqual(['b T0+10 min: no accepted product', 'b: 1 accepted products of 3 (epochs + final)']);
    const all = [...products, product('b', 10), product('b', 'final')];
    expect(missingProducts({ ...o, products: all, receipts: all.map((p) => receipt(p)) })).toEqual([]);
    expect(missingProducts({ ...o, products: all, receipts: all.map((p, i) => receipt(p, i === 5 ? 'rejected' : 'accepted')) })).toEqual(['b: 2 accepted products of 3 (epochs + final)']);
  });
});
