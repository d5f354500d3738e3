/**
 * The images provider's source: a directory of existing raw FITS frames (COATLI / COLIBRI / RATIR
 * naming `…YYYYMMDDTHHMMSSC<n><t>.fits[.fz]`, or IMAGETYP), validated and ordered by DATE-OBS.
 * What a frame must look like is documented in ../README.md; keep the two together.
 *
 * Bad files are reported with a reason and never stop the scan: not FITS, truncated, a structural
 * keyword that is not a number (BZERO = 'abc'), a BITPIX the camera does not write, not a single plane,
 * NaN-filled or undecodable pixels, no usable DATE-OBS, no frame type, no exposure time, a numeric
 * frame keyword that is not a number (EXPTIME, GAIN, RDNOISE, SATURATE, binning, …: gp1 camera.ts
 * FRAME_NUMERIC_KEYWORDS), and a frame already in the set: a second file of the same frame id, of the
 * same camera and DATE-OBS, or with the same pixel data (a copy under another name). Camera descriptions (sections, gain,
 * noise, saturation) are configuration of GP1 (streams/gp1/core/camera.ts), because real headers
 * often lack them; here only what the records carry: the header summary.
 *
 * Frame type, filter, exposure and binning are read by GP1's own `frameInfo` (the same keywords and
 * spellings GP1 uses to build and pick masters), from the frame's keywords: the image HDU's, completed
 * by the primary header's when the image is in an extension (lib/fits observationHeader). The date
 * comes from lib/fits observationDate (DATE-OBS, or a date + TIME-OBS/UT, …).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { observationDate, observationHeader, readHeaders, readImage, type HduInfo } from '../../lib/fits/index.ts';
import { frameInfo } from '../gp1/core/camera.ts';

export type ImageType = 'bias' | 'dark' | 'flat' | 'object' | 'unknown';

export interface FrameFile {
  path: string;
  /** The file's name as found in the directory. */
  fileName: string;
  /** File name stem (without .fits/.fit/.fts and .fz/.gz): the frame's stable id. */
  frameId: string;
  /**
   * The name the frame is announced and stored under: `<frameId>.fits`, or `<frameId>.fits.fz` for a
   * `.fz` file — the names GP1 reads (it lists `*.fits[.fz]` and takes the type letter from them).
   */
  storedName: string;
  imageType: ImageType;
  dateObs: string; // ISO UTC with Z
  /** Keywords the date was read from, e.g. 'DATE-OBS' or 'DATE-OBS + UT'. */
  dateSource: string;
  exptime: number;
  filter: string | null;
  camera: string;
  binning: string;
  width: number;
  height: number;
  bitpix: number;
  compressed: boolean;
  hdu: number;
  /** A gzip-compressed file (`.fits.gz`): stored and announced decompressed. */
  gzip: boolean;
  /**
   * sha256 of the image HDU's data unit as stored (the pixel bytes, header excluded): two files with
   * the same digest hold the same pixels whatever their headers say. '' when not computed.
   */
  pixelDigest: string;
}

export interface Rejected {
  path: string;
  code: string;
  reason: string;
}

export interface Ignored {
  path: string;
  reason: string;
}

/** File names the provider reads: FITS, tile-compressed (.fz) or gzip-compressed (.gz). */
export const FITS_NAME = /\.(fits?|fts)(\.fz|\.gz)?$/i;
/** `…20191016T083000C0o.fits(.fz)`: date-time, camera number, type letter (GP1's pattern, camera.ts). */
const NAME = /(\d{8}T\d{6})C(\d+)([bdfo])\.fits(\.fz)?$/i;

export function frameIdOf(fileName: string): string {
  return fileName.replace(FITS_NAME, '');
}

export function storedNameOf(fileName: string): string {
  return `${frameIdOf(fileName)}.fits${/\.fz$/i.test(fileName) ? '.fz' : ''}`;
}

/** The bytes of a frame as stored and announced: the file, or its gunzipped content for `.gz`. */
export function frameBytes(path: string, gzip = /\.gz$/i.test(path)): Buffer {
  const raw = readFileSync(path);
  return gzip ? gunzipSync(raw) : raw;
}

export interface ScanOptions {
  /** BITPIX values raw frames may have (default 16 and 32: unsigned 16-bit cameras, or 32-bit) */
  allowedBitpix?: number[];
  /** Maximum fraction of non-finite pixels before a frame is called NaN-filled */
  maxNonFinite?: number;
  /** Read pixels to check NaN content and that the data decode (floats, BLANK and compressed data only: integer pixels are always finite; default true) */
  checkPixels?: boolean;
  /** Compute the pixel digest (sha256 of the data unit; ~3 ms per MB; default true): finds copies of a frame under other names */
  digest?: boolean;
  cameraName?: string;
}

function isImageHdu(h: HduInfo): boolean {
  return (h.type === 'image' && h.dataBytes > 0) || h.type === 'compressed-image';
}

export function inspectFrame(path: string, opts: ScanOptions = {}): FrameFile | Rejected {
  const fileName = basename(path);
  const reject = (code: string, reason: string): Rejected => ({ path, code, reason });
  const gzip = /\.gz$/i.test(fileName);
  let src: string | Buffer = path;
  if (gzip) {
    try {
      src = frameBytes(path, true);
    } catch (e) {
      return reject('provider.not_fits', `not a readable gzip file: ${(e as Error).message}`);
    }
  }
  let hdus: HduInfo[];
  try {
    hdus = readHeaders(src);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'TRUNCATED') return reject('provider.truncated', `file is truncated: ${(e as Error).message}`);
    if (code === 'BAD_BITPIX') return reject('provider.bad_bitpix', (e as Error).message);
    if (code === 'BAD_HEADER') return reject('provider.bad_header', `a structural keyword is missing or not a valid number: ${(e as Error).message}`);
    return reject('provider.not_fits', `not a readable FITS file: ${(e as Error).message}`);
  }
  // The first HDU with image data: the primary HDU, an IMAGE extension or a compressed image (as GP1 reads it).
  const img = hdus.find(isImageHdu);
  if (!img) return reject('provider.no_image', `no HDU holds image data (${hdus.map((h) => h.type).join(', ')})`);
  if (img.shape.length < 2 || img.shape[0] < 2 || img.shape[1] < 2) return reject('provider.bad_shape', `HDU ${img.index} has shape [${img.shape.join(', ')}]: not a 2-D frame`);
  const planes = img.shape.slice(2).reduce((a, b) => a * b, 1);
  if (planes !== 1) return reject('provider.bad_shape', `HDU ${img.index} has shape [${img.shape.join(', ')}]: ${planes} planes, not one frame`);
  const allowed = opts.allowedBitpix ?? [16, 32];
  if (!allowed.includes(img.bitpix)) return reject('provider.bad_bitpix', `BITPIX ${img.bitpix} is not a raw camera format (allowed: ${allowed.join(', ')})`);
  const header = observationHeader(hdus, img);
  const date = observationDate(header);
  if (!date.ok) return reject('provider.no_date_obs', `no usable observation date: ${date.reason}`);
  const storedName = storedNameOf(fileName);
  const info = frameInfo(header, storedName);
  if (info.problems.length) return reject('provider.bad_keyword', `${info.problems.join('; ')} (HDU ${img.index})`);
  if (!info.type) {
    const kw = ['IMAGETYP', 'OBSTYPE', 'IMGTYPE', 'FRAMETYP'].find((k) => header.get(k) !== undefined);
    return reject(
      'provider.unknown_type',
      `${kw ? `${kw} '${String(header.get(kw)).trim()}' is not bias/zero, dark, flat or object/light/science` : 'no IMAGETYP (or OBSTYPE)'} and the file name has no …C<n><b|d|f|o>.fits type letter`,
    );
  }
  const exptime = info.exptime;
  if (exptime !== null && !(exptime >= 0)) return reject('provider.no_exptime', `negative exposure time ${exptime} s`);
  if (info.type !== 'bias' && !(exptime !== null && exptime > 0)) {
    return reject('provider.no_exptime', `a ${info.type} frame needs a positive exposure time (EXPTIME or EXPOSURE), got ${exptime ?? 'none'}`);
  }
  // Integer pixels without BLANK are always finite, and readHeaders has checked that the data unit is
  // complete: decoding them would prove nothing (26 ms per 2184x1472 frame). Floats, BLANK and
  // compressed data (the tiles must decode) are read.
  const alwaysFinite = img.type === 'image' && img.bitpix > 0 && img.header.get('BLANK') === undefined;
  if ((opts.checkPixels ?? true) && !alwaysFinite) {
    try {
      const { data } = readImage(src, img.index);
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
      if (bad / data.length > (opts.maxNonFinite ?? 0.5)) return reject('provider.nan_filled', `${((100 * bad) / data.length).toFixed(1)}% of the pixels are not finite`);
    } catch (e) {
      return reject('provider.unreadable_data', `pixel data cannot be read: ${(e as Error).message}`);
    }
  }
  let pixelDigest = '';
  if (opts.digest ?? true) {
    try {
      pixelDigest = dataDigest(src, img.dataOffset, img.dataBytes);
    } catch (e) {
      return reject('provider.unreadable_data', `pixel data cannot be read: ${(e as Error).message}`);
    }
  }
  const instrume = header.get('INSTRUME');
  const m = NAME.exec(storedName);
  return {
    path,
    fileName,
    frameId: frameIdOf(fileName),
    storedName,
    imageType: info.type,
    dateObs: date.iso,
    dateSource: date.source,
    exptime: exptime ?? 0,
    filter: info.filter,
    camera: opts.cameraName ?? (typeof instrume === 'string' && instrume.trim() ? instrume.trim() : m ? `C${m[2]}` : 'unknown'),
    binning: info.binning ?? '1x1',
    width: img.shape[0],
    height: img.shape[1],
    bitpix: img.bitpix,
    compressed: img.type === 'compressed-image',
    hdu: img.index,
    gzip,
    pixelDigest,
  };
}

/** sha256 of bytes [offset, offset + length) of a file or buffer, read in 4 MB pieces. */
function dataDigest(src: string | Buffer, offset: number, length: number): string {
  const hash = createHash('sha256');
  if (typeof src !== 'string') {
    hash.update(src.subarray(offset, offset + length));
    return hash.digest('hex');
  }
  const fd = openSync(src, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(length, 4 << 20));
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
      if (n <= 0) throw new Error(`the file ends ${length - done} bytes before the end of its data unit`);
      hash.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

export function isRejected(x: FrameFile | Rejected): x is Rejected {
  return (x as Rejected).code !== undefined;
}

/**
 * The files of a directory (not recursive) the provider inspects, by name; the others with why they are
 * left alone: hidden files (editor temporaries, macOS `._` companions), directories, names that are
 * not FITS.
 */
export function listFrameFiles(dir: string): { candidates: string[]; ignored: Ignored[] } {
  const candidates: string[] = [];
  const ignored: Ignored[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.startsWith('.')) {
      ignored.push({ path: p, reason: 'hidden file' });
      continue;
    }
    if (!FITS_NAME.test(f)) {
      ignored.push({ path: p, reason: 'not a FITS file name (.fits, .fit or .fts, optionally followed by .fz or .gz)' });
      continue;
    }
    let isFile = false;
    try {
      isFile = statSync(p).isFile();
    } catch {
      isFile = false; // a dangling link
    }
    if (!isFile) {
      ignored.push({ path: p, reason: 'not a regular file' });
      continue;
    }
    candidates.push(p);
  }
  return { candidates, ignored };
}

/**
 * Orders frames by DATE-OBS then file name and keeps one of each frame: a later file is a duplicate
 * (`provider.duplicate`, with the kept file in the reason) when it is another file of the same frame id
 * (`x.fits` beside `x.fits.fz`), another exposure of the same camera at the same DATE-OBS (a camera
 * takes one frame at a time: a copy with an edited header), or holds the same pixel data (a copy under
 * another name or date). The first in that order is kept. Counting a copy twice would put one
 * exposure twice into a stack (issue 16: 30 frames in the T0+30 list instead of 29).
 */
export function orderFrames(inspected: Array<FrameFile | Rejected>): { frames: FrameFile[]; rejected: Rejected[] } {
  const rejected = inspected.filter(isRejected);
  const good = inspected.filter((x): x is FrameFile => !isRejected(x));
  good.sort((a, b) => a.dateObs.localeCompare(b.dateObs) || a.fileName.localeCompare(b.fileName));
  const frames: FrameFile[] = [];
  const byId = new Map<string, FrameFile>();
  const byExposure = new Map<string, FrameFile>();
  const byPixels = new Map<string, FrameFile>();
  for (const f of good) {
    const exposure = `${f.camera.toLowerCase()}\u0000${f.dateObs}`;
    const first = byId.get(f.frameId.toLowerCase());
    const sameExposure = byExposure.get(exposure);
    const samePixels = f.pixelDigest ? byPixels.get(f.pixelDigest) : undefined;
    let reason: string | undefined;
    if (first) reason = `frame ${f.frameId} is already provided by ${first.fileName}`;
    else if (sameExposure) reason = `camera ${f.camera} has another frame at DATE-OBS ${f.dateObs}: ${sameExposure.fileName} (kept)`;
    else if (samePixels) reason = `same pixel data as ${samePixels.fileName} (kept): a copy of that frame`;
    if (reason) {
      rejected.push({ path: f.path, code: 'provider.duplicate', reason });
      continue;
    }
    byId.set(f.frameId.toLowerCase(), f);
    byExposure.set(exposure, f);
    if (f.pixelDigest) byPixels.set(f.pixelDigest, f);
    frames.push(f);
  }
  return { frames, rejected };
}

/** Scans a directory (not recursive) for FITS frames, ordered by DATE-OBS then name. */
export function scanImages(dir: string, opts: ScanOptions = {}): { frames: FrameFile[]; rejected: Rejected[]; ignored: Ignored[] } {
  const { candidates, ignored } = listFrameFiles(dir);
  return { ...orderFrames(candidates.map((p) => inspectFrame(p, opts))), ignored };
}

/**
 * Wall-clock schedule with pacing 'interval': frame i is released `i × interval / speed` seconds after
 * the start (DC3: interval 60 s; `--speed 60` = one per second). `speed = Infinity` = as fast as possible.
 * Event time is untouched: downstream works on DATE-OBS only, so any speed gives the same results.
 */
export function releaseOffsetsMs(count: number, intervalS: number, speed: number): number[] {
  if (!(speed > 0)) throw new Error(`speed must be > 0, got ${speed}`);
  return Array.from({ length: count }, (_, i) => (Number.isFinite(speed) ? (i * intervalS * 1000) / speed : 0));
}

/**
 * Wall-clock schedule with pacing 'date-obs': frame i is released `(DATE-OBS_i − DATE-OBS_0) / speed`
 * after the start, so the night plays as it was observed, `speed` times faster. Dates must be in
 * order (as scanImages returns them); `speed = Infinity` = as fast as possible.
 */
export function dateObsOffsetsMs(dates: string[], speed: number): number[] {
  if (!(speed > 0)) throw new Error(`speed must be > 0, got ${speed}`);
  if (!dates.length) return [];
  const t0 = Date.parse(dates[0]);
  return dates.map((d) => {
    const dt = Date.parse(d) - t0;
    if (!(dt >= 0)) throw new Error(`DATE-OBS ${d} is before the first frame's ${dates[0]}, or unparseable`);
    return Number.isFinite(speed) ? dt / speed : 0;
  });
}
