/**
 * `npm run bench -- gp1-skies [--only NAME[,NAME…]] [--keep DIR] [--json]`: GP1 under hard but common
 * skies (issue 20), one synthetic night per condition through `gft gp1 masters`, `calibrate` and
 * `detect` (streams/gp1/skyNight.ts), SExtractor run on the same calibrated frames in the same run.
 *
 * The table: condition, afterglow found in k of n candidate lists (n = lists where it must be found:
 * ≥ 2 frames at expected S/N ≥ 10, or the epoch's stack at S/N ≥ 10 for the stack condition), the
 * most false candidates in one list (inside the error circle), completeness at true r < 20 (ours vs
 * SExtractor at the same threshold, area, kernel and aperture, stars found within 1.5 px, saturated
 * stars and the 10-px border left out), frames solved and the worst WCS rms, and the light curve's
 * worst error (|measured − true| over its detections), how many of the frames where the afterglow is
 * brighter than r = 19 are measured within 0.1 mag + 3σ, and the upper limits the data do not support.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { table } from './lib.ts';
import { haveSExtractor, runSkyNight, scoreNight, sextractorSources, sourcesFound, type SkyNightOptions } from '../streams/gp1/skyNight.ts';
import type { SimulateNightOptions } from '../streams/provider/core/simulate/write.ts';

/** Twelve frames over the hour: 4 by T0+5 min, 6 by T0+10, 9 by T0+30, 12 by T0+60. */
export const STARTS12 = [120, 180, 240, 300, 420, 540, 900, 1200, 1680, 2400, 3000, 3480];

export interface SkyCondition {
  name: string;
  /** Issue 20's item (1–5), 0 = the control. */
  item: number;
  sim: Omit<SimulateNightOptions, 'out'>;
  opts?: SkyNightOptions;
  /** Score the stack requirement (item 4). */
  stack?: boolean;
}

const SMALL = { width: 1060, height: 800 };
/** COATLI binned 2x2 (0.68″/px), cut to 1092 × 800 of data. */
const BIN2 = { width: 1128, height: 800, binning: 2 };

export const CONDITIONS: SkyCondition[] = [
  { name: 'control', item: 0, sim: { seed: 21, camera: SMALL, startTimes: STARTS12 } },
  // 0.68"/px (2x2 binning), seeing 0.75–0.8": FWHM 1.1–1.2 px
  { name: 'undersampled 1.1 px', item: 1, sim: { seed: 22, camera: BIN2, startTimes: STARTS12, seeingFrames: [0.75, 0.8, 0.76, 0.78, 0.75, 0.8, 0.77, 0.75, 0.79, 0.76, 0.8, 0.75] } },
  { name: 'seeing 6 px', item: 1, sim: { seed: 23, camera: SMALL, startTimes: STARTS12, seeingFrames: [2.0, 2.05, 1.95, 2.0] } },
  // a saturated 11-mag star 6" east of an afterglow of r 16.9–18.8
  { name: 'saturated star at 6"', item: 2, sim: { seed: 24, camera: SMALL, startTimes: STARTS12, afterglowMag: 17.2, afterglowIndex: 0.6, field: { starsNearAfterglow: [{ east: 6, north: 0, mag: 11 }] } } },
  { name: '13-mag star at 3"', item: 2, sim: { seed: 25, camera: SMALL, startTimes: STARTS12, afterglowMag: 17.2, afterglowIndex: 0.6, field: { starsNearAfterglow: [{ east: -2.1, north: 2.1, mag: 13 }] } } },
  // 0.68"/px, seeing 2–2.8": pairs 2.1–3.2" apart merge into one detection between them
  { name: 'blends, ordinary field', item: 3, sim: { seed: 26, camera: BIN2, startTimes: STARTS12, seeingMin: 2, seeingMax: 2.8, field: { blendPairs: { count: 25, sepArcsec: [2.1, 3.2], withinArcsec: 170 } } } },
  { name: 'blends, 5x crowded', item: 3, sim: { seed: 27, camera: BIN2, startTimes: STARTS12, seeingMin: 2, seeingMax: 2.8, field: { starDensity: 30000, blendPairs: { count: 25, sepArcsec: [2.1, 3.2], withinArcsec: 170 } } } },
  { name: 'faint afterglow (stacks)', item: 4, stack: true, sim: { seed: 28, camera: SMALL, startTimes: STARTS12, afterglowMag: 19.9, afterglowIndex: 0.1 } },
  { name: 'all flats fail', item: 5, sim: { seed: 29, camera: SMALL, startTimes: STARTS12, flatLevels: [1800, 900], calibStart: '2019-10-16T00:40:00Z' }, opts: { bankNight: { seed: 30, camera: SMALL, frames: 1, t0: '2019-10-14T08:30:00Z' } } },
];

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log('usage: npm run bench -- gp1-skies [--only NAME[,NAME…]] [--keep DIR] [--json]\n\nconditions: ' + CONDITIONS.map((c) => `'${c.name}'`).join(', '));
    return 0;
  }
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',').map((s) => s.trim().toLowerCase()) : null;
  const keep = args.includes('--keep') ? args[args.indexOf('--keep') + 1] : null;
  const haveSex = haveSExtractor();
  if (!haveSex) console.error('gp1-skies: `source-extractor` is not installed: completeness of SExtractor not measured');
  const tmp = keep ?? mkdtempSync(join(tmpdir(), 'gp1-skies-'));
  const rows: Record<string, string | number>[] = [];
  const details: unknown[] = [];
  try {
    for (const c of CONDITIONS) {
      if (only && !only.some((o) => c.name.toLowerCase().includes(o))) continue;
      const t = Date.now();
      const n = await runSkyNight(tmp, c.name, c.sim, { sources: true, ...c.opts });
      const s = scoreNight(n, { stackRequired: c.stack });
      const ours = n.detect.frames.map((f) => (f.sources ? f.sources.map((q) => ({ x: q.x, y: q.y })) : null));
      const sex = haveSex ? await sextractorSources(n) : [];
      const [of, ot] = sourcesFound(n, ours);
      const [sf, st] = haveSex ? sourcesFound(n, sex) : [NaN, NaN];
      const req = s.epochs.filter((e) => e.required);
      const lc = s.lightCurve;
      const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
      const masters = n.masters.report as { masters?: Array<{ kind: string; accepted: boolean; fromBank?: unknown }> } | null;
      rows.push({
        condition: c.name,
        item: c.item || '-',
        'afterglow found': `${req.filter((e) => e.found).length}/${req.length}` + (s.epochs.length > req.length ? ` (+${s.epochs.filter((e) => !e.required && e.found).length}/${s.epochs.length - req.length})` : ''),
        'false/list': s.epochs.length ? Math.max(...s.epochs.map((e) => e.falseCandidates)) : '-',
        'complete r<20 ours': pct(of, ot),
        SExtractor: pct(sf, st),
        solved: `${s.solved}/${n.frames.length}`,
        'worst rms"': s.worstRmsArcsec ? s.worstRmsArcsec.toFixed(3) : '-',
        'WCS err vs truth"': s.solved ? s.worstWcsErrorArcsec.toFixed(3) : '-',
        'LC worst err': lc ? `${lc.worstError.toFixed(3)} (${lc.points} pts)` : '-',
        'r<19 within 0.1+3σ': lc ? `${lc.bright.within}/${lc.bright.frames}` : '-',
        'bad limits': lc ? lc.badLimits : '-',
        s: ((Date.now() - t) / 1000).toFixed(0),
      });
      details.push({ condition: c.name, masters: { exit: n.masters.code, stderr: n.masters.stderr.slice(0, 400), verdicts: masters?.masters?.map((m) => `${m.kind}:${m.accepted ? 'accepted' : 'rejected'}`) }, score: s });
      if (!args.includes('--json')) console.error(`gp1-skies: ${c.name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  }
  if (args.includes('--json')) console.log(JSON.stringify({ rows, details }, null, 1));
  else {
    console.log('GP1 under hard skies (issue 20): one generator night per condition through gft gp1 masters + calibrate + detect; SExtractor on the same frames\n');
    console.log(table(rows));
    if (args.includes('--details')) console.log(JSON.stringify(details, (_k, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v), 1));
  }
  return 0;
}
