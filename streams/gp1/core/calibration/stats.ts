/**
 * Robust statistics of the calibration core: the shared typed-array implementation in lib/stats
 * (selection, medians, MAD σ, sampled and region statistics), re-exported under the core's names.
 */
export { MAD_TO_SIGMA, scratchBuffer, quickselect, medianInPlace, robustStats, statsOfBuffer, regionStats, type RobustStats, type SampleOptions, type Bounds } from '../../../../lib/stats/robust.ts';
