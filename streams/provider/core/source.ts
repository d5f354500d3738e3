/**
 * The images provider's source: a directory of existing raw FITS frames (COATLI / COLIBRI / RATIR
 * naming `…YYYYMMDDTHHMMSSC<n><t>.fits[.fz]`, or IMAGETYP), validated and ordered by DATE-OBS.
 *
 * Bad files are reported with a reason and never stop the scan: not FITS, truncated, a BITPIX the
 * camera does not write, NaN-filled, no DATE-OBS. Camera descriptions (sections, gain, noise,
 * saturation, binning) are configuration elsewhere (GP1), because real headers often lack them;
 * here only what the records carry: the header summary.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readHeaders, readImage, type Header } from '../../../lib/fits/index.ts';

export type ImageType = 'bias' | 'dark' | 'flat' | 'object' | 'unknown';

export interface FrameFile {
  path: string;
  fileName: string;
  frameId: string;
  imageType: ImageType;
  dateObs: string; // ISO UTC with Z
  exptime: number;
  filter: string | null;
  camera: string;
  binning: string;
  width: number;
  height: number;
  bitpix: number;
  compressed: boolean;
  hdu: number;
}

export interface Rejected {
  path: string;
  code: string;
  reason: string;
}

/** `…20191016T083000C0o.fits(.fz)`: date-time, camera digit, type letter. */
const NAME = /(\d{8}T\d{6})C(\d)([bdfo])\.fits(\.fz)?$/i;
const TYPE_LETTER: Record<string, ImageType> = { b: 'bias', d: 'dark', f: 'flat', o: 'object' };

export function imageTypeFrom(imagetyp: string | undefined, fileName: string): ImageType {
  const t = (imagetyp ?? '').toLowerCase();
  if (/bias|zero/.test(t)) return 'bias';
  if (/dark/.test(t)) return 'dark';
  if (/flat/.test(t)) return 'flat';
  if (/object|light|science/.test(t)) return 'object';
  const m = NAME.exec(fileName);
  return m ? TYPE_LETTER[m[3].toLowerCase()] : 'unknown';
}

/** DATE-OBS as ISO UTC; FITS dates without zone are UTC. Returns undefined when absent/unparseable. */
export function isoDateObs(h: Header): string | undefined {
  let d = h.getString('DATE-OBS');
  if (!d) return undefined;
  d = d.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(d)) {
    const t = h.getString('TIME-OBS') ?? h.getString('UT') ?? h.getString('UTC');
    if (!t) return undefined;
    d = `${d}T${t.trim()}`;
  }
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(d) ? d : `${d}Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

export interface ScanOptions {
  /** BITPIX values raw frames may have (default 16 and 32: unsigned 16-bit cameras, or 32-bit) */
  allowedBitpix?: number[];
  /** Maximum fraction of non-finite pixels before a frame is called NaN-filled */
  maxNonFinite?: number;
  /** Read pixels to check NaN content (costly for big frames; default true) */
  checkPixels?: boolean;
  cameraName?: string;
}

export function inspectFrame(path: string, opts: ScanOptions = {}): FrameFile | Rejected {
  const fileName = basename(path);
  const reject = (code: string, reason: string): Rejected => ({ path, code, reason });
  let hdus;
  try {
    hdus = readHeaders(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'TRUNCATED') return reject('provider.truncated', `file is truncated: ${(e as Error).message}`);
    if (code === 'BAD_BITPIX') return reject('provider.bad_bitpix', (e as Error).message);
    return reject('provider.not_fits', `not a readable FITS file: ${(e as Error).message}`);
  }
  const img = hdus.find((h) => (h.type === 'image' || h.type === 'compressed-image') && h.shape.length >= 2 && h.shape[0] > 0);
  if (!img) return reject('provider.no_image', 'no image HDU with data');
  const size = statSync(path).size;
  if (img.dataOffset + img.dataBytes > size) return reject('provider.truncated', `file is truncated: ${size} bytes, data needs ${img.dataOffset + img.dataBytes}`);
  const primary = hdus[0].header;
  const h = img.header;
  const get = (k: string) => (h.has(k) ? h.get(k) : primary.get(k));
  const zbitpix = img.type === 'compressed-image' ? Number(h.get('ZBITPIX')) : img.bitpix;
  const allowed = opts.allowedBitpix ?? [16, 32];
  if (!allowed.includes(zbitpix)) return reject('provider.bad_bitpix', `BITPIX ${zbitpix} is not a raw camera format (allowed: ${allowed.join(', ')})`);
  const dateObs = isoDateObs(h.has('DATE-OBS') ? h : primary);
  if (!dateObs) return reject('provider.no_date_obs', 'missing or unparseable DATE-OBS');
  if (opts.checkPixels ?? true) {
    try {
      const { data } = readImage(path, img.index);
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
      if (bad / data.length > (opts.maxNonFinite ?? 0.5)) return reject('provider.nan_filled', `${((100 * bad) / data.length).toFixed(1)}% of the pixels are not finite`);
    } catch (e) {
      return reject('provider.unreadable_data', `pixel data cannot be read: ${(e as Error).message}`);
    }
  }
  const str = (k: string) => {
    const v = get(k);
    return v === undefined || v === null ? undefined : String(v).trim();
  };
  const xb = Number(str('XBINNING') ?? str('CCDXBIN') ?? NaN);
  const yb = Number(str('YBINNING') ?? str('CCDYBIN') ?? NaN);
  const binning = str('CCDSUM')?.replace(/\s+/, 'x') ?? (Number.isFinite(xb) ? `${xb}x${Number.isFinite(yb) ? yb : xb}` : '1x1');
  const m = NAME.exec(fileName);
  return {
    path,
    fileName,
    frameId: fileName.replace(/\.fits(\.fz)?$/i, ''),
    imageType: imageTypeFrom(str('IMAGETYP') ?? str('OBSTYPE'), fileName),
    dateObs,
    exptime: Number(str('EXPTIME') ?? str('EXPOSURE') ?? 0) || 0,
    filter: str('FILTER') ?? str('FILTA') ?? str('FILTER1') ?? str('FILTNAME') ?? null, // the same keywords as GP1 (camera.ts frameInfo)
    camera: opts.cameraName ?? str('INSTRUME') ?? (m ? `C${m[2]}` : 'unknown'),
    binning,
    width: img.shape[0],
    height: img.shape[1],
    bitpix: zbitpix,
    compressed: img.type === 'compressed-image',
    hdu: img.index,
  };
}

export function isRejected(x: FrameFile | Rejected): x is Rejected {
  return (x as Rejected).code !== undefined;
}

/** Scans a directory (not recursive) for FITS frames, ordered by DATE-OBS then name. */
export function scanImages(dir: string, opts: ScanOptions = {}): { frames: FrameFile[]; rejected: Rejected[] } {
  const frames: FrameFile[] = [];
  const rejected: Rejected[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(fits|fit|fts)(\.fz)?$/i.test(f)) continue;
    const r = inspectFrame(join(dir, f), opts);
    if (isRejected(r)) rejected.push(r);
    else frames.push(r);
  }
  frames.sort((a, b) => a.dateObs.localeCompare(b.dateObs) || a.fileName.localeCompare(b.fileName));
  return { frames, rejected };
}

/**
 * Wall-clock schedule: frame i is released `i × interval / speed` seconds after the start
 * (DC3: interval 60 s; `--speed 60` = one per second). `speed = Infinity` = as fast as possible.
 * Event time is untouched: downstream works on DATE-OBS only, so any speed gives the same results.
 */
export function releaseOffsetsMs(count: number, intervalS: number, speed: number): number[] {
  if (!(speed > 0)) throw new Error(`speed must be > 0, got ${speed}`);
  return Array.from({ length: count }, (_, i) => (Number.isFinite(speed) ? (i * intervalS * 1000) / speed : 0));
}
