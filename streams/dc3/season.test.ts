/**
 * Issue 22, CI-sized: 4 small nights one after the other through one long-lived chain (stages in
 * this process). After each burst, the stateful GP1 stages hold no open burst and only one small
 * closed marker per burst seen; gic's caches do not grow with the bursts. So the per-burst leak
 * (masters and frame buffers kept for every burst) cannot come back silently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { runSeason, seasonTrend, slope, trendLine, type BurstRow } from './season.ts';

const ready = await stackReady();

describe('season trend (pure)', () => {
  it('fits slopes over bursts 2..N and names the stage that grows most', () => {
    expect(slope([1, 2, 3, 4], [10, 12, 14, 16])).toBeCloseTo(2);
    const row = (index: number, chainSeconds: number, a: number, b: number): BurstRow => ({ index, burstId: `b${index}`, chainSeconds, products: 5, accepted: 5, dlq: 0, stages: { a: { rssMB: a, bursts: 0, stateKeys: 0, stateBytes: 0, cacheBytes: 0 }, b: { rssMB: b, bursts: 0, stateKeys: 0, stateBytes: 0, cacheBytes: 0 } } });
    // burst 1 (warm-up) is left out of the fit
    const t = seasonTrend([row(1, 40, 100, 300), row(2, 20, 200, 300), row(3, 20, 203, 310), row(4, 20, 206, 320)]);
    expect(t.stage).toBe('b');
    expect(t.rssMBPerBurst).toBeCloseTo(10);
    expect(t.chainPctPerBurst).toBeCloseTo(0);
    expect(trendLine(t)).toBe('max RSS growth per burst after the second: 10.0 MB (b); chain time trend: 0.0 % per burst');
  });
});

describe.skipIf(!ready)('a season of 4 small nights on one chain', () => {
  it('every burst completes; the GP1 stages hold no state of closed bursts beyond a marker; gic\'s caches stay flat', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gft-season-'));
    try {
      const { rows } = await runSeason({ out, namespace: randomNamespace('season'), bursts: 4, frames: 4, width: 1024, height: 768, instances: 0, timeoutS: 240, log: () => {} });
      expect(rows.map((r) => r.burstId)).toEqual(['sb24030101', 'sb24030201', 'sb24030301', 'sb24030401']);
      for (const r of rows) {
        expect(r.products, r.burstId).toBeGreaterThan(0);
        expect(r.accepted, r.burstId).toBe(r.products);
        expect(r.dlq, r.burstId).toBe(0);
        for (const stage of ['gp1-calibration', 'gp1-detection']) {
          expect(r.stages[stage].bursts, `${stage} after ${r.burstId}`).toBe(0);
          expect(r.stages[stage].stateKeys, `${stage} after ${r.burstId}: one closed marker per burst`).toBe(r.index);
          expect(r.stages[stage].stateBytes / r.index, `${stage}: bytes per closed burst`).toBeLessThan(8000);
        }
        expect(r.stages['gp1-calibration'].cacheBytes, 'no calibrator kept after its burst').toBe(0);
        expect(r.stages.provider.bursts).toBe(0);
      }
      expect(rows[3].stages.gic.cacheBytes).toBeLessThanOrEqual(rows[0].stages.gic.cacheBytes + 4096);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
