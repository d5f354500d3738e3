/**
 * `npx gft <command> …` — the one CLI for users and for checks.
 *
 * Each command lives next to the code it drives and is loaded lazily, so `gft fits info` does not
 * pay for Kafka clients and `gft stack up` works before anything else is built.
 * A command module exports `summary` (one line) and `run(args) => exit code`.
 */
import { UsageError } from './args.ts';

export interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

type Loader = () => Promise<CommandModule>;

const commands: Record<string, Loader> = {
  stack: () => import('../../deploy/cli.ts'),
  topics: () => import('../runtime/topicsCli.ts'),
  db: () => import('../../connectors/clickhouse/cli.ts'),
  test: () => import('./testCommand.ts'),
  bench: () => import('../../bench/cli.ts'),
  dc3: () => import('../../streams/dc3/cli.ts'),
  replay: () => import('../../streams/dc3/replayCli.ts'),
  voevent: () => import('../../streams/alerts/cli.ts'),
  fits: () => import('../fits/cli.ts'),
  simulate: () => import('../../streams/provider/simulateCli.ts'),
  gp1: () => import('../../streams/gp1/cli.ts'),
  stage: () => import('../runtime/stageCli.ts'),
  web: () => import('../../web/cli.ts'),
};

async function load(name: string): Promise<CommandModule | undefined> {
  const loader = commands[name];
  if (!loader) return undefined;
  try {
    return await loader();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(name)) return undefined;
    throw err;
  }
}

async function help(): Promise<string> {
  const lines = ['usage: npx gft <command> [options]', '', 'commands:'];
  for (const name of Object.keys(commands)) {
    let summary = '(not available in this build)';
    try {
      const mod = await load(name);
      if (mod) summary = mod.summary;
    } catch {
      summary = '(failed to load)';
    }
    lines.push(`  ${name.padEnd(10)} ${summary}`);
  }
  lines.push('', 'Run `npx gft <command> --help` for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const mod = await load(name);
  if (!mod) {
    console.error(`gft: unknown command '${name}'\n\n${await help()}`);
    return 2;
  }
  try {
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`gft ${name}: ${err.message}`);
      return 2;
    }
    console.error(`gft ${name}: ${(err as Error).stack ?? err}`);
    return 1;
  }
}
