/**
 * Mutation fuzz of the FITS reader: every malformed file gives a FitsError with a code and a reason,
 * never a RangeError, TypeError or any other exception (issue 16: `GCOUNT ≤ 0` and a huge `ZNAXIS2`
 * raised raw RangeErrors, and `gft fits info` printed a Node stack trace).
 *
 * Base files: what our writer produces (plain images of every BITPIX with BZERO/BSCALE/BLANK, a cube,
 * an image in an extension behind a header-only primary, RICE_1 tile-compressed images, binary tables),
 * a hand-made ASCII TABLE and a GZIP_1 tile-compressed image, plus the real files of
 * ../shared/data/fits when present. Mutations (seeded, deterministic): the value of a structural or
 * numeric keyword replaced by a hostile one (0, −1, 2^31, 10^30, 'abc', T, 1.5, empty, …), cards deleted,
 * duplicated or swapped, bytes flipped in headers and data, truncation, blocks added or removed. Every
 * mutant goes through everything a reader of ours does with a file: readHeaders, readImage on every
 * HDU, readTable on every table, verifyChecksums, observationDate, and `gft fits info`'s fileInfo.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FitsError } from './errors.ts';
import { BLOCK, CARD, formatHeader, type FitsCard } from './header.ts';
import { readHeaders, readImage, readTable, verifyChecksums } from './read.ts';
import { writeFits } from './write.ts';
import { observationDate, observationHeader } from './observation.ts';
import { fileInfo } from './cli.ts';
import { repoRoot } from '../config/platform.ts';

/** mulberry32: a small seeded PRNG, so every run mutates the same way. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cards: FitsCard[] = [
  { key: 'DATE-OBS', value: '2026-01-01T00:10:00.5' },
  { key: 'EXPTIME', value: 30 },
  { key: 'IMAGETYP', value: 'object' },
  { key: 'GAIN', value: 6.2 },
];

function baseFiles(): Record<string, Buffer> {
  const w = 24;
  const h = 16;
  const ramp = (n: number, k = 1) => Float64Array.from({ length: n }, (_, i) => ((i * 37) % 1000) * k);
  const withNaN = ramp(w * h);
  withNaN[5] = NaN;
  const out: Record<string, Buffer> = {
    'u16-bzero': writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: w, height: h, data: ramp(w * h, 60), cards }]),
    'i16-bscale-blank': writeFits([{ kind: 'image', bitpix: 16, bzero: 10, bscale: 0.5, width: w, height: h, data: withNaN, cards }]),
    'u8': writeFits([{ kind: 'image', bitpix: 8, width: w, height: h, data: ramp(w * h, 0.25) }]),
    'i32-blank': writeFits([{ kind: 'image', bitpix: 32, width: w, height: h, data: withNaN, cards }]),
    'f32': writeFits([{ kind: 'image', bitpix: -32, width: w, height: h, data: ramp(w * h, 0.1), cards }]),
    'f64': writeFits([{ kind: 'image', bitpix: -64, width: w, height: h, data: ramp(w * h, 0.1) }]),
    'cube': writeFits([{ kind: 'image', bitpix: 16, width: w, height: h, shape: [w, h, 2], data: ramp(w * h * 2) }]),
    'empty-primary+ext': writeFits([{ kind: 'empty', cards }, { kind: 'image', bitpix: 16, bzero: 32768, width: w, height: h, data: ramp(w * h, 30), extname: 'SCI' }]),
    'rice-u16': writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: w, height: h, data: ramp(w * h, 60), cards }], { compress: 'rice' }),
    'rice-i32+table': writeFits(
      [
        { kind: 'image', bitpix: 32, width: w, height: h, data: ramp(w * h, 1000), cards },
        { kind: 'table', extname: 'CAT', columns: [{ name: 'RA', format: 'D', unit: 'deg', values: [1.5, 2.5, 3.5] }, { name: 'ID', format: 'J', values: [1, 2, 3] }] },
      ],
      { compress: 'rice' },
    ),
    'bintable': writeFits([
      {
        kind: 'table',
        extname: 'CATALOG',
        columns: [
          { name: 'X', format: 'E', values: [1, 2, 3, 4] },
          { name: 'N', format: 'K', values: [1, 2, 3, 4] },
          { name: 'S', format: 'I', values: [1, 2, 3, 4] },
          { name: 'OK', format: 'L', values: [true, false, true, false] },
          { name: 'NAME', format: '8A', values: ['a', 'bb', 'ccc', 'dddd'] },
        ],
      },
    ]),
    'ascii-table': asciiTable(),
    'gzip1': gzipTileImage(w, h),
  };
  const shared = join(repoRoot, '..', 'shared', 'data', 'fits');
  if (existsSync(shared)) {
    for (const f of ['astropy_comp.fits', 'astropy_test0.fits']) if (existsSync(join(shared, f))) out[`shared:${f}`] = readFileSync(join(shared, f));
  }
  return out;
}

function pad(b: Buffer): Buffer {
  const n = Math.ceil(b.length / BLOCK) * BLOCK;
  return Buffer.concat([b, Buffer.alloc(n - b.length, 0x20)]);
}

/** An empty primary + an ASCII TABLE (FITS 4.0 §7.2), written by hand: our writer only writes BINTABLEs. */
function asciiTable(): Buffer {
  const rows = ['     1.250       7', '    -2.500      -3', '     3.750      42'].map((r) => r.padEnd(20));
  const head = formatHeader([
    { key: 'XTENSION', value: 'TABLE' }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 2 }, { key: 'NAXIS1', value: 20 }, { key: 'NAXIS2', value: 3 },
    { key: 'PCOUNT', value: 0 }, { key: 'GCOUNT', value: 1 }, { key: 'TFIELDS', value: 2 },
    { key: 'TTYPE1', value: 'X' }, { key: 'TBCOL1', value: 1 }, { key: 'TFORM1', value: 'F10.3' },
    { key: 'TTYPE2', value: 'N' }, { key: 'TBCOL2', value: 11 }, { key: 'TFORM2', value: 'I8' },
    { key: 'EXTNAME', value: 'ASCII' },
  ]);
  return Buffer.concat([formatHeader([{ key: 'SIMPLE', value: true }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 0 }, { key: 'EXTEND', value: true }]), head, pad(Buffer.from(rows.join(''), 'latin1'))]);
}

/** A GZIP_1 tile-compressed 16-bit image, one tile per row, 'P' descriptors into the heap (by hand). */
function gzipTileImage(w: number, h: number): Buffer {
  const tiles: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(w * 2);
    for (let x = 0; x < w; x++) row.writeInt16BE((x * 7 + y * 3) % 500, x * 2);
    tiles.push(gzipSync(row));
  }
  const table = Buffer.alloc(h * 8);
  let off = 0;
  tiles.forEach((t, i) => {
    table.writeInt32BE(t.length, i * 8);
    table.writeInt32BE(off, i * 8 + 4);
    off += t.length;
  });
  const heap = Buffer.concat(tiles);
  const head = formatHeader([
    { key: 'XTENSION', value: 'BINTABLE' }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 2 }, { key: 'NAXIS1', value: 8 }, { key: 'NAXIS2', value: h },
    { key: 'PCOUNT', value: heap.length }, { key: 'GCOUNT', value: 1 }, { key: 'TFIELDS', value: 1 },
    { key: 'TTYPE1', value: 'COMPRESSED_DATA' }, { key: 'TFORM1', value: `1PB(${Math.max(...tiles.map((t) => t.length))})` },
    { key: 'ZIMAGE', value: true }, { key: 'ZCMPTYPE', value: 'GZIP_1' }, { key: 'ZBITPIX', value: 16 }, { key: 'ZNAXIS', value: 2 },
    { key: 'ZNAXIS1', value: w }, { key: 'ZNAXIS2', value: h }, { key: 'ZTILE1', value: w }, { key: 'ZTILE2', value: 1 },
    { key: 'BZERO', value: 100 }, { key: 'BSCALE', value: 2 }, { key: 'EXTNAME', value: 'GZ' },
  ]);
  return Buffer.concat([formatHeader([{ key: 'SIMPLE', value: true }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 0 }, { key: 'EXTEND', value: true }]), head, pad(Buffer.concat([table, heap]))]);
}

// --- mutations

const STRUCTURAL = /^(BITPIX|NAXIS\d*|PCOUNT|GCOUNT|EXTEND|GROUPS|XTENSION|SIMPLE|BZERO|BSCALE|BLANK|TFIELDS|TFORM\d+|TBCOL\d+|TSCAL\d+|TZERO\d+|TNULL\d+|TDIM\d+|THEAP|TTYPE\d+|Z[A-Z]+\d*|EXTNAME|INHERIT|DATE-OBS|EXPTIME)$/;
const HOSTILE = [
  '0', '-1', '-2', '1', '2', '3', '7', '-2147483648', '2147483647', '4294967296', '999999999999', '9007199254740993', '1E30', '-1E30', '1D400', '-0',
  '1.5', '0.0', "'abc'", "''", "'  '", 'T', 'F', '', "'RICE_1'", "'GZIP_2'", "'HCOMPRESS_1'", "'1PB(999999999)'", "'1QJ(3)'", "'999999999J'", "'0J'",
  "'2147483647A'", "'1PJ'", "'E'", "'I12'", "'F1000000000.3'", "'[1:2,3:4]'", "'(1,2)'", "'BINTABLE'", "'IMAGE'", "'TABLE'", "'NOSUCH'",
];

function cardOffsets(buf: Buffer): number[] {
  // The card starts of every header: scan block by block for cards until END, then skip the data unit
  // as the reader would. Approximation is fine: mutating "wrong" places is fuzzing too.
  const out: number[] = [];
  for (let at = 0; at + CARD <= buf.length; at += CARD) {
    const kw = buf.toString('latin1', at, at + 8);
    if (/^[A-Z0-9_-]+ *$/.test(kw) && buf[at + 8] === 0x3d) out.push(at);
  }
  return out;
}

function setValue(buf: Buffer, at: number, text: string): void {
  const kw = buf.toString('latin1', at, at + 8);
  const card = `${kw}= ${text.padStart(text.startsWith("'") ? 0 : 20)}`.padEnd(CARD).slice(0, CARD);
  buf.write(card, at, 'latin1');
}

function mutate(base: Buffer, r: () => number): { buf: Buffer; what: string } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  let buf = Buffer.from(base);
  const offs = cardOffsets(buf);
  const structural = offs.filter((o) => STRUCTURAL.test(buf.toString('latin1', o, o + 8).trim()));
  const op = r();
  if (op < 0.45 && structural.length) {
    const at = pick(structural);
    const v = pick(HOSTILE);
    const key = buf.toString('latin1', at, at + 8).trim();
    setValue(buf, at, v);
    return { buf, what: `${key} = ${v}` };
  }
  if (op < 0.55 && offs.length) {
    const at = pick(offs);
    const key = buf.toString('latin1', at, at + 8).trim();
    buf.write(' '.repeat(CARD), at, 'latin1');
    return { buf, what: `delete ${key}` };
  }
  if (op < 0.62 && offs.length > 1) {
    const a = pick(offs);
    const b = pick(offs);
    const ca = Buffer.from(buf.subarray(a, a + CARD));
    buf.copy(buf, a, b, b + CARD);
    ca.copy(buf, b);
    return { buf, what: `swap cards at ${a} and ${b}` };
  }
  if (op < 0.67 && offs.length > 1) {
    const a = pick(offs);
    const b = pick(offs);
    buf.copy(buf, b, a, a + CARD);
    return { buf, what: `copy card ${a} over ${b}` };
  }
  if (op < 0.8) {
    const n = 1 + Math.floor(r() * 8);
    const flips: number[] = [];
    for (let k = 0; k < n; k++) {
      const at = Math.floor(r() * buf.length);
      buf[at] = Math.floor(r() * 256);
      flips.push(at);
    }
    return { buf, what: `bytes changed at ${flips.join(',')}` };
  }
  if (op < 0.9) {
    const n = Math.floor(r() * buf.length);
    return { buf: buf.subarray(0, n), what: `truncated to ${n}` };
  }
  if (op < 0.95) {
    const at = Math.floor(r() * (buf.length / BLOCK)) * BLOCK;
    buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + BLOCK)]);
    return { buf, what: `block at ${at} removed` };
  }
  const at = Math.floor(r() * (buf.length / BLOCK + 1)) * BLOCK;
  const block = r() < 0.5 ? Buffer.alloc(BLOCK, 0x20) : Buffer.from(buf.subarray(0, BLOCK));
  buf = Buffer.concat([buf.subarray(0, at), block, buf.subarray(at)]);
  return { buf, what: `block inserted at ${at}` };
}

/** Flips, zeroes or overwrites bytes in the data units only (tile descriptors, compressed heaps, pixels). */
function mutateData(base: Buffer, r: () => number): { buf: Buffer; what: string } {
  const buf = Buffer.from(base);
  // the data starts after the last END card's block in these small files
  let dataStart = 0;
  for (let at = 0; at + CARD <= buf.length; at += CARD) if (buf.toString('latin1', at, at + 8) === 'END     ') dataStart = Math.ceil((at + CARD) / BLOCK) * BLOCK;
  const n = 1 + Math.floor(r() * 6);
  const hits: string[] = [];
  for (let k = 0; k < n; k++) {
    const at = dataStart + Math.floor(r() * (buf.length - dataStart));
    const v = r() < 0.3 ? 0 : r() < 0.5 ? 0xff : Math.floor(r() * 256);
    buf[at] = v;
    hits.push(`${at}=${v}`);
  }
  return { buf, what: `data bytes ${hits.join(',')}` };
}

/** Everything our readers do with a file; returns the error it ended with (or null). */
async function readAll(path: string): Promise<unknown> {
  try {
    const hdus = readHeaders(path);
    for (const h of hdus) {
      if ((h.type === 'image' && h.dataBytes > 0) || h.type === 'compressed-image') readImage(path, h.index);
      if (h.type === 'bintable' || h.type === 'table' || h.type === 'compressed-image') readTable(path, h.index);
    }
    verifyChecksums(path);
    const img = hdus.find((h) => (h.type === 'image' && h.dataBytes > 0) || h.type === 'compressed-image');
    if (img) observationDate(observationHeader(hdus, img));
    await fileInfo(path, { checksum: true });
    return null;
  } catch (e) {
    return e;
  }
}

const SEED = 16;
const MUTANTS = 2_400;
const DATA_MUTANTS = 800;

describe('FITS reader: seeded mutation fuzz', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gft-fits-fuzz-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the base files read cleanly', async () => {
    for (const [name, buf] of Object.entries(baseFiles())) {
      const p = join(dir, `base-${name.replace(/[^a-z0-9.-]/gi, '_')}.fits`);
      writeFileSync(p, buf);
      expect(await readAll(p), name).toBeNull();
    }
  });

  it(`${MUTANTS} mutated files: each reads, or fails with a FitsError that has a code and a reason`, async () => {
    const bases = Object.entries(baseFiles());
    const r = rng(SEED);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let ok = 0;
    for (let i = 0; i < MUTANTS; i++) {
      const [name, base] = bases[i % bases.length];
      const { buf, what } = mutate(base, r);
      const p = join(dir, `m${i}.fits`);
      writeFileSync(p, buf);
      const err = await readAll(p);
      if (err === null) ok++;
      else if (err instanceof FitsError && err.code && err.message.trim().length > 10) codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      else failures.push(`#${i} ${name} (${what}): ${err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err)}`);
    }
    for (const f of readdirSync(dir)) if (f.startsWith('m')) rmSync(join(dir, f));
    console.log(`FITS fuzz: ${MUTANTS} mutants, ${ok} read, errors by code: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}; ${failures.length} not a FitsError`);
    expect(failures.slice(0, 30)).toEqual([]);
    // the mutations do reach the error paths (a fuzz that never fails tests nothing)
    expect(codes.size).toBeGreaterThanOrEqual(5);
  });

  it(`${DATA_MUTANTS} files with damaged data units (compressed tiles, descriptors, pixels): a FitsError or pixels, nothing else`, async () => {
    const bases = Object.entries(baseFiles()).filter(([n]) => /rice|gzip|comp|bintable|ascii|blank/.test(n));
    const r = rng(SEED + 1);
    const failures: string[] = [];
    let corrupt = 0;
    for (let i = 0; i < DATA_MUTANTS; i++) {
      const [name, base] = bases[i % bases.length];
      const { buf, what } = mutateData(base, r);
      const p = join(dir, `d${i}.fits`);
      writeFileSync(p, buf);
      const err = await readAll(p);
      rmSync(p);
      if (err instanceof FitsError && err.message.trim().length > 10) corrupt++;
      else if (err !== null) failures.push(`#${i} ${name} (${what}): ${err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err)}`);
    }
    console.log(`FITS data fuzz: ${DATA_MUTANTS} mutants, ${corrupt} refused with a FitsError, the rest decoded`);
    expect(failures.slice(0, 30)).toEqual([]);
    expect(corrupt).toBeGreaterThan(DATA_MUTANTS / 10);
  });
});
