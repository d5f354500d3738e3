/**
 * `npm run bench -- dc3 [--frames N] [--seed N] [--no-reference]`: the accelerated DC3 on the local
 * stack (calibration frames + N object frames of 2184x1472, default 60), timed from the alert to the
 * last FSC receipt, after the stack is up and the night is generated.
 *
 * Prints: object frames/s, the speed-up over real time (the last epoch, T0+60 min, over the chain's
 * wall time), each stage's busy time and share, and — the reference measured in the same run — the
 * same science done offline by the `gft gp1` commands in one process, one step after the other
 * (masters, calibration of every frame, detection + candidates), without Kafka, storage or products:
 * chain / offline < 1 means the chain's parallelism (stages overlapping, worker threads) more than
 * pays for its messaging.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type CommandSpec } from '../lib/cli/args.ts';
import { table, quiet } from './lib.ts';
import { randomNamespace } from '../lib/runtime/testing.ts';

const spec: CommandSpec = {
  usage: 'npm run bench -- dc3 [--frames N] [--seed N] [--no-reference]',
  options: {
    frames: { type: 'number', description: 'object frames', default: 60 },
    seed: { type: 'number', description: 'synthetic night seed', default: 11 },
    reference: { type: 'boolean', description: 'also time the offline gp1 commands (reference)', default: true },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const frames = Number(a.options.frames);
  const work = mkdtempSync(join(tmpdir(), 'bench-dc3-'));
  try {
    console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const night = join(work, 'night');
    console.log(`generating the synthetic night (seed ${a.options.seed}, ${frames} object frames) …`);
    const { simulateNight } = await import('../streams/provider/core/simulate/index.ts');
    await simulateNight({ out: night, seed: Number(a.options.seed), frames, force: true } as never);
    const { up } = await import('../deploy/stack.ts');
    await up({ log: () => {} });

    console.log('running the chain (alert → … → SDB) …');
    const { runDc3 } = await import('../streams/dc3/run.ts');
    const s = (await runDc3({
      out: join(work, 'out'), namespace: randomNamespace('bdc3'), images: join(night, 'raw'), alert: join(night, 'voevent.xml'), catalog: join(night, 'catalog.csv'),
      camera: 'coatli', speed: 0, seed: Number(a.options.seed), frames, timeoutS: 900, log: () => {},
    })) as any;
    if (s.outcome !== 'complete') {
      console.error(`the chain did not complete (${s.outcome})`);
      return 1;
    }
    const chainS: number = s.chainSeconds;
    const realS = Math.max(...s.epochs.map((e: any) => e.epochMinutes)) * 60;
    console.log(`\nDC3 chain: ${frames} object frames + ${s.frames.injected - frames} calibration frames, ${s.epochs.length} epochs, ${s.products.length} products (${s.products.filter((p: any) => p.status === 'accepted').length} accepted)`);
    console.log(table([
      { measure: 'object frames / s', value: (frames / chainS).toFixed(2) },
      { measure: `speed-up over real time (T0+${realS / 60} min / chain)`, value: `${(realS / chainS).toFixed(1)}x` },
      { measure: 'chain under 60 s (target)', value: chainS < 60 ? 'yes' : 'NO' },
    ]));
    console.log('\nper-stage split (busy = decoding + handling its messages; stages overlap in time):');
    console.log(table(s.stages.map((t: any) => ({ stage: t.stage, in: t.in, out: t.out, 'busy s / chain s': `${(t.busySeconds / chainS).toFixed(2)}`, 'share of busy': `${(100 * t.shareOfBusy).toFixed(1)} %`, 'first output (fraction of chain)': t.firstOutputSeconds === null ? '-' : (t.firstOutputSeconds / chainS).toFixed(2) }))));

    if (a.options.reference) {
      console.log('\nreference: the same science offline with the gp1 commands, one step after the other …');
      const raw = join(night, 'raw');
      const cal = join(work, 'cal');
      mkdirSync(cal);
      const files = readdirSync(raw).sort();
      for (const f of files) if (/C\d[bdf]\.fits/.test(f)) symlinkSync(join(raw, f), join(cal, f));
      const objects = files.filter((f) => /C\do\.fits/.test(f)).map((f) => join(raw, f));
      const { run: gp1 } = await import('../streams/gp1/cli.ts');
      const t0 = performance.now();
      const c1 = await quiet(() => gp1(['masters', '--in', cal, '--out', join(work, 'masters'), '--camera', 'coatli']));
      const t1 = performance.now();
      const c2 = await quiet(() => gp1(['calibrate', '--masters', join(work, 'masters'), '--out', join(work, 'calibrated'), '--camera', 'coatli', ...objects]));
      const t2 = performance.now();
      const calibrated = readdirSync(join(work, 'calibrated')).filter((f) => f.endsWith('.fits')).map((f) => join(work, 'calibrated', f));
      const c3 = await quiet(() => gp1(['detect', '--catalog', join(night, 'catalog.csv'), '--alert', join(night, 'voevent.xml'), ...calibrated]));
      const t3 = performance.now();
      if (c1 > 1 || c2 !== 0 || c3 !== 0) console.warn(`warning: offline exit codes masters ${c1} calibrate ${c2} detect ${c3}`);
      const offS = (t3 - t0) / 1000;
      console.log(table([
        { step: 'masters', 'offline s / chain s': ((t1 - t0) / 1000 / chainS).toFixed(2) },
        { step: `calibrate ${objects.length} frames`, 'offline s / chain s': ((t2 - t1) / 1000 / chainS).toFixed(2) },
        { step: `detect ${calibrated.length} frames + candidates`, 'offline s / chain s': ((t3 - t2) / 1000 / chainS).toFixed(2) },
        { step: 'total', 'offline s / chain s': (offS / chainS).toFixed(2) },
      ]));
      console.log(`\nchain / offline sequential: ${(chainS / offS).toFixed(2)}x (< 1: the chain is faster than the same steps run one after the other)`);
    }
    console.log(`\n(absolute: chain ${chainS.toFixed(1)} s for ${frames} frames; run it on a quiet machine)`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
