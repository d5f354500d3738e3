/**
 * A header-only primary HDU (NAXIS = 0) that carries keywords, and assembling it in front of
 * extensions written by lib/fits.
 *
 * Why here: lib/fits `writeFits` gives a file that starts with a table an *empty* primary HDU
 * (SIMPLE, BITPIX, NAXIS, EXTEND only). SVOM products put their keywords in the primary header, so
 * this module writes that header itself with lib/fits' public header formatter and checksum helpers,
 * then replaces writeFits' empty primary. Proposed upstream: a `primaryCards` option of writeFits.
 */
import { encodeChecksum, formatHeader, onesSum, readHeaders, type FitsCard } from '../../../lib/fits/index.ts';

const CARD = 80;

/** Keywords the primary header's structure owns: never taken from the caller's cards. */
const STRUCTURAL = /^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|CHECKSUM|DATASUM|END|XTENSION|PCOUNT|GCOUNT)$/;

/**
 * The bytes of a primary HDU without data, holding `cards` after the mandatory keywords, with
 * CHECKSUM/DATASUM (DATASUM = '0': no data). Long strings use CONTINUE with LONGSTRN declared.
 */
export function headerOnlyPrimary(cards: FitsCard[]): Buffer {
  const all: FitsCard[] = [
    { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 0, comment: 'no data in the primary HDU' },
    { key: 'EXTEND', value: true, comment: 'extensions follow' },
    ...cards.filter((c) => !STRUCTURAL.test(c.key.trim().toUpperCase())),
    { key: 'CHECKSUM', value: '0000000000000000', comment: 'HDU checksum' },
    { key: 'DATASUM', value: '0', comment: 'data unit checksum' },
  ];
  const header = formatHeader(all);
  // The data sum is 0, so the HDU sum is the header sum (with the all-'0' placeholder).
  const encoded = encodeChecksum(onesSum(header), true);
  for (let i = 0; i < header.length; i += CARD) {
    if (header.toString('latin1', i, i + 10) === 'CHECKSUM= ') {
      header.write(encoded, i + 11, 'latin1');
      break;
    }
  }
  return header;
}

/**
 * Replaces the primary HDU of a FITS file written by lib/fits (whose first HDU is a table, so its
 * primary is empty) with `primary`.
 */
export function withPrimary(primary: Buffer, fileWithEmptyPrimary: Buffer): Buffer {
  const hdus = readHeaders(fileWithEmptyPrimary);
  if (hdus.length < 2 || hdus[0].type !== 'empty') throw new Error('expected an empty primary HDU followed by extensions');
  return Buffer.concat([primary, fileWithEmptyPrimary.subarray(hdus[1].headerOffset)]);
}
