/**
 * `npx gft stack up|down|status|restart <service>|logs <service>` — the local Kafka, schema registry
 * and ClickHouse (see deploy/README.md).
 */
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../lib/cli/args.ts';
import { tail } from './lib/proc.ts';

export const summary = 'start/stop/inspect the local Kafka, schema registry and ClickHouse';

const names = ['kafka', 'registry', 'clickhouse'] as const;

const spec: CommandSpec = {
  usage: 'gft stack up|down|status|restart <service>|logs <service> [options]',
  description: [
    'up       install what is missing, start what is not running, wait until healthy',
    'down     stop the processes started by up (data is kept in GFT_HOME)',
    'status   service, pid, address, healthy (exit 1 unless all are healthy)',
    'restart  stop and start one service (kafka, registry, clickhouse)',
    'logs     print the end of a service\'s logs',
  ].join('\n'),
  options: {
    install: { type: 'boolean', description: 'up: run deploy/install-debian.sh first (--no-install: skip)', default: true },
    json: { type: 'boolean', description: 'status: print JSON', default: false },
    lines: { type: 'number', description: 'logs: number of lines', default: 40 },
  },
};

function service(name: string | undefined): (typeof names)[number] {
  if (!name || !(names as readonly string[]).includes(name)) throw new UsageError(`expected a service: ${names.join(', ')}`);
  return name as (typeof names)[number];
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [cmd, arg, ...rest] = a.positionals;
  if (a.help || !cmd) return printUsage(formatHelp(spec), a.help);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  const stack = await import('./stack.ts');
  const log = (s: string) => console.log(s);
  switch (cmd) {
    case 'up':
      await stack.up({ log, install: a.options.install as boolean });
      console.log(stack.formatStatus(await stack.status()));
      return 0;
    case 'down':
      await stack.down({ log });
      return 0;
    case 'status': {
      const rows = await stack.status();
      console.log(a.options.json ? JSON.stringify(rows, null, 2) : stack.formatStatus(rows));
      return rows.every((r) => r.healthy) ? 0 : 1;
    }
    case 'restart':
      await stack.restart(service(arg), { log });
      return 0;
    case 'logs':
      for (const f of stack.logFiles(service(arg))) {
        const t = tail(f, a.options.lines as number);
        if (t) console.log(`--- ${f}\n${t}`);
      }
      return 0;
    default:
      throw unknownSubcommand(cmd, ['up', 'down', 'status', 'restart', 'logs'], formatHelp(spec));
  }
}
