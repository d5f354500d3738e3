/**
 * Cluster-ready DDL. Our migrations are written once, for one server (Debian's 18.16 and current
 * releases alike); with `GFT_CLICKHOUSE_CLUSTER=<cluster>` (a cluster of the servers' remote_servers,
 * with ZooKeeper/Keeper and the `{shard}`/`{replica}` macros) each statement becomes its cluster form:
 *
 *   CREATE DATABASE IF NOT EXISTS db                    → … ON CLUSTER c
 *   CREATE TABLE IF NOT EXISTS db.t (cols) ENGINE = ReplacingMergeTree(v) PARTITION BY … ORDER BY (k, …)
 *     → CREATE TABLE IF NOT EXISTS db.t_local ON CLUSTER c (cols)
 *         ENGINE = ReplicatedReplacingMergeTree('<zk path>/db/t_local', '{replica}', v) PARTITION BY … ORDER BY (k, …)
 *     → CREATE TABLE IF NOT EXISTS db.t ON CLUSTER c AS db.t_local
 *         ENGINE = Distributed(c, db, t_local, cityHash64(k))
 *
 * The Distributed table keeps the name the code reads and writes, so nothing else changes. The
 * sharding key is the first ORDER BY column, part of every table's row identity: rows that a
 * ReplacingMergeTree must collapse (a redelivery, a replay) always land on the same shard, so FINAL
 * and argMax stay exact. Partition maintenance goes to the local tables (`localTable`, `onCluster`).
 * Without the variable the statements are returned unchanged (the default, single server).
 *
 *   DROP TABLE IF EXISTS db.t                           → … ON CLUSTER c (every host that has it)
 *
 * Statements that are not DDL of this shape (RENAME, ALTER, INSERT … SELECT of a table rebuild) are
 * written in both forms by their authors (rebuild.ts), with `clusterTable` for the parts.
 */
import { field, loadConfig } from '../../lib/config/define.ts';
import { raw, type Sql } from './sql.ts';

export const clusterSchema = {
  cluster: field<string>({ env: 'GFT_CLICKHOUSE_CLUSTER', type: 'string', doc: 'ClickHouse cluster name: migrations create Replicated*MergeTree local tables + Distributed tables ON CLUSTER (empty: one server)', default: '' }),
  zkPath: field<string>({ env: 'GFT_CLICKHOUSE_ZK_PATH', type: 'string', doc: 'ZooKeeper/Keeper path prefix of the replicated tables (macros allowed)', default: '/clickhouse/tables/{shard}' }),
};

export interface ClusterDdl {
  cluster: string;
  zkPath: string;
}

/** The cluster of the configuration, or null for one server. */
export function clusterDdl(env: Record<string, string | undefined> = process.env): ClusterDdl | null {
  const c = loadConfig(clusterSchema, env);
  if (!c.cluster) return null;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.cluster)) throw new Error(`GFT_CLICKHOUSE_CLUSTER: '${c.cluster}' is not a plain identifier`);
  if (/'/.test(c.zkPath)) throw new Error('GFT_CLICKHOUSE_ZK_PATH: quotes are not allowed');
  return { cluster: c.cluster, zkPath: c.zkPath.replace(/\/+$/, '') };
}

const q = (s: string) => '`' + s + '`';
/** Name of the table that holds the rows: `t_local` on a cluster, `t` on one server. */
export const localTable = (table: string, c: ClusterDdl | null) => (c ? `${table}_local` : table);
/** ` ON CLUSTER `c`` or '' */
export const onCluster = (c: ClusterDdl | null) => (c ? ` ON CLUSTER ${q(c.cluster)}` : '');

const CREATE_DB = /^CREATE DATABASE IF NOT EXISTS (`[A-Za-z0-9_]+`)$/;
const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS `([A-Za-z0-9_]+)`\.`([A-Za-z0-9_]+)` \(([\s\S]*)\)\s*ENGINE = (MergeTree|ReplacingMergeTree)\(([^)]*)\)([\s\S]*)$/;

/** First column of the ORDER BY clause in `rest` (`ORDER BY (a, b)` or `ORDER BY a`). */
function firstOrderColumn(rest: string): string {
  const m = /ORDER BY\s+\(?\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
  if (!m) throw new Error(`no ORDER BY in '${rest.trim()}'`);
  return m[1];
}

const DROP_TABLE = /^DROP TABLE IF EXISTS (`[A-Za-z0-9_]+`\.`[A-Za-z0-9_]+`)$/;

/**
 * The two tables of a CREATE TABLE statement on a cluster: the replicated local table `<t>_local`
 * (ZooKeeper path `<zkPath>/<db>/<t>_local`) and the Distributed table `<t>` over it.
 */
export function clusterTable(stmt: Sql, c: ClusterDdl): { local: Sql; distributed: Sql } {
  const text = stmt.text.trim();
  const t = CREATE_TABLE.exec(text);
  if (!t) throw new Error(`no cluster form for: ${text.slice(0, 120)}`);
  const [, database, table, columns, engine, args, rest] = t;
  const local = localTable(table, c);
  const path = `'${c.zkPath}/${database}/${local}', '{replica}'${args.trim() ? `, ${args.trim()}` : ''}`;
  return {
    local: raw(`CREATE TABLE IF NOT EXISTS ${q(database)}.${q(local)}${onCluster(c)} (${columns}) ENGINE = Replicated${engine}(${path})${rest}`),
    distributed: raw(`CREATE TABLE IF NOT EXISTS ${q(database)}.${q(table)}${onCluster(c)} AS ${q(database)}.${q(local)} ENGINE = ${distributedEngine(c, database, local, firstOrderColumn(rest))}`),
  };
}

/** `Distributed(c, db, local, cityHash64(key))`: rows sharded by the first column of their identity. */
export const distributedEngine = (c: ClusterDdl, database: string, local: string, key: string) => `Distributed(${q(c.cluster)}, ${q(database)}, ${q(local)}, cityHash64(${key}))`;

/** First column of the ORDER BY clause of a CREATE TABLE statement. */
export function shardingKey(create: Sql): string {
  const t = CREATE_TABLE.exec(create.text.trim());
  if (!t) throw new Error(`not a CREATE TABLE of the migrations: ${create.text.slice(0, 120)}`);
  return firstOrderColumn(t[6]);
}

/** One statement in its cluster form (1 or 2 statements); unchanged for one server. */
export function clusterize(stmt: Sql, c: ClusterDdl | null): Sql[] {
  if (!c) return [stmt];
  const text = stmt.text.trim();
  const db = CREATE_DB.exec(text);
  if (db) return [raw(`${text}${onCluster(c)}`)];
  if (DROP_TABLE.test(text)) return [raw(`${text}${onCluster(c)}`)];
  const { local, distributed } = clusterTable(stmt, c);
  return [local, distributed];
}

export function clusterizeAll(stmts: Sql[], c: ClusterDdl | null): Sql[] {
  return stmts.flatMap((s) => clusterize(s, c));
}
