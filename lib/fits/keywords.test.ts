/**
 * Every numeric keyword the reader relies on is refused, naming the keyword and its value, when it is
 * not a number of the right kind (issue 16: a copy of a frame with BZERO = 'abc' was read as BZERO = 0,
 * calibrated and counted). The class: each structural or scaling keyword of each HDU kind, set to each
 * kind of non-number.
 */
import { describe, it, expect } from 'vitest';
import { BLOCK, CARD, formatCard } from './header.ts';
import { FitsError } from './errors.ts';
import { readHeaders, readImage } from './read.ts';
import { writeFits } from './write.ts';
import { MAX_PIXELS } from './keywords.ts';

const w = 8;
const h = 4;
const px = Float64Array.from({ length: w * h }, (_, i) => i);

const FILES: Record<string, Buffer> = {
  plain: writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, bscale: 1, width: w, height: h, data: px, cards: [{ key: 'EXPTIME', value: 1 }] }]),
  blank: writeFits([{ kind: 'image', bitpix: 32, width: w, height: h, data: Float64Array.from(px, (v, i) => (i === 3 ? NaN : v)) }]),
  rice: writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: w, height: h, data: px }], { compress: 'rice' }),
  table: writeFits([{ kind: 'table', extname: 'T', columns: [{ name: 'A', format: 'J', values: [1, 2] }, { name: 'B', format: 'D', values: [1, 2] }] }]),
};

/** Replaces the value of `key` (first card with that keyword, any HDU) by `text`; adds the card after `after` when missing. */
function withValue(buf: Buffer, key: string, text: string, after?: string): Buffer {
  const out = Buffer.from(buf);
  const find = (k: string) => {
    for (let at = 0; at + CARD <= out.length; at += CARD) if (out.toString('latin1', at, at + 8).trimEnd() === k) return at;
    return -1;
  };
  let at = find(key);
  if (at < 0 && after) {
    // insert: shift the cards after `after` down by one within the header (there is room before END in these files)
    const a = find(after);
    const end = find('END');
    if (a < 0 || end < 0 || (end + CARD) % BLOCK === 0) throw new Error(`cannot add ${key}`);
    out.copy(out, a + 2 * CARD, a + CARD, end + CARD);
    at = a + CARD;
  }
  if (at < 0) throw new Error(`no ${key} card`);
  out.write(`${key.padEnd(8)}= ${text}`.padEnd(CARD).slice(0, CARD), at, 'latin1');
  return out;
}

function failure(buf: Buffer): FitsError | null {
  try {
    const hdus = readHeaders(buf);
    for (const x of hdus) if ((x.type === 'image' && x.dataBytes > 0) || x.type === 'compressed-image') readImage(buf, x.index);
    return null;
  } catch (e) {
    if (e instanceof FitsError) return e;
    throw e;
  }
}

const NOT_NUMBERS = ["'abc'", "'12'", 'T', "''", '1D400', '(1.0, 2.0)'];
const NOT_INTEGERS = [...NOT_NUMBERS, '1.5', '1E30'];

describe('numeric keywords: present means a valid number', () => {
  // [file, keyword, values that must be refused, card to add it after when the file lacks it]
  const cases: [string, string, string[], string?][] = [
    ['plain', 'BZERO', NOT_NUMBERS],
    ['plain', 'BSCALE', [...NOT_NUMBERS, '0']],
    ['blank', 'BLANK', NOT_INTEGERS],
    ['plain', 'BITPIX', NOT_INTEGERS],
    ['plain', 'NAXIS', [...NOT_INTEGERS, '-1', '1000']],
    ['plain', 'NAXIS1', [...NOT_INTEGERS, '-1']],
    ['table', 'PCOUNT', [...NOT_INTEGERS, '-1', '-2147483648']],
    ['table', 'GCOUNT', [...NOT_INTEGERS, '0', '-1']],
    ['table', 'TFIELDS', [...NOT_INTEGERS, '-1', '1000']],
    ['table', 'TSCAL1', [...NOT_NUMBERS, '0'], 'TFORM1'],
    ['table', 'TZERO1', NOT_NUMBERS, 'TFORM1'],
    ['table', 'TNULL1', NOT_INTEGERS, 'TFORM1'],
    ['table', 'THEAP', [...NOT_INTEGERS, '-1'], 'TFIELDS'],
    ['rice', 'ZBITPIX', [...NOT_INTEGERS, '12']],
    ['rice', 'ZNAXIS', [...NOT_INTEGERS, '-1']],
    ['rice', 'ZNAXIS2', [...NOT_INTEGERS, '-1', String(MAX_PIXELS), '9007199254740993']],
    ['rice', 'ZTILE1', [...NOT_INTEGERS, '0', '-3']],
    ['rice', 'ZVAL1', [...NOT_INTEGERS, '0', '-1E30']], // BLOCKSIZE
    ['rice', 'ZVAL2', [...NOT_INTEGERS, '3', '0']], // BYTEPIX
    ['rice', 'BZERO', NOT_NUMBERS],
    ['rice', 'ZBLANK', NOT_INTEGERS, 'ZCMPTYPE'],
    ['rice', 'ZSCALE', NOT_NUMBERS, 'ZCMPTYPE'],
    ['rice', 'ZZERO', NOT_NUMBERS, 'ZCMPTYPE'],
    ['rice', 'ZDITHER0', [...NOT_INTEGERS, '0', '10001'], 'ZCMPTYPE'],
  ];
  it.each(cases)('%s: %s', (file, key, values, after) => {
    for (const v of values) {
      const err = failure(withValue(FILES[file], key, v, after));
      expect(err, `${key} = ${v}`).not.toBeNull();
      // the reason names the keyword (or the quantity it feeds), never a bare code
      expect(err!.message, `${key} = ${v}`).toMatch(new RegExp(`${key.replace(/\d+$/, '')}|BLOCKSIZE|BYTEPIX|pixels|tiles|data unit`));
      expect(['BAD_HEADER', 'BAD_BITPIX', 'UNSUPPORTED', 'CORRUPT']).toContain(err!.code);
    }
  });

  it("the issue's file: BZERO = 'abc' is refused by readHeaders with the keyword and value in the reason", () => {
    const err = failure(withValue(FILES.plain, 'BZERO', "'abc'"));
    expect(err?.code).toBe('BAD_HEADER');
    expect(err?.message).toMatch(/BZERO is not a number \('abc'\)/);
  });

  it('GCOUNT ≤ 0 and a huge ZNAXIS2 (the fuzz findings of the issue) give a FitsError with a reason', () => {
    expect(failure(withValue(FILES.table, 'GCOUNT', '0'))?.message).toMatch(/GCOUNT = 0 is out of range/);
    expect(failure(withValue(FILES.table, 'GCOUNT', '-1'))?.message).toMatch(/GCOUNT = -1 is out of range/);
    expect(failure(withValue(FILES.rice, 'ZNAXIS2', '1E30'))?.message).toMatch(/ZNAXIS2 is not an integer/);
    expect(failure(withValue(FILES.rice, 'ZNAXIS2', '2000000'))?.message).toMatch(/cannot hold an image of|tiles for an image/);
    expect(failure(withValue(FILES.rice, 'ZNAXIS2', '900000000'))?.message).toMatch(/more than the 268435456 this reader holds/);
  });

  it('valid values still read (the check is not stricter than FITS)', () => {
    for (const [k, v] of [['BZERO', '1.0D2'], ['BSCALE', '-2.5E-1'], ['NAXIS1', '8']] as const) expect(failure(withValue(FILES.plain, k, v)), k).toBeNull();
    expect(failure(withValue(FILES.rice, 'ZTILE1', '100'))).toBeNull(); // a tile wider than the image
    expect(formatCard({ key: 'BZERO', value: 32768 })[0]).toMatch(/^BZERO   =\s+32768/);
  });
});
