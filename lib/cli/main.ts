/**
 * `npx gft <command> …` — the one CLI for users and for checks.
 *
 * Each command lives next to the code it drives and is loaded lazily, so `gft fits info` does not
 * pay for Kafka clients and `gft stack up` works before anything else is built.
 * A command module exports `summary` (one line) and `run(args) => exit code`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { didYouMean, printUsage, UsageError } from './args.ts';
import { repoRoot } from '../config/platform.ts';

export interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Command name → module path relative to the repository root. */
const commands: Record<string, string> = {
  stack: 'deploy/cli.ts',
  deploy: 'deploy/deployCli.ts',
  users: 'deploy/usersCli.ts',
  topics: 'lib/runtime/topicsCli.ts',
  db: 'connectors/clickhouse/cli.ts',
  test: 'lib/cli/testCommand.ts',
  bench: 'bench/cli.ts',
  dc3: 'streams/dc3/cli.ts',
  replay: 'streams/dc3/replayCli.ts',
  chaos: 'streams/dc3/chaosCli.ts',
  failover: 'streams/dc3/failoverCli.ts',
  voevent: 'streams/alerts/cli.ts',
  fits: 'lib/fits/cli.ts',
  simulate: 'streams/provider/simulateCli.ts',
  gp1: 'streams/gp1/cli.ts',
  stage: 'lib/runtime/stageCli.ts',
  web: 'web/cli.ts',
  ops: 'streams/ops/cli.ts',
};

async function load(name: string): Promise<CommandModule | undefined> {
  const rel = commands[name];
  if (!rel) return undefined;
  const file = join(repoRoot, rel);
  if (!existsSync(file)) return undefined;
  try {
    return (await import(pathToFileURL(file).href)) as CommandModule;
  } catch (err) {
    throw new Error(`command '${name}' failed to load from ${rel}: ${(err as Error).message}`);
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
  lines.push('', 'options:', '  --help, -h     this list', '  --version, -V  the version of gft');
  lines.push('', 'Run `npx gft <command> --help` for the options of a command.');
  return lines.join('\n');
}

/** `gft <version>` from package.json (the one place the version is kept). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return `gft ${pkg.version} (${pkg.name}, Node ${process.versions.node})`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') return printUsage(await help(), !!name);
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  const mod = await load(name);
  if (!mod) {
    const near = didYouMean(name.replace(/^-+/, ''), Object.keys(commands));
    console.error(`gft: unknown ${name.startsWith('-') ? 'option' : 'command'} '${name}'${near ? ` (did you mean '${near}'?)` : ''}\n\n${await help()}`);
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
