/**
 * `gft stage run <name>`: runs one stage as its own process (one consumer group per stage); what
 * `deploy/` renders per process or per container. `gft stage list` shows the known stages.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, formatHelp, printUsage, UsageError, type CommandSpec } from '../cli/args.ts';
import { repoRoot } from '../config/platform.ts';
import { runStageProcess, type StageDefinition } from './runner.ts';
import { Supervisor } from './supervisor.ts';

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
  usage: 'gft stage run <name> [--namespace NS] [--instances N] [--restart] | gft stage list',
  description:
    'run: the stage as its own process, consumer group = stage name (its instances share the partitions of its inputs; state moves with them).\n' +
    '--instances N starts N processes of it (GFT_INSTANCE_ID <name>-1 … <name>-N) and waits for them; SIGTERM/SIGINT stop them cleanly.',
  options: {
    namespace: { type: 'string', description: 'run namespace (topic and group prefix)', default: '' },
    instances: { type: 'number', description: 'instances to start, each a separate process (1: this process)', default: 1 },
    restart: { type: 'boolean', description: 'with --instances: restart an instance that exits on its own (after 1 s)', default: false },
  },
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
  if (a.help || !sub) return printUsage(formatHelp(spec), a.help);
  if (sub === 'list') {
    for (const [n, rel] of Object.entries(STAGE_WIRING)) console.log(`${n.padEnd(18)} ${existsSync(join(repoRoot, rel)) ? rel : '(not built yet)'}`);
    return 0;
  }
  if (sub !== 'run' || !name) throw new UsageError(formatHelp(spec));
  const namespace = String(a.options.namespace || process.env.GFT_NAMESPACE || '');
  const instances = Number(a.options.instances);
  if (!Number.isInteger(instances) || instances < 1) throw new UsageError(`--instances: a whole number ≥ 1, got ${a.options.instances}`);
  if (!STAGE_WIRING[name]) throw new UsageError(`unknown stage '${name}' (known: ${Object.keys(STAGE_WIRING).join(', ')})`);
  if (instances === 1 && !a.options.restart) return runStageProcess(await loadStage(name), { namespace });
  return superviseInstances(name, namespace, instances, !!a.options.restart);
}

/** N processes of one stage; resolves with the worst exit code once all have exited. */
async function superviseInstances(name: string, namespace: string, n: number, restart: boolean): Promise<number> {
  const sup = new Supervisor({ restartOnFailure: restart, log: (s) => console.error(`gft stage: ${s}`) });
  for (let i = 1; i <= n; i++) sup.add({ stage: name, index: i, namespace });
  sup.startAll();
  console.error(`gft stage: ${n} instance(s) of ${name} started (pids ${sup.instances.map((x) => x.proc?.pid).join(', ')})`);
  const stop = () => void sup.stopAll();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (sup.instances.every((x) => !x.running) && (!restart || sup.exits.some((e) => e.expected))) {
        clearInterval(t);
        resolve();
      }
    }, 200);
  });
  return Math.max(0, ...sup.exits.filter((e) => !e.expected).map((e) => e.code ?? 1));
}
