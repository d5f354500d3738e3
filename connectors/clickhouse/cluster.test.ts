/**
 * Cluster-ready migrations (cluster.ts) of the three migration sets (telemetry/logs/metrics, SDB, web):
 *
 * - the default (one server) is exactly the SQL of before, and runs on Debian's 18.16 (the local
 *   stack: migrate / migrateSdb / migrateWeb on fresh databases) and on a current ClickHouse (chdb 26.x);
 * - the cluster form, on chdb 26.x: every statement parses as written (EXPLAIN AST: ON CLUSTER,
 *   Replicated*MergeTree with {shard}/{replica} macros, Distributed with its sharding key); and it
 *   runs as far as a server without ZooKeeper/Keeper can run it: the same statements without
 *   `ON CLUSTER` and with the non-replicated engine, the Distributed tables unchanged over a one-shard
 *   cluster of the chdb config; rows written through the Distributed tables collapse under FINAL.
 * - the cluster form for real on 18.16: ZooKeeper (Debian) + two clickhouse-server 18.16 replicas of
 *   one shard: migrate / migrateSdb / migrateWeb ON CLUSTER from replica 1 create the tables on both,
 *   rows written through the Distributed tables of replica 1 are replicated to replica 2 and collapse
 *   under FINAL there, retention drops a partition on both.
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

const CLUSTER: ClusterDdl = { cluster: 'gft_test', zkPath: '/clickhouse/tables/{shard}' };
const sets = (c: ClusterDdl | null) => [...migrationSql('gft', c), ...sdbMigrationSql('sdb', c), ...webMigrationSql('gft', c)].map((s) => s.text);

describe('cluster DDL', () => {
  it('one server (the default): the statements are those of the migrations, unchanged', () => {
    expect(clusterDdl({})).toBeNull();
    const plain = [...MIGRATIONS.flatMap((m) => m.up('gft')), ...SDB_MIGRATIONS.flatMap((m) => m.up('sdb')), ...WEB_MIGRATIONS.flatMap((m) => m.up('gft'))].map((s) => s.text);
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
    expect(all.every((s) => / ON CLUSTER `gft_test`/.test(s))).toBe(true);
    const locals = all.filter((s) => /ENGINE = Replicated/.test(s));
    const dists = all.filter((s) => /ENGINE = Distributed/.test(s));
    expect(locals.length).toBe(dists.length);
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
    for (const q of all) {
      const ast = s.query(`EXPLAIN AST ${q}`, 'TSVRaw');
      expect(ast, q).toMatch(/CreateQuery/);
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

  it('migrations ON CLUSTER create replicated + Distributed tables on both replicas; writes replicate and collapse; retention drops on both', async () => {
    const [a, b] = [client(0, 'gft'), client(1, 'gft')];
    expect(await migrate(a, () => {}, cl())).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrateSdb(client(0, 'sdb'), () => {}, cl())).toEqual(SDB_MIGRATIONS.map((m) => m.id));
    expect(await migrateWeb(a, () => {}, cl())).toEqual(WEB_MIGRATIONS.map((m) => m.id));
    const tables = async (ch: ClickHouse) => Object.fromEntries((await ch.query<{ t: string; engine: string }>(raw("SELECT concat(database, '.', name) AS t, engine FROM system.tables WHERE database IN ('gft', 'sdb')"))).map((r) => [r.t, r.engine]));
    const onB = await tables(b);
    expect(onB).toEqual(await tables(a));
    expect(onB).toMatchObject({ 'gft.telemetry': 'Distributed', 'gft.telemetry_local': 'ReplicatedReplacingMergeTree', 'sdb.products_local': 'ReplicatedReplacingMergeTree', 'gft.web_users_local': 'ReplicatedReplacingMergeTree', 'gft.web_audit_local': 'ReplicatedMergeTree' });

    // through replica 1's Distributed table: a batch, the identical batch again (dropped whole by the
    // replicated table's block deduplication), and a redelivery of one row in another batch (collapsed by FINAL)
    const ra = { source: 'tcs', metric: 'ra', time: '2019-10-16 08:00:00', ms: 0, value: 1.5, state: '' };
    const dec = { ...ra, metric: 'dec', value: -2 };
    await a.insert('telemetry', [ra, dec]);
    await a.insert('telemetry', [ra, dec]);
    await a.insert('telemetry', [ra]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const n = await b.query<{ n: string }>(raw('SELECT count() AS n FROM gft.telemetry_local'));
      if (Number(n[0].n) >= 3) break; // replicated to replica 2
      if (Date.now() > deadline) throw new Error(`replica 2 has ${n[0].n} of 3 rows after 30 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await b.query(raw('SELECT count() AS n FROM gft.telemetry_local'))).toEqual([{ n: '3' }]);
    expect(await b.query(raw('SELECT metric, value FROM gft.telemetry FINAL ORDER BY metric'))).toEqual([{ metric: 'dec', value: -2 }, { metric: 'ra', value: 1.5 }]);
    expect(await migrate(b, () => {}, cl())).toEqual([]); // the migration log is shared through the cluster

    const dropped = await applyRetention(a, 30, new Date('2019-12-01T00:00:00Z'), cl());
    expect(dropped).toEqual(['telemetry:20191016']);
    for (const ch of [a, b]) expect(await ch.query(raw('SELECT count() AS n FROM gft.telemetry_local'))).toEqual([{ n: '0' }]);
  }, 180_000);
});
