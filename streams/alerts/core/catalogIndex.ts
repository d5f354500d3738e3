/**
 * A star catalog indexed by declination (issue 22: a season of fields in one catalog): stars sorted
 * by Dec, a query reads only the band [dec − r, dec + r] by binary search, then the exact cone
 * (extractField). Building is O(n log n) once per file; a query O(log n + band).
 */
import { extractField, type CatalogStar } from './reference.ts';

export class CatalogIndex {
  private readonly stars: CatalogStar[];
  private readonly decs: Float64Array;

  constructor(stars: readonly CatalogStar[]) {
    this.stars = [...stars].sort((a, b) => a.dec - b.dec || a.ra - b.ra);
    this.decs = Float64Array.from(this.stars, (s) => s.dec);
  }

  get size(): number {
    return this.stars.length;
  }

  /** Lowest and highest Dec of the catalog (NaN when empty). */
  get decRange(): [number, number] {
    return this.decs.length ? [this.decs[0], this.decs[this.decs.length - 1]] : [NaN, NaN];
  }

  /** First index with dec ≥ x. */
  private lower(x: number): number {
    let lo = 0;
    let hi = this.decs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.decs[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Stars within `radiusDeg` of (ra, dec), brightest first (as extractField orders them). */
  near(ra: number, dec: number, radiusDeg: number): CatalogStar[] {
    const from = this.lower(dec - radiusDeg);
    const to = this.lower(dec + radiusDeg + 1e-12);
    return extractField(this.stars.slice(from, to), ra, dec, radiusDeg);
  }

  /** Could this catalog hold stars within `radiusDeg` of Dec `dec`? */
  overlaps(dec: number, radiusDeg: number): boolean {
    const [lo, hi] = this.decRange;
    return this.size > 0 && dec + radiusDeg >= lo && dec - radiusDeg <= hi;
  }
}
