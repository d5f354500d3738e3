import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { StorageIndex } from './storageIndex.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gic-index-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('StorageIndex over a season (issue 22)', () => {
  it('forgets a closed burst: its entries go, a refresh does not bring them back, a recall does', async () => {
    const storage = new LocalStorage(new FsBackend(join(tmp, 'store')));
    for (const b of ['sb24030101', 'sb24030201'])
      for (let i = 0; i < 3; i++) await storage.put(Buffer.from(`${b} frame ${i}`), { kind: 'calibrated', burstId: b, source: 'test', name: `f${i}-cal.fits` });
    const index = new StorageIndex(storage);
    await index.refresh();
    expect(index.size).toBe(6);
    index.forget('sb24030101');
    expect(index.size).toBe(3);
    expect(index.find('f0-cal.fits', { burstId: 'sb24030101' })?.burstId).toBe('sb24030201'); // only the other burst's is left
    await storage.put(Buffer.from('sb24030101 late'), { kind: 'calibrated', burstId: 'sb24030101', source: 'test', name: 'f9-cal.fits' });
    await index.refresh();
    expect(index.size).toBe(3);
    index.recall('sb24030101');
    await index.refresh();
    expect(index.size).toBe(7);
    expect(index.find('f9-cal.fits', { burstId: 'sb24030101' })?.burstId).toBe('sb24030101');
  });
});
