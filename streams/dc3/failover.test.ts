import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { acceptedProducts, chooseStorage, failoverPorts, formatFailover, lastFatal, type FailoverReport } from './failover.ts';

describe('gft failover', () => {
  it('puts its stack on ports of its own, below the ephemeral range, clear of the default stack', () => {
    const p = Object.values(failoverPorts(26000)).map(Number);
    expect(new Set(p).size).toBe(p.length);
    expect(p.every((x) => x >= 26000 && x < 32768)).toBe(true);
    for (const used of [19092, 19093, 18081, 18123, 19000, 19900]) expect(p).not.toContain(used);
    expect(() => failoverPorts(32000)).toThrow(/--port-base/);
    expect(() => failoverPorts(80)).toThrow(/--port-base/);
  });

  it('uses S3 when asked or when MinIO is built, and says why not otherwise', () => {
    expect(chooseStorage('auto', true, '/x/minio').s3).toBe(true);
    const fs = chooseStorage('auto', false, '/x/minio');
    expect(fs.s3).toBe(false);
    expect(fs.note).toMatch(/MinIO is not built.*\/x\/minio/);
    expect(chooseStorage('s3', false, '/x/minio')).toMatchObject({ s3: true });
    expect(chooseStorage('fs', true, '/x/minio')).toMatchObject({ s3: false });
  });

  it('counts a product accepted twice (a second receipt after a redelivery) once', () => {
    const s = { products: [{ productId: 'a', status: 'accepted', reasons: [] }, { productId: 'a', status: 'accepted', reasons: [] }, { productId: 'b', status: 'accepted', reasons: [] }, { productId: 'c', status: 'rejected', reasons: ['x'] }] };
    expect(acceptedProducts(s)).toBe(2);
  });

  it('reports why a stage instance died: the last fatal error of its log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'failover-test-'));
    const log = join(dir, 'fsc-1.log');
    writeFileSync(log, [
      '{"level":"ERROR","logger":"kafkajs","message":"Connection error: connect ECONNREFUSED 127.0.0.1:26096"}',
      '{"t":"x","level":"error","stage":"fsc","msg":"stage stopping on fatal error","code":"stage.runner_failed","error":"KafkaJSNonRetriableError\\n  Caused by: KafkaJSBrokerNotFound: Broker 3 not found in the cached metadata\\n    at BrokerPool.findBroker (brokerPool.js:254:13)"}',
      'not json',
    ].join('\n'));
    expect(lastFatal(log)).toBe('stage stopping on fatal error: KafkaJSNonRetriableError Caused by: KafkaJSBrokerNotFound: Broker 3 not found in the cached metadata');
    expect(lastFatal(join(dir, 'none.log'))).toMatch(/no log/);
  });

  it('says FAIL and why when an instance died, PASS with the restarts when they were allowed', () => {
    const r = {
      namespace: 'fo', reference: 'fo-ref', seed: 1, frames: 20, instances: 2, home: '/h', storage: { reference: 'fs', run: 's3', note: '' }, outcome: 'complete',
      broker: { topic: 'gp1.calibrated', partition: 1, killed: 3, killedAt: { seconds: 50, calibrated: 15, of: 23 }, newLeaderAfterS: 8.8, newLeader: 1, downS: 20, restartS: 43.5, backInIsrAfterS: 43.8 },
      chainSeconds: 109, referenceChainSeconds: 36, longestStallSeconds: 40, identical: true,
      comparison: { identical: true, lists: { compared: 4, differing: 0 }, products: { compared: 5, differing: 0 }, baseFiles: { compared: 4, differing: 0 }, differences: [] },
      lost: { framesIn: [48, 48], calibrated: [23, 23], epochs: [4, 4], productsAccepted: [5, 5], sdbRowsFinal: 5, products: 5, telemetry: { produced: 400, rowsFinal: 400 }, dlq: 0, unexpectedExits: 1 },
      exits: [{ instance: 'fsc-1', atS: 70, error: 'KafkaJSBrokerNotFound', restarted: false }], restartOnFailure: false, events: [], ok: false,
    } as FailoverReport;
    const failed = formatFailover(r, 'f.json');
    expect(failed).toMatch(/instances that died\s+1 .*--restart-on-failure/);
    expect(failed).toMatch(/fsc-1 at 70\.0 s: KafkaJSBrokerNotFound/);
    expect(failed).toMatch(/FAIL/);
    const passed = formatFailover({ ...r, restartOnFailure: true, ok: true, exits: [{ ...r.exits[0], restarted: true }] }, 'f.json');
    expect(passed).toMatch(/PASS with 1 stage instance\(s\) started again/);
  });
});
