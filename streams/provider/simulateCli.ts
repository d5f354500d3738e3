/**
 * `npx gft simulate night --out DIR --seed N [options]`: the synthetic COATLI night that DC3 uses by
 * default (raw frames, calibrations, VOEvent, reference catalog, truth, manifest). The model and every
 * parameter are described in streams/provider/core/simulate/README.md.
 */
import { resolve } from 'node:path';
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { DEFAULT_NIGHT } from './core/simulate/night.ts';
import { DEFAULT_FIELD } from './core/simulate/field.ts';
import { COATLI_CAMERA } from './core/simulate/camera.ts';

export const summary = 'a deterministic synthetic COATLI night (frames, calibrations, VOEvent, catalog, truth)';

const D = DEFAULT_NIGHT;
const spec: CommandSpec = {
  usage: 'gft simulate night --out DIR [--seed N] [options]',
  description:
    'Writes DIR/raw/*.fits (bias, dark, flats incl. one saturated and one under-level, object frames),\n' +
    'DIR/voevent.xml, DIR/catalog.csv, DIR/truth.json and DIR/manifest.json. Same options, same bytes.',
  options: {
    out: { type: 'string', description: 'output directory (required)' },
    seed: { type: 'number', description: 'random seed (non-negative integer)', default: D.seed },
    width: { type: 'number', description: 'raw frame width, px (overscan included)', default: COATLI_CAMERA.width },
    height: { type: 'number', description: 'raw frame height, px', default: COATLI_CAMERA.height },
    overscan: { type: 'number', description: 'overscan strip width, columns', default: COATLI_CAMERA.overscan },
    'overscan-side': { type: 'string', description: 'overscan side: right (COATLI) or left (COLIBRI)', default: COATLI_CAMERA.overscanSide },
    binning: { type: 'number', description: 'binning (BINNING/CCDSUM; pixel scale 0.34" x binning unless --pixel-scale)', default: 1 },
    'pixel-scale': { type: 'number', description: 'arcsec per pixel (default 0.34 x binning)' },
    frames: { type: 'number', description: 'number of object frames', default: D.frames },
    cadence: { type: 'number', description: 'seconds between object frame starts', default: D.cadence },
    exptime: { type: 'number', description: 'object exposure, s', default: D.exptime },
    start: { type: 'number', description: 'first object frame start, s after T0', default: D.startDelay },
    t0: { type: 'string', description: 'burst T0, ISO UTC', default: D.t0 },
    ra: { type: 'number', description: 'alert RA, deg', default: D.ra },
    dec: { type: 'number', description: 'alert Dec, deg', default: D.dec },
    'error-radius': { type: 'number', description: 'alert Error2Radius, deg', default: D.errorRadius },
    'burst-id': { type: 'string', description: 'SVOM Burst_Id (default sbYYMMDD01 from T0)' },
    'afterglow-index': { type: 'number', description: 'afterglow decay index alpha (F ~ t^-alpha)', default: D.afterglowIndex },
    'afterglow-mag': { type: 'number', description: 'afterglow magnitude at --afterglow-tref after T0', default: D.afterglowMag },
    'afterglow-tref': { type: 'number', description: 'reference time of --afterglow-mag, s after T0', default: D.afterglowTref },
    'afterglow-offset': { type: 'number', description: 'max distance of the afterglow from the alert position, arcsec', default: DEFAULT_FIELD.afterglowOffsetMax },
    filter: { type: 'string', description: 'filter name (FILTER keyword)', default: D.filter },
    'zero-point': { type: 'number', description: 'magnitude giving 1 e-/s', default: D.zeroPoint },
    sky: { type: 'number', description: 'sky surface brightness, mag/arcsec^2', default: D.skyMag },
    'seeing-min': { type: 'number', description: 'best seeing FWHM, arcsec', default: D.seeingMin },
    'seeing-max': { type: 'number', description: 'worst seeing FWHM, arcsec', default: D.seeingMax },
    'star-density': { type: 'number', description: 'field stars per deg^2 between mag 10 and 21', default: DEFAULT_FIELD.starDensity },
    'catalog-limit': { type: 'number', description: 'reference catalog completeness limit, mag', default: DEFAULT_FIELD.catalogLimit },
    'min-catalog-stars': { type: 'number', description: 'a chip with fewer catalog stars on average gets a denser field (up to 4x --star-density; 0 = never)', default: DEFAULT_FIELD.minCatalogStars },
    'pointing-offset': { type: 'number', description: 'max pointing offset of the night, arcmin', default: DEFAULT_FIELD.pointingOffsetMax },
    'cosmic-rate': { type: 'number', description: 'cosmic rays per s per megapixel', default: D.cosmicRate },
    bias: { type: 'number', description: 'number of bias frames', default: D.biasCount },
    darks: { type: 'number', description: 'number of dark frames', default: D.darkCount },
    flats: { type: 'number', description: 'number of usable flats (+1 saturated, +1 under-level)', default: D.flatCount },
    'calib-start': { type: 'string', description: 'start of the calibration sequence, ISO UTC (default T0 - 7h50m)' },
    compress: { type: 'boolean', description: 'write object frames as RICE-compressed .fits.fz', default: false },
    force: { type: 'boolean', description: 'replace raw frames of another night in DIR/raw', default: false },
    quiet: { type: 'boolean', description: 'no progress lines', default: false },
  },
};

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const top = `usage: gft simulate night --out DIR [--seed N] [options]\n\nsubcommands:\n  night      ${summary}\n\nRun \`gft simulate night --help\` for the options.`;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return printUsage(top, !!sub);
  if (sub !== 'night') throw unknownSubcommand(sub, ['night'], top);
  const p = parseArgs(rest, spec);
  if (p.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const o = p.options as Record<string, string | number | boolean | undefined>;
  if (typeof o.out !== 'string' || !o.out) throw new UsageError('--out DIR is required');
  const side = String(o['overscan-side']);
  if (side !== 'left' && side !== 'right') throw new UsageError(`--overscan-side must be left or right, got '${side}'`);
  const num = (k: string) => o[k] as number;
  const { simulateNight } = await import('./core/simulate/write.ts');
  const out = resolve(String(o.out));
  const quiet = o.quiet === true;
  const started = performance.now();
  let last = 0;
  try {
    const manifest = await simulateNight({
      out,
      seed: num('seed'),
      t0: String(o.t0),
      ra: num('ra'),
      dec: num('dec'),
      errorRadius: num('error-radius'),
      burstId: typeof o['burst-id'] === 'string' ? o['burst-id'] : undefined,
      camera: { width: num('width'), height: num('height'), overscan: num('overscan'), overscanSide: side, binning: num('binning') },
      field: {
        ...(o['pixel-scale'] !== undefined ? { pixelScale: num('pixel-scale') } : {}),
        starDensity: num('star-density'),
        catalogLimit: num('catalog-limit'),
        minCatalogStars: num('min-catalog-stars'),
        pointingOffsetMax: num('pointing-offset'),
        pointingOffsetMin: Math.min(DEFAULT_FIELD.pointingOffsetMin, num('pointing-offset')),
        afterglowOffsetMax: num('afterglow-offset'),
      },
      filter: String(o.filter),
      zeroPoint: num('zero-point'),
      skyMag: num('sky'),
      seeingMin: num('seeing-min'),
      seeingMax: num('seeing-max'),
      cosmicRate: num('cosmic-rate'),
      frames: num('frames'),
      cadence: num('cadence'),
      exptime: num('exptime'),
      startDelay: num('start'),
      afterglowIndex: num('afterglow-index'),
      afterglowMag: num('afterglow-mag'),
      afterglowTref: num('afterglow-tref'),
      biasCount: num('bias'),
      darkCount: num('darks'),
      flatCount: num('flats'),
      calibStart: typeof o['calib-start'] === 'string' ? o['calib-start'] : undefined,
      compress: o.compress === true,
      force: o.force === true,
      onProgress: (e) => {
        if (quiet || e.phase === 'files') return;
        if (e.done - last >= 10 || e.done === e.total) {
          last = e.done;
          process.stderr.write(`simulate: ${e.done}/${e.total} frames (${e.phase}, ${e.name}) ${(e.elapsedMs / 1000).toFixed(1)} s\n`);
        }
      },
    });
    const secs = (performance.now() - started) / 1000;
    const c = manifest.counts;
    const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
    if (!quiet) process.stderr.write(`simulate: done in ${secs.toFixed(1)} s\n`);
    console.log(
      `${out}: ${c.bias} bias, ${c.dark} dark, ${c.flat} flat (${c.usableFlats} usable), ${c.object} object frames; ` +
        `burst ${manifest.burstId} T0 ${manifest.t0}; ${(bytes / 1e6).toFixed(1)} MB`,
    );
    return 0;
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}
