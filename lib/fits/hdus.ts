/**
 * HDU structure: walks a FITS file header by header, computing each data unit's offset and size from
 * BITPIX, NAXISn, PCOUNT and GCOUNT, without reading the data (FITS Standard 4.0, sections 3–7).
 */
import { FitsError } from './errors.ts';
import { BLOCK, Header, parseHeaderBlocks } from './header.ts';
import { checkNumericKeywords, intKeyword } from './keywords.ts';
import type { Source } from './source.ts';

/** 'other': a conforming extension of a type we do not read (XTENSION not IMAGE, TABLE or BINTABLE): skipped. */
export type HduType = 'image' | 'bintable' | 'table' | 'compressed-image' | 'empty' | 'other';

export interface HduInfo {
  index: number;
  type: HduType;
  header: Header;
  /** BITPIX of the data (ZBITPIX for a compressed image). */
  bitpix: number;
  /** Axis lengths in FITS order [NAXIS1, NAXIS2, …] (ZNAXISn for a compressed image); [] when no data. */
  shape: number[];
  extname?: string;
  /** Byte offset of the data unit in the file. */
  dataOffset: number;
  /** Size of the data unit without the final block padding (main table + heap for tables). */
  dataBytes: number;
  /** Offset of the header in the file. */
  headerOffset: number;
}

const VALID_BITPIX = new Set([8, 16, 32, 64, -32, -64]);

function intKey(h: Header, key: string, name: string, hdu: number, dflt?: number, min?: number, max?: number): number {
  return intKeyword(h, key, `${name}: HDU ${hdu}`, { dflt, min, max });
}

/** Reads header blocks starting at `pos`, growing the read until END. */
function readHeaderAt(src: Source, pos: number, index: number): { header: Header; end: number } {
  let want = BLOCK; // one block, then 4, 16, …: reads little beyond the END card
  for (;;) {
    const bytes = src.read(pos, want);
    const parsed = parseHeaderBlocks(bytes, 0);
    if (parsed) return { header: new Header(parsed.cards), end: pos + parsed.end };
    if (pos + want >= src.size) {
      throw new FitsError('TRUNCATED', `${src.name}: HDU ${index}: the file ends inside the header (no END card)`);
    }
    want *= 4;
  }
}

function startsWith(src: Source, pos: number, text: string): boolean {
  const b = src.read(pos, text.length);
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1', 0, b.length) === text;
}

/** Every HDU's header and data location; checks that each data unit is present in full. */
export function scanHdus(src: Source): HduInfo[] {
  if (src.size === 0) throw new FitsError('NOT_FITS', `${src.name}: empty file`);
  if (!startsWith(src, 0, 'SIMPLE  =')) throw new FitsError('NOT_FITS', `${src.name}: not a FITS file (it does not start with a SIMPLE card)`);
  if (src.size < BLOCK) throw new FitsError('TRUNCATED', `${src.name}: shorter than one 2880-byte FITS block (${src.size} bytes)`);
  const out: HduInfo[] = [];
  let pos = 0;
  while (pos < src.size) {
    const index = out.length;
    if (index > 0) {
      // After the last HDU there may be padding or junk; only an XTENSION card starts a new HDU.
      if (src.size - pos < 8 || !startsWith(src, pos, 'XTENSION')) break;
    }
    const { header, end } = readHeaderAt(src, pos, index);
    const bitpix = intKey(header, 'BITPIX', src.name, index);
    if (!VALID_BITPIX.has(bitpix)) throw new FitsError('BAD_BITPIX', `${src.name}: HDU ${index}: invalid BITPIX ${bitpix}`);
    const naxis = intKey(header, 'NAXIS', src.name, index, undefined, 0, 999);
    const axes: number[] = [];
    for (let i = 1; i <= naxis; i++) axes.push(intKey(header, `NAXIS${i}`, src.name, index, undefined, 0));
    const xt = index === 0 ? undefined : (header.getString('XTENSION') ?? '').trim().toUpperCase();
    // PCOUNT ≥ 0 and GCOUNT ≥ 1 (FITS 4.0 §7.1.1): a negative or zero count would make a negative or
    // empty data unit out of a header that announces one.
    const pcount = index === 0 ? 0 : intKey(header, 'PCOUNT', src.name, index, 0, 0);
    const gcount = index === 0 ? 1 : intKey(header, 'GCOUNT', src.name, index, 1, 1);
    const groups = index === 0 && header.get('GROUPS') === true && axes[0] === 0;
    let elements = 0;
    if (naxis > 0) {
      elements = 1;
      for (let i = groups ? 1 : 0; i < naxis; i++) elements *= axes[i];
    }
    const groupPcount = groups ? intKey(header, 'PCOUNT', src.name, index, 0, 0) : pcount;
    const groupGcount = groups ? intKey(header, 'GCOUNT', src.name, index, 1, 1) : gcount;
    const dataBytes = naxis === 0 ? 0 : (Math.abs(bitpix) / 8) * groupGcount * (groupPcount + elements);
    if (!Number.isSafeInteger(dataBytes)) throw new FitsError('BAD_HEADER', `${src.name}: HDU ${index}: NAXISn, PCOUNT and GCOUNT announce a data unit of ${dataBytes} bytes`);
    if (end + dataBytes > src.size) {
      throw new FitsError(
        'TRUNCATED',
        `${src.name}: HDU ${index}: the data unit needs ${dataBytes} bytes but the file has only ${Math.max(0, src.size - end)} after the header`,
      );
    }
    let type: HduType;
    let shape = axes;
    let bp = bitpix;
    const where = `${src.name}: HDU ${index}`;
    if (index === 0 || xt === 'IMAGE') type = dataBytes > 0 ? 'image' : 'empty';
    else if (xt === 'TABLE') type = 'table';
    else if (header.get('ZIMAGE') === true) {
      type = 'compressed-image';
      bp = intKey(header, 'ZBITPIX', src.name, index);
      if (!VALID_BITPIX.has(bp)) throw new FitsError('BAD_BITPIX', `${where}: invalid ZBITPIX ${bp}`);
      const zn = intKey(header, 'ZNAXIS', src.name, index, undefined, 0, 999);
      shape = [];
      for (let i = 1; i <= zn; i++) shape.push(intKey(header, `ZNAXIS${i}`, src.name, index, undefined, 0));
    } else if (xt === 'BINTABLE' || xt === 'A3DTABLE') type = 'bintable';
    else type = 'other';
    if ((type === 'table' || type === 'bintable' || type === 'compressed-image') && (naxis !== 2 || bitpix !== 8)) {
      throw new FitsError('BAD_HEADER', `${where}: a ${xt ?? 'table'} extension needs BITPIX = 8 and NAXIS = 2 (it has ${bitpix} and ${naxis})`);
    }
    if (type !== 'other') checkNumericKeywords(header, type, where);
    if (type === 'empty') shape = [];
    const extname = header.getString('EXTNAME')?.trim();
    const info: HduInfo = { index, type, header, bitpix: bp, shape, dataOffset: end, dataBytes, headerOffset: pos };
    if (extname !== undefined) info.extname = extname;
    out.push(info);
    pos = end + Math.ceil(dataBytes / BLOCK) * BLOCK;
  }
  return out;
}

/** Picks an HDU by index or EXTNAME (case-insensitive; `NAME,VER` selects EXTVER too). */
export function selectHdu(hdus: HduInfo[], which: number | string, name: string): HduInfo {
  if (typeof which === 'number') {
    const h = hdus[which];
    if (!h) throw new FitsError('NO_SUCH_HDU', `${name}: no HDU ${which} (the file has ${hdus.length})`);
    return h;
  }
  const [en, ver] = which.split(',').map((s) => s.trim());
  const want = en.toUpperCase();
  const h = hdus.find(
    (x) => x.extname?.toUpperCase() === want && (ver === undefined || (x.header.getNumber('EXTVER') ?? 1) === Number(ver)),
  );
  if (!h) {
    const names = hdus.map((x) => x.extname).filter(Boolean);
    throw new FitsError('NO_SUCH_HDU', `${name}: no HDU named ${which}${names.length ? ` (extensions: ${names.join(', ')})` : ''}`);
  }
  return h;
}
