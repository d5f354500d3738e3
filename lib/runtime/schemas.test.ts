/**
 * Contract tests: every schema parses; every topic has a schema; and every schema can still read
 * every earlier version of itself committed in git (BACKWARD compatibility, what the registry
 * enforces per subject) — an incompatible change fails here before it reaches a registry.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import avro from 'avsc';
import { loadSchemas, readSources, schemaDir, schemas } from './schemas.ts';
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
    for (const s of all.values()) expect(JSON.parse(s.fullSchema).name).toBe(s.name);
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

  it('detects an incompatible change (the check can fail)', () => {
    const before = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }] });
    const added = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int' }] });
    const addedWithDefault = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int', default: 0 }] });
    expect(() => added.createResolver(before)).toThrow();
    expect(() => addedWithDefault.createResolver(before)).not.toThrow();
  });
});
