/**
 * Worker side of the calibration pool (pool.ts). Runs CPU-bound kernels on typed arrays received
 * either as SharedArrayBuffer views (stacks, masters: shared, not copied) or as transferred
 * ArrayBuffers (a raw frame in, the calibrated arrays out). Never throws across the boundary: every
 * request gets a reply, with `error` on failure.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { HeaderLike } from '../camera.ts';
import { calibrateFrame, CalibrationError, type CalibrateOptions, type CalibrationMasters } from './calibrate.ts';
import { combineStack, type CombineOptions } from './combine.ts';
import { calibratedBytes } from './io.ts';

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
  | {
      id: number;
      op: 'calibrateFits';
      raw: { name: string; cards: [string, string | number | boolean | null][]; width: number; height: number; data: Float32Array | Float64Array };
      /** The raw header's cards with comments, copied into the calibrated file's primary header. */
      rawCards: { key: string; value: string | number | boolean | null; comment?: string }[];
      masters: CalibrationMasters;
      opts: CalibrateOptions;
    }
  | { id: number; op: 'ping' };

/** This worker's output arrays, reused frame to frame by calibrateFits (they never leave the worker). */
let own: { image: Float32Array; weight: Float32Array; mask: Uint8Array } | null = null;

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
    } else if (msg.op === 'calibrateFits') {
      // calibrate, write the FITS file and hash it here: only the file's bytes go back
      const raw = { name: msg.raw.name, header: new PairsHeader(msg.raw.cards), width: msg.raw.width, height: msg.raw.height, data: msg.raw.data };
      let cal;
      try {
        cal = calibrateFrame(raw, msg.masters, own ? { ...msg.opts, out: own } : msg.opts);
      } catch (e) {
        if (!(e instanceof CalibrationError && own && /output buffers/.test(e.message))) throw e;
        cal = calibrateFrame(raw, msg.masters, msg.opts); // another frame size: fresh buffers
      }
      own = { image: cal.image, weight: cal.weight, mask: cal.mask };
      const fits = calibratedBytes(cal, { get: () => undefined, cards: msg.rawCards } as HeaderLike);
      const sha256 = createHash('sha256').update(fits).digest('hex');
      const { image: _i, weight: _w, mask: _m, ...meta } = cal;
      const whole = fits.byteOffset === 0 && fits.byteLength === fits.buffer.byteLength && fits.buffer instanceof ArrayBuffer;
      port.postMessage({ id: msg.id, ok: true, result: { meta, fits: whole ? fits : Uint8Array.prototype.slice.call(fits), sha256 } }, whole ? [fits.buffer as ArrayBuffer] : []);
    }
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: msg.id, ok: false, error: { name: err.name, message: err.message, code: e instanceof CalibrationError ? e.code : undefined, stack: err.stack } });
  }
});
