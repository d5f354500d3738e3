/** Unit tests of the FITS reader/writer: no external tools needed (astropy cross-checks: astropy.test.ts). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FitsError,
  Header,
  encodeChecksum,
  formatCard,
  imageStats,
  parseCard,
  readHeaders,
  readImage,
  readTable,
  verifyChecksums,
  writeFits,
  writeFitsFile,
  type FitsCard,
  type ImageInput,
} from './index.ts';
import { formatHeader } from './header.ts';
import { riceDecode, riceDecode16, riceEncode } from './rice.ts';
import { fileInfo } from './cli.ts';
import { releaseFitsMemory } from './index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gft-fits-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function headerBytes(lines: string[]): Buffer {
  const text = lines.map((l) => l.padEnd(80)).join('') + 'END'.padEnd(80);
  const buf = Buffer.alloc(Math.ceil(text.length / 2880) * 2880, 0x20);
  buf.write(text, 0, 'latin1');
  return buf;
}

function expectFitsError(fn: () => unknown, code: string): FitsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FitsError);
    expect((err as FitsError).code).toBe(code);
    return err as FitsError;
  }
  throw new Error(`expected a FitsError ${code}`);
}

describe('header cards', () => {
  it('parses values of every kind', () => {
    expect(parseCard("OBJECT  = 'NGC 1316'           / the target")).toEqual({ key: 'OBJECT', value: 'NGC 1316', comment: 'the target' });
    expect(parseCard("QUOTE   = 'it''s / not a comment' / real comment")).toEqual({ key: 'QUOTE', value: "it's / not a comment", comment: 'real comment' });
    expect(parseCard("EMPTY   = ''").value).toBe('');
    expect(parseCard("BLANKS  = '        '").value).toBe('');
    expect(parseCard("LEAD    = '  x '").value).toBe('  x');
    expect(parseCard('SIMPLE  =                    T / conforms').value).toBe(true);
    expect(parseCard('COOLING =                    F').value).toBe(false);
    expect(parseCard('NAXIS1  =                 1024').value).toBe(1024);
    expect(parseCard('NEG     =                  -12 / c').value).toBe(-12);
    expect(parseCard('EXPTIME =                  10. / s').value).toBe(10);
    expect(parseCard('PARKTIME= -9.1191291391491E-36 / x').value).toBe(-9.1191291391491e-36);
    expect(parseCard('DEXP    =             1.5D+03').value).toBe(1500);
    expect(parseCard('DEXP2   =            -2.25d-2').value).toBe(-0.0225);
    expect(parseCard('FREE    = 3.5   / free-format value').value).toBe(3.5);
    expect(parseCard('UNDEF   =                      / undefined value')).toEqual({ key: 'UNDEF', value: null, comment: 'undefined value' });
    expect(parseCard('CPLX    = (1.0, 2.0)').value).toBe('(1.0, 2.0)');
    expect(parseCard('HISTORY Created with RTS2 version 0.9.4').value).toBe('Created with RTS2 version 0.9.4');
    expect(parseCard('COMMENT   FITS (Flexible Image Transport System)').value).toBe('  FITS (Flexible Image Transport System)');
    expect(parseCard("HIERARCH C1.MODE = 'default '  / mode name")).toEqual({ key: 'C1.MODE', value: 'default', comment: 'mode name' });
    expect(parseCard('HIERARCH ESO DET CHIP TEMP = -120.5').value).toBe(-120.5);
    expect(parseCard('NOVALUE  just text').value).toBe(' just text');
  });

  it('merges CONTINUE long strings and keeps the comment', () => {
    const buf = headerBytes([
      'SIMPLE  =                    T',
      'BITPIX  =                    8',
      "LONGSTR = 'This is a very long string value that does not fit on a single c&'",
      "CONTINUE  'ard, so it continues on the next one, and the one af&'",
      "CONTINUE  'ter.'                / the comment",
      "NEXT    = 'x&'",
      'NAXIS   =                    0',
    ]);
    const [h] = readHeaders(buf);
    expect(h.header.get('LONGSTR')).toBe('This is a very long string value that does not fit on a single card, so it continues on the next one, and the one after.');
    expect(h.header.cards.find((c) => c.key === 'LONGSTR')?.comment).toBe('the comment');
    expect(h.header.get('NEXT')).toBe('x&'); // '&' without a CONTINUE stays
  });

  it('formats and re-parses cards (long strings, HIERARCH, reals, undefined)', () => {
    const cards: FitsCard[] = [
      { key: 'OBJECT', value: "GRB 251016A's field", comment: 'target' },
      { key: 'EXPTIME', value: 60.5, comment: 'seconds' },
      { key: 'GAIN', value: 1e-7 },
      { key: 'BIG', value: 1.5e300 },
      { key: 'INTEGER', value: 42 },
      { key: 'FLAG', value: false },
      { key: 'NOTHING', value: null, comment: 'undefined' },
      { key: 'LONG', value: 'x'.repeat(100) + "'" + 'y'.repeat(100), comment: 'long one' },
      { key: 'HIERARCH ESO TEL ALT', value: 45.25, comment: 'deg' },
      { key: 'lower.case', value: 'hier' },
      { key: 'HISTORY', value: 'h'.repeat(150) },
    ];
    const buf = Buffer.concat([formatHeader([{ key: 'SIMPLE', value: true }, { key: 'BITPIX', value: 8 }, { key: 'NAXIS', value: 0 }, ...cards])]);
    expect(buf.length % 2880).toBe(0);
    const h = readHeaders(buf)[0].header;
    expect(h.get('OBJECT')).toBe("GRB 251016A's field");
    expect(h.get('EXPTIME')).toBe(60.5);
    expect(h.get('GAIN')).toBe(1e-7);
    expect(h.get('BIG')).toBe(1.5e300);
    expect(h.get('INTEGER')).toBe(42);
    expect(h.get('FLAG')).toBe(false);
    expect(h.get('NOTHING')).toBe(null);
    expect(h.has('NOTHING')).toBe(true);
    expect(h.get('LONG')).toBe('x'.repeat(100) + "'" + 'y'.repeat(100));
    expect(h.get('ESO TEL ALT')).toBe(45.25);
    expect(h.get('HIERARCH ESO TEL ALT')).toBe(45.25);
    expect(h.get('LOWER.CASE')).toBe('hier');
    expect(h.getAll('HISTORY').join('')).toBe('h'.repeat(150));
    for (const line of formatCard({ key: 'LONG', value: 'z'.repeat(300) })) expect(line.length).toBe(80);
    expect(formatCard({ key: 'EXPTIME', value: 10 })[0]).toBe('EXPTIME =                   10'.padEnd(80));
    expect(formatCard({ key: 'X', value: 2.5e-10 })[0].slice(10, 30).trim()).toBe('2.5E-10');
    expect(formatCard({ key: 'Y', value: 3e25 })[0].slice(10, 30).trim()).toBe('3.0E+25');
  });

  it('refuses what a header cannot hold', () => {
    expectFitsError(() => formatCard({ key: 'BAD', value: NaN }), 'BAD_VALUE');
    expectFitsError(() => formatCard({ key: 'BAD', value: 'caf\u00e9' }), 'BAD_VALUE');
    expectFitsError(() => formatCard({ key: 'HIERARCH ' + 'K'.repeat(80), value: 1 }), 'BAD_VALUE');
  });

  it('Header get/set/has/history', () => {
    const h = new Header([{ key: 'EXPTIME', value: 10, comment: 's' }]);
    expect(h.getNumber('exptime')).toBe(10);
    expect(h.getString('EXPTIME')).toBeUndefined();
    h.set('EXPTIME', 20);
    expect(h.cards[0]).toEqual({ key: 'EXPTIME', value: 20, comment: 's' });
    h.set('FILTER', 'r', 'filter name');
    expect(h.getString('FILTER')).toBe('r');
    h.history('calibrated');
    expect(h.getAll('HISTORY')).toEqual(['calibrated']);
    expect(h.has('NOPE')).toBe(false);
    expect(h.delete('FILTER')).toBe(1);
    expect(h.toObject()).toEqual({ EXPTIME: 20 });
  });

  it('reads a 1200-card header spanning many blocks', () => {
    const cards: FitsCard[] = [];
    for (let i = 0; i < 1200; i++) cards.push({ key: `K${i}`, value: i * 0.5, comment: `card ${i}` });
    const buf = writeFits([{ kind: 'image', bitpix: 16, width: 3, height: 2, data: [1, 2, 3, 4, 5, 6], cards }]);
    const [h] = readHeaders(buf);
    expect(h.header.getNumber('K1199')).toBe(599.5);
    expect(h.dataOffset).toBe(Math.ceil((1209 * 80) / 2880) * 2880);
    expect(Array.from(readImage(buf).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('images: write → read round trip', () => {
  const w = 37;
  const h = 23;
  const r = rng(5);
  const base = Array.from({ length: w * h }, () => Math.round(r() * 5000) - 1000);

  const cases: Array<[string, ImageInput, (v: number) => number]> = [
    ['BITPIX 8', { kind: 'image', bitpix: 8, width: w, height: h, data: base.map((v) => Math.abs(v) % 256) }, (v) => Math.abs(v) % 256],
    ['BITPIX 8 signed via BZERO -128', { kind: 'image', bitpix: 8, width: w, height: h, data: base.map((v) => (v % 128)), bzero: -128 }, (v) => v % 128],
    ['BITPIX 16', { kind: 'image', bitpix: 16, width: w, height: h, data: base }, (v) => v],
    ['BITPIX 16 unsigned (BZERO 32768)', { kind: 'image', bitpix: 16, width: w, height: h, data: base.map((v) => v + 40000), bzero: 32768 }, (v) => v + 40000],
    ['BITPIX 16 BSCALE 0.5', { kind: 'image', bitpix: 16, width: w, height: h, data: base.map((v) => v / 2), bscale: 0.5 }, (v) => v / 2],
    ['BITPIX 32', { kind: 'image', bitpix: 32, width: w, height: h, data: base.map((v) => v * 100000) }, (v) => v * 100000],
    ['BITPIX 32 unsigned', { kind: 'image', bitpix: 32, width: w, height: h, data: base.map((v) => v + 4e9), bzero: 2147483648 }, (v) => v + 4e9],
    ['BITPIX -32', { kind: 'image', bitpix: -32, width: w, height: h, data: base.map((v) => v / 3) }, (v) => Math.fround(v / 3)],
    ['BITPIX -64', { kind: 'image', bitpix: -64, width: w, height: h, data: base.map((v) => v / 3) }, (v) => v / 3],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const buf = writeFits([input]);
      expect(buf.length % 2880).toBe(0);
      const img = readImage(buf);
      expect(img.width).toBe(w);
      expect(img.height).toBe(h);
      expect(img.bitpix).toBe(input.bitpix);
      expect(img.compressed).toBe(false);
      expect(img.data).toBeInstanceOf(input.bitpix === 32 || input.bitpix === -64 ? Float64Array : Float32Array);
      for (let i = 0; i < base.length; i++) if (img.data[i] !== Math.fround(expected(base[i])) && img.data[i] !== expected(base[i])) throw new Error(`pixel ${i}: ${img.data[i]} != ${expected(base[i])}`);
      expect(verifyChecksums(buf)).toEqual([{ hdu: 0, datasum: 'ok', checksum: 'ok' }]);
    });
  }

  it('quantises, clamps, and writes NaN as BLANK', () => {
    const buf = writeFits([{ kind: 'image', bitpix: 16, width: 4, height: 1, data: [1.4, NaN, 1e9, -1e9], bzero: 32768 }]);
    const img = readImage(buf);
    // -1e9 clamps to stored -32768 (physical 0) and 1e9 to 32767: BLANK takes the first free value
    expect(img.header.getNumber('BLANK')).toBe(-32766);
    expect(Array.from(img.data)).toEqual([1, NaN, 65535, 0]);
    const simple = readImage(writeFits([{ kind: 'image', bitpix: 16, width: 2, height: 1, data: [NaN, 5] }]));
    expect(simple.header.getNumber('BLANK')).toBe(-32768);
    expect(Array.from(simple.data)).toEqual([NaN, 5]);
  });

  it('images and tables in one file, selected by index or EXTNAME', () => {
    const buf = writeFits([
      { kind: 'image', bitpix: -32, width: 2, height: 2, data: [1, 2, 3, 4], extname: 'SCI', cards: [{ key: 'OBJECT', value: 'M31' }] },
      { kind: 'image', bitpix: 16, width: 2, height: 2, data: [0, 1, 0, 1], extname: 'MASK' },
      {
        kind: 'table',
        extname: 'CAT',
        columns: [
          { name: 'RA', format: 'D', unit: 'deg', values: [10.5, 11.25] },
          { name: 'MAG', format: 'E', values: [15.5, NaN] },
          { name: 'ID', format: 'J', values: [7, -8] },
          { name: 'BIG', format: 'K', values: [2 ** 40, -3] },
          { name: 'SHORT', format: 'I', values: [-2, 300] },
          { name: 'NAME', format: '12A', values: ["star 'a'", ''] },
          { name: 'GOOD', format: 'L', values: [true, false] },
        ],
        cards: [{ key: 'ORIGIN', value: 'test' }],
      },
    ]);
    const hdus = readHeaders(buf);
    expect(hdus.map((x) => [x.type, x.extname])).toEqual([
      ['image', 'SCI'],
      ['image', 'MASK'],
      ['bintable', 'CAT'],
    ]);
    expect(Array.from(readImage(buf).data)).toEqual([1, 2, 3, 4]);
    expect(readImage(buf).header.get('OBJECT')).toBe('M31');
    expect(Array.from(readImage(buf, 'mask').data)).toEqual([0, 1, 0, 1]);
    expect(readImage(buf, 1).index).toBe(1);
    const t = readTable(buf, 'CAT');
    expect(t.rows).toBe(2);
    expect(Array.from(t.columns.RA as Float64Array)).toEqual([10.5, 11.25]);
    expect(Array.from(t.columns.MAG as Float32Array)).toEqual([15.5, NaN]);
    expect(Array.from(t.columns.ID as Int32Array)).toEqual([7, -8]);
    expect(Array.from(t.columns.BIG as Float64Array)).toEqual([2 ** 40, -3]);
    expect(Array.from(t.columns.SHORT as Int32Array)).toEqual([-2, 300]);
    expect(t.columns.NAME).toEqual(["star 'a'", '']);
    expect(t.columns.GOOD).toEqual([true, false]);
    expect(t.header.get('ORIGIN')).toBe('test');
    expect(verifyChecksums(buf).every((x) => x.checksum === 'ok' && x.datasum === 'ok')).toBe(true);
    expectFitsError(() => readImage(buf, 'CAT'), 'NO_IMAGE');
    expectFitsError(() => readImage(buf, 'NOPE'), 'NO_SUCH_HDU');
    expectFitsError(() => readImage(buf, 7), 'NO_SUCH_HDU');
    expectFitsError(() => readTable(buf, 0), 'NOT_A_TABLE');
  });

  it('reads ASCII tables', () => {
    const primary = headerBytes(['SIMPLE  =                    T', 'BITPIX  =                    8', 'NAXIS   =                    0', 'EXTEND  =                    T']);
    const header = headerBytes([
      "XTENSION= 'TABLE   '",
      'BITPIX  =                    8',
      'NAXIS   =                    2',
      'NAXIS1  =                   25',
      'NAXIS2  =                    2',
      'PCOUNT  =                    0',
      'GCOUNT  =                    1',
      'TFIELDS =                    3',
      "TTYPE1  = 'NAME    '",
      "TFORM1  = 'A8      '",
      'TBCOL1  =                    1',
      "TTYPE2  = 'MAG     '",
      "TFORM2  = 'F10.3   '",
      'TBCOL2  =                    9',
      "TTYPE3  = 'N       '",
      "TFORM3  = 'I6      '",
      'TBCOL3  =                   20',
      "EXTNAME = 'ASC     '",
    ]);
    const row = (name: string, mag: string, n: string) => name.padEnd(8) + mag.padStart(10) + ' ' + n.padStart(6);
    const data = Buffer.alloc(2880, 0x20);
    data.write(row('star a', '15.250', '12') + row('star b', '-1.5D+01', '-3'), 0, 'latin1');
    const t = readTable(Buffer.concat([primary, header, data]), 'ASC');
    expect(t.rows).toBe(2);
    expect(t.columns.NAME).toEqual(['star a', 'star b']);
    expect(Array.from(t.columns.MAG as Float64Array)).toEqual([15.25, -15]);
    expect(Array.from(t.columns.N as Int32Array)).toEqual([12, -3]);
  });

  it('a first table gets an empty primary HDU', () => {
    const buf = writeFits([{ kind: 'table', extname: 'T', columns: [{ name: 'A', format: 'D', values: [1] }] }]);
    const hdus = readHeaders(buf);
    expect(hdus.map((x) => x.type)).toEqual(['empty', 'bintable']);
    expectFitsError(() => readImage(buf), 'NO_IMAGE');
  });

  it('passing a read header back does not duplicate structural keywords', () => {
    const a = writeFits([{ kind: 'image', bitpix: 16, width: 2, height: 2, data: [1, 2, 3, 4], bzero: 32768, cards: [{ key: 'DATE-OBS', value: '2019-10-16T03:00:00' }] }]);
    const img = readImage(a);
    const b = writeFits([{ kind: 'image', bitpix: -32, width: 2, height: 2, data: img.data, cards: img.header.cards, extname: 'CAL' }]);
    const h = readHeaders(b)[0].header;
    expect(h.cards.filter((c) => c.key === 'BITPIX')).toHaveLength(1);
    expect(h.has('BZERO')).toBe(false);
    expect(h.cards.filter((c) => c.key === 'CHECKSUM')).toHaveLength(1);
    expect(h.get('DATE-OBS')).toBe('2019-10-16T03:00:00');
    expect(h.get('EXTNAME')).toBe('CAL');
  });

  it('a header-only primary HDU with keywords, the image in extension 1 (plain and RICE)', () => {
    for (const compress of [undefined, 'rice'] as const) {
      const buf = writeFits([
        { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T03:00:00' }, { key: 'NAXIS', value: 7 }] },
        { kind: 'image', bitpix: 16, bzero: 32768, width: 3, height: 2, data: [1, 2, 3, 4, 5, 65535], cards: [{ key: 'EXPTIME', value: 60 }] },
      ], compress ? { compress } : {});
      const hdus = readHeaders(buf);
      expect(hdus.map((x) => x.type)).toEqual(['empty', compress ? 'compressed-image' : 'image']);
      expect(hdus[0].header.get('DATE-OBS')).toBe('2019-10-16T03:00:00');
      expect(hdus[0].header.get('NAXIS')).toBe(0); // structural keywords in cards are the writer's
      const img = readImage(buf);
      expect(img.index).toBe(1);
      expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 65535]);
      expect(img.header.get('EXPTIME')).toBe(60);
      expect(verifyChecksums(buf).every((x) => x.checksum === 'ok' && x.datasum === 'ok')).toBe(true);
    }
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: 16, width: 1, height: 1, data: [1] }, { kind: 'empty' }]), 'BAD_VALUE');
  });

  it('cubes: NAXIS3 planes one after the other (plain and RICE)', () => {
    const data = Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 3);
    for (const compress of [undefined, 'rice'] as const) {
      const buf = writeFits([{ kind: 'image', bitpix: 16, width: 4, height: 3, shape: [4, 3, 2], data }], compress ? { compress } : {});
      const img = readImage(buf);
      expect(img.shape).toEqual([4, 3, 2]);
      expect([img.width, img.height]).toEqual([4, 3]);
      expect(Array.from(img.data)).toEqual(Array.from(data));
    }
    const one = readHeaders(writeFits([{ kind: 'image', bitpix: -32, width: 4, height: 3, shape: [4, 3, 1], data: data.subarray(0, 12) }]))[0];
    expect([one.header.get('NAXIS'), one.header.get('NAXIS3')]).toEqual([3, 1]);
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: 16, width: 4, height: 3, shape: [3, 4, 2], data }]), 'BAD_VALUE');
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: 16, width: 4, height: 3, shape: [4, 3, 3], data }]), 'BAD_VALUE');
  });

  it('output is deterministic (content-addressable)', () => {
    const input: ImageInput = { kind: 'image', bitpix: 16, width: 3, height: 1, data: [1, 2, 3], cards: [{ key: 'OBJECT', value: 'x' }] };
    expect(writeFits([input]).equals(writeFits([input]))).toBe(true);
  });

  it('checksum: without, and detection of a flipped byte', () => {
    const plain = writeFits([{ kind: 'image', bitpix: 16, width: 3, height: 1, data: [1, 2, 3] }], { checksum: false });
    expect(verifyChecksums(plain)).toEqual([{ hdu: 0, datasum: 'missing', checksum: 'missing' }]);
    const buf = writeFits([{ kind: 'image', bitpix: 16, width: 3, height: 1, data: [1, 2, 3] }]);
    const bad = Buffer.from(buf);
    bad[2880 + 1] ^= 0x10;
    expect(verifyChecksums(bad)).toEqual([{ hdu: 0, datasum: 'bad', checksum: 'bad' }]);
    const badHeader = Buffer.from(buf);
    badHeader.write('OBJECT', 80 * 5, 'latin1'); // EXTEND → OBJECT: the header sum changes
    expect(verifyChecksums(badHeader)[0].checksum).toBe('bad');
    // Encoding yields only letters and digits; an all-zero sum encodes as its complement
    expect(encodeChecksum(0)).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(encodeChecksum(0xffffffff)).toBe('0000000000000000');
  });

  it('writes files atomically', async () => {
    const p = join(tmp, 'atomic.fits');
    await writeFitsFile(p, [{ kind: 'image', bitpix: 16, width: 2, height: 1, data: [5, 6] }]);
    expect(Array.from(readImage(p).data)).toEqual([5, 6]);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(writeFitsFile(join(tmp, 'no-such-dir', 'x.fits'), [{ kind: 'image', bitpix: 16, width: 1, height: 1, data: [1] }])).rejects.toThrow(FitsError);
  });

  it('rejects bad input to the writer', () => {
    expectFitsError(() => writeFits([]), 'BAD_VALUE');
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: 16, width: 2, height: 2, data: [1, 2, 3] }]), 'BAD_VALUE');
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: 12 as 16, width: 1, height: 1, data: [1] }]), 'BAD_BITPIX');
    expectFitsError(() => writeFits([{ kind: 'table', extname: 'T', columns: [{ name: 'A', format: 'J', values: [NaN] }] }]), 'BAD_VALUE');
    expectFitsError(() => writeFits([{ kind: 'table', extname: 'T', columns: [{ name: 'A', format: '2A', values: ['abc'] }] }]), 'BAD_VALUE');
    expectFitsError(() => writeFits([{ kind: 'image', bitpix: -32, width: 1, height: 1, data: [1] }], { compress: 'rice' }), 'UNSUPPORTED');
  });
});

describe('RICE_1', () => {
  function roundTrip(values: Int32Array, bytepix: number, nblock = 32): void {
    const enc = riceEncode(values, 0, values.length, bytepix, nblock);
    const out = new Int32Array(values.length);
    riceDecode(enc, 0, enc.length, out, 0, values.length, bytepix, nblock);
    expect(out).toEqual(values);
    if (bytepix === 2) {
      const f = new Float32Array(values.length);
      riceDecode16(enc, 0, enc.length, f, 0, values.length, nblock, 1, 0);
      expect(Array.from(f)).toEqual(Array.from(values));
    }
  }
  it('round-trips noise, flats, steps and extremes for 1, 2 and 4 bytes per pixel', () => {
    const r = rng(11);
    const n = 5000;
    const gauss = () => Math.sqrt(-2 * Math.log(r() || 1e-9)) * Math.cos(2 * Math.PI * r());
    for (const [bytepix, lo, hi] of [
      [1, 0, 255],
      [2, -32768, 32767],
      [4, -2147483648, 2147483647],
    ] as const) {
      const clamp = (v: number) => Math.max(lo, Math.min(hi, Math.round(v)));
      roundTrip(Int32Array.from({ length: n }, () => clamp(100 + gauss() * 3)), bytepix); // low noise
      roundTrip(Int32Array.from({ length: n }, () => clamp(100 + gauss() * 3000)), bytepix); // high noise
      roundTrip(Int32Array.from({ length: n }, () => 42), bytepix); // flat: low-entropy blocks
      roundTrip(Int32Array.from({ length: n }, () => clamp(lo + r() * (hi - lo))), bytepix); // uniform: high-entropy blocks
      roundTrip(Int32Array.from({ length: n }, (_, i) => (i % 2 ? lo : hi)), bytepix); // wrap-around differences
      roundTrip(Int32Array.from({ length: n }, (_, i) => (i % 700 === 0 ? hi : clamp(lo / 2 + 5))), bytepix); // long zero runs + spikes
      roundTrip(Int32Array.from({ length: 77 }, (_, i) => clamp(i * 3)), bytepix, 16); // partial last block, other BLOCKSIZE
    }
  });

  it('writes and reads .fits.fz images (BITPIX 8, 16, 32) with header and scaling', () => {
    const r = rng(3);
    for (const bitpix of [8, 16, 32] as const) {
      const w = 103;
      const h = 17;
      const data = Array.from({ length: w * h }, () => (bitpix === 8 ? Math.floor(r() * 256) : Math.round(1000 + r() * 60000)));
      const buf = writeFits(
        [{ kind: 'image', bitpix, width: w, height: h, data, bzero: bitpix === 16 ? 32768 : 0, cards: [{ key: 'DATE-OBS', value: '2019-10-16T04:05:06' }] }],
        { compress: 'rice' },
      );
      const hdus = readHeaders(buf);
      expect(hdus.map((x) => x.type)).toEqual(['empty', 'compressed-image']);
      expect(hdus[1].shape).toEqual([w, h]);
      expect(hdus[1].bitpix).toBe(bitpix);
      const img = readImage(buf);
      expect(img.compressed).toBe(true);
      expect(img.index).toBe(1);
      expect(Array.from(img.data)).toEqual(data);
      expect(img.header.get('BITPIX')).toBe(bitpix);
      expect(img.header.get('NAXIS1')).toBe(w);
      expect(img.header.has('ZCMPTYPE')).toBe(false);
      expect(img.header.get('DATE-OBS')).toBe('2019-10-16T04:05:06');
      expect(verifyChecksums(buf).every((x) => x.checksum === 'ok' && x.datasum === 'ok')).toBe(true);
    }
  });

  it('flags corrupt tiles', () => {
    const buf = writeFits([{ kind: 'image', bitpix: 16, width: 64, height: 4, data: Array.from({ length: 256 }, (_, i) => (i * 7919) % 3000) }], { compress: 'rice' });
    const info = readHeaders(buf)[1];
    // Cut every tile to one byte by rewriting the descriptors.
    const bad = Buffer.from(buf);
    for (let row = 0; row < 4; row++) bad.writeInt32BE(1, info.dataOffset + row * 8);
    expectFitsError(() => readImage(bad), 'CORRUPT');
  });
});

describe('bad files', () => {
  const good = writeFits([{ kind: 'image', bitpix: 16, width: 100, height: 100, data: new Array(10000).fill(7) }]);
  it('not FITS', () => {
    expectFitsError(() => readHeaders(Buffer.from('hello world, this is not a FITS file'.repeat(100))), 'NOT_FITS');
    expectFitsError(() => readImage(Buffer.alloc(0)), 'NOT_FITS');
    const p = join(tmp, 'garbage.fits');
    writeFileSync(p, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256)));
    expectFitsError(() => readHeaders(p), 'NOT_FITS');
    expectFitsError(() => readImage(join(tmp, 'missing.fits')), 'IO');
  });
  it('truncated in the header or in the data', () => {
    expectFitsError(() => readHeaders(good.subarray(0, 1000)), 'TRUNCATED');
    expectFitsError(() => readHeaders(headerBytes(['SIMPLE  =                    T']).subarray(0, 2880 - 80 * 0).fill(0x20, 80)), 'TRUNCATED');
    const e = expectFitsError(() => readImage(good.subarray(0, 2880 + 5000)), 'TRUNCATED');
    expect(e.message).toMatch(/20000 bytes/);
    const p = join(tmp, 'truncated.fits');
    writeFileSync(p, good.subarray(0, good.length - 2880 * 2));
    expectFitsError(() => readHeaders(p), 'TRUNCATED');
    // Missing final padding only: still readable
    expect(readImage(good.subarray(0, 2880 + 20000)).data[9999]).toBe(7);
  });
  it('bad structural keywords', () => {
    expectFitsError(() => readHeaders(headerBytes(['SIMPLE  =                    T', 'BITPIX  =                   12', 'NAXIS   =                    0'])), 'BAD_BITPIX');
    expectFitsError(() => readHeaders(headerBytes(['SIMPLE  =                    T', 'BITPIX  =                   16'])), 'BAD_HEADER');
    expectFitsError(() => readHeaders(headerBytes(['SIMPLE  =                    T', 'BITPIX  =                   16', "NAXIS   = 'two'"])), 'BAD_HEADER');
  });
  it('junk after the last HDU is ignored', () => {
    const buf = Buffer.concat([good, Buffer.alloc(2880, 0)]);
    expect(readHeaders(buf)).toHaveLength(1);
  });
});

describe('imageStats', () => {
  it('matches a direct computation, ignoring NaN', () => {
    const r = rng(9);
    for (const data of [
      Float32Array.from({ length: 10001 }, () => Math.round(r() * 1000)),
      Float64Array.from({ length: 10000 }, () => r() * 1000 - 3),
      [5, NaN, 1, 3, NaN, 2],
    ]) {
      const v = Array.from(data).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      const median = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
      const s = imageStats(data);
      expect(s.min).toBe(v[0]);
      expect(s.max).toBe(v[v.length - 1]);
      expect(s.mean).toBeCloseTo(mean, 9);
      expect(s.std).toBeCloseTo(std, 9);
      expect(s.median).toBe(median);
      expect(s.count).toBe(v.length);
    }
    expect(imageStats([NaN]).count).toBe(0);
  });
});

describe('gft fits info', () => {
  it('summarises HDUs with key values and statistics', async () => {
    const p = join(tmp, 'info.fits');
    await writeFitsFile(p, [
      { kind: 'image', bitpix: 16, width: 3, height: 2, data: [1, 2, 3, 4, 5, 6], bzero: 32768, cards: [{ key: 'OBJECT', value: 'GRB' }, { key: 'EXPTIME', value: 60 }] },
      { kind: 'table', extname: 'CAT', columns: [{ name: 'X', format: 'D', values: [1, 2] }] },
    ]);
    const info = (await fileInfo(p, { checksum: true })) as { hdus: Record<string, unknown>[] };
    expect(info.hdus[0]).toMatchObject({ type: 'image', bitpix: 16, shape: [3, 2], keys: { OBJECT: 'GRB', EXPTIME: 60, BZERO: 32768 }, stats: { min: 1, max: 6, mean: 3.5, median: 3.5 } });
    expect(info.hdus[0].checksum).toEqual({ datasum: 'ok', checksum: 'ok' });
    expect(info.hdus[1]).toMatchObject({ type: 'bintable', extname: 'CAT', rows: 2, columns: ['X'] });
    expect((info as { observation?: unknown }).observation).toMatchObject({ hdu: 0, dateObs: null, why: expect.stringMatching(/^no DATE-OBS/) });
    const mef = join(tmp, 'info-mef.fits.fz');
    await writeFitsFile(mef, [
      { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'UT', value: '08:30:00.5' }, { key: 'EXPOSURE', value: 30 }] },
      { kind: 'image', bitpix: 16, width: 3, height: 2, data: [1, 2, 3, 4, 5, 6], cards: [{ key: 'FILTNAME', value: 'r' }] },
    ], { compress: 'rice' });
    const m = (await fileInfo(mef)) as { observation: unknown; hdus: Record<string, unknown>[] };
    expect(m.observation).toEqual({ hdu: 1, dateObs: '2019-10-16T08:30:00.500Z', from: 'DATE-OBS + UT' });
    expect(m.hdus[0].keys).toMatchObject({ 'DATE-OBS': '2019-10-16', UT: '08:30:00.5', EXPOSURE: 30 });
    expect(m.hdus[1].keys).toMatchObject({ FILTNAME: 'r', ZCMPTYPE: 'RICE_1' });
    const headersOnly = (await fileInfo(p, { headersOnly: true })) as { hdus: Record<string, unknown>[] };
    expect(headersOnly.hdus[0].stats).toBeUndefined();
    expect(readFileSync(p).length % 2880).toBe(0);
  });
});

describe('WebAssembly and JavaScript paths agree', () => {
  it('plain and RICE images read the same with GFT_FITS_NO_WASM=1', () => {
    const r = rng(21);
    const w = 257;
    const h = 33;
    const data = Array.from({ length: w * h }, () => Math.round(600 + r() * 200 + (r() < 0.01 ? 30000 : 0)));
    const files = [
      writeFits([{ kind: 'image', bitpix: 16, width: w, height: h, data, bzero: 32768 }]),
      writeFits([{ kind: 'image', bitpix: 16, width: w, height: h, data: data.map((v) => v - 700) }]),
      writeFits([{ kind: 'image', bitpix: 16, width: w, height: h, data, bzero: 32768 }], { compress: 'rice' }),
      writeFits([{ kind: 'image', bitpix: 16, width: w, height: h, data: data.map((v) => v - 700), bscale: 2, bzero: -3 }], { compress: 'rice' }),
    ];
    const withWasm = files.map((f) => readImage(f).data);
    const before = process.env.GFT_FITS_NO_WASM;
    process.env.GFT_FITS_NO_WASM = '1';
    try {
      files.forEach((f, i) => expect(readImage(f).data, `file ${i}`).toEqual(withWasm[i]));
    } finally {
      if (before === undefined) delete process.env.GFT_FITS_NO_WASM;
      else process.env.GFT_FITS_NO_WASM = before;
    }
    expect(Array.from(withWasm[0])).toEqual(data);
    expect(Array.from(withWasm[2])).toEqual(data);
    releaseFitsMemory();
    expect(Array.from(readImage(files[2]).data)).toEqual(data);
  });
});
