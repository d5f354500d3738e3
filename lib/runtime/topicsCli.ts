import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp, parseArgs, printUsage, unknownSubcommand, type CommandSpec } from '../cli/args.ts';
import { platformConfig, repoRoot } from '../config/platform.ts';
import { createKafka } from './kafka.ts';
import { createTopics } from './topics.ts';
import { allTopics, nsName, renderTopologyDoc } from './topology.ts';

export const summary = 'provision and document the topic map: topics create | list | doc';

const spec: CommandSpec = {
  usage: 'gft topics create|list|doc [--namespace NS] [--partitions N] [--replication N] [--min-isr N]',
  description:
    'create: provisions every declared topic, DLQ and changelog (idempotent; existing topics are left as they are). list: declared topics, whether they exist and their partitions. doc: writes docs/topics.md from the declaration.\n' +
    'The layout defaults come from GFT_TOPIC_PARTITIONS (6), GFT_TOPIC_REPLICATION_FACTOR (min(3, brokers)) and GFT_TOPIC_MIN_INSYNC_REPLICAS (2 when replicated 3+ times, else 1).',
  options: {
    namespace: { type: 'string', description: 'run namespace (topic prefix)', default: '' },
    partitions: { type: 'number', description: 'partitions of the chain topics (0: GFT_TOPIC_PARTITIONS)', default: 0 },
    replication: { type: 'number', description: 'replication factor (0: GFT_TOPIC_REPLICATION_FACTOR or min(3, brokers))', default: 0 },
    'min-isr': { type: 'number', description: 'min.insync.replicas (0: GFT_TOPIC_MIN_INSYNC_REPLICAS or derived)', default: 0 },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub] = a.positionals;
  if (a.help || !sub) return printUsage(formatHelp(spec), a.help);
  const ns = String(a.options.namespace || process.env.GFT_NAMESPACE || '');
  if (sub === 'doc') {
    const p = join(repoRoot, 'docs', 'topics.md');
    writeFileSync(p, renderTopologyDoc());
    console.log(`wrote ${p}`);
    return 0;
  }
  const cfg = platformConfig();
  const admin = createKafka(cfg, 'gft-topics').admin();
  await admin.connect();
  try {
    if (sub === 'create') {
      const created = await createTopics(admin, ns, { partitions: Number(a.options.partitions), replicationFactor: Number(a.options.replication), minInsyncReplicas: Number(a.options['min-isr']) });
      console.log(created.length ? `created ${created.length} topics: ${created.join(', ')}` : 'all topics already exist');
      return 0;
    }
    if (sub === 'list') {
      const existing = new Set(await admin.listTopics());
      const names = allTopics().map((t) => nsName(ns, t.name)).filter((n) => existing.has(n));
      const md = names.length ? (await admin.fetchTopicMetadata({ topics: names })).topics : [];
      for (const t of allTopics()) {
        const m = md.find((x) => x.name === nsName(ns, t.name));
        const parts = m ? `${m.partitions.length} partition${m.partitions.length === 1 ? '' : 's'} x${m.partitions[0]?.replicas.length ?? 0}` : '';
        console.log(`${m ? 'ok     ' : 'missing'}  ${nsName(ns, t.name).padEnd(40)} ${parts.padEnd(16)} ${t.schema}`);
      }
      return 0;
    }
    throw unknownSubcommand(sub, ['create', 'list', 'doc'], formatHelp(spec));
  } finally {
    await admin.disconnect();
  }
}
