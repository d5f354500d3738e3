/**
 * Interop with the reference clients, on the real stack, as an outside team would meet our topics:
 *
 * - Python `confluent-kafka` (librdkafka + fastavro `AvroDeserializer`/`AvroSerializer` through the
 *   registry's Confluent-compatible API), in the venv of `bash connectors/interop/peer/setup.sh`:
 *   - docs/consumers.md's Python example (examples/product_consumer.py, run as is) reads the
 *     `gic.products` and `fsc.receipts` records our TopicProducer wrote: every field, timestamps as
 *     timezone-aware datetimes (timestamp-millis from the registry's schema), files verified;
 *   - a DeadLetter we produce reads in Python (datetime, bytes, headers);
 *   - RawVoevents Python produces (its own registration of RawVoevent.avsc, datetime values) decode
 *     in our serdes as numbers, and our registration of the same subject is the same schema id.
 * - Java: Kafka's own console consumer (kafka-tools jar next to the broker's jars) prints the keys
 *   and headers of our `gic.products`.
 *
 * Each part skips, saying why, when its peer is not installed.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { LocalStorage } from '../storage/storage.ts';
import { FsBackend } from '../storage/backend.ts';
import { buildProduct } from '../../streams/gic/core/product.ts';
import { sampleProductInput } from '../../streams/gic/core/sample.ts';
import { svomNotice } from '../../streams/alerts/core/fixtures.ts';
import { kafkaVersion } from '../../deploy/services/kafka.ts';
import { findJava } from '../../deploy/lib/java.ts';

const cfg = platformConfig();
const python = join(cfg.home, 'confluent-peer', 'bin', 'python');
const toolsJar = join(cfg.home, 'kafka-tools', `kafka-tools-${kafkaVersion()}.jar`);
const brokerLibs = join(cfg.home, 'kafka', 'libs');
const havePython = existsSync(python);
const haveJava = existsSync(toolsJar) && existsSync(brokerLibs);
const setup = 'bash connectors/interop/peer/setup.sh';
if (!havePython) console.warn(`SKIPPED Python confluent-kafka interop tests: no venv at ${python} (run: ${setup})`);
if (!haveJava) console.warn(`SKIPPED Kafka console consumer test: ${toolsJar} or ${brokerLibs} missing (run: ${setup})`);
const ready = await stackReady();

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
/** What Python's datetime.isoformat(timespec="milliseconds") prints for a UTC instant. */
const pyIso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');

describe.skipIf(!ready)('reference Confluent clients read and write our topics', () => {
  const ns = randomNamespace('ix');
  const storeDir = mkdtempSync(join(tmpdir(), 'ix-store-'));
  const products: { value: Record<string, unknown>; bytes: Buffer; headers: Record<string, string> }[] = [];
  const receipts: Record<string, unknown>[] = [];
  const dlq = {
    stage: 'alerts', errorCode: 'voevent.unparseable', errorMessage: 'not a VOEvent: unexpected end of input at line 3',
    sourceTopic: nsName(ns, 'voevent.raw'), partition: 0, offset: '41', failedAt: Date.UTC(2024, 2, 15, 2, 31, 4, 250),
    key: Buffer.from('ivo://org.svom/fsc#sb24031501_eclairs-wakeup'), value: Buffer.from([0x3c, 0x3f, 0x78, 0x00, 0xff, 0xfe]),
  };
  const dlqHeaders = { 'gft-error-code': dlq.errorCode, 'gft-stage': 'alerts', 'gft-source-topic': dlq.sourceTopic, 'gft-source-partition': '0', 'gft-source-offset': '41' };

  beforeAll(async () => {
    await provisionNamespace(ns);
    const storage = new LocalStorage(new FsBackend(storeDir));
    for (const input of [sampleProductInput({ epochMinutes: 5, n: 2 }), sampleProductInput({ epochMinutes: 10, n: 3, final: true })]) {
      const p = buildProduct(input);
      const ref = await storage.put(p.bytes, { kind: 'product', burstId: p.burstId, source: 'test', name: `${p.productId}_r0.fits` });
      products.push({
        value: { productId: p.productId, burstId: p.burstId, obsId: p.obsId, epochMinutes: p.epochMinutes, revision: 0, prdmVersion: '1.005', card: p.card, createdAt: p.createdAtMs, candidates: p.nCandidates, storage: ref },
        bytes: p.bytes,
        headers: { 'gft-source': `${nsName(ns, 'gp1.candidates')}/0/${products.length}`, 'gft-stage': 'gic' },
      });
    }
    receipts.push(
      { productId: products[0].value.productId, sha256: (products[0].value.storage as { sha256: string }).sha256, status: 'accepted', reasons: [], rows: 13, processedAt: Date.UTC(2024, 2, 15, 2, 40, 0, 5) },
      { productId: products[1].value.productId, sha256: (products[1].value.storage as { sha256: string }).sha256, status: 'rejected', reasons: ['fsc.checksum: DATASUM does not match', 'fsc.keyword: PRDM_VER missing'], rows: 0, processedAt: Date.UTC(2024, 2, 15, 2, 40, 1, 999) },
    );
    const producer = new TopicProducer(ns);
    try {
      await producer.send('gic.products', products.map((p) => ({ key: p.value.productId as string, value: p.value, headers: p.headers })));
      await producer.send('fsc.receipts', receipts.map((r) => ({ key: r.productId as string, value: r })));
      await producer.send('alerts.dlq', [{ key: 'sb24031501', value: dlq, headers: dlqHeaders }]);
    } finally {
      await producer.disconnect();
    }
  }, 90_000);

  it.skipIf(!havePython)('docs/consumers.md Python example reads products and receipts: every field, datetimes, verified files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ix-out-'));
    const r = await run(python, [
      'examples/product_consumer.py', '--brokers', cfg.kafkaBrokers.join(','), '--registry', cfg.registryUrl, '--group', `${ns}.py-team`,
      '--topic', nsName(ns, 'gic.products'), '--topic', nsName(ns, 'fsc.receipts'), '--from-beginning', '--exit-after', '4', '--storage', storeDir, '--out', out,
    ], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = lines(r.stdout);
    console.log(`Python example, its line for the 5 min product:\n${r.stdout.split('\n').find((l) => l.includes('_5min", "value'))}`);
    expect(got).toHaveLength(4);
    for (const p of products) {
      const line = got.find((l) => l.topic === nsName(ns, 'gic.products') && l.key === p.value.productId)!;
      expect(line, String(p.value.productId)).toBeDefined();
      // every field; createdAt a datetime (printed ISO 8601 with the UTC offset), not an integer
      expect(line.value).toEqual({ ...p.value, createdAt: pyIso(p.value.createdAt as number) });
      expect(readFileSync(line.file as string).equals(p.bytes)).toBe(true);
    }
    expect(products.map((p) => p.value.epochMinutes)).toEqual([5, null]);
    for (const rc of receipts) {
      const line = got.find((l) => l.topic === nsName(ns, 'fsc.receipts') && l.key === rc.productId)!;
      expect(line.value).toEqual({ ...rc, processedAt: pyIso(rc.processedAt as number) });
      expect(line.file).toBeUndefined();
    }
  }, 90_000);

  it.skipIf(!havePython)('a DeadLetter we produce reads in Python: datetime, bytes and headers', async () => {
    const r = await run(python, ['connectors/interop/peer/confluent_peer.py', 'consume', '--brokers', cfg.kafkaBrokers.join(','), '--registry', cfg.registryUrl, '--topic', nsName(ns, 'alerts.dlq'), '--group', `${ns}.py-dlq`, '--count', '1'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const [line] = lines(r.stdout);
    expect(line).toMatchObject({ key: 'sb24031501', headers: dlqHeaders });
    expect(line.value).toEqual({ ...dlq, failedAt: { $datetime: pyIso(dlq.failedAt) }, key: { $bytes: dlq.key.toString('hex') }, value: { $bytes: dlq.value.toString('hex') } });
  }, 90_000);

  it.skipIf(!havePython)('RawVoevents Python produces (its own registration, datetimes) decode in our serdes', async () => {
    const topic = nsName(ns, 'voevent.raw');
    const xml = svomNotice({ burstId: 'sb24031501', packetType: 202, instrument: 'ECLAIRs', ra: 83.6, dec: -5.4, error: 0.1 });
    const sent = [
      { key: 'ivo://org.svom/fsc#sb24031501_eclairs-wakeup', value: { receivedAt: { $datetime: '2024-03-15T02:29:00.123+00:00' }, transport: 'kafka', source: 'partner:9092/svom.voevents', ivorn: 'ivo://org.svom/fsc#sb24031501_eclairs-wakeup', payload: { $bytes: Buffer.from(xml).toString('hex') } } },
      { key: null, value: { receivedAt: { $datetime: '2024-03-15T02:29:01.000+00:00' }, transport: 'file', source: '/data/x.xml', ivorn: null, payload: { $bytes: 'fffe00' } } },
    ];
    const r = await run(python, ['connectors/interop/peer/confluent_peer.py', 'produce', '--brokers', cfg.kafkaBrokers.join(','), '--registry', cfg.registryUrl, '--topic', topic, '--schema', 'schemas/avro/intake/RawVoevent.avsc'], { input: sent.map((s) => JSON.stringify(s)).join('\n'), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const acks = lines(r.stdout) as { schemaId: number }[];
    expect(acks).toHaveLength(2);
    // the registry holds what Python registered from the file; ours is the same schema, so the same id
    expect(await new AvroSerdes(cfg.registryUrl).register(`${topic}-value`, 'org.gft.intake.RawVoevent')).toBe(acks[0].schemaId);

    const serdes = new AvroSerdes(cfg.registryUrl);
    const consumer = createKafka(cfg, 'ix-test').consumer({ groupId: `${ns}.ours` });
    const got: { key: string | null; value: unknown }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout: ${got.length} of 2`)), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push({ key: message.key?.toString() ?? null, value: await serdes.decode(message.value, 'org.gft.intake.RawVoevent') });
            if (got.length === 2) {
              clearTimeout(t);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    expect(got).toEqual([
      { key: sent[0].key, value: { receivedAt: Date.UTC(2024, 2, 15, 2, 29, 0, 123), transport: 'kafka', source: 'partner:9092/svom.voevents', ivorn: sent[0].value.ivorn, payload: Buffer.from(xml) } },
      { key: null, value: { receivedAt: Date.UTC(2024, 2, 15, 2, 29, 1), transport: 'file', source: '/data/x.xml', ivorn: null, payload: Buffer.from([0xff, 0xfe, 0]) } },
    ]);
  }, 90_000);

  it.skipIf(!haveJava)("Kafka's console consumer prints the keys and headers of our gic.products", async () => {
    const java = findJava(17, process.env.GFT_KAFKA_JAVA).java;
    const r = await run(java, [
      '-Xmx256m', '-cp', `${join(brokerLibs, '*')}:${toolsJar}`, 'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server', cfg.kafkaBrokers.join(','), '--topic', nsName(ns, 'gic.products'), '--group', `${ns}.java-team`, '--from-beginning',
      '--max-messages', '2', '--timeout-ms', '30000', '--property', 'print.key=true', '--property', 'print.headers=true', '--property', 'print.value=false',
    ], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    // one line per record: <headers k:v,k:v> TAB <key>
    const printed = r.stdout.split('\n').filter((l) => l.includes('\t')).map((l) => l.split('\t')).sort((a, b) => a[1].localeCompare(b[1]));
    const expected = products.map((p) => [Object.entries(p.headers).map(([k, v]) => `${k}:${v}`).join(','), p.value.productId as string]).sort((a, b) => a[1].localeCompare(b[1]));
    expect(printed).toEqual(expected);
  }, 90_000);
});
