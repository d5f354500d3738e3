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
import { spawn } from 'node:child_process';
import { alertsStage, alertsSchema } from './wiring.ts';
import { KafkajsBroker } from '../../lib/runtime/broker/kafkajs.ts';
import { ChangelogReplica } from '../../lib/runtime/tables.ts';
import { emptyState } from './core/manager.ts';
import { loadConfig } from '../../lib/config/define.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const ready = existsSync(dir) && (await stackReady());
if (!existsSync(dir)) console.warn(`SKIPPED alerts stage test: ${dir} is missing`);

/** Reads up to n records (read-committed unless asked), waiting at most timeoutMs. */
async function readTopic(ns: string, topic: string, reader: string, n: number, timeoutMs = 20_000, readUncommitted = false): Promise<any[]> {
  const cfg = platformConfig();
  const kafka = createKafka(cfg, 't');
  const serdes = new AvroSerdes(cfg.registryUrl);
  const c = kafka.consumer({ groupId: randomNamespace('g'), readUncommitted });
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: any[] = [];
  await new Promise<void>((res) => {
    const t = setTimeout(res, timeoutMs);
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

  it('a crash between producing the decision and committing it still yields exactly one GP1 trigger after restart', async () => {
    // The stage process kills itself (SIGKILL) right after the outputs of its first chunk were sent and
    // before they were committed: alerts.managed, alerts.reference and gp1.trigger hold records of an
    // open transaction. The restarted stage rebuilds its state from alerts.managed: it must not see the
    // aborted decision (else the re-read packet looks like a duplicate and the trigger is lost), and
    // downstream must see the trigger exactly once.
    const ns = randomNamespace('alx');
    await provisionNamespace(ns);
    const work = mkdtempSync(join(tmpdir(), 'alx-'));
    const catalogFile = join(work, 'cat.csv');
    writeFileSync(catalogFile, 'ra,dec,mag\n204.65,44.62,14.1\n');
    const p = new TopicProducer(ns);
    await p.send('voevent.raw', [rawRecord(readFileSync(join(dir, 'gcn-notice-parser_svom_eclairs_299.xml')), 'file', 'crash-test', 1_772_009_000_000)]);
    await p.disconnect();
    const run = (crashAfterChunk: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'streams/alerts/fixtures/alertsProcess.ts')], {
          cwd: repoRoot,
          env: { ...process.env, GFT_NAMESPACE: ns, GFT_STORAGE_DIR: join(work, 'store'), GFT_ALERTS_CATALOG: catalogFile, ALERTS_CRASH_AFTER_CHUNK: String(crashAfterChunk), GFT_SESSION_TIMEOUT_MS: '6000', GFT_LOG_STDERR: '0' },
          stdio: 'ignore',
        });
        child.once('exit', (code, signal) => resolve(signal === 'SIGKILL' ? -9 : code));
        if (!crashAfterChunk) void readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 1, 60_000).then(async () => {
          await new Promise((r) => setTimeout(r, 1500)); // a second trigger would be there by now
          child.kill('SIGTERM');
        });
      });
    expect(await run(1)).toBe(-9);
    // the crashed run did send its outputs (they are in the log, uncommitted) …
    const uncommitted = await readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 1, 10_000, true);
    expect(uncommitted.map((t) => `${t.burstId}:${t.kind}`)).toEqual(['sb26022501:trigger']);
    expect(await readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 1, 3000)).toEqual([]);
    // … and the restart (the killed member's session expires after 6 s) re-decides and commits once
    expect(await run(0)).toBe(0);
    const triggers = await readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 2, 5000);
    expect(triggers.map((t) => `${t.burstId}:${t.kind}:v${t.referenceVersion}`)).toEqual(['sb26022501:trigger:v1']);
    const managed = await readTopic(ns, 'alerts.managed', 'org.gft.alerts.ManagedAlert', 2, 5000);
    expect(managed.map((m) => `${m.burstId}:${m.action}`)).toEqual(['sb26022501:trigger']);
    expect(await readTopic(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 3, 5000, true)).toHaveLength(2); // the aborted one + the committed one
  }, 180_000);

  it('restores the state past a changelog that ends with an aborted transaction, fetched alone', async () => {
    // A committed transaction (bursts a, b, c), then an aborted one (d, and a changed a) and its abort
    // marker at the end of the changelog. With one record batch per fetch, the last fetches hold only
    // aborted records and markers: kafkajs never hands them to eachBatch, yet the restore must see the end.
    const ns = randomNamespace('als');
    await provisionNamespace(ns);
    const cfg = platformConfig();
    const serdes = new AvroSerdes(cfg.registryUrl);
    const id = await serdes.register(`${nsName(ns, 'alerts.changelog')}-value`, 'org.gft.runtime.StateEntry');
    const rec = (burstId: string, mission: string) => ({ key: `burst/${burstId}`, partition: 0, value: serdes.encode(id, { stage: 'alerts', json: JSON.stringify({ ...emptyState(burstId), mission }) }) });
    const producer = createKafka(cfg, 'als').producer({ transactionalId: `als-${ns}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const topic = nsName(ns, 'alerts.changelog');
    const t1 = await producer.transaction();
    for (const b of ['a', 'b', 'c']) await t1.send({ topic, acks: -1, messages: [rec(b, 'committed')] });
    await t1.commit();
    const t2 = await producer.transaction();
    for (const b of ['d', 'a']) await t2.send({ topic, acks: -1, messages: [rec(b, 'aborted')] });
    await t2.abort();
    await producer.disconnect();
    const broker = new KafkajsBroker(cfg);
    const replica = new ChangelogReplica(broker, serdes, { clientId: 'als-test', topic, warn: () => {}, maxBytesPerPartition: 64 });
    try {
      const store = await replica.restore(0, 20_000);
      expect(store.keys()).toEqual(['burst/a', 'burst/b', 'burst/c']);
      expect(store.keys().map((k) => store.get<{ mission: string }>(k)!.mission)).toEqual(['committed', 'committed', 'committed']);
    } finally {
      await replica.stop();
    }
  }, 60_000);
});
