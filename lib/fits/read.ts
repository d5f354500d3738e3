/** Public reading API: headers only, images (plain and tile-compressed), tables, checksum verification. */
import { addSums, NEGATIVE_ZERO, onesSum } from './checksum.ts';
import { decompressImage } from './compressed.ts';
import { FitsError } from './errors.ts';
import { BLOCK, type Header } from './header.ts';
import { scanHdus, selectHdu, type HduInfo } from './hdus.ts';
import { decodeImageInto } from './pixels.ts';
import { withSource, type Source } from './source.ts';
import { decodeAsciiTable, decodeBinTable, type ColumnValues } from './table.ts';

export type Bitpix = 8 | 16 | 32 | -32 | -64;

export interface ImageHdu {
  index: number;
  type: 'image';
  /** The image header; for a compressed HDU, the uncompressed image's header (ZBITPIX → BITPIX, …). */
  header: Header;
  bitpix: Bitpix;
  width: number;
  height: number;
  compressed: boolean;
  /** Physical values (BZERO/BSCALE applied, BLANK → NaN), row-major, width fastest. */
  data: Float32Array | Float64Array;
  /** All axes in FITS order (width, height, …) — more than two for cubes, whose planes follow each other. */
  shape: number[];
}

/** Every HDU's header and layout. For a path only header blocks are read; data is never decoded. */
export function readHeaders(src: string | Buffer): HduInfo[] {
  return withSource(src, scanHdus);
}

function isImage(h: HduInfo): boolean {
  return (h.type === 'image' && h.dataBytes > 0) || h.type === 'compressed-image';
}

function nameOf(src: string | Buffer): string {
  return typeof src === 'string' ? src : '<buffer>';
}

/** Reads an image: by default the first HDU with image data (primary, IMAGE or compressed extension). */
export function readImage(src: string | Buffer, hdu?: number | string): ImageHdu {
  return withSource(src, (s) => readImageFrom(s, hdu, nameOf(src)));
}

function readImageFrom(s: Source, which: number | string | undefined, name: string): ImageHdu {
  const hdus = scanHdus(s);
  let info: HduInfo | undefined;
  if (which === undefined) {
    info = hdus.find(isImage);
    if (!info) throw new FitsError('NO_IMAGE', `${name}: no HDU holds image data (${hdus.map((h) => h.type).join(', ')})`);
  } else {
    info = selectHdu(hdus, which, name);
    if (!isImage(info)) throw new FitsError('NO_IMAGE', `${name}: HDU ${info.index} is ${info.type === 'empty' ? 'empty' : `a ${info.type}`}, not an image`);
  }
  const bitpix = info.bitpix;
  if (bitpix === 64) throw new FitsError('UNSUPPORTED', `${name}: HDU ${info.index}: 64-bit integer images are not supported`);
  const shape = info.shape;
  const width = shape[0] ?? 0;
  const height = shape.length > 1 ? shape[1] : 1;
  if (info.type === 'compressed-image') {
    const { data, header } = decompressImage(info, s, name);
    return { index: info.index, type: 'image', header, bitpix: bitpix as Bitpix, width, height, compressed: true, data, shape };
  }
  const h = info.header;
  const n = shape.reduce((a, b) => a * b, 1);
  const blank = bitpix > 0 ? h.getNumber('BLANK') : undefined;
  let data: Float32Array | Float64Array;
  try {
    data = decodeImageInto((t) => s.readInto(info.dataOffset, t), bitpix, n, h.getNumber('BZERO') ?? 0, h.getNumber('BSCALE') ?? 1, blank);
  } catch (err) {
    if (err instanceof FitsError) throw new FitsError(err.code, `${name}: HDU ${info.index}: ${err.message}`);
    throw err;
  }
  return { index: info.index, type: 'image', header: h, bitpix: bitpix as Bitpix, width, height, compressed: false, data, shape };
}

/** Reads the fixed-width columns of a BINTABLE (or ASCII TABLE) HDU, chosen by index or EXTNAME. */
export function readTable(
  src: string | Buffer,
  hdu: number | string,
): { header: Header; rows: number; columns: Record<string, ColumnValues> } {
  return withSource(src, (s) => {
    const name = nameOf(src);
    const info = selectHdu(scanHdus(s), hdu, name);
    if (info.type !== 'bintable' && info.type !== 'table' && info.type !== 'compressed-image') {
      throw new FitsError('NOT_A_TABLE', `${name}: HDU ${info.index} is ${info.type === 'empty' ? 'empty' : `an ${info.type}`}, not a table`);
    }
    const bytes = s.read(info.dataOffset, info.dataBytes);
    const t = info.type === 'table' ? decodeAsciiTable(bytes, info.header) : decodeBinTable(bytes, info.header, name);
    return { header: info.header, ...t };
  });
}

export type ChecksumStatus = 'ok' | 'bad' | 'missing';

/** Checks DATASUM and CHECKSUM of every HDU (FITS checksum convention). */
export function verifyChecksums(src: string | Buffer): { hdu: number; datasum: ChecksumStatus; checksum: ChecksumStatus }[] {
  return withSource(src, (s) =>
    scanHdus(s).map((info) => {
      const h = info.header;
      const padded = Math.ceil(info.dataBytes / BLOCK) * BLOCK;
      const data = s.read(info.dataOffset, padded);
      const dsum = onesSum(data);
      const ds = h.get('DATASUM');
      let datasum: ChecksumStatus = 'missing';
      if (ds !== undefined) datasum = Number(typeof ds === 'string' ? ds.trim() : ds) === dsum ? 'ok' : 'bad';
      let checksum: ChecksumStatus = 'missing';
      if (h.has('CHECKSUM')) {
        const head = s.read(info.headerOffset, info.dataOffset - info.headerOffset);
        checksum = addSums(onesSum(head), dsum) === NEGATIVE_ZERO ? 'ok' : 'bad';
      }
      return { hdu: info.index, datasum, checksum };
    }),
  );
}
