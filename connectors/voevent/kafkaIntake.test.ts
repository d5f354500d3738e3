/**
 * VOEvents carried on Kafka (GCN style) → voevent.raw, against the real broker: a topic outside our
 * namespace plays the external cluster's; the alerts stage then triggers on what the intake kept.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot, platformConfig } from '../../lib/config/platform.ts';
import { loadConfig } from '../../lib/config/define.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { clusterLayout, createAndAwaitTopics } from '../../lib/runtime/topics.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { alertsStage, alertsSchema } from '../../streams/alerts/wiring.ts';
import { execFileSync } from 'node:child_process';
import kafkajs from 'kafkajs';
import { KafkaVoeventIntake, kafkaIntakeSchema, oauthTokenProvider, topicSelection, validateKafkaIntake, zstdCodec, MAX_KEPT_BYTES } from './kafkaIntake.ts';

const { CompressionCodecs, CompressionTypes } = kafkajs;

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const haveData = existsSync(dir);
if (!haveData) console.warn(`SKIPPED Kafka VOEvent intake integration test: ${dir} is missing`);
const ready = haveData && (await stackReady());

/** The reference zstd implementation (Debian package zstd) as an independent compressor. */
const zstdCli = (b: Buffer): Buffer => execFileSync('zstd', ['-q', '-c', '-3'], { input: b, maxBuffer: 64 << 20 });
const haveZstdCli = (() => {
  try {
    zstdCli(Buffer.from('x'));
    return true;
  } catch {
    console.warn('SKIPPED zstd codec test: the zstd command is missing (apt-get install zstd)');
    return false;
  }
})();

async function readN(ns: string, topic: string, reader: string, n: number, timeoutMs = 20_000): Promise<Array<{ key: string | null; value: any }>> {
  const cfg = platformConfig();
  const c = createKafka(cfg, 'kt').consumer({ groupId: randomNamespace('g') });
  const serdes = new AvroSerdes(cfg.registryUrl);
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: Array<{ key: string | null; value: any }> = [];
  await new Promise<void>((res) => {
    const t = setTimeout(res, timeoutMs);
    void c.run({ eachMessage: async ({ message }) => { out.push({ key: message.key?.toString() ?? null, value: await serdes.decode(message.value!, reader) }); if (out.length >= n) { clearTimeout(t); res(); } } });
  });
  await c.disconnect();
  return out;
}

describe('Kafka intake configuration', () => {
  const cfg = (env: Record<string, string>) => loadConfig(kafkaIntakeSchema, env);
  it('defaults to the GCN SVOM VOEvent topics and refuses incomplete settings with what to set', () => {
    expect(topicSelection(cfg({}).topics)).toEqual(['gcn.notices.svom.voevent.eclairs', 'gcn.notices.svom.voevent.grm', 'gcn.notices.svom.voevent.mxt']);
    expect(topicSelection('/^gcn\\.notices\\.svom\\..*/')[0]).toBeInstanceOf(RegExp);
    expect(() => validateKafkaIntake(cfg({}))).toThrow(/GFT_VOEVENT_KAFKA_BROKERS/);
    expect(() => validateKafkaIntake(cfg({ GFT_VOEVENT_KAFKA_BROKERS: 'h:9092', GFT_VOEVENT_KAFKA_SASL: 'oauthbearer' }))).toThrow(/CLIENT_ID/);
    expect(() => validateKafkaIntake(cfg({ GFT_VOEVENT_KAFKA_BROKERS: 'h:9092', GFT_VOEVENT_KAFKA_SASL: 'kerberos' }))).toThrow(/not one of/);
    expect(() => validateKafkaIntake(cfg({ GFT_VOEVENT_KAFKA_BROKERS: 'h:9092', GFT_VOEVENT_KAFKA_SASL: 'scram-sha-512' }))).toThrow(/USER/);
    expect(() => validateKafkaIntake(cfg({ GFT_VOEVENT_KAFKA_BROKERS: 'h:9092' }))).not.toThrow();
  });

  it('gets OAuth client-credentials tokens (basic auth, form body) and caches them until near expiry', async () => {
    const seen: Array<{ auth?: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: `tok${seen.length}`, expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const get = oauthTokenProvider({ clientId: 'id', clientSecret: 's3cret', tokenUrl: `http://127.0.0.1:${port}/oauth2/token` });
      expect(await get()).toEqual({ value: 'tok1' });
      expect(await get()).toEqual({ value: 'tok1' }); // cached
      expect(seen).toHaveLength(1);
      expect(seen[0].auth).toBe(`Basic ${Buffer.from('id:s3cret').toString('base64')}`);
      expect(seen[0].body).toBe('grant_type=client_credentials');
      const bad = oauthTokenProvider({ clientId: 'id', clientSecret: 's', tokenUrl: `http://127.0.0.1:${port}/nope` }, async () => new Response('no', { status: 401 }));
      await expect(bad()).rejects.toThrow(/HTTP 401/);
    } finally {
      server.close();
    }
  });
});

describe('zstd batches (the GCN clients\' default compression)', () => {
  it.skipIf(!haveZstdCli)('reads what the reference zstd tool writes: streamed frames without a content size, and several frames', async () => {
    const voevent = haveData ? readFileSync(join(dir, 'gcn-notice-parser_svom_mxt_40.xml')) : Buffer.from('<VOEvent ivorn="ivo://x/y"/>'.repeat(500));
    const one = zstdCli(voevent); // from stdin: the frame header has no content size
    expect(one.subarray(0, 4).readUInt32LE(0)).toBe(0xfd2fb528); // a real zstd frame
    expect((await zstdCodec().decompress(one)).equals(voevent)).toBe(true);
    const two = Buffer.concat([one, zstdCli(Buffer.from('second frame'))]);
    expect((await zstdCodec().decompress(two)).toString('latin1')).toBe(voevent.toString('latin1') + 'second frame');
    await expect(zstdCodec().compress()).rejects.toThrow(/only reads zstd/);
  });
});

describe.skipIf(!ready)('Kafka VOEvent intake on the real broker', () => {
  it('keeps every message byte for byte on voevent.raw keyed by IVORN (zstd batches too); the alerts stage triggers on it', async () => {
    const cfg = platformConfig();
    const ns = randomNamespace('kin');
    await provisionNamespace(ns);
    // the "external" GCN-like topic (takes messages up to 10 MiB, as a cluster may)
    const external = `ext-gcn-notices-svom-${ns}`;
    const kafka = createKafka(cfg, 'kin-test');
    const admin = kafka.admin();
    await admin.connect();
    for (let i = 0; ; i++) {
      // a just-started broker can answer the leader wait with "does not host this topic-partition": retry
      try {
        await createAndAwaitTopics(admin, [{ topic: external, numPartitions: 1, replicationFactor: (await clusterLayout(admin)).replicationFactor, configEntries: [{ name: 'max.message.bytes', value: String(10 << 20) }] }]);
        break;
      } catch (e) {
        if (i === 5) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await admin.disconnect();
    const files = ['gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_eclairs_300.xml', 'gcn-notice-parser_svom_mxt_40.xml'];
    const payloads = files.map((f) => readFileSync(join(dir, f)));
    const garbage = Buffer.from('<not a voevent');
    // over the alerts stage's 1 MiB parse limit but keepable: kept raw, dead-lettered downstream
    const oversized = Buffer.from(readFileSync(join(dir, 'gcn-notice-parser_svom_grm_285.xml'), 'utf8').replace('</voe:VOEvent>', `<!--${'x'.repeat(3 << 19)}--></voe:VOEvent>`));
    const huge = Buffer.alloc(MAX_KEPT_BYTES + 1, 0x20); // cannot be kept on voevent.raw: skipped
    const zstdPayload = readFileSync(join(dir, 'gcn-notice-parser_svom_eclairs_303.xml'));
    const p = kafka.producer({ maxInFlightRequests: 1 });
    await p.connect();
    const send = async (messages: Array<{ value: Buffer | null }>, compression?: number) => {
      for (let i = 0; ; i++) {
        try {
          return await p.send({ topic: external, acks: -1, messages, compression });
        } catch (e) {
          if (i === 4) throw e;
          await new Promise((r) => setTimeout(r, 500)); // leadership of a brand-new topic propagating
        }
      }
    };
    await send([...payloads.map((v) => ({ value: v })), { value: garbage }, { value: null }]);
    await send([{ value: oversized }]);
    await send([{ value: huge }]);
    if (haveZstdCli) {
      // as a GCN producer would write it; the intake reads it through zstdCodec
      (CompressionCodecs as Record<number, () => unknown>)[CompressionTypes.ZSTD] = () => ({ ...zstdCodec(), compress: async (enc: { buffer: Buffer }) => zstdCli(enc.buffer) });
      await send([{ value: zstdPayload }], CompressionTypes.ZSTD);
    } else {
      console.warn('zstd CLI missing: the last message is sent uncompressed (apt-get install zstd)');
      await send([{ value: zstdPayload }]);
    }
    await p.disconnect();

    const producer = new TopicProducer(ns);
    const intake = new KafkaVoeventIntake(loadConfig(kafkaIntakeSchema, { GFT_VOEVENT_KAFKA_BROKERS: cfg.kafkaBrokers.join(','), GFT_VOEVENT_KAFKA_TOPICS: external, GFT_VOEVENT_KAFKA_GROUP: `g-${ns}`, GFT_VOEVENT_KAFKA_FROM_BEGINNING: 'true' }), producer);
    await intake.start();
    const raw = await readN(ns, 'voevent.raw', 'org.gft.intake.RawVoevent', 6);
    const deadline = Date.now() + 10_000;
    while (intake.counters.received < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await intake.stop();
    await producer.disconnect();
    expect(intake.counters).toEqual({ received: 8, kept: 6, empty: 1, tooLarge: 1 });
    const sent = [...payloads, garbage, oversized, zstdPayload];
    expect(raw.map((r, i) => Buffer.from(r.value.payload).equals(sent[i]))).toEqual([true, true, true, true, true, true]);
    expect(raw.map((r) => r.key)).toEqual([...raw.slice(0, 3).map((r) => r.value.ivorn), expect.stringMatching(/^sha256:/), 'ivo://org.svom/fsc#sb26020402_grm-trigger', 'ivo://org.svom/fsc#sb26030408_eclairs-wakeup']);
    expect(raw[0].key).toMatch(/^ivo:\/\//);
    expect(raw.every((r) => r.value.transport === 'kafka' && r.value.source.startsWith(`${external}/0/`))).toBe(true);

    // the alerts stage on what the intake kept: trigger, update, update, and sb26030408's trigger;
    // the garbage and the oversized packet dead-lettered with their reasons
    const catalogFile = join(mkdtempSync(join(tmpdir(), 'kin-')), 'cat.csv');
    writeFileSync(catalogFile, 'ra,dec,mag\n204.87,45.12,15.2\n');
    const store = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'kin-store-'))));
    const runner = new StageRunner(alertsStage(loadConfig(alertsSchema, { GFT_ALERTS_CATALOG: catalogFile }), store), { namespace: ns, publishLogs: false });
    await runner.start();
    const triggers = await readN(ns, 'gp1.trigger', 'org.gft.alerts.Gp1Trigger', 4);
    const dlq = await readN(ns, 'alerts.dlq', 'org.gft.runtime.DeadLetter', 2);
    await runner.stop();
    // gp1.trigger is partitioned by burst: the order holds per burst
    const perBurst = (b: string) => triggers.filter((t) => t.value.burstId === b).map((t) => t.value.kind);
    expect(perBurst('sb26022501')).toEqual(['trigger', 'update', 'update']);
    expect(perBurst('sb26030408')).toEqual(['trigger']);
    expect(dlq.map((d) => d.value.errorCode)).toEqual(['voevent.malformed_xml', 'voevent.too_large']);
  }, 180_000);
});
