/**
 * A small pool of worker threads that run the exported functions of one TypeScript module
 * (CPU-bound work of a stage: GP1 detection, …), so the stage's event loop keeps consuming,
 * producing and heartbeating while pixels are crunched on the other cores.
 *
 * - `new TaskPool(moduleUrl, size)`; `await pool.run('fn', [args], transfer?)` calls `fn(...args)`
 *   in the least busy worker. Arguments and results are structured-cloned (typed arrays fine);
 *   pass ArrayBuffers in `transfer` to move them instead of copying.
 * - A task module's function may return `{ ..., __transfer: [buffers] }` to transfer its result.
 * - Errors keep name, message and `code`/`retriable` (so the runner classifies them as usual).
 * - A worker that dies fails its pending tasks and is replaced.
 * - `close()` terminates the workers (they keep the process alive otherwise).
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Reply {
  id?: number;
  ok?: boolean;
  ready?: boolean;
  value?: unknown;
  error?: { name: string; message: string; code?: string; retriable?: boolean; stack?: string };
}

class Slot {
  worker: Worker;
  readonly pending = new Map<number, Pending>();
  constructor(
    private readonly module: string,
    private readonly onExit: (s: Slot) => void,
  ) {
    this.worker = this.spawn();
  }
  private spawn(): Worker {
    const w = new Worker(new URL('./taskPool.worker.mjs', import.meta.url), { workerData: { module: this.module } });
    w.on('message', (m: Reply) => {
      if (m.ready || m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else {
        const e = m.error!;
        const err = Object.assign(new Error(e.message), { name: e.name, code: e.code, retriable: e.retriable });
        if (e.stack) err.stack = `${e.stack}\n    (in a worker thread)`;
        p.reject(err);
      }
    });
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => {
      this.failAll(new Error(`worker of ${this.module} exited (code ${code})`));
      this.onExit(this);
    });
    return w;
  }
  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

export class TaskPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  readonly size: number;

  constructor(
    readonly module: string | URL,
    size = availableParallelism(),
  ) {
    this.size = Math.max(1, Math.floor(size));
    for (let i = 0; i < this.size; i++) this.slots.push(this.newSlot());
  }

  private newSlot(): Slot {
    const s: Slot = new Slot(String(this.module), (dead) => {
      if (this.closed) return;
      const i = this.slots.indexOf(dead);
      if (i >= 0) this.slots[i] = this.newSlot(); // replace a crashed worker
    });
    return s;
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  run<R>(fn: string, args: unknown[], transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new Error('TaskPool is closed'));
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage({ id, fn, args }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
