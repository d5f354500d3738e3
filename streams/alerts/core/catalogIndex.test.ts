import { describe, expect, it } from 'vitest';
import { CatalogIndex } from './catalogIndex.ts';
import { extractField, type CatalogStar } from './reference.ts';

describe('CatalogIndex', () => {
  it('gives exactly the stars of a linear cone search, near the poles and across RA 0 too', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const stars: CatalogStar[] = Array.from({ length: 20_000 }, () => ({ ra: rnd() * 360, dec: Math.asin(2 * rnd() - 1) * (180 / Math.PI), mag: 10 + 10 * rnd(), band: null }));
    const index = new CatalogIndex(stars);
    for (const [ra, dec, r] of [[10, 20, 2], [359.5, -3, 3], [0.2, 45, 4], [123, 88.5, 3], [200, -89, 2.5], [50, 0, 0]]) {
      expect(index.near(ra, dec, r)).toEqual(extractField(stars, ra, dec, r));
    }
    expect(index.near(10, 20, 2).length).toBeGreaterThan(3);
    expect(index.overlaps(95, 2)).toBe(false);
    expect(new CatalogIndex([]).near(0, 0, 1)).toEqual([]);
  });
});
