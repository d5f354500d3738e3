/**
 * JSON that gives back exactly the numbers it was given: NaN, ±Infinity and -0 survive (plain JSON
 * writes null and 0), so state restored from a changelog or from storage computes the same outputs
 * as the state it replaces. Strings that start with the marker are escaped.
 */
const MARK = '\u0000n:';
const ESC = '\u0000s:';

export function stringifyExact(value: unknown): string {
  return JSON.stringify(value, function (_k, v: unknown) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) return MARK + (Object.is(v, -0) ? '-0' : String(v));
      return v;
    }
    if (typeof v === 'string' && v.startsWith('\u0000')) return ESC + v;
    return v;
  });
}

export function parseExact<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v !== 'string' || !v.startsWith('\u0000')) return v;
    if (v.startsWith(MARK)) return Number(v.slice(MARK.length));
    if (v.startsWith(ESC)) return v.slice(ESC.length);
    return v;
  }) as T;
}
