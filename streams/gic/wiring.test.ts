/** The GIC stage called directly (no broker): reference from storage, final product, provenance, DLQ errors. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTable } from '../../lib/fits/index.ts';
import { Logger } from '../../lib/runtime/log.ts';
import { classify } from '../../lib/runtime/errors.ts';
import type { InMessage, StageContext } from '../../lib/runtime/runner.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { validateProduct } from '../fsc/core/validate.ts';
import { seedStorage } from './testing.ts';
import { sampleCandidateList } from './core/sample.ts';
import { gicConfig, gicStage } from './wiring.ts';

const ctx: StageContext = { stage: 'gic', namespace: '', log: new Logger('gic'), heartbeat: async () => {}, emit: async () => {} };
const msg = (topic: string, value: unknown): InMessage<any> => ({ topic, partition: 0, offset: '0', key: null, value, headers: {}, timestamp: 0, bytes: 0 });

describe('GIC stage (handler called directly)', () => {
  it('builds the epoch product, and the final one at the last planned epoch, with provenance from storage', async () => {
    const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'gic-w-'))));
    const list = sampleCandidateList({ epochMinutes: 10, n: 3 });
    await seedStorage(storage, list, [5, 10]);
    const stage = gicStage(gicConfig({}), storage);
    const outs = await stage.handle!(msg('gp1.candidates', list), ctx);
    expect(outs.map((o) => o.key)).toEqual(['sb19101601_1910160101_10min', 'sb19101601_1910160101_final']);
    for (const o of outs) {
      const v = o.value as { storage: { uri: string; sha256: string; size: number; kind: string }; prdmVersion: string; createdAt: number };
      expect(v.prdmVersion).toBe('1.005');
      expect(v.createdAt).toBe(Date.parse(list.epochTime));
      const bytes = await storage.get(v.storage);
      expect(validateProduct(bytes, { productId: o.key! }).reasons).toEqual([]);
      const prov = readTable(bytes, 'PROVENANCE').columns as { KIND: string[]; ID: string[]; SHA256: string[] };
      expect(prov.KIND.filter((k) => k === 'frame')).toHaveLength(list.frames.length);
      expect(prov.SHA256.filter((s, i) => prov.KIND[i] === 'frame' && /^[0-9a-f]{64}$/.test(s))).toHaveLength(list.frames.length);
      expect(prov.KIND).toEqual(expect.arrayContaining(['bias', 'flat', 'reference']));
    }
    // a replay builds identical bytes
    const again = await stage.handle!(msg('gp1.candidates', list), ctx);
    expect(again.map((o) => (o.value as { storage: { sha256: string } }).storage.sha256)).toEqual(outs.map((o) => (o.value as { storage: { sha256: string } }).storage.sha256));
    // an earlier epoch: no final product
    const five = await stage.handle!(msg('gp1.candidates', sampleCandidateList({ epochMinutes: 5, n: 2 })), ctx);
    expect(five.map((o) => o.key)).toEqual(['sb19101601_1910160101_5min']);
  });

  it('sends lists it cannot turn into products to the DLQ (non-retriable errors)', async () => {
    const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'gic-w-'))));
    const stage = gicStage(gicConfig({}), storage);
    const noRef = stage.handle!(msg('gp1.candidates', sampleCandidateList({ burstId: 'sb19101699' })), ctx);
    await expect(noRef).rejects.toMatchObject({ code: 'gic.no_reference', retriable: false });
    const bad = await Promise.resolve(stage.handle!(msg('gp1.candidates', { ...sampleCandidateList(), burstId: 'GRB191016A' }), ctx)).catch((e) => e);
    expect(classify(bad)).toMatchObject({ retriable: false, code: 'gic.bad_burst_id' });
  });
});
