/**
 * `npm run bench -- <name>` / `npx gft bench <name>`: runs bench/<name>.ts. Every benchmark measures
 * our code and a reference (raw kafkajs, numpy, astropy, SExtractor…) in the same run and prints
 * ratios, never a bare time.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

export const summary = 'run a benchmark against its reference: npm run bench -- <name>';

const here = dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !['cli.ts', 'lib.ts'].includes(f) && !f.endsWith('.test.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const names = available();
  if (!name || name === '--help' || !names.includes(name)) {
    console.log(`usage: npm run bench -- <name> [options]\n\nbenchmarks: ${names.join(', ') || '(none yet)'}`);
    return name && name !== '--help' ? 2 : 0;
  }
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run(args: string[]): Promise<number | void> };
  const code = await mod.run(rest);
  return typeof code === 'number' ? code : 0;
}
