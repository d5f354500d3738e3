import { describe, it, expect } from 'vitest';
import { sql, quote, ident, quoteString, SqlError, join, raw } from './sql.ts';

describe('ClickHouse quoting', () => {
  it('quotes strings with every special character escaped', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString('l1\nl2\t\r\0')).toBe("'l1\\nl2\\t\\r\\0'");
  });
  it('renders values by type', () => {
    expect(quote(1.5)).toBe('1.5');
    expect(quote(-3)).toBe('-3');
    expect(quote(10n)).toBe('10');
    expect(quote(true)).toBe('1');
    expect(quote(null)).toBe('NULL');
    expect(quote(new Date('2019-10-16T08:30:05.999Z'))).toBe("'2019-10-16 08:30:05'");
    expect(quote(['a', 1])).toBe("['a', 1]");
  });
  it('refuses what cannot be a literal', () => {
    expect(() => quote(Number.NaN)).toThrow(SqlError);
    expect(() => quote(Infinity)).toThrow(SqlError);
    expect(() => quote({ a: 1 })).toThrow(SqlError);
    expect(() => quote(new Date('nope'))).toThrow(SqlError);
  });
  it('interpolates without letting text escape the literal', () => {
    const evil = "x' OR 1=1 --";
    const q = sql`SELECT * FROM t WHERE name = ${evil} AND n > ${3}`;
    expect(q.text).toBe("SELECT * FROM t WHERE name = 'x\\' OR 1=1 --' AND n > 3");
    const evil2 = "\\' OR 1=1 --";
    expect(sql`WHERE a = ${evil2}`.text).toBe("WHERE a = '\\\\\\' OR 1=1 --'");
  });
  it('validates identifiers', () => {
    expect(ident('gft.telemetry').text).toBe('`gft`.`telemetry`');
    expect(() => ident('t; DROP TABLE x')).toThrow(SqlError);
    expect(() => ident('a`b')).toThrow(SqlError);
  });
  it('composes fragments', () => {
    const where = join([sql`a = ${1}`, sql`b = ${'x'}`], ' AND ');
    expect(sql`SELECT 1 FROM ${ident('t')} WHERE ${where} ${raw('LIMIT 1')}`.text).toBe("SELECT 1 FROM `t` WHERE a = 1 AND b = 'x' LIMIT 1");
  });
});
