import { describe, it, expect, afterAll } from 'vitest';
import { TaskPool } from './taskPool.ts';

const pool = new TaskPool(new URL('./fixtures/tasks.ts', import.meta.url), 2);
afterAll(() => pool.close());

describe('TaskPool', () => {
  it('runs a function of the task module in a worker thread, with typed arrays', async () => {
    const a = Float64Array.from({ length: 1000 }, (_, i) => i);
    const r = await pool.run<{ total: number; thread: number }>('sum', [a]);
    expect(r.total).toBe(499500);
    expect(r.thread).toBeGreaterThan(0); // not the main thread
  });

  it('spreads concurrent tasks over the workers and runs them in parallel', async () => {
    const t0 = Date.now();
    const threads = await Promise.all([pool.run<number>('spin', [300]), pool.run<number>('spin', [300])]);
    expect(new Set(threads).size).toBe(2);
    expect(Date.now() - t0).toBeLessThan(580); // two 300 ms spins, not one after the other
  });

  it('transfers buffers both ways', async () => {
    const a = new Float64Array(10).fill(1);
    const r = await pool.run<{ total: number }>('sum', [a], [a.buffer]);
    expect(r.total).toBe(10);
    expect(a.length).toBe(0); // detached: moved, not copied
    const d = await pool.run<{ out: Float32Array; __transfer?: unknown }>('double', [5]);
    expect(Array.from(d.out)).toEqual([2, 2, 2, 2, 2]);
    expect(d.__transfer).toBeUndefined();
  });

  it('keeps the error message, code and retriable flag', async () => {
    await expect(pool.run('fail', ['bad_frame'])).rejects.toMatchObject({ message: 'failed with bad_frame', code: 'bad_frame', retriable: false });
    await expect(pool.run('fail', ['busy'])).rejects.toMatchObject({ code: 'busy', retriable: true });
    await expect(pool.run('nope', [])).rejects.toThrow(/has no function 'nope'/);
  });

  it('fails the tasks of a dead worker and replaces it', async () => {
    await expect(pool.run('die', [])).rejects.toThrow(/exited/);
    await new Promise((r) => setTimeout(r, 100));
    const rs = await Promise.all([pool.run<{ total: number }>('sum', [new Float64Array([1, 2])]), pool.run<{ total: number }>('sum', [new Float64Array([3])])]);
    expect(rs.map((r) => r.total)).toEqual([3, 3]);
  });
});
