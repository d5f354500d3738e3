/**
 * Declared configuration: every field has a type, a doc line and a default; values come from the
 * environment (`GFT_…`) and are validated once, at boot. A bad value is a clear error naming the
 * variable, never a crash deep inside a stage. The docs table is generated from the declarations.
 */
export type FieldType = 'string' | 'int' | 'number' | 'boolean' | 'url' | 'list';

export interface Field<T> {
  env: string;
  type: FieldType;
  doc: string;
  default: T | (() => T);
  min?: number;
  max?: number;
  /** never printed; may also come from a file named by `<env>_FILE` (the Docker/Kubernetes secrets convention) */
  secret?: boolean;
}

import { readSecretFile, rememberSecret } from './secrets.ts';

type Values<S> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export class ConfigError extends Error {
  readonly code = 'config.invalid';
}

function coerce(f: Field<unknown>, raw: string): unknown {
  switch (f.type) {
    case 'string':
      return raw;
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n) || (f.type === 'int' && !Number.isInteger(n)))
        throw new ConfigError(`${f.env}: expected ${f.type === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
      if (f.min !== undefined && n < f.min) throw new ConfigError(`${f.env}: ${n} is below the minimum ${f.min}`);
      if (f.max !== undefined && n > f.max) throw new ConfigError(`${f.env}: ${n} is above the maximum ${f.max}`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${f.env}: expected true/false, got '${raw}'`);
    case 'url':
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(`${f.env}: not a URL: '${raw}'`);
      }
      return raw.replace(/\/+$/, '');
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
}

export function field<T>(f: Field<T>): Field<T> {
  return f;
}

export function loadConfig<S extends Record<string, Field<any>>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Values<S> {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [key, f] of Object.entries(schema)) {
    let raw = env[f.env];
    try {
      if (f.secret) {
        const file = env[`${f.env}_FILE`];
        if (file && raw) throw new ConfigError(`${f.env} and ${f.env}_FILE are both set: keep one`);
        if (file) raw = readSecretFile(file, `${f.env}_FILE`);
        rememberSecret(raw);
      }
    } catch (e) {
      errors.push((e as Error).message); // names the variable or the file, never the content
      continue;
    }
    try {
      out[key] = raw === undefined || raw === '' ? (typeof f.default === 'function' ? f.default() : f.default) : coerce(f, raw);
    } catch (e) {
      // a coercion error quotes the raw value: never for a secret
      errors.push(f.secret ? `${f.env}: invalid value` : (e as Error).message);
    }
  }
  if (errors.length) throw new ConfigError(`invalid configuration:\n  ${errors.join('\n  ')}`);
  return out as Values<S>;
}

export function describeConfig(schema: Record<string, Field<any>>): string {
  const rows = ['| variable | type | default | description |', '| --- | --- | --- | --- |'];
  for (const f of Object.values(schema)) {
    const d = f.secret ? '(secret)' : typeof f.default === 'function' ? '(derived)' : JSON.stringify(f.default);
    rows.push(`| \`${f.env}\` | ${f.type} | ${d} | ${f.doc} |`);
  }
  return rows.join('\n');
}
