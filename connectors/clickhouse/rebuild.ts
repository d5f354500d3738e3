/**
 * Rebuilding a table with a new layout. ClickHouse cannot change a table's engine parameters (e.g.
 * give a ReplacingMergeTree a version column) in place, so a migration renames the table away,
 * creates the new one under its name, copies the rows and drops the old one:
 *
 *   one server                                   cluster (cluster.ts: `<t>_local` + Distributed `<t>` over it)
 *   CREATE TABLE t__mN (new layout)              CREATE TABLE t__mN_local ON CLUSTER (Replicated…, new layout)
 *                                                CREATE TABLE t__mN ON CLUSTER AS t__mN_local ENGINE = Distributed(…, t_local, …)
 *   RENAME TABLE t TO t__mN_old, t__mN TO t      RENAME TABLE t_local TO t__mN_old_local, t__mN_local TO t_local,
 *                                                             t TO t__mN_olddist, t__mN TO t ON CLUSTER
 *                                                CREATE TABLE t__mN_old ON CLUSTER AS t__mN_old_local ENGINE = Distributed(…)
 *   INSERT INTO t (…) SELECT … FROM t__mN_old    INSERT INTO t (…) SELECT … FROM t__mN_old   (insert_distributed_sync)
 *   DROP TABLE t__mN_old                         DROP TABLE t__mN_old, t__mN_old_local, t__mN_olddist ON CLUSTER
 *
 * On a cluster the Distributed table is replaced by a RENAME too: 18.16 refuses ALTER … ON CLUSTER of
 * a Distributed table when the shards are replicated, and a DROP + CREATE would leave writers a moment
 * without a table.
 * (N: the migration id, so that the ZooKeeper path of the new replicated table, `<zk>/<db>/t__mN_local`,
 * is never one a table still holds.) Nothing is lost: the RENAME waits for inserts in flight, every
 * later insert names `t` and lands in the new table, and the copy reads the old table only after
 * the rename. Columns the old layout lacks get a value computed from the old row (`added[].from`).
 *
 * Resumable and safe to run from several processes at once (two instances of a stage start
 * together): each pass looks at what exists (system.tables / system.columns of the server it talks
 * to) and does only what is left; a statement that fails because another process got there first
 * (a RENAME of a table that moved, a copy from a table just dropped) makes it look again. A copy
 * done twice is harmless: the copies are identical rows of a ReplacingMergeTree (same identity,
 * same version) and collapse. A copy reads the version column itself when the old table already has
 * it. Columns are named on both sides of the copy. SQL for 18.16 and current releases.
 */
import type { ClickHouse } from './client.ts';
import { clusterTable, distributedEngine, localTable, onCluster, shardingKey, type ClusterDdl } from './cluster.ts';
import { ident, raw, sql, type Sql } from './sql.ts';

export interface TableRebuild {
  /** The table the code reads and writes. */
  table: string;
  /** Its CREATE TABLE IF NOT EXISTS statement in the new layout (one-server form), for a given name. */
  create(db: string, name: string): Sql;
  /** The columns of the new layout, in order. */
  columns: string[];
  /** Columns the old layout lacks: their type, and their value for the copied rows (SQL over the old columns). */
  added: { name: string; type: string; from: string }[];
  /**
   * Copy the rows `FINAL` shows (one per identity: exactly what queries saw before), not every stored
   * row. For small tables whose not-yet-merged duplicates may differ (which one a merge keeps would
   * otherwise depend on the order of the copy).
   */
  final: boolean;
}

const q = (s: string) => '`' + s + '`';
const t = (db: string, name: string) => ident(`${db}.${name}`);

/** The names one rebuild works with (`live`, `fresh`, `old`: where the rows are, i.e. `_local` on a cluster). */
export function rebuildNames(r: TableRebuild, id: number, c: ClusterDdl | null) {
  const fresh = `${r.table}__m${id}`;
  const old = `${r.table}__m${id}_old`;
  return {
    live: localTable(r.table, c),
    fresh: localTable(fresh, c),
    freshName: fresh,
    old: localTable(old, c),
    /** on a cluster: the Distributed table over the old rows, for the copy */
    oldDistributed: old,
    /** on a cluster: the Distributed table of before, renamed away */
    oldFront: `${r.table}__m${id}_olddist`,
    distributed: r.table,
  };
}

/** The statements of a rebuild, each step on its own (what `rebuildTable` chooses from). */
function statements(db: string, r: TableRebuild, id: number, c: ClusterDdl | null) {
  const n = rebuildNames(r, id, c);
  const fresh = r.create(db, n.freshName);
  const createFresh = c ? clusterTable(fresh, c).local : fresh;
  const rename = (pairs: [string, string][]) => raw(`RENAME TABLE ${pairs.map(([a, b]) => `${t(db, a)} TO ${t(db, b)}`).join(', ')}${onCluster(c)}`);
  const drop = (name: string) => raw(`DROP TABLE IF EXISTS ${t(db, name)}${onCluster(c)}`);
  /** a Distributed table named `name`, with the columns of `as`, over the live local table (or `over`) */
  const distributed = (name: string, as: string, over = n.live) =>
    raw(`CREATE TABLE IF NOT EXISTS ${t(db, name)}${onCluster(c)} AS ${t(db, as)} ENGINE = ${distributedEngine(c!, db, over, shardingKey(fresh))}`);
  return {
    names: n,
    createFresh,
    /** on a cluster: the new Distributed table, created beside the old one (named `t__mN` until the swap) */
    createFreshFront: (as: string) => distributed(n.freshName, as),
    swap: rename(c ? [[n.live, n.old], [n.fresh, n.live], [n.distributed, n.oldFront], [n.freshName, n.distributed]] : [[n.live, n.old], [n.fresh, n.live]]),
    /** after a swap cut short (18.16 renames one pair after the other): the new table under the live name */
    promote: rename([[n.fresh, n.live]]),
    /** on a cluster, after a swap cut short: the new Distributed table in place of the old one */
    swapFront: rename([[n.distributed, n.oldFront], [n.freshName, n.distributed]]),
    createFront: c ? distributed(n.distributed, n.live) : null,
    createOldDistributed: c ? distributed(n.oldDistributed, n.old, n.old) : null,
    copy: (oldColumns: Set<string>) => {
      const from = (col: string) => {
        if (oldColumns.has(col)) return q(col);
        const a = r.added.find((x) => x.name === col);
        if (!a) throw new Error(`rebuild of ${r.table}: column ${col} is neither in the old table nor added`);
        return `${a.from} AS ${q(`${col}__new`)}`;
      };
      return raw(`INSERT INTO ${t(db, n.distributed)} (${r.columns.map(q).join(', ')}) SELECT ${r.columns.map(from).join(', ')} FROM ${t(db, c ? n.oldDistributed : n.old)}${r.final ? ' FINAL' : ''}`);
    },
    dropOld: c ? [drop(n.oldDistributed), drop(n.old)] : [drop(n.old)],
    /** leftovers of passes cut short, or of another process's */
    dropLeftovers: c ? [drop(n.oldFront), drop(n.fresh), drop(n.freshName)] : [drop(n.fresh)],
  };
}

/** Every statement a rebuild runs on a database in the old layout, in order (for `gft db migrate --print` and tests). */
export function rebuildPlan(db: string, r: TableRebuild, id: number, c: ClusterDdl | null): Sql[] {
  const s = statements(db, r, id, c);
  const oldColumns = new Set(r.columns.filter((x) => !r.added.some((a) => a.name === x)));
  return [
    s.createFresh,
    ...(c ? [s.createFreshFront(s.names.fresh)] : []),
    s.swap,
    ...(c ? [s.createOldDistributed!] : []),
    s.copy(oldColumns),
    ...s.dropOld,
    ...s.dropLeftovers,
  ];
}

async function columnsOf(ch: ClickHouse, db: string, table: string): Promise<Set<string> | null> {
  const exists = await ch.query<{ n: string }>(sql`SELECT count() AS n FROM system.tables WHERE database = ${db} AND name = ${table}`);
  if (!Number(exists[0]?.n ?? 0)) return null;
  const cols = await ch.query<{ name: string }>(sql`SELECT name FROM system.columns WHERE database = ${db} AND table = ${table}`);
  return new Set(cols.map((x) => x.name));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Brings one table to its new layout, keeping its rows (see the top of this file). Returns what it
 * did: 'rebuilt' (rows copied by this call), or 'up to date'.
 */
export async function rebuildTable(ch: ClickHouse, r: TableRebuild, id: number, c: ClusterDdl | null, log: (s: string) => void = () => {}): Promise<'rebuilt' | 'up to date'> {
  const db = ch.database;
  const s = statements(db, r, id, c);
  const n = s.names;
  const settings = c ? { insert_distributed_sync: 1 } : undefined;
  const hasAdded = (cols: Set<string>) => r.added.every((a) => cols.has(a.name));
  const pass = async (): Promise<'rebuilt' | 'up to date'> => {
    const live = await columnsOf(ch, db, n.live);
    if (!live) {
      await ch.exec(s.createFresh);
      await ch.exec(s.promote);
    } else if (!hasAdded(live)) {
      await ch.exec(s.createFresh);
      if (c) await ch.exec(s.createFreshFront(n.fresh));
      await ch.exec(s.swap);
    }
    if (c) {
      // the Distributed table follows its local table
      const front = await columnsOf(ch, db, n.distributed);
      if (!front) await ch.exec(s.createFront!);
      else if (!hasAdded(front)) {
        await ch.exec(s.createFreshFront(n.live));
        await ch.exec(s.swapFront);
      }
    }
    let did: 'rebuilt' | 'up to date' = 'up to date';
    const old = await columnsOf(ch, db, n.old);
    if (old) {
      if (s.createOldDistributed) await ch.exec(s.createOldDistributed);
      await ch.exec(s.copy(old), settings);
      for (const d of s.dropOld) await ch.exec(d);
      did = 'rebuilt';
    }
    for (const d of s.dropLeftovers) await ch.exec(d);
    return did;
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const did = await pass();
      if (did === 'rebuilt') log(`rebuilt ${db}.${r.table} with ${r.added.map((a) => a.name).join(', ')} (rows copied${r.final ? ' as FINAL shows them' : ''})`);
      return did;
    } catch (e) {
      // a concurrent migrator moved something between our look and our statement: look again
      if (attempt >= 6 || (e as { retriable?: boolean }).retriable === true) throw e;
      log(`rebuild of ${db}.${r.table}: ${(e as Error).message.split('\n')[0].slice(0, 200)}; looking again`);
      await sleep(200 * attempt + Math.floor(Math.random() * 200));
    }
  }
}
