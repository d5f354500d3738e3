/**
 * Storage backends: where the bytes live. The filesystem is the default; an S3-compatible object
 * store (s3.ts) is chosen by GFT_STORAGE_URL=s3://bucket/prefix (see README.md in this folder). Contract: `put` is
 * atomic (a reader never sees a partial object) and idempotent for the same key and bytes.
 */
import { mkdir, open, rename, readFile, stat, unlink, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface StorageBackend {
  readonly scheme: string;
  put(key: string, data: Buffer | Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A local file path for tools that need one (FITS readers, astropy); undefined for remote stores. */
  localPath?(key: string): string;
}

/**
 * A storage failure for the runner (lib/runtime/errors.ts `classify`): a stable dotted `code` and
 * whether retrying can help. Storage being unreachable, denied, missing an object or holding a corrupt
 * one are retriable (the message is fine; the stage retries, then stops and says why); only a bad
 * reference in the message is not.
 */
export class StorageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'StorageError';
  }
}

/**
 * The object is not there (yet): written by a stage that has not finished, lost, or removed by
 * retention. Retriable: a reader never drops the message for it; it waits, then stops loudly.
 */
export class NotFoundError extends StorageError {
  constructor(message: string) {
    super('storage.not_found', message, true);
    this.name = 'NotFoundError';
  }
}

/** Filesystem backend: write to a temp file in the same folder, fsync, rename, fsync the folder. */
export class FsBackend implements StorageBackend {
  readonly scheme = 'file';
  constructor(readonly root: string) {}

  localPath(key: string): string {
    if (key.includes('..') || key.startsWith('/')) throw new Error(`invalid storage key '${key}'`);
    return join(this.root, key);
  }

  async put(key: string, data: Buffer | Uint8Array): Promise<void> {
    const path = this.localPath(key);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.localPath(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no object '${key}' in ${this.root}: not written yet, or deleted by retention`);
      throw e;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      await stat(this.localPath(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.localPath(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const walk = async function* (this: FsBackend, rel: string): AsyncIterable<ObjectInfo> {
      let entries;
      try {
        entries = await readdir(join(this.root, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.name.startsWith('.tmp-')) continue;
        const k = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk.call(this, k);
        else {
          const s = await stat(join(this.root, k));
          yield { key: k, size: s.size, modified: s.mtime };
        }
      }
    };
    yield* walk.call(this, prefix.replace(/\/+$/, ''));
  }
}
