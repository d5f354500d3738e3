/** `npx gft chaos`: DC3 with every stage's instances killed and restarted, broker/ClickHouse/registry outages, compared with an undisturbed run. */
import { join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type CommandSpec, intOption } from '../../lib/cli/args.ts';
import { repoRoot } from '../../lib/config/platform.ts';
import { formatChaos, runChaos } from './chaos.ts';
import { Display, logFormatOption } from './display.ts';
import * as failover from './failoverCli.ts';

export const summary = 'DC3 under faults (kill -9 of stage instances, broker restart, ClickHouse/registry outages) compared with an undisturbed run';

const spec: CommandSpec = {
  usage: 'gft chaos [--kills N] [--seed N] [--instances N] [--frames N] [--speed N] [--no-services]',
  description: [
    'Runs a synthetic night undisturbed (the reference), then again with N instances of every stage as',
    'separate processes while a seeded schedule kill -9s a random instance of each stage in turn and',
    'restarts it, and (once) restarts the Kafka broker, stops ClickHouse for 20 s and the schema registry',
    'for 20 s. Prints kills per stage, restarts, the longest stall, whether the candidate lists and products',
    'are identical, SDB duplicates before FINAL, telemetry counts and dead letters. Exit 1 unless all is well.',
    'The kills are spread over the time the night takes at --speed (60 object frames at speed 60 ≈ 60 s).',
    '',
    '`gft chaos --failover [options]` is `gft failover`: DC3 on a 3-broker cluster of its own (S3 store,',
    '2 instances per stage) while the broker leading the burst\'s gp1.calibrated partition is killed and',
    'restarted, compared with a one-node run (`gft failover --help`).',
  ].join('\n'),
  options: {
    kills: { type: 'number', description: 'kill -9s of stage instances', default: 20 },
    seed: { type: 'number', description: 'seed of the night and of the schedule', default: 1 },
    instances: { type: 'number', description: 'instances of every stage', default: 2 },
    frames: { type: 'number', description: 'object frames of the synthetic night', default: 60 },
    speed: { type: 'number', description: 'speed of the disturbed night over real time (the window of the kills)', default: 60 },
    services: { type: 'boolean', description: 'also restart the broker and stop ClickHouse and the registry (--no-services: stage kills only)', default: true },
    namespace: { type: 'string', description: 'namespace of the disturbed run (default chaos-<time>; the reference is <namespace>-ref)', default: '' },
    out: { type: 'string', description: 'output folder (default out/<namespace>)', default: '' },
    timeout: { type: 'number', description: 'give up a run after N seconds', default: 1200 },
    json: { type: 'boolean', description: 'print the report as JSON', default: false },
    'log-format': { type: 'string', description: 'text: the in-process stages\' logs in <out>/logs/chain.log (stage processes log to <out>/*/logs), warnings on screen; json: every log line on stderr (default: text on a terminal)', default: 'auto' },
  },
};

export async function run(args: string[]): Promise<number> {
  if (args.includes('--failover')) return failover.run(args.filter((x) => x !== '--failover'));
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const int = (name: string, min: number, max: number) => intOption(a, name, min, max);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  const namespace = String(a.options.namespace || `chaos-${stamp}`);
  const out = String(a.options.out || join(repoRoot, 'out', namespace));
  const display = new Display(logFormatOption(a.options['log-format']), 'chaos');
  display.logTo(join(out, 'logs', 'chain.log'));
  const r = await runChaos({
    out, namespace, kills: int('kills', 0, 1000), seed: int('seed', 0, 2 ** 31), instances: int('instances', 1, 8), frames: int('frames', 4, 500),
    speed: Number(a.options.speed) > 0 ? Number(a.options.speed) : 60, services: !!a.options.services, timeoutS: int('timeout', 60, 86_400), log: (l) => display.line(l),
  }).finally(() => display.close());
  const file = join(out, 'chaos.json');
  console.log(a.options.json ? JSON.stringify(r, null, 1) : formatChaos(r, file));
  return r.ok ? 0 : 1;
}
