#!/usr/bin/env node
// Entry point of `npx gft …`. Plain JavaScript on purpose: on a fresh clone nothing is installed yet,
// so this shim installs the npm dependencies when they are missing, then hands over to the TypeScript
// CLI through tsx's loader.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
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
// Pixel buffers of tens of MB are allocated per frame. glibc serves them with fresh mmaps on 4 KB
// pages (one page fault per 4 KB on first touch); with glibc.malloc.hugetlb=1 it madvises them for
// transparent huge pages, as numpy does for its own arrays. glibc reads tunables only at process start,
// so gft runs itself again once under it (children inherit it). GFT_NO_HUGEPAGES=1 opts out.
const HUGETLB = /(^|:)glibc\.malloc\.hugetlb=1(:|$)/;
if (process.platform === 'linux' && process.env.GFT_NO_HUGEPAGES !== '1' && !HUGETLB.test(process.env.GLIBC_TUNABLES ?? '')) {
  const env = { ...process.env, GLIBC_TUNABLES: [process.env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1'].filter(Boolean).join(':') };
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  // SIGTERM/SIGHUP sent to us are passed on. The child is in our process group, so a terminal's Ctrl-C
  // reaches it directly: we only outlive it (passing SIGINT on too would make it a second Ctrl-C).
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  process.on('SIGINT', () => {});
  const code = await new Promise((resolve) => child.once('exit', (c, sig) => resolve(sig ? 128 + (os.constants.signals[sig] ?? 1) : c ?? 1)));
  process.exit(code);
}
const { register } = await import(pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href);
register();
const { main } = await import(pathToFileURL(join(root, 'lib', 'cli', 'main.ts')).href);
process.exitCode = await main(process.argv.slice(2));
// A command that returned is done: leave at most 3 s after, even if a client library keeps a timer
// or a socket alive (kafkajs after a broker restart did: `gft dc3` then sat 10 minutes after its summary).
setTimeout(() => process.exit(), 3000).unref();
