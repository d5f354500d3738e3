/**
 * DC3 end to end on the real stack with a short synthetic night (full COATLI frame size, 10 object
 * frames): the afterglow must come out as a candidate at every epoch, at its true position; a replay
 * of the recorded topics into a new namespace gives identical candidate lists and product data; and
 * the same night injected at --speed 60 gives identical results to the as-fast-as-possible run; and
 * with 2 and 3 instances of every stage as separate processes (`gft dc3 --instances N`) the candidate
 * lists and products are identical to the single-process run.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { stackReady, randomNamespace } from '../../lib/runtime/testing.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { sql, ident } from '../../connectors/clickhouse/sql.ts';
import { runDc3, type RunConfig } from './run.ts';
import { replay } from './replayCli.ts';
import { compareRuns, readRun } from './compare.ts';
import kafkajs from 'kafkajs';
import { createTopics } from '../../lib/runtime/topics.ts';
import { copyTopic } from '../../lib/runtime/replay.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { Supervisor } from '../../lib/runtime/supervisor.ts';

const { AssignerProtocol } = kafkajs;

const ready = await stackReady();

function sepArcsec(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const r = Math.PI / 180;
  const s = Math.sin(((dec2 - dec1) * r) / 2) ** 2 + Math.cos(dec1 * r) * Math.cos(dec2 * r) * Math.sin(((ra2 - ra1) * r) / 2) ** 2;
  return (2 * Math.asin(Math.sqrt(s))) / r * 3600;
}

describe.skipIf(!ready)('DC3 end to end', () => {
  const out = mkdtempSync(join(tmpdir(), 'dc3-'));
  const nsA = randomNamespace('dc3');
  const dropDbs: string[] = [];
  let first: any;
  afterAll(async () => {
    const ch = new ClickHouse(platformConfig(), { database: 'default' });
    for (const db of dropDbs) await ch.exec(sql`DROP DATABASE IF EXISTS ${ident(db)}`).catch(() => {});
    await ch.close();
  });

  it('finds the afterglow at every epoch of a synthetic night', async () => {
    const s = (first = (await runDc3({ out, namespace: nsA, camera: 'coatli', speed: 0, seed: 7, frames: 10, timeoutS: 240, log: () => {} })) as any);
    const truth = JSON.parse(readFileSync(join(out, 'night', 'truth.json'), 'utf8'));
    expect(s.outcome).toBe('complete');
    expect(s.frames.injected).toBeGreaterThanOrEqual(10 + 16);
    expect(s.epochs.map((e: any) => e.epochMinutes).sort((a: number, b: number) => a - b)).toEqual([5, 10, 30, 60]);
    expect(Object.values(s.dlq).every((n) => n === 0)).toBe(true);
    expect(s.products.length).toBeGreaterThanOrEqual(4);
    expect(s.products.every((p: any) => p.status === 'accepted')).toBe(true);
    const { ra, dec } = truth.afterglow;
    expect(s.bestCandidate).not.toBeNull();
    expect(sepArcsec(s.bestCandidate.ra, s.bestCandidate.dec, ra, dec)).toBeLessThan(0.5);
    expect(s.bestCandidate.fadingIndex).toBeGreaterThan(0.8);
    expect(s.bestCandidate.fadingIndex).toBeLessThan(1.6);
    expect(s.stages.find((x: any) => x.stage === 'gp1-detection').busySeconds).toBeGreaterThan(0);
    // the light curve against the truth: every object frame measured; at S/N ≥ 20 the median error
    // is below 0.05 mag and at most one point is off by more (a cosmic ray on the star's wing that the
    // single-frame cosmic-ray test does not catch: seed 7 has one, +7 %, in 20191016T083400)
    const truthMag = new Map<string, number>(truth.afterglow.lightcurve.map((p: any) => [p.name.replace(/\.fits(\.fz)?$/, ''), p.magMean]));
    const lc = s.bestCandidate.lightCurve as Array<{ frameId: string; mag: number; magErr: number }>;
    expect(lc.length).toBe(10);
    const errs: number[] = [];
    for (const p of lc) {
      const t = truthMag.get(p.frameId.replace(/-cal$/, ''));
      expect(t, p.frameId).toBeDefined();
      if (1.0857 / p.magErr >= 20) errs.push(Math.abs(p.mag - t!));
    }
    errs.sort((a, b) => a - b);
    expect(errs.length).toBeGreaterThanOrEqual(8);
    expect(errs[Math.floor(errs.length / 2)]).toBeLessThan(0.05);
    expect(errs.filter((e) => e >= 0.05).length).toBeLessThanOrEqual(1);
  }, 300_000);

  it('replays the recorded topics into a new namespace with identical candidate lists and products', async () => {
    expect(first).toBeDefined();
    const ns = randomNamespace('rep');
    const config: RunConfig = { ...first.config, sdbDatabase: `sdb_${ns}` };
    dropDbs.push(config.sdbDatabase!);
    const r = await replay({ source: nsA, namespace: ns, topics: ['voevent.raw', 'images.raw'], range: {}, config, compare: true, timeoutS: 240, idleS: 60, out: join(out, 'replay'), log: () => {} });
    expect(r.outcome).toBe('complete');
    expect(r.stages).not.toContain('provider'); // images.raw is replayed, not re-injected
    expect(r.copied['images.raw']).toBe(first.frames.injected);
    expect(r.comparison!.differences).toEqual([]);
    expect(r.comparison!.lists.compared).toBe(4);
    expect(r.comparison!.products.compared).toBe(first.products.length);
  }, 300_000);

  it('gives identical candidate lists and product data at --speed 60 and as fast as possible', async () => {
    expect(first).toBeDefined();
    const ns = randomNamespace('s60');
    const t0 = Date.now();
    const s = (await runDc3({ out: join(out, 'speed60'), images: first.config.images, alert: join(out, 'night', 'voevent.xml'), catalog: first.config.catalog, namespace: ns, camera: 'coatli', speed: 60, seed: 7, frames: 10, timeoutS: 240, log: () => {} })) as any;
    expect(s.outcome).toBe('complete');
    expect(Date.now() - t0).toBeGreaterThan(9 * 1000); // 10 frames, 60 s apart in event time, at 60× = 9 s of injection
    const cfg = platformConfig();
    const kafka = createKafka(cfg, 'dc3-test');
    const c = await compareRuns(await readRun(kafka, nsA, cfg.registryUrl), await readRun(kafka, ns, cfg.registryUrl), LocalStorage.fromEnv());
    expect(c.differences).toEqual([]);
    expect(c.lists.compared).toBe(4);
  }, 300_000);

  it.each([2, 3])('gives identical candidate lists and products with %i instances of every stage as separate processes', async (n) => {
    expect(first).toBeDefined();
    const ns = randomNamespace(`i${n}`);
    const s = (await runDc3({ out: join(out, `instances${n}`), images: first.config.images, alert: join(out, 'night', 'voevent.xml'), catalog: first.config.catalog, namespace: ns, camera: 'coatli', speed: 0, seed: 7, frames: 10, timeoutS: 300, instances: n, log: () => {} })) as any;
    expect(s.outcome).toBe('complete');
    expect(s.instances).toBe(n);
    expect(s.deadLetters).toEqual([]);
    const cfg = platformConfig();
    const kafka = createKafka(cfg, 'dc3-test');
    const c = await compareRuns(await readRun(kafka, nsA, cfg.registryUrl), await readRun(kafka, ns, cfg.registryUrl), LocalStorage.fromEnv());
    expect(c.differences).toEqual([]);
    expect(c.lists.compared).toBe(4);
    expect(c.products.compared).toBe(first.products.length);
  }, 400_000);

  it('3 instances of gp1-detection: killing the one that holds the burst mid-way gives identical candidate lists', async () => {
    expect(first).toBeDefined();
    const cfg = platformConfig();
    const kafka = createKafka(cfg, 'dc3-k3');
    const ns = randomNamespace('k3');
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, ns);
    await copyTopic(kafka, nsName(nsA, 'alerts.reference'), nsName(ns, 'alerts.reference'));
    // one measuring thread per instance: slow enough for the kill to land while the burst's frames are
    // measured; a worker thread, so that a loaded machine does not starve the heartbeats (a frame
    // measured on the stage thread for longer than the session timeout got the member evicted again and again)
    const sup = new Supervisor();
    for (let i = 1; i <= 3; i++) sup.add({ stage: 'gp1-detection', index: i, namespace: ns, logDir: join(out, 'k3-logs'), env: { GFT_SESSION_TIMEOUT_MS: '10000', GFT_GP1_DETECT_WORKERS: '1', GFT_LOG_LEVEL: 'info' } }); // info: the restore is read from the logs
    sup.startAll();
    try {
      // the burst's partition (same key, same partition count as the recorded run) and the instance that holds it
      const partition = (await admin.fetchTopicOffsets(nsName(nsA, 'gp1.calibrated'))).find((o) => Number(o.high) > 0)!.partition;
      const owner = async (members: number) => {
        const { groups } = await admin.describeGroups([nsName(ns, 'gp1-detection')]);
        if (groups[0].state !== 'Stable' || groups[0].members.length !== members) return 0;
        for (const m of groups[0].members) {
          const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
          if (a?.assignment[nsName(ns, 'gp1.calibrated')]?.includes(partition)) return Number(/gp1-detection-(\d+)/.exec(m.clientId)![1]);
        }
        return 0;
      };
      let holder = 0;
      for (let i = 0; i < 600 && !holder; i++) if (!(holder = await owner(3))) await new Promise((r) => setTimeout(r, 200));
      expect(holder).toBeGreaterThan(0);
      // the first two frames of the burst (inside its T0+5 epoch) arrive; once the holder has measured
      // them (2 entries in its changelog), it is killed -9; then the other frames arrive
      await copyTopic(kafka, nsName(nsA, 'gp1.calibrated'), nsName(ns, 'gp1.calibrated'), { toOffset: 1 });
      const changelog = nsName(ns, 'gp1-detection.changelog');
      const entries = async () => (await admin.fetchTopicOffsets(changelog)).reduce((n, o) => n + Number(o.high), 0);
      let atKill = 0;
      for (let i = 0; i < 1200 && atKill < 2; i++) {
        atKill = await entries();
        if (atKill < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(atKill).toBe(2); // two frames measured, no epoch closed yet
      await sup.of('gp1-detection')[holder - 1].kill();
      expect((await readRun(kafka, ns, cfg.registryUrl)).lists).toEqual([]);
      await copyTopic(kafka, nsName(nsA, 'gp1.calibrated'), nsName(ns, 'gp1.calibrated'), { fromOffset: 2 });
      const done = async () => new Set((await readRun(kafka, ns, cfg.registryUrl)).lists.map((l) => l.epochMinutes)).size === 4;
      for (let i = 0; i < 120 && !(await done()); i++) await new Promise((r) => setTimeout(r, 1000));
      let next = 0;
      for (let i = 0; i < 100 && !next; i++) if (!(next = await owner(2))) await new Promise((r) => setTimeout(r, 200));
      expect(next).not.toBe(holder);
      // the new owner restored what the killed one had measured (from gp1-detection.changelog) instead of starting over
      const restored = readFileSync(join(out, 'k3-logs', `gp1-detection-${next}.log`), 'utf8').split('\n').filter((l) => l.includes('"msg":"state restored"')).map((l) => JSON.parse(l) as { keys: number });
      expect(Math.max(...restored.map((r) => r.keys))).toBeGreaterThan(0);
      const [a, b] = [await readRun(kafka, nsA, cfg.registryUrl), await readRun(kafka, ns, cfg.registryUrl)];
      const c = await compareRuns({ ...a, products: [] }, { ...b, products: [] }, LocalStorage.fromEnv());
      expect(c.differences).toEqual([]);
      expect(c.lists.compared).toBe(4);
    } finally {
      await admin.disconnect();
      await sup.stopAll();
    }
  }, 300_000);
});
