/**
 * Output buffers for decoded images, made ready ahead of time by a helper thread.
 *
 * Why: a fresh image buffer costs a page fault per 4 KB page on first write. A 4192x4096 Float32
 * image is 16,384 pages; at the ~2.5 µs per fault measured on these VMs that is ~40 ms — as much as
 * decoding its RICE tiles (`npm run bench -- fits`, profiled with node --cpu-prof: copyTile, i.e. the
 * first writes into the output, took 45–55 % of a read). Buffers above glibc's mmap threshold
 * (32 MB) are unmapped when freed, so every read pays this again; numpy avoids it with
 * transparent huge pages, which Node cannot ask for.
 *
 * How: when a read needs an output buffer of at least MIN_BYTES, it takes one the helper thread has
 * already allocated and touched (page-faulted), if one of that exact size is ready, and asks the
 * helper for another of that size for the next read. The helper's buffer is *transferred* (no copy):
 * callers get a plain, unshared ArrayBuffer, as from Buffer.allocUnsafeSlow. The faults then happen on
 * the helper thread while this thread decodes the current image — the CPU time is about the same, the
 * wall time drops when a second core is free. The helper runs at nice 19 (Linux), so on a busy machine
 * it yields, no buffer is ready, and the read allocates on the spot as without it. Synchronous: ready
 * buffers are collected with receiveMessageOnPort, never by waiting.
 *
 * Memory: at most KEEP spare buffers (one per recent image size) plus one in flight. The helper is
 * unref'd (it never keeps the process alive); releaseFitsMemory() stops it and drops the spares.
 * GFT_FITS_NO_PREFAULT=1 turns it off (every buffer is then allocated on the spot).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/**
 * Below this, faulting in a fresh buffer costs little (< 2 ms). From 4 MB up it pays: glibc recycles
 * a freed image only if the GC freed it in time (mmap threshold adapts up to 32 MB; always fresh pages
 * above), and a 2184x1472 Float32 frame (12.9 MB) read in 2.5 ms otherwise takes 7–10 ms.
 */
const MIN_BYTES = 4 << 20;
/** Spare buffers kept ready: one per recent image size (a chain reads one camera's frames; a bench two). */
const KEEP = 2;
const PAGE = 4096;

const HELPER = `
const { workerData } = require('node:worker_threads');
// Lowest priority for this thread only (Linux: a thread id is a pid for setpriority): it should use
// idle CPU, never slow down the reading thread or other processes.
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 19);
} catch {}
const port = workerData.port;
port.on('message', (bytes) => {
  let buffer = null;
  try {
    buffer = new ArrayBuffer(bytes);
    const u = new Uint8Array(buffer);
    for (let i = 0; i < bytes; i += ${PAGE}) u[i] = 0;
  } catch {
    buffer = null; // out of memory: the reader allocates on the spot
  }
  port.postMessage({ bytes, buffer }, buffer ? [buffer] : []);
});
`;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

let helper: Helper | null | undefined;
const ready: ArrayBuffer[] = [];
const pending = new Set<number>();
let served = 0;

function disabled(): boolean {
  return process.env.GFT_FITS_NO_PREFAULT === '1';
}

function getHelper(): Helper | null {
  if (helper !== undefined) return helper;
  try {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(HELPER, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    worker.unref();
    // A helper that fails is not used any more: buffers are then allocated on the spot.
    worker.on('error', () => {
      stopHelper();
      helper = null;
    });
    helper = { worker, port: port1 };
  } catch {
    helper = null; // no worker threads here: allocate on the spot
  }
  return helper;
}

function collect(h: Helper): void {
  for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) {
    const { bytes, buffer } = m.message as { bytes: number; buffer: ArrayBuffer | null };
    pending.delete(bytes);
    if (!buffer) continue;
    ready.push(buffer);
    if (ready.length > KEEP) ready.shift();
  }
}

/**
 * An uninitialised buffer of exactly `bytes` bytes (contents unspecified: the caller overwrites every
 * byte), page-faulted in advance when a helper-made one of that size is ready.
 */
export function outputBuffer(bytes: number): ArrayBuffer {
  const h = bytes >= MIN_BYTES && !disabled() ? getHelper() : null;
  if (!h) return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
  collect(h);
  const i = ready.findIndex((b) => b.byteLength === bytes);
  if (i >= 0) served++;
  const out = i >= 0 ? ready.splice(i, 1)[0] : (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer);
  if (!pending.has(bytes) && !ready.some((b) => b.byteLength === bytes)) {
    pending.add(bytes);
    h.port.postMessage(bytes);
  }
  return out;
}

/** Stops the helper thread and drops the spare buffers (a new helper starts on the next big read). */
export function stopHelper(): void {
  const h = helper;
  helper = undefined;
  ready.length = 0;
  pending.clear();
  if (h) {
    h.port.close();
    void h.worker.terminate().catch(() => {});
  }
}

/** For tests: buffers ready, requests in flight, helper buffers handed out so far. */
export function prefaultState(): { ready: number[]; pending: number[]; helper: boolean; served: number } {
  if (helper) collect(helper);
  return { ready: ready.map((b) => b.byteLength), pending: [...pending], helper: !!helper, served };
}
