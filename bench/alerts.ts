/**
 * `npm run bench -- alerts [--n N] [--gap MS]`: the alert intake.
 *
 * 1. Parser + manager throughput over every real packet in ../shared/data/voevents (safe XML parse,
 *    VOEvent → alert, manager decision from an empty state), packets/s. Reference in the same run: a
 *    single regular-expression pass tokenising the same bytes into tags (the least any XML parser
 *    does: touch every byte once) — the ratio says what our safety checks and field extraction cost
 *    over a bare scan.
 * 2. Receipt-to-trigger latency on the local stack: the alerts stage (StageRunner, its own group, a
 *    fresh namespace) and N distinct bursts sent one by one (`--gap` ms apart) to voevent.raw, each
 *    stamped with its receipt time as an intake does; latency = arrival of its gp1.trigger at a
 *    consumer − receipt time. p50/p99 (target p99 < 200 ms). Reference in the same run: raw kafkajs
 *    produce → consume round trip of the same payloads on the same broker (no decoding, no stage).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs, type CommandSpec } from '../lib/cli/args.ts';
import { platformConfig, repoRoot } from '../lib/config/platform.ts';
import { createKafka } from '../lib/runtime/kafka.ts';
import { StageRunner } from '../lib/runtime/runner.ts';
import { TopicProducer } from '../lib/runtime/producer.ts';
import { nsName } from '../lib/runtime/topology.ts';
import { clusterLayout, createAndAwaitTopics } from '../lib/runtime/topics.ts';
import { randomNamespace, provisionNamespace } from '../lib/runtime/testing.ts';
import { loadConfig } from '../lib/config/define.ts';
import { AvroSerdes } from '../lib/runtime/serdes.ts';
import { rawRecord } from '../connectors/voevent/intake.ts';
import { parseVoevent } from '../streams/alerts/core/parse.ts';
import { applyAlert } from '../streams/alerts/core/manager.ts';
import { alertsStage, alertsSchema } from '../streams/alerts/wiring.ts';
import { LocalStorage } from '../connectors/storage/storage.ts';
import { table } from './lib.ts';

const spec: CommandSpec = {
  usage: 'npm run bench -- alerts [--n N] [--gap MS]',
  options: {
    n: { type: 'number', description: 'bursts sent for the latency measurement', default: 200 },
    gap: { type: 'number', description: 'milliseconds between two alerts', default: 25 },
  },
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

function parseThroughput(packets: Buffer[]): { ours: number; scan: number } {
  const TAG = /<(\/?)([A-Za-z_][\w:.-]*)([^>]*)>/g;
  const loop = (fn: (b: Buffer) => void): number => {
    for (let w = 0; w < 50; w++) for (const b of packets) fn(b); // warm-up
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      for (const b of packets) fn(b);
      n += packets.length;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  let sink = 0;
  const ours = loop((b) => {
    try {
      const a = parseVoevent(b);
      sink += applyAlert(undefined, a).action.length;
    } catch {
      sink++;
    }
  });
  const scan = loop((b) => {
    const s = b.toString('utf8');
    TAG.lastIndex = 0;
    while (TAG.exec(s)) sink++;
  });
  if (sink < 0) console.log(sink);
  return { ours, scan };
}

/** A distinct burst from a template: new Burst_Id and IVORN. */
function burstPacket(template: string, i: number): Buffer {
  const id = `sb9${String(i).padStart(7, '0')}`;
  return Buffer.from(template.replaceAll('sb26022501', id));
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const n = Number(a.options.n);
  const gap = Number(a.options.gap);
  const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
  if (!existsSync(dir)) {
    console.error(`bench alerts needs the real packets in ${dir}`);
    return 1;
  }
  console.log(`load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const packets = readdirSync(dir).filter((f) => f.endsWith('.xml')).sort().map((f) => readFileSync(join(dir, f)));
  const tp = parseThroughput(packets);
  console.log(`\n1. parse + manager decision, ${packets.length} real packets (${(packets.reduce((s, b) => s + b.length, 0) / packets.length / 1024).toFixed(1)} KiB on average)`);
  console.log(table([
    { path: 'ours: safe XML parse → alert → decision', 'packets/s': Math.round(tp.ours), 'vs reference': (tp.ours / tp.scan).toFixed(2) + 'x' },
    { path: 'reference: one regex pass over the tags', 'packets/s': Math.round(tp.scan), 'vs reference': '1.00x' },
  ]));

  const { up } = await import('../deploy/stack.ts');
  await up({ log: () => {} });
  const cfg = platformConfig();
  const ns = randomNamespace('balerts');
  await provisionNamespace(ns);
  const template = readFileSync(join(dir, 'gcn-notice-parser_svom_eclairs_299.xml'), 'utf8');
  const store = LocalStorage.fromEnv();
  const runner = new StageRunner(alertsStage(loadConfig(alertsSchema, { ...process.env, GFT_ALERTS_CATALOG: '' }), store), { namespace: ns, publishLogs: false, metricsIntervalMs: 60_000 });
  await runner.start();
  const kafka = createKafka(cfg, 'bench-alerts');
  const serdes = new AvroSerdes(cfg.registryUrl);
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  const c = kafka.consumer({ groupId: `${ns}-watch`, maxWaitTimeInMs: 50 });
  await c.connect();
  await c.subscribe({ topic: nsName(ns, 'gp1.trigger'), fromBeginning: true });
  await c.run({
    eachMessage: async ({ message }) => {
      const t = Date.now();
      const v = (await serdes.decode(message.value!, 'org.gft.alerts.Gp1Trigger')) as { burstId: string };
      const s = sentAt.get(v.burstId);
      if (s !== undefined) lat.push(t - s);
    },
  });
  const p = new TopicProducer(ns);
  // warm-up: schema registration, group joins, JIT
  for (let i = 0; i < 5; i++) await p.send('voevent.raw', [rawRecord(burstPacket(template, 9_000_000 + i), 'file', 'warmup', Date.now())]);
  await new Promise((r) => setTimeout(r, 2000));
  lat.length = 0;
  console.log(`\n2. receipt → gp1.trigger on the local stack: ${n} bursts, one every ${gap} ms …`);
  for (let i = 0; i < n; i++) {
    const pkt = burstPacket(template, i);
    const id = `sb9${String(i).padStart(7, '0')}`;
    const now = Date.now();
    sentAt.set(id, now);
    await p.send('voevent.raw', [rawRecord(pkt, 'file', 'bench', now)]);
    await new Promise((r) => setTimeout(r, gap));
  }
  const deadline = Date.now() + 30_000;
  while (lat.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await p.disconnect();
  await c.disconnect();
  await runner.stop();

  // reference: raw kafkajs produce → consume of the same bytes on the same broker
  const refTopic = `${ns}-ref`;
  const admin = kafka.admin();
  await admin.connect();
  await createAndAwaitTopics(admin, [{ topic: refTopic, numPartitions: 1, replicationFactor: (await clusterLayout(admin)).replicationFactor }]);
  await admin.disconnect();
  const refLat: number[] = [];
  const rc = kafka.consumer({ groupId: `${ns}-ref`, maxWaitTimeInMs: 50 });
  await rc.connect();
  await rc.subscribe({ topic: refTopic, fromBeginning: true });
  await rc.run({ eachMessage: async ({ message }) => void refLat.push(Date.now() - Number(message.key!.toString())) });
  const rp = kafka.producer({ idempotent: true });
  await rp.connect();
  for (let i = 0; i < 5; i++) await rp.send({ topic: refTopic, acks: -1, messages: [{ key: String(Date.now()), value: burstPacket(template, i) }] }).catch(async () => new Promise((r) => setTimeout(r, 300)));
  await new Promise((r) => setTimeout(r, 1500));
  refLat.length = 0;
  for (let i = 0; i < n; i++) {
    await rp.send({ topic: refTopic, acks: -1, messages: [{ key: String(Date.now()), value: burstPacket(template, i) }] });
    await new Promise((r) => setTimeout(r, gap));
  }
  const d2 = Date.now() + 20_000;
  while (refLat.length < n && Date.now() < d2) await new Promise((r) => setTimeout(r, 100));
  await rp.disconnect();
  await rc.disconnect();

  const s = [...lat].sort((x, y) => x - y);
  const r = [...refLat].sort((x, y) => x - y);
  if (s.length < n) console.log(`WARNING: ${n - s.length} triggers did not arrive`);
  console.log(table([
    { path: 'ours: intake record → alerts stage → gp1.trigger', n: s.length, 'p50 ms': pct(s, 0.5), 'p99 ms': pct(s, 0.99), 'p99 vs reference': (pct(s, 0.99) / Math.max(1, pct(r, 0.99))).toFixed(2) + 'x' },
    { path: 'reference: raw kafkajs produce → consume', n: r.length, 'p50 ms': pct(r, 0.5), 'p99 ms': pct(r, 0.99), 'p99 vs reference': '1.00x' },
  ]));
  console.log(`\ntarget p99 < 200 ms: ${pct(s, 0.99) < 200 ? 'met' : 'NOT met'}`);
  return s.length === n ? 0 : 1;
}
