/**
 * Name → object lookups in local storage metadata, for provenance: the calibrated file of a frame id
 * (`<frameId>-cal.fits`, kind 'calibrated'), its raw file, masters (`<masterId>.fits`), and the
 * reference documents of a burst (`<burstId>_v<version>.json`).
 *
 * Storage is content-addressed and metadata is written by the first `put` of a content, so an
 * object's `burstId` is the one of whoever stored those bytes first: lookups prefer an entry of the
 * requested burst, then fall back to the same name from another burst (the same bytes or a re-run),
 * the most recent first. Metadata files never change, so a refresh reads only the new ones; the
 * caller refreshes when a lookup misses (frames of a new epoch), not per message. The entries of a
 * closed burst are dropped (forget) and read again only if that burst needs them after all (recall).
 */
import type { LocalStorage, ObjectMeta } from '../../connectors/storage/storage.ts';

export class StorageIndex {
  private readonly seen = new Set<string>();
  private readonly byName = new Map<string, ObjectMeta[]>();
  /** Closed bursts whose entries are not kept (forget/recall). */
  private readonly forgotten = new Set<string>();
  refreshes = 0;

  constructor(private readonly storage: LocalStorage) {}

  /** Reads the metadata written since the last refresh. */
  async refresh(): Promise<void> {
    this.refreshes++;
    for await (const o of this.storage.backend.list('meta')) {
      if (this.seen.has(o.key) || !o.key.endsWith('.json')) continue;
      let m: ObjectMeta;
      try {
        m = JSON.parse((await this.storage.backend.get(o.key)).toString('utf8')) as ObjectMeta;
      } catch {
        continue; // a metadata file being written concurrently: read it at the next refresh
      }
      this.seen.add(o.key);
      if (!m.name || (m.burstId && this.forgotten.has(m.burstId))) continue;
      const arr = this.byName.get(m.name) ?? [];
      arr.push(m);
      this.byName.set(m.name, arr);
    }
  }

  /** The object stored under `name` (optionally of `kind`), preferring `burstId`'s. */
  find(name: string, opts: { burstId?: string | null; kind?: string } = {}): ObjectMeta | undefined {
    return this.all(name, opts)[0];
  }

  /** Every object stored under `name` (optionally of `kind`): `burstId`'s first, then the most recent. */
  all(name: string, opts: { burstId?: string | null; kind?: string } = {}): ObjectMeta[] {
    const all = (this.byName.get(name) ?? []).filter((m) => !opts.kind || m.kind === opts.kind);
    return all.sort((a, b) => Number(b.burstId === opts.burstId) - Number(a.burstId === opts.burstId) || b.created.localeCompare(a.created) || a.sha256.localeCompare(b.sha256));
  }

  /** Like all, refreshing once on a miss. */
  async lookupAll(name: string, opts: { burstId?: string | null; kind?: string } = {}): Promise<ObjectMeta[]> {
    const found = this.all(name, opts);
    return found.length ? found : (await this.refresh(), this.all(name, opts));
  }

  /**
   * Drops the entries of a closed burst (its final product made): a stage that lives through a season
   * keeps the metadata of its open bursts only. Their files are not read again (`seen` keeps their
   * keys: ~100 bytes an object).
   */
  forget(burstId: string): void {
    this.forgotten.add(burstId);
    for (const [name, metas] of this.byName) {
      const kept = metas.filter((m) => m.burstId !== burstId);
      if (!kept.length) this.byName.delete(name);
      else if (kept.length !== metas.length) this.byName.set(name, kept);
    }
  }

  /** A list of a forgotten burst came after all (a revision): its entries are read again at the next refresh (all metadata is listed again). */
  recall(burstId: string): void {
    if (!this.forgotten.delete(burstId)) return;
    this.seen.clear();
    this.byName.clear();
  }

  /** Entries held (objects by name). */
  get size(): number {
    let n = 0;
    for (const metas of this.byName.values()) n += metas.length;
    return n;
  }

  /** Reference documents of a burst, highest version first. */
  references(burstId: string): { version: number; meta: ObjectMeta }[] {
    const out: { version: number; meta: ObjectMeta }[] = [];
    const re = new RegExp(`^${burstId.replace(/[^\w]/g, '\\$&')}_v(\\d+)\\.json$`);
    for (const [name, metas] of this.byName) {
      const m = re.exec(name);
      if (!m) continue;
      const meta = this.find(name, { burstId, kind: 'reference' }) ?? metas[0];
      out.push({ version: Number(m[1]), meta });
    }
    return out.sort((a, b) => b.version - a.version);
  }
}
