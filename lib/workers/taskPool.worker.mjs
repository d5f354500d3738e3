// Bootstrap of a TaskPool worker: registers tsx's TypeScript loader in this thread, imports the task
// module named by workerData.module, then answers { id, fn, args } requests with { id, ok, value | error }.
// Plain .mjs so Node can start it without any loader (see streams/gp1/core/calibration/pool.ts).
import { register } from 'tsx/esm/api';
import { parentPort, workerData } from 'node:worker_threads';

register();
const mod = await import(workerData.module);

parentPort.on('message', async ({ id, fn, args }) => {
  try {
    const f = mod[fn];
    if (typeof f !== 'function') throw new Error(`task module ${workerData.module} has no function '${fn}'`);
    const value = await f(...args);
    const transfer = value && Array.isArray(value.__transfer) ? value.__transfer : [];
    if (transfer.length) delete value.__transfer;
    parentPort.postMessage({ id, ok: true, value }, transfer);
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: { name: e?.name ?? 'Error', message: e?.message ?? String(e), code: e?.code, retriable: e?.retriable, stack: e?.stack } });
  }
});
parentPort.postMessage({ ready: true });
