import { describe, it, expect } from 'vitest';
import { Lru } from './lru.ts';

describe('Lru', () => {
  it('keeps at most `capacity` entries, forgetting the least recently used', () => {
    const c = new Lru<string, number>(2);
    c.set('a', 1).set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3);
    expect([c.has('a'), c.has('b'), c.has('c')]).toEqual([true, false, true]);
    c.deleteWhere((k) => k === 'a');
    expect(c.size).toBe(1);
    expect(() => new Lru(0)).toThrow();
  });
});
