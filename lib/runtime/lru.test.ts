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

  it('with a byte bound, forgets the oldest until the bytes fit, keeping the newest', () => {
    const c = new Lru<string, Uint8Array>(10, { maxBytes: 100, sizeOf: (v) => v.byteLength });
    c.set('a', new Uint8Array(40)).set('b', new Uint8Array(40));
    expect(c.byteSize).toBe(80);
    c.set('c', new Uint8Array(40));
    expect([c.has('a'), c.has('b'), c.has('c'), c.byteSize]).toEqual([false, true, true, 80]);
    c.set('d', new Uint8Array(150)); // alone over the bound: kept, the others go
    expect([c.size, c.byteSize]).toEqual([1, 150]);
    c.delete('d');
    expect(c.byteSize).toBe(0);
  });
});
