/**
 * Checked access to the numeric keywords the reader relies on (FITS Standard 4.0 §4.4, §7, §10): a
 * keyword that is present must hold a number of the right kind, in range, or the HDU is refused with
 * a BAD_HEADER FitsError that names the keyword and its value. A value that silently fell back to a
 * default (BZERO = 'abc' read as 0) would give wrong pixels without a word.
 *
 * `scanHdus` runs `checkNumericKeywords` on every HDU, so every reader downstream can use
 * `Header.getNumber` on these keywords knowing the value, when present, is a finite number.
 */
import { FitsError } from './errors.ts';
import type { Header } from './header.ts';

/**
 * Largest compressed image we decode: 2^28 pixels (1 GiB as Float32; COLIBRI's 4192x4096 frames are
 * 2^24). A plain image is bounded by the file's size; a compressed one only by its header, so a small
 * file could otherwise make us allocate gigabytes.
 */
export const MAX_PIXELS = 2 ** 28;
/**
 * Most pixels one byte of a compressed data unit can stand for: RICE_1 codes a constant block of 32
 * pixels in 4 bits (64 px/byte), gzip at most ~1032:1 on 16-bit zeros (~500 px/byte). A header that
 * announces more is lying about its image.
 */
export const MAX_PIXELS_PER_BYTE = 2048;

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v.length > 30 ? `${v.slice(0, 30)}…` : v}'` : String(v);
}

/**
 * An integer keyword: `dflt` when absent (or the error when no default); BAD_HEADER when present and
 * not an integer in [min, max] (safe integers only: `1E30` is not an axis length).
 */
export function intKeyword(h: Header, key: string, where: string, opts: { min?: number; max?: number; dflt?: number } = {}): number {
  const v = h.get(key);
  if (v === undefined) {
    if (opts.dflt !== undefined) return opts.dflt;
    throw new FitsError('BAD_HEADER', `${where}: ${key} is missing`);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FitsError('BAD_HEADER', `${where}: ${key} is not an integer (${show(v)})`);
  const min = opts.min ?? -Number.MAX_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (v < min || v > max) throw new FitsError('BAD_HEADER', `${where}: ${key} = ${v} is out of range [${min}, ${max}]`);
  return v === 0 ? 0 : v; // -0 → 0
}

/** A real keyword: undefined when absent; BAD_HEADER when present and not a finite number (or zero when `nonZero`). */
export function realKeyword(h: Header, key: string, where: string, opts: { nonZero?: boolean } = {}): number | undefined {
  const v = h.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FitsError('BAD_HEADER', `${where}: ${key} is not a number (${show(v)})`);
  if (opts.nonZero && v === 0) throw new FitsError('BAD_HEADER', `${where}: ${key} is 0`);
  return v;
}

/**
 * Checks the numeric keywords an HDU's reader uses, by HDU kind: BZERO/BSCALE/BLANK of images;
 * TFIELDS, TBCOLn, TSCALn, TZEROn, TNULLn, THEAP of tables; ZNAXISn, ZTILEn, ZVALn (BLOCKSIZE,
 * BYTEPIX), ZBLANK, ZSCALE, ZZERO, ZDITHER0 of compressed images.
 */
export function checkNumericKeywords(h: Header, kind: 'image' | 'bintable' | 'table' | 'compressed-image' | 'empty', where: string): void {
  if (kind === 'image' || kind === 'compressed-image') {
    realKeyword(h, 'BZERO', where);
    realKeyword(h, 'BSCALE', where, { nonZero: true });
    if (h.get('BLANK') !== undefined) intKeyword(h, 'BLANK', where);
  }
  if (kind === 'bintable' || kind === 'table' || kind === 'compressed-image') {
    const n = intKeyword(h, 'TFIELDS', where, { min: 0, max: 999, dflt: 0 });
    for (let i = 1; i <= n; i++) {
      realKeyword(h, `TSCAL${i}`, where, { nonZero: true });
      realKeyword(h, `TZERO${i}`, where);
      if (h.get(`TNULL${i}`) !== undefined && kind !== 'table') intKeyword(h, `TNULL${i}`, where);
      if (kind === 'table') intKeyword(h, `TBCOL${i}`, where, { min: 1 });
    }
    if (h.get('THEAP') !== undefined) intKeyword(h, 'THEAP', where, { min: 0 });
  }
  if (kind === 'compressed-image') {
    const zn = intKeyword(h, 'ZNAXIS', where, { min: 0, max: 999 });
    let pixels = 1;
    for (let i = 1; i <= zn; i++) {
      const d = intKeyword(h, `ZNAXIS${i}`, where, { min: 0 });
      pixels *= d;
      if (h.get(`ZTILE${i}`) !== undefined) intKeyword(h, `ZTILE${i}`, where, { min: 1 });
    }
    if (pixels > MAX_PIXELS) throw new FitsError('UNSUPPORTED', `${where}: the image has ${pixels} pixels, more than the ${MAX_PIXELS} this reader holds`);
    for (let i = 1; i < 100; i++) {
      const name = h.get(`ZNAME${i}`);
      if (name === undefined) break;
      const p = typeof name === 'string' ? name.trim().toUpperCase() : '';
      if (p === 'BLOCKSIZE') intKeyword(h, `ZVAL${i}`, where, { min: 1, max: 1 << 16 });
      else if (p === 'BYTEPIX') {
        const b = intKeyword(h, `ZVAL${i}`, where, { min: 1, max: 8 });
        if (![1, 2, 4, 8].includes(b)) throw new FitsError('BAD_HEADER', `${where}: BYTEPIX (ZVAL${i}) = ${b}, not 1, 2, 4 or 8`);
      }
    }
    if (h.get('ZBLANK') !== undefined) intKeyword(h, 'ZBLANK', where);
    realKeyword(h, 'ZSCALE', where);
    realKeyword(h, 'ZZERO', where);
    if (h.get('ZDITHER0') !== undefined) intKeyword(h, 'ZDITHER0', where, { min: 1, max: 10000 });
  }
}
