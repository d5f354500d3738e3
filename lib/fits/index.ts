/**
 * FITS I/O for the image chain (server side; fitsjs cannot read pixels under Node).
 *
 * - readHeaders: every HDU's header and layout, header blocks only.
 * - readImage: primary/IMAGE extensions (BITPIX 8/16/32/-32/-64, BZERO/BSCALE, BLANK → NaN) and
 *   tile-compressed images (RICE_1 as in COLIBRI `.fits.fz`, GZIP_1/2, quantised floats with dithering).
 * - readTable: BINTABLE / ASCII TABLE columns.
 * - writeFits / writeFitsFile: images and BINTABLEs with CHECKSUM/DATASUM, optional RICE_1.
 * - verifyChecksums, imageStats.
 * - observationHeader / observationDate: a raw frame's keywords (primary + image HDU) and its DATE-OBS.
 * Errors are FitsError with a `code` (NOT_FITS, TRUNCATED, BAD_HEADER, …).
 */
export { FitsError, type FitsErrorCode } from './errors.ts';
export { Header, parseCard, formatCard, formatHeader, type CardValue, type FitsCard } from './header.ts';
export type { HduInfo, HduType } from './hdus.ts';
export { readHeaders, readImage, readTable, verifyChecksums, type Bitpix, type ImageHdu, type ChecksumStatus } from './read.ts';
export { writeFits, writeFitsFile, type ImageInput, type TableInput, type EmptyInput, type HduInput, type WriteOptions } from './write.ts';
export { observationHeader, observationDate, type ObservationDate } from './observation.ts';
export type { TableColumn, ColumnValues } from './table.ts';
export { imageStats, type ImageStats } from './stats.ts';
export { encodeChecksum, onesSum } from './checksum.ts';

import { releaseScratch } from './pixels.ts';
import { stopHelper } from './prefault.ts';
import { releaseWasm } from './wasm.ts';
/**
 * Frees the reusable buffers the reader keeps between reads (raw-pixel scratch, WebAssembly memory
 * holding the last compressed data unit, pre-faulted output buffers and their helper thread). They are
 * re-created on the next read.
 */
export function releaseFitsMemory(): void {
  releaseScratch();
  releaseWasm();
  stopHelper();
}
