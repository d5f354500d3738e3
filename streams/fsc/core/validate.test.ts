import { describe, it, expect } from 'vitest';
import { readHeaders, type FitsCard } from '../../../lib/fits/index.ts';
import { buildProduct } from '../../gic/core/product.ts';
import { headerOnlyPrimary } from '../../gic/core/fitsPrimary.ts';
import { sampleProductInput } from '../../gic/core/sample.ts';
import { validateProduct } from './validate.ts';

const good = () => buildProduct(sampleProductInput({ epochMinutes: 10, n: 3 }));

/** Rewrites the primary header (with valid checksums) so that only the intended defect is present. */
function editPrimary(bytes: Buffer, edit: (cards: FitsCard[]) => FitsCard[]): Buffer {
  const hdus = readHeaders(bytes);
  const cards = hdus[0].header.cards.filter((c) => !/^(SIMPLE|BITPIX|NAXIS|EXTEND|CHECKSUM|DATASUM)$/.test(c.key));
  return Buffer.concat([headerOnlyPrimary(edit(cards)), bytes.subarray(hdus[1].headerOffset)]);
}
const setKey = (key: string, value: FitsCard['value']) => (cards: FitsCard[]) => cards.map((c) => (c.key === key ? { ...c, value } : c));
const dropKey = (key: string) => (cards: FitsCard[]) => cards.filter((c) => c.key !== key);

describe('FSC product validator', () => {
  it('accepts a valid product and reports its content', () => {
    const p = good();
    const v = validateProduct(p.bytes, { productId: p.productId, burstId: 'sb19101601', revision: 0, epochMinutes: 10 });
    expect(v.reasons).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.summary).toMatchObject({ productId: p.productId, burstId: 'sb19101601', obsId: '1910160101', epochMinutes: 10, revision: 0, nCutouts: 3, prdmVersion: 1.005 });
    expect(v.summary.candidates).toHaveLength(3);
    expect(v.summary.points).toHaveLength(30);
    expect(v.summary.candidates[1].fadeIdx).toBeNull();
  });

  it('rejects a flipped byte in a data unit (DATASUM and CHECKSUM of that HDU)', () => {
    const p = good();
    const cand = readHeaders(p.bytes)[1];
    const bad = Buffer.from(p.bytes);
    bad[cand.dataOffset + 40] ^= 0x01;
    const v = validateProduct(bad);
    expect(v.ok).toBe(false);
    expect(v.reasons).toContain('checksum.datasum_bad: HDU 1 (CANDIDATES)');
    expect(v.reasons).toContain('checksum.checksum_bad: HDU 1 (CANDIDATES)');
  });

  it('rejects a flipped byte in a header (CHECKSUM)', () => {
    const p = good();
    const bad = Buffer.from(p.bytes);
    const at = bad.indexOf("TELESCOP= 'COLIBRI") + 11;
    bad[at] = 'K'.charCodeAt(0); // 'KOLIBRI'
    const v = validateProduct(bad);
    expect(v.reasons).toContain('checksum.checksum_bad: HDU 0 (PRIMARY)');
    expect(v.reasons.some((r) => r.startsWith('keyword.value: PRIMARY TELESCOP'))).toBe(true);
  });

  it('rejects a missing mandatory keyword', () => {
    const v = validateProduct(editPrimary(good().bytes, dropKey('TELESCOP')));
    expect(v.reasons).toEqual(['keyword.missing: PRIMARY TELESCOP']);
  });

  it('rejects wrong-typed keywords', () => {
    const v = validateProduct(editPrimary(good().bytes, setKey('PRDM_VER', '1.005')));
    expect(v.reasons).toEqual(['keyword.type: PRIMARY PRDM_VER is a string ("1.005"), expected float']);
    const w = validateProduct(editPrimary(good().bytes, setKey('REVISION', 0.5)));
    expect(w.reasons[0]).toMatch(/^keyword.type: PRIMARY REVISION is a float/);
    const x = validateProduct(editPrimary(good().bytes, setKey('FINAL', 'F')));
    expect(x.reasons[0]).toMatch(/^keyword.type: PRIMARY FINAL is a string/);
  });

  it('rejects wrong keyword values and inconsistent keywords', () => {
    expect(validateProduct(editPrimary(good().bytes, setKey('INSTRUME', 'MXT'))).reasons).toEqual(['keyword.value: PRIMARY INSTRUME = "MXT", expected "FGFT"']);
    expect(validateProduct(editPrimary(good().bytes, setKey('PRDM_VER', 1.004))).reasons).toEqual(['keyword.value: PRIMARY PRDM_VER = 1.004, expected 1.005']);
    expect(validateProduct(editPrimary(good().bytes, setKey('RA_OBJ', 361))).reasons).toEqual(['keyword.range: PRIMARY RA_OBJ = 361 outside [0, 360)']);
    expect(validateProduct(editPrimary(good().bytes, setKey('T0_MET', 1))).reasons[0]).toMatch(/^keyword.inconsistent: T0_MET/);
    expect(validateProduct(editPrimary(good().bytes, setKey('NCAND', 4))).reasons).toEqual(['keyword.inconsistent: NCAND 4 but CANDIDATES has 3 rows']);
  });

  it('rejects out-of-range values in the tables', () => {
    const input = sampleProductInput({ n: 3 });
    const c = input.candidateList.candidates;
    c[0].ra = 400;
    c[1].dec = -95;
    c[2].magErr = -0.1;
    c[2].distanceArcsec = -3;
    c[0].lightCurve[0].mag = 45;
    const v = validateProduct(buildProduct({ ...input, cutouts: [] }).bytes);
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual([
      'range: CANDIDATES.RA = 400 (row 1) outside [0, 360), NaN not allowed; 1 row(s)',
      'range: CANDIDATES.DEC = -95 (row 2) outside [-90, 90], NaN not allowed; 1 row(s)',
      expect.stringMatching(/^range: CANDIDATES.MAG_ERR = -0.1\d* \(row 3\) outside \[0, 5\]/),
      'range: CANDIDATES.DIST_ALERT = -3 (row 3) outside [0, 648000], NaN not allowed; 1 row(s)',
      'range: LIGHTCURVES.MAG = 45 (row 1) outside [0, 30], NaN not allowed; 1 row(s)',
    ]);
  });

  it('rejects a cut-out whose WCS does not put its candidate on the stamp', () => {
    const input = sampleProductInput({ n: 2 });
    input.cutouts![0].wcs = { ...input.cutouts![0].wcs, crval1: input.cutouts![0].wcs.crval1 + 0.1 };
    const v = validateProduct(buildProduct(input).bytes);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(/^wcs.off_image: HDU 4 \(CUTOUT\): candidate GP1 J/);
  });

  it('rejects a product that does not match its announcement, and files that are not FITS', () => {
    const p = good();
    expect(validateProduct(p.bytes, { productId: 'sb19101601_1910160101_5min' }).reasons).toEqual(['announcement.mismatch: key sb19101601_1910160101_5min but PROD_ID sb19101601_1910160101_10min']);
    expect(validateProduct(Buffer.from('hello')).reasons[0]).toMatch(/^fits.structure: /);
    expect(validateProduct(p.bytes.subarray(0, p.bytes.length - 2880)).reasons[0]).toMatch(/^fits.structure: .*TRUNCATED|^fits.structure: /);
  });

  it('rejects a missing extension', () => {
    const p = good();
    const hdus = readHeaders(p.bytes);
    // drop LIGHTCURVES
    const bad = Buffer.concat([p.bytes.subarray(0, hdus[2].headerOffset), p.bytes.subarray(hdus[3].headerOffset)]);
    const v = validateProduct(bad);
    expect(v.reasons).toContain('structure.extension: HDU 2 must be the LIGHTCURVES binary table, found bintable PROVENANCE');
  });
});
