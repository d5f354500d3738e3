/** A raw frame's observation keywords (primary + image HDU) and its date, in the forms cameras write. */
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Header, observationDate, observationHeader, readHeaders, writeFits, type FitsCard } from './index.ts';

const date = (cards: FitsCard[]) => observationDate(new Header(cards));
const iso = (cards: FitsCard[]) => {
  const d = date(cards);
  if (!d.ok) throw new Error(d.reason);
  return d.iso;
};

describe('observationDate', () => {
  it('reads DATE-OBS with or without fractional seconds, in every spelling seen in raw frames', () => {
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }])).toBe('2019-10-16T08:30:00.000Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:00.5' }])).toBe('2019-10-16T08:30:00.500Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:00.123456789' }])).toBe('2019-10-16T08:30:00.123Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:59.9996' }])).toBe('2019-10-16T08:31:00.000Z'); // rounded to the ms
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:00Z' }])).toBe('2019-10-16T08:30:00.000Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16 08:30:00.25' }])).toBe('2019-10-16T08:30:00.250Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30' }])).toBe('2019-10-16T08:30:00.000Z');
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T02:30:00-06:00' }])).toBe('2019-10-16T08:30:00.000Z');
    expect(iso([{ key: 'DATE-OBS', value: '  2019-10-16T08:30:00  ' }])).toBe('2019-10-16T08:30:00.000Z');
    expect(iso([{ key: 'DATE-OBS', value: '2016-12-31T23:59:60.5' }])).toBe('2017-01-01T00:00:00.500Z'); // leap second
  });

  it('completes a date-only DATE-OBS (or DATE) with TIME-OBS, UT, UTC, UTSTART…', () => {
    expect(date([{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'TIME-OBS', value: '08:30:00.25' }])).toEqual({ ok: true, iso: '2019-10-16T08:30:00.250Z', source: 'DATE-OBS + TIME-OBS' });
    expect(date([{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'UT', value: '8:30:00' }])).toMatchObject({ iso: '2019-10-16T08:30:00.000Z', source: 'DATE-OBS + UT' });
    expect(date([{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'UTSTART', value: '08:30:01' }])).toMatchObject({ iso: '2019-10-16T08:30:01.000Z', source: 'DATE-OBS + UTSTART' });
    expect(date([{ key: 'DATE', value: '2019-10-16' }, { key: 'UTC', value: '08:30:02.5' }])).toMatchObject({ iso: '2019-10-16T08:30:02.500Z', source: 'DATE + UTC' });
    // pre-2000 form of the standard: dd/mm/yy
    expect(date([{ key: 'DATE-OBS', value: '19/05/94' }, { key: 'TIME-OBS', value: '15:41:16' }])).toMatchObject({ iso: '1994-05-19T15:41:16.000Z' });
    // a full DATE-OBS wins over a time keyword
    expect(iso([{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }, { key: 'UT', value: '09:00:00' }])).toBe('2019-10-16T08:30:00.000Z');
    // DATE-BEG (FITS 4.0) and DATE_OBS when DATE-OBS is absent
    expect(date([{ key: 'DATE-BEG', value: '2019-10-16T08:30:00' }])).toMatchObject({ ok: true, source: 'DATE-BEG' });
    expect(date([{ key: 'DATE_OBS', value: '2019-10-16T08:30:00' }])).toMatchObject({ ok: true, source: 'DATE_OBS' });
  });

  it('says why when there is no usable date', () => {
    const why = (cards: FitsCard[]) => {
      const d = date(cards);
      return d.ok ? `unexpected ${d.iso}` : d.reason;
    };
    expect(why([])).toMatch(/^no DATE-OBS/);
    expect(why([{ key: 'DATE', value: '2019-10-17T10:00:00' }])).toMatch(/DATE '2019-10-17T10:00:00' is when the file was written/);
    expect(why([{ key: 'DATE', value: '2019-10-16' }])).toMatch(/^no DATE-OBS/); // DATE alone: not an observation time
    expect(why([{ key: 'DATE-OBS', value: '2019-10-16' }])).toMatch(/date without a time/);
    expect(why([{ key: 'DATE-OBS', value: '2019-10-16' }, { key: 'UT', value: 'dusk' }])).toMatch(/UT 'dusk' is not a time of day/);
    expect(why([{ key: 'DATE-OBS', value: '2019-02-30T08:00:00' }])).toMatch(/not a valid date/);
    expect(why([{ key: 'DATE-OBS', value: '2019-10-16T24:00:00' }])).toMatch(/not a valid date/);
    expect(why([{ key: 'DATE-OBS', value: 'yesterday' }])).toMatch(/'yesterday' is not a date/);
    expect(why([{ key: 'DATE-OBS', value: 2019 }])).toMatch(/DATE-OBS is 2019, not a date string/);
  });
});

describe('observationHeader', () => {
  const img = { kind: 'image' as const, bitpix: 16 as const, width: 4, height: 3, data: new Float32Array(12) };
  it('completes the image HDU keywords with the primary header ones; the image HDU wins', () => {
    const buf = writeFits([
      { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }, { key: 'FILTER', value: 'i' }, { key: 'BUNIT', value: 'ADU' }, { key: 'HISTORY', value: 'primary' }] },
      { ...img, cards: [{ key: 'FILTER', value: 'r' }] },
    ]);
    const hdus = readHeaders(buf);
    const h = observationHeader(hdus, hdus[1]);
    expect(h.get('FILTER')).toBe('r');
    expect(h.get('DATE-OBS')).toBe('2019-10-16T08:30:00');
    expect(h.get('NAXIS')).toBe(2); // the image's own structure
    expect(h.get('BUNIT')).toBeUndefined(); // describes the primary's (absent) data
    expect(h.getAll('HISTORY')).toEqual([]);
  });

  it('reads a compressed image as its uncompressed header, and honours INHERIT = F', () => {
    const buf = writeFits([
      { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }] },
      { ...img, cards: [{ key: 'EXPTIME', value: 60 }] },
    ], { compress: 'rice' });
    const hdus = readHeaders(buf);
    const h = observationHeader(hdus, hdus[1]);
    expect(h.get('BITPIX')).toBe(16);
    expect(h.get('ZBITPIX')).toBeUndefined();
    expect(h.get('DATE-OBS')).toBe('2019-10-16T08:30:00');
    const no = readHeaders(writeFits([{ kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }] }, { ...img, cards: [{ key: 'INHERIT', value: false }] }]));
    expect(observationHeader(no, no[1]).get('DATE-OBS')).toBeUndefined();
  });

  const real = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'fits', 'astropy_test0.fits');
  it.skipIf(!existsSync(real))(`dates an HST file from its primary header (dd/mm/yy + TIME-OBS)${existsSync(real) ? '' : ' — SKIPPED: ../shared/data/fits absent'}`, () => {
    const hdus = readHeaders(real);
    const d = observationDate(observationHeader(hdus, hdus[1]));
    expect(d).toMatchObject({ ok: true, source: 'DATE-OBS + TIME-OBS' });
    expect((d as { iso: string }).iso.startsWith('1994-05-19T')).toBe(true);
  });
});
