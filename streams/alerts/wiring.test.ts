import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot, platformConfig } from '../../lib/config/platform.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { rawRecord } from '../../connectors/voevent/intake.ts';
import { readFileSync } from 'node:fs';
import { alertsStage, alertsSchema } from './wiring.ts';
import { loadConfig } from '../../lib/config/define.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const ready = existsSync(dir) && (await stackReady());
if (!existsSync(dir)) console.warn(`SKIPPED alerts stage test: ${dir} is missing`);

async function readTopic(ns: string, topic: string, reader: string, n: number): Promise<any[]> {
  const cfg = platformConfig();
  const kafka = createKafka(cfg, 't');
  const serdes = new AvroSerdes(cfg.registryUrl);
  const c = kafka.consumer({ groupId: randomNamespace('g') });
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: any[] = [];
  await new Promise<void>((res) => {
    const t = setTimeout(res, 20_000);
    void c.run({ eachMessage: async ({ message }) => { out.push(await serdes.decode(message.value, reader)); if (out.length >= n) { clearTimeout(t); res(); } } });
  });
  await c.disconnect();
  return out;
}

describe.skipIf(!ready)('alerts stage on the real stack', () => {
  it('turns the sb26022501 sequence into a trigger and updates, dead-letters garbage, and replays identically', async () => {
    const store = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'alerts-'))));
    const catalogFile = join(mkdtempSync(join(tmpdir(), 'cat-')), 'cat.csv');
    writeFileSync(catalogFile, 'ra,dec,mag\n204.87,45.12,15.2\n204.9,45.1,16.0\n10,10,12\n');
    const cfg = loadConfig(alertsSchema, { GFT_ALERTS_CATALOG: catalogFile });
    const files = ['gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_eclairs_300.xml', 'gcn-notice-parser_svom_mxt_40.xml'];
    const decisions: string[][] = [];
    for (const run of [0, 1]) {
      const ns = randomNamespace('al');
      await provisionNamespace(ns);
      const p = new TopicProducer(ns);
      for (let i = 0; i < files.length; i++) await p.send('voevent.raw', [rawRecord(readFileSync(join(dir, files[i])), 'file', files[i], 1_772_000_000_000 + i)]);
      await p.send('voevent.raw', [rawRecord(Buffer.from('<VOEvent ivorn="x"><broken>'), 'file', 'junk', 1_772_000_000_009)]);
      await p.disconnect();
      const runner = new StageRunner(alertsStage(cfg, store), { namespace: ns, publishLogs: false });
      await runner.start();
      const managed = await readTopic(ns, 'alerts.managed', 'org.gft.alerts.ManagedAlert', 3);
      const triggers = await readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 3);
      const refs = await readTopic(ns, 'alerts.reference', 'org.gft.alerts.ReferenceFile', 3);
      const dlq = await readTopic(ns, 'alerts.dlq', 'org.gft.runtime.DeadLetter', 1);
      await runner.stop();
      expect(managed.map((m) => m.action)).toEqual(['trigger', 'update', 'update']);
      expect(triggers.map((t) => t.kind)).toEqual(['trigger', 'update', 'update']);
      expect(refs[2]).toMatchObject({ burstId: 'sb26022501', version: 3, ra: 204.8665, dec: 45.1204, errorRadiusDeg: 0.0643, catalogStars: 2, epochsMinutes: [5, 10, 30, 60] });
      const doc = JSON.parse((await store.get(refs[2].document)).toString());
      expect(doc.catalog.stars.map((s: { mag: number }) => s.mag)).toEqual([15.2, 16]);
      expect(dlq[0].errorCode).toBe('voevent.malformed_xml');
      decisions.push(managed.map((m) => `${m.action}|${m.reason}|${m.stateJson}`));
    }
    expect(decisions[1]).toEqual(decisions[0]);
  }, 120_000);
});
