/** `npx gft dc3`: the DC3 data challenge end to end on the local stack (installs and starts it). */
import { dirname, join, resolve } from 'node:path';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { repoRoot } from '../../lib/config/platform.ts';
import { runDc3, type Dc3Summary } from './run.ts';
import { Display, logFormatOption } from './display.ts';
import { progressLine } from './chain.ts';

export const summary = 'run the DC3 data challenge end to end (VOEvent → … → SDB) on the local stack';

const spec: CommandSpec = {
  usage: 'gft dc3 [--images DIR --alert FILE.xml --catalog FILE.csv] [--out DIR] [--speed N | --realtime] [--seed N] [--instances N]',
  description:
    'Without --images, generates a synthetic COATLI night (deterministic by --seed). Writes summary.json and the files produced into --out.\n' +
    'By default every stage runs in this process; --instances N runs N instances of every stage as separate processes (logs in <out>/logs).',
  options: {
    images: { type: 'string', description: 'directory of raw FITS frames (calibrations + object frames)' },
    alert: { type: 'string', description: 'the burst VOEvent (XML)' },
    catalog: { type: 'string', description: 'reference star catalog: CSV (ra,dec,mag[,band]) or FITS table' },
    camera: { type: 'string', description: 'camera description for GP1', default: 'coatli' },
    out: { type: 'string', description: 'output folder', default: '' },
    namespace: { type: 'string', description: 'run namespace (default dc3-<time>)', default: '' },
    speed: { type: 'number', description: 'speed over real time (60 = a frame per second); 0 = as fast as possible', default: 0 },
    realtime: { type: 'boolean', description: 'one frame per minute (speed 1)', default: false },
    seed: { type: 'number', description: 'synthetic night seed', default: 1 },
    frames: { type: 'number', description: 'object frames of the synthetic night', default: 60 },
    width: { type: 'number', description: 'synthetic frame width (default COATLI 2184)' },
    height: { type: 'number', description: 'synthetic frame height (default 1472)' },
    timeout: { type: 'number', description: 'give up after N seconds', default: 1800 },
    instances: { type: 'number', description: 'instances of every stage, each a separate process (0: all stages in this process)', default: 0 },
    json: { type: 'boolean', description: 'print the summary as JSON instead of text', default: false },
    'log-format': { type: 'string', description: 'text: a live status line, warnings, the stages\' logs in <out>/logs/chain.log; json: every log line on stderr (default: text on a terminal, json otherwise)', default: 'auto' },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const ns = String(a.options.namespace || `dc3-${stamp.toLowerCase()}`);
  const out = String(a.options.out || join(repoRoot, 'out', ns));
  const display = new Display(logFormatOption(a.options['log-format']), 'dc3');
  display.logTo(join(out, 'logs', 'chain.log'));
  const s = await runDc3({
    out, namespace: ns, images: a.options.images as string | undefined, alert: a.options.alert as string | undefined, catalog: a.options.catalog as string | undefined,
    camera: String(a.options.camera), speed: a.options.realtime ? 1 : Number(a.options.speed), seed: Number(a.options.seed), frames: Number(a.options.frames),
    width: a.options.width as number | undefined, height: a.options.height as number | undefined, timeoutS: Number(a.options.timeout),
    instances: instancesOption(a.options.instances),
    onProgress: (p) => display.status(progressLine(p)),
    log: (l) => display.line(l),
  }).finally(() => display.close());
  if (a.options.json) console.log(JSON.stringify(s, null, 1));
  else console.log(formatSummary(s, join(out, 'summary.json')));
  return dc3Succeeded(s) ? 0 : 1;
}

/** --instances: a whole number ≥ 0 (0 = every stage in this process). */
export function instancesOption(v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new UsageError(`--instances: a whole number from 0 to 16, got ${String(v)}`);
  return n;
}

/**
 * A run succeeds when it completed, some epoch has frames, and every epoch with frames observed by then
 * used some (an epoch before the first frame, a late start, has an empty list and is no failure).
 */
export function dc3Succeeded(s: Pick<Dc3Summary, 'outcome' | 'epochs'>): boolean {
  return s.outcome === 'complete' && s.epochs.some((e) => e.frames > 0) && s.epochs.every((e) => e.frames > 0 || e.framesObserved === 0);
}

const f = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

/** The end-of-run summary for a person (the JSON file has everything). */
/** ` --run-dir DIR` when the run's summary.json is not where `gft replay` looks by default (out/<namespace>). */
export function replayRunDir(namespace: string, summaryFile: string): string {
  const dir = dirname(resolve(summaryFile));
  return dir === resolve(repoRoot, 'out', namespace) ? '' : ` --run-dir ${dir}`;
}

export function formatSummary(s: Dc3Summary, file: string): string {
  const x = s as any;
  const out: string[] = [];
  out.push('', `DC3 ${s.namespace}: ${x.outcome}`);
  out.push(`  alert      ${x.alert}`);
  out.push(`  frames     ${x.frames.injected} injected, ${x.frames.calibrated} calibrated outputs (masters + frames), ${x.frames.objectFramesInLastEpoch} object frames in the last epoch`);
  if (x.outcome === 'not-triggered') {
    // nothing ran downstream of the alert manager: its decision is the result
    for (const w of s.warnings) out.push(`  WARNING    ${w}`);
    out.push('', `Next:\n  summary   ${file}\n  decision  npx gft voevent parse ${x.alert}  (the alert manager's rules: streams/alerts/README.md)`);
    return out.join('\n');
  }
  out.push(`  chain      ${f(x.chainSeconds, 1)} s from the alert to the last receipt: ${f(x.objectFramesPerSecond)} frames/s, ${f(x.speedUpOverRealTime, 0)}x real time`);
  out.push('  epochs     T0+min  rev  frames (observed)  candidates  zero point  limiting mag');
  for (const e of s.epochs) out.push(`             ${String(e.epochMinutes).padStart(6)}  ${String(e.revision).padStart(3)}  ${`${e.frames} (${e.framesObserved ?? '-'})`.padStart(17)}  ${String(e.candidates).padStart(10)}  ${f(e.zeroPoint).padStart(10)}  ${f(e.limitingMag).padStart(12)}`);
  const b = x.bestCandidate;
  if (b) {
    out.push(`  best       ${b.id} at RA ${f(b.ra, 5)} Dec ${f(b.dec, 5)}, ${f(b.distanceArcsec, 1)}" from the alert position, mag ${f(b.mag)}, fading index ${f(b.fadingIndex)}`);
    const lc = (b.lightCurve as Array<{ tSinceT0: number; mag: number; magErr: number; saturated?: boolean }>) ?? [];
    const step = Math.max(1, Math.ceil(lc.length / 8));
    // a saturated point is a faint bound: the source was at least that bright
    const point = (p: (typeof lc)[number]) => `T0+${f(p.tSinceT0 / 60, 1)}m ${p.saturated ? `<${f(p.mag)} (saturated)` : `${f(p.mag)}±${f(p.magErr)}`}`;
    out.push(`  light curve ${lc.filter((_, i) => i % step === 0 || i === lc.length - 1).map(point).join(', ')}`);
  } else out.push('  best       no candidate');
  const acc = s.products.filter((p) => p.status === 'accepted').length;
  out.push(`  products   ${acc} accepted, ${s.products.length - acc} rejected by the FSC`);
  out.push('  stages     stage             busy s  share');
  for (const t of x.stages) out.push(`             ${t.stage.padEnd(16)}  ${f(t.busySeconds, 1).padStart(6)}  ${(100 * t.shareOfBusy).toFixed(1).padStart(4)} %`);
  for (const w of s.warnings) out.push(`  WARNING    ${w}`);
  for (const d of (x.deadLetters ?? []).slice(0, 10)) out.push(`  DLQ        ${d.stage}: ${d.code}: ${d.source}: ${String(d.message).slice(0, 160)}`);
  out.push('', 'Next:', `  summary   ${file}`, `  files     ${x.next.files}`, `  dashboard ${x.next.dashboard}`, `  SDB       ${x.next.sdb}`, `  replay    npx gft replay --source ${s.namespace}${replayRunDir(s.namespace, file)} --compare`);
  return out.join('\n');
}
