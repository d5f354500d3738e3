/**
 * The detection core called from a worker thread the way a pool calls it: measureFrameArrays with
 * the pixels transferred, plain header cards and catalog; the result must equal processFrame's in
 * this thread (WebAssembly kernels included: each thread has its own).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { wcsCards } from '../../../../lib/wcs/index.ts';
import { TaskPool } from '../../../../lib/workers/taskPool.ts';
import { makeNight } from './synthetic.ts';
import { measureFrameArrays, processFrame, type FrameRequest, type FrameResult } from './frame.ts';

const pool = new TaskPool(new URL('./index.ts', import.meta.url), 1);
afterAll(() => pool.close());

describe('detection core in a worker thread', () => {
  it('measureFrameArrays: transferred pixels, plain cards and catalog in, the same FrameResult out', async () => {
    const night = makeNight({ seed: 71, width: 512, height: 400, nStars: 2500, starts: [300] });
    const f = night.frames[0];
    const header: FrameRequest['header'] = { 'DATE-OBS': f.dateObs.replace('Z', ''), EXPTIME: f.exptime, GAIN: f.gain };
    for (const [k, v] of wcsCards(f.headerWcs)) header[k] = v as string | number;
    const local = processFrame({ frameId: f.frameId, dateObs: f.dateObs, exptime: f.exptime, gain: f.gain, wcs: f.headerWcs, width: f.width, height: f.height, data: f.data, weight: f.weight, mask: Float32Array.from(f.mask) }, night.catalog);
    expect(local.astrometry.ok).toBe(true);
    // copies to transfer (the worker owns them afterwards)
    const req: FrameRequest = { frameId: f.frameId, header, width: f.width, height: f.height, data: f.data.slice(), weight: f.weight.slice(), mask: Float32Array.from(f.mask), catalog: night.catalog };
    const transfer = [req.data.buffer, req.weight!.buffer, req.mask!.buffer] as ArrayBuffer[];
    const remote = await pool.run<FrameResult>('measureFrameArrays', [req], transfer);
    expect(req.data.byteLength).toBe(0); // moved, not copied
    expect(remote.sources.length).toBe(local.sources.length);
    expect(remote.astrometry.matched).toBe(local.astrometry.matched);
    expect(remote.zeroPoint.zp).toBeCloseTo(local.zeroPoint.zp, 10);
    expect(remote.sources.map((s) => [s.x, s.y, s.flux, s.flags])).toEqual(local.sources.map((s) => [s.x, s.y, s.flux, s.flags]));
    // the same in this thread through measureFrameArrays (header cards parsed as FITS would give them)
    const again = measureFrameArrays({ ...req, data: f.data, weight: f.weight, mask: Float32Array.from(f.mask) });
    expect(again.sources.length).toBe(local.sources.length);
    expect(again.dateObs).toBe(f.dateObs);
  }, 60_000);

  it('a frame without DATE-OBS is an error, not a guess', async () => {
    const req: FrameRequest = { frameId: 'x', header: { EXPTIME: 60 }, width: 16, height: 16, data: new Float32Array(256), catalog: { ra: [], dec: [], mag: [] } };
    await expect(pool.run('measureFrameArrays', [req])).rejects.toThrow(/DATE-OBS/);
  });
});
