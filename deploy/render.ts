/**
 * Deployment descriptors generated from the topology, so they cannot drift from it:
 *
 * - one stage per entry of STAGE_WIRING (lib/runtime/stageCli.ts: what `gft stage run <name>` runs),
 *   with the topics it consumes and produces from lib/runtime/topology.ts;
 * - its environment from the typed configuration (lib/config/define.ts schemas): the platform
 *   (brokers, registry, ClickHouse, namespace), the storage, the runtime, and the schemas the stage's
 *   wiring exports (GFT_GP1_…, GFT_GIC_…), with the values of the current environment or the defaults;
 *   secrets never inline (systemd: EnvironmentFile, Kubernetes: a Secret);
 * - every instance its own GFT_INSTANCE_ID (the runner's transactional id is `<group>-tx-<id>`):
 *   systemd template units `gft-<stage>@<id>.service`, Kubernetes the pod name (downward API);
 * - health: systemd restarts on failure; Kubernetes probes GET /health/live and /health/ready on
 *   GFT_HEALTH_PORT (lib/runtime/health.ts);
 * - resources per stage (RESOURCES below).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { field, loadConfig, type Field } from '../lib/config/define.ts';
import { platformSchema, repoRoot } from '../lib/config/platform.ts';
import { STAGE_WIRING } from '../lib/runtime/stageCli.ts';
import { TOPICS, dlqTopic, DLQ_STAGES, type StageName } from '../lib/runtime/topology.ts';
import { storageSchema } from '../connectors/storage/config.ts';
import { sdbSchema } from '../connectors/sdb/sdb.ts';
import { providerSchema } from '../streams/provider/config.ts';
import { HEALTH_PATHS } from '../lib/runtime/health.ts';

type Schema = Record<string, Field<unknown>>;

/** Variables of the stage runtime that are read outside any schema (lib/runtime/runner.ts, log.ts, health.ts). */
export const runtimeSchema = {
  logLevel: field<string>({ env: 'GFT_LOG_LEVEL', type: 'string', doc: 'Log level: debug, info, warn, error', default: 'info' }),
  sessionTimeoutMs: field<number>({ env: 'GFT_SESSION_TIMEOUT_MS', type: 'int', doc: 'Consumer group session timeout (ms)', default: 30_000, min: 6000 }),
  healthPort: field<number>({ env: 'GFT_HEALTH_PORT', type: 'int', doc: 'Port of /health/live and /health/ready (0: none)', default: 0, min: 0, max: 65535 }),
};

/** Platform fields that only configure the local stack (`gft stack`), never a deployed stage. */
const LOCAL_ONLY = new Set(['GFT_KAFKA_PORT', 'GFT_KAFKA_CONTROLLER_PORT', 'GFT_REGISTRY_PORT', 'GFT_CLICKHOUSE_HTTP_PORT', 'GFT_CLICKHOUSE_TCP_PORT']);

/** Schemas a stage reads through modules its wiring imports (not exported by the wiring itself). */
const INDIRECT: Record<string, Schema[]> = { provider: [providerSchema as Schema], fsc: [sdbSchema as Schema] };

/** Stages that read or write the object storage. */
const USES_STORAGE = new Set(['alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc']);

export interface Resources {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

/** Measured orders of magnitude on DC3 (60 frames of 2k×2k): the GP1 stages hold a few frames in memory and use worker threads. */
export const RESOURCES: Record<string, Resources> = {
  'gp1-calibration': { cpuRequest: '1', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '3Gi' },
  'gp1-detection': { cpuRequest: '1', cpuLimit: '3', memoryRequest: '1Gi', memoryLimit: '3Gi' },
  gic: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1536Mi' },
  provider: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1536Mi' },
};
const DEFAULT_RESOURCES: Resources = { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '768Mi' };

export interface StagePlan {
  name: string;
  wiring: string;
  inputs: { topic: string; partitions: number }[];
  outputs: string[];
  /** name → value (strings, as in the environment); secrets excluded */
  env: Record<string, string>;
  /** variables to take from the secret store */
  secrets: string[];
  resources: Resources;
}

function isSchema(x: unknown): x is Schema {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return false;
  const v = Object.values(x as object);
  return v.length > 0 && v.every((f) => f && typeof f === 'object' && typeof (f as Field<unknown>).env === 'string' && typeof (f as Field<unknown>).doc === 'string' && 'default' in (f as object));
}

const str = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** Every value of `schema` as the environment would carry it (current environment, else the default). */
function envOf(schema: Schema, env: Record<string, string | undefined>, out: Record<string, string>, secrets: Set<string>): void {
  const values = loadConfig(schema, env) as Record<string, unknown>;
  for (const [key, f] of Object.entries(schema)) {
    if (LOCAL_ONLY.has(f.env)) continue;
    if (f.secret) {
      secrets.add(f.env);
      continue;
    }
    out[f.env] = str(values[key]);
  }
}

/** The plan of every stage: topics from the topology, environment from the schemas. */
export async function stagePlans(env: Record<string, string | undefined> = process.env): Promise<StagePlan[]> {
  const plans: StagePlan[] = [];
  for (const [name, wiring] of Object.entries(STAGE_WIRING)) {
    const mod = (await import(pathToFileURL(join(repoRoot, wiring)).href)) as Record<string, unknown>;
    const schemas: Schema[] = [platformSchema as Schema, runtimeSchema as Schema, ...(USES_STORAGE.has(name) ? [storageSchema as Schema] : []), ...Object.values(mod).filter(isSchema), ...(INDIRECT[name] ?? [])];
    const values: Record<string, string> = {};
    const secrets = new Set<string>();
    for (const s of schemas) envOf(s, env, values, secrets);
    for (const [k, v] of Object.entries(values)) if (v === '') delete values[k]; // empty = unset = the default
    // The storage folder default (<GFT_HOME>/storage) and GFT_HOME itself belong to the host, not to this machine.
    values.GFT_HOME = env.GFT_HOME || '/var/lib/gft';
    const inputs = TOPICS.filter((t) => t.consumers.includes(name as StageName)).map((t) => ({ topic: t.name, partitions: t.partitions }));
    const outputs = [...TOPICS.filter((t) => t.producer === name).map((t) => t.name), ...(DLQ_STAGES.includes(name as StageName) ? [dlqTopic(name).name] : [])];
    plans.push({ name, wiring, inputs, outputs, env: Object.fromEntries(Object.entries(values).sort(([a], [b]) => a.localeCompare(b))), secrets: [...secrets].sort(), resources: RESOURCES[name] ?? DEFAULT_RESOURCES });
  }
  return plans;
}

export interface RenderOptions {
  /** instances per stage (default 1) */
  instances: number;
  /** where the repository is installed on the target (default: this checkout) */
  workdir?: string;
  /** node binary for systemd (default: the one running now) */
  node?: string;
  /** container image for Kubernetes */
  image?: string;
  /** Kubernetes namespace */
  namespace?: string;
  /** health port inside the pod */
  healthPort?: number;
}

const parallelism = (p: StagePlan) => Math.max(1, ...p.inputs.map((i) => i.partitions));
const note = (p: StagePlan, instances: number) =>
  `consumes ${p.inputs.map((i) => `${i.topic} (${i.partitions} partition${i.partitions > 1 ? 's' : ''})`).join(', ') || 'nothing'}; produces ${p.outputs.join(', ') || 'nothing'}` +
  (instances > parallelism(p) ? `; instances beyond ${parallelism(p)} stand by for a failover (one consumer per partition)` : '');

/** systemd: `gft-<stage>@.service` per stage (instance = GFT_INSTANCE_ID) and `gft.target` starting N instances of each. */
export function renderSystemd(plans: StagePlan[], o: RenderOptions): Record<string, string> {
  const workdir = o.workdir ?? repoRoot;
  const node = o.node ?? process.execPath;
  const files: Record<string, string> = {};
  // Environment="KEY=value": the whole assignment quoted (C-style escapes), % doubled (unit specifiers).
  const assign = (k: string, v: string) => `Environment="${`${k}=${v}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
  const wants: string[] = [];
  for (const p of plans) {
    const cpuQuota = Math.round(parseCpu(p.resources.cpuLimit) * 100);
    files[`gft-${p.name}@.service`] = [
      `# Generated by \`gft deploy render --target systemd\` from lib/runtime/topology.ts and ${p.wiring}: regenerate, do not edit.`,
      `# Stage ${p.name}: ${note(p, o.instances)}.`,
      '[Unit]',
      `Description=GFT-FGFT stage ${p.name}, instance %i`,
      'After=network-online.target',
      'Wants=network-online.target',
      'PartOf=gft.target',
      'StartLimitIntervalSec=300',
      'StartLimitBurst=10',
      '',
      '[Service]',
      'Type=exec',
      `WorkingDirectory=${workdir}`,
      `ExecStart=${node} ${join(workdir, 'bin', 'gft.mjs')} stage run ${p.name}`,
      // Every instance its own transactional id and consumer identity.
      'Environment=GFT_INSTANCE_ID=%i',
      ...Object.entries(p.env).map(([k, v]) => assign(k, v)),
      ...(p.secrets.length ? [`# ${p.secrets.join(', ')}: from this file (KEY=value lines, mode 0600)`, 'EnvironmentFile=-/etc/gft/secrets.env'] : []),
      // Health: a stage that stops (breaker, fatal error) exits non-zero and is restarted; SIGTERM commits and leaves the group.
      'Restart=on-failure',
      'RestartSec=5',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=60',
      `MemoryHigh=${toSystemdBytes(p.resources.memoryRequest)}`,
      `MemoryMax=${toSystemdBytes(p.resources.memoryLimit)}`,
      `CPUQuota=${cpuQuota}%`,
      'LimitNOFILE=65536',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      '',
      '[Install]',
      'WantedBy=gft.target',
      '',
    ].join('\n');
    for (let i = 1; i <= o.instances; i++) wants.push(`gft-${p.name}@${i}.service`);
  }
  files['gft.target'] = [
    '# Generated by `gft deploy render --target systemd`: the whole chain, ' + `${o.instances} instance(s) per stage.`,
    '[Unit]',
    'Description=GFT-FGFT chain (every stage)',
    `Wants=${wants.join(' ')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return files;
}

function parseCpu(s: string): number {
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}
function toSystemdBytes(s: string): string {
  const m = /^(\d+)(Mi|Gi)$/.exec(s);
  if (!m) throw new Error(`bad memory size ${s}`);
  return `${m[1]}${m[2] === 'Gi' ? 'G' : 'M'}`;
}

/** Kubernetes: one Deployment per stage (+ the Secret it reads and the storage volume when file-based). */
export function renderK8s(plans: StagePlan[], o: RenderOptions): Record<string, string> {
  const files: Record<string, string> = {};
  const image = o.image ?? 'gft-fgft:latest';
  const port = o.healthPort ?? 8080;
  for (const p of plans) {
    const labels = { 'app.kubernetes.io/name': 'gft-fgft', 'app.kubernetes.io/component': p.name, 'app.kubernetes.io/part-of': 'gft-fgft' };
    const env: unknown[] = [
      // The pod name: distinct per replica (the runner's transactional id is `<group>-tx-<id>`).
      { name: 'GFT_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ...Object.entries({ ...p.env, GFT_HEALTH_PORT: String(port), GFT_HEALTH_HOST: '0.0.0.0' }).map(([name, value]) => ({ name, value })),
      ...p.secrets.map((name) => ({ name, valueFrom: { secretKeyRef: { name: 'gft-secrets', key: name, optional: true } } })),
    ];
    const fileStorage = USES_STORAGE.has(p.name) && !p.env.GFT_STORAGE_URL?.startsWith('s3://');
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: `gft-${p.name}`,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        labels,
        annotations: { 'gft.colibri.org/generated-from': `lib/runtime/topology.ts, ${p.wiring}`, 'gft.colibri.org/topics': note(p, o.instances) },
      },
      spec: {
        replicas: o.instances,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'gft-fgft', 'app.kubernetes.io/component': p.name } },
        // At most one instance more during a rollout: the new one joins the group, the old one commits and leaves.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 60,
            containers: [
              {
                name: p.name,
                image,
                command: ['node', 'bin/gft.mjs', 'stage', 'run', p.name],
                workingDir: '/app',
                env,
                ports: [{ name: 'health', containerPort: port }],
                resources: { requests: { cpu: p.resources.cpuRequest, memory: p.resources.memoryRequest }, limits: { cpu: p.resources.cpuLimit, memory: p.resources.memoryLimit } },
                startupProbe: { httpGet: { path: HEALTH_PATHS.live, port: 'health' }, periodSeconds: 5, failureThreshold: 24 },
                livenessProbe: { httpGet: { path: HEALTH_PATHS.live, port: 'health' }, periodSeconds: 15, failureThreshold: 4 },
                readinessProbe: { httpGet: { path: HEALTH_PATHS.ready, port: 'health' }, periodSeconds: 10, failureThreshold: 3 },
                ...(fileStorage ? { volumeMounts: [{ name: 'storage', mountPath: p.env.GFT_STORAGE_DIR || `${p.env.GFT_HOME}/storage` }] } : {}),
              },
            ],
            ...(fileStorage ? { volumes: [{ name: 'storage', persistentVolumeClaim: { claimName: 'gft-storage' } }] } : {}),
          },
        },
      },
    };
    files[`gft-${p.name}.yaml`] = `# Generated by \`gft deploy render --target k8s\`: regenerate, do not edit.\n${stringify(deployment, { lineWidth: 0, aliasDuplicateObjects: false })}`;
  }
  return files;
}
