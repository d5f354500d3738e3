// Bootstrap of a calibration worker: registers tsx's TypeScript loader in this thread, then loads
// the TypeScript worker. Plain .mjs so Node can start it without any loader.
import { register } from 'tsx/esm/api';

register();
await import('./pool.worker.ts');
