/**
 * Comparison of a new master with the previous one of the bank, and the accept/reject decision.
 *
 * Measured (new − previous):
 * - levelDiff: difference of the medians (master units: ADU, ADU/s, normalised for flats);
 * - noiseRatio: σ_new / σ_prev (robust σ of each master's pixels);
 * - structure: robust σ of the pixel-wise difference (its median removed, so a pure level offset
 *   does not count); structureRatio = structure / √(r_new² + r_prev²) with r the random noise of
 *   each master (stats.randomNoise, from its input frames): ≈ 1 when the two masters differ by noise
 *   only, ≫ 1 when the pattern changed (a changed bias pattern, new vignetting or illumination). The
 *   ratio is only an issue when the structure also exceeds the absolute floor minStructure (twilight
 *   flats differ by a fraction of a percent from night to night). Note the robust σ ignores changes
 *   confined to < ~25% of the pixels (a new dust grain): the hot-pixel count catches defects;
 * - hotPixelChange: hot-pixel count new − previous (flats: low-flat pixel count);
 * - hotPixelOverlap: fraction of the previous master's hot pixels that are hot in the new one (the
 *   same count at other places is a different detector, or a mix-up of cameras).
 * A master is rejected with one issue per violated tolerance. Tolerances per kind come from
 * DEFAULT_TOLERANCES, then the camera's `compare`, then the caller.
 */
import type { CameraConfig, CompareTolerances } from '../camera.ts';
import type { Master, MasterIssue, MasterKind, MasterResult } from './masters.ts';
import { FRAME_SAMPLES } from './frame.ts';
import { scratchBuffer, statsOfBuffer } from '../../../../lib/stats/robust.ts';

export type { CompareTolerances } from '../camera.ts';

export const DEFAULT_TOLERANCES: Record<MasterKind, CompareTolerances> = {
  bias: { maxLevelDiff: 10, maxNoiseRatio: 1.5, maxStructureRatio: 2, minStructure: 0.5, maxHotPixelChangeFraction: 0.5, minHotPixelChange: 100, minHotPixelOverlap: 0.5 },
  dark: { maxLevelDiff: 0.5, maxNoiseRatio: 1.5, maxStructureRatio: 2, minStructure: 0.005, maxHotPixelChangeFraction: 0.5, minHotPixelChange: 100, minHotPixelOverlap: 0.5 },
  flat: { maxLevelDiff: 0.02, maxNoiseRatio: 1.5, maxStructureRatio: 2, minStructure: 0.005, maxHotPixelChangeFraction: 0.5, minHotPixelChange: 100, minHotPixelOverlap: 0.5 },
};

export interface MasterComparison {
  previous: string;
  previousDate: string;
  levelDiff: number;
  noiseRatio: number;
  structure: number;
  structureRatio: number;
  hotPixelChange: number;
  hotPixelOverlap: number;
  tolerances: CompareTolerances;
  accepted: boolean;
  issues: MasterIssue[];
}

export function tolerancesFor(kind: MasterKind, camera?: CameraConfig, override?: Partial<CompareTolerances>): CompareTolerances {
  return { ...DEFAULT_TOLERANCES[kind], ...(camera?.compare?.[kind] ?? {}), ...(override ?? {}) };
}

/** Compares two masters of the same kind. Different shapes → a single `shape-change` issue. */
export function compareMasters(current: Master, previous: Master, tol: CompareTolerances = DEFAULT_TOLERANCES[current.kind]): MasterComparison {
  const base = { previous: previous.name, previousDate: previous.dateObs, tolerances: tol };
  if (current.width !== previous.width || current.height !== previous.height) {
    const issue: MasterIssue = { reason: 'shape-change', detail: `${current.width}x${current.height}, previous ${previous.name} is ${previous.width}x${previous.height}` };
    return { ...base, levelDiff: NaN, noiseRatio: NaN, structure: NaN, structureRatio: NaN, hotPixelChange: NaN, hotPixelOverlap: NaN, accepted: false, issues: [issue] };
  }
  const a = current.data;
  const b = previous.data;
  const n = a.length;
  const step = Math.max(1, Math.floor(n / FRAME_SAMPLES));
  const buf = scratchBuffer(Math.ceil(n / step));
  let m = 0;
  for (let i = 0; i < n; i += step) {
    const d = a[i] - b[i];
    if (d === d) buf[m++] = d;
  }
  const structure = statsOfBuffer(buf, m).sigma;
  const cs = current.stats;
  const ps = previous.stats;
  const levelDiff = cs.level - ps.level;
  const noiseRatio = ps.noise > 0 ? cs.noise / ps.noise : cs.noise > 0 ? Infinity : 1;
  const rn = Number.isFinite(cs.randomNoise) && Number.isFinite(ps.randomNoise);
  const expected = rn ? Math.hypot(cs.randomNoise, ps.randomNoise) : Math.hypot(cs.noise, ps.noise);
  const structureRatio = expected > 0 ? structure / expected : structure > 0 ? Infinity : 0;
  const hotPixelChange = cs.hotPixels - ps.hotPixels;
  // hot in both (flats: low in both), one pass
  const flat = current.kind === 'flat';
  const ct = cs.hotThreshold;
  const pt = ps.hotThreshold;
  let both = 0;
  let prevHot = 0;
  for (let i = 0; i < n; i++) {
    const ph = flat ? b[i] < pt : b[i] > pt;
    if (!ph) continue;
    prevHot++;
    if (flat ? a[i] < ct : a[i] > ct) both++;
  }
  const hotPixelOverlap = prevHot ? both / prevHot : NaN;
  const issues: MasterIssue[] = [];
  const f = (x: number) => (Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3));
  if (!(Math.abs(levelDiff) <= tol.maxLevelDiff)) issues.push({ reason: 'level-change', detail: `level ${f(cs.level)} vs ${f(ps.level)} in ${previous.name}: |Δ| ${f(Math.abs(levelDiff))} > ${tol.maxLevelDiff}` });
  if (!(noiseRatio <= tol.maxNoiseRatio && noiseRatio >= 1 / tol.maxNoiseRatio)) issues.push({ reason: 'noise-change', detail: `noise ${f(cs.noise)} vs ${f(ps.noise)}: ratio ${noiseRatio.toFixed(2)} outside [${(1 / tol.maxNoiseRatio).toFixed(2)}, ${tol.maxNoiseRatio}]` });
  if (!(structureRatio <= tol.maxStructureRatio) && !(structure <= tol.minStructure)) {
    issues.push({ reason: 'structure-change', detail: `robust σ of the difference ${f(structure)} = ${structureRatio.toFixed(2)}× the expected ${f(expected)}${rn ? '' : ' (from the masters\' own noise)'} (limit ${tol.maxStructureRatio}×, floor ${tol.minStructure})` });
  }
  const hotLimit = Math.max(tol.minHotPixelChange, tol.maxHotPixelChangeFraction * ps.hotPixels);
  if (!(Math.abs(hotPixelChange) <= hotLimit)) issues.push({ reason: 'hot-pixel-change', detail: `${cs.hotPixels} hot pixels vs ${ps.hotPixels}: |Δ| ${Math.abs(hotPixelChange)} > ${hotLimit.toFixed(0)}` });
  if (prevHot >= 20 && !(hotPixelOverlap >= tol.minHotPixelOverlap)) {
    issues.push({ reason: 'hot-pixel-change', detail: `only ${(100 * hotPixelOverlap).toFixed(0)}% of the ${prevHot} hot pixels of ${previous.name} are still hot (limit ${(100 * tol.minHotPixelOverlap).toFixed(0)}%)` });
  }
  return { ...base, levelDiff, noiseRatio, structure, structureRatio, hotPixelChange, hotPixelOverlap, accepted: issues.length === 0, issues };
}

/**
 * Validates a freshly built master against the previous one (if any): the comparison's issues are
 * added to the result's and `accepted` is recomputed. Returns the same (mutated) result.
 */
export function validateMaster(result: MasterResult, previous: Master | null, tol?: CompareTolerances): MasterResult {
  if (result.master && previous) {
    const cmp = compareMasters(result.master, previous, tol ?? DEFAULT_TOLERANCES[result.kind]);
    result.comparison = cmp;
    result.issues.push(...cmp.issues);
  } else if (result.master) {
    result.notes.push('no previous master in the bank: nothing to compare with');
  }
  result.accepted = result.master !== null && result.issues.length === 0;
  return result;
}
