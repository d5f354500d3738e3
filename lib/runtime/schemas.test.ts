/**
 * Contract tests: every schema parses; what goes to the registry is the file as written (shared
 * types inlined, logical types, docs, defaults, aliases, order kept); every schema can still read
 * every earlier version of itself committed in git (BACKWARD, what the registry enforces on internal
 * subjects), and the public ones also the other way round (FULL_TRANSITIVE) — an incompatible change
 * fails here before it reaches a registry.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import avro from 'avsc';
import { inlineShared, loadSchemas, readSources, schemaDir, schemas, TimestampMillis } from './schemas.ts';
import { TOPICS } from './topology.ts';
import { repoRoot } from '../config/platform.ts';

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
}

function inGit(): boolean {
  try {
    git(['rev-parse', '--git-dir']);
    return true;
  } catch {
    return false;
  }
}

/** The schema sources as they were at a commit (same layout as schemas/avro). */
function sourcesAt(commit: string): Map<string, string> {
  const dir = relative(repoRoot, schemaDir);
  const files = git(['ls-tree', '-r', '--name-only', commit, '--', dir]).split('\n').filter((f) => f.endsWith('.avsc'));
  const m = new Map<string, string>();
  for (const f of files) m.set(relative(dir, f), git(['show', `${commit}:${f}`]));
  return m;
}

describe('Avro contracts', () => {
  it('parses every schema and resolves shared types', () => {
    const all = schemas();
    expect(all.size).toBeGreaterThanOrEqual(15);
    for (const s of all.values()) {
      const j = JSON.parse(s.fullSchema) as { name: string; namespace: string };
      expect(`${j.namespace}.${j.name}`).toBe(s.name);
    }
  });

  it('sends the registry each file as written, the shared StorageRef inlined at its first use', () => {
    // Independent of inlineShared: in the file's JSON text, the first "org.gft.common.StorageRef"
    // type name (document order = Avro's parse order) becomes StorageRef.avsc's JSON.
    const sources = readSources();
    const storageRef = JSON.stringify(JSON.parse(sources.get('common/StorageRef.avsc')!));
    let withLogical = 0;
    for (const [file, text] of sources) {
      const s = [...schemas().values()].find((e) => e.file === file)!;
      const expected = JSON.parse(JSON.stringify(JSON.parse(text)).replace('"org.gft.common.StorageRef"', storageRef));
      expect(JSON.parse(s.fullSchema), file).toEqual(expected);
      if (text.includes('"timestamp-millis"')) {
        withLogical++;
        expect(s.fullSchema, file).toContain('{"type":"long","logicalType":"timestamp-millis"}');
      }
    }
    expect(withLogical).toBe(10); // issue 21: 10 of the 16 files have a timestamp-millis field
    // a later use of the shared type stays a name (Avro defines a named type once per schema)
    const list = JSON.parse(schemas().get('org.gft.gp1.CandidateList')!.fullSchema) as { fields: { name: string; type: unknown }[] };
    expect(JSON.stringify(list.fields.find((f) => f.name === 'baseFile')!.type)).toContain('"fields"');
    expect(JSON.stringify(list.fields.find((f) => f.name === 'frameRefs')!.type)).toContain('"calibrated","type":"org.gft.common.StorageRef"');
  });

  it('each registry schema stands alone and is the same Avro type as the one we encode with', () => {
    for (const s of schemas().values()) {
      const standalone = avro.Type.forSchema(JSON.parse(s.fullSchema), { wrapUnions: false });
      expect(standalone.fingerprint().toString('hex'), s.name).toBe(s.type.fingerprint().toString('hex'));
    }
  });

  it('inlineShared follows Avro name rules (namespaces, later uses, nested named types)', () => {
    const shared = new Map<string, unknown>([['a.S', { type: 'record', name: 'S', namespace: 'a', fields: [{ name: 'x', type: 'int' }] }]]);
    const rec = { type: 'record', name: 'R', namespace: 'a', doc: 'd', fields: [
      { name: 'm', type: { type: 'map', values: ['null', 'S'] }, default: {} },
      { name: 'n', type: { type: 'array', items: 'a.S' } },
      { name: 'o', type: { type: 'record', name: 'b.T', fields: [{ name: 's', type: 'S' }] } },
    ] };
    const out = inlineShared(rec, shared) as typeof rec;
    expect(out.fields[0].type).toEqual({ type: 'map', values: ['null', shared.get('a.S')] });
    expect(out.fields[1].type).toEqual({ type: 'array', items: 'a.S' });
    expect(out.fields[2].type).toEqual({ type: 'record', name: 'b.T', fields: [{ name: 's', type: 'S' }] }); // b.S is not a.S
    expect(out.fields[0].default).not.toBe(rec.fields[0].default); // a copy
    expect(() => avro.Type.forSchema(out as avro.Schema)).toThrow(/b\.S/); // and indeed undefined there
  });

  it('numbers we encode read as timestamps with a logical-type-aware reader, and back', () => {
    const s = schemas().get('org.gft.gic.Product')!;
    const dated = avro.Type.forSchema(JSON.parse(s.fullSchema), { wrapUnions: false, logicalTypes: { 'timestamp-millis': TimestampMillis } });
    const ms = Date.UTC(2024, 2, 15, 2, 29, 0, 123);
    const v = { productId: 'p', burstId: 'b', obsId: 'o', epochMinutes: 5, revision: 0, prdmVersion: '1.005', card: 'FGFT_CAND_EPOCH', createdAt: ms, candidates: 1, storage: { uri: 'u', sha256: 'x', size: 1, kind: 'product' } };
    const bytes = s.type.toBuffer(v);
    const read = dated.fromBuffer(bytes) as { createdAt: Date };
    expect(read.createdAt).toBeInstanceOf(Date);
    expect(read.createdAt.toISOString()).toBe('2024-03-15T02:29:00.123Z');
    expect(dated.toBuffer(read).equals(bytes)).toBe(true); // same wire bytes
    expect(s.type.fromBuffer(dated.toBuffer({ ...v, createdAt: new Date(ms) }))).toEqual(v);
  });

  it('round-trips a record through its standalone (registry) schema', () => {
    const s = schemas().get('org.gft.provider.RawFrame')!;
    const standalone = avro.Type.forSchema(JSON.parse(s.fullSchema), { wrapUnions: false });
    const v = { frameId: 'f', burstId: null, seq: 1, fileName: 'a.fits', imageType: 'object', dateObs: '2019-10-16T08:00:00', exptime: 60, filter: 'r', camera: 'coatli', binning: '1x1', width: 10, height: 10, bitpix: 16, compressed: false, storage: { uri: 'u', sha256: 'x', size: 1, kind: 'raw' }, lastOfSequence: true };
    expect(standalone.fromBuffer(s.type.toBuffer(v))).toEqual(v);
  });

  it.skipIf(!inGit())('every schema reads every earlier committed version of itself (BACKWARD)', () => {
    const current = loadSchemas(readSources());
    const commits = git(['log', '--format=%H', '--', relative(repoRoot, schemaDir)]).split('\n').filter(Boolean);
    const failures: string[] = [];
    let checked = 0;
    for (const c of commits) {
      let old: ReturnType<typeof loadSchemas>;
      try {
        old = loadSchemas(sourcesAt(c));
      } catch (e) {
        failures.push(`${c.slice(0, 8)}: schemas did not parse: ${(e as Error).message}`);
        continue;
      }
      for (const [name, prev] of old) {
        const now = current.get(name);
        if (!now) {
          failures.push(`${name} existed at ${c.slice(0, 8)} but was removed`);
          continue;
        }
        try {
          now.type.createResolver(prev.type);
          checked++;
        } catch (e) {
          failures.push(`${name}: cannot read data written with its version at ${c.slice(0, 8)}: ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    console.log(`schema compatibility: ${checked} (schema, earlier version) pairs checked over ${commits.length} commits`);
  });

  it.skipIf(!inGit())('public schemas read, and are read by, every earlier committed version (FULL_TRANSITIVE)', () => {
    const publicNames = new Set(TOPICS.filter((t) => t.public).map((t) => t.schema));
    expect(publicNames).toEqual(new Set(['org.gft.gic.Product', 'org.gft.fsc.FscReceipt']));
    const current = loadSchemas(readSources());
    const commits = git(['log', '--format=%H', '--', relative(repoRoot, schemaDir)]).split('\n').filter(Boolean);
    const failures: string[] = [];
    for (const c of commits) {
      const old = loadSchemas(sourcesAt(c));
      for (const name of publicNames) {
        const prev = old.get(name);
        if (!prev) continue;
        try {
          prev.type.createResolver(current.get(name)!.type);
        } catch (e) {
          failures.push(`${name}: its version at ${c.slice(0, 8)} cannot read data written now: ${(e as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('detects an incompatible change (the check can fail)', () => {
    const before = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }] });
    const added = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int' }] });
    const addedWithDefault = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int', default: 0 }] });
    expect(() => added.createResolver(before)).toThrow();
    expect(() => addedWithDefault.createResolver(before)).not.toThrow();
    // FULL: an old reader cannot read a new writer that removed a field without a default
    const removed = avro.Type.forSchema({ type: 'record', name: 'X', fields: [] });
    expect(() => removed.createResolver(before)).not.toThrow();
    expect(() => before.createResolver(removed)).toThrow();
  });
});
