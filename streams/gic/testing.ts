/**
 * Helpers for tests and benchmarks of GIC/FSC (not for production code): seed local storage with
 * what the alerts and GP1 stages leave there for a burst, and collect a topic's decoded messages.
 */
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace } from '../../lib/runtime/testing.ts';
import { writeFits } from '../../lib/fits/index.ts';
import { makeWcs, wcsCards } from '../../lib/wcs/index.ts';
import type { LocalStorage } from '../../connectors/storage/storage.ts';
import { sampleReference, type sampleCandidateList } from './core/sample.ts';

/** Collects decoded messages of a topic (from the beginning) until `until` holds or the timeout. */
export async function collect<T>(ns: string, topic: string, reader: string, until: (got: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> {
  const cfg = platformConfig();
  const serdes = new AvroSerdes(cfg.registryUrl);
  const c = createKafka(cfg, 'test-collect').consumer({ groupId: randomNamespace('g') });
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: T[] = [];
  try {
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timeout: ${out.length} messages on ${topic}`)), timeoutMs);
      void c.run({
        eachMessage: async ({ message }) => {
          out.push(await serdes.decode<T>(message.value, reader));
          if (until(out)) {
            clearTimeout(t);
            res();
          }
        },
      });
    });
  } finally {
    await c.disconnect();
  }
  return out;
}

/**
 * The files the alerts and GP1 stages leave in storage for a burst: the reference document, masters,
 * and a calibrated frame per frame id with a WCS (distinct bytes each: storage is content-addressed).
 * Only the last frame has real pixels (600 x 600), unless `allPixels` (every frame `width` x `height`).
 */
export async function seedStorage(storage: LocalStorage, list: ReturnType<typeof sampleCandidateList>, epochsMinutes: number[], opts: { allPixels?: boolean; width?: number; height?: number } = {}) {
  const ref = sampleReference(list.burstId);
  const doc = { schema: 'gft.alerts.reference/1', ...ref, bestIvorn: 'ivo://org.svom/fsc#test', plan: { cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes } };
  const docRef = await storage.put(Buffer.from(JSON.stringify(doc)), { kind: 'reference', burstId: list.burstId, source: 'test', name: `${list.burstId}_v${ref.version}.json` });
  const masters = { GP1BIAS: 'master-bias-test', GP1FLAT: 'master-flat-r-test' };
  for (const name of Object.values(masters)) await storage.put(Buffer.from(`${name}-${list.burstId}`), { kind: 'master', burstId: list.burstId, source: 'test', name: `${name}.fits` });
  const w = opts.width ?? 600, h = opts.height ?? 600;
  const wcs = makeWcs({ ra: ref.ra, dec: ref.dec, crpix1: w / 2 + 0.5, crpix2: h / 2 + 0.5, scaleArcsec: 0.34 });
  for (const [i, id] of list.frames.entries()) {
    const pixels = opts.allPixels || i === list.frames.length - 1;
    const [fw, fh] = pixels ? [w, h] : [4, 4];
    const bytes = writeFits([{
      kind: 'image', bitpix: -32, width: fw, height: fh, data: new Float32Array(fw * fh).fill(0.2 + i),
      cards: [{ key: 'FRAMEID', value: id }, { key: 'OBJECT', value: list.burstId }, ...Object.entries(masters).map(([key, value]) => ({ key, value })), ...wcsCards(wcs).map(([key, value]) => ({ key, value }))],
    }]);
    await storage.put(bytes, { kind: 'calibrated', burstId: list.burstId, source: 'test', name: `${id}-cal.fits` });
  }
  return { ref, docRef };
}

