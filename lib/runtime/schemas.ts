/**
 * The Avro contracts in `schemas/avro/<owner>/<Record>.avsc`: one file per record, owned by the
 * producing stage. Shared named types (org.gft.common.*) are defined once and referenced by name;
 * `loadSchemas` resolves them through one avsc registry so every record's full schema (what goes
 * to the schema registry) is self-contained.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import avro from 'avsc';
import { repoRoot } from '../config/platform.ts';

export const schemaDir = join(repoRoot, 'schemas', 'avro');

export interface SchemaEntry {
  /** Full record name, e.g. org.gft.gp1.CandidateList */
  name: string;
  /** Owning stage folder (the producer), e.g. gp1 */
  owner: string;
  file: string;
  /** The schema as written in the file */
  source: object;
  type: avro.Type;
  /** Self-contained canonical-ish JSON sent to the registry */
  fullSchema: string;
}

function listAvsc(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...listAvsc(p));
    else if (f.endsWith('.avsc')) out.push(p);
  }
  return out;
}

function fullName(s: { name: string; namespace?: string }): string {
  return s.name.includes('.') ? s.name : `${s.namespace}.${s.name}`;
}

/** Loads schema sources (file → JSON) from a directory or from an explicit map (used by the git compatibility test). */
export function loadSchemas(sources: Map<string, string> = readSources()): Map<string, SchemaEntry> {
  const parsed = [...sources.entries()].map(([file, text]) => {
    try {
      return { file, json: JSON.parse(text) as { name: string; namespace?: string } };
    } catch (e) {
      throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  });
  // common types first so records can reference them by name
  parsed.sort((a, b) => Number(!a.file.includes('common/')) - Number(!b.file.includes('common/')) || a.file.localeCompare(b.file));
  const registry: Record<string, avro.Type> = {};
  const out = new Map<string, SchemaEntry>();
  for (const { file, json } of parsed) {
    const name = fullName(json);
    const type = avro.Type.forSchema(json as avro.Schema, { registry, wrapUnions: false });
    // Each record must stand alone for the registry: forSchema with a fresh registry of the common
    // types only, then let avsc inline them at first use.
    const standalone = name.startsWith('org.gft.common.')
      ? type
      : avro.Type.forSchema(json as avro.Schema, { registry: commonOnly(registry), wrapUnions: false });
    const owner = file.split('/').slice(-2, -1)[0] ?? '';
    out.set(name, { name, owner, file, source: json, type, fullSchema: JSON.stringify(standalone.schema({ exportAttrs: true })) });
  }
  return out;
}

function commonOnly(registry: Record<string, avro.Type>): Record<string, avro.Type> {
  const r: Record<string, avro.Type> = {};
  for (const [k, v] of Object.entries(registry)) if (k.startsWith('org.gft.common.')) r[k] = v;
  return r;
}

export function readSources(dir = schemaDir): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of listAvsc(dir)) m.set(relative(dir, p), readFileSync(p, 'utf8'));
  return m;
}

let cache: Map<string, SchemaEntry> | undefined;
export function schemas(): Map<string, SchemaEntry> {
  return (cache ??= loadSchemas());
}

export function schema(name: string): SchemaEntry {
  const s = schemas().get(name);
  if (!s) throw new Error(`unknown Avro schema '${name}' (known: ${[...schemas().keys()].join(', ')})`);
  return s;
}
