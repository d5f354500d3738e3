/** Comparing runs without Kafka: FITS files HDU by HDU, candidate lists field by field. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeFits, type FitsCard } from '../../lib/fits/index.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { compareFits, compareRuns, type RunRecord } from './compare.ts';

function product(date: string, pixels: number[], extra: FitsCard[] = []): Buffer {
  return writeFits(
    [
      { kind: 'image', bitpix: -32, width: 2, height: 2, data: pixels, cards: [{ key: 'DATE', value: date }, { key: 'PROD_ID', value: 'p1' }, ...extra] },
      { kind: 'table', extname: 'CANDIDATES', columns: [{ name: 'MAG', format: 'E', values: [18.5, 19.25] }] },
    ],
    { checksum: true },
  );
}

describe('compareFits', () => {
  it('ignores creation dates and the checksums over them', () => {
    expect(compareFits(product('2026-11-25T07:00:00', [1, 2, 3, 4]), product('2026-11-26T08:30:00', [1, 2, 3, 4]), 'p')).toEqual([]);
  });
  it('finds a changed pixel, naming the HDU and the byte', () => {
    const d = compareFits(product('2026-11-25T07:00:00', [1, 2, 3, 4]), product('2026-11-25T07:00:00', [1, 2, 3, 4.5]), 'p');
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^p HDU 0: data unit differs .*first difference at byte 13/); // 4.0 → 4.5: float32 0x40800000 → 0x40900000, second byte of pixel 3
  });
  it('finds a changed header card other than the dates', () => {
    const d = compareFits(product('x', [1, 2, 3, 4], [{ key: 'NCAND', value: 1 }]), product('x', [1, 2, 3, 4], [{ key: 'NCAND', value: 2 }]), 'p');
    expect(d.join('\n')).toMatch(/header card .*NCAND=1 vs NCAND=2/);
  });
});

describe('compareRuns', () => {
  const storage = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'cmp-'))));
  const list = (mag: number, base: unknown) => ({ burstId: 'sb1', epochMinutes: 5, revision: 0, frames: ['f1', 'f2'], candidates: [{ id: 'c1', mag, lightCurve: [{ frameId: 'f1', mag }] }], baseFile: base });

  it('identical runs: same lists (base file refs aside) and same product data', async () => {
    const pa = await storage.put(product('2026-01-01', [1, 2, 3, 4]), { kind: 'product', source: 't' });
    const pb = await storage.put(product('2026-01-02', [1, 2, 3, 4]), { kind: 'product', source: 't' });
    expect(pa.sha256).not.toBe(pb.sha256); // the files differ by their DATE
    const a: RunRecord = { namespace: 'a', lists: [list(18.5, null)], products: [{ productId: 'p1', revision: 0, storage: pa }] };
    const b: RunRecord = { namespace: 'b', lists: [list(18.5, null)], products: [{ productId: 'p1', revision: 0, storage: pb }] };
    const c = await compareRuns(a, b, storage);
    expect(c).toMatchObject({ identical: true, lists: { compared: 1, differing: 0 }, products: { compared: 1, differing: 0 } });
  });

  it('reports a different magnitude deep in a light curve, a missing list and an extra product', async () => {
    const p = await storage.put(product('2026-01-01', [1, 2, 3, 4]), { kind: 'product', source: 't' });
    const a: RunRecord = { namespace: 'a', lists: [list(18.5, null), { ...list(18.5, null), epochMinutes: 10 }], products: [{ productId: 'p1', revision: 0, storage: p }] };
    const b: RunRecord = { namespace: 'b', lists: [{ ...list(18.5, null), candidates: [{ id: 'c1', mag: 18.5, lightCurve: [{ frameId: 'f1', mag: 18.500001 }] }] }], products: [{ productId: 'p1', revision: 0, storage: p }, { productId: 'p2', revision: 0, storage: p }] };
    const c = await compareRuns(a, b, storage);
    expect(c.identical).toBe(false);
    expect(c.differences).toEqual([
      'candidate list sb1 T0+5min: .candidates[0].lightCurve[0].mag: 18.5 vs 18.500001',
      'candidate list sb1 T0+10min: missing in b',
      'product p2: only in b',
    ]);
  });
});
