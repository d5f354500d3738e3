/** World coordinates: TAN projection, fitting, spherical helpers. No dependency on FITS I/O. */
export * from './sphere.ts';
export * from './tan.ts';
export * from './fit.ts';
