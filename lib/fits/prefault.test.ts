/** Output buffers page-faulted ahead by the helper thread (prefault.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import { outputBuffer, prefaultState, stopHelper } from './prefault.ts';
import { readImage, releaseFitsMemory, writeFits } from './index.ts';

const MB = 1 << 20;

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(() => stopHelper());

describe('pre-faulted output buffers', () => {
  it('small buffers never start the helper; big ones get a helper-made buffer of the same size on the next call', async () => {
    stopHelper();
    const small = outputBuffer(MB);
    expect(small.byteLength).toBe(MB);
    expect(prefaultState().helper).toBe(false);

    const first = outputBuffer(5 * MB); // allocated on the spot; asks the helper for the next one
    expect(first.byteLength).toBe(5 * MB);
    expect(prefaultState()).toMatchObject({ helper: true, pending: [5 * MB] });
    await until(() => prefaultState().ready.includes(5 * MB));
    const served = prefaultState().served;
    const second = outputBuffer(5 * MB); // the helper's, transferred: a plain, writable ArrayBuffer
    expect(prefaultState().served).toBe(served + 1);
    expect(second).toBeInstanceOf(ArrayBuffer);
    expect(second.byteLength).toBe(5 * MB);
    new Float32Array(second).fill(1.5);
    expect(new Float32Array(second)[5 * (MB / 4) - 1]).toBe(1.5);
    // taken from the spares, and another of that size requested (the helper may already have made it)
    const after = prefaultState();
    expect([...after.pending, ...after.ready]).toEqual([5 * MB]);
    await until(() => prefaultState().ready.length === 1);
    // at most two sizes kept
    for (const n of [6, 7, 8]) {
      outputBuffer(n * MB);
      await until(() => prefaultState().ready.includes(n * MB));
    }
    expect(prefaultState().ready.length).toBe(2);
  });

  it('GFT_FITS_NO_PREFAULT=1 allocates on the spot; releaseFitsMemory stops the helper', () => {
    stopHelper();
    process.env.GFT_FITS_NO_PREFAULT = '1';
    try {
      expect(outputBuffer(5 * MB).byteLength).toBe(5 * MB);
      expect(prefaultState().helper).toBe(false);
    } finally {
      delete process.env.GFT_FITS_NO_PREFAULT;
    }
    outputBuffer(5 * MB);
    expect(prefaultState().helper).toBe(true);
    releaseFitsMemory();
    expect(prefaultState()).toMatchObject({ helper: false, ready: [], pending: [] });
  });

  it('images read into helper buffers are right, plain and RICE', async () => {
    const w = 1200;
    const h = 1000; // 4.8 MB of Float32
    const data = Float32Array.from({ length: w * h }, (_, i) => (i * 7919) % 60000);
    for (const compress of [undefined, 'rice'] as const) {
      stopHelper();
      const buf = writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: w, height: h, data }], compress ? { compress } : {});
      const a = readImage(buf).data;
      await until(() => prefaultState().ready.includes(w * h * 4));
      const served = prefaultState().served;
      const b = readImage(buf).data; // in the helper's buffer
      expect(prefaultState().served).toBe(served + 1);
      for (const img of [a, b]) {
        let bad = 0;
        for (let i = 0; i < data.length; i++) if (img[i] !== data[i]) bad++;
        expect(bad, compress ?? 'plain').toBe(0);
      }
      expect(b.buffer).not.toBe(a.buffer);
    }
  });
});
