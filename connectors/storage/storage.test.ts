/**
 * The storage contract, run against both backends: the filesystem, and an S3-compatible store — the
 * MinIO of `gft stack up --s3` (credentials from GFT_HOME/s3/credentials.json) or any store named by
 * GFT_S3_ENDPOINT / GFT_S3_ACCESS_KEY / GFT_S3_SECRET_KEY (+ GFT_TEST_S3_BUCKET). The S3 half skips with
 * the reason when no store answers; GFT_REQUIRE_S3=1 (set by `gft test` when the stack runs with --s3)
 * turns that into a failure.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { classify } from '../../lib/runtime/errors.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { FsBackend, NotFoundError, type StorageBackend } from './backend.ts';
import { LocalStorage, IntegrityError, BadReferenceError, sha256 } from './storage.ts';
import { localS3, storageTarget } from './config.ts';
import { S3Backend, signV4, type S3Options } from './s3.ts';

const objectKey = (h: string) => `objects/${h.slice(0, 2)}/${h}`;

/** What the shared suite needs from a backend under test. */
interface Subject {
  backend(): Promise<StorageBackend>;
}

function storageSuite(name: string, subject: Subject) {
  describe(`storage contract (${name})`, () => {
    let backend: StorageBackend;
    let store: LocalStorage;
    beforeAll(async () => {
      backend = await subject.backend();
      store = new LocalStorage(backend);
    });

    it('is content-addressed: same bytes, same reference, stored once', async () => {
      const a = await store.put(Buffer.from('frame'), { kind: 'raw', burstId: 'sb1', source: 'test' });
      const b = await store.put(Buffer.from('frame'), { kind: 'raw', burstId: 'sb1', source: 'again' });
      expect(a).toEqual(b);
      expect(a.sha256).toBe(sha256(Buffer.from('frame')));
      expect(a.uri).toBe(`gft-store://sha256/${a.sha256}`);
      expect(a.size).toBe(5);
      const keys: string[] = [];
      for await (const o of backend.list(`objects/${a.sha256.slice(0, 2)}`)) keys.push(o.key);
      expect(keys).toEqual([objectKey(a.sha256)]);
      expect((await store.get(a)).toString()).toBe('frame');
      expect(await store.meta(a)).toMatchObject({ kind: 'raw', burstId: 'sb1', source: 'test', size: 5 });
      expect(await store.has(a)).toBe(true);
    });

    it('a corrupt object is a retriable storage.integrity error naming the object; a wrong reference is not retriable', async () => {
      const ref = await store.put(Buffer.from(`precious pixels ${randomBytes(4).toString('hex')}`), { kind: 'calibrated' });
      await backend.put(objectKey(ref.sha256), Buffer.from('tampered pixels'));
      const err = await store.get(ref).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(classify(err)).toMatchObject({ retriable: true, code: 'storage.integrity' });
      expect((err as Error).message).toContain(ref.sha256);
      expect((err as Error).message).toMatch(/corrupt/);
      await backend.put(objectKey(ref.sha256), Buffer.from(`precious pixels`)); // still not the named content
      await expect(store.get(ref)).rejects.toBeInstanceOf(IntegrityError);
    });

    it('a missing object is a retriable storage.not_found error; a bad reference is invalid input', async () => {
      const missing = `gft-store://sha256/${sha256(randomBytes(16))}`;
      const err = await store.get(missing).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(classify(err)).toMatchObject({ retriable: true, code: 'storage.not_found' });
      expect((err as Error).message).toMatch(/not written yet, or deleted by retention/);
      expect(await store.has(missing)).toBe(false);
      for (const bad of ['file:///etc/passwd', 'gft-store://sha256/xyz']) {
        const e = await store.get(bad).then(() => null, (x: unknown) => x);
        expect(e, bad).toBeInstanceOf(BadReferenceError);
        expect(classify(e)).toMatchObject({ retriable: false, code: 'storage.bad_reference' });
      }
      const ref = await store.put(Buffer.from('sized'), { kind: 'other' });
      await expect(store.get({ ...ref, size: 3 })).rejects.toBeInstanceOf(BadReferenceError);
      await expect(store.get({ ...ref, sha256: '0'.repeat(64) })).rejects.toBeInstanceOf(BadReferenceError);
    });

    it('keeps large objects whole', async () => {
      const big = randomBytes(6 << 20);
      const ref = await store.put(big, { kind: 'raw' });
      expect((await store.get(ref)).equals(big)).toBe(true);
    });

    it('applies retention by kind and age', async () => {
      const tag = randomBytes(4).toString('hex');
      const old = await store.put(Buffer.from(`old raw ${tag}`), { kind: 'raw', created: '2019-10-16T00:00:00Z' });
      const keep = await store.put(Buffer.from(`old product ${tag}`), { kind: 'product', created: '2019-10-16T00:00:00Z' });
      const fresh = await store.put(Buffer.from(`new raw ${tag}`), { kind: 'raw' });
      const removed = await store.retention({ olderThan: new Date('2020-01-01'), kinds: ['raw'] });
      expect(removed).toContain(old.sha256);
      expect(removed).not.toContain(fresh.sha256);
      expect(await store.has(old)).toBe(false);
      expect(await store.has(keep)).toBe(true);
      expect(await store.has(fresh)).toBe(true);
    });
  });
}

// ---- filesystem ----------------------------------------------------------------------------------

storageSuite('filesystem', { backend: async () => new FsBackend(mkdtempSync(join(tmpdir(), 'gft-store-'))) });

describe('filesystem backend', () => {
  it('writes atomically: no temp files left, the object is complete, tools get a local path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gft-store-'));
    const store = new LocalStorage(new FsBackend(dir));
    const big = Buffer.alloc(5 << 20, 7);
    const ref = await store.put(big, { kind: 'raw' });
    const folder = join(dir, 'objects', ref.sha256.slice(0, 2));
    expect(readdirSync(folder).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect(readFileSync(await store.localPath(ref)).equals(big)).toBe(true);
    writeFileSync(join(folder, ref.sha256), 'tampered');
    await expect(store.localPath(ref)).rejects.toBeInstanceOf(IntegrityError); // verified before handing out a path
  });
});

// ---- S3 ------------------------------------------------------------------------------------------

/** The store to test: explicit GFT_S3_* variables, else the local MinIO of `gft stack up --s3`. */
function s3Options(): (S3Options & { source: string }) | null {
  const env = process.env;
  if (env.GFT_S3_ENDPOINT && env.GFT_S3_ACCESS_KEY && env.GFT_S3_SECRET_KEY)
    return { endpoint: env.GFT_S3_ENDPOINT, accessKey: env.GFT_S3_ACCESS_KEY, secretKey: env.GFT_S3_SECRET_KEY, region: env.GFT_S3_REGION, bucket: env.GFT_TEST_S3_BUCKET || 'gft', source: 'GFT_S3_*' };
  const local = localS3(platformConfig().home);
  return local ? { ...local, source: `gft stack up --s3 (${platformConfig().home})` } : null;
}

async function s3Problem(o: ReturnType<typeof s3Options>): Promise<string | null> {
  if (!o) return 'no S3 store configured (run `npx gft stack up --s3`, or set GFT_S3_ENDPOINT/GFT_S3_ACCESS_KEY/GFT_S3_SECRET_KEY)';
  try {
    const r = await fetch(o.endpoint, { signal: AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    return null;
  } catch (e) {
    return `S3 store from ${o.source} not reachable at ${o.endpoint}: ${(e as Error).message}`;
  }
}

const s3 = s3Options();
const s3Down = await s3Problem(s3);
if (s3Down) {
  if (process.env.GFT_REQUIRE_S3 === '1') throw new Error(`S3 store required (GFT_REQUIRE_S3=1) but unavailable: ${s3Down}`);
  console.warn(`SKIPPED S3 storage tests: ${s3Down}`);
}
const prefix = `test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

describe.skipIf(!!s3Down)(`S3 backend (${s3?.endpoint})`, () => {
  storageSuite('S3', {
    backend: async () => {
      const b = new S3Backend({ ...s3!, prefix });
      await b.createBucket();
      return b;
    },
  });

  it('GFT_STORAGE_URL=s3://bucket/prefix selects it, with the local credentials when GFT_S3_* are unset', async () => {
    const env: Record<string, string | undefined> = { ...process.env, GFT_STORAGE_URL: `s3://${s3!.bucket}/${prefix}/from-env` };
    if (s3!.source === 'GFT_S3_*') Object.assign(env, { GFT_S3_ENDPOINT: s3!.endpoint, GFT_S3_ACCESS_KEY: s3!.accessKey, GFT_S3_SECRET_KEY: s3!.secretKey });
    else for (const k of ['GFT_S3_ENDPOINT', 'GFT_S3_ACCESS_KEY', 'GFT_S3_SECRET_KEY']) delete env[k];
    const store = LocalStorage.fromEnv(env);
    expect(store.backend).toBeInstanceOf(S3Backend);
    const ref = await store.put(Buffer.from('through the configuration'), { kind: 'product' });
    const keys: string[] = [];
    for await (const o of new S3Backend({ ...s3!, prefix: `${prefix}/from-env` }).list('objects')) keys.push(o.key);
    expect(keys).toContain(objectKey(ref.sha256));
    expect((await store.get(ref)).toString()).toBe('through the configuration');
  });

  it('wrong credentials, a missing bucket and an unreachable endpoint are retriable errors that say so', async () => {
    const denied = await new S3Backend({ ...s3!, prefix, secretKey: 'not-the-secret' }).get('objects/00/x').then(() => null, (e: unknown) => e);
    expect(classify(denied)).toMatchObject({ retriable: true, code: 'storage.access_denied' });
    expect((denied as Error).message).toMatch(/GFT_S3_SECRET_KEY/);
    const nobucket = await new S3Backend({ ...s3!, bucket: `gft-none-${randomBytes(4).toString('hex')}` }).put('k', Buffer.from('x')).then(() => null, (e: unknown) => e);
    expect(classify(nobucket)).toMatchObject({ retriable: true, code: 'storage.no_bucket' });
    const down = await new S3Backend({ ...s3!, endpoint: 'http://127.0.0.1:1', timeoutMs: 2000 }).get('k').then(() => null, (e: unknown) => e);
    expect(classify(down)).toMatchObject({ retriable: true, code: 'storage.unavailable' });
  });

  it('lists more than one page (ListObjectsV2 continuation)', async () => {
    const b = new S3Backend({ ...s3!, prefix: `${prefix}/pages` });
    await Promise.all(Array.from({ length: 1005 }, (_, i) => b.put(`many/${String(i).padStart(4, '0')}`, Buffer.from([i & 255]))));
    const keys: string[] = [];
    for await (const o of b.list('many')) keys.push(o.key);
    expect(keys).toHaveLength(1005);
    expect(keys[0]).toBe('many/0000');
    expect(new Set(keys).size).toBe(1005);
  }, 120_000);
});

describe('S3 request signing (AWS Signature Version 4)', () => {
  it("reproduces AWS's documented GetObject example", () => {
    // The example of the S3 API reference, "Signature Calculations for the Authorization Header" (GET Object with a Range header).
    const h = signV4({
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      accessKey: 'AKIAIOSFODNN7EXAMPLE',
      secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
      now: new Date('2013-05-24T00:00:00Z'),
      headers: { Range: 'bytes=0-9' },
    });
    expect(h.authorization).toBe('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    expect(h['x-amz-date']).toBe('20130524T000000Z');
  });
});

describe('storage configuration', () => {
  const home = () => mkdtempSync(join(tmpdir(), 'gft-storage-cfg-'));
  it('file: GFT_STORAGE_URL=file://, GFT_STORAGE_DIR, else <GFT_HOME>/storage', () => {
    const h = home();
    expect(storageTarget({ GFT_HOME: h })).toEqual({ kind: 'file', dir: join(h, 'storage') });
    expect(storageTarget({ GFT_HOME: h, GFT_STORAGE_DIR: '/data/x' })).toEqual({ kind: 'file', dir: '/data/x' });
    expect(storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 'file:///data/y', GFT_STORAGE_DIR: '/data/x' })).toEqual({ kind: 'file', dir: '/data/y' });
  });

  it('s3: bucket and prefix from the URL; endpoint and keys from GFT_S3_* or the local store; clear errors', () => {
    const h = home();
    expect(() => storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 's3://b/p' })).toThrow(/needs GFT_S3_ENDPOINT, GFT_S3_ACCESS_KEY, GFT_S3_SECRET_KEY.*stack up --s3/);
    expect(() => storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 'ftp://b/p' })).toThrow(/unsupported scheme/);
    expect(storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 's3://frames/night/1/', GFT_S3_ENDPOINT: 'https://s3.example.org', GFT_S3_ACCESS_KEY: 'ak', GFT_S3_SECRET_KEY: 'sk' })).toEqual({
      kind: 's3', endpoint: 'https://s3.example.org', bucket: 'frames', prefix: 'night/1', accessKey: 'ak', secretKey: 'sk', region: 'us-east-1',
    });
    mkdirSync(join(h, 's3'));
    writeFileSync(join(h, 's3', 'credentials.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:19900', accessKey: 'lk', secretKey: 'ls', region: 'us-east-1', bucket: 'gft' }));
    expect(storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 's3://gft' })).toMatchObject({ kind: 's3', endpoint: 'http://127.0.0.1:19900', bucket: 'gft', prefix: '', accessKey: 'lk', secretKey: 'ls' });
    // another endpoint never gets the local keys
    expect(() => storageTarget({ GFT_HOME: h, GFT_STORAGE_URL: 's3://gft', GFT_S3_ENDPOINT: 'https://elsewhere.example.org' })).toThrow(/GFT_S3_ACCESS_KEY/);
  });
});
