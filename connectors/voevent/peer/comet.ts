/**
 * The independent VOEvent Transport Protocol peer of the interop tests (connectors/voevent/vtp.comet.test.ts):
 * the Comet broker (PyPI `comet` 3.1.0, BSD, on Twisted) in a private venv under `.gft/vtp-peer`
 * (git-ignored), installed by setup-comet.sh from PyPI. `npx gft test` installs it (lib/cli/testCommand.ts)
 * like the rest of what the suite needs, and then the tests require it (GFT_REQUIRE_STACK=1).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/config/platform.ts';
import { exec } from '../../../deploy/lib/exec.ts';

export const cometVenv = join(repoRoot, '.gft', 'vtp-peer');
export const cometPython = join(cometVenv, 'bin', 'python');

/** True when the venv holds Comet's tools (what the tests run). */
export function cometInstalled(): boolean {
  return existsSync(join(cometVenv, 'bin', 'comet-sendvo')) && existsSync(cometPython);
}

/**
 * Installs Comet when missing (idempotent: a check only when present). Never throws: returns whether
 * the peer is there afterwards, and the installer's output tail when it is not.
 */
export async function ensureComet(log: (line: string) => void = () => {}): Promise<{ ok: boolean; detail: string }> {
  if (cometInstalled()) return { ok: true, detail: `Comet in ${cometVenv}` };
  log(`installing the VTP peer (Comet from PyPI) into ${cometVenv}`);
  try {
    const r = await exec('bash', [join(repoRoot, 'connectors', 'voevent', 'peer', 'setup-comet.sh')], { onLine: (l) => l && log(l), timeoutMs: 15 * 60_000 });
    const ok = r.code === 0 && cometInstalled();
    return { ok, detail: ok ? `Comet in ${cometVenv}` : `setup-comet.sh exited ${r.code}: ${r.output.trim().split('\n').slice(-5).join(' | ')}` };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}
