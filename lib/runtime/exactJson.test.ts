import { describe, it, expect } from 'vitest';
import { parseExact, stringifyExact } from './exactJson.ts';

describe('exact JSON', () => {
  it('round-trips NaN, infinities, -0, nested values and marker-like strings', () => {
    const v = { a: NaN, b: [Infinity, -Infinity, -0, 0, 1.1e-300, 0.1 + 0.2], c: { s: '\u0000n:1', t: 'plain' }, d: null };
    const back = parseExact<typeof v>(stringifyExact(v));
    expect(Number.isNaN(back.a)).toBe(true);
    expect(back.b.map((x) => (Object.is(x, -0) ? '-0' : String(x)))).toEqual(['Infinity', '-Infinity', '-0', '0', '1.1e-300', String(0.1 + 0.2)]);
    expect(back.c).toEqual(v.c);
    expect(back.d).toBeNull();
    expect(JSON.parse(JSON.stringify(v)).a).toBeNull(); // what plain JSON would have done
  });
});
