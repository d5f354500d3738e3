/**
 * `npx gft fits <info|verify|header> FILE …`
 *   info     per HDU: type, shape, BITPIX, key header values, data statistics of the scaled values; per
 *            file: the observation time of its first image (lib/fits/observation.ts), or why there is none.
 *            On a terminal a table like astropy's `fitsinfo`; with `--json` (or when stdout is not a
 *            terminal) one JSON object per file and per line, always the same shape.
 *   verify   CHECKSUM/DATASUM status per HDU (exit 1 if any is bad); a table or JSON lines, the same way
 *   header   the header cards of one HDU as FITS text
 * A file that cannot be read is reported (stderr; its JSON line carries `error`) and the others go on;
 * the exit status is then 1.
 */
import { stat } from 'node:fs/promises';
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../cli/args.ts';
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
    description: 'Describes every HDU: type, shape, BITPIX, key header values and statistics (min, max, mean, median, std) of the scaled image values; and the observation time of the first image (DATE-OBS, or a date + TIME-OBS/UT, primary keywords included), or why there is none. On a terminal a table like astropy\'s fitsinfo; otherwise (or with --json) one JSON object per file and per line: {file, bytes, observation, hdus, error}.',
    options: {
      'headers-only': { type: 'boolean', description: 'read header blocks only: no data, no statistics' },
      keys: { type: 'string', description: 'extra header keywords to show, comma-separated', placeholder: 'K1,K2' },
      checksum: { type: 'boolean', description: 'also verify CHECKSUM/DATASUM of every HDU' },
      json: { type: 'boolean', description: 'one JSON object per file and per line (the default when stdout is not a terminal)' },
      table: { type: 'boolean', description: 'the table even when stdout is not a terminal' },
    },
  },
  verify: {
    usage: 'npx gft fits verify FILE [FILE…]',
    description: 'Checks CHECKSUM and DATASUM of every HDU; exits 1 if any is bad.',
    options: {
      json: { type: 'boolean', description: 'one JSON object per file and per line (the default when stdout is not a terminal)' },
      table: { type: 'boolean', description: 'the table even when stdout is not a terminal' },
    },
  },
  header: {
    usage: 'npx gft fits header FILE [--hdu N|EXTNAME]',
    description: 'Prints the header cards of one HDU.',
    options: { hdu: { type: 'string', description: 'HDU index or EXTNAME', default: '0', placeholder: 'N|EXTNAME' } },
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
    const extver = h.header.get('EXTVER');
    if (typeof extver === 'number') o.extver = extver;
    if (h.type === 'bintable' || h.type === 'table' || h.type === 'compressed-image') {
      const n = h.header.getNumber('TFIELDS') ?? 0;
      o.tforms = Array.from({ length: n }, (_, i) => String(h.header.get(`TFORM${i + 1}`) ?? '').trim());
    }
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
  let observation: Record<string, unknown> | null = null;
  if (img) {
    const d = observationDate(observationHeader(hdus, img));
    observation = d.ok ? { hdu: img.index, dateObs: d.iso, from: d.source } : { hdu: img.index, dateObs: null, why: d.reason };
  }
  return { file: path, bytes: size, observation, hdus: out, error: null };
}

// ---------------------------------------------------------------------------------------------
// the table (astropy `fitsinfo` layout: No., Name, Ver, Type, Cards, Dimensions, Format)

const DTYPE: Record<number, string> = { 8: 'uint8', 16: 'int16', 32: 'int32', 64: 'int64', [-32]: 'float32', [-64]: 'float64' };
const TYPE_NAME: Record<string, string> = { image: 'ImageHDU', empty: 'ImageHDU', bintable: 'BinTableHDU', table: 'TableHDU', 'compressed-image': 'CompImageHDU', other: 'ExtensionHDU' };

function imageFormat(bitpix: number, keys: Record<string, unknown>): string {
  const t = DTYPE[bitpix] ?? `BITPIX ${bitpix}`;
  const bz = keys.BZERO;
  const bs = keys.BSCALE;
  if (bitpix === 16 && bz === 32768 && (bs === undefined || bs === 1)) return `${t} (rescales to uint16)`;
  if (bitpix === 32 && bz === 2147483648 && (bs === undefined || bs === 1)) return `${t} (rescales to uint32)`;
  if (bitpix > 0 && ((bz !== undefined && bz !== 0) || (bs !== undefined && bs !== 1))) return `${t} (rescales to float)`;
  return t;
}

interface HduRow { index: number; type: string; extname?: string; bitpix: number; shape: number[]; cards: number; keys: Record<string, unknown>; rows?: number; columns?: string[]; tforms?: string[]; extver?: number; stats?: Record<string, number>; checksum?: { datasum: string; checksum: string } }

/** One file's `info` as the astropy-like table (plus the observation time and the pixel statistics). */
export function infoTable(info: Record<string, unknown>): string {
  const rows = info.hdus as HduRow[];
  const cells = rows.map((h) => {
    const name = h.index === 0 ? 'PRIMARY' : (h.extname ?? (h.type === 'compressed-image' ? 'COMPRESSED_IMAGE' : ''));
    const type = h.index === 0 && h.type !== 'compressed-image' ? 'PrimaryHDU' : TYPE_NAME[h.type] ?? h.type;
    const table = h.type === 'bintable' || h.type === 'table';
    const dims = table ? `${h.shape[1] ?? h.rows ?? 0}R x ${h.tforms?.length ?? h.columns?.length ?? 0}C` : `(${h.shape.join(', ')}${h.shape.length === 1 ? ',' : ''})`;
    const format = table ? `[${(h.tforms ?? []).join(', ')}]` : h.type === 'empty' ? '' : imageFormat(h.bitpix, h.keys);
    return [String(h.index), name, String(h.extver ?? 1), type, String(h.cards), dims, format];
  });
  const head = ['No.', 'Name', 'Ver', 'Type', 'Cards', 'Dimensions', 'Format'];
  const width = head.map((t, c) => Math.max(t.length, ...cells.map((r) => r[c].length)));
  const right = new Set([0, 2, 4]);
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : right.has(c) ? v.padStart(width[c]) : v.padEnd(width[c]))).join('  ').trimEnd();
  const out = [`Filename: ${info.file} (${info.bytes} bytes)`, line(head), ...cells.map(line)];
  const obs = info.observation as { hdu: number; dateObs: string | null; from?: string; why?: string } | null;
  if (obs) out.push(obs.dateObs ? `Observation: ${obs.dateObs} (HDU ${obs.hdu}, from ${obs.from})` : `Observation: none (HDU ${obs.hdu}): ${obs.why}`);
  const withStats = rows.filter((h) => h.stats);
  if (withStats.length) {
    const f = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e6 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(4) : String(Number(x.toPrecision(7)))) : String(x));
    const sh = ['No.', 'min', 'max', 'mean', 'median', 'std', 'finite'];
    const sc = withStats.map((h) => [String(h.index), f(h.stats!.min), f(h.stats!.max), f(h.stats!.mean), f(h.stats!.median), f(h.stats!.std), `${h.stats!.finite}/${h.stats!.pixels}`]);
    const sw = sh.map((t, c) => Math.max(t.length, ...sc.map((r) => r[c].length)));
    out.push('Statistics of the scaled values:', ...[sh, ...sc].map((r) => r.map((v, c) => v.padStart(sw[c])).join('  ')));
  }
  const sums = rows.filter((h) => h.checksum);
  if (sums.length) out.push(`Checksums: ${sums.map((h) => `HDU ${h.index} DATASUM ${h.checksum!.datasum}, CHECKSUM ${h.checksum!.checksum}`).join('; ')}`);
  return out.join('\n');
}

/** `verify` of one file as a table. */
function verifyTable(file: string, hdus: { hdu: number; datasum: string; checksum: string }[]): string {
  return [`Filename: ${file}`, 'No.  DATASUM  CHECKSUM', ...hdus.map((h) => `${String(h.hdu).padStart(3)}  ${h.datasum.padEnd(7)}  ${h.checksum}`)].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return printUsage(topHelp, !!sub);
  const spec = specs[sub];
  if (!spec) throw unknownSubcommand(sub, Object.keys(specs), topHelp);
  const p = parseArgs(rest, spec);
  if (p.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  if (p.positionals.length === 0) throw new UsageError(`a FITS file is needed\n\n${formatHelp(spec)}`);
  if (p.options.json && p.options.table) throw new UsageError('--json and --table exclude each other');
  // a table for people (a terminal, or --table), JSON lines for programs (a pipe, or --json)
  const asTable = p.options.table === true || (p.options.json !== true && process.stdout.isTTY === true);
  const failed = (f: string, err: unknown) => {
    if (!(err instanceof FitsError)) throw err;
    console.error(`gft fits: ${err.code}: ${err.message}`);
    return { code: err.code, message: err.message };
  };
  if (sub === 'info') {
    const keys = typeof p.options.keys === 'string' ? p.options.keys.split(',').map((s) => s.trim()).filter(Boolean) : [];
    let status = 0;
    for (const [i, f] of p.positionals.entries()) {
      let info: Record<string, unknown>;
      try {
        info = await fileInfo(f, { headersOnly: p.options['headers-only'] === true, keys, checksum: p.options.checksum === true });
      } catch (err) {
        info = { file: f, bytes: null, observation: null, hdus: [], error: failed(f, err) };
        status = 1;
        if (asTable) continue;
      }
      console.log(asTable ? `${i > 0 ? '\n' : ''}${infoTable(info)}` : JSON.stringify(info));
    }
    return status;
  }
  if (sub === 'verify') {
    let status = 0;
    for (const f of p.positionals) {
      let line: { file: string; hdus: ReturnType<typeof verifyChecksums>; error: { code: string; message: string } | null };
      try {
        const r = verifyChecksums(f);
        if (r.some((x) => x.datasum === 'bad' || x.checksum === 'bad')) status = 1;
        line = { file: f, hdus: r, error: null };
      } catch (err) {
        line = { file: f, hdus: [], error: failed(f, err) };
        status = 1;
        if (asTable) continue;
      }
      console.log(asTable ? verifyTable(f, line.hdus) : JSON.stringify(line));
    }
    return status;
  }
  try {
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
