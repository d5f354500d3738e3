import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHelp, parseArgs, printUsage, unknownSubcommand, type CommandSpec } from '../cli/args.ts';
import { platformConfig, repoRoot } from '../config/platform.ts';
import { createKafka } from './kafka.ts';
import { createTopics } from './topics.ts';
import { allTopics, nsName, renderTopologyDoc } from './topology.ts';

export const summary = 'provision and document the topic map: topics create | list | doc';

const spec: CommandSpec = {
  usage: 'gft topics create|list|doc [--namespace NS] [--replication N]',
  description: 'create: provisions every declared topic and DLQ (idempotent). list: declared topics and whether they exist. doc: writes docs/topics.md from the declaration.',
  options: {
    namespace: { type: 'string', description: 'run namespace (topic prefix)', default: '' },
    replication: { type: 'number', description: 'replication factor', default: 1 },
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
      const created = await createTopics(admin, ns, { replicationFactor: Number(a.options.replication) });
      console.log(created.length ? `created ${created.length} topics: ${created.join(', ')}` : 'all topics already exist');
      return 0;
    }
    if (sub === 'list') {
      const existing = new Set(await admin.listTopics());
      for (const t of allTopics()) console.log(`${existing.has(nsName(ns, t.name)) ? 'ok     ' : 'missing'}  ${nsName(ns, t.name).padEnd(36)} ${t.schema}`);
      return 0;
    }
    throw unknownSubcommand(sub, ['create', 'list', 'doc'], formatHelp(spec));
  } finally {
    await admin.disconnect();
  }
}
