/**
 * GP1 detection core: pure functions over typed arrays, no I/O, no Kafka, no clock.
 * Per frame: {@link processFrame}; across frames and epochs: {@link buildCandidates}.
 */
export * from './background.ts';
export * from './filter.ts';
export * from './aperture.ts';
export * from './detect.ts';
export * from './astrometry.ts';
export * from './photometry.ts';
export * from './frame.ts';
export * from './candidates.ts';
export * from './warmup.ts';
