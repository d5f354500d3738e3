import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend, NotFoundError } from './backend.ts';
import { LocalStorage, IntegrityError, sha256 } from './storage.ts';

describe('local storage (filesystem backend)', () => {
  let dir: string;
  let store: LocalStorage;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gft-store-'));
    store = new LocalStorage(new FsBackend(dir));
  });

  it('is content-addressed: same bytes, same reference, stored once', async () => {
    const a = await store.put(Buffer.from('frame'), { kind: 'raw', burstId: 'sb1', source: 'test' });
    const b = await store.put(Buffer.from('frame'), { kind: 'raw', burstId: 'sb1', source: 'again' });
    expect(a).toEqual(b);
    expect(a.sha256).toBe(sha256(Buffer.from('frame')));
    expect(a.uri).toBe(`gft-store://sha256/${a.sha256}`);
    expect(a.size).toBe(5);
    expect(readdirSync(join(dir, 'objects', a.sha256.slice(0, 2)))).toEqual([a.sha256]);
    expect((await store.get(a)).toString()).toBe('frame');
    const m = await store.meta(a);
    expect(m).toMatchObject({ kind: 'raw', burstId: 'sb1', source: 'test', size: 5 });
  });

  it('detects corruption on read', async () => {
    const ref = await store.put(Buffer.from('precious pixels'), { kind: 'calibrated' });
    writeFileSync(join(dir, 'objects', ref.sha256.slice(0, 2), ref.sha256), 'tampered pixels');
    await expect(store.get(ref)).rejects.toBeInstanceOf(IntegrityError);
    await expect(store.get({ ...ref, size: 3 })).rejects.toThrow();
  });

  it('rejects bad references and reports missing objects', async () => {
    await expect(store.get('file:///etc/passwd')).rejects.toBeInstanceOf(IntegrityError);
    await expect(store.get(`gft-store://sha256/${'0'.repeat(64)}`)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('writes atomically: no temp files left, and the object is complete', async () => {
    const big = Buffer.alloc(5 << 20, 7);
    const ref = await store.put(big, { kind: 'raw' });
    const folder = join(dir, 'objects', ref.sha256.slice(0, 2));
    expect(readdirSync(folder).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect(readFileSync(await store.localPath(ref)).equals(big)).toBe(true);
  });

  it('applies retention by kind and age', async () => {
    const old = await store.put(Buffer.from('old raw'), { kind: 'raw', created: '2019-10-16T00:00:00Z' });
    const keep = await store.put(Buffer.from('old product'), { kind: 'product', created: '2019-10-16T00:00:00Z' });
    const fresh = await store.put(Buffer.from('new raw'), { kind: 'raw' });
    const removed = await store.retention({ olderThan: new Date('2020-01-01'), kinds: ['raw'] });
    expect(removed).toEqual([old.sha256]);
    expect(await store.has(old)).toBe(false);
    expect(await store.has(keep)).toBe(true);
    expect(await store.has(fresh)).toBe(true);
  });
});
