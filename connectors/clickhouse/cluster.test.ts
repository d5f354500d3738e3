/**
 * Cluster-ready migrations (cluster.ts, rebuild.ts) of the three migration sets (telemetry/logs/metrics
 * and rollups, SDB, web):
 *
 * - the default (one server): the DDL of the migrations unchanged, and it runs on Debian's 18.16 (the
 *   local stack: migrate / migrateSdb / migrateWeb on fresh databases) and on a current ClickHouse
 *   (chdb 26.x); the table rebuilds of migration 2 run too (RENAME, INSERT … SELECT, DROP);
 * - the cluster form, on chdb 26.x: every statement parses as written (EXPLAIN AST: ON CLUSTER,
 *   Replicated*MergeTree with {shard}/{replica} macros, Distributed with its sharding key, the
 *   rebuilds' RENAME / INSERT / DROP); and it runs as far as a server without ZooKeeper/Keeper can
 *   run it: the same statements without `ON CLUSTER` and with the non-replicated engine, the
 *   Distributed tables unchanged over a one-shard cluster of the chdb config; rows written through the
 *   Distributed tables collapse under FINAL.
 * - the cluster form for real on 18.16: ZooKeeper (Debian) + two clickhouse-server 18.16 replicas of
 *   one shard: a database made ON CLUSTER in the layout of before (migration 1) with rows, then
 *   migrate / migrateSdb / migrateWeb ON CLUSTER from replica 1: the versioned layout on both
 *   replicas, the rows of before kept (as FINAL showed them), the sink's batch written twice through
 *   replica 1 counted once in telemetry and in the rollups on replica 2, retention drops a partition
 *   of the tables and of the rollups on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { ClickHouse } from './client.ts';
import { clusterDdl, clusterize, clusterizeAll, type ClusterDdl } from './cluster.ts';
import { MIGRATIONS, applyRetention, migrate, migrationSql } from './migrations.ts';
import { SDB_MIGRATIONS, migrateSdb, sdbMigrationSql } from '../sdb/migrations.ts';
import { WEB_MIGRATIONS, migrateWeb, webMigrationSql } from '../../web/migrations.ts';
import { chdbInstalled, chdbSession, ensureChdb, type ChdbSession } from './chdb.ts';
import { raw } from './sql.ts';
import { startTestCluster, testClusterProblem, type TestCluster } from './testCluster.ts';
import { applyMigrations } from './migrator.ts';
import { clickhouseSink } from './sink.ts';
import { rollupRetention } from '../../web/rollup.ts';

const CLUSTER: ClusterDdl = { cluster: 'gft_test', zkPath: '/clickhouse/tables/{shard}' };
const sets = (c: ClusterDdl | null) => [...migrationSql('gft', c), ...sdbMigrationSql('sdb', c), ...webMigrationSql('gft', c)].map((s) => s.text);

describe('cluster DDL', () => {
  it('one server (the default): the statements are those of the migrations, unchanged', () => {
    expect(clusterDdl({})).toBeNull();
    const plain = [...MIGRATIONS.flatMap((m) => m.up?.('gft') ?? []), ...SDB_MIGRATIONS.flatMap((m) => m.up?.('sdb') ?? []), ...WEB_MIGRATIONS.flatMap((m) => m.up?.('gft') ?? [])].map((s) => s.text);
    const all = sets(null);
    for (const p of plain) expect(all).toContain(p);
    expect(all.every((s) => !/ON CLUSTER|Replicated|Distributed/.test(s))).toBe(true);
  });

  it('a cluster: replicated local tables and Distributed tables, everything ON CLUSTER, sharded by the first ORDER BY column', () => {
    expect(clusterDdl({ GFT_CLICKHOUSE_CLUSTER: 'prod' })).toEqual({ cluster: 'prod', zkPath: '/clickhouse/tables/{shard}' });
    expect(() => clusterDdl({ GFT_CLICKHOUSE_CLUSTER: 'x; DROP' })).toThrow(/plain identifier/);
    const web = clusterize(raw("CREATE TABLE IF NOT EXISTS `gft`.`web_users` (\n username String, version UInt64\n ) ENGINE = ReplacingMergeTree(version) ORDER BY username"), CLUSTER).map((s) => s.text);
    expect(web).toEqual([
      "CREATE TABLE IF NOT EXISTS `gft`.`web_users_local` ON CLUSTER `gft_test` (\n username String, version UInt64\n ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/gft/web_users_local', '{replica}', version) ORDER BY username",
      'CREATE TABLE IF NOT EXISTS `gft`.`web_users` ON CLUSTER `gft_test` AS `gft`.`web_users_local` ENGINE = Distributed(`gft_test`, `gft`, `web_users_local`, cityHash64(username))',
    ]);
    const all = sets(CLUSTER);
    // DDL ON CLUSTER; the INSERTs (rebuild copies, rollup fill) go through the Distributed tables
    expect(all.every((s) => (s.startsWith('INSERT INTO') ? !/ON CLUSTER/.test(s) && /^INSERT INTO `\w+`\.`(\w+)` /.test(s) : / ON CLUSTER `gft_test`/.test(s)))).toBe(true);
    for (const ins of all.filter((s) => s.startsWith('INSERT INTO'))) expect(ins, ins).not.toMatch(/^INSERT INTO `\w+`\.`\w+_local`/);
    const locals = all.filter((s) => /ENGINE = Replicated/.test(s));
    const dists = all.filter((s) => /ENGINE = Distributed/.test(s));
    // every Distributed table reads a replicated local table the plan creates (or a rebuild renames the old one to)
    const renamed = all.filter((s) => s.startsWith('RENAME')).flatMap((s) => [...s.matchAll(/ TO `\w+`\.`(\w+_local)`/g)].map((m) => m[1]));
    const localNames = new Set([...locals.map((s) => /^CREATE TABLE IF NOT EXISTS `\w+`\.`(\w+)`/.exec(s)![1]), ...renamed]);
    expect(dists.length).toBeGreaterThanOrEqual(locals.length);
    for (const d of dists) expect(localNames.has(/ENGINE = Distributed\(`gft_test`, `\w+`, `(\w+)`/.exec(d)![1]), d).toBe(true);
    expect(locals.length).toBe(sets(null).filter((s) => s.startsWith('CREATE TABLE')).length);
    expect(all.find((s) => /`sdb`.`candidates` ON/.test(s))).toMatch(/cityHash64\(product_id\)\)$/);
    expect(all.find((s) => /`gft`.`telemetry_local` ON/.test(s))).toMatch(/ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/gft\/telemetry_local', '\{replica\}'\) PARTITION BY toYYYYMMDD\(time\)/);
    expect(() => clusterizeAll([raw('ALTER TABLE x DELETE WHERE 1')], CLUSTER)).toThrow(/no cluster form/);
  });
});

// ---- a current ClickHouse: chdb ------------------------------------------------------------------

let chdbProblem: string | null = null;
if (!chdbInstalled()) {
  // Under `gft test` it is installed (once, cached); elsewhere the test says how.
  chdbProblem = process.env.GFT_REQUIRE_STACK === '1' ? ensureChdb((s) => console.log(s)) : 'chdb is not installed (npx gft test installs it into ~/.cache/gft/chdb)';
  if (chdbProblem && process.env.GFT_REQUIRE_STACK === '1') throw new Error(`chdb required under gft test: ${chdbProblem}`);
  if (chdbProblem) console.warn(`SKIPPED current-ClickHouse (chdb) SQL tests: ${chdbProblem}`);
}

/** What a server without Keeper can execute of a cluster statement: no ON CLUSTER, the engine without replication. */
const singleServer = (s: string) => s.replace(/ ON CLUSTER `[A-Za-z0-9_]+`/, '').replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1(');

describe.skipIf(!!chdbProblem)('on a current ClickHouse (chdb)', () => {
  let dir: string;
  let s: ChdbSession;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gft-chdb-'));
    // A one-shard cluster whose replica is this process (is_local), and the macros of the replicated paths.
    writeFileSync(
      join(dir, 'config.xml'),
      `<clickhouse><tcp_port>9000</tcp_port><macros><shard>01</shard><replica>r1</replica></macros>
       <remote_servers><${CLUSTER.cluster}><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></${CLUSTER.cluster}></remote_servers></clickhouse>`,
    );
    s = chdbSession(join(dir, 'data'), join(dir, 'config.xml'));
    console.log(`chdb: ClickHouse ${s.query('SELECT version()', 'CSV').trim()}`);
  });
  afterAll(() => {
    s?.cleanup?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the default migrations run, and ReplacingMergeTree rows collapse under FINAL', () => {
    for (const q of sets(null).map((x) => x.replace(/`(gft|sdb)`/g, '`$1_one`'))) s.query(q);
    s.query("INSERT INTO sdb_one.products (product_id, revision, sha256, t0, status, reasons) VALUES ('p1', 0, 'h', '2019-10-16 08:00:00', 'accepted', []), ('p1', 0, 'h', '2019-10-16 08:00:00', 'accepted', [])");
    expect(s.query('SELECT count() FROM sdb_one.products FINAL', 'CSV').trim()).toBe('1');
  });

  it('every cluster statement parses as written (ON CLUSTER, replicated engines with macros, Distributed)', () => {
    const all = sets(CLUSTER);
    const kinds: Record<string, RegExp> = { CREATE: /^CreateQuery/, RENAME: /^Rename/, ALTER: /^AlterQuery/, INSERT: /^InsertQuery/, DROP: /^DropQuery/ };
    for (const q of all) {
      const ast = s.query(`EXPLAIN AST ${q}`, 'TSVRaw');
      expect(ast, q).toMatch(kinds[q.split(' ')[0]]);
      if (/Replicated/.test(q)) expect(ast).toMatch(/Function Replicated\w*MergeTree/);
      if (/Distributed/.test(q)) expect(ast).toMatch(/Function Distributed/);
    }
  });

  it('the cluster form runs on a one-shard cluster: local tables + Distributed tables; writes through Distributed collapse under FINAL', () => {
    const all = sets(CLUSTER);
    for (const q of all) s.query(singleServer(q));
    const engines = s.query("SELECT concat(database, '.', name, ' ', engine) FROM system.tables WHERE database IN ('gft', 'sdb') ORDER BY 1", 'TSVRaw').trim().split('\n');
    expect(engines).toContain('sdb.products Distributed');
    expect(engines).toContain('sdb.products_local ReplacingMergeTree');
    expect(engines).toContain('gft.web_audit_local MergeTree');
    expect(engines).toContain('gft.schema_migrations Distributed');
    const ins = (q: string) => s.query(q.replace(' VALUES ', ' SETTINGS distributed_foreground_insert = 1 VALUES '));
    // a redelivery = the same rows in another insert (another part)
    for (let i = 0; i < 2; i++) {
      ins("INSERT INTO sdb.candidates (product_id, revision, cand_id, t0, mag) VALUES ('p1', 0, 'c1', '2019-10-16 08:00:00', 17.5), ('p1', 0, 'c2', '2019-10-16 08:00:00', 18)");
      ins("INSERT INTO gft.telemetry (source, metric, time, ms, value, state) VALUES ('tcs', 'ra', '2019-10-16 08:00:00', 0, 1.5, '')");
    }
    ins("INSERT INTO gft.web_users (username, role, version) VALUES ('ana', 'shifter', 1), ('ana', 'admin', 2)");
    ins("INSERT INTO gft.schema_migrations (id, name, applied) VALUES (1, 'x', now())");
    expect(s.query('SELECT count() FROM sdb.candidates FINAL', 'CSV').trim()).toBe('2');
    expect(s.query('SELECT sum(mag) FROM sdb.candidates FINAL', 'CSV').trim()).toBe('35.5');
    expect(s.query('SELECT count() FROM gft.telemetry FINAL', 'CSV').trim()).toBe('1');
    expect(s.query("SELECT role FROM gft.web_users FINAL WHERE username = 'ana'", 'CSV').trim()).toBe('"admin"');
    expect(s.query('SELECT id FROM gft.schema_migrations', 'CSV').trim()).toBe('1');
  });

  it('retention on a cluster finds the partitions of the local tables on every replica and drops them', async () => {
    // applyRetention itself, through a ClickHouse stand-in that runs on chdb (ON CLUSTER stripped: no DDL queue here)
    const executed: string[] = [];
    const ch = {
      database: 'gft',
      exec: async (q: { text: string }) => void (executed.push(q.text), s.query(singleServer(q.text))),
      query: async (q: { text: string }) => s.query(q.text, 'JSONEachRow').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    } as unknown as ClickHouse;
    const dropped = await applyRetention(ch, 30, new Date('2019-12-01T00:00:00Z'), CLUSTER);
    expect(dropped).toEqual(['telemetry:20191016']);
    expect(executed).toEqual(['ALTER TABLE `gft`.`telemetry_local` ON CLUSTER `gft_test` DROP PARTITION 20191016']);
    expect(s.query('SELECT count() FROM gft.telemetry', 'CSV').trim()).toBe('0');
  });
});

// ---- Debian's 18.16: the local stack -------------------------------------------------------------

const ready = await stackReady();

describe.skipIf(!ready)("on Debian's ClickHouse 18.16 (the local stack)", () => {
  const dbs: string[] = [];
  afterAll(async () => {
    const ch = new ClickHouse(platformConfig());
    for (const db of dbs) await ch.exec(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => {});
  });

  it('the default migrations are applied by migrate, migrateSdb and migrateWeb, with the engines of before', async () => {
    const db = `chk_${randomNamespace('c')}`;
    dbs.push(db, `${db}_sdb`);
    const ch = new ClickHouse(platformConfig(), { database: db });
    expect(await migrate(ch, () => {}, null)).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrateSdb(new ClickHouse(platformConfig(), { database: `${db}_sdb` }), () => {}, null)).toEqual(SDB_MIGRATIONS.map((m) => m.id));
    expect(await migrateWeb(ch, () => {}, null)).toEqual(WEB_MIGRATIONS.map((m) => m.id));
    expect(await migrate(ch, () => {}, null)).toEqual([]); // applied once
    const engines = await ch.query<{ name: string; engine: string }>(raw(`SELECT name, engine FROM system.tables WHERE database IN ('${db}', '${db}_sdb') ORDER BY name`));
    expect(Object.fromEntries(engines.map((e) => [e.name, e.engine]))).toMatchObject({ telemetry: 'ReplacingMergeTree', products: 'ReplacingMergeTree', web_users: 'ReplacingMergeTree', web_audit: 'MergeTree', schema_migrations: 'MergeTree' });
    expect(engines.some((e) => /Distributed|Replicated/.test(e.engine))).toBe(false);
  });
});

// ---- Debian's 18.16 as a real cluster: ZooKeeper + 2 replicas ---------------------------------------

const clusterProblem = testClusterProblem();
if (clusterProblem) {
  if (process.env.GFT_REQUIRE_STACK === '1') throw new Error(`ClickHouse cluster test required under gft test: ${clusterProblem}`);
  console.warn(`SKIPPED ClickHouse 18.16 cluster test: ${clusterProblem}`);
}

describe.skipIf(!!clusterProblem)("on Debian's ClickHouse 18.16 as a cluster (ZooKeeper, one shard, two replicas)", () => {
  let tc: TestCluster;
  const cl = () => ({ cluster: tc.name, zkPath: '/clickhouse/tables/{shard}' });
  const client = (i: 0 | 1, database: string) => new ClickHouse({ clickhouseUrl: tc.urls[i], clickhouseUser: 'default', clickhousePassword: '', clickhouseDatabase: database });
  beforeAll(async () => {
    const t0 = Date.now();
    tc = await startTestCluster(CLUSTER.cluster);
    console.log(`zookeeper + 2 clickhouse 18.16 replicas up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 120_000);
  afterAll(async () => {
    await tc?.stop();
  }, 60_000);

  it('migrations ON CLUSTER: a database of before is rebuilt with version columns on both replicas, its rows kept; the sink\'s rows and rollup are exact on the other replica; retention drops on both', async () => {
    const [a, b] = [client(0, 'gft'), client(1, 'gft')];
    const [sa, sb] = [client(0, 'sdb'), client(1, 'sdb')];
    const waitOnB = async (q: string, n: number) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = Number((await b.query<{ n: string }>(raw(q)))[0].n);
        if (got >= n) return;
        if (Date.now() > deadline) throw new Error(`replica 2: ${q} = ${got}, not ${n} after 30 s`);
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    // the layout of before (migration 1 of each set), ON CLUSTER
    expect(await applyMigrations(a, { logTable: 'schema_migrations', migrations: MIGRATIONS.slice(0, 1), cluster: cl() })).toEqual([1]);
    expect(await applyMigrations(sa, { logTable: 'schema_migrations', migrations: SDB_MIGRATIONS.slice(0, 1), cluster: cl() })).toEqual([1]);
    // through replica 1's Distributed table: a batch, the identical batch again (dropped whole by the
    // replicated table's block deduplication), and a redelivery of one row in another batch (collapsed by FINAL)
    const ra = { source: 'tcs', metric: 'ra', time: '2019-10-16 08:00:00', ms: 0, value: 1.5, state: '' };
    const dec = { ...ra, metric: 'dec', value: -2 };
    await a.insert('telemetry', [ra, dec]);
    await a.insert('telemetry', [ra, dec]);
    await a.insert('telemetry', [ra]);
    // a product delivered twice by the writer of before (FINAL showed the last inserted)
    const product = (received: string) => ({ product_id: 'p1', revision: 0, sha256: 'h', t0: '2019-10-16 08:30:00', status: 'accepted', reasons: [], received });
    await sa.insert('products', [product('2026-11-25 07:01:30')]);
    await sa.insert('products', [product('2026-11-25 07:00:00')]);
    await waitOnB('SELECT count() AS n FROM gft.telemetry_local', 3);
    await waitOnB('SELECT count() AS n FROM sdb.products_local', 2);

    // the migrations of now
    expect(await migrate(a, () => {}, cl())).toEqual([2, 3, 4]);
    expect(await migrateSdb(sa, () => {}, cl())).toEqual([2]);
    expect(await migrateWeb(a, () => {}, cl())).toEqual(WEB_MIGRATIONS.map((m) => m.id));
    const tables = async (ch: ClickHouse) => Object.fromEntries((await ch.query<{ t: string; engine: string }>(raw("SELECT concat(database, '.', name) AS t, engine_full AS engine FROM system.tables WHERE database IN ('gft', 'sdb')"))).map((r) => [r.t, r.engine.replace(/\(.*$/s, '')]));
    const onB = await tables(b);
    expect(onB).toEqual(await tables(a));
    expect(onB).toMatchObject({ 'gft.telemetry': 'Distributed', 'gft.telemetry_local': 'ReplicatedReplacingMergeTree', 'gft.telemetry_1m_local': 'ReplicatedReplacingMergeTree', 'sdb.products_local': 'ReplicatedReplacingMergeTree', 'gft.web_users_local': 'ReplicatedReplacingMergeTree', 'gft.web_audit_local': 'ReplicatedMergeTree' });
    expect(Object.keys(onB).filter((t) => /__m\d/.test(t))).toEqual([]);
    for (const t of ['gft.telemetry_local', 'gft.logs_local', 'gft.stage_metrics_local', 'gft.telemetry_1m_local', 'gft.telemetry_10m_local', 'sdb.products_local', 'sdb.candidates_local', 'sdb.lightcurve_points_local']) {
      const [db, name] = t.split('.');
      const e = await b.query<{ e: string }>(raw(`SELECT engine_full AS e FROM system.tables WHERE database = '${db}' AND name = '${name}'`));
      expect(e[0].e, t).toMatch(/^ReplicatedReplacingMergeTree\('[^']+', '\{replica\}', version\)/);
    }
    expect(await b.query(raw("SELECT name FROM system.columns WHERE database = 'gft' AND table = 'telemetry' AND name = 'version'"))).toEqual([{ name: 'version' }]);
    // the rows of before, copied as they were shown, are on replica 2 too
    await waitOnB('SELECT count() AS n FROM gft.telemetry_local', 2);
    expect(await b.query(raw('SELECT metric, value, version FROM gft.telemetry_local FINAL ORDER BY metric'))).toEqual([{ metric: 'dec', value: -2, version: '0' }, { metric: 'ra', value: 1.5, version: '0' }]);
    await waitOnB('SELECT count() AS n FROM sdb.products_local', 1);
    expect(await sb.query(raw('SELECT received, version FROM sdb.products_local FINAL'))).toEqual([{ received: '2026-11-25 07:00:00', version: String(Date.parse('2026-11-25T07:00:00Z')) }]);

    // the sink through replica 1, the same batch twice (a crash before the commit): exact on replica 2
    const sink = clickhouseSink(a, { cluster: cl() }).sink!;
    const t0 = Date.parse('2019-10-16T08:10:30Z');
    const msgs = Array.from({ length: 90 }, (_, i) => ({
      topic: 'ops.telemetry', partition: 0, offset: String(i), key: 'wx', headers: {}, timestamp: t0 + i * 1000 + 5, bytes: 0,
      value: { source: 'wx', time: t0 + i * 1000, metrics: { t: i % 17, h: 50 - (i % 5) }, state: '' },
    }));
    await sink.flush(msgs, {} as never);
    await sink.flush(msgs, {} as never);
    await waitOnB("SELECT count() AS n FROM gft.telemetry_1m_local WHERE source = 'wx'", 4); // 2 metrics × minutes 08:10, 08:11 (+ 08:12)
    await waitOnB("SELECT count() AS n FROM gft.telemetry_local FINAL WHERE source = 'wx'", 180);
    expect(await b.query(raw("SELECT count() AS n FROM gft.telemetry_local FINAL WHERE source = 'wx'"))).toEqual([{ n: '180' }]);
    for (const table of ['telemetry_1m_local', 'telemetry_10m_local']) {
      const rollup = async () => b.query(raw(`SELECT metric, sum(n) AS n, min(vmin) AS lo, max(vmax) AS hi FROM gft.${table} FINAL WHERE source = 'wx' GROUP BY metric ORDER BY metric`));
      const expected = [{ metric: 'h', n: '90', lo: 46, hi: 50 }, { metric: 't', n: '90', lo: 0, hi: 16 }];
      const deadline = Date.now() + 30_000;
      while (JSON.stringify(await rollup()) !== JSON.stringify(expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
      expect(await rollup(), table).toEqual(expected);
    }
    expect(await migrate(b, () => {}, cl())).toEqual([]); // the migration log is shared through the cluster

    const dropped = await applyRetention(a, 30, new Date('2019-12-01T00:00:00Z'), cl());
    expect(dropped).toEqual(['telemetry:20191016']);
    for (const ch of [a, b]) expect(await ch.query(raw('SELECT count() AS n FROM gft.telemetry_local'))).toEqual([{ n: '0' }]);
    expect(await rollupRetention(a, 30, new Date('2019-12-01T00:00:00Z'), cl())).toEqual(['telemetry_1m:20191016', 'telemetry_10m:20191016']);
    for (const ch of [a, b]) expect(await ch.query(raw('SELECT count() AS n FROM gft.telemetry_1m_local'))).toEqual([{ n: '0' }]);
    for (const ch of [a, b]) expect(await ch.query(raw('SELECT count() AS n FROM gft.telemetry_10m_local'))).toEqual([{ n: '0' }]);
  }, 180_000);
});
