/**
 * Tiled image compression convention (FITS Standard 4.0 section 10; Pence et al.), as written by
 * fpack/cfitsio and astropy and as COLIBRI writes its raw `.fits.fz` files: the image is cut into
 * tiles (ZTILEn), each tile compressed into one row of a BINTABLE with ZIMAGE = T, its bytes in the
 * heap behind a 'P' or 'Q' descriptor of the COMPRESSED_DATA column.
 *
 * Reading: RICE_1 (BYTEPIX 1/2/4, BLOCKSIZE), GZIP_1, GZIP_2 and NOCOMPRESS tiles; integer images with
 * BZERO/BSCALE/BLANK; quantised floating-point images (ZSCALE/ZZERO per tile, ZQUANTIZ NO_DITHER,
 * SUBTRACTIVE_DITHER_1 and _2 with ZDITHER0, ZBLANK) and GZIP_COMPRESSED_DATA / UNCOMPRESSED_DATA
 * fallback tiles. PLIO_1 and HCOMPRESS_1 are refused with an UNSUPPORTED error.
 * Writing: lossless RICE_1 of integer images (BITPIX 8/16/32), one tile per image row.
 */
import { gunzipSync } from 'node:zlib';
import { FitsError } from './errors.ts';
import { Header, type FitsCard } from './header.ts';
import type { HduInfo } from './hdus.ts';
import { allocFloat32, allocFloat64 } from './pixels.ts';
import { riceDecode, riceDecode16, riceEncode } from './rice.ts';
import { riceWasmAvailable, riceWasmWorkspace } from './wasm.ts';
import type { Source } from './source.ts';
import { binColumns, type BinColumn } from './table.ts';
import { MAX_PIXELS_PER_BYTE } from './keywords.ts';

/** The uncompressed image header rebuilt from a compressed HDU's header (what astropy shows). */
export function imageHeaderOf(h: Header): Header {
  const drop = /^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|TTYPE\d+|TFORM\d+|TUNIT\d+|TDIM\d+|TSCAL\d+|TZERO\d+|TNULL\d+|THEAP|ZIMAGE|ZCMPTYPE|ZBITPIX|ZNAXIS\d*|ZTILE\d+|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZMASKCMP|ZBLANK|CHECKSUM|DATASUM|ZSIMPLE|ZTENSION|ZEXTEND|ZBLOCKED|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM)$/;
  const zn = h.getNumber('ZNAXIS') ?? 0;
  const first = h.has('ZSIMPLE') ? { key: 'SIMPLE', value: true } : { key: 'XTENSION', value: h.getString('ZTENSION') ?? 'IMAGE' };
  const cards: FitsCard[] = [first, { key: 'BITPIX', value: h.getNumber('ZBITPIX') ?? 16 }, { key: 'NAXIS', value: zn }];
  for (let i = 1; i <= zn; i++) cards.push({ key: `NAXIS${i}`, value: h.getNumber(`ZNAXIS${i}`) ?? 0 });
  if (h.has('ZSIMPLE')) cards.push({ key: 'EXTEND', value: h.get('ZEXTEND') ?? true });
  else cards.push({ key: 'PCOUNT', value: h.getNumber('ZPCOUNT') ?? 0 }, { key: 'GCOUNT', value: h.getNumber('ZGCOUNT') ?? 1 });
  for (const c of h.cards) {
    if (drop.test(c.key.toUpperCase())) continue;
    cards.push({ ...c });
  }
  if (h.has('ZHECKSUM')) cards.push({ key: 'CHECKSUM', value: h.get('ZHECKSUM') ?? null });
  if (h.has('ZDATASUM')) cards.push({ key: 'DATASUM', value: h.get('ZDATASUM') ?? null });
  return new Header(cards);
}

// Park–Miller sequence of the convention's subtractive dithering: 10000 floats.
let randoms: Float32Array | undefined;
function ditherRandoms(): Float32Array {
  if (randoms) return randoms;
  const a = 16807;
  const m = 2147483647;
  let seed = 1;
  randoms = new Float32Array(10000);
  for (let i = 0; i < 10000; i++) {
    const t = a * seed;
    seed = t - m * Math.floor(t / m);
    randoms[i] = seed / m;
  }
  return randoms;
}

const NULL_VALUE = -2147483647;
const ZERO_VALUE = -2147483646;

function param(h: Header, name: string): number | undefined {
  for (let i = 1; i < 100; i++) {
    const n = h.getString(`ZNAME${i}`);
    if (n === undefined) return undefined;
    if (n.trim().toUpperCase() === name) return h.getNumber(`ZVAL${i}`);
  }
  return undefined;
}

/** Decompresses the image of a compressed HDU, reading its data unit (table + heap) from `src`. */
export function decompressImage(info: HduInfo, src: Source, name: string): { data: Float32Array | Float64Array; header: Header } {
  const h = info.header;
  const where = `${name}: HDU ${info.index}`;
  const cmp = (h.getString('ZCMPTYPE') ?? '').trim().toUpperCase();
  const zbitpix = info.bitpix;
  if (![8, 16, 32, -32, -64].includes(zbitpix)) throw new FitsError('BAD_BITPIX', `${where}: unsupported ZBITPIX ${zbitpix}`);
  if (!['RICE_1', 'RICE_ONE', 'GZIP_1', 'GZIP_2', 'NOCOMPRESS'].includes(cmp)) {
    throw new FitsError('UNSUPPORTED', `${where}: ZCMPTYPE '${cmp}' is not supported (RICE_1, GZIP_1, GZIP_2, NOCOMPRESS are)`);
  }
  const dims = info.shape;
  const ndim = dims.length;
  const total = dims.reduce((a, b) => a * b, 1);
  const tile = dims.map((d, i) => h.getNumber(`ZTILE${i + 1}`) ?? (i === 0 ? d : 1));
  if (tile.some((t) => !Number.isInteger(t) || t < 1)) throw new FitsError('BAD_HEADER', `${where}: invalid ZTILEn (${tile.join(', ')})`);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new FitsError('BAD_HEADER', `${where}: invalid ZNAXISn (${dims.join(', ')})`);
  const cols = binColumns(h, name);
  const col = (n: string) => cols.find((c) => c.name.toUpperCase() === n);
  const cdata = col('COMPRESSED_DATA');
  const gzdata = col('GZIP_COMPRESSED_DATA');
  const udata = col('UNCOMPRESSED_DATA');
  const zscaleCol = col('ZSCALE');
  const zzeroCol = col('ZZERO');
  const zblankCol = col('ZBLANK');
  if (!cdata) throw new FitsError('BAD_HEADER', `${where}: no COMPRESSED_DATA column`);
  const bytepix0 = param(h, 'BYTEPIX');
  const blank0 = h.getNumber('ZBLANK') ?? h.getNumber('BLANK');
  // Check what the tables promise before allocating anything (keywords.ts: every number here is valid).
  const ntiles = dims.map((d, i) => Math.ceil(d / tile[i]));
  const expectedRows = ntiles.reduce((a, b) => a * b, 1);
  const nrows = h.getNumber('NAXIS2') ?? 0;
  if (nrows < expectedRows) throw new FitsError('CORRUPT', `${where}: ${nrows} tiles for an image that needs ${expectedRows}`);
  if (total > MAX_PIXELS_PER_BYTE * Math.max(1, info.dataBytes)) {
    throw new FitsError('CORRUPT', `${where}: a data unit of ${info.dataBytes} bytes cannot hold an image of ${total} pixels`);
  }
  // A tile larger than the image along an axis is the image's length along it.
  for (let i = 0; i < ndim; i++) tile[i] = Math.max(1, Math.min(tile[i], dims[i]));
  const maxTile0 = tile.reduce((a, b) => a * b, 1);
  // 16-bit RICE without BLANK (raw camera frames): WebAssembly decoder, data read straight into its memory.
  const wasm =
    info.dataBytes < 2 ** 31 &&
    (cmp === 'RICE_1' || cmp === 'RICE_ONE') &&
    zbitpix === 16 &&
    (bytepix0 ?? 2) === 2 &&
    blank0 === undefined &&
    !gzdata &&
    !udata &&
    (cdata.type === 'P' || cdata.type === 'Q') &&
    riceWasmAvailable()
      ? riceWasmWorkspace(maxTile0 * 4, info.dataBytes)
      : undefined;
  let data: Uint8Array;
  if (wasm) {
    const got = src.readInto(info.dataOffset, wasm.data);
    if (got < info.dataBytes) throw new FitsError('TRUNCATED', `${where}: data unit incomplete`);
    data = wasm.data;
  } else {
    data = src.read(info.dataOffset, info.dataBytes);
    if (data.length < info.dataBytes) throw new FitsError('TRUNCATED', `${where}: data unit incomplete`);
  }
  const rowBytes = h.getNumber('NAXIS1') ?? 0;
  const heapStart = h.getNumber('THEAP') ?? rowBytes * nrows;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const isFloat = zbitpix < 0;
  const quantised = isFloat && (zscaleCol !== undefined || h.has('ZSCALE'));
  const zq = (h.getString('ZQUANTIZ') ?? (quantised ? 'NO_DITHER' : '')).trim().toUpperCase();
  const dither = zq === 'SUBTRACTIVE_DITHER_1' || zq === 'SUBTRACTIVE_DITHER_2';
  const dither0 = h.getNumber('ZDITHER0') ?? 1;
  const bytepix = param(h, 'BYTEPIX') ?? (quantised ? 4 : Math.abs(zbitpix) / 8);
  const blocksize = param(h, 'BLOCKSIZE') ?? 32; // a positive integer: checked by scanHdus (keywords.ts)
  const bzero = h.getNumber('BZERO') ?? 0;
  const bscale = h.getNumber('BSCALE') ?? 1;
  const blankKey = h.getNumber('ZBLANK') ?? h.getNumber('BLANK');

  // Every pixel is written below (each tile is decoded, or an error is thrown): uninitialised is fine.
  const out = zbitpix === 32 || zbitpix === -64 ? allocFloat64(total) : allocFloat32(total);
  const maxTile = tile.reduce((a, b) => a * b, 1);
  const tileInts = new Int32Array(maxTile);
  const tileFloats = isFloat ? new Float64Array(maxTile) : undefined;
  const rnd = dither ? ditherRandoms() : undefined;

  const descriptor = (c: BinColumn, row: number): [number, number] => {
    const at = row * rowBytes + c.offset;
    if (c.type === 'P') return [view.getInt32(at), view.getInt32(at + 4)];
    if (c.type === 'Q') return [Number(view.getBigInt64(at)), Number(view.getBigInt64(at + 8))];
    throw new FitsError('BAD_HEADER', `${where}: column ${c.name} is not a variable-length array`);
  };
  const scalar = (c: BinColumn | undefined, row: number): number | undefined => {
    if (!c) return undefined;
    const at = row * rowBytes + c.offset;
    switch (c.type) {
      case 'D':
        return view.getFloat64(at);
      case 'E':
        return view.getFloat32(at);
      case 'J':
        return view.getInt32(at);
      case 'I':
        return view.getInt16(at);
      case 'K':
        return Number(view.getBigInt64(at));
      default:
        return undefined;
    }
  };
  const elemSize = (t: string | undefined) => (t === 'B' ? 1 : t === 'I' ? 2 : t === 'J' || t === 'E' ? 4 : t === 'K' || t === 'D' ? 8 : 1);

  // WebAssembly path: descriptors first, then the stream is byte-swapped in place for 32-bit loads.
  let descs: Float64Array | undefined;
  if (wasm) {
    descs = new Float64Array(2 * expectedRows);
    for (let row = 0; row < expectedRows; row++) {
      const [len, off] = descriptor(cdata, row);
      descs[2 * row] = len;
      descs[2 * row + 1] = off;
    }
    wasm.swapData();
  }
  const fast16 =
    (cmp === 'RICE_1' || cmp === 'RICE_ONE') &&
    zbitpix === 16 &&
    bytepix === 2 &&
    blankKey === undefined &&
    tile[0] === dims[0] &&
    tile.every((t, i) => i < 2 || t === 1);
  // Tile loop in FITS order: axis 1 fastest.
  const tidx = new Array<number>(ndim).fill(0);
  for (let row = 0; row < expectedRows; row++) {
    const start = tidx.map((t, i) => t * tile[i]);
    const size = start.map((s, i) => Math.min(tile[i], dims[i] - s));
    const npix = size.reduce((a, b) => a * b, 1);
    const [len, off] = descs ? [descs[2 * row], descs[2 * row + 1]] : descriptor(cdata, row);
    let kind: 'ints' | 'floats' = 'ints';
    if (off < 0 || len < 0 || off + len + heapStart > data.length) throw new FitsError('TRUNCATED', `${where}: tile ${row} lies beyond the heap`);
    if (wasm) {
      const a = wasm.dataBase + heapStart + off;
      let r = -1;
      if (len >= 3) {
        try {
          r = wasm.decode(a, a + len, 0, npix, blocksize, bscale, bzero);
        } catch {
          r = -1; // a memory access trap: the descriptors point nowhere sensible
        }
      }
      if (r < 0 || r > a + len + 12) throw new FitsError('CORRUPT', `${where}: tile ${row}: RICE_1 data ends early (${len} bytes for ${npix} pixels)`);
      copyTile(out, wasm.scratch, dims, start, size, npix);
      for (let i = 0; i < ndim; i++) {
        if (++tidx[i] < ntiles[i]) break;
        tidx[i] = 0;
      }
      continue;
    }
    if (fast16 && len > 0) {
      // Whole-row tiles of a 16-bit image: decode straight into the image.
      let o = 0;
      let stride = 1;
      for (let i = 0; i < ndim; i++) {
        o += start[i] * stride;
        stride *= dims[i];
      }
      riceDecode16(data, heapStart + off, heapStart + off + len, out as Float32Array, o, npix, blocksize, bscale, bzero);
      for (let i = 0; i < ndim; i++) {
        if (++tidx[i] < ntiles[i]) break;
        tidx[i] = 0;
      }
      continue;
    }
    if (len > 0) {
      const bytes = data.subarray(heapStart + off, heapStart + off + len);
      decodeTile(cmp, bytes, tileInts, npix, bytepix, blocksize, where, row);
    } else {
      // Tiles that could not be quantised are stored losslessly in another column.
      const alt = gzdata ?? udata;
      const d = alt ? descriptor(alt, row) : [0, 0];
      if (!alt || d[0] === 0) throw new FitsError('CORRUPT', `${where}: tile ${row} has no data`);
      if (d[1] < 0 || d[0] < 0 || heapStart + d[1] + d[0] * elemSize(alt.heapType) > data.length) throw new FitsError('TRUNCATED', `${where}: tile ${row} lies beyond the heap`);
      let raw: Uint8Array = data.subarray(heapStart + d[1], heapStart + d[1] + d[0] * elemSize(alt.heapType));
      if (alt === gzdata) raw = inflate(raw, npix * 8, where, row);
      if (raw.length < npix * (isFloat ? (zbitpix === -32 ? 4 : 8) : Math.abs(zbitpix) / 8)) throw new FitsError('CORRUPT', `${where}: tile ${row}: ${raw.length} bytes for ${npix} pixels`);
      const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      if (isFloat) {
        kind = 'floats';
        const f = tileFloats as Float64Array;
        for (let k = 0; k < npix; k++) f[k] = zbitpix === -32 ? rv.getFloat32(k * 4) : rv.getFloat64(k * 8);
      } else {
        const bp = Math.abs(zbitpix) / 8;
        for (let k = 0; k < npix; k++) tileInts[k] = bp === 1 ? raw[k] : bp === 2 ? rv.getInt16(k * 2) : rv.getInt32(k * 4);
      }
    }
    // Values of this tile → physical values.
    let target: Float64Array | Float32Array | Int32Array = tileInts;
    if (isFloat && kind === 'ints') {
      const f = tileFloats as Float64Array;
      const zs = scalar(zscaleCol, row) ?? h.getNumber('ZSCALE') ?? 1;
      const zz = scalar(zzeroCol, row) ?? h.getNumber('ZZERO') ?? 0;
      const zb = scalar(zblankCol, row) ?? h.getNumber('ZBLANK');
      if (!quantised) {
        for (let k = 0; k < npix; k++) f[k] = tileInts[k];
      } else if (rnd) {
        let iseed = (row + dither0 - 1) % 10000;
        let next = Math.floor(rnd[iseed] * 500);
        for (let k = 0; k < npix; k++) {
          const q = tileInts[k];
          if (q === zb || q === NULL_VALUE) f[k] = NaN;
          else if (q === ZERO_VALUE && zq === 'SUBTRACTIVE_DITHER_2') f[k] = 0;
          else f[k] = (q - rnd[next] + 0.5) * zs + zz;
          next++;
          if (next === 10000) {
            iseed = (iseed + 1) % 10000;
            next = Math.floor(rnd[iseed] * 500);
          }
        }
      } else {
        for (let k = 0; k < npix; k++) {
          const q = tileInts[k];
          f[k] = q === zb ? NaN : q * zs + zz;
        }
      }
      target = f;
    } else if (isFloat) target = tileFloats as Float64Array;
    // Copy the tile's rows into the image.
    if (target !== tileInts) {
      copyTile(out, target as Float32Array | Float64Array, dims, start, size, npix);
    } else {
      const rowLen = size[0];
      const nlines = npix / Math.max(1, rowLen);
      const lineIdx = new Array<number>(ndim).fill(0);
      for (let line = 0; line < nlines; line++) {
        let o = start[0];
        let stride = dims[0];
        for (let i = 1; i < ndim; i++) {
          o += (start[i] + lineIdx[i]) * stride;
          stride *= dims[i];
        }
        const src = line * rowLen;
        if (bscale === 1 && bzero === 0 && blankKey === undefined) out.set(tileInts.subarray(src, src + rowLen), o);
        else if (blankKey === undefined) for (let k = 0; k < rowLen; k++) out[o + k] = tileInts[src + k] * bscale + bzero;
        else
          for (let k = 0; k < rowLen; k++) {
            const q = tileInts[src + k];
            out[o + k] = q === blankKey ? NaN : q * bscale + bzero;
          }
        for (let i = 1; i < ndim; i++) {
          if (++lineIdx[i] < size[i]) break;
          lineIdx[i] = 0;
        }
      }
    }
    for (let i = 0; i < ndim; i++) {
      if (++tidx[i] < ntiles[i]) break;
      tidx[i] = 0;
    }
  }
  return { data: out, header: imageHeaderOf(h) };
}

/** Copies a tile of physical values (row-major within the tile) into the image. */
function copyTile(out: Float32Array | Float64Array, tileVals: Float32Array | Float64Array, dims: number[], start: number[], size: number[], npix: number): void {
  const ndim = dims.length;
  const rowLen = size[0];
  if (rowLen === dims[0] && size.every((s, i) => i < 2 || s === 1)) {
    // Whole rows: the tile is one contiguous run of the image.
    let o = 0;
    let stride = 1;
    for (let i = 0; i < ndim; i++) {
      o += start[i] * stride;
      stride *= dims[i];
    }
    out.set(tileVals.subarray(0, npix), o);
    return;
  }
  const nlines = npix / Math.max(1, rowLen);
  const lineIdx = new Array<number>(ndim).fill(0);
  for (let line = 0; line < nlines; line++) {
    let o = start[0];
    let stride = dims[0];
    for (let i = 1; i < ndim; i++) {
      o += (start[i] + lineIdx[i]) * stride;
      stride *= dims[i];
    }
    out.set(tileVals.subarray(line * rowLen, line * rowLen + rowLen), o);
    for (let i = 1; i < ndim; i++) {
      if (++lineIdx[i] < size[i]) break;
      lineIdx[i] = 0;
    }
  }
}

/** Gunzips a tile, refusing to inflate beyond what its pixels can need (a gzip bomb is CORRUPT, not a 1 GB buffer). */
function inflate(bytes: Uint8Array, maxBytes: number, where: string, row: number): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    throw new FitsError('CORRUPT', `${where}: tile ${row}: gzip data cannot be inflated (${(err as Error).message})`);
  }
}

function decodeTile(cmp: string, bytes: Uint8Array, out: Int32Array, npix: number, bytepix: number, blocksize: number, where: string, row: number): void {
  if (cmp === 'RICE_1' || cmp === 'RICE_ONE') {
    riceDecode(bytes, 0, bytes.length, out, 0, npix, bytepix, blocksize);
    return;
  }
  let raw: Uint8Array = bytes;
  if (cmp === 'GZIP_1' || cmp === 'GZIP_2') raw = inflate(bytes, npix * 8, where, row);
  const bp = raw.length / npix;
  if (![1, 2, 4].includes(bp)) throw new FitsError('CORRUPT', `${where}: tile ${row}: ${raw.length} bytes for ${npix} pixels`);
  if (cmp === 'GZIP_2' && bp > 1) {
    // Bytes were shuffled: all most-significant bytes first, then the next, …
    const un = new Uint8Array(raw.length);
    for (let k = 0; k < npix; k++) for (let j = 0; j < bp; j++) un[k * bp + j] = raw[j * npix + k];
    raw = un;
  }
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let k = 0; k < npix; k++) out[k] = bp === 1 ? raw[k] : bp === 2 ? v.getInt16(k * 2) : v.getInt32(k * 4);
}

/**
 * Builds the header cards and data unit (table + heap) of a RICE_1 compressed HDU for an integer image
 * (or cube: `axes` in FITS order), one tile per row. `imageCards` are the image's own keywords (BZERO, BSCALE, BLANK, WCS, …).
 */
export function compressImageRice(
  raw: Int16Array | Int32Array | Uint8Array,
  bitpix: 8 | 16 | 32,
  width: number,
  height: number,
  imageCards: FitsCard[],
  primary: boolean,
  axes: number[] = [width, height],
): { cards: FitsCard[]; data: Buffer } {
  // One tile per image row: the rows of every plane of a cube follow each other.
  height = axes.slice(1).reduce((a, b) => a * b, 1);
  const bytepix = bitpix / 8;
  const blocksize = 32;
  const tiles: Uint8Array[] = [];
  let heap = 0;
  let maxLen = 0;
  for (let y = 0; y < height; y++) {
    const t = riceEncode(raw, y * width, width, bytepix, blocksize);
    tiles.push(t);
    heap += t.length;
    if (t.length > maxLen) maxLen = t.length;
  }
  const rowBytes = 8;
  const data = Buffer.alloc(rowBytes * height + heap);
  let off = 0;
  for (let y = 0; y < height; y++) {
    data.writeInt32BE(tiles[y].length, y * rowBytes);
    data.writeInt32BE(off, y * rowBytes + 4);
    data.set(tiles[y], rowBytes * height + off);
    off += tiles[y].length;
  }
  const cards: FitsCard[] = [
    { key: 'XTENSION', value: 'BINTABLE', comment: 'binary table extension' },
    { key: 'BITPIX', value: 8, comment: 'array data type' },
    { key: 'NAXIS', value: 2, comment: 'number of array dimensions' },
    { key: 'NAXIS1', value: rowBytes, comment: 'width of table in bytes' },
    { key: 'NAXIS2', value: height, comment: 'number of rows in table' },
    { key: 'PCOUNT', value: heap, comment: 'number of group parameters' },
    { key: 'GCOUNT', value: 1, comment: 'number of groups' },
    { key: 'TFIELDS', value: 1, comment: 'number of fields in each row' },
    { key: 'TTYPE1', value: 'COMPRESSED_DATA', comment: 'label for field 1' },
    { key: 'TFORM1', value: `1PB(${maxLen})`, comment: 'data format of field: variable length array' },
    { key: 'ZIMAGE', value: true, comment: 'extension contains compressed image' },
    { key: 'ZBITPIX', value: bitpix, comment: 'data type of original image' },
    { key: 'ZNAXIS', value: axes.length, comment: 'dimension of original image' },
    ...axes.map((a, i) => ({ key: `ZNAXIS${i + 1}`, value: a, comment: 'length of original image axis' })),
    ...axes.map((a, i) => ({ key: `ZTILE${i + 1}`, value: i === 0 ? width : 1, comment: 'size of tiles to be compressed' })),
    { key: 'ZCMPTYPE', value: 'RICE_1', comment: 'compression algorithm' },
    { key: 'ZNAME1', value: 'BLOCKSIZE', comment: 'compression block size' },
    { key: 'ZVAL1', value: blocksize, comment: 'pixels per block' },
    { key: 'ZNAME2', value: 'BYTEPIX', comment: 'bytes per pixel (1, 2, 4, or 8)' },
    { key: 'ZVAL2', value: bytepix, comment: 'bytes per pixel (1, 2, 4, or 8)' },
  ];
  if (primary) cards.push({ key: 'ZSIMPLE', value: true, comment: 'file does conform to FITS standard' });
  else cards.push({ key: 'ZTENSION', value: 'IMAGE', comment: 'Image extension' });
  if (primary) cards.push({ key: 'ZEXTEND', value: true });
  else cards.push({ key: 'ZPCOUNT', value: 0 }, { key: 'ZGCOUNT', value: 1 });
  cards.push(...imageCards);
  return { cards, data };
}
