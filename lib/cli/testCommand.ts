/**
 * `npx gft test` — the README's test command. Installs what is missing (npm dependencies through
 * bin/gft.mjs; Debian packages and the Kafka/registry/ClickHouse services through `stack up`; the VTP
 * interop peer Comet from PyPI through connectors/voevent/peer/comet.ts),
 * then runs the whole vitest suite. Integration tests then require the stack (GFT_REQUIRE_STACK=1):
 * a test that needs it fails instead of skipping.
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

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const env = { ...process.env };
  if (a.options.stack) {
    const { up } = (await import('../../deploy/stack.ts')) as { up(o?: { log?: (s: string) => void }): Promise<void> };
    await up({ log: (s) => console.log(`[stack] ${s}`) });
    // the independent VTP peer of the interop tests (Comet, from PyPI), like the rest of what they need
    const { ensureComet } = await import('../../connectors/voevent/peer/comet.ts');
    const peer = await ensureComet((s) => console.log(`[vtp-peer] ${s}`));
    console.log(`[vtp-peer] ${peer.ok ? 'ready' : 'NOT installed'}: ${peer.detail}`);
    env.GFT_REQUIRE_STACK = '1';
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
