/**
 * A stage's state store for one input partition (Kafka Streams' key-value store with a changelog).
 *
 * - Values are JSON; `get` returns a fresh copy, so a caller that mutates what it read changes
 *   nothing until it `put`s it back.
 * - Writes go to an overlay while a message (or a punctuation) is being handled: `commitMessage`
 *   keeps them, `rollbackMessage` drops them, so a failed or retried handler never leaves half a
 *   state change behind.
 * - `takeChanges` hands the kept writes since the last call to the runner, which sends them to the
 *   changelog after the outputs they belong to (or in the same transaction), before the offset.
 * - Restore: the latest entry per key of the changelog partition (`StateStore.fromEntries`).
 */
export class StateStore {
  private readonly data: Map<string, string>;
  private overlay = new Map<string, string | null>();
  private changes = new Map<string, string | null>();
  private committedBytes = 0;

  constructor(entries: Iterable<[string, string]> = []) {
    this.data = new Map(entries);
    for (const [k, v] of this.data) this.committedBytes += k.length + v.length;
  }

  /** Characters of the committed keys and values (≈ bytes: keys and JSON are mostly ASCII), for the stage's metrics. */
  get bytes(): number {
    return this.committedBytes;
  }

  private raw(key: string): string | undefined {
    if (this.overlay.has(key)) return this.overlay.get(key) ?? undefined;
    return this.data.get(key);
  }

  get<V>(key: string): V | undefined {
    const j = this.raw(key);
    return j === undefined ? undefined : (JSON.parse(j) as V);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  put(key: string, value: unknown): void {
    const j = JSON.stringify(value);
    if (j === undefined) throw new TypeError(`state value of '${key}' is not JSON`);
    this.overlay.set(key, j);
  }

  delete(key: string): void {
    if (this.has(key)) this.overlay.set(key, null);
  }

  /** Keys (optionally with a prefix), sorted. */
  keys(prefix = ''): string[] {
    const out = new Set<string>();
    for (const k of this.data.keys()) if (k.startsWith(prefix)) out.add(k);
    for (const [k, v] of this.overlay) {
      if (!k.startsWith(prefix)) continue;
      if (v === null) out.delete(k);
      else out.add(k);
    }
    return [...out].sort();
  }

  get size(): number {
    return this.overlay.size ? this.keys().length : this.data.size;
  }

  commitMessage(): void {
    for (const [k, v] of this.overlay) {
      const old = this.data.get(k);
      if (old !== undefined) this.committedBytes -= k.length + old.length;
      if (v === null) this.data.delete(k);
      else {
        this.data.set(k, v);
        this.committedBytes += k.length + v.length;
      }
      this.changes.set(k, v);
    }
    this.overlay = new Map();
  }

  rollbackMessage(): void {
    this.overlay = new Map();
  }

  /** Kept writes since the last call (null = deleted), in the order last written. */
  takeChanges(): Map<string, string | null> {
    const c = this.changes;
    this.changes = new Map();
    return c;
  }
}

/** A store for stages that declare no state: every use is a bug in the stage. */
export const NO_STORE = new Proxy({} as StateStore, {
  get(_t, prop) {
    throw new Error(`this stage declares no state (state: true) — store.${String(prop)} is not available`);
  },
});
