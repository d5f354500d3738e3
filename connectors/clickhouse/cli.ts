import { formatHelp, parseArgs, printUsage, unknownSubcommand, type CommandSpec } from '../../lib/cli/args.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { ClickHouse } from './client.ts';
import { migrate, applyRetention, migrationSql } from './migrations.ts';
import { sdbMigrationSql } from '../sdb/migrations.ts';
import { sdbConfig } from '../sdb/sdb.ts';
import { webMigrationSql } from '../../web/migrations.ts';
import { clusterDdl } from './cluster.ts';

export const summary = 'ClickHouse tables: db migrate | db retention --days N';

const spec: CommandSpec = {
  usage: 'gft db migrate [--print] | gft db retention --days N',
  description: [
    'migrate: creates the database and applies pending migrations (idempotent). retention: drops daily partitions older than N days.',
    'GFT_CLICKHOUSE_CLUSTER=<cluster>: ReplicatedMergeTree local tables + Distributed tables, ON CLUSTER (connectors/clickhouse/cluster.ts).',
  ].join('\n'),
  options: {
    days: { type: 'number', description: 'retention in days', default: 30 },
    print: { type: 'boolean', description: 'migrate: print every statement of the project, SDB and web migrations (for the configured cluster, if any) instead of running them', default: false },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub] = a.positionals;
  if (a.help || !sub) return printUsage(formatHelp(spec), a.help);
  if (sub === 'migrate' && a.options.print) {
    const c = clusterDdl();
    const db = platformConfig().clickhouseDatabase;
    for (const q of [...migrationSql(db, c), ...sdbMigrationSql(sdbConfig().database, c), ...webMigrationSql(db, c)]) console.log(`${q.text};\n`);
    return 0;
  }
  const ch = new ClickHouse(platformConfig());
  try {
    if (sub === 'migrate') {
      const applied = await migrate(ch, (s) => console.log(s));
      console.log(applied.length ? `database ${ch.database}: ${applied.length} migrations applied` : `database ${ch.database}: up to date`);
      return 0;
    }
    if (sub === 'retention') {
      const dropped = await applyRetention(ch, Number(a.options.days));
      console.log(dropped.length ? `dropped ${dropped.join(', ')}` : 'nothing to drop');
      return 0;
    }
    throw unknownSubcommand(sub, ['migrate', 'retention'], formatHelp(spec));
  } finally {
    await ch.close();
  }
}
