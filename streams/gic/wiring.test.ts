/** The GIC stage called directly (no broker): reference from storage, final product, provenance, DLQ errors. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, readTable, writeFits } from '../../lib/fits/index.ts';
import { makeWcs, wcsCards } from '../../lib/wcs/index.ts';
import { Logger } from '../../lib/runtime/log.ts';
import { classify } from '../../lib/runtime/errors.ts';
import type { InMessage, StageContext } from '../../lib/runtime/runner.ts';
import { stageContext } from '../../lib/runtime/memoryHarness.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { validateProduct } from '../fsc/core/validate.ts';
import { seedStorage } from './testing.ts';
import { sampleReference } from './core/sample.ts';
import { sampleCandidateList } from './core/sample.ts';
import { gicConfig, gicStage } from './wiring.ts';

const ctx: StageContext = stageContext({ stage: 'gic' });
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

  it('provenance follows the list\'s frameRefs and the masters\' pixel checksums, not names another night reused', async () => {
    const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'gic-w-'))));
    const base = sampleCandidateList({ epochMinutes: 10, n: 2 });
    // night B (a re-run with another seed) and night A: the same frame and master names, the same burst, other bytes
    const ref = sampleReference(base.burstId);
    const master = async (pixels: number, created: string) => {
      const bytes = writeFits([{ kind: 'image', bitpix: -32, width: 2, height: 2, data: new Float32Array(4).fill(pixels), cards: [{ key: 'GP1SHA', value: `${pixels}`.repeat(64).slice(0, 64) }] }]);
      return storage.put(bytes, { kind: 'master', burstId: base.burstId, source: 'test', name: 'master-bias-night.fits', created });
    };
    const biasB = await master(2, '2019-10-16T00:41:20Z'), biasA = await master(1, '2019-10-16T00:41:21Z'); // by name, A looks the newer
    expect(biasA.sha256).not.toBe(biasB.sha256);
    const wcs = makeWcs({ ra: ref.ra, dec: ref.dec, crpix1: 300.5, crpix2: 300.5, scaleArcsec: 0.34 });
    const frameRefs = [];
    for (const [i, id] of base.frames.entries()) {
      const bytes = writeFits([{
        kind: 'image', bitpix: -32, width: 600, height: 600, data: new Float32Array(600 * 600).fill(7 + i),
        cards: [{ key: 'GP1BIAS', value: 'master-bias-night' }, { key: 'GP1BSHA', value: '2'.repeat(64) }, ...wcsCards(wcs).map(([key, value]) => ({ key, value }))],
      }]);
      const calibrated = await storage.put(bytes, { kind: 'calibrated', burstId: base.burstId, source: 'test', name: `${id}-cal.fits` });
      frameRefs.push({ frameId: id, calibrated, raw: null });
    }
    await seedStorage(storage, base, [5, 10]); // night A, stored later: by name, its frames look the newer
    const stage = gicStage(gicConfig({}), storage);
    const [epoch] = await stage.handle!(msg('gp1.candidates', { ...base, frameRefs }), ctx);
    const bytes = await storage.get((epoch.value as { storage: { uri: string } }).storage.uri);
    const prov = readTable(bytes, 'PROVENANCE').columns as { KIND: string[]; ID: string[]; SHA256: string[] };
    expect(prov.SHA256.filter((_, i) => prov.KIND[i] === 'frame')).toEqual(frameRefs.map((r) => r.calibrated.sha256));
    expect(prov.SHA256[prov.KIND.indexOf('bias')]).toBe(biasB.sha256);
    // the cut-outs come from night B's last frame (pixels 7 + i), not night A's (0.2 + i)
    const cut = readImage(bytes, 'CUTOUT');
    expect(cut.data.length).toBeGreaterThan(0);
    expect([...new Set(Array.from(cut.data))]).toEqual([7 + base.frames.length - 1]);
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
