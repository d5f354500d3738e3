/**
 * Byte sources for the reader: a Buffer in memory, or a file read piecewise (header-only reads); a
 * gzip-compressed file or buffer is inflated in memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FitsError } from './errors.ts';

export interface Source {
  readonly size: number;
  readonly name: string;
  /** Bytes [offset, offset+length) clipped to the end of the source. May share memory with the source. */
  read(offset: number, length: number): Uint8Array;
  /** Copies bytes from `offset` into `target`; returns how many were available. */
  readInto(offset: number, target: Uint8Array): number;
  close(): void;
}

export function bufferSource(buf: Uint8Array, name = '<buffer>'): Source {
  return {
    size: buf.length,
    name,
    read: (offset, length) => buf.subarray(offset, Math.min(buf.length, offset + length)),
    readInto(offset, target) {
      const part = buf.subarray(offset, Math.min(buf.length, offset + target.length));
      target.set(part);
      return part.length;
    },
    close: () => {},
  };
}

export function fileSource(path: string): Source {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new FitsError('IO', `cannot open ${path}: ${(err as Error).message}`);
  }
  const size = fstatSync(fd).size;
  return {
    size,
    name: path,
    read(offset, length) {
      const n = Math.max(0, Math.min(size - offset, length));
      const out = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, out, got, n - got, offset + got);
        if (r <= 0) break;
        got += r;
      }
      return got === n ? out : out.subarray(0, got);
    },
    readInto(offset, target) {
      const n = Math.max(0, Math.min(size - offset, target.length));
      let got = 0;
      while (got < n) {
        const r = readSync(fd, target, got, n - got, offset + got);
        if (r <= 0) break;
        got += r;
      }
      return got;
    },
    close: () => closeSync(fd),
  };
}

const GZIP_MAGIC = [0x1f, 0x8b];

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === GZIP_MAGIC[0] && b[1] === GZIP_MAGIC[1];
}

/**
 * A file, or a buffer; gzip-compressed content (`.fits.gz`, as archives distribute frames; astropy
 * opens them too) is inflated into memory first. A gzip stream that does not inflate is NOT_FITS.
 */
export function openSource(src: string | Uint8Array): Source {
  if (typeof src !== 'string') return isGzip(src) ? bufferSource(inflate(src, '<buffer>'), '<buffer>') : bufferSource(src);
  const s = fileSource(src);
  if (s.size >= 2 && isGzip(s.read(0, 2))) {
    const all = s.read(0, s.size);
    s.close();
    return bufferSource(inflate(all, src), src);
  }
  return s;
}

function inflate(b: Uint8Array, name: string): Buffer {
  try {
    return gunzipSync(b);
  } catch (err) {
    throw new FitsError('NOT_FITS', `${name}: gzip data that cannot be inflated (${(err as Error).message})`);
  }
}

/** Runs fn with an opened source and closes it afterwards. */
export function withSource<T>(src: string | Uint8Array, fn: (s: Source) => T): T {
  const s = openSource(src);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
