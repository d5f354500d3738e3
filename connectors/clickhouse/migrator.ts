/**
 * Applies a set of migrations (the project's, the SDB's, the web pages') and records each in its own
 * log table (`schema_migrations`, `<sdb>.schema_migrations`, `web_schema_migrations`). A migration is
 * any of: plain DDL (`up`: CREATE … IF NOT EXISTS / DROP … IF EXISTS, given its cluster form by
 * cluster.ts), table rebuilds (`rebuild`: rebuild.ts, resumable, rows kept), and a last step in code
 * (`after`, e.g. filling a new table from existing rows). Every part is idempotent, so a migration cut
 * short (a crash, a lost connection) is finished by the next run, and two processes migrating at
 * once (instances of a stage starting together) end with one layout and every row.
 */
import type { ClickHouse } from './client.ts';
import { clusterizeAll, type ClusterDdl } from './cluster.ts';
import { rebuildPlan, rebuildTable, type TableRebuild } from './rebuild.ts';
import { ident, raw, sql, type Sql } from './sql.ts';

export interface Migration {
  id: number;
  name: string;
  /** Plain DDL, one-server form. */
  up?(db: string): Sql[];
  /** Tables given a new layout, rows kept (rebuild.ts). */
  rebuild?(db: string): TableRebuild[];
  /** Code run last; `plan` is its SQL as `gft db migrate --print` shows it. */
  after?: {
    plan(db: string, c: ClusterDdl | null): Sql[];
    run(ch: ClickHouse, c: ClusterDdl | null, log: (s: string) => void): Promise<void>;
  };
}

const setupSql = (db: string, logTable: string) => [
  raw(`CREATE DATABASE IF NOT EXISTS ${ident(db)}`),
  raw(`CREATE TABLE IF NOT EXISTS ${ident(`${db}.${logTable}`)} (id UInt32, name String, applied DateTime) ENGINE = MergeTree() ORDER BY id`),
];

/** Every statement applying `migrations` to an empty database runs (rebuilds as on a database in the old layout), in order. */
export function migrationPlan(db: string, logTable: string, migrations: Migration[], c: ClusterDdl | null): Sql[] {
  return [
    ...clusterizeAll(setupSql(db, logTable), c),
    ...migrations.flatMap((m) => [
      ...clusterizeAll(m.up?.(db) ?? [], c),
      ...(m.rebuild?.(db) ?? []).flatMap((r) => rebuildPlan(db, r, m.id, c)),
      ...(m.after?.plan(db, c) ?? []),
    ]),
  ];
}

/** Creates the database and applies the migrations its log does not list. Returns the ids applied. */
export async function applyMigrations(
  ch: ClickHouse,
  o: { logTable: string; migrations: Migration[]; cluster: ClusterDdl | null; log?: (s: string) => void; label?: string },
): Promise<number[]> {
  const db = ch.database;
  const log = o.log ?? (() => {});
  const prefix = o.label ? `${o.label}: ` : '';
  for (const stmt of clusterizeAll(setupSql(db, o.logTable), o.cluster)) await ch.exec(stmt);
  const done = new Set((await ch.query<{ id: number }>(sql`SELECT id FROM ${ident(`${db}.${o.logTable}`)}`)).map((r) => Number(r.id)));
  const applied: number[] = [];
  for (const m of o.migrations) {
    if (done.has(m.id)) continue;
    for (const stmt of clusterizeAll(m.up?.(db) ?? [], o.cluster)) await ch.exec(stmt);
    for (const r of m.rebuild?.(db) ?? []) await rebuildTable(ch, r, m.id, o.cluster, (s) => log(`${prefix}${s}`));
    await m.after?.run(ch, o.cluster, (s) => log(`${prefix}${s}`));
    await ch.insert(o.logTable, [{ id: m.id, name: m.name, applied: Math.floor(Date.now() / 1000) }]);
    log(`${prefix}applied migration ${m.id}: ${m.name}`);
    applied.push(m.id);
  }
  return applied;
}
