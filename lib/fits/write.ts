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
import { encodeFloatInto, encodePixels } from './pixels.ts';
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
  /**
   * All axes in FITS order when the image has more than two, e.g. `[width, height, 1]` for a one-plane
   * cube (NAXIS3 = 1); `shape[0]`/`shape[1]` must equal width/height and `data` holds the planes one after
   * the other. Default `[width, height]`.
   */
  shape?: number[];
}

/**
 * A primary HDU without data (NAXIS = 0) carrying keywords, e.g. the observation keywords of a camera
 * that writes its image into extension 1. Only as the first HDU.
 */
export interface EmptyInput {
  kind: 'empty';
  cards?: FitsCard[];
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

/**
 * One HDU before layout: its cards (without CHECKSUM/DATASUM), the length of its data unit and how to
 * write it into the file image (so pixel data is encoded once, in place).
 */
interface PlannedHdu {
  cards: FitsCard[];
  dataBytes: number;
  /** Writes exactly `dataBytes` bytes into `target` (a view on the file image, 8-byte aligned). */
  writeData(target: Uint8Array): void;
}

function planBytes(cards: FitsCard[], data: Uint8Array): PlannedHdu {
  return { cards, dataBytes: data.length, writeData: (t) => t.set(data) };
}

function withChecksumCards(cards: FitsCard[], datasum: number): FitsCard[] {
  return [...cards, { key: 'CHECKSUM', value: '0000000000000000', comment: 'HDU checksum' }, { key: 'DATASUM', value: String(datasum), comment: 'data unit checksum' }];
}

/**
 * The file image of the HDUs: one buffer, sized from the headers' and data units' lengths, each data
 * unit encoded in place and zero-padded to the block, then DATASUM over the padded unit and CHECKSUM
 * patched into its header. (The DATASUM card is one card whatever its value, so the header length is
 * known before the data is summed.)
 */
function layout(hdus: PlannedHdu[], checksum: boolean): Buffer {
  const headerBytes = hdus.map((h) => formatHeader(checksum ? withChecksumCards(h.cards, 0) : h.cards).length);
  const padded = hdus.map((h) => Math.ceil(h.dataBytes / BLOCK) * BLOCK);
  const total = hdus.reduce((a, _h, i) => a + headerBytes[i] + padded[i], 0);
  // every byte is written below: uninitialised memory (no zero fill, no fresh pages when recycled)
  const out = Buffer.allocUnsafeSlow(total);
  let off = 0;
  hdus.forEach((h, i) => {
    const dataOff = off + headerBytes[i];
    h.writeData(out.subarray(dataOff, dataOff + h.dataBytes));
    out.fill(0, dataOff + h.dataBytes, dataOff + padded[i]);
    let header: Buffer;
    if (checksum) {
      const dsum = onesSum(out.subarray(dataOff, dataOff + padded[i]));
      header = formatHeader(withChecksumCards(h.cards, dsum));
      if (header.length !== headerBytes[i]) throw new FitsError('BAD_VALUE', `HDU ${i}: header length changed with its DATASUM`);
      const encoded = encodeChecksum(addSums(onesSum(header), dsum), true);
      // Patch the placeholder in place: the CHECKSUM card's value starts at column 12.
      let at = -1;
      for (let c = 0; c < header.length; c += CARD) {
        if (header.toString('latin1', c, c + 10) === 'CHECKSUM= ') {
          at = c + 11;
          break;
        }
      }
      header.write(encoded, at, 'latin1');
    } else header = formatHeader(h.cards);
    header.copy(out, off);
    off = dataOff + padded[i];
  });
  return out;
}

/** Checks an image input; returns its axes in FITS order. */
function checkImage(img: ImageInput): number[] {
  const where = `image${img.extname ? ` ${img.extname}` : ''}`;
  if (![8, 16, 32, -32, -64].includes(img.bitpix)) throw new FitsError('BAD_BITPIX', `${where}: BITPIX ${img.bitpix} cannot be written`);
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new FitsError('BAD_VALUE', `${where}: invalid size ${img.width}x${img.height}`);
  }
  const axes = img.shape ?? [img.width, img.height];
  if (axes.length < 2 || axes.length > 999 || axes[0] !== img.width || axes[1] !== img.height || axes.some((a) => !Number.isInteger(a) || a < 1)) {
    throw new FitsError('BAD_VALUE', `${where}: shape [${axes.join(', ')}] does not start with ${img.width}, ${img.height} or has an axis < 1`);
  }
  const n = axes.reduce((a, b) => a * b, 1);
  if (img.data.length !== n) {
    throw new FitsError('BAD_VALUE', `${where}: ${img.data.length} values for ${axes.join('x')} pixels`);
  }
  if (img.bscale === 0) throw new FitsError('BAD_VALUE', `${where}: BSCALE must not be 0`);
  return axes;
}

function imageHdu(img: ImageInput, primary: boolean, opts: WriteOptions): PlannedHdu {
  const axes = checkImage(img);
  const isInt = img.bitpix > 0;
  const bzero = isInt ? (img.bzero ?? 0) : 0;
  const bscale = isInt ? (img.bscale ?? 1) : 1;
  const userBlank = isInt ? img.cards?.find((c) => normKey(c.key) === 'BLANK')?.value : undefined;
  const n = img.data.length;
  const bytesPer = Math.abs(img.bitpix) / 8;
  // floats (no scaling, no BLANK) and plain bytes are encoded straight into the file image; other
  // integers first, since a NaN among them adds a BLANK card to the header
  const direct = opts.compress !== 'rice' && (!isInt || (img.bitpix === 8 && img.data instanceof Uint8Array && bzero === 0 && bscale === 1));
  const encoded = direct ? null : encodePixels(img.data, img.bitpix, bzero, bscale, typeof userBlank === 'number' ? userBlank : undefined);
  const hasNaN = encoded?.hasNaN ?? false;
  const blank = encoded?.blank;
  const bytes = encoded?.bytes;
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
        ? new Int16Array(new Uint8Array(bytes!).buffer)
        : img.bitpix === 32
          ? new Int32Array(new Uint8Array(bytes!).buffer)
          : new Uint8Array(bytes!);
    if (img.bitpix !== 8) (img.bitpix === 16 ? Buffer.from(raw.buffer).swap16() : Buffer.from(raw.buffer).swap32());
    const c = compressImageRice(raw, img.bitpix as 8 | 16 | 32, img.width, img.height, extra, false, axes);
    const withName = c.cards.some((x) => normKey(x.key) === 'EXTNAME') ? c.cards : [...c.cards, { key: 'EXTNAME', value: 'COMPRESSED_IMAGE', comment: 'name of this binary table extension' }];
    return planBytes(withName, c.data);
  }
  if (opts.compress === 'rice') {
    throw new FitsError('UNSUPPORTED', `RICE compression of BITPIX ${img.bitpix} (floating-point) images is not supported; write them uncompressed`);
  }
  const naxes: FitsCard[] = axes.map((a, i) => ({ key: `NAXIS${i + 1}`, value: a }));
  const cards: FitsCard[] = primary
    ? [
        { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
        { key: 'BITPIX', value: img.bitpix, comment: 'array data type' },
        { key: 'NAXIS', value: axes.length, comment: 'number of array dimensions' },
        ...naxes,
        { key: 'EXTEND', value: true },
      ]
    : [
        { key: 'XTENSION', value: 'IMAGE', comment: 'Image extension' },
        { key: 'BITPIX', value: img.bitpix, comment: 'array data type' },
        { key: 'NAXIS', value: axes.length, comment: 'number of array dimensions' },
        ...naxes,
        { key: 'PCOUNT', value: 0, comment: 'number of parameters' },
        { key: 'GCOUNT', value: 1, comment: 'number of groups' },
      ];
  const all = [...cards, ...extra];
  if (bytes) return planBytes(all, bytes);
  const data = img.data;
  if (isInt) return { cards: all, dataBytes: n, writeData: (t) => t.set(data as Uint8Array) };
  return { cards: all, dataBytes: n * bytesPer, writeData: (t) => encodeFloatInto(data, img.bitpix as -32 | -64, t) };
}

function emptyPrimary(userKeys?: FitsCard[]): PlannedHdu {
  const cards: FitsCard[] = [
    { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 0, comment: 'number of array dimensions' },
    { key: 'EXTEND', value: true },
    ...userCards(userKeys, undefined),
  ];
  return planBytes(cards, new Uint8Array(0));
}

function tableHdu(t: TableInput): PlannedHdu {
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
  return planBytes([...cards, ...userCards(t.cards, t.extname)], data);
}

export type HduInput = ImageInput | TableInput | EmptyInput;

/**
 * Serialises HDUs into one FITS file image. The first image becomes the primary HDU (with
 * `compress: 'rice'`, or when the first HDU is a table, the primary HDU is empty and every HDU is an
 * extension). A first `{ kind: 'empty', cards }` is the primary HDU itself: every image is then an
 * extension.
 */
export function writeFits(hdus: HduInput[], opts: WriteOptions = {}): Buffer {
  if (hdus.length === 0) throw new FitsError('BAD_VALUE', 'nothing to write: no HDUs given');
  const parts: PlannedHdu[] = [];
  const primaryImage = hdus[0].kind === 'image' && opts.compress !== 'rice';
  if (hdus[0].kind === 'empty') parts.push(emptyPrimary(hdus[0].cards));
  else if (!primaryImage) parts.push(emptyPrimary());
  hdus.forEach((h, i) => {
    if (h.kind === 'image') parts.push(imageHdu(h, i === 0 && primaryImage, opts));
    else if (h.kind === 'table') parts.push(tableHdu(h));
    else if (h.kind === 'empty') {
      if (i !== 0) throw new FitsError('BAD_VALUE', `HDU ${i}: an empty HDU can only be the primary HDU (first)`);
    } else throw new FitsError('BAD_VALUE', `HDU ${i}: unknown kind ${(h as { kind: unknown }).kind}`);
  });
  return layout(parts, opts.checksum ?? true);
}

/** Writes a FITS file atomically: a temporary file beside it, fsync, rename over the target. */
export async function writeFitsFile(path: string, hdus: HduInput[], opts: WriteOptions = {}): Promise<void> {
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
