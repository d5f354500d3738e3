/**
 * `npx gft test` installs the VTP peer (issue 16: it skipped the Comet interop tests, "Comet not
 * installed", although the README says gft test installs what is missing). ensureComet is what it
 * calls: it installs Comet from PyPI when missing and is a mere check when present.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/config/platform.ts';
import { cometInstalled, ensureComet } from './comet.ts';

const required = process.env.GFT_REQUIRE_STACK === '1';

describe('the VTP peer (Comet) of the interop tests', () => {
  it.skipIf(!cometInstalled() && !required)(`ensureComet: installed → ok at once, without pip${cometInstalled() || required ? '' : ' — SKIPPED: Comet not installed (npx gft test installs it)'}`, async () => {
    const t = Date.now();
    const r = await ensureComet();
    expect(r).toEqual({ ok: true, detail: expect.stringContaining('vtp-peer') });
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('gft test installs it before running the suite, and CI relies on that (no separate step)', () => {
    const cmd = readFileSync(join(repoRoot, 'lib', 'cli', 'testCommand.ts'), 'utf8');
    expect(cmd).toMatch(/ensureComet\(/);
    const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8');
    expect(ci).not.toMatch(/setup-comet\.sh/);
    expect(ci).toMatch(/gft test/);
    // Debian's python3 with venv is among the packages gft installs
    expect(readFileSync(join(repoRoot, 'deploy', 'install-debian.sh'), 'utf8')).toMatch(/^\s+python3-venv\b/m);
  });
});
