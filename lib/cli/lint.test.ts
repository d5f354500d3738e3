/** The architecture rules of eslint.config.js hold, and they can fail (`npm run lint` in CI). */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { repoRoot } from '../config/platform.ts';

describe('architecture lint rules', () => {
  const eslint = new ESLint({ cwd: repoRoot });
  const lint = async (code: string, filePath: string) => (await eslint.lintText(code, { filePath: `${repoRoot}/${filePath}` }))[0].messages.map((m) => m.message);

  it('a core/ file importing kafkajs, the runtime, a connector or node:fs fails; pure imports pass', async () => {
    expect(await lint("import kafkajs from 'kafkajs';\n", 'streams/gp1/core/detection/bad.ts')).toEqual([expect.stringMatching(/core\/ is pure science/)]);
    expect(await lint("import { readFileSync } from 'node:fs';\n", 'streams/alerts/core/bad.ts')).toHaveLength(1);
    expect(await lint("import { StageRunner } from '../../../lib/runtime/runner.ts';\n", 'streams/gic/core/bad.ts')).toEqual([expect.stringMatching(/may not depend on the runtime/)]);
    expect(await lint("import { median } from '../../../lib/stats/index.ts';\n", 'streams/gic/core/ok.ts')).toEqual([]);
  });

  it('lib/ and connectors/ may not import the stages', async () => {
    expect(await lint("import { x } from '../../streams/gic/wiring.ts';\n", 'lib/runtime/bad.ts')).toEqual([expect.stringMatching(/may not depend on the stages/)]);
    expect(await lint("import type { P } from '../../streams/fsc/core/validate.ts';\n", 'connectors/sdb/bad.ts')).toHaveLength(1);
  });

  it('the tree is clean', async () => {
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(repoRoot.length + 1)}:${m.line} ${m.message}`));
    expect(problems).toEqual([]);
  }, 120_000);
});
