/**
 * `npx gft deploy render --target systemd|k8s [--out DIR] [--instances N]` — deployment descriptors
 * for every stage, generated from the topology and the typed configuration (deploy/render.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatHelp, parseArgs, UsageError, type CommandSpec } from '../lib/cli/args.ts';

export const summary = 'deployment descriptors per stage: deploy render --target systemd|k8s';

const spec: CommandSpec = {
  usage: 'gft deploy render --target systemd|k8s [--out DIR] [--instances N] [options]',
  description: [
    'One systemd template unit (gft-<stage>@.service, instance = GFT_INSTANCE_ID) and gft.target, or one',
    'Kubernetes Deployment per stage, from lib/runtime/topology.ts and the stages of `gft stage list`.',
    'The environment comes from the typed configuration: export GFT_KAFKA_BROKERS, GFT_REGISTRY_URL,',
    'GFT_CLICKHOUSE_URL, GFT_STORAGE_URL, … before rendering (secrets are referenced, never written).',
  ].join('\n'),
  options: {
    target: { type: 'string', description: 'systemd or k8s' },
    out: { type: 'string', description: 'write the files into this folder (default: print them)' },
    instances: { type: 'number', description: 'instances (replicas) of every stage', default: 1 },
    workdir: { type: 'string', description: 'systemd: where the repository is installed on the host (default: this checkout)' },
    node: { type: 'string', description: 'systemd: node binary (default: the one running now)' },
    image: { type: 'string', description: 'k8s: container image with the repository in /app', default: 'gft-fgft:latest' },
    namespace: { type: 'string', description: 'k8s: namespace of the Deployments' },
    'health-port': { type: 'number', description: 'k8s: container port of /health/live and /health/ready', default: 8080 },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [sub, ...rest] = a.positionals;
  if (a.help || !sub) {
    console.log(formatHelp(spec));
    return a.help ? 0 : 2;
  }
  if (sub !== 'render') throw new UsageError(`unknown subcommand '${sub}'\n\n${formatHelp(spec)}`);
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  const target = a.options.target as string | undefined;
  if (target !== 'systemd' && target !== 'k8s') throw new UsageError('--target: expected systemd or k8s');
  const instances = a.options.instances as number;
  if (!Number.isInteger(instances) || instances < 1 || instances > 64) throw new UsageError(`--instances: expected 1…64, got ${instances}`);
  const { stagePlans, renderSystemd, renderK8s } = await import('./render.ts');
  const plans = await stagePlans();
  const local = plans[0]?.env.GFT_KAFKA_BROKERS?.split(',').some((b) => /^(127\.|localhost)/.test(b));
  if (local) console.error('gft deploy: rendering with local addresses (127.0.0.1); export GFT_KAFKA_BROKERS, GFT_REGISTRY_URL, GFT_CLICKHOUSE_URL for the target first');
  const opts = { instances, workdir: a.options.workdir as string | undefined, node: a.options.node as string | undefined, image: a.options.image as string, namespace: a.options.namespace as string | undefined, healthPort: a.options['health-port'] as number };
  const files = target === 'systemd' ? renderSystemd(plans, opts) : renderK8s(plans, opts);
  const out = a.options.out as string | undefined;
  if (!out) {
    for (const [name, text] of Object.entries(files)) console.log(`# ---- ${name}\n${text}`);
    return 0;
  }
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  console.log(`wrote ${Object.keys(files).length} files to ${dir}: ${Object.keys(files).join(' ')}`);
  return 0;
}
