import { describe, it, expect } from 'vitest';
import kafkajs from 'kafkajs';
import { pickBursts, treeCpuSeconds } from './reprocess.ts';
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
});
