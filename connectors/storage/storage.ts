/**
 * Local storage: the single place for raw and calibrated images, masters, reference files, GP1
 * base files and products. Content-addressed by SHA-256 (the same bytes are stored once, and a
 * reference names exactly one content), atomic writes, metadata beside each object (kind, burst id,
 * source, created, name), integrity check on every read, retention by kind and age.
 * Messages carry a `StorageRef` (URI, sha256, size, kind), never pixels.
 */
import { createHash } from 'node:crypto';
import { FsBackend, NotFoundError, StorageError, type StorageBackend } from './backend.ts';
import { storageTarget } from './config.ts';
import { S3Backend } from './s3.ts';

export type ObjectKind = 'raw' | 'calibrated' | 'master' | 'reference' | 'basefile' | 'product' | 'catalog' | 'measurement' | 'other';

export interface StorageRef {
  uri: string;
  sha256: string;
  size: number;
  kind: string;
}

export interface ObjectMeta {
  sha256: string;
  size: number;
  kind: ObjectKind;
  burstId?: string | null;
  source?: string;
  name?: string;
  created: string; // ISO
}

/**
 * A stored object whose bytes do not hash to its name: corrupted at rest or in transit. Retriable
 * (the message that names it is fine; a re-put of the same content repairs the object): the stage
 * retries, then stops with this message instead of dropping a product.
 */
export class IntegrityError extends StorageError {
  constructor(message: string) {
    super('storage.integrity', message, true);
    this.name = 'IntegrityError';
  }
}

/** The reference itself is wrong (not a storage URI, digest or size contradicting it): invalid input, never retried. */
export class BadReferenceError extends StorageError {
  constructor(message: string) {
    super('storage.bad_reference', message, false);
    this.name = 'BadReferenceError';
  }
}

export const URI_PREFIX = 'gft-store://sha256/';

export function sha256(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function parseUri(uri: string): string {
  if (!uri.startsWith(URI_PREFIX)) throw new BadReferenceError(`not a storage URI: '${uri}'`);
  const h = uri.slice(URI_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(h)) throw new BadReferenceError(`bad digest in storage URI '${uri}'`);
  return h;
}

const objectKey = (h: string) => `objects/${h.slice(0, 2)}/${h}`;
const metaKey = (h: string) => `meta/${h.slice(0, 2)}/${h}.json`;

export class LocalStorage {
  constructor(readonly backend: StorageBackend) {}

  /**
   * The backend chosen by configuration (connectors/storage/config.ts): GFT_STORAGE_URL=s3://bucket/prefix
   * for an S3-compatible store, else the filesystem under GFT_STORAGE_DIR or <GFT_HOME>/storage.
   */
  static fromEnv(env: Record<string, string | undefined> = process.env): LocalStorage {
    const t = storageTarget(env);
    return new LocalStorage(t.kind === 's3' ? new S3Backend(t) : new FsBackend(t.dir));
  }

  /** Where the objects are, for messages: a folder or s3://bucket/prefix at an endpoint. */
  get where(): string {
    const b = this.backend as { root?: string; where?: string };
    return b.where ?? b.root ?? this.backend.scheme;
  }

  /**
   * Stores `data` under its sha256. `knownSha256`: the digest when the caller has just computed it
   * over these very bytes (e.g. a worker thread that wrote them), to spare hashing them again.
   */
  async put(data: Buffer | Uint8Array, meta: Omit<ObjectMeta, 'sha256' | 'size' | 'created'> & { created?: string }, knownSha256?: string): Promise<StorageRef> {
    const h = knownSha256 ?? sha256(data);
    if (!(await this.backend.has(objectKey(h)))) await this.backend.put(objectKey(h), data);
    if (!(await this.backend.has(metaKey(h)))) {
      const m: ObjectMeta = { ...meta, sha256: h, size: data.length, created: meta.created ?? new Date().toISOString() };
      await this.backend.put(metaKey(h), Buffer.from(JSON.stringify(m, null, 1)));
    }
    return { uri: URI_PREFIX + h, sha256: h, size: data.length, kind: meta.kind };
  }

  /** Reads and verifies: the bytes must hash to the reference's digest (and size, when given). */
  async get(ref: StorageRef | string): Promise<Buffer> {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const h = parseUri(uri);
    if (typeof ref !== 'string' && ref.sha256 !== h) throw new BadReferenceError(`reference digest ${ref.sha256} does not match its URI ${uri}`);
    const data = await this.backend.get(objectKey(h));
    const actual = sha256(data);
    if (actual !== h) throw new IntegrityError(`object ${h} in ${this.where} is corrupt: its ${data.length} bytes hash to ${actual}; put the original bytes again to repair it`);
    if (typeof ref !== 'string' && ref.size !== data.length) throw new BadReferenceError(`object ${h} has ${data.length} bytes, reference says ${ref.size}`);
    return data;
  }

  async meta(ref: StorageRef | string): Promise<ObjectMeta> {
    const h = parseUri(typeof ref === 'string' ? ref : ref.uri);
    return JSON.parse((await this.backend.get(metaKey(h))).toString('utf8')) as ObjectMeta;
  }

  async has(ref: StorageRef | string): Promise<boolean> {
    return this.backend.has(objectKey(parseUri(typeof ref === 'string' ? ref : ref.uri)));
  }

  /** A local path to the verified object for file-based tools (filesystem backend only). */
  async localPath(ref: StorageRef | string): Promise<string> {
    if (!this.backend.localPath) throw new Error('this storage backend has no local paths; use get()');
    await this.get(ref); // verify before handing out a path
    return this.backend.localPath(objectKey(parseUri(typeof ref === 'string' ? ref : ref.uri)));
  }

  /** Deletes objects of the given kinds created before `olderThan`. Returns the digests removed. */
  async retention(opts: { olderThan: Date; kinds?: ObjectKind[] }): Promise<string[]> {
    const removed: string[] = [];
    for await (const o of this.backend.list('meta')) {
      const m = JSON.parse((await this.backend.get(o.key)).toString('utf8')) as ObjectMeta;
      if (opts.kinds && !opts.kinds.includes(m.kind)) continue;
      if (new Date(m.created) >= opts.olderThan) continue;
      await this.backend.delete(objectKey(m.sha256));
      await this.backend.delete(metaKey(m.sha256));
      removed.push(m.sha256);
    }
    return removed;
  }
}

export { NotFoundError, StorageError };
