/**
 * The master bank: a pure index over master metadata (no pixels, no I/O). Picks the master for a
 * frame by kind, camera, binning, filter (flats only) and nearest date, as the COATLI pipeline picks
 * its masters per night. Where the masters live (files, object storage) is the caller's business:
 * `path` is carried, not interpreted.
 */
import type { MasterKind, MasterStats } from './masters.ts';

export interface MasterMeta {
  kind: MasterKind;
  name: string;
  camera: string;
  binning: string;
  /** Flats only; null otherwise. */
  filter: string | null;
  /** ISO UTC. */
  dateObs: string;
  sha256: string;
  width: number;
  height: number;
  path?: string;
  stats?: Partial<MasterStats>;
  /** False for masters kept for the record but never to be used (default true). */
  accepted?: boolean;
}

export interface BankQuery {
  camera: string;
  binning: string;
  filter?: string | null;
  /** ISO date of the frame. */
  date: string;
}

const sameFilter = (a: string | null | undefined, b: string | null | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

export class MasterBank {
  private readonly items: MasterMeta[] = [];

  constructor(entries: Iterable<MasterMeta> = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds (or replaces, by name) a master. */
  add(m: MasterMeta): void {
    const i = this.items.findIndex((x) => x.name === m.name);
    if (i >= 0) this.items[i] = m;
    else this.items.push(m);
  }

  get entries(): readonly MasterMeta[] {
    return this.items;
  }

  /** Candidates for a query: same kind, camera, binning (and filter for flats), accepted. */
  candidates(kind: MasterKind, q: Omit<BankQuery, 'date'>): MasterMeta[] {
    return this.items.filter((m) => m.kind === kind && m.accepted !== false && m.camera === q.camera && m.binning === q.binning && (kind !== 'flat' || sameFilter(m.filter, q.filter)));
  }

  /**
   * The master nearest in time to `q.date` (ties: the earlier one, which was available when the frame
   * was taken). Null if none matches.
   */
  pick(kind: MasterKind, q: BankQuery): MasterMeta | null {
    const t = Date.parse(q.date);
    if (!Number.isFinite(t)) throw new Error(`MasterBank.pick: bad date '${q.date}'`);
    let best: MasterMeta | null = null;
    let bestD = Infinity;
    let bestT = Infinity;
    for (const m of this.candidates(kind, q)) {
      const mt = Date.parse(m.dateObs);
      const d = Math.abs(mt - t);
      if (d < bestD || (d === bestD && mt < bestT)) {
        best = m;
        bestD = d;
        bestT = mt;
      }
    }
    return best;
  }

  /**
   * The newest accepted master of a key dated at or before `before` (ISO; any date when absent): what
   * a night whose own master of that kind could not be made falls back on. Null if none.
   */
  newest(kind: MasterKind, q: Omit<BankQuery, 'date'>, before?: string | null): MasterMeta | null {
    const limit = before ? Date.parse(before) : Infinity;
    let best: MasterMeta | null = null;
    let bestT = -Infinity;
    for (const c of this.candidates(kind, q)) {
      const ct = Date.parse(c.dateObs);
      if (ct <= limit && ct > bestT) {
        best = c;
        bestT = ct;
      }
    }
    return best;
  }

  /** The latest master of the same key dated strictly before `m` (what a new master is compared with). */
  previous(m: Pick<MasterMeta, 'kind' | 'camera' | 'binning' | 'filter' | 'dateObs' | 'name'>): MasterMeta | null {
    const t = Date.parse(m.dateObs);
    let best: MasterMeta | null = null;
    let bestT = -Infinity;
    for (const c of this.candidates(m.kind, m)) {
      const ct = Date.parse(c.dateObs);
      if (c.name !== m.name && ct < t && ct > bestT) {
        best = c;
        bestT = ct;
      }
    }
    return best;
  }
}
