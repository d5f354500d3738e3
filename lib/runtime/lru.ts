/**
 * A bounded map that forgets the least recently used entry: for the caches stages keep beside their
 * state (calibrators, measurements, catalogs), so a stage that runs for months holds a bounded amount
 * of memory whatever the number of bursts it has seen (what it must remember is in its state store).
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private readonly sizes = new Map<K, number>();
  private total = 0;

  /**
   * At most `capacity` entries and, with `maxBytes`, at most that many bytes as `sizeOf` counts them
   * (the newest entry is kept even when it alone is bigger).
   */
  constructor(
    readonly capacity: number,
    private readonly bytes?: { maxBytes: number; sizeOf: (v: V) => number },
  ) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
  }

  /** Bytes held, as `sizeOf` counted them when the entries were set (0 without a byte bound). */
  get byteSize(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key); // most recent last
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): this {
    this.delete(key);
    this.map.set(key, value);
    if (this.bytes) {
      const n = this.bytes.sizeOf(value);
      this.sizes.set(key, n);
      this.total += n;
    }
    while (this.map.size > this.capacity || (this.bytes && this.total > this.bytes.maxBytes && this.map.size > 1)) this.delete(this.map.keys().next().value as K);
    return this;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  delete(key: K): boolean {
    this.total -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
    return this.map.delete(key);
  }

  /** Drops every entry whose key matches. */
  deleteWhere(pred: (key: K) => boolean): void {
    for (const k of [...this.map.keys()]) if (pred(k)) this.delete(k);
  }

  /** The entries' values, least recently used first. */
  values(): V[] {
    return [...this.map.values()];
  }

  clear(): void {
    this.map.clear();
    this.sizes.clear();
    this.total = 0;
  }

  get size(): number {
    return this.map.size;
  }
}
