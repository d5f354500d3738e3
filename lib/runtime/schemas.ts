/**
 * The Avro contracts in `schemas/avro/<owner>/<Record>.avsc`: one file per record, owned by the
 * producing stage. Shared named types (org.gft.common.*) are defined once and referenced by name.
 *
 * What goes to the schema registry (`fullSchema`) is the file itself, as parsed JSON, with each
 * reference to a shared type replaced by that type's own file at its first use (Avro defines a named
 * type once per schema; later uses stay by name): every logicalType, doc, default, alias and order
 * of the files survives. It is NOT avsc's `type.schema()` export: a type parsed without logical-type
 * hooks exports `{"type":"long","logicalType":"timestamp-millis"}` as a bare "long" (issue 21).
 *
 * `type` is the avsc type our serdes encode and decode with. It is parsed without logical-type hooks
 * on purpose: timestamp-millis values are JS numbers (ms since the epoch) inside the chain; the wire
 * bytes are those of the long, so a logical-type-aware reader (Python's datetime, Java's Instant)
 * reads them as timestamps through the registry's schema.
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
  /** The file as written, shared types inlined at first use: the JSON text sent to the registry */
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
  const common = new Map<string, unknown>();
  const out = new Map<string, SchemaEntry>();
  for (const { file, json } of parsed) {
    const name = fullName(json);
    const type = avro.Type.forSchema(json as avro.Schema, { registry, wrapUnions: false });
    if (name.startsWith(COMMON)) common.set(name, json);
    const owner = file.split('/').slice(-2, -1)[0] ?? '';
    out.set(name, { name, owner, file, source: json, type, fullSchema: JSON.stringify(inlineShared(json, common)) });
  }
  return out;
}

const COMMON = 'org.gft.common.';
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * A deep copy of schema `json` in which each name reference to a shared type (`shared`: full name →
 * that type's file JSON) is replaced by the shared type's definition at its first use, in Avro's
 * parse order (depth first, fields in order); later references stay names. Everything else is kept
 * as written. Names follow Avro's namespace rules (a dotted name is full; otherwise the enclosing
 * namespace applies).
 */
export function inlineShared(json: unknown, shared: ReadonlyMap<string, unknown>): unknown {
  const defined = new Set<string>();
  const named = (o: Record<string, unknown>, ns: string): { full: string; ns: string } => {
    const n = String(o.name);
    if (n.includes('.')) return { full: n, ns: n.slice(0, n.lastIndexOf('.')) };
    const space = typeof o.namespace === 'string' ? o.namespace : ns;
    return { full: space ? `${space}.${n}` : n, ns: space };
  };
  const walk = (s: unknown, ns: string): unknown => {
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return s;
      const full = s.includes('.') || !ns ? s : `${ns}.${s}`;
      if (defined.has(full) || !shared.has(full)) return s;
      return walk(shared.get(full), ns); // defines it (its file carries its own namespace)
    }
    if (Array.isArray(s)) return s.map((b) => walk(b, ns));
    if (s === null || typeof s !== 'object') return s;
    const o = s as Record<string, unknown>;
    const copy: Record<string, unknown> = { ...o };
    if (o.type === 'record' || o.type === 'error' || o.type === 'enum' || o.type === 'fixed') {
      const n = named(o, ns);
      defined.add(n.full);
      if (Array.isArray(o.fields)) copy.fields = o.fields.map((f: Record<string, unknown>) => ({ ...f, type: walk(f.type, n.ns) }));
    } else if (o.type === 'array') {
      copy.items = walk(o.items, ns);
    } else if (o.type === 'map') {
      copy.values = walk(o.values, ns);
    } else if (typeof o.type === 'object' || (typeof o.type === 'string' && !PRIMITIVES.has(o.type))) {
      copy.type = walk(o.type, ns); // {"type": <schema>} wrapper
    }
    return copy;
  };
  return structuredClone(walk(json, '')); // nothing shared with the inputs
}

/**
 * avsc's view of `{"type":"long","logicalType":"timestamp-millis"}` as a Date, for readers that want
 * timestamps (`avro.Type.forSchema(s, { logicalTypes: { 'timestamp-millis': TimestampMillis } })`).
 * The chain itself does not use it: its values stay numbers (ms since the epoch), same bytes.
 */
export class TimestampMillis extends avro.types.LogicalType {
  protected override _fromValue(ms: number): Date {
    return new Date(ms);
  }
  protected override _toValue(d: unknown): number | undefined {
    return d instanceof Date ? d.getTime() : undefined;
  }
  protected override _resolve(type: avro.Type): ((v: number) => Date) | undefined {
    if (avro.Type.isType(type, 'long', 'logical:timestamp-millis')) return (v) => this._fromValue(v);
    return undefined;
  }
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
