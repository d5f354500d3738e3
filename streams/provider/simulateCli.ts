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
    'seeing-frames': { type: 'string', placeholder: 'LIST', description: 'seeing FWHM of each object frame, arcsec, comma-separated (the last for later frames); replaces the smooth curve of --seeing-min/--seeing-max' },
    'star-density': { type: 'number', description: 'field stars per deg^2 between mag 10 and 21', default: DEFAULT_FIELD.starDensity },
    crowding: { type: 'number', description: 'multiplies --star-density (5: a crowded field)', default: 1 },
    'star-near-afterglow': { type: 'string', multiple: true, placeholder: 'EAST,NORTH,MAG', description: 'a star at this offset from the afterglow (arcsec east, north) and magnitude, e.g. 6,0,11 (a saturated neighbour); repeatable' },
    'blend-pairs': { type: 'number', description: 'close pairs of faint stars within 150" of the alert position (blends that fall between their catalog positions)', default: 0 },
    'blend-sep': { type: 'string', placeholder: 'MIN,MAX', description: 'separation range of the --blend-pairs, arcsec', default: '2,3.2' },
    'blend-mag': { type: 'string', placeholder: 'MIN,MAX', description: 'magnitude range of the --blend-pairs stars', default: '17.8,18.6' },
    'catalog-limit': { type: 'number', description: 'reference catalog completeness limit, mag', default: DEFAULT_FIELD.catalogLimit },
    'min-catalog-stars': { type: 'number', description: 'a chip with fewer catalog stars on average gets a denser field (up to 4x --star-density; 0 = never)', default: DEFAULT_FIELD.minCatalogStars },
    'pointing-offset': { type: 'number', description: 'max pointing offset of the night, arcmin', default: DEFAULT_FIELD.pointingOffsetMax },
    'cosmic-rate': { type: 'number', description: 'cosmic rays per s per megapixel', default: D.cosmicRate },
    bias: { type: 'number', description: 'number of bias frames', default: D.biasCount },
    darks: { type: 'number', description: 'number of dark frames', default: D.darkCount },
    flats: { type: 'number', description: 'number of usable flats (+1 saturated, +1 under-level)', default: D.flatCount },
    'flat-levels': { type: 'string', placeholder: 'FIRST,LAST', description: 'levels of the first and last of the --flats, ADU above bias (flats outside 2000..7000 are unusable: 1800,900 makes a night whose flats all fail)', default: '6200,2800' },
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
  /** A comma-separated list of numbers (`n` of them when given), or a usage error naming the option. */
  const list = (k: string, n?: number): number[] => {
    const v = String(o[k]).split(',').map((x) => Number(x.trim()));
    if (!v.length || v.some((x) => !Number.isFinite(x)) || (n !== undefined && v.length !== n)) throw new UsageError(`--${k}: '${o[k]}' is not ${n === undefined ? 'a list of numbers' : `${n} comma-separated numbers`}`);
    return v;
  };
  const near = (p.options['star-near-afterglow'] as string[]).map((x) => {
    const v = x.split(',').map((y) => Number(y.trim()));
    if (v.length !== 3 || v.some((y) => !Number.isFinite(y))) throw new UsageError(`--star-near-afterglow: '${x}' is not EAST,NORTH,MAG (arcsec, arcsec, mag)`);
    return { east: v[0], north: v[1], mag: v[2] };
  });
  if (!(num('crowding') > 0)) throw new UsageError(`--crowding must be > 0, got ${o.crowding}`);
  const pairs = num('blend-pairs');
  if (!(Number.isInteger(pairs) && pairs >= 0)) throw new UsageError(`--blend-pairs must be a non-negative integer, got ${o['blend-pairs']}`);
  const flatLevels = list('flat-levels', 2) as [number, number];
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
        starDensity: num('star-density') * num('crowding'),
        ...(near.length ? { starsNearAfterglow: near } : {}),
        ...(pairs > 0 ? { blendPairs: { count: pairs, sepArcsec: list('blend-sep', 2) as [number, number], mag: list('blend-mag', 2) as [number, number] } } : {}),
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
      ...(typeof o['seeing-frames'] === 'string' ? { seeingFrames: list('seeing-frames') } : {}),
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
      ...(flatLevels[0] !== 6200 || flatLevels[1] !== 2800 ? { flatLevels } : {}),
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
