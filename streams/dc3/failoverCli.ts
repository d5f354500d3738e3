/** `npx gft failover` (also `gft chaos --failover`): DC3 on a 3-broker cluster of its own while the leader of the burst's gp1.calibrated partition is killed and restarted. */
import { join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type CommandSpec, intOption } from '../../lib/cli/args.ts';
import { platformConfig, repoRoot } from '../../lib/config/platform.ts';
import { Display, logFormatOption } from './display.ts';
import { failoverPorts, formatFailover, runFailover, type StorageChoice } from './failover.ts';

export const summary = 'DC3 on a 3-broker cluster + S3 with 2 instances per stage while the leader of gp1.calibrated is killed and restarted, compared with a one-node run';

const spec: CommandSpec = {
  usage: 'gft failover [--instances N] [--frames N] [--speed N] [--down S] [--storage auto|s3|fs] [--port-base N] [--keep-stack]',
  description: [
    'Starts a stack of its own (GFT_HOME <GFT_HOME>/failover, ports from --port-base: it never touches',
    'the default stack) with one Kafka node and runs a synthetic night there undisturbed, every stage in',
    'one process, on the filesystem store: the one-node reference. Then switches that stack to three',
    'KRaft nodes (topics with 3 replicas, min ISR 2) and the S3 store (MinIO), runs the same night with',
    '--instances processes per stage, and when half of the frames are calibrated kills (-9) the broker',
    'that leads the partition of gp1.calibrated holding the burst; starts it again --down seconds later.',
    'Exit 0 when the run completes, its candidate lists, products and base files are identical to the',
    'reference\'s (as `gft replay --compare`), nothing is lost (frames, calibrated frames, lists, products,',
    'SDB rows, telemetry samples), no dead letter, no instance died (or, with --restart-on-failure, every',
    'one that died was started again), and the broker is back in the ISR.',
    'The stack is stopped at the end (its data stays in its GFT_HOME).',
    '',
    'Storage: auto = S3 when MinIO is already built (~/.cache/gft/minio; `npx gft stack up --s3` builds',
    'it once, minutes), else the filesystem, with the reason printed; s3 builds MinIO when missing.',
  ].join('\n'),
  options: {
    instances: { type: 'number', description: 'instances (processes) of every stage in the failover run', default: 2 },
    frames: { type: 'number', description: 'object frames of the synthetic night', default: 20 },
    speed: { type: 'number', description: 'speed of the failover run\'s night over real time (0: as fast as possible)', default: 30 },
    down: { type: 'number', description: 'seconds the broker stays down', default: 20, placeholder: 'S' },
    seed: { type: 'number', description: 'seed of the synthetic night', default: 1 },
    storage: { type: 'string', description: 'store of the failover run: auto, s3 or fs', default: 'auto' },
    'port-base': { type: 'number', description: 'ports of the failover stack: Kafka base+92.., registry base+81, ClickHouse base+123/base, MinIO base+900', default: 26000 },
    home: { type: 'string', description: 'GFT_HOME of the failover stack (default <GFT_HOME>/failover)', placeholder: 'DIR' },
    'restart-on-failure': { type: 'boolean', description: 'start a stage instance that exits by itself again a second later, as the rendered systemd units (Restart=on-failure) and Kubernetes do; off: such an exit fails the run', default: false },
    'keep-stack': { type: 'boolean', description: 'leave the failover stack running at the end', default: false },
    namespace: { type: 'string', description: 'namespace of the failover run (default failover-<time>; the reference is <namespace>-ref)', default: '' },
    out: { type: 'string', description: 'output folder (default out/<namespace>)', default: '' },
    timeout: { type: 'number', description: 'give up a run after N seconds', default: 1200 },
    json: { type: 'boolean', description: 'print the report as JSON', default: false },
    'log-format': { type: 'string', description: 'text: the in-process stages\' logs in <out>/logs/chain.log (stage processes log to <out>/failover/logs), warnings on screen; json: every log line on stderr (default: text on a terminal)', default: 'auto' },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  if (a.positionals.length) throw new UsageError(`unexpected argument '${a.positionals[0]}'`);
  const int = (name: string, min: number, max: number) => intOption(a, name, min, max);
  const storage = String(a.options.storage) as StorageChoice;
  if (!['auto', 's3', 'fs'].includes(storage)) throw new UsageError(`--storage: auto, s3 or fs, got '${storage}'`);
  const speed = Number(a.options.speed);
  if (!(speed >= 0)) throw new UsageError(`--speed: a number ≥ 0, got ${String(a.options.speed)}`);
  const portBase = int('port-base', 1024, 32768 - 902);
  failoverPorts(portBase);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  const namespace = String(a.options.namespace || `failover-${stamp}`);
  const out = String(a.options.out || join(repoRoot, 'out', namespace));
  const home = String(a.options.home ?? join(platformConfig().home, 'failover'));
  const display = new Display(logFormatOption(a.options['log-format']), 'failover');
  display.logTo(join(out, 'logs', 'chain.log'));
  const r = await runFailover({
    out, namespace, seed: int('seed', 0, 2 ** 31), frames: int('frames', 4, 500), speed, instances: int('instances', 1, 6), storage,
    downS: int('down', 1, 600), timeoutS: int('timeout', 60, 86_400), home, portBase, keepStack: !!a.options['keep-stack'], restartOnFailure: !!a.options['restart-on-failure'], log: (l) => display.line(l),
  }).finally(() => display.close());
  const file = join(out, 'failover.json');
  console.log(a.options.json ? JSON.stringify(r, null, 1) : formatFailover(r, file));
  return r.ok ? 0 : 1;
}
