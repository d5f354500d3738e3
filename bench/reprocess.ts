/**
 * `npm run bench -- reprocess [--nights K] [--frames N] [--instances 1,2] [--seed N]`: reprocessing a
 * season. K recorded nights (synthetic, each its own burst: T0 a day apart, fields 20° apart) are
 * replayed AT ONCE through the chain — their voevent.raw and images.raw copied byte for byte into one
 * fresh namespace (as `gft replay` does) while the downstream stages (alerts, GP1 calibration and
 * detection, GIC, FSC, ClickHouse sink) run with 1, then 2 instances (processes) per stage.
 *
 * Prints, per instance count: wall time from the first copied record to the last FSC receipt, raw and
 * object frames/s, products/s, the CPU seconds of the stage processes, the speed-up over 1 instance and
 * per instance; and — the reference measured in the same run — the same frames through the offline GP1
 * commands (`gft gp1 masters`, `calibrate`, `detect`) night after night in one process, without Kafka,
 * storage, products or SDB. The 2-instance run's candidate lists and products must be identical to the
 * 1-instance run's (streams/dc3/compare.ts), or the bench fails.
 *
 * Recording (not timed): each night's alert and frames go through the alert manager and the provider
 * once, into namespace <ns>-rec<k>, at speed 0. The bursts' ids are chosen so that they fall on
 * distinct partitions of the chain topics that two instances can share (murmur2 of the burst id, as
 * the producers partition); the calibration frames are keyed by camera, so all nights' go to one
 * partition (one instance builds every night's masters).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { parseArgs, formatHelp, UsageError, type CommandSpec, intOption } from '../lib/cli/args.ts';
import { table, quiet } from './lib.ts';

const spec: CommandSpec = {
  usage: 'npm run bench -- reprocess [--nights K] [--frames N] [--instances 1,2] [--seed N] [--width W --height H] [--keep]',
  description: 'Replays K recorded nights (different bursts) at once through the chain with each instance count; the offline GP1 commands on the same frames are the reference.',
  options: {
    nights: { type: 'number', description: 'recorded nights (bursts) replayed at once', default: 4 },
    frames: { type: 'number', description: 'object frames per night (plus 26 calibration frames each)', default: 8 },
    instances: { type: 'string', description: 'instance counts to compare, comma-separated (the first is the baseline)', default: '1,2' },
    seed: { type: 'number', description: 'seed of the first night (night k: seed + k)', default: 21 },
    width: { type: 'number', description: 'frame width (default COATLI 2184)' },
    height: { type: 'number', description: 'frame height (default 1472)' },
    timeout: { type: 'number', description: 'give up a run after N seconds', default: 1800 },
    keep: { type: 'boolean', description: 'keep the work folder (nights, outputs, stage logs)', default: false },
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY_MS = 86_400_000;

/** CPU seconds (user + system) of processes `roots` and all their descendants, from /proc. */
export function treeCpuSeconds(roots: number[]): number {
  const stat = new Map<number, { ppid: number; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      stat.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }); // utime (14), stime (15)
    } catch {
      /* gone */
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stat) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const seen = new Set<number>();
  const walk = (p: number) => {
    if (seen.has(p)) return;
    seen.add(p);
    ticks += stat.get(p)?.ticks ?? 0;
    for (const c of children.get(p) ?? []) walk(c);
  };
  for (const r of roots) walk(r);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/**
 * T0 of night k (a day after the previous one, or later) such that its burst id falls on the k-th
 * wanted partition of `partitions` (murmur2, as the producers partition by burst id): with 6
 * partitions 0, 1, 3, 4 split two-and-two between two instances under both the range and the
 * round-robin assignor.
 */
export function pickBursts(k: number, partitions: number, baseT0: number, burstIdFor: (t0: number) => string): Array<{ t0: number; burstId: string; partition: number }> {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const meta = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
  const partitionOf = (key: string) => partitioner({ topic: 'x', partitionMetadata: meta, message: { key, value: null } });
  const wanted = partitions === 6 ? [0, 1, 3, 4, 2, 5] : Array.from({ length: partitions }, (_, i) => i);
  const out: Array<{ t0: number; burstId: string; partition: number }> = [];
  let day = 0;
  for (let i = 0; i < k; i++) {
    const want = wanted[i % wanted.length];
    let found = false;
    for (let d = day; d < day + 400; d++) {
      const t0 = baseT0 + d * DAY_MS;
      const id = burstIdFor(t0);
      if (partitionOf(id) === want) {
        out.push({ t0, burstId: id, partition: want });
        day = d + 1;
        found = true;
        break;
      }
    }
    if (!found) {
      const t0 = baseT0 + day * DAY_MS;
      out.push({ t0, burstId: burstIdFor(t0), partition: partitionOf(burstIdFor(t0)) });
      day++;
    }
  }
  return out;
}

/**
 * What a run still lacks, per burst: for every planned epoch of every referenced burst, a candidate
 * list and a product of that epoch with an accepted FSC receipt, and the burst's final product
 * (GIC makes it with the last planned epoch's; a burst has one product more than epochs).
 */
export function missingProducts(o: { references: Map<string, number[]>; lists: Array<Record<string, any>>; products: Array<Record<string, any>>; receipts: Array<Record<string, any>> }): string[] {
  const accepted = new Set(o.receipts.filter((r) => r.status === 'accepted').map((r) => `${r.productId} ${r.sha256}`));
  const ok = o.products.filter((p) => accepted.has(`${p.productId} ${p.storage?.sha256}`));
  const out: string[] = [];
  for (const [burst, epochs] of o.references) {
    for (const e of epochs) {
      if (!o.lists.some((l) => l.burstId === burst && l.epochMinutes === e)) out.push(`${burst} T0+${e} min: no list`);
      else if (!ok.some((p) => p.burstId === burst && p.epochMinutes === e)) out.push(`${burst} T0+${e} min: no accepted product`);
    }
    const ids = new Set(ok.filter((p) => p.burstId === burst).map((p) => p.productId));
    if (ids.size < epochs.length + 1) out.push(`${burst}: ${ids.size} accepted products of ${epochs.length + 1} (epochs + final)`);
  }
  return out;
}

interface RunResult {
  instances: number;
  namespace: string;
  outcome: string;
  seconds: number;
  copySeconds: number;
  cpuSeconds: number;
  rawFrames: number;
  calibrated: number;
  lists: number;
  products: number;
  accepted: number;
  dlq: number;
  busy: Array<{ stage: string; busySeconds: number }>;
  /** 1-minute load average at the end of the run */
  load: number;
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const int = (name: string, min: number, max: number) => intOption(a, name, min, max);
  const K = int('nights', 1, 20);
  const F = int('frames', 2, 200);
  const seed = int('seed', 0, 2 ** 31 - 100);
  const timeoutS = int('timeout', 60, 86_400);
  const counts = String(a.options.instances).split(',').map((s) => Number(s.trim()));
  if (!counts.length || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new UsageError(`--instances: whole numbers from 1 to 8, comma-separated, got '${String(a.options.instances)}'`);
  const camera = a.options.width && a.options.height ? { width: Number(a.options.width), height: Number(a.options.height) } : undefined;

  const { platformConfig } = await import('../lib/config/platform.ts');
  const { createKafka } = await import('../lib/runtime/kafka.ts');
  const { topicLayout } = await import('../lib/runtime/topics.ts');
  const { createTopicsRetrying } = await import('../streams/dc3/failover.ts');
  const { nsName } = await import('../lib/runtime/topology.ts');
  const { copyTopic } = await import('../lib/runtime/replay.ts');
  const { TopicProducer } = await import('../lib/runtime/producer.ts');
  const { rawRecord } = await import('../connectors/voevent/intake.ts');
  const { Chain, CHAIN } = await import('../streams/dc3/chain.ts');
  const { configureChain } = await import('../streams/dc3/run.ts');
  const { readRun, compareRuns } = await import('../streams/dc3/compare.ts');
  const { LocalStorage } = await import('../connectors/storage/storage.ts');
  const { simulateNight, burstIdFor, DEFAULT_NIGHT } = await import('../streams/provider/core/simulate/index.ts');
  const stack = await import('../deploy/stack.ts');

  const work = mkdtempSync(join(tmpdir(), 'bench-reprocess-'));
  const stamp = Date.now().toString(36);
  const base = `brep-${stamp}`;
  let failed = false;
  const { logToFile, logToStderr } = await import('../lib/runtime/log.ts');
  logToFile(join(work, 'bench.log')); // the in-process stages' and kafkajs' logs (the stage processes log to logs-i<n>/)
  try {
    console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    await stack.up({ log: () => {} });
    const cfg = platformConfig();
    const layout = stack.layout(cfg.home);
    const partitions = topicLayout(layout.brokers).partitions;
    console.log(`stack: ${layout.brokers} broker(s)${layout.s3 ? ', S3 store' : ''} (GFT_HOME ${cfg.home}); chain topics with ${partitions} partitions; storage ${LocalStorage.fromEnv({ ...process.env, GFT_STORAGE_DIR: process.env.GFT_STORAGE_DIR ?? join(cfg.home, 'storage') }).where}`);

    // 1. K nights, each its own burst, and one catalog for all (each burst takes the stars around it)
    const bursts = pickBursts(K, partitions, Date.parse(DEFAULT_NIGHT.t0), (t) => burstIdFor(t));
    const nights: Array<{ dir: string; burstId: string; partition: number; raw: number }> = [];
    const catalogLines: string[] = [];
    console.log(`generating ${K} nights of ${F} object frames + 26 calibration frames${camera ? ` (${camera.width}x${camera.height})` : ''} …`);
    for (let k = 0; k < K; k++) {
      const dir = join(work, `night-${k}`);
      const b = bursts[k];
      await simulateNight({ out: dir, seed: seed + k, frames: F, force: true, t0: new Date(b.t0).toISOString(), ra: (DEFAULT_NIGHT.ra + 20 * k) % 360, dec: DEFAULT_NIGHT.dec, ...(camera ? { camera } : {}) } as never);
      const lines = readFileSync(join(dir, 'catalog.csv'), 'utf8').trim().split('\n');
      if (!catalogLines.length) catalogLines.push(lines[0]);
      catalogLines.push(...lines.slice(1));
      nights.push({ dir, burstId: b.burstId, partition: b.partition, raw: readdirSync(join(dir, 'raw')).length });
    }
    const catalog = join(work, 'catalog.csv');
    writeFileSync(catalog, catalogLines.join('\n') + '\n');
    console.log(`bursts: ${nights.map((n) => `${n.burstId} (partition ${n.partition})`).join(', ')}`);

    const kafka = createKafka(cfg, 'gft-bench-reprocess');
    const admin = kafka.admin();
    await admin.connect();

    // 2. recording: every night through the alert manager and the provider, at speed 0 (not timed)
    const t0rec = Date.now();
    for (let k = 0; k < K; k++) {
      const ns = `${base}-rec${k}`;
      await createTopicsRetrying(admin, ns, (l) => console.log(l));
      configureChain(ns, { images: join(nights[k].dir, 'raw'), catalog, camera: 'coatli', speed: 0, sdbDatabase: `sdb_${ns.replace(/[^A-Za-z0-9_]/g, '_')}` });
      const chain = new Chain(ns, ['alerts', 'provider'], () => {});
      await quiet(() => chain.start());
      const p = new TopicProducer(ns);
      const alert = join(nights[k].dir, 'voevent.xml');
      await p.send('voevent.raw', [rawRecord(readFileSync(alert), 'file', alert, Date.now())]);
      await p.disconnect();
      const end = Date.now() + 300_000;
      while (chain.progress().framesIn < nights[k].raw && Date.now() < end) await sleep(200);
      await quiet(() => chain.stop());
      if (chain.progress().framesIn < nights[k].raw) throw new Error(`recording night ${k}: ${chain.progress().framesIn} of ${nights[k].raw} frames announced in 300 s`);
    }
    const rawFrames = nights.reduce((s, n) => s + n.raw, 0);
    console.log(`recorded ${K} nights (${rawFrames} frames) in ${((Date.now() - t0rec) / 1000).toFixed(1)} s`);

    // 3. the replays: every night at once, with n instances per stage
    const stages = CHAIN.filter((s) => s !== 'provider');
    const results: RunResult[] = [];
    for (const n of counts) {
      const ns = `${base}-i${n}`;
      await createTopicsRetrying(admin, ns, (l) => console.log(l));
      configureChain(ns, { images: join(nights[0].dir, 'raw'), catalog, camera: 'coatli', speed: 0, sdbDatabase: `sdb_${ns.replace(/[^A-Za-z0-9_]/g, '_')}` });
      const logDir = join(work, `logs-i${n}`);
      const chain = new Chain(ns, stages, () => {}, { instances: n, logDir });
      process.stdout.write(`${n} instance(s) per stage: starting ${stages.length * n} stage processes … `);
      const ts = Date.now();
      await chain.start();
      const pids = () => chain.supervisor!.instances.map((i) => i.proc?.pid).filter((p): p is number => !!p);
      const cpu0 = treeCpuSeconds(pids());
      process.stdout.write(`ready in ${((Date.now() - ts) / 1000).toFixed(1)} s; replaying … `);
      const t0 = Date.now();
      chain.startedAt = t0;
      for (const topic of ['voevent.raw', 'images.raw']) for (let k = 0; k < K; k++) await copyTopic(kafka, nsName(`${base}-rec${k}`, topic), nsName(ns, topic));
      const copySeconds = (Date.now() - t0) / 1000;
      let outcome = 'timeout';
      for (;;) {
        const left = timeoutS - (Date.now() - t0) / 1000;
        if (left <= 0) break;
        outcome = await chain.wait({ timeoutS: left });
        if (outcome !== 'complete') break;
        // Chain.complete() counts products against lists over the whole run: with several bursts, the
        // final products of finished bursts make up for another burst's missing ones. Per burst here.
        if (chain.outputs.references.size >= K && !missingProducts(chain.outputs).length) break;
        outcome = 'timeout';
        await sleep(200);
      }
      if (outcome !== 'complete') console.log(`\n  missing: ${missingProducts(chain.outputs).slice(0, 8).join(', ') || '-'}`);
      const seconds = (Date.now() - t0) / 1000;
      const cpuSeconds = treeCpuSeconds(pids()) - cpu0;
      await chain.stop();
      const pr = chain.progress();
      const products = new Set(chain.outputs.products.map((x) => `${x.productId} ${x.revision}`)).size;
      const lists = new Set(chain.outputs.lists.map((l) => `${l.burstId} ${l.epochMinutes}`)).size;
      const r: RunResult = { instances: n, namespace: ns, outcome, seconds, copySeconds, cpuSeconds, rawFrames: pr.framesIn, calibrated: pr.calibrated, lists, products, accepted: pr.productsAccepted, dlq: pr.dlq, busy: chain.timings().map((t) => ({ stage: t.stage, busySeconds: t.busySeconds })), load: loadavg()[0] };
      results.push(r);
      console.log(`${outcome} in ${seconds.toFixed(1)} s (${lists} lists, ${products} products, ${pr.productsAccepted} accepted, DLQ ${pr.dlq})`);
      // a product the FSC refused (its latest verdict per product and checksum): say which and why
      const verdicts = new Map(chain.outputs.receipts.map((x) => [`${x.productId} ${x.sha256}`, x]));
      const refused = [...verdicts.values()].filter((x) => x.status !== 'accepted');
      for (const x of refused) console.log(`  the FSC refused ${x.productId} (sha256 ${String(x.sha256).slice(0, 12)}…): ${(x.reasons as string[]).join('; ')}`);
      const announced = new Set(chain.outputs.products.map((x) => x.productId)).size;
      const acceptedIds = new Set([...verdicts.values()].filter((x) => x.status === 'accepted').map((x) => x.productId)).size;
      if (acceptedIds < announced) {
        failed = true;
        console.log(`  FAILED: ${announced - acceptedIds} of ${announced} products have no accepted version (stage logs kept in ${logDir})`);
        a.options.keep = true;
      }
      const dead = chain.supervisor?.failures() ?? [];
      if (outcome !== 'complete' || dead.length) {
        failed = true;
        console.log(`  FAILED: ${outcome}${dead.length ? `; processes exited: ${dead.map((d) => `${d.stage}-${d.index}`).join(', ')}` : ''} (stage logs kept in ${logDir})`);
        a.options.keep = true;
      }
    }

    // 4. identical results whatever the instance count
    let identical = 'n/a';
    if (results.length > 1 && !failed) {
      const storage = LocalStorage.fromEnv();
      const ref = await readRun(kafka, results[0].namespace, cfg.registryUrl);
      const diffs: string[] = [];
      for (const r of results.slice(1)) {
        const c = await compareRuns(ref, await readRun(kafka, r.namespace, cfg.registryUrl), storage);
        if (!c.identical) diffs.push(`${r.instances} instances: ${c.differences.length} differences, first: ${c.differences[0]}`);
      }
      identical = diffs.length ? `NO (${diffs.join('; ')})` : `yes (${ref.lists.length} lists, ${ref.products.length} products)`;
      if (diffs.length) failed = true;
    }
    if (!a.options.keep) {
      // the bench's namespaces (K recordings + one per instance count) off the broker: ~150 partitions each
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${base}-`));
      await admin.deleteTopics({ topics: mine, timeout: 60_000 }).catch((e: Error) => console.warn(`warning: deleting the bench's ${mine.length} topics: ${e.message}`));
      const { ClickHouse } = await import('../connectors/clickhouse/client.ts');
      const { ident, sql } = await import('../connectors/clickhouse/sql.ts');
      const ch = new ClickHouse(cfg, { database: 'default' });
      for (const n of [...Array.from({ length: K }, (_, k) => `${base}-rec${k}`), ...results.map((r) => r.namespace)])
        await ch.exec(sql`DROP DATABASE IF EXISTS ${ident(`sdb_${n.replace(/[^A-Za-z0-9_]/g, '_')}`)}`).catch(() => {});
      await ch.close();
    }
    await admin.disconnect();

    // 5. the reference: the offline GP1 commands on the same frames, night after night, in this process
    console.log('reference: the offline gp1 commands (masters, calibrate, detect), night after night …');
    const { run: gp1 } = await import('../streams/gp1/cli.ts');
    const cpuRef0 = process.cpuUsage();
    const tr0 = performance.now();
    let offObjects = 0;
    const steps = { masters: { s: 0, cpu: 0 }, calibrate: { s: 0, cpu: 0 }, detect: { s: 0, cpu: 0 } };
    const step = async (name: keyof typeof steps, fn: () => Promise<number>): Promise<number> => {
      const c0 = process.cpuUsage();
      const t = performance.now();
      const code = await quiet(fn);
      steps[name].s += (performance.now() - t) / 1000;
      const c = process.cpuUsage(c0);
      steps[name].cpu += (c.user + c.system) / 1e6;
      return code;
    };
    for (let k = 0; k < K; k++) {
      const d = nights[k].dir;
      const raw = join(d, 'raw');
      const cal = join(d, 'cal');
      mkdirSync(cal, { recursive: true });
      const files = readdirSync(raw).sort();
      for (const f of files) if (/C\d[bdf]\.fits/.test(f)) symlinkSync(join(raw, f), join(cal, f));
      const objects = files.filter((f) => /C\do\.fits/.test(f)).map((f) => join(raw, f));
      offObjects += objects.length;
      const c1 = await step('masters', () => gp1(['masters', '--in', cal, '--out', join(d, 'masters'), '--camera', 'coatli']));
      const c2 = await step('calibrate', () => gp1(['calibrate', '--masters', join(d, 'masters'), '--out', join(d, 'calibrated'), '--camera', 'coatli', ...objects]));
      const calibrated = readdirSync(join(d, 'calibrated')).filter((f) => f.endsWith('.fits')).map((f) => join(d, 'calibrated', f));
      const c3 = await step('detect', () => gp1(['detect', '--catalog', join(d, 'catalog.csv'), '--alert', join(d, 'voevent.xml'), ...calibrated]));
      if (c1 > 1 || c2 !== 0 || c3 !== 0) console.warn(`warning: night ${k}: offline exit codes masters ${c1} calibrate ${c2} detect ${c3}`);
    }
    const offS = (performance.now() - tr0) / 1000;
    const cu = process.cpuUsage(cpuRef0);
    const offCpu = (cu.user + cu.system) / 1e6;
    const objectFrames = K * F;
    if (offObjects !== objectFrames) console.warn(`warning: ${offObjects} object frames found offline, ${objectFrames} expected`);

    // 6. the table
    const first = results[0];
    console.log(`\n${K} nights x (${F} object + 26 calibration frames) = ${rawFrames} raw frames, ${objectFrames} object frames; offline reference ${offS.toFixed(1)} s (${offCpu.toFixed(1)} CPU s)`);
    console.log(table([
      ...results.map((r) => ({
        run: `chain, ${r.instances} instance(s)/stage`,
        'wall s / offline s': (r.seconds / offS).toFixed(2),
        'raw frames/s': (r.rawFrames / r.seconds).toFixed(2),
        'object frames/s': (objectFrames / r.seconds).toFixed(2),
        'products/s': (r.products / r.seconds).toFixed(3),
        'speed-up vs offline': `${(offS / r.seconds).toFixed(2)}x`,
        [`speed-up vs ${first.instances}`]: `${(first.seconds / r.seconds).toFixed(2)}x`,
        'per instance': `${(first.seconds / r.seconds / (r.instances / first.instances)).toFixed(2)}x`,
        'CPU s / object frame': (r.cpuSeconds / objectFrames).toFixed(2),
      })),
      { run: 'offline gp1, sequential', 'wall s / offline s': '1.00', 'raw frames/s': (rawFrames / offS).toFixed(2), 'object frames/s': (objectFrames / offS).toFixed(2), 'products/s': '-', 'speed-up vs offline': '1.00x', [`speed-up vs ${first.instances}`]: '-', 'per instance': '-', 'CPU s / object frame': (offCpu / objectFrames).toFixed(2) },
    ]));
    console.log(`\nthe offline reference by step (the science's cost: masters once per night, calibration and detection per object frame):`);
    console.log(table([
      { step: `masters (${K} nights x 26 frames)`, 'wall s': steps.masters.s.toFixed(1), 'CPU s': steps.masters.cpu.toFixed(1), 'CPU s per unit': `${(steps.masters.cpu / K).toFixed(2)} per night` },
      { step: `calibrate (${objectFrames} frames)`, 'wall s': steps.calibrate.s.toFixed(1), 'CPU s': steps.calibrate.cpu.toFixed(1), 'CPU s per unit': `${(steps.calibrate.cpu / objectFrames).toFixed(2)} per frame` },
      { step: `detect (${objectFrames} frames)`, 'wall s': steps.detect.s.toFixed(1), 'CPU s': steps.detect.cpu.toFixed(1), 'CPU s per unit': `${(steps.detect.cpu / objectFrames).toFixed(2)} per frame` },
    ]));
    console.log('\nbusy seconds per stage (decode + handle, summed over instances) / wall s:');
    console.log(table(stages.map((s) => Object.fromEntries([['stage', s], ...results.map((r) => [`${r.instances} inst.`, ((r.busy.find((b) => b.stage === s)?.busySeconds ?? 0) / r.seconds).toFixed(2)])]))));
    console.log(`\nidentical candidate lists and products across instance counts: ${identical}`);
    console.log(`(absolute: ${results.map((r) => `${r.instances} inst. ${r.seconds.toFixed(1)} s wall (copy ${r.copySeconds.toFixed(1)} s), ${r.cpuSeconds.toFixed(0)} CPU s, load ${r.load.toFixed(1)}`).join('; ')}; offline ${offS.toFixed(1)} s; load ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${availableParallelism()} cores)`);
    return failed ? 1 : 0;
  } finally {
    logToStderr();
    if (a.options.keep) console.log(`work folder kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
