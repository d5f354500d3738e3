/**
 * The provider's source on frames like the ones other cameras and archives write, every file generated
 * by our own writer here: image in extension 1 behind a primary header holding the keywords (plain and
 * `.fits.fz`), DATE-OBS with and without fractions or split into a date + TIME-OBS/UT, odd and lowercase
 * file names, EXPTIME/EXPOSURE, FILTER/FILTNAME/FILTER1, IMAGETYP spellings, real-valued BZERO/BSCALE,
 * NAXIS3 = 1 cubes, blank cards and lowercase HIERARCH keywords, gzip files — and every kind of bad file,
 * each rejected with its own code and a reason. `gft fits info` must describe every readable one.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readHeaders, readImage, writeFits, type FitsCard, type HduInput } from '../../lib/fits/index.ts';
import { fileInfo } from '../../lib/fits/cli.ts';
import { scanImages, releaseOffsetsMs, dateObsOffsetsMs, frameBytes, storedNameOf, type FrameFile } from './source.ts';
import { FRAME_NUMERIC_KEYWORDS } from '../gp1/core/camera.ts';

const W = 40;
const H = 24;
const pixels = (base: number, n = W * H) => Float32Array.from({ length: n }, (_, i) => base + (i % 53));

/**
 * An image HDU (16-bit, BZERO 32768 unless given) with these cards. Each call is another exposure:
 * its last pixel differs (two files with the same pixel data are one frame for the provider).
 */
let exposures = 0;
const image = (cards: FitsCard[], o: Partial<{ base: number; bitpix: 16 | 32 | -32; bzero: number; bscale: number; shape: number[]; data: Float32Array }> = {}): HduInput => {
  const shape = o.shape ?? [W, H];
  const n = shape.reduce((a, b) => a * b, 1);
  const bitpix = o.bitpix ?? 16;
  let data = o.data;
  if (!data) {
    data = pixels(o.base ?? 1000, n);
    data[n - 1] = 3000 + exposures++;
  }
  return { kind: 'image', bitpix, width: W, height: H, shape, data, bzero: o.bzero ?? (bitpix === 16 ? 32768 : undefined), bscale: o.bscale, cards };
};

/** Replaces a header card's text in place (same width): for value forms our writer does not produce. */
function patchCard(buf: Buffer, from: string, to: string): Buffer {
  const at = buf.indexOf(from, 0, 'latin1');
  if (at < 0) throw new Error(`card '${from}' not found`);
  const out = Buffer.from(buf);
  out.write(to.padEnd(from.length), at, 'latin1');
  return out;
}

const obj = (date: string, more: FitsCard[] = []): FitsCard[] => [{ key: 'DATE-OBS', value: date }, { key: 'IMAGETYP', value: 'object' }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER', value: 'r' }, ...more];

describe('images provider source: frames from other cameras, and bad files', () => {
  let dir: string;
  let scan: ReturnType<typeof scanImages>;
  const by = (name: string): FrameFile => {
    const f = scan.frames.find((x) => x.fileName === name);
    if (!f) throw new Error(`${name} not among the frames; rejected: ${JSON.stringify(scan.rejected.filter((r) => r.path.endsWith(name)))}`);
    return f;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'provider-'));
    const put = (name: string, buf: Buffer | string) => writeFileSync(join(dir, name), buf);

    // --- good frames ---------------------------------------------------------------------------
    // fpack-style: keywords in the primary header, the image RICE-compressed in extension 1;
    // 'Light Frame', EXPOSURE instead of EXPTIME, FILTNAME
    put('20191016T083000C0o.fits.fz', writeFits([
      { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }, { key: 'IMAGETYP', value: 'Light Frame' }, { key: 'EXPOSURE', value: 60 }, { key: 'FILTNAME', value: 'z' }, { key: 'INSTRUME', value: 'COLIBRI' }] },
      image([{ key: 'OBJECT', value: 'GRB' }]),
    ], { compress: 'rice' }));
    // the same frame again as .gz, same DATE-OBS: a duplicate (the .fz sorts first and is kept)
    put('20191016T083000C0o.fits.gz', gzipSync(writeFits([image(obj('2019-10-16T08:30:00'))])));
    // multi-extension, uncompressed: date-only DATE-OBS + TIME-OBS in the primary; the extension's
    // FILTER1 wins over the primary's; 'science'
    put('mef.fits', writeFits([
      { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'TIME-OBS', value: '08:31:00.25' }, { key: 'IMAGETYP', value: 'science' }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER1', value: 'i' }] },
      image([{ key: 'FILTER1', value: 'r' }], { base: 2000 }),
    ]));
    // lowercase name and extension, no IMAGETYP (type from the name's letter), six fractional digits
    put('20191016t083200c0o.FITS', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T08:32:00.123456' }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER', value: 'r' }])]));
    // spaces in the name, .fit, 'Bias Frame', DATE-OBS date + UT, no exposure time (a bias needs none)
    put('bias frame 1.fit', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'UT', value: '00:40:00' }, { key: 'IMAGETYP', value: 'Bias Frame' }])]));
    // .fts, 'zero', a space instead of T and a trailing Z, no seconds
    put('Zero.fts', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16 00:41Z' }, { key: 'IMAGETYP', value: 'zero' }, { key: 'EXPTIME', value: 0 }])]));
    // no DATE-OBS: a date-only DATE + UTC; 'dark'; EXPTIME only in a lowercase HIERARCH card; blank cards
    put('DARK_001.fits', writeFits([image([
      { key: 'DATE', value: '2019-10-16' }, { key: 'UTC', value: '00:50:00.5' }, { key: '', value: '' }, { key: 'IMAGETYP', value: 'dark' }, { key: '', value: 'a blank-keyword card with text' },
      { key: 'HIERARCH exptime', value: 120 }, { key: 'HIERARCH obs camera temp', value: -60.5 },
    ])]));
    // 'flat field', BZERO/BSCALE written as reals ('32768.0', '1.0')
    let flat = writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T01:00:00.5' }, { key: 'IMAGETYP', value: 'flat field' }, { key: 'EXPTIME', value: 5.5 }, { key: 'FILTER', value: 'r' }], { base: 4000 })], { checksum: false });
    flat = patchCard(flat, 'BZERO   =                32768', 'BZERO   =              32768.0');
    flat = patchCard(flat, 'BSCALE  =                    1', 'BSCALE  =                  1.0');
    put('flat-r.fits', flat);
    // a one-plane cube (NAXIS3 = 1) with fractional BSCALE/BZERO, 32-bit, 'OBJECT' in capitals
    put('cube.fits', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T08:33:00' }, { key: 'IMAGETYP', value: 'OBJECT' }, { key: 'EXPTIME', value: 30 }], { bitpix: 32, bzero: 100.25, bscale: 0.5, shape: [W, H, 1], data: Float32Array.from({ length: W * H }, (_, i) => 100.25 + 0.5 * (i % 77)) })]));
    // a compressed one-plane cube
    put('cube-z.fits.fz', writeFits([image(obj('2019-10-16T08:34:00'), { shape: [W, H, 1] })], { compress: 'rice' }));
    // RATIR-style name with a prefix, gzip-compressed
    put('RATIR-GSFC_20191016T083500C1o.fits.gz', gzipSync(writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T08:35:00.000' }, { key: 'EXPTIME', value: 80 }, { key: 'FILTA', value: 'i' }, { key: 'BINNING', value: '2x2' }])])));

    // --- bad files -----------------------------------------------------------------------------
    put('notfits.fits', 'this is not a FITS file at all, just text\n'.repeat(100));
    const ok = writeFits([image(obj('2019-10-16T08:36:00'))]);
    put('truncated.fits', ok.subarray(0, ok.length - 1000));
    const okz = writeFits([image(obj('2019-10-16T08:36:00'))], { compress: 'rice' });
    put('truncated.fits.fz', okz.subarray(0, okz.length - 2880));
    put('bitpix20.fits', patchCard(writeFits([image(obj('2019-10-16T08:37:00'))]), 'BITPIX  =                   16', 'BITPIX  =                   20'));
    put('float.fits', writeFits([image(obj('2019-10-16T08:38:00'), { bitpix: -32 })]));
    put('nan.fits', writeFits([image(obj('2019-10-16T08:39:00'), { data: new Float32Array(W * H).fill(NaN) })]));
    put('nodate.fits', writeFits([image([{ key: 'DATE', value: '2019-10-17T10:00:00' }, { key: 'IMAGETYP', value: 'object' }, { key: 'EXPTIME', value: 60 }])]));
    put('datenotime.fits', writeFits([image(obj('2019-10-16'))]));
    put('baddate.fits', writeFits([image(obj('2019-13-45T25:00:00'))]));
    put('cube3.fits', writeFits([image(obj('2019-10-16T08:40:00'), { shape: [W, H, 3] })]));
    put('focus.fits', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T08:41:00' }, { key: 'IMAGETYP', value: 'focus' }, { key: 'EXPTIME', value: 5 }])]));
    put('noexp.fits', writeFits([image([{ key: 'DATE-OBS', value: '2019-10-16T08:42:00' }, { key: 'IMAGETYP', value: 'object' }])]));
    put('empty.fits', writeFits([{ kind: 'empty', cards: obj('2019-10-16T08:43:00') }, { kind: 'table', extname: 'CAT', columns: [{ name: 'X', format: 'D', values: [1] }] }]));
    // a compressed frame whose first tile points beyond the heap
    const corrupt = Buffer.from(writeFits([image(obj('2019-10-16T08:44:00'))], { compress: 'rice', checksum: false }));
    corrupt.writeInt32BE(1 << 30, readHeaders(corrupt)[1].dataOffset + 4);
    put('corrupt.fits.fz', corrupt);
    put('bad.fits.gz', 'not gzip');

    // --- left alone ----------------------------------------------------------------------------
    put('.hidden.fits', ok);
    put('._20191016T083000C0o.fits', 'macOS resource fork');
    put('notes.txt', 'observing log');
    put('frame.fits.bz2', 'x');
    mkdirSync(join(dir, 'sub.fits'));
    symlinkSync(join(dir, 'missing-target.fits'), join(dir, 'dangling.fits'));

    scan = scanImages(dir);
  });

  it('reads every good frame, whatever camera or archive wrote it', () => {
    expect(by('20191016T083000C0o.fits.fz')).toMatchObject({ imageType: 'object', dateObs: '2019-10-16T08:30:00.000Z', dateSource: 'DATE-OBS', exptime: 60, filter: 'z', camera: 'COLIBRI', compressed: true, hdu: 1, width: W, height: H, bitpix: 16, frameId: '20191016T083000C0o', storedName: '20191016T083000C0o.fits.fz' });
    expect(by('mef.fits')).toMatchObject({ imageType: 'object', dateObs: '2019-10-16T08:31:00.250Z', dateSource: 'DATE-OBS + TIME-OBS', filter: 'r', hdu: 1, compressed: false, camera: 'unknown' });
    expect(by('20191016t083200c0o.FITS')).toMatchObject({ imageType: 'object', dateObs: '2019-10-16T08:32:00.123Z', frameId: '20191016t083200c0o', storedName: '20191016t083200c0o.fits', camera: 'C0' });
    expect(by('bias frame 1.fit')).toMatchObject({ imageType: 'bias', dateObs: '2019-10-16T00:40:00.000Z', dateSource: 'DATE-OBS + UT', exptime: 0, frameId: 'bias frame 1', storedName: 'bias frame 1.fits' });
    expect(by('Zero.fts')).toMatchObject({ imageType: 'bias', dateObs: '2019-10-16T00:41:00.000Z' });
    expect(by('DARK_001.fits')).toMatchObject({ imageType: 'dark', dateObs: '2019-10-16T00:50:00.500Z', dateSource: 'DATE + UTC', exptime: 120 });
    expect(by('flat-r.fits')).toMatchObject({ imageType: 'flat', exptime: 5.5, filter: 'r', dateObs: '2019-10-16T01:00:00.500Z' });
    expect(by('cube.fits')).toMatchObject({ imageType: 'object', width: W, height: H, bitpix: 32 });
    expect(by('cube-z.fits.fz')).toMatchObject({ imageType: 'object', width: W, height: H, compressed: true });
    expect(by('RATIR-GSFC_20191016T083500C1o.fits.gz')).toMatchObject({ imageType: 'object', gzip: true, filter: 'i', binning: '2x2', camera: 'C1', exptime: 80, storedName: 'RATIR-GSFC_20191016T083500C1o.fits', frameId: 'RATIR-GSFC_20191016T083500C1o' });
  });

  it('orders the frames by DATE-OBS', () => {
    expect(scan.frames.map((f) => f.fileName)).toEqual([
      'bias frame 1.fit', 'Zero.fts', 'DARK_001.fits', 'flat-r.fits', '20191016T083000C0o.fits.fz', 'mef.fits', '20191016t083200c0o.FITS', 'cube.fits', 'cube-z.fits.fz', 'RATIR-GSFC_20191016T083500C1o.fits.gz',
    ]);
    const d = scan.frames.map((f) => Date.parse(f.dateObs));
    expect(d).toEqual([...d].sort((a, b) => a - b));
  });

  it('rejects every bad file with its own code and a reason naming the problem, and goes on', () => {
    const got = Object.fromEntries(scan.rejected.map((r) => [r.path.split('/').pop(), r]));
    const expected: Record<string, [string, RegExp]> = {
      'notfits.fits': ['provider.not_fits', /SIMPLE/],
      'truncated.fits': ['provider.truncated', /needs \d+ bytes/],
      'truncated.fits.fz': ['provider.truncated', /truncated/],
      'bitpix20.fits': ['provider.bad_bitpix', /BITPIX 20/],
      'float.fits': ['provider.bad_bitpix', /BITPIX -32 .*allowed: 16, 32/],
      'nan.fits': ['provider.nan_filled', /100\.0% of the pixels/],
      'nodate.fits': ['provider.no_date_obs', /no DATE-OBS.*DATE '2019-10-17T10:00:00' is when the file was written/],
      'datenotime.fits': ['provider.no_date_obs', /DATE-OBS '2019-10-16' holds a date without a time/],
      'baddate.fits': ['provider.no_date_obs', /'2019-13-45T25:00:00' is not a valid date/],
      'cube3.fits': ['provider.bad_shape', /3 planes/],
      'focus.fits': ['provider.unknown_type', /IMAGETYP 'focus'/],
      'noexp.fits': ['provider.no_exptime', /object frame needs a positive exposure time/],
      'empty.fits': ['provider.no_image', /no HDU holds image data/],
      'corrupt.fits.fz': ['provider.unreadable_data', /tile 0/],
      'bad.fits.gz': ['provider.not_fits', /gzip/],
      '20191016T083000C0o.fits.gz': ['provider.duplicate', /already provided by 20191016T083000C0o\.fits\.fz/],
    };
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [code, reason]] of Object.entries(expected)) {
      expect(got[name].code, name).toBe(code);
      expect(got[name].reason, name).toMatch(reason);
    }
    // a NaN-filled frame of an allowed floating-point BITPIX is caught by the pixel check too
    const nanDir = mkdtempSync(join(tmpdir(), 'provider-nan-'));
    writeFileSync(join(nanDir, 'nan.fits'), writeFits([image(obj('2019-10-16T08:36:00'), { bitpix: -32, data: new Float32Array(W * H).fill(NaN) })]));
    expect(scanImages(nanDir, { allowedBitpix: [-32] }).rejected[0].code).toBe('provider.nan_filled');
  });

  it('leaves hidden files, directories, dangling links and non-FITS names alone, saying why', () => {
    const why = Object.fromEntries(scan.ignored.map((i) => [i.path.split('/').pop(), i.reason]));
    expect(why).toEqual({
      '.hidden.fits': 'hidden file',
      '._20191016T083000C0o.fits': 'hidden file',
      'notes.txt': expect.stringMatching(/not a FITS file name/),
      'frame.fits.bz2': expect.stringMatching(/not a FITS file name/),
      'sub.fits': 'not a regular file',
      'dangling.fits': 'not a regular file',
    });
  });

  it('stores what GP1 reads: gzip files decompressed, the same pixels as the original', () => {
    const f = by('RATIR-GSFC_20191016T083500C1o.fits.gz');
    const bytes = frameBytes(f.path, f.gzip);
    expect(bytes.subarray(0, 9).toString('latin1')).toBe('SIMPLE  =');
    const img = readImage(bytes);
    expect(Array.from(img.data.subarray(0, 5))).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(storedNameOf('x.FIT.FZ')).toBe('x.fits.fz');
  });

  it('the physical values of odd encodings are right (real BZERO/BSCALE text, fractional scaling, cubes)', () => {
    const flat = readImage(join(dir, 'flat-r.fits'));
    expect(flat.header.get('BZERO')).toBe(32768);
    expect(Array.from(flat.data.subarray(0, 3))).toEqual([4000, 4001, 4002]);
    const cube = readImage(join(dir, 'cube.fits'));
    expect(cube.shape).toEqual([W, H, 1]);
    expect(cube.data[76]).toBe(100.25 + 0.5 * 76);
    const cz = readImage(join(dir, 'cube-z.fits.fz'));
    expect(cz.shape).toEqual([W, H, 1]);
    expect(Array.from(cz.data.subarray(0, 3))).toEqual([1000, 1001, 1002]);
    const dark = readHeaders(join(dir, 'DARK_001.fits'))[0].header;
    expect(dark.get('EXPTIME')).toBe(120); // a lowercase HIERARCH key is found like astropy finds it
    expect(dark.get('OBS CAMERA TEMP')).toBe(-60.5);
  });

  it('gft fits info describes every readable file (shape, BITPIX, statistics) and refuses the broken ones with a FITS error code', async () => {
    for (const f of scan.frames) {
      const path = f.gzip ? join(mkdtempSync(join(tmpdir(), 'provider-gz-')), f.storedName) : f.path;
      if (f.gzip) writeFileSync(path, frameBytes(f.path, true));
      const info = (await fileInfo(path)) as { hdus: Array<{ index: number; type: string; shape: number[]; bitpix: number; stats?: { min: number; max: number; pixels: number } }> };
      const h = info.hdus[f.hdu];
      expect(h.type, f.fileName).toBe(f.compressed ? 'compressed-image' : 'image');
      expect(h.shape.slice(0, 2), f.fileName).toEqual([W, H]);
      expect(h.bitpix, f.fileName).toBe(f.bitpix);
      expect(h.stats?.pixels, f.fileName).toBe(W * H);
      expect(h.stats!.max - h.stats!.min, f.fileName).toBeGreaterThan(0);
    }
    for (const name of ['notfits.fits', 'truncated.fits', 'bitpix20.fits']) {
      await expect(fileInfo(join(dir, name)), name).rejects.toMatchObject({ code: expect.stringMatching(/^(NOT_FITS|TRUNCATED|BAD_BITPIX)$/) });
    }
  });

  it('schedules object frames on their DATE-OBS spacing or a fixed interval, divided by the speed', () => {
    expect(releaseOffsetsMs(3, 60, 1)).toEqual([0, 60_000, 120_000]);
    expect(releaseOffsetsMs(3, 60, 60)).toEqual([0, 1000, 2000]);
    expect(releaseOffsetsMs(3, 60, Infinity)).toEqual([0, 0, 0]);
    expect(() => releaseOffsetsMs(3, 60, 0)).toThrow();
    const dates = ['2019-10-16T08:30:00.000Z', '2019-10-16T08:31:00.000Z', '2019-10-16T08:33:30.000Z', '2019-10-16T08:33:45.000Z'];
    expect(dateObsOffsetsMs(dates, 60)).toEqual([0, 1000, 3500, 3750]);
    expect(dateObsOffsetsMs(dates, 1)).toEqual([0, 60_000, 210_000, 225_000]);
    expect(dateObsOffsetsMs(dates, Infinity)).toEqual([0, 0, 0, 0]);
    expect(() => dateObsOffsetsMs([dates[1], dates[0]], 60)).toThrow(/before the first/);
  });

  it('reads the real RATIR frames of ../shared/data/fits when present (type, date, binning, filter from their headers)', (ctx) => {
    const real = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'fits');
    let r;
    try {
      r = scanImages(real);
    } catch {
      ctx.skip(); // the data folder is absent in a fresh clone
      return;
    }
    const ratir = r.frames.filter((f) => f.fileName.startsWith('RATIR-GSFC_'));
    expect(ratir.length).toBe(12);
    for (const f of ratir) {
      const letter = /C1([bdfo])\.fits$/.exec(f.fileName)![1];
      expect(f.imageType[0], f.fileName).toBe(letter);
      expect(f).toMatchObject({ binning: '2x2', filter: 'i', camera: 'RATIR', width: 1024, height: 1024, bitpix: 16, dateSource: 'DATE-OBS' });
      // DATE-OBS is a few seconds after the time in the file name
      const fromName = /_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)C/.exec(f.fileName)!;
      const dt = Date.parse(f.dateObs) - Date.UTC(+fromName[1], +fromName[2] - 1, +fromName[3], +fromName[4], +fromName[5], +fromName[6]);
      expect(dt, f.fileName).toBeGreaterThanOrEqual(0);
      expect(dt, f.fileName).toBeLessThan(20_000);
    }
    // the astropy sample files are not camera frames: rejected with the reason, not a crash
    const why = Object.fromEntries(r.rejected.map((x) => [x.path.split('/').pop(), x]));
    expect(why['astropy_comp.fits']).toMatchObject({ code: 'provider.no_date_obs' });
    // an HST file: its primary header's DATE-OBS 'dd/mm/yy' + TIME-OBS date it; IMAGETYP 'EXT' is no frame type
    expect(why['astropy_test0.fits']).toMatchObject({ code: 'provider.unknown_type', reason: expect.stringMatching(/IMAGETYP 'EXT'/) });
    expect(readFileSync(ratir[0].path).length).toBe(2183040);
  });
});

/**
 * Issue 16: a copy of a valid frame with BZERO = 'abc' was accepted, calibrated and counted, and having
 * its original's DATE-OBS it made the T0+30 list stack 30 frames instead of 29. A frame is refused when
 * a numeric keyword the chain relies on is not a number, and a frame already in the set (same camera and
 * DATE-OBS, or the same pixel data) is kept once, the other file reported as a duplicate.
 */
describe('images provider source: bad numbers and frames already in the set', () => {
  const put = (dir: string, name: string, buf: Buffer) => writeFileSync(join(dir, name), buf);
  /** An object frame of camera COATLI; `more` replaces the cards of the same keywords. */
  const frame = (date: string, more: FitsCard[] = [], o: Parameters<typeof image>[1] = {}) =>
    writeFits([image([...obj(date, [{ key: 'INSTRUME', value: 'COATLI' }]).filter((c) => !more.some((m) => m.key === c.key)), ...more], o)]);

  it("BZERO = 'abc' (and BSCALE, BLANK) → provider.bad_header naming the keyword; the original is kept", () => {
    const dir = mkdtempSync(join(tmpdir(), 'provider-num-'));
    const good = frame('2019-10-16T08:30:00');
    put(dir, 'a.fits', good);
    put(dir, 'b-bzero.fits', patchCard(Buffer.from(good), 'BZERO   =                32768', "BZERO   = 'abc'"));
    put(dir, 'c-bscale.fits', patchCard(frame('2019-10-16T08:31:00', [], { bscale: 2 }), 'BSCALE  =                    2', 'BSCALE  =                    T'));
    const r = scanImages(dir);
    expect(r.frames.map((f) => f.fileName)).toEqual(['a.fits']);
    const why = Object.fromEntries(r.rejected.map((x) => [x.path.split('/').pop(), x]));
    expect(why['b-bzero.fits']).toMatchObject({ code: 'provider.bad_header', reason: expect.stringMatching(/BZERO is not a number \('abc'\)/) });
    expect(why['c-bscale.fits']).toMatchObject({ code: 'provider.bad_header', reason: expect.stringMatching(/BSCALE is not a number \(true\)/) });
  });

  it.each(Object.keys(FRAME_NUMERIC_KEYWORDS))('%s present but not a valid number → provider.bad_keyword', (key) => {
    const dir = mkdtempSync(join(tmpdir(), 'provider-kw-'));
    const spec = FRAME_NUMERIC_KEYWORDS[key];
    const bad: FitsCard['value'][] = ['abc', true, '', '12 s', spec.integer ? 1.5 : -1, spec.exclusive ? 0 : -1];
    bad.forEach((v, i) => put(dir, `f${i}.fits`, frame(`2019-10-16T08:3${i}:00`, [{ key, value: v }])));
    // a numeric string and a valid number are fine
    put(dir, 'ok-string.fits', frame('2019-10-16T09:00:00', [{ key, value: spec.integer ? '2' : '2.5' }]));
    put(dir, 'ok-number.fits', frame('2019-10-16T09:01:00', [{ key, value: 2 }]));
    const r = scanImages(dir);
    expect(r.frames.map((f) => f.fileName).sort()).toEqual(['ok-number.fits', 'ok-string.fits']);
    for (const x of r.rejected) {
      expect(x.code, x.path).toBe('provider.bad_keyword');
      expect(x.reason, x.path).toMatch(new RegExp(`^${key} = `));
    }
    expect(r.rejected.length).toBe(bad.length);
  });

  it('a copy at the same DATE-OBS of the same camera, or with the same pixels under another name and date, is a duplicate; the first is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provider-dup-'));
    const orig = frame('2019-10-16T08:30:00');
    put(dir, 'a-orig.fits', orig);
    // the same pixels, header edited (another DATE-OBS, another object name)
    const copy = patchCard(Buffer.from(orig), "DATE-OBS= '2019-10-16T08:30:00'", "DATE-OBS= '2019-10-16T08:45:00'");
    put(dir, 'z-copy-later.fits', copy);
    // another exposure (other pixels) of the same camera at the same DATE-OBS
    put(dir, 'b-same-time.fits', frame('2019-10-16T08:30:00'));
    // the same DATE-OBS on another camera is another frame (COLIBRI's channels expose together)
    put(dir, 'c-other-camera.fits', writeFits([image(obj('2019-10-16T08:30:00', [{ key: 'INSTRUME', value: 'DDRAGO-R' }]))]));
    // the same pixels RICE-compressed are another data unit: found by camera + DATE-OBS instead
    put(dir, 'd-compressed.fits.fz', writeFits([image(obj('2019-10-16T08:30:00', [{ key: 'INSTRUME', value: 'COATLI' }]))], { compress: 'rice' }));
    put(dir, 'e-next.fits', frame('2019-10-16T08:31:00'));
    const r = scanImages(dir);
    expect(r.frames.map((f) => f.fileName)).toEqual(['a-orig.fits', 'c-other-camera.fits', 'e-next.fits']);
    const why = Object.fromEntries(r.rejected.map((x) => [x.path.split('/').pop(), x]));
    expect(why['z-copy-later.fits']).toMatchObject({ code: 'provider.duplicate', reason: expect.stringMatching(/same pixel data as a-orig\.fits \(kept\)/) });
    expect(why['b-same-time.fits']).toMatchObject({ code: 'provider.duplicate', reason: expect.stringMatching(/camera COATLI has another frame at DATE-OBS 2019-10-16T08:30:00\.000Z: a-orig\.fits \(kept\)/) });
    expect(why['d-compressed.fits.fz']).toMatchObject({ code: 'provider.duplicate' });
    // the digest is of the pixel bytes only
    expect(r.frames[0].pixelDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(r.frames.map((f) => f.pixelDigest)).size).toBe(3);
  });

  it("the issue's burst: 30 object frames where one is a copy of another with BZERO = 'abc' → 29 frames", () => {
    const dir = mkdtempSync(join(tmpdir(), 'provider-burst-'));
    for (let i = 0; i < 30; i++) put(dir, `o${String(i).padStart(2, '0')}.fits`, frame(`2019-10-16T08:${String(30 + i).padStart(2, '0')}:00`));
    put(dir, 'o07-copy.fits', patchCard(readFileSync(join(dir, 'o07.fits')), 'BZERO   =                32768', "BZERO   = 'abc'"));
    // and a plain copy of another one under a new name
    put(dir, 'o12-copy.fits', readFileSync(join(dir, 'o12.fits')));
    const r = scanImages(dir);
    expect(r.frames.length).toBe(30);
    // (same DATE-OBS: the first by name is kept, 'o12-copy.fits' < 'o12.fits')
    expect(r.rejected.map((x) => `${x.path.split('/').pop()} ${x.code}`).sort()).toEqual(['o07-copy.fits provider.bad_header', 'o12.fits provider.duplicate']);
  });
});
