/** The pure telemetry models: no Kafka, no I/O, deterministic by seed (except host parsing, which is real data). */
export { tcsSample, blockTarget, type TcsSample, type TcsState } from './tcs.ts';
export { weatherSample, weatherUnsafe, dewPoint, type WeatherSample } from './weather.ts';
export { SAN_PEDRO_MARTIR, altAz, raDec, lstDeg, gmstDeg, sunAltitude, airmass, type Site } from './astro.ts';
export { parseProcStat, parseMeminfo, cpuPercent, diskUsage } from './host.ts';
export { telemetryAt, type TelemetryValue, type SourceName } from './samples.ts';
