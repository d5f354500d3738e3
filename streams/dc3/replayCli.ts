/**
 * `npx gft replay`: re-runs DC3 from the recorded topics of an earlier run. The source topics
 * (default: voevent.raw and images.raw, the chain's inputs) are copied byte for byte — optionally a
 * range of offsets or of timestamps — into a NEW run namespace, the downstream stages run there in
 * their own consumer groups with their own SDB database, and `--compare` checks that the replay's
 * candidate lists and product data units are identical to the original's.
 */
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { createTopics } from '../../lib/runtime/topics.ts';
import { copyTopic, type Range } from '../../lib/runtime/replay.ts';
import { nsName, TOPICS } from '../../lib/runtime/topology.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { Chain, CHAIN, latestLists, progressLine } from './chain.ts';
import { configureChain, type RunConfig } from './run.ts';
import { compareRuns, readRun, type Comparison } from './compare.ts';
import { Display, logFormatOption } from './display.ts';

export const summary = 'replay a recorded run from its topics into a new namespace (--compare: identical results?)';

const spec: CommandSpec = {
  usage: 'gft replay --source NS [--namespace NEW] [--topics voevent.raw,images.raw] [--from-offset N --to-offset N | --from-time ISO --to-time ISO] [--compare]',
  description: [
    'Copies the source topics of run NS (a `gft dc3` namespace) into a new namespace, byte for byte,',
    'runs the stages downstream of them there (own consumer groups, own SDB database sdb_<namespace>),',
    'and waits for the candidate lists and products. The provider runs only when images.raw is not',
    'replayed. Camera, catalog and images default to the source run\'s out/<NS>/summary.json.',
    '--compare: candidate lists identical field by field, products and GP1 base files identical HDU by',
    'HDU (data units byte for byte, headers equal except DATE/CHECKSUM/DATASUM); exit 1 when not.',
  ].join('\n'),
  options: {
    source: { type: 'string', description: 'namespace of the recorded run' },
    namespace: { type: 'string', description: 'namespace of the replay (default <source>-replay-<time>)', default: '' },
    topics: { type: 'string', description: 'comma-separated source topics to copy', default: 'voevent.raw,images.raw' },
    'from-offset': { type: 'number', description: 'first offset to copy (every partition)' },
    'to-offset': { type: 'number', description: 'last offset to copy (inclusive)' },
    'from-time': { type: 'string', description: 'copy messages with timestamp ≥ this (ISO 8601 or ms)' },
    'to-time': { type: 'string', description: 'copy messages with timestamp ≤ this (ISO 8601 or ms)' },
    compare: { type: 'boolean', description: 'compare candidate lists and products with the source run', default: false },
    camera: { type: 'string', description: 'camera description (default: the source run\'s)' },
    catalog: { type: 'string', description: 'reference catalog file (default: the source run\'s)' },
    images: { type: 'string', description: 'images folder, when images.raw is not replayed (default: the source run\'s)' },
    'run-dir': { type: 'string', description: 'folder of the source run\'s summary.json (default out/<source>)' },
    out: { type: 'string', description: 'output folder (default out/<namespace>)', default: '' },
    timeout: { type: 'number', description: 'give up after N seconds', default: 900 },
    idle: { type: 'number', description: 'stop when nothing new happens for N seconds (partial ranges)', default: 60 },
    'log-format': { type: 'string', description: 'text: the stages\' logs in <out>/logs/chain.log, warnings on screen; json: every log line on stderr (default: text on a terminal)', default: 'auto' },
  },
};

function parseTime(v: string, name: string): number {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new UsageError(`--${name}: not a time: '${v}' (ISO 8601 or epoch ms)`);
  return t;
}

export interface ReplayOptions {
  source: string;
  namespace: string;
  topics: string[];
  range: Range;
  config: RunConfig;
  compare: boolean;
  timeoutS: number;
  idleS: number;
  out: string;
  log: (s: string) => void;
}

export interface ReplayResult {
  source: string;
  namespace: string;
  copied: Record<string, number>;
  outcome: string;
  seconds: number;
  stages: string[];
  epochs: Array<{ burstId: string; epochMinutes: number; revision: number; candidates: number }>;
  products: number;
  comparison?: Comparison;
}

/** The replay itself (the CLI below parses options into this); the stack must be up. */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const t0 = Date.now();
  const cfg = platformConfig();
  const kafka = createKafka(cfg, 'gft-replay');
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  for (const t of o.topics) {
    if (!TOPICS.some((x) => x.name === t)) throw new UsageError(`--topics: '${t}' is not a topic of the chain (see docs/topics.md)`);
    if (!existing.has(nsName(o.source, t))) throw new UsageError(`source run '${o.source}' has no topic ${nsName(o.source, t)}`);
  }
  await createTopics(admin, o.namespace);
  await admin.disconnect();

  const copied: Record<string, number> = {};
  for (const t of o.topics) {
    const r = await copyTopic(kafka, nsName(o.source, t), nsName(o.namespace, t), o.range, (s) => o.log(s));
    copied[t] = r.copied;
    o.log(`copied ${r.copied} messages of ${t} (${r.partitions.map((p) => `p${p.partition} ${p.from}..${p.to}`).join(', ')})`);
  }

  configureChain(o.namespace, o.config);
  // every stage downstream of the copied topics; the provider's output is replayed when images.raw is
  const stages = CHAIN.filter((s) => !(s === 'provider' && o.topics.includes('images.raw')));
  const chain = new Chain(o.namespace, stages, o.log);
  await chain.start();
  const outcome = await chain.wait({ timeoutS: o.timeoutS, idleS: o.idleS, onProgress: (p) => o.log(progressLine(p)) });
  await chain.stop();
  const lists = latestLists(chain.outputs.lists);
  const result: ReplayResult = {
    source: o.source,
    namespace: o.namespace,
    copied,
    outcome,
    seconds: (Date.now() - t0) / 1000,
    stages: [...stages],
    epochs: lists.map((l) => ({ burstId: l.burstId, epochMinutes: l.epochMinutes, revision: l.revision, candidates: l.candidates.length })),
    products: chain.outputs.products.length,
  };
  if (o.compare) {
    o.log(`comparing ${o.namespace} with ${o.source}`);
    const [a, b] = [await readRun(kafka, o.source, cfg.registryUrl), await readRun(kafka, o.namespace, cfg.registryUrl)];
    result.comparison = await compareRuns(a, b, LocalStorage.fromEnv());
  }
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'replay.json'), JSON.stringify(result, null, 1));
  return result;
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const source = a.options.source as string | undefined;
  if (!source) throw new UsageError('--source NS is required (the namespace of a `gft dc3` run, printed in its summary)');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  const namespace = String(a.options.namespace || `${source}-replay-${stamp}`);
  if (namespace === source) throw new UsageError('the replay namespace must differ from the source (a replay never mixes with its original)');
  const runDir = String(a.options['run-dir'] ?? join(repoRoot, 'out', source));
  const recorded = existsSync(join(runDir, 'summary.json')) ? (JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).config as RunConfig | undefined) : undefined;
  const pick = (k: 'camera' | 'catalog' | 'images') => (a.options[k] as string | undefined) ?? recorded?.[k];
  const topics = String(a.options.topics).split(',').map((t) => t.trim()).filter(Boolean);
  const config: RunConfig = {
    camera: pick('camera') ?? 'coatli',
    catalog: pick('catalog') ?? '',
    images: pick('images') ?? '',
    speed: 0,
    sdbDatabase: `sdb_${namespace.replace(/[^A-Za-z0-9_]/g, '_')}`,
  };
  if (topics.includes('voevent.raw') && !config.catalog) throw new UsageError(`--catalog FILE is needed (no ${join(runDir, 'summary.json')} to take it from)`);
  if (!topics.includes('images.raw') && !config.images) throw new UsageError('--images DIR is needed when images.raw is not replayed');
  const range: Range = {};
  if (a.options['from-offset'] !== undefined) range.fromOffset = Number(a.options['from-offset']);
  if (a.options['to-offset'] !== undefined) range.toOffset = Number(a.options['to-offset']);
  if (a.options['from-time'] !== undefined) range.fromTime = parseTime(String(a.options['from-time']), 'from-time');
  if (a.options['to-time'] !== undefined) range.toTime = parseTime(String(a.options['to-time']), 'to-time');

  const { up } = await import('../../deploy/stack.ts');
  await up({ log: (s: string) => console.error(`[stack] ${s}`) });
  const out = String(a.options.out || join(repoRoot, 'out', namespace));
  const display = new Display(logFormatOption(a.options['log-format']), 'replay');
  display.logTo(join(out, 'logs', 'chain.log'));
  const r = await replay({ source, namespace, topics, range, config, compare: !!a.options.compare, timeoutS: Number(a.options.timeout), idleS: Number(a.options.idle), out, log: (l) => display.line(l) }).finally(() => display.close());
  console.log(JSON.stringify(r, null, 1));
  console.error(`\nreplay written to ${join(out, 'replay.json')}`);
  if (r.comparison) {
    const c = r.comparison;
    console.error(c.identical
      ? `IDENTICAL: ${c.lists.compared} candidate lists, ${c.products.compared} products, ${c.baseFiles.compared} base files`
      : `DIFFERENT (${c.differences.length}):\n  ${c.differences.slice(0, 20).join('\n  ')}`);
    return c.identical ? 0 : 1;
  }
  return r.epochs.length ? 0 : 1;
}
