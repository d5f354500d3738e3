/**
 * `npm run bench -- soak [--bursts N] [--frames N] [--instances N]`: a season on one long-lived chain
 * (issue 22). The 7 stages start once as processes; N different synthetic nights (distinct burst ids,
 * T0s a day apart, different fields; frames found per burst by the provider's {burstId} template,
 * catalogs added to a folder as the season goes) are sent one after the other. Prints a row per burst
 * (chain s, products, RSS per stage, bursts each stateful stage still holds) and, last, exactly:
 *   max RSS growth per burst after the second: <X> MB (<stage>); chain time trend: <Y> % per burst
 * (least-squares slopes over bursts 2..N; goals X ≤ 5 MB, |Y| ≤ 2 %). The reference is the run's own
 * second burst: growth and trend are ratios to it, measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type CommandSpec } from '../lib/cli/args.ts';
import { randomNamespace } from '../lib/runtime/testing.ts';
import { table } from './lib.ts';

const spec: CommandSpec = {
  usage: 'npm run bench -- soak [--bursts N] [--frames N] [--instances N] [--keep]',
  options: {
    bursts: { type: 'number', description: 'nights sent one after the other (≥ 3)', default: 10 },
    frames: { type: 'number', description: 'object frames per night (a DC3 night: 60)', default: 60 },
    instances: { type: 'number', description: 'instances per stage (processes)', default: 1 },
    timeout: { type: 'number', description: 'seconds to wait for each burst', default: 600 },
    keep: { type: 'boolean', description: 'keep the nights and logs (printed path)', default: false },
  },
};

const STATEFUL = ['alerts', 'provider', 'gp1-calibration', 'gp1-detection'];

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const bursts = Number(a.options.bursts);
  if (!(bursts >= 3)) {
    console.error('--bursts: at least 3 (the trend is fitted over bursts 2..N)');
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'bench-soak-'));
  const { runSeason, seasonTrend, trendLine } = await import('../streams/dc3/season.ts');
  try {
    console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${bursts} nights of ${a.options.frames} object frames, ${a.options.instances} instance(s) per stage`);
    const { rows } = await runSeason({
      out: work, namespace: randomNamespace('soak'), bursts, frames: Number(a.options.frames), instances: Number(a.options.instances), timeoutS: Number(a.options.timeout),
      env: { GFT_LOG_LEVEL: 'warn' },
      log: (s) => (s.startsWith('generating') ? console.log(s) : undefined),
      onBurst: (r) => {
        const rss = Object.entries(r.stages).map(([s, h]) => `${s} ${h.rssMB.toFixed(0)}`).join(', ');
        const held = STATEFUL.map((s) => `${s} ${r.stages[s]?.bursts ?? '-'}`).join(', ');
        console.log(`burst ${r.index} ${r.burstId}: chain ${r.chainSeconds.toFixed(1)} s, products ${r.accepted}/${r.products} accepted, DLQ ${r.dlq}; RSS MB ${rss}; bursts held ${held}`);
      },
    });
    const stages = Object.keys(rows[0].stages);
    console.log(`\n${table(rows.map((r) => ({ burst: `${r.index} ${r.burstId}`, 'chain s': r.chainSeconds.toFixed(1), 'chain / 2nd': (r.chainSeconds / rows[1].chainSeconds).toFixed(2), products: `${r.accepted}/${r.products}`, ...Object.fromEntries(stages.map((s) => [`${s} MB`, r.stages[s].rssMB.toFixed(0)])) })))}`);
    console.log(`\nstate held after the last burst: ${STATEFUL.map((s) => `${s} ${rows[rows.length - 1].stages[s].bursts} open burst(s), ${rows[rows.length - 1].stages[s].stateKeys} keys, ${(rows[rows.length - 1].stages[s].cacheBytes / 2 ** 20).toFixed(1)} MB cached`).join('; ')}`);
    if (a.options.keep) console.log(`nights and logs kept in ${work}`);
    const t = seasonTrend(rows);
    const ok = t.rssMBPerBurst <= 5 && Math.abs(t.chainPctPerBurst) <= 2 && rows.every((r) => r.accepted === r.products && r.products > 0);
    console.log(`goals (X ≤ 5 MB, |Y| ≤ 2 %, every product accepted): ${ok ? 'met' : 'NOT met'}`);
    console.log(trendLine(t));
    return ok ? 0 : 1;
  } finally {
    if (!a.options.keep) rmSync(work, { recursive: true, force: true });
  }
}
