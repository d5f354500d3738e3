#!/usr/bin/env node
// Entry point of `npx gft …`. Plain JavaScript on purpose: on a fresh clone nothing is installed yet,
// so this shim installs the npm dependencies when they are missing, then hands over to the TypeScript
// CLI through tsx's loader.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'tsx')) || !existsSync(join(root, 'node_modules', 'kafkajs'))) {
  process.stderr.write('gft: installing npm dependencies (first run)…\n');
  const cmd = existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install';
  const r = spawnSync('npm', [cmd, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`gft: npm ${cmd} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}
const { register } = await import(pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href);
register();
const { main } = await import(pathToFileURL(join(root, 'lib', 'cli', 'main.ts')).href);
process.exitCode = await main(process.argv.slice(2));
