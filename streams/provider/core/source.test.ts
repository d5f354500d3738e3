import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFits } from '../../../lib/fits/index.ts';
import { scanImages, releaseOffsetsMs, imageTypeFrom } from './source.ts';

const frame = (cards: { key: string; value: string | number }[], bitpix: 16 | -32 = 16, fill = 1000) =>
  writeFits([{ kind: 'image', bitpix, width: 64, height: 48, bzero: bitpix === 16 ? 32768 : undefined, data: new Float32Array(64 * 48).fill(fill), cards }]);

describe('images provider source', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'provider-'));
    const good = (t: string, type: string) => [{ key: 'DATE-OBS', value: t }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER', value: 'r' }, { key: 'IMAGETYP', value: type }];
    writeFileSync(join(dir, '20191016T083300C0o.fits'), frame(good('2019-10-16T08:33:00', 'object')));
    writeFileSync(join(dir, '20191016T083200C0o.fits'), frame(good('2019-10-16T08:32:00', 'object')));
    writeFileSync(join(dir, '20191016T004000C0b.fits'), frame([{ key: 'DATE-OBS', value: '2019-10-16T00:40:00' }, { key: 'EXPTIME', value: 0 }]));
    writeFileSync(join(dir, 'notfits.fits'), 'this is not a FITS file at all, just text');
    const full = frame(good('2019-10-16T08:34:00', 'object'));
    writeFileSync(join(dir, 'truncated.fits'), full.subarray(0, full.length - 3000));
    writeFileSync(join(dir, 'float.fits'), frame(good('2019-10-16T08:35:00', 'object'), -32));
    writeFileSync(join(dir, 'nodate.fits'), frame([{ key: 'EXPTIME', value: 60 }]));
    writeFileSync(join(dir, 'nan.fits'), writeFits([{ kind: 'image', bitpix: -32, width: 8, height: 8, data: new Float32Array(64).fill(NaN), cards: good('2019-10-16T08:36:00', 'object') }]));
  });

  it('orders good frames by DATE-OBS and reads their summary', () => {
    const { frames } = scanImages(dir);
    expect(frames.map((f) => f.fileName)).toEqual(['20191016T004000C0b.fits', '20191016T083200C0o.fits', '20191016T083300C0o.fits']);
    expect(frames[0]).toMatchObject({ imageType: 'bias', exptime: 0, dateObs: '2019-10-16T00:40:00.000Z', width: 64, height: 48, bitpix: 16 });
    expect(frames[1]).toMatchObject({ imageType: 'object', filter: 'r', exptime: 60, frameId: '20191016T083200C0o' });
  });

  it('rejects bad files with a reason and goes on', () => {
    const { rejected } = scanImages(dir);
    const by = Object.fromEntries(rejected.map((r) => [r.path.split('/').pop(), r.code]));
    expect(by).toEqual({
      'notfits.fits': 'provider.not_fits',
      'truncated.fits': 'provider.truncated',
      'float.fits': 'provider.bad_bitpix',
      'nodate.fits': 'provider.no_date_obs',
      'nan.fits': 'provider.bad_bitpix',
    });
    // a NaN-filled frame of an allowed BITPIX is caught by the pixel check
    const nanDir = mkdtempSync(join(tmpdir(), 'provider-nan-'));
    writeFileSync(join(nanDir, 'nan.fits'), readFileSync(join(dir, 'nan.fits')));
    expect(scanImages(nanDir, { allowedBitpix: [-32] }).rejected[0].code).toBe('provider.nan_filled');
  });

  it('schedules on the nominal interval divided by the speed, or at once', () => {
    expect(releaseOffsetsMs(3, 60, 1)).toEqual([0, 60_000, 120_000]);
    expect(releaseOffsetsMs(3, 60, 60)).toEqual([0, 1000, 2000]);
    expect(releaseOffsetsMs(3, 60, Infinity)).toEqual([0, 0, 0]);
    expect(() => releaseOffsetsMs(3, 60, 0)).toThrow();
  });

  it('classifies frames by IMAGETYP or by the COATLI file-name letter', () => {
    expect(imageTypeFrom('Bias Frame', 'x.fits')).toBe('bias');
    expect(imageTypeFrom(undefined, '20191016T012000C0f.fits.fz')).toBe('flat');
    expect(imageTypeFrom(undefined, 'whatever.fits')).toBe('unknown');
  });
});
