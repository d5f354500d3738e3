/**
 * `npx gft fits <info|verify|header> FILE …`
 *   info     JSON per HDU: type, shape, BITPIX, key header values, data statistics of the scaled values;
 *            per file: the observation time of its first image (lib/fits/observation.ts), or why there is none
 *   verify   CHECKSUM/DATASUM status per HDU (exit 1 if any is bad)
 *   header   the header cards of one HDU as FITS text
 */
import { stat } from 'node:fs/promises';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from '../cli/args.ts';
import { FitsError } from './errors.ts';
import type { HduInfo } from './hdus.ts';
import { readHeaders, readImage, readTable, verifyChecksums } from './read.ts';
import { observationDate, observationHeader } from './observation.ts';
import { imageStats } from './stats.ts';

export const summary = 'inspect FITS files: info (JSON summary with statistics), verify (checksums), header';

const KEYS = [
  'EXTNAME',
  'OBJECT',
  'DATE-OBS',
  'TIME-OBS',
  'UT',
  'EXPTIME',
  'EXPOSURE',
  'FILTER',
  'FILTA',
  'FILTER1',
  'FILTNAME',
  'IMAGETYP',
  'OBSTYPE',
  'INSTRUME',
  'TELESCOP',
  'BINNING',
  'GAIN',
  'RDNOISE',
  'SATURATE',
  'BUNIT',
  'BZERO',
  'BSCALE',
  'BLANK',
  'ZCMPTYPE',
];

const specs: Record<string, CommandSpec> = {
  info: {
    usage: 'npx gft fits info FILE [FILE…] [options]',
    description: 'Prints a JSON summary of every HDU: type, shape, BITPIX, key header values and statistics (min, max, mean, median, std) of the scaled image values; and the observation time of the first image (DATE-OBS, or a date + TIME-OBS/UT, primary keywords included), or why there is none.',
    options: {
      'headers-only': { type: 'boolean', description: 'read header blocks only: no data, no statistics' },
      keys: { type: 'string', description: 'extra header keywords to show, comma-separated' },
      checksum: { type: 'boolean', description: 'also verify CHECKSUM/DATASUM of every HDU' },
    },
  },
  verify: {
    usage: 'npx gft fits verify FILE [FILE…]',
    description: 'Checks CHECKSUM and DATASUM of every HDU; exits 1 if any is bad.',
    options: {},
  },
  header: {
    usage: 'npx gft fits header FILE [--hdu N|EXTNAME]',
    description: 'Prints the header cards of one HDU.',
    options: { hdu: { type: 'string', description: 'HDU index or EXTNAME', default: '0' } },
  },
};

const topHelp = [
  'usage: npx gft fits <info|verify|header> FILE … [options]',
  '',
  ...Object.entries(specs).map(([k, s]) => `  ${k.padEnd(8)} ${s.description}`),
  '',
  'Run `npx gft fits <subcommand> --help` for its options.',
].join('\n');

function hduSelector(s: string): number | string {
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** The `info` summary of one file, as printed. */
export async function fileInfo(path: string, opts: { headersOnly?: boolean; keys?: string[]; checksum?: boolean } = {}): Promise<Record<string, unknown>> {
  const hdus = readHeaders(path);
  const size = (await stat(path)).size;
  const keys = [...KEYS, ...(opts.keys ?? [])];
  const sums = opts.checksum ? verifyChecksums(path) : undefined;
  const out = hdus.map((h: HduInfo) => {
    const o: Record<string, unknown> = { index: h.index, type: h.type };
    if (h.extname !== undefined) o.extname = h.extname;
    o.bitpix = h.bitpix;
    o.shape = h.shape;
    o.cards = h.header.cards.length;
    const values: Record<string, unknown> = {};
    for (const k of keys) {
      const v = h.header.get(k);
      if (v !== undefined) values[k] = v;
    }
    o.keys = values;
    if (sums) o.checksum = { datasum: sums[h.index].datasum, checksum: sums[h.index].checksum };
    if (!opts.headersOnly) {
      if (h.type === 'image' || h.type === 'compressed-image') {
        const img = readImage(path, h.index);
        const s = imageStats(img.data);
        o.stats = { min: s.min, max: s.max, mean: s.mean, median: s.median, std: s.std, finite: s.count, pixels: img.data.length };
      } else if (h.type === 'bintable' || h.type === 'table') {
        const t = readTable(path, h.index);
        o.rows = t.rows;
        o.columns = Object.keys(t.columns);
      }
    }
    return o;
  });
  // The frame's observation time as the chain reads it: first image HDU, keywords completed by the primary header.
  const img = hdus.find((h) => (h.type === 'image' && h.dataBytes > 0) || h.type === 'compressed-image');
  if (!img) return { file: path, bytes: size, hdus: out };
  const d = observationDate(observationHeader(hdus, img));
  const observation = d.ok ? { hdu: img.index, dateObs: d.iso, from: d.source } : { hdu: img.index, dateObs: null, why: d.reason };
  return { file: path, bytes: size, observation, hdus: out };
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(topHelp);
    return sub ? 0 : 2;
  }
  const spec = specs[sub];
  if (!spec) throw new UsageError(`unknown subcommand '${sub}'\n\n${topHelp}`);
  const p = parseArgs(rest, spec);
  if (p.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  if (p.positionals.length === 0) throw new UsageError(`a FITS file is needed\n\n${formatHelp(spec)}`);
  try {
    if (sub === 'info') {
      const keys = typeof p.options.keys === 'string' ? p.options.keys.split(',').map((s) => s.trim()).filter(Boolean) : [];
      const results = [];
      for (const f of p.positionals) {
        results.push(await fileInfo(f, { headersOnly: p.options['headers-only'] === true, keys, checksum: p.options.checksum === true }));
      }
      console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      return 0;
    }
    if (sub === 'verify') {
      let bad = false;
      const results = p.positionals.map((f) => {
        const r = verifyChecksums(f);
        if (r.some((x) => x.datasum === 'bad' || x.checksum === 'bad')) bad = true;
        return { file: f, hdus: r };
      });
      console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      return bad ? 1 : 0;
    }
    const hdus = readHeaders(p.positionals[0]);
    const which = hduSelector(String(p.options.hdu ?? '0'));
    const h = typeof which === 'number' ? hdus[which] : hdus.find((x) => x.extname?.toUpperCase() === which.toUpperCase());
    if (!h) throw new FitsError('NO_SUCH_HDU', `${p.positionals[0]}: no HDU ${which}`);
    console.log(h.header.toString());
    return 0;
  } catch (err) {
    if (err instanceof FitsError) {
      console.error(`gft fits: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
