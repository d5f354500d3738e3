/**
 * `npx gft test` — the README's test command. Installs what is missing (npm dependencies through
 * bin/gft.mjs; Debian packages and the Kafka/registry/ClickHouse services through `stack up`; the VTP
 * interop peer Comet from PyPI through connectors/voevent/peer/comet.ts; the reference Confluent
 * clients of the interop tests through connectors/interop/peer/setup.sh), then runs the whole vitest
 * suite. Integration tests then require the stack (GFT_REQUIRE_STACK=1): a test that needs it fails
 * instead of skipping. The Confluent interop peers are optional: when they cannot be installed (no
 * python3, PyPI or Maven Central out of reach) their tests skip and say why.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs, formatHelp, type CommandSpec } from './args.ts';
import { repoRoot } from '../config/platform.ts';

export const summary = 'install what is missing, start the local stack, run the test suite';

const spec: CommandSpec = {
  usage: 'gft test [--no-stack] [vitest filters…]',
  description: 'Runs every test (unit and integration against the real local services).',
  options: { stack: { type: 'boolean', description: 'start the local stack first (--no-stack: unit tests only, integration tests skip)', default: true } },
};

/** Runs the interop peers' setup (idempotent, ~0.3 s when installed); never fails the test command. */
async function installInteropPeers(env: NodeJS.ProcessEnv, timeoutMs = 5 * 60_000): Promise<void> {
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn('bash', [join(repoRoot, 'connectors', 'interop', 'peer', 'setup.sh')], { cwd: repoRoot, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', () => resolve(null));
    p.on('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  if (code !== 0) console.log('[peers] some interop peers are missing: their tests will skip (see above)');
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const env = { ...process.env };
  // Every test namespace makes its own ~26 topics. At the chain's default of 6 partitions a full run
  // leaves ~10,000 partitions on the test broker, whose open log segments then reach the machine's
  // file limit (20,000 here: "Too many open files" took the broker down). Tests run on 2 partitions
  // (enough for two instances to share a topic); set GFT_TOPIC_PARTITIONS to test another layout.
  env.GFT_TOPIC_PARTITIONS ??= '2';
  if (a.options.stack) {
    const { up, layout } = await import('../../deploy/stack.ts');
    const { platformConfig } = await import('../config/platform.ts');
    await up({ log: (s) => console.log(`[stack] ${s}`) });
    // the independent VTP peer of the interop tests (Comet, from PyPI), like the rest of what they need
    const { ensureComet } = await import('../../connectors/voevent/peer/comet.ts');
    const peer = await ensureComet((s) => console.log(`[vtp-peer] ${s}`));
    console.log(`[vtp-peer] ${peer.ok ? 'ready' : 'NOT installed'}: ${peer.detail}`);
    env.GFT_REQUIRE_STACK = '1';
    await installInteropPeers(env);
    // The S3 store is part of the stack only after `gft stack up --s3` (building MinIO takes minutes):
    // then its tests must run; otherwise they skip and say why.
    if (layout(platformConfig().home).s3) env.GFT_REQUIRE_S3 = '1';
  }
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  const report = join(tmpdir(), `gft-vitest-${process.pid}.json`);
  const code = await new Promise<number>((resolve) => {
    const p = spawn(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...a.positionals], { cwd: repoRoot, env, stdio: 'inherit' });
    p.on('exit', (c) => resolve(c ?? 1));
  });
  // One closing line in the plain 'N passed, N failed, N skipped' form, for CI logs.
  try {
    const r = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    rmSync(report, { force: true });
  } catch {
    /* vitest did not get as far as a report; its own output says why */
  }
  return code;
}
