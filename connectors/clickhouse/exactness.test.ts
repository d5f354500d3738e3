/**
 * What at-least-once delivery may do to ClickHouse, and what the tables must make of it, on Debian's
 * 18.16 (the local stack, scratch databases) and on a current ClickHouse (chdb 26.x):
 *
 * (a) the same SDB product written twice with different write times, in either order: FINAL and a
 *     merge (OPTIMIZE … FINAL) keep the same row, the later write's, and the counts are exact;
 * (b) the same telemetry batch flushed twice by the ClickHouse sink (a crash between insert and
 *     commit), and an overlapping redelivery: `telemetry FINAL` and the one-minute rollup both count
 *     every sample once, with the exact min / max / mean;
 * (c) a database made with the layout of before (migration 1, rows with duplicates, the web pages'
 *     rollup of before) is brought to the versioned layout by the migrations with every row it
 *     showed, whether the migration runs once, is resumed after being cut short, or (18.16) runs in
 *     three processes at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig } from '../../lib/config/platform.ts';
import type { InMessage } from '../../lib/runtime/stage.ts';
import { randomNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { buildProduct } from '../../streams/gic/core/product.ts';
import { sampleProductInput } from '../../streams/gic/core/sample.ts';
import { validateProduct } from '../../streams/fsc/core/validate.ts';
import { TelemetryQueries } from '../../web/data/telemetry.ts';
import { rollupTable } from '../../web/rollup.ts';
import { migrateSdb, SDB_MIGRATIONS, SDB_TABLES } from '../sdb/migrations.ts';
import { insertProduct, type ValidatedProduct } from '../sdb/sdb.ts';
import { sha256 } from '../storage/storage.ts';
import { chdbClickHouse, chdbInstalled, chdbSession, ensureChdb, type ChdbSession } from './chdb.ts';
import { ClickHouse } from './client.ts';
import { METRICS_HELD, MIGRATIONS, RETAINED_TABLES, migrate } from './migrations.ts';
import { applyMigrations } from './migrator.ts';
import { rebuildPlan } from './rebuild.ts';
import { clickhouseSink } from './sink.ts';
import { ident, raw, sql } from './sql.ts';

const T1 = Date.parse('2026-11-25T07:00:00.250Z');
const T2 = T1 + 90_000; // the later write

function validated(bytes: Buffer, receivedMs: number): ValidatedProduct {
  const v = validateProduct(bytes);
  const s = v.summary;
  return {
    productId: s.productId!, burstId: s.burstId!, obsId: s.obsId!, epochMinutes: s.epochMinutes ?? null, revision: s.revision ?? 0,
    sha256: sha256(bytes), size: bytes.length, storageUri: `gft-store://sha256/${sha256(bytes)}`, status: v.ok ? 'accepted' : 'rejected', reasons: v.reasons,
    content: s, createdAtMs: Date.parse('2019-10-16T08:45:00Z'), receivedMs,
  };
}

/** Telemetry records as the sink's consumer hands them over (Kafka timestamp = sample time + 40 ms). */
function telemetryMessages(source: string, from: number, to: number, t0: number): InMessage[] {
  const out: InMessage[] = [];
  for (let i = from; i < to; i++) {
    const time = t0 + i * 500 + (i % 3) * 7; // two samples a second, with milliseconds
    out.push({
      topic: 'ops.telemetry', partition: 0, offset: String(i), key: source, headers: {}, timestamp: time + 40, bytes: 0,
      value: { source, time, metrics: { temp: 10 + Math.sin(i / 7) * 3 + (i % 11) / 8, wind: (i * 37) % 101 }, state: 'ok' },
    });
  }
  return out;
}

interface Backend {
  client(db: string): ClickHouse;
  drop(db: string): Promise<void>;
}

const rowsOf = async (ch: ClickHouse, q: ReturnType<typeof sql>) => (await ch.query<Record<string, unknown>>(q)).map((r) => JSON.stringify(r)).sort();
const num = async (ch: ClickHouse, q: ReturnType<typeof sql>) => Number((await ch.query<{ n: unknown }>(q))[0]?.n ?? NaN);

/** The web pages' rollup of before (web/rollup.ts until migration 3): an AggregatingMergeTree fed by a materialized view. */
const legacyRollup = (db: string) => [
  `CREATE TABLE ${db}.web_telemetry_1m (source String, metric String, t DateTime, vmin AggregateFunction(min, Float64), vmax AggregateFunction(max, Float64), vavg AggregateFunction(avg, Float64), n AggregateFunction(count)) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(t) ORDER BY (source, metric, t)`,
  `CREATE MATERIALIZED VIEW ${db}.web_telemetry_1m_mv TO ${db}.web_telemetry_1m AS SELECT source, metric, toStartOfMinute(time) AS t, minState(value) AS vmin, maxState(value) AS vmax, avgState(value) AS vavg, countState() AS n FROM ${db}.telemetry GROUP BY source, metric, t`,
];

/** A project database and an SDB database in the layout of before, with rows (and duplicates) in every table. */
async function oldLayout(ch: ClickHouse, sdb: ClickHouse): Promise<void> {
  expect(await applyMigrations(ch, { logTable: 'schema_migrations', migrations: MIGRATIONS.slice(0, 1), cluster: null })).toEqual([1]);
  expect(await applyMigrations(sdb, { logTable: 'schema_migrations', migrations: SDB_MIGRATIONS.slice(0, 1), cluster: null })).toEqual([1]);
  for (const q of legacyRollup(ch.database)) await ch.exec(q);
  const day = Math.floor(Date.parse('2019-10-16T08:00:00Z') / 1000);
  const tel = Array.from({ length: 240 }, (_, i) => ({ source: i % 2 ? 'tcs' : 'weather', metric: i % 3 ? 'a' : 'b', time: day + i * 700, ms: i % 5, value: i / 4, state: 's' }));
  await ch.insert('telemetry', tel);
  await ch.insert('telemetry', tel.slice(0, 50)); // a redelivery not merged yet
  const logs = Array.from({ length: 30 }, (_, i) => ({ time: day + i, ms: 0, level: 'info', stage: 'fsc', instance: 'i', message: `m${i}`, fields: '{}', kafka_id: `0:${i}` }));
  await ch.insert('logs', logs);
  await ch.insert('logs', logs.slice(10));
  const metrics = Array.from({ length: 20 }, (_, i) => ({ stage: 'gic', instance: 'i', time: day + i * 10, ms: 0, interval_ms: 10_000, messages_in: i, messages_out: i, messages_dlq: 0, retries: 0, lag: 1, processing_ms_p50: 1, processing_ms_p99: 2 }));
  await ch.insert('stage_metrics', metrics);
  await ch.insert('stage_metrics', metrics);
  // SDB rows as the writer of before wrote them: a product delivered twice (received differs; FINAL showed the last inserted)
  const p = buildProduct(sampleProductInput({ epochMinutes: 10, n: 3 }));
  const row = (received: number) => {
    const v = validated(p.bytes, received);
    return { product_id: v.productId, revision: 0, sha256: v.sha256, t0: Math.floor(Date.parse('2019-10-16T08:30:00Z') / 1000), status: 'accepted', reasons: [], received: Math.floor(received / 1000), burst_id: v.burstId, n_candidates: 3 };
  };
  await sdb.insert('products', [row(T2)]);
  await sdb.insert('products', [row(T1)]);
  const cands = ['c1', 'c2', 'c3'].map((c, i) => ({ product_id: p.productId, revision: 0, cand_id: c, t0: Math.floor(Date.parse('2019-10-16T08:30:00Z') / 1000), mag: 17 + i }));
  await sdb.insert('candidates', cands);
  await sdb.insert('candidates', cands.slice(1).map((c) => ({ ...c, mag: c.mag + 0.5 }))); // a second delivery that measured differently
  await sdb.insert('lightcurve_points', [{ product_id: p.productId, revision: 0, cand_id: 'c1', frame_id: 'f1', t0: Math.floor(Date.parse('2019-10-16T08:30:00Z') / 1000), mag: 17 }]);
}

/** What the tables show (FINAL), without the columns the migrations add (version, stage_metrics' of migration 4): what a migration must keep. */
const ADDED = new Set(['version', ...METRICS_HELD.map((c) => c.name)]);
async function shown(ch: ClickHouse, sdb: ClickHouse): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [c, tables] of [[ch, RETAINED_TABLES], [sdb, SDB_TABLES]] as const) {
    for (const table of tables) {
      const cols = (await c.query<{ name: string }>(sql`SELECT name FROM system.columns WHERE database = ${c.database} AND table = ${table} ORDER BY name`)).filter((x) => !ADDED.has(x.name)).map((x) => ident(x.name).text);
      out[`${c.database}.${table}`] = await rowsOf(c, sql`SELECT ${raw(cols.join(', '))} FROM ${ident(`${c.database}.${table}`)} FINAL`);
    }
  }
  return out;
}

async function checkMigrated(ch: ClickHouse, sdb: ClickHouse, before: Record<string, string[]>): Promise<void> {
  expect(await shown(ch, sdb)).toEqual(before);
  const engines = await ch.query<{ t: string; e: string }>(sql`SELECT concat(database, '.', name) AS t, engine_full AS e FROM system.tables WHERE database IN (${ch.database}, ${sdb.database})`);
  const by = Object.fromEntries(engines.map((x) => [x.t, x.e]));
  for (const t of [...RETAINED_TABLES.map((x) => `${ch.database}.${x}`), ...SDB_TABLES.map((x) => `${sdb.database}.${x}`), `${ch.database}.telemetry_1m`, `${ch.database}.telemetry_10m`]) expect(by[t], t).toMatch(/^ReplacingMergeTree\(version\)/);
  expect(Object.keys(by).filter((t) => /__m\d|web_telemetry_1m/.test(t))).toEqual([]); // no leftovers; the rollup of before is gone
  // rows of before: version 0, or the time they were received (products)
  expect(await num(ch, sql`SELECT max(version) AS n FROM ${ident(`${ch.database}.telemetry`)}`)).toBe(0);
  const products = await sdb.query<{ received: string; version: unknown }>(sql`SELECT received, version FROM ${ident(`${sdb.database}.products`)} FINAL`);
  expect(products.map((r) => ({ received: r.received, version: Number(r.version) }))).toEqual([{ received: '2026-11-25 07:00:00', version: Math.floor(T1 / 1000) * 1000 }]);
  // the rollup was filled from what telemetry holds
  const tel = await ch.query<{ source: string; metric: string; n: unknown; lo: number; hi: number }>(sql`SELECT source, metric, count() AS n, min(value) AS lo, max(value) AS hi FROM ${ident(`${ch.database}.telemetry`)} FINAL GROUP BY source, metric ORDER BY source, metric`);
  for (const rollup of ['telemetry_1m', 'telemetry_10m']) {
    const rol = await ch.query<{ source: string; metric: string; n: unknown; lo: number; hi: number }>(sql`SELECT source, metric, sum(n) AS n, min(vmin) AS lo, max(vmax) AS hi FROM ${ident(`${ch.database}.${rollup}`)} FINAL GROUP BY source, metric ORDER BY source, metric`);
    expect(rol.map((r) => ({ ...r, n: Number(r.n) })), rollup).toEqual(tel.map((r) => ({ ...r, n: Number(r.n) })));
  }
  expect(tel.reduce((a, r) => a + Number(r.n), 0)).toBe(240);
}

function suite(name: string, open: () => Promise<Backend>, close: () => Promise<void>, o: { concurrent: boolean }) {
  describe(name, () => {
    let b: Backend;
    const dbs: string[] = [];
    const fresh = (prefix: string) => {
      const db = randomNamespace(prefix).replace(/[^a-z0-9_]/gi, '_');
      dbs.push(db);
      return b.client(db);
    };
    beforeAll(async () => {
      b = await open();
    });
    afterAll(async () => {
      for (const db of dbs) await b?.drop(db).catch(() => {});
      await close();
    });

    it('(a) a product written twice with different write times, in either order: FINAL and OPTIMIZE … FINAL keep the later write, counts exact', async () => {
      const sdb = fresh('exa');
      await migrateSdb(sdb, () => {}, null);
      const t = (x: string) => ident(`${sdb.database}.${x}`);
      for (const [epochMinutes, order] of [[5, [T2, T1]], [30, [T1, T2]]] as const) {
        const p = buildProduct(sampleProductInput({ epochMinutes, n: 4 }));
        const written = [];
        for (const received of order) written.push(await insertProduct(sdb, validated(p.bytes, received)));
        expect(written[1]).toBe(written[0]);
        const final = async () => ({
          products: await rowsOf(sdb, sql`SELECT product_id, received, version FROM ${t('products')} FINAL WHERE product_id = ${p.productId}`),
          candidates: await rowsOf(sdb, sql`SELECT cand_id, mag, version FROM ${t('candidates')} FINAL WHERE product_id = ${p.productId}`),
          points: await rowsOf(sdb, sql`SELECT cand_id, frame_id, version FROM ${t('lightcurve_points')} FINAL WHERE product_id = ${p.productId}`),
        });
        const before = await final();
        expect(before.products.map((r) => JSON.parse(r))).toEqual([{ product_id: p.productId, received: new Date(Math.floor(T2 / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' '), version: expect.anything() }]);
        expect(before.candidates).toHaveLength(4);
        expect(before.points).toHaveLength(written[0] - 1 - 4);
        for (const r of [...before.products, ...before.candidates, ...before.points]) expect(Number(JSON.parse(r).version), `the later write: ${r}`).toBe(T2);
        for (const x of SDB_TABLES) await sdb.exec(raw(`OPTIMIZE TABLE ${t(x)} FINAL`));
        expect(await final()).toEqual(before); // the merge kept the rows FINAL showed
        expect(await num(sdb, sql`SELECT count() AS n FROM ${t('candidates')} WHERE product_id = ${p.productId}`)).toBe(4); // merged: no FINAL needed
      }
    });

    it('(b) a telemetry batch flushed twice by the sink, and an overlapping redelivery: telemetry FINAL and the rollup count each sample once, min/max/mean exact', async () => {
      const ch = fresh('exb');
      await migrate(ch, () => {}, null);
      const source = 'exact-test';
      const t0 = Date.parse('2019-10-16T08:00:00Z') + 20_500; // minutes cut in the middle
      const all = telemetryMessages(source, 0, 600, t0); // 300 s, 600 samples × 2 metrics
      const sink = clickhouseSink(ch, { cluster: null }).sink!;
      const flush = (m: InMessage[]) => sink.flush(m, {} as never);
      await flush(all.slice(0, 400));
      await flush(all.slice(0, 400)); // inserted, then the process died before the commit: the batch again
      await flush(all.slice(300, 600)); // the next batch starts before the last commit
      const tel = ident(`${ch.database}.telemetry`);
      expect(await num(ch, sql`SELECT count() AS n FROM ${tel} FINAL WHERE source = ${source}`)).toBe(1200);
      const r = await rollupTable(ch);
      expect([String(r?.minute), String(r?.tenMinutes)]).toEqual([`\`${ch.database}\`.\`telemetry_1m\``, `\`${ch.database}\`.\`telemetry_10m\``]);
      expect(await num(ch, sql`SELECT sum(n) AS n FROM ${r!.minute} FINAL WHERE source = ${source}`)).toBe(1200);
      expect(await num(ch, sql`SELECT sum(n) AS n FROM ${r!.tenMinutes} FINAL WHERE source = ${source}`)).toBe(1200);
      // per minute, what the distinct samples give
      const expected = new Map<string, { n: number; min: number; max: number; sum: number }>();
      for (const m of all) {
        const v = m.value as { time: number; metrics: Record<string, number> };
        for (const [metric, x] of Object.entries(v.metrics)) {
          const k = `${metric} ${Math.floor(v.time / 60_000) * 60}`;
          const e = expected.get(k) ?? { n: 0, min: Infinity, max: -Infinity, sum: 0 };
          expected.set(k, { n: e.n + 1, min: Math.min(e.min, x), max: Math.max(e.max, x), sum: e.sum + x });
        }
      }
      const got = await ch.query<{ metric: string; t: unknown; n: unknown; vmin: number; vmax: number; vsum: number }>(
        sql`SELECT metric, toUInt32(t) AS t, n, vmin, vmax, vsum FROM ${r!.minute} FINAL WHERE source = ${source} ORDER BY metric, t`,
      );
      expect(got.length).toBe(expected.size);
      for (const g of got) {
        const e = expected.get(`${g.metric} ${Number(g.t)}`)!;
        expect({ n: Number(g.n), min: g.vmin, max: g.vmax }).toEqual({ n: e.n, min: e.min, max: e.max });
        expect(g.vsum).toBeCloseTo(e.sum, 9);
      }
      // what the pages show over a long window (read from the rollups) and a short one (raw rows)
      const q = new TelemetryQueries(ch, tel, r);
      const end = t0 + 301_000; // the page's windows end at the latest sample's second + 999 ms
      // [window, the samples' minutes at its edge (minute rows) | inside (ten-minute rows) | raw rows]
      for (const [start, stop] of [[end - 7 * 3600_000, end], [t0 - 4 * 3600_000, t0 + 3 * 3600_000], [t0 - 1000, end]]) {
        const s = await q.stats(source, ['temp', 'wind'], start, stop);
        for (const metric of ['temp', 'wind']) {
          const xs = all.map((m) => (m.value as { metrics: Record<string, number> }).metrics[metric]);
          expect({ n: s[metric].n, min: s[metric].min, max: s[metric].max }).toEqual({ n: 600, min: Math.min(...xs), max: Math.max(...xs) });
          expect(s[metric].avg).toBeCloseTo(xs.reduce((a, x) => a + x, 0) / xs.length, 9);
        }
      }
    });

    it('(c) a database in the layout of before gets the versioned layout with every row it showed; a migration cut short is finished by the next', async () => {
      for (const cut of [0, 1, 2]) {
        const ch = fresh('exc');
        const sdb = b.client(`${ch.database}_sdb`);
        dbs.push(sdb.database);
        await oldLayout(ch, sdb);
        const before = await shown(ch, sdb);
        // cut 1: the new table made and swapped in, nothing copied; cut 2: a swap cut in the middle (18.16 renames pair by pair)
        const r2 = MIGRATIONS.find((m) => m.id === 2)!.rebuild!(ch.database)[0];
        const plan = rebuildPlan(ch.database, r2, 2, null);
        if (cut === 1) for (const q of plan.slice(0, 2)) await ch.exec(q);
        if (cut === 2) await ch.exec(raw(`RENAME TABLE ${ident(`${ch.database}.telemetry`)} TO ${ident(`${ch.database}.telemetry__m2_old`)}`));
        expect(await migrate(ch, () => {}, null)).toEqual([2, 3, 4]);
        expect(await migrateSdb(sdb, () => {}, null)).toEqual([2]);
        expect(await migrate(ch, () => {}, null)).toEqual([]);
        await checkMigrated(ch, sdb, before);
      }
    }, 120_000);

    it.skipIf(!o.concurrent)('(c) three processes migrating the same database at once end with one layout and every row', async () => {
      const ch = fresh('exd');
      const sdb = b.client(`${ch.database}_sdb`);
      dbs.push(sdb.database);
      await oldLayout(ch, sdb);
      const before = await shown(ch, sdb);
      const clients = [0, 1, 2].map(() => [b.client(ch.database), b.client(sdb.database)] as const);
      const results = await Promise.all(clients.map(([c, s]) => Promise.all([migrate(c, () => {}, null), migrateSdb(s, () => {}, null)])));
      expect(results.some(([p]) => p.includes(2))).toBe(true);
      await checkMigrated(ch, sdb, before);
    }, 120_000);
  });
}

// ---- Debian's 18.16 ------------------------------------------------------------------------------

const ready = await stackReady();
if (ready) {
  const opened: ClickHouse[] = [];
  suite(
    "on Debian's ClickHouse 18.16 (the local stack)",
    async () => ({
      client: (db) => {
        const c = new ClickHouse(platformConfig(), { database: db });
        opened.push(c);
        return c;
      },
      drop: async (db) => opened[0].exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`)),
    }),
    async () => {
      for (const c of opened) await c.close();
    },
    { concurrent: true },
  );
} else describe.skip("on Debian's ClickHouse 18.16 (the local stack): no stack", () => it('skipped', () => {}));

// ---- a current ClickHouse: chdb -------------------------------------------------------------------

let chdbProblem: string | null = null;
if (!chdbInstalled()) {
  chdbProblem = process.env.GFT_REQUIRE_STACK === '1' ? ensureChdb((s) => console.log(s)) : 'chdb is not installed (npx gft test installs it into ~/.cache/gft/chdb)';
  if (chdbProblem && process.env.GFT_REQUIRE_STACK === '1') throw new Error(`chdb required under gft test: ${chdbProblem}`);
  if (chdbProblem) console.warn(`SKIPPED current-ClickHouse (chdb) exactness tests: ${chdbProblem}`);
}
if (!chdbProblem) {
  let dir = '';
  let s: ChdbSession | undefined;
  suite(
    'on a current ClickHouse (chdb)',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'gft-chdb-exact-'));
      const session = chdbSession(join(dir, 'data'));
      s = session;
      return { client: (db) => chdbClickHouse(session, db), drop: async (db) => void session.query(`DROP DATABASE IF EXISTS \`${db}\``) };
    },
    async () => {
      s?.cleanup?.();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    { concurrent: false },
  );
}
