/**
 * A pool of worker threads for the CPU-bound parts of calibration: per-frame calibration (one frame
 * per worker) and master combines (one combine split over all workers by pixel ranges).
 *
 * Memory contract (no copies of pixel data):
 * - stacks and masters live in SharedArrayBuffers: use `pool.alloc(n)` as the builders' `alloc`
 *   (buildMaster… `{ alloc: pool.alloc, combiner: pool.combiner }`) and `pool.share(master)` once
 *   per master; shared views are posted without copying;
 * - a raw frame's ArrayBuffer is *transferred* to the worker (the caller's array is detached
 *   afterwards) unless it is a view on a larger buffer, which is copied; the calibrated image,
 *   weight and mask come back transferred.
 *
 * Workers are TypeScript run through tsx: each starts from pool.worker.mjs, which registers tsx's
 * loader in its thread (tsx/esm/api `register()`) before importing pool.worker.ts, so this works from
 * `node bin/gft.mjs`, tsx and vitest alike (`execArgv: ['--import', 'tsx']` did not apply the loader
 * to the worker's entry module under vitest). `close()` must be called (workers keep the
 * process alive).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { frameGeometry, type HeaderLike } from '../camera.ts';
import { CalibrationError, type CalibratedFrame, type CalibrateOptions, type CalibrationMasters } from './calibrate.ts';
import type { CombineCounts, CombineOptions } from './combine.ts';
import type { MasterImage, RawFrame } from './frame.ts';
import type { Request } from './pool.worker.ts';

type Pending = { resolve: (v: any) => void; reject: (e: Error) => void };

/** Default worker count: the machine's parallelism (2 on the reference machine), at least 1. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** A Float32Array on shared memory. */
export function sharedFloat32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** (key, value) pairs of any header we know: lib/fits Header (`cards`), MapHeader (`values`). */
function headerPairs(h: HeaderLike): [string, string | number | boolean | null][] {
  const any = h as { cards?: { key: string; value?: unknown }[]; values?: Record<string, unknown> };
  const ok = (v: unknown): v is string | number | boolean | null => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  if (Array.isArray(any.cards)) return any.cards.filter((c) => c.key !== 'HISTORY' && c.key !== 'COMMENT' && ok(c.value ?? null)).map((c) => [c.key, (c.value ?? null) as string | number | boolean | null]);
  if (any.values && typeof any.values === 'object') return Object.entries(any.values).filter(([, v]) => ok(v)) as [string, string | number | boolean | null][];
  throw new Error('CalibrationPool: cannot serialise this header (needs `cards` or `values`)');
}

class Slot {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  busy = 0;
  constructor(onDead: (e: Error) => void) {
    this.worker = new Worker(new URL('./pool.worker.mjs', import.meta.url));
    this.worker.on('message', (m: { id: number; ok: boolean; error?: { name: string; message: string; code?: string; stack?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.busy--;
      if (m.ok) p.resolve(m);
      else {
        const e = m.error!;
        const err = e.code ? new CalibrationError(e.code as CalibrationError['code'], e.message) : Object.assign(new Error(e.message), { name: e.name });
        p.reject(err);
      }
    });
    this.worker.on('exit', (code) => {
      const e = new Error(`calibration worker exited (code ${code}) with ${this.pending.size} request(s) pending`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      onDead(e);
    });
  }
}

export class CalibrationPool {
  private readonly slots: Slot[];
  private nextId = 1;
  private dead: Error | null = null;
  private readonly sharedMasters = new Map<string, MasterImage>();
  /** Output buffers handed back by recycle(), by pixel count. */
  private readonly free = new Map<number, { image: Float32Array; weight: Float32Array; mask: Uint8Array }[]>();

  private constructor(size: number) {
    this.slots = Array.from({ length: size }, () => new Slot((e) => (this.dead = e)));
  }

  /** Starts `size` workers and waits until each has loaded its code. */
  static async create(size = defaultWorkers()): Promise<CalibrationPool> {
    const pool = new CalibrationPool(Math.max(1, size));
    await Promise.all(pool.slots.map((s) => pool.send(s, { op: 'ping' })));
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private send(slot: Slot, req: Omit<Request, 'id'> & Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<any> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.busy++;
      slot.worker.postMessage({ ...req, id }, transfer);
    });
  }

  private leastBusy(): Slot {
    return this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /** Shared-memory allocator for master stacks (pass as MasterOptions.alloc). */
  readonly alloc = (n: number): Float32Array => sharedFloat32(n);

  /** Combine over all workers (pass as MasterOptions.combiner). Non-shared arrays are copied to shared memory first. */
  readonly combiner = async (stack: Float32Array[], out: Float32Array, opts: CombineOptions): Promise<CombineCounts> => {
    const st = stack.map((a) => (isShared(a) ? a : copyShared(a)));
    const o = isShared(out) ? out : sharedFloat32(out.length);
    const n = out.length;
    const parts = this.slots.length;
    const chunk = Math.ceil(n / parts);
    const replies = await Promise.all(
      this.slots.map((s, k) => {
        const start = k * chunk;
        const end = Math.min(n, start + chunk);
        return start < end ? this.send(s, { op: 'combine', stack: st, out: o, opts, start, end }) : Promise.resolve({ clipped: 0 });
      }),
    );
    if (o !== out) out.set(o);
    return { clipped: replies.reduce((a, r) => a + (r.clipped ?? 0), 0) };
  };

  /** A master with its pixels on shared memory (copied once, cached by checksum). */
  share<M extends MasterImage>(m: M): M {
    if (isShared(m.data)) return m;
    const cached = this.sharedMasters.get(m.sha256);
    if (cached) return { ...m, data: cached.data };
    const s = { ...m, data: copyShared(m.data) };
    this.sharedMasters.set(m.sha256, s);
    return s;
  }

  /**
   * Calibrates one frame on the least busy worker. The raw pixel buffer is transferred (detached
   * here) when the array owns its whole buffer, else copied. Rejects with CalibrationError like
   * calibrateFrame.
   */
  async calibrate(raw: RawFrame, masters: CalibrationMasters, opts: CalibrateOptions): Promise<CalibratedFrame> {
    if (opts.out) throw new Error('CalibrationPool.calibrate: opts.out is not supported (results are transferred back)');
    const { data, m, transfer } = this.outbound(raw, masters);
    // recycled output buffers of the expected size (the data section of this frame) go along
    let out: { image: Float32Array; weight: Float32Array; mask: Uint8Array } | undefined;
    try {
      const g = frameGeometry(opts.camera, raw.header, raw.width, raw.height);
      out = this.free.get((g.data.x2 - g.data.x1 + 1) * (g.data.y2 - g.data.y1 + 1))?.pop();
    } catch {
      // the worker reports the geometry error
    }
    if (out) transfer.push(out.image.buffer as ArrayBuffer, out.weight.buffer as ArrayBuffer, out.mask.buffer as ArrayBuffer);
    const reply = await this.send(this.leastBusy(), { op: 'calibrate', raw: { name: raw.name, cards: headerPairs(raw.header), width: raw.width, height: raw.height, data }, masters: m, opts, out }, transfer);
    return reply.result as CalibratedFrame;
  }

  /**
   * Calibrates one frame on the least busy worker and has the worker write the calibrated FITS file
   * (image + WEIGHT + MASK, as `calibratedBytes`) and its sha256: only the file comes back, the
   * pixel arrays stay in the worker and are reused. The raw pixel buffer is transferred as in
   * calibrate(). Rejects with CalibrationError like calibrateFrame.
   */
  async calibrateFits(raw: RawFrame, masters: CalibrationMasters, opts: CalibrateOptions): Promise<{ meta: Omit<CalibratedFrame, 'image' | 'weight' | 'mask'>; fits: Buffer; sha256: string }> {
    if (opts.out) throw new Error('CalibrationPool.calibrateFits: opts.out is not supported (the worker owns the output arrays)');
    const { data, m, transfer } = this.outbound(raw, masters);
    const rawCards = ((raw.header as { cards?: { key: string; value?: unknown; comment?: string }[] }).cards ?? []).map((c) => ({ key: c.key, value: c.value as string | number | boolean | null, comment: c.comment }));
    const reply = await this.send(this.leastBusy(), { op: 'calibrateFits', raw: { name: raw.name, cards: headerPairs(raw.header), width: raw.width, height: raw.height, data }, rawCards, masters: m, opts }, transfer);
    const r = reply.result as { meta: Omit<CalibratedFrame, 'image' | 'weight' | 'mask'>; fits: Uint8Array; sha256: string };
    return { meta: r.meta, fits: Buffer.from(r.fits.buffer, r.fits.byteOffset, r.fits.byteLength), sha256: r.sha256 };
  }

  /** A frame's pixels (transferred when the array owns its buffer, else copied) and its masters on shared memory. */
  private outbound(raw: RawFrame, masters: CalibrationMasters): { data: Float32Array | Float64Array; m: CalibrationMasters; transfer: ArrayBuffer[] } {
    const d = raw.data;
    const owns = !isShared(d) && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength;
    const data = owns || isShared(d) ? d : d.slice();
    const m: CalibrationMasters = {
      bias: masters.bias ? this.share(masters.bias) : null,
      dark: masters.dark ? this.share(masters.dark) : null,
      flat: masters.flat ? this.share(masters.flat) : null,
    };
    return { data, m, transfer: isShared(data) ? [] : [data.buffer as ArrayBuffer] };
  }

  /**
   * Hands a calibrated frame's buffers back for reuse by a later calibrate() (saves the first-touch
   * cost of fresh memory: ~30 ms per 64 MB here). The frame must not be used afterwards. Keeps at
   * most 2 sets per worker.
   */
  recycle(frame: Pick<CalibratedFrame, 'image' | 'weight' | 'mask'>): void {
    const { image, weight, mask } = frame;
    const own = (a: ArrayBufferView) => !isShared(a) && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.byteLength > 0;
    if (!own(image) || !own(weight) || !own(mask) || image.length !== weight.length || image.length !== mask.length) return;
    const list = this.free.get(image.length) ?? [];
    if (list.length < 2 * this.slots.length) list.push({ image, weight, mask });
    this.free.set(image.length, list);
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

function copyShared(a: Float32Array): Float32Array {
  const s = sharedFloat32(a.length);
  s.set(a);
  return s;
}
