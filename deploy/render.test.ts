/**
 * `gft deploy render`: the descriptors cover every stage of STAGE_WIRING with the topics of the
 * topology, give each instance its own GFT_INSTANCE_ID, carry the typed configuration without
 * secrets, and parse — systemd units through `systemd-analyze verify` (when the machine has it; a
 * broken unit is shown to fail it), Kubernetes manifests through a YAML parser and a structural check
 * of the Deployment fields we rely on.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { STAGE_WIRING } from '../lib/runtime/stageCli.ts';
import { TOPICS } from '../lib/runtime/topology.ts';
import { renderK8s, renderSystemd, stagePlans } from './render.ts';

const env = { ...process.env, GFT_KAFKA_BROKERS: 'k1.example.org:9093,k2.example.org:9093', GFT_CLICKHOUSE_PASSWORD: 'do-not-leak-1', GFT_S3_SECRET_KEY: 'do-not-leak-2', GFT_STORAGE_URL: 's3://gft-prod/frames', GFT_S3_ENDPOINT: 'https://s3.example.org', GFT_GIC_PROGRAM: 'GP' };
const stages = Object.keys(STAGE_WIRING).sort();

/** Minimal systemd unit parser: section → key → values (repeated keys kept in order). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1];
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    expect(eq, `line without '=' in [${section}]: ${line}`).toBeGreaterThan(0);
    (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!systemdAnalyze) console.warn('SKIPPED systemd-analyze verify: systemd-analyze is not installed (Debian: apt-get install systemd)');

describe('gft deploy render --target systemd', async () => {
  const plans = await stagePlans(env);
  const files = renderSystemd(plans, { instances: 3 });

  it('one template unit per stage (instance = GFT_INSTANCE_ID), the configuration without secrets, and a target with 3 instances of each', () => {
    expect(Object.keys(files).sort()).toEqual([...stages.map((s) => `gft-${s}@.service`), 'gft.target'].sort());
    for (const s of stages) {
      const text = files[`gft-${s}@.service`];
      const u = parseUnit(text);
      expect(u.Service.ExecStart[0]).toMatch(new RegExp(`/bin/gft\\.mjs stage run ${s}$`));
      expect(u.Service.Environment).toContain('GFT_INSTANCE_ID=%i');
      expect(u.Service.Environment).toContain('"GFT_KAFKA_BROKERS=k1.example.org:9093,k2.example.org:9093"');
      expect(u.Service.Restart).toEqual(['on-failure']);
      expect(u.Service.MemoryMax[0]).toMatch(/^\d+[MG]$/);
      expect(text).not.toMatch(/do-not-leak/);
      expect(u.Service.EnvironmentFile).toEqual(['-/etc/gft/secrets.env']);
      const consumes = TOPICS.filter((t) => t.consumers.includes(s as never)).map((t) => t.name);
      for (const t of consumes) expect(text).toContain(t);
    }
    expect(parseUnit(files['gft-gic@.service']).Service.Environment).toContain('"GFT_GIC_PROGRAM=GP"');
    expect(parseUnit(files['gft-gp1-calibration@.service']).Service.Environment).toContain('"GFT_STORAGE_URL=s3://gft-prod/frames"');
    const wants = parseUnit(files['gft.target']).Unit.Wants[0].split(' ');
    expect(wants).toHaveLength(stages.length * 3);
    expect(wants).toContain('gft-gic@3.service');
  });

  it.skipIf(!systemdAnalyze)('systemd-analyze verify accepts every unit, and rejects a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gft-systemd-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const verify = (units: string[]) => spawnSync('systemd-analyze', ['verify', '--man=no', ...units], { cwd: dir, env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` }, encoding: 'utf8' });
    const r = verify(['gft.target', ...stages.map((s) => `gft-${s}@1.service`)]);
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
    writeFileSync(join(dir, 'gft-broken@.service'), files['gft-gic@.service'].replace(/^ExecStart=\//m, 'ExecStart=relative/'));
    const bad = verify(['gft-broken@1.service']);
    expect(bad.status).not.toBe(0);
  });
});

describe('gft deploy render --target k8s', async () => {
  const plans = await stagePlans(env);
  const files = renderK8s(plans, { instances: 2, image: 'registry.example.org/gft:1', namespace: 'gft' });

  it('one Deployment per stage that parses and has the fields a cluster needs', () => {
    expect(Object.keys(files).sort()).toEqual(stages.map((s) => `gft-${s}.yaml`).sort());
    for (const s of stages) {
      const docs = parseAllDocuments(files[`gft-${s}.yaml`]);
      expect(docs).toHaveLength(1);
      expect(docs[0].errors).toEqual([]);
      const d = docs[0].toJS() as any;
      expect(d).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `gft-${s}`, namespace: 'gft' }, spec: { replicas: 2 } });
      expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
      const c = d.spec.template.spec.containers[0];
      expect(c.image).toBe('registry.example.org/gft:1');
      expect(c.command).toEqual(['node', 'bin/gft.mjs', 'stage', 'run', s]);
      const names = c.env.map((e: any) => e.name);
      expect(new Set(names).size).toBe(names.length);
      expect(c.env.find((e: any) => e.name === 'GFT_INSTANCE_ID')).toEqual({ name: 'GFT_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      for (const e of c.env) expect(typeof e.value === 'string' || e.valueFrom !== undefined, e.name).toBe(true);
      expect(c.env.find((e: any) => e.name === 'GFT_CLICKHOUSE_PASSWORD')?.valueFrom?.secretKeyRef).toMatchObject({ name: 'gft-secrets', key: 'GFT_CLICKHOUSE_PASSWORD' });
      expect(files[`gft-${s}.yaml`]).not.toMatch(/do-not-leak/);
      const port = c.ports[0];
      expect(c.env.find((e: any) => e.name === 'GFT_HEALTH_PORT')?.value).toBe(String(port.containerPort));
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(c[probe].httpGet.port, probe).toBe(port.name);
      expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
      const mem = (q: string) => Number(q.slice(0, -2)) * (q.endsWith('Gi') ? 1024 : 1);
      const cpu = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));
      expect(cpu(c.resources.requests.cpu)).toBeLessThanOrEqual(cpu(c.resources.limits.cpu));
      expect(mem(c.resources.requests.memory)).toBeLessThanOrEqual(mem(c.resources.limits.memory));
      expect(d.spec.template.spec.volumes).toBeUndefined(); // S3 storage: no shared volume
    }
  });

  it('file storage gets the shared volume; the defaults render without any environment', async () => {
    const plain = renderK8s(await stagePlans({ GFT_HOME: '/srv/gft' }), { instances: 1 });
    const d = parseAllDocuments(plain['gft-gic.yaml'])[0].toJS() as any;
    expect(d.spec.template.spec.volumes).toEqual([{ name: 'storage', persistentVolumeClaim: { claimName: 'gft-storage' } }]);
    expect(d.spec.template.spec.containers[0].volumeMounts[0].mountPath).toBe('/srv/gft/storage');
    const sink = parseAllDocuments(plain['gft-clickhouse-sink.yaml'])[0].toJS() as any;
    expect(sink.spec.template.spec.volumes).toBeUndefined();
  });
});
