/**
 * `gft stage run <name>`: runs one stage as its own process (one consumer group per stage); what
 * `deploy/` renders per process or per container. `gft stage list` shows the known stages.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from '../cli/args.ts';
import { repoRoot } from '../config/platform.ts';
import { runStageProcess, type StageDefinition } from './runner.ts';

export const summary = 'run one stage as a process: stage run <name> | stage list';

/** Stage name → wiring module (exports `createStage(): Promise<StageDefinition>`). */
export const STAGE_WIRING: Record<string, string> = {
  alerts: 'streams/alerts/wiring.ts',
  provider: 'streams/provider/wiring.ts',
  'gp1-calibration': 'streams/gp1/calibrationWiring.ts',
  'gp1-detection': 'streams/gp1/detectionWiring.ts',
  gic: 'streams/gic/wiring.ts',
  fsc: 'streams/fsc/wiring.ts',
  'clickhouse-sink': 'connectors/clickhouse/wiring.ts',
};

const spec: CommandSpec = {
  usage: 'gft stage run <name> [--namespace NS] | gft stage list',
  options: { namespace: { type: 'string', description: 'run namespace (topic and group prefix)', default: '' } },
};

export async function loadStage(name: string): Promise<StageDefinition> {
  const rel = STAGE_WIRING[name];
  if (!rel) throw new UsageError(`unknown stage '${name}' (known: ${Object.keys(STAGE_WIRING).join(', ')})`);
  const file = join(repoRoot, rel);
  if (!existsSync(file)) throw new UsageError(`stage '${name}' is not available in this build (${rel} missing)`);
  const mod = (await import(pathToFileURL(file).href)) as { createStage(): Promise<StageDefinition> };
  return mod.createStage();
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub, name] = a.positionals;
  if (a.help || !sub) {
    console.log(formatHelp(spec));
    return a.help ? 0 : 2;
  }
  if (sub === 'list') {
    for (const [n, rel] of Object.entries(STAGE_WIRING)) console.log(`${n.padEnd(18)} ${existsSync(join(repoRoot, rel)) ? rel : '(not built yet)'}`);
    return 0;
  }
  if (sub !== 'run' || !name) throw new UsageError(formatHelp(spec));
  const stage = await loadStage(name);
  return runStageProcess(stage, { namespace: String(a.options.namespace || process.env.GFT_NAMESPACE || '') });
}
