/**
 * `npx gft stack up|down|status|restart <service>|logs <service>|kill-broker N|start-broker N` — the
 * local Kafka (one node or a 3-node cluster), schema registry, ClickHouse and S3 store (see deploy/README.md).
 */
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../lib/cli/args.ts';
import { tail } from './lib/proc.ts';

export const summary = 'start/stop/inspect the local Kafka (1 or 3 brokers), schema registry, ClickHouse and S3 store';

const spec: CommandSpec = {
  usage: 'gft stack up|down|status|restart <service>|logs <service>|kill-broker <N>|start-broker <N> [options]',
  description: [
    'up            install what is missing, start what is not running, wait until healthy',
    '              (--brokers 3: a 3-node KRaft cluster; --s3: an S3 store, MinIO; --secure: SASL_SSL + ACLs, registry and',
    '              ClickHouse with passwords, see docs/consumers.md; the layout is kept for later `up` calls)',
    'down          stop the processes started by up (data is kept in GFT_HOME)',
    'status        services, then each broker and the partitions it leads (exit 1 unless all are healthy)',
    'restart       stop and start one service (kafka, kafka-N, registry, clickhouse, s3)',
    'logs          print the end of a service\'s logs',
    'kill-broker   kill -9 Kafka node N (failover tests); start-broker N starts it again',
  ].join('\n'),
  options: {
    install: { type: 'boolean', description: 'up: run deploy/install-debian.sh first (--no-install: skip)', default: true },
    s3: { type: 'boolean', description: 'up: also run the S3-compatible store (MinIO, built once with `go install`; --no-s3: stop it); default: the layout of the last up' },
    secure: { type: 'boolean', description: 'up: Kafka on SASL_SSL (SCRAM-SHA-512/256) with a local CA and ACLs per stage, registry and ClickHouse with passwords (--no-secure: plaintext); default: the layout of the last up' },
    brokers: { type: 'number', description: 'up: Kafka nodes, 1 (default) or 3 (each broker + controller; RF 3, min ISR 2 for internal topics); default: the layout of the last up' },
    json: { type: 'boolean', description: 'status: print JSON', default: false },
    topics: { type: 'boolean', description: 'status: partitions led by each broker, per topic', default: false },
    partitions: { type: 'boolean', description: 'status: leader, replicas and in-sync replicas of every partition', default: false },
    topic: { type: 'string', multiple: true, description: 'status: only topics whose name contains this (repeatable; internal __ topics only when named)' },
    lines: { type: 'number', description: 'logs: number of lines', default: 40 },
  },
};

function node(arg: string | undefined): number {
  const n = Number(arg);
  if (!arg || !Number.isInteger(n) || n < 1) throw new UsageError('expected a broker number (1, 2, 3…)');
  return n;
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [cmd, arg, ...rest] = a.positionals;
  if (a.help || !cmd) return printUsage(formatHelp(spec), a.help);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  const brokers = a.options.brokers as number | undefined;
  if (brokers !== undefined && (!Number.isInteger(brokers) || brokers < 1 || brokers > 9)) throw new UsageError(`--brokers: expected 1…9 (3 for a cluster), got ${brokers}`);
  const stack = await import('./stack.ts');
  const log = (s: string) => console.log(s);
  switch (cmd) {
    case 'up':
      await stack.up({ log, install: a.options.install as boolean, brokers, s3: a.options.s3 as boolean | undefined, secure: a.options.secure as boolean | undefined });
      const rows = await stack.status();
      console.log(stack.formatStatus(rows));
      if (rows.some((r) => r.service === 's3') && !process.env.GFT_STORAGE_URL)
        console.log('\nstorage: the stages still use the filesystem; for the S3 store: export GFT_STORAGE_URL=s3://gft/<prefix> (endpoint and keys come from GFT_HOME/s3/credentials.json)');
      return 0;
    case 'down':
      await stack.down({ log });
      return 0;
    case 'status': {
      const rows = await stack.status();
      const { kafkaOverview, formatOverview } = await import('./kafkaStatus.ts');
      const kafka = await kafkaOverview(stack.brokers(), a.options.topic as string[], stack.operatorAccess());
      if (a.options.json) console.log(JSON.stringify({ services: rows, kafka }, null, 2));
      else {
        console.log(stack.formatStatus(rows));
        console.log(kafka ? `\n${formatOverview(kafka, a.options.partitions ? 'partitions' : a.options.topics ? 'topics' : 'brokers')}` : '\nkafka: no broker answers');
      }
      return rows.every((r) => r.healthy) ? 0 : 1;
    }
    case 'restart':
      if (!arg) throw new UsageError('restart: expected a service (kafka, kafka-N, registry, clickhouse)');
      await stack.restart(arg, { log });
      return 0;
    case 'logs':
      if (!arg) throw new UsageError('logs: expected a service (kafka, kafka-N, registry, clickhouse)');
      for (const f of stack.logFiles(arg)) {
        const t = tail(f, a.options.lines as number);
        if (t) console.log(`--- ${f}\n${t}`);
      }
      return 0;
    case 'kill-broker':
      await stack.killBroker(node(arg), { log });
      return 0;
    case 'start-broker':
      await stack.startBroker(node(arg), { log });
      return 0;
    default:
      throw unknownSubcommand(cmd, ['up', 'down', 'status', 'restart', 'logs'], formatHelp(spec));
  }
}
