/**
 * `npm run bench -- runtime`: the stage runtime against raw kafkajs, same payloads, same run.
 *
 * 1. Pass-through throughput: N Avro Telemetry records are produced once to an input topic. Then
 *    (a) raw kafkajs: a consumer group with eachBatch that re-sends each batch's bytes to an
 *        output topic with sendBatch(acks=all) and commits — no decoding;
 *    (b) our StageRunner with an identity stage: decode via the registry, handler, encode, produce
 *        (acks=all), commit finished work.
 *    Both read the same input from the beginning under their own group; msgs/s of each and the
 *    ratio (target ≥ 0.75).
 * 2. avsc encode/decode vs JSON.stringify/parse on our records, as ratios.
 */
import type { Kafka } from 'kafkajs';
import { platformConfig } from '../lib/config/platform.ts';
import { createKafka } from '../lib/runtime/kafka.ts';
import { AvroSerdes } from '../lib/runtime/serdes.ts';
import { StageRunner } from '../lib/runtime/runner.ts';
import { schema } from '../lib/runtime/schemas.ts';
import { clusterLayout, createAndAwaitTopics, createTopics } from '../lib/runtime/topics.ts';
import { randomNamespace } from '../lib/runtime/testing.ts';
import type { TopicSpec } from '../lib/runtime/topology.ts';
import { parseArgs } from '../lib/cli/args.ts';
import { table } from './lib.ts';

function sample(i: number) {
  return {
    source: `tcs`,
    time: 1_571_212_800_000 + i * 1000,
    metrics: { ra: 283.1 + i * 1e-6, dec: -12.5, focus: 1234.5, ccdTemp: -60.1, domeAz: 180 + (i % 360), humidity: 35.2 },
    state: 'tracking',
  };
}

/**
 * Waits until `topic` holds n messages; returns the steady-state rate (msgs/s) measured between the
 * moment 10 % of them were there and the end, so group joins and schema registration (fixed
 * start-up costs of both paths) do not count.
 */
async function steadyRate(kafka: Kafka, topic: string, n: number, timeoutMs: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const start = Date.now();
  let t10: number | undefined;
  let c10 = 0;
  try {
    for (;;) {
      const offs = await admin.fetchTopicOffsets(topic);
      const total = offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
      const now = performance.now();
      if (t10 === undefined && total >= n * 0.1) {
        t10 = now;
        c10 = total;
      }
      if (total >= n) return ((total - c10) / (now - t10!)) * 1000;
      if (Date.now() - start > timeoutMs) throw new Error(`timeout: ${total}/${n} messages in ${topic}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await admin.disconnect();
  }
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { usage: 'npm run bench -- runtime [--messages N]', options: { messages: { type: 'number', description: 'messages per run', default: 50_000 } } });
  const n = Number(a.options.messages);
  const cfg = platformConfig();
  const ns = randomNamespace('bench');
  const kafka = createKafka(cfg, 'bench-runtime');
  const extra: TopicSpec[] = ['bench.in', 'bench.raw-out', 'bench.stage-out'].map((name) => ({ name, schema: 'org.gft.ops.Telemetry', key: 'source', partitions: 1, cleanup: 'delete', retentionMs: 3600_000, producer: 'external', consumers: [], doc: 'benchmark' }));
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, ns);
  const layout = await clusterLayout(admin);
  await createAndAwaitTopics(admin, extra.map((t) => ({ topic: `${ns}.${t.name}`, numPartitions: 1, replicationFactor: layout.replicationFactor })));
  await admin.disconnect();

  // Input, encoded once.
  const serdes = new AvroSerdes(cfg.registryUrl);
  const id = await serdes.register(`${ns}.bench.in-value`, 'org.gft.ops.Telemetry');
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const records = Array.from({ length: n }, (_, i) => sample(i));
  for (let i = 0; i < n; i += 2000) {
    await producer.send({ topic: `${ns}.bench.in`, acks: -1, messages: records.slice(i, i + 2000).map((r) => ({ key: r.source, value: serdes.encode(id, r) })) });
  }
  console.error(`bench runtime: ${n} input messages produced to ${ns}.bench.in`);

  // (a) raw kafkajs pass-through
  const rawConsumer = kafka.consumer({ groupId: `${ns}.raw`, maxBytesPerPartition: 8 << 20 });
  await rawConsumer.connect();
  await rawConsumer.subscribe({ topic: `${ns}.bench.in`, fromBeginning: true });
  await rawConsumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      for (let i = 0; i < batch.messages.length; i += 500) {
        const chunk = batch.messages.slice(i, i + 500);
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: `${ns}.bench.raw-out`, messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) }] });
        const last = chunk[chunk.length - 1].offset;
        resolveOffset(last);
        await rawConsumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
      }
    },
  });
  const rawRate = await steadyRate(kafka, `${ns}.bench.raw-out`, n, 300_000);
  await rawConsumer.disconnect();

  // (b) the runtime, identity stage
  const runner = new StageRunner(
    { name: 'bench-passthrough', inputs: ['bench.in'], outputs: ['bench.stage-out'], handle: (m) => [{ topic: 'bench.stage-out', key: m.key, value: m.value }] },
    { namespace: ns, extraTopics: extra, publishLogs: false, metricsIntervalMs: 60_000 },
  );
  process.env.GFT_LOG_STDERR = '0';
  await runner.start();
  const stageRate = await steadyRate(kafka, `${ns}.bench.stage-out`, n, 300_000);
  await runner.stop();
  await producer.disconnect();

  console.log(`\nPass-through, ${n} Avro Telemetry records, 1 partition, acks=all, commit per chunk; steady-state rate from 10 % to 100 % of the output:`);
  console.log(table([
    { path: 'raw kafkajs (bytes relayed)', 'msgs/s': Math.round(rawRate), ratio: '1.00' },
    { path: 'gft StageRunner (decode+handle+encode)', 'msgs/s': Math.round(stageRate), ratio: (stageRate / rawRate).toFixed(2) },
  ]));
  console.log(`runtime keeps ${((stageRate / rawRate) * 100).toFixed(0)}% of raw kafkajs throughput (target ≥ 75%)`);

  // 2. avsc vs JSON on our records
  const recs: Array<[string, unknown]> = [
    ['org.gft.ops.Telemetry', sample(1)],
    ['org.gft.gp1.CandidateList', {
      burstId: 'sb19101601', epochMinutes: 10, epochTime: '2019-10-16T08:40:00Z', revision: 0, frames: Array.from({ length: 8 }, (_, i) => `20191016T0832${i}0C0o`), zeroPoint: 22.4, limitingMag: 19.8,
      candidates: Array.from({ length: 5 }, (_, i) => ({ id: `c${i}`, ra: 283.1, dec: -12.5, posErrArcsec: 0.2, mag: 16 + i, magErr: 0.02, distanceArcsec: 12.3, fadingIndex: 1.2, flags: 0, score: 0.9,
        lightCurve: Array.from({ length: 8 }, (_, j) => ({ frameId: `f${j}`, tSinceT0: 120 + 60 * j, mag: 16 + j * 0.05, magErr: 0.02 })) })),
      baseFile: null,
    }],
  ];
  const rows: Record<string, string | number>[] = [];
  for (const [name, value] of recs) {
    const type = schema(name).type;
    const iters = 50_000;
    const buf = type.toBuffer(value);
    const json = JSON.stringify(value);
    const m = (fn: () => unknown) => {
      for (let i = 0; i < 2000; i++) fn();
      const s = performance.now();
      for (let i = 0; i < iters; i++) fn();
      return (performance.now() - s) / iters;
    };
    const enc = m(() => type.toBuffer(value));
    const encJ = m(() => Buffer.from(JSON.stringify(value)));
    const dec = m(() => type.fromBuffer(buf));
    const decJ = m(() => JSON.parse(json));
    rows.push({ record: name.split('.').pop()!, 'avro bytes': buf.length, 'json bytes': json.length, 'encode avsc/JSON': (enc / encJ).toFixed(2), 'decode avsc/JSON': (dec / decJ).toFixed(2) });
  }
  console.log('\navsc vs JSON (time ratio; < 1 means avsc is faster):');
  console.log(table(rows));
  return 0;
}
