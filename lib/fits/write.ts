/**
 * Writing FITS: image HDUs and binary tables, zero-padded data units, CHECKSUM/DATASUM in every HDU,
 * optional RICE_1 tile compression of integer images, atomic file writes.
 *
 * Output is deterministic (no timestamps), so identical inputs give identical bytes — and identical
 * sha256 in content-addressed storage.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { addSums, encodeChecksum, onesSum } from './checksum.ts';
import { compressImageRice } from './compressed.ts';
import { FitsError } from './errors.ts';
import { BLOCK, CARD, formatHeader, normKey, type FitsCard } from './header.ts';
import { encodePixels } from './pixels.ts';
import type { Bitpix } from './read.ts';
import { encodeBinTable, type TableColumn } from './table.ts';

export interface ImageInput {
  kind: 'image';
  bitpix: Bitpix;
  width: number;
  height: number;
  /** Physical values, row-major; quantised as round((v − bzero)/bscale) for integer BITPIX (NaN → BLANK). */
  data: ArrayLike<number>;
  bzero?: number;
  bscale?: number;
  cards?: FitsCard[];
  extname?: string;
}

export interface TableInput {
  kind: 'table';
  extname: string;
  columns: TableColumn[];
  cards?: FitsCard[];
}

export interface WriteOptions {
  /** Write CHECKSUM and DATASUM in every HDU (default true). */
  checksum?: boolean;
  /** 'rice': RICE_1-compress integer images into BINTABLE extensions (a `.fits.fz` file). */
  compress?: 'rice';
}

/** Keywords the writer owns: dropped from user cards (so a header read from a file can be passed back). */
const RESERVED =
  /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|BZERO|BSCALE|BLANK|CHECKSUM|DATASUM|END|TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP|BCOL)\d+|ZIMAGE|ZCMPTYPE|ZBITPIX|ZNAXIS\d*|ZTILE\d+|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZDITHER0|ZMASKCMP|ZBLANK|ZSIMPLE|ZTENSION|ZEXTEND|ZBLOCKED|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM|ZSCALE|ZZERO)$/;

function userCards(cards: FitsCard[] | undefined, extname: string | undefined): FitsCard[] {
  const out: FitsCard[] = [];
  if (extname !== undefined) out.push({ key: 'EXTNAME', value: extname, comment: 'extension name' });
  for (const c of cards ?? []) {
    const k = normKey(c.key);
    if (RESERVED.test(k)) continue;
    if (extname !== undefined && k === 'EXTNAME') continue;
    out.push(c);
  }
  return out;
}

/** Header + data + padding of one HDU, with CHECKSUM/DATASUM filled in when asked. */
function assemble(cards: FitsCard[], data: Uint8Array, checksum: boolean): Buffer[] {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  const padding = Buffer.alloc(pad);
  if (!checksum) return [formatHeader(cards), Buffer.from(data.buffer, data.byteOffset, data.byteLength), padding];
  const dsum = onesSum(data.length % 4 === 0 ? data : Buffer.concat([data, Buffer.alloc(4 - (data.length % 4))]));
  const all = [
    ...cards,
    { key: 'CHECKSUM', value: '0000000000000000', comment: 'HDU checksum' },
    { key: 'DATASUM', value: String(dsum), comment: 'data unit checksum' },
  ];
  const header = formatHeader(all);
  const hsum = onesSum(header);
  const encoded = encodeChecksum(addSums(hsum, dsum), true);
  // Patch the placeholder in place: the CHECKSUM card's value starts at column 12.
  let at = -1;
  for (let i = 0; i < header.length; i += CARD) {
    if (header.toString('latin1', i, i + 10) === 'CHECKSUM= ') {
      at = i + 11;
      break;
    }
  }
  header.write(encoded, at, 'latin1');
  return [header, Buffer.from(data.buffer, data.byteOffset, data.byteLength), padding];
}

function checkImage(img: ImageInput): void {
  const where = `image${img.extname ? ` ${img.extname}` : ''}`;
  if (![8, 16, 32, -32, -64].includes(img.bitpix)) throw new FitsError('BAD_BITPIX', `${where}: BITPIX ${img.bitpix} cannot be written`);
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new FitsError('BAD_VALUE', `${where}: invalid size ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height) {
    throw new FitsError('BAD_VALUE', `${where}: ${img.data.length} values for ${img.width}x${img.height} pixels`);
  }
  if (img.bscale === 0) throw new FitsError('BAD_VALUE', `${where}: BSCALE must not be 0`);
}

function imageHdu(img: ImageInput, primary: boolean, opts: WriteOptions): Buffer[] {
  checkImage(img);
  const isInt = img.bitpix > 0;
  const bzero = isInt ? (img.bzero ?? 0) : 0;
  const bscale = isInt ? (img.bscale ?? 1) : 1;
  const userBlank = isInt ? img.cards?.find((c) => normKey(c.key) === 'BLANK')?.value : undefined;
  const { bytes, hasNaN, blank } = encodePixels(img.data, img.bitpix, bzero, bscale, typeof userBlank === 'number' ? userBlank : undefined);
  const scaling: FitsCard[] = [];
  if (isInt && (bzero !== 0 || bscale !== 1)) {
    scaling.push({ key: 'BZERO', value: bzero, comment: 'physical = BZERO + BSCALE * stored' });
    scaling.push({ key: 'BSCALE', value: bscale, comment: 'physical = BZERO + BSCALE * stored' });
  }
  if (isInt && hasNaN) scaling.push({ key: 'BLANK', value: blank as number, comment: 'stored value of undefined pixels' });
  const extra = [...scaling, ...userCards(img.cards, img.extname)];

  if (opts.compress === 'rice' && isInt) {
    const raw =
      img.bitpix === 16
        ? new Int16Array(new Uint8Array(bytes).buffer)
        : img.bitpix === 32
          ? new Int32Array(new Uint8Array(bytes).buffer)
          : new Uint8Array(bytes);
    if (img.bitpix !== 8) (img.bitpix === 16 ? Buffer.from(raw.buffer).swap16() : Buffer.from(raw.buffer).swap32());
    const c = compressImageRice(raw, img.bitpix as 8 | 16 | 32, img.width, img.height, extra, false);
    const withName = c.cards.some((x) => normKey(x.key) === 'EXTNAME') ? c.cards : [...c.cards, { key: 'EXTNAME', value: 'COMPRESSED_IMAGE', comment: 'name of this binary table extension' }];
    return assemble(withName, c.data, opts.checksum ?? true);
  }
  if (opts.compress === 'rice') {
    throw new FitsError('UNSUPPORTED', `RICE compression of BITPIX ${img.bitpix} (floating-point) images is not supported; write them uncompressed`);
  }
  const cards: FitsCard[] = primary
    ? [
        { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
        { key: 'BITPIX', value: img.bitpix, comment: 'array data type' },
        { key: 'NAXIS', value: 2, comment: 'number of array dimensions' },
        { key: 'NAXIS1', value: img.width },
        { key: 'NAXIS2', value: img.height },
        { key: 'EXTEND', value: true },
      ]
    : [
        { key: 'XTENSION', value: 'IMAGE', comment: 'Image extension' },
        { key: 'BITPIX', value: img.bitpix, comment: 'array data type' },
        { key: 'NAXIS', value: 2, comment: 'number of array dimensions' },
        { key: 'NAXIS1', value: img.width },
        { key: 'NAXIS2', value: img.height },
        { key: 'PCOUNT', value: 0, comment: 'number of parameters' },
        { key: 'GCOUNT', value: 1, comment: 'number of groups' },
      ];
  return assemble([...cards, ...extra], bytes, opts.checksum ?? true);
}

function emptyPrimary(opts: WriteOptions): Buffer[] {
  const cards: FitsCard[] = [
    { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 0, comment: 'number of array dimensions' },
    { key: 'EXTEND', value: true },
  ];
  return assemble(cards, new Uint8Array(0), opts.checksum ?? true);
}

function tableHdu(t: TableInput, opts: WriteOptions): Buffer[] {
  const { rowBytes, rows, data, tforms } = encodeBinTable(t.columns, t.extname);
  const cards: FitsCard[] = [
    { key: 'XTENSION', value: 'BINTABLE', comment: 'binary table extension' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 2, comment: 'number of array dimensions' },
    { key: 'NAXIS1', value: rowBytes, comment: 'length of dimension 1' },
    { key: 'NAXIS2', value: rows, comment: 'length of dimension 2' },
    { key: 'PCOUNT', value: 0, comment: 'number of group parameters' },
    { key: 'GCOUNT', value: 1, comment: 'number of groups' },
    { key: 'TFIELDS', value: t.columns.length, comment: 'number of table fields' },
  ];
  t.columns.forEach((c, i) => {
    cards.push({ key: `TTYPE${i + 1}`, value: c.name }, { key: `TFORM${i + 1}`, value: tforms[i] });
    if (c.unit) cards.push({ key: `TUNIT${i + 1}`, value: c.unit });
  });
  return assemble([...cards, ...userCards(t.cards, t.extname)], data, opts.checksum ?? true);
}

/**
 * Serialises HDUs into one FITS file image. The first image becomes the primary HDU (with
 * `compress: 'rice'`, or when the first HDU is a table, the primary HDU is empty and every HDU is an
 * extension).
 */
export function writeFits(hdus: Array<ImageInput | TableInput>, opts: WriteOptions = {}): Buffer {
  if (hdus.length === 0) throw new FitsError('BAD_VALUE', 'nothing to write: no HDUs given');
  const parts: Buffer[] = [];
  const primaryImage = hdus[0].kind === 'image' && opts.compress !== 'rice';
  if (!primaryImage) parts.push(...emptyPrimary(opts));
  hdus.forEach((h, i) => {
    if (h.kind === 'image') parts.push(...imageHdu(h, i === 0 && primaryImage, opts));
    else if (h.kind === 'table') parts.push(...tableHdu(h, opts));
    else throw new FitsError('BAD_VALUE', `HDU ${i}: unknown kind ${(h as { kind: unknown }).kind}`);
  });
  return Buffer.concat(parts);
}

/** Writes a FITS file atomically: a temporary file beside it, fsync, rename over the target. */
export async function writeFitsFile(path: string, hdus: Array<ImageInput | TableInput>, opts: WriteOptions = {}): Promise<void> {
  const buf = writeFits(hdus, opts);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(tmp, 'w');
  } catch (err) {
    throw new FitsError('IO', `cannot write ${path}: ${(err as Error).message}`);
  }
  try {
    await fh.writeFile(buf);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new FitsError('IO', `cannot write ${path}: ${(err as Error).message}`);
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new FitsError('IO', `cannot write ${path}: ${(err as Error).message}`);
  }
  // Make the rename durable too.
  try {
    const dh = await open(dirname(path), 'r');
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    /* directories cannot be opened on every platform */
  }
}
