/**
 * `npx gft ops simulate [options]`: TCS and weather-station simulations plus real host monitoring,
 * produced to `ops.telemetry` (or printed as JSON lines with --stdout). Deterministic by seed: the
 * same --seed, --start, --rate and --speed give the same simulated records.
 */
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { HostMonitor } from './hostMonitor.ts';
import { ALL_SOURCES, runSimulator, type Source } from './simulator.ts';
import { kafkaTelemetryOut, stdoutTelemetryOut } from './wiring.ts';

export const summary = 'telemetry simulators (TCS, weather station) and host monitoring → ops.telemetry';

const spec: CommandSpec = {
  usage: 'gft ops simulate [--rate 1] [--speed 1] [--seed 1] [--start ISO] [--count N] [--sources tcs,weather,host] [--stdout] [--no-pace]',
  description:
    'Produces one Telemetry record per source per tick to ops.telemetry (key = source). Tick k carries event\n' +
    'time start + k*speed/rate s. --no-pace: as fast as possible in batches (a backfill; host monitoring is\n' +
    'skipped then, it is real and wall-clock). Stops after --count ticks, or on Ctrl-C.',
  options: {
    rate: { type: 'number', description: 'ticks per wall-clock second', default: 1 },
    speed: { type: 'number', description: 'event seconds per wall-clock second (60 = one hour per minute)', default: 1 },
    seed: { type: 'number', description: 'simulation seed (non-negative integer)', default: 1 },
    start: { type: 'string', description: 'event time of the first tick, ISO UTC (default: now, whole second)' },
    count: { type: 'number', description: 'ticks to produce (default: until interrupted)' },
    sources: { type: 'string', description: 'comma-separated: tcs, weather, host', default: ALL_SOURCES.join(',') },
    stdout: { type: 'boolean', description: 'print JSON lines instead of producing to Kafka', default: false },
    pace: { type: 'boolean', description: 'tick at --rate per second (--no-pace: backfill as fast as possible)', default: true },
    batch: { type: 'number', description: 'ticks per send when not paced', default: 1000 },
    namespace: { type: 'string', description: 'run namespace (default: GFT_NAMESPACE)' },
    'disk-path': { type: 'string', description: 'file system whose usage host monitoring reports', default: '/' },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub] = a.positionals;
  if (a.help || sub !== 'simulate') {
    if (sub && sub !== 'simulate') throw unknownSubcommand(sub, ['simulate'], formatHelp(spec));
    return printUsage(formatHelp(spec), a.help);
  }
  const o = a.options;
  const sources = String(o.sources)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as Source[];
  for (const s of sources) if (!ALL_SOURCES.includes(s)) throw new UsageError(`unknown source '${s}' (expected ${ALL_SOURCES.join(', ')})`);
  const seed = Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be a non-negative integer');
  const start = o.start ? Date.parse(String(o.start)) : Math.floor(Date.now() / 1000) * 1000;
  if (!Number.isFinite(start)) throw new UsageError(`--start: not a date: '${o.start}'`);
  if (!(Number(o.rate) > 0) || !(Number(o.speed) > 0)) throw new UsageError('--rate and --speed must be > 0');
  const count = o.count === undefined ? undefined : Number(o.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) throw new UsageError('--count must be a non-negative integer');
  if (!o.pace && count === undefined) throw new UsageError('--no-pace needs --count (a backfill has an end)');

  const out = o.stdout ? stdoutTelemetryOut() : kafkaTelemetryOut(o.namespace as string | undefined, platformConfig());
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const t0 = Date.now();
  try {
    const r = await runSimulator({
      sources,
      seed,
      start,
      rate: Number(o.rate),
      speed: Number(o.speed),
      count,
      pace: Boolean(o.pace),
      batch: Number(o.batch),
      host: sources.includes('host') && o.pace ? new HostMonitor(String(o['disk-path'])) : undefined,
      send: (recs) => out.send(recs),
      signal: ac.signal,
    });
    console.error(
      `ops simulate: ${r.ticks} ticks, ${r.records} records in ${((Date.now() - t0) / 1000).toFixed(1)} s; event time ${new Date(start).toISOString()} → ${new Date(r.lastEventTime).toISOString()}`,
    );
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await out.close();
  }
}
