/**
 * Worker side of the calibration pool (pool.ts). Runs CPU-bound kernels on typed arrays received
 * either as SharedArrayBuffer views (stacks, masters: shared, not copied) or as transferred
 * ArrayBuffers (a raw frame in, the calibrated arrays out). Never throws across the boundary: every
 * request gets a reply, with `error` on failure.
 */
import { parentPort } from 'node:worker_threads';
import type { HeaderLike } from '../camera.ts';
import { calibrateFrame, CalibrationError, type CalibrateOptions, type CalibrationMasters } from './calibrate.ts';
import { combineStack, type CombineOptions } from './combine.ts';

export type Request =
  | { id: number; op: 'combine'; stack: Float32Array[]; out: Float32Array; opts: CombineOptions; start: number; end: number }
  | {
      id: number;
      op: 'calibrate';
      raw: { name: string; cards: [string, string | number | boolean | null][]; width: number; height: number; data: Float32Array | Float64Array };
      masters: CalibrationMasters;
      opts: CalibrateOptions;
      /** Recycled output buffers (transferred in), reused instead of fresh memory. */
      out?: { image: Float32Array; weight: Float32Array; mask: Uint8Array };
    }
  | { id: number; op: 'ping' };

/** Header rebuilt from (key, value) pairs: first occurrence wins, case-insensitive. */
class PairsHeader implements HeaderLike {
  private readonly map = new Map<string, string | number | boolean | null>();
  constructor(cards: [string, string | number | boolean | null][]) {
    for (const [k, v] of cards) {
      const key = k.toUpperCase();
      if (!this.map.has(key)) this.map.set(key, v);
    }
  }
  get(key: string) {
    return this.map.get(key.toUpperCase());
  }
}

const port = parentPort;
if (!port) throw new Error('pool.worker.ts must run in a worker thread');

port.on('message', (msg: Request) => {
  try {
    if (msg.op === 'ping') {
      port.postMessage({ id: msg.id, ok: true });
    } else if (msg.op === 'combine') {
      const r = combineStack(msg.stack, msg.out, msg.opts, msg.start, msg.end);
      port.postMessage({ id: msg.id, ok: true, clipped: r.clipped });
    } else if (msg.op === 'calibrate') {
      const raw = { name: msg.raw.name, header: new PairsHeader(msg.raw.cards), width: msg.raw.width, height: msg.raw.height, data: msg.raw.data };
      const n = msg.out?.image.length;
      const fits = n !== undefined && msg.out!.weight.length === n && msg.out!.mask.length === n;
      let cal;
      try {
        cal = calibrateFrame(raw, msg.masters, fits ? { ...msg.opts, out: msg.out } : msg.opts);
      } catch (e) {
        // buffers of the wrong size for this frame: calibrate into fresh ones
        if (!(e instanceof CalibrationError && fits && /output buffers/.test(e.message))) throw e;
        cal = calibrateFrame(raw, msg.masters, msg.opts);
      }
      const transfer = [cal.image, cal.weight, cal.mask].map((a) => a.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      port.postMessage({ id: msg.id, ok: true, result: cal }, transfer);
    }
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: msg.id, ok: false, error: { name: err.name, message: err.message, code: e instanceof CalibrationError ? e.code : undefined, stack: err.stack } });
  }
});
