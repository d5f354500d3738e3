/**
 * The one module through which every value reaches ClickHouse SQL. Debian's ClickHouse 18.16 has
 * no server-side query parameters, so values are rendered as literals here, and nowhere else:
 * `sql\`SELECT … WHERE burst_id = ${id} AND t > ${date}\`` quotes each interpolated value by its
 * type; identifiers go through `ident()`. Strings are escaped per ClickHouse's quoted-string
 * grammar (backslash escapes), which current releases accept too.
 */
export class SqlError extends Error {
  readonly code = 'sql.bad_value';
  readonly retriable = false;
}

/** A fragment already rendered (an identifier, or a nested sql`` result): inserted verbatim. */
export class Sql {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

export function quoteString(s: string): string {
  return "'" + s.replace(/[\\'\n\r\t\0\b\f]/g, (c) => ESCAPES[c]) + "'";
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** DateTime literal in UTC ('YYYY-MM-DD hh:mm:ss'); the server runs with timezone UTC. */
export function quoteDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new SqlError('invalid Date');
  return `'${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}'`;
}

export function quote(v: unknown): string {
  if (v instanceof Sql) return v.text;
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SqlError(`non-finite number ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return quoteString(v);
  if (v instanceof Date) return quoteDate(v);
  if (Array.isArray(v)) return '[' + v.map(quote).join(', ') + ']';
  throw new SqlError(`cannot quote a value of type ${typeof v}`);
}

/** Identifier (table, column, database): only plain names, back-quoted. */
export function ident(name: string): Sql {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) throw new SqlError(`invalid identifier '${name}'`);
  return new Sql(
    name
      .split('.')
      .map((p) => '`' + p + '`')
      .join('.'),
  );
}

/** Tagged template: every `${value}` is quoted by type; Sql fragments are inserted verbatim. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += quote(values[i]) + strings[i + 1];
  return new Sql(out);
}

/** Joins fragments, e.g. optional WHERE clauses. */
export function join(parts: Sql[], sep = ', '): Sql {
  return new Sql(parts.map((p) => p.text).join(sep));
}

/** Raw SQL written in our code (never user text): DDL and fixed clauses. */
export function raw(text: string): Sql {
  return new Sql(text);
}
