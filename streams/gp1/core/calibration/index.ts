/**
 * GP1 calibration core: masters (build, compare, validate, bank) and per-frame calibration. Pure
 * functions on typed arrays; FITS I/O is in io.ts, threads in pool.ts. No Kafka here.
 */
export * from '../../../../lib/stats/robust.ts'; // selection and robust statistics (shared with lib/fits and detection)
export * from './combine.ts';
export * from './frame.ts';
export * from './masters.ts';
export * from './compare.ts';
export * from './bank.ts';
export * from './calibrate.ts';
export * from './nightMasters.ts';
export * from './cosmic.ts';
export * from './fwhm.ts';
