/**
 * chdb (npm): a current ClickHouse (26.x) inside the Node process, to check that our SQL also runs on
 * today's releases while the local stack runs Debian's 18.16.
 *
 * Not a dependency of the project: chdb 3.4 (the first release whose binary loads with Debian 12's
 * libstdc++; 3.1 needs GLIBCXX_3.4.32) declares an optional peer `@clickhouse/client >= 1.23` that
 * conflicts with ours (1.12.1), and its macOS/arm64 binary packages are not on the registry this
 * project uses, so a lock file with it breaks `npm ci`. It is installed on its own, once, into
 * `~/.cache/gft/chdb/<version>` (`npm install --prefix`, ~550 MB, ~15 s), by `gft test` or
 * `ensureChdb()`.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';

export const CHDB_VERSION = '3.4.0';

const cacheDir = () => join(process.env.GFT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gft'), 'chdb', CHDB_VERSION);
const entry = () => join(cacheDir(), 'node_modules', 'chdb', 'package.json');

export function chdbInstalled(): boolean {
  return existsSync(entry());
}

/** Installs chdb into the cache when missing; returns null on success, else why not. */
export function ensureChdb(log: (s: string) => void = () => {}): string | null {
  if (chdbInstalled()) return null;
  const dir = cacheDir();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'package.json'), '{"name":"gft-chdb-cache","private":true}\n');
  log(`chdb: installing chdb@${CHDB_VERSION} into ${dir} (a current ClickHouse for the SQL tests; ~550 MB, once)`);
  const t0 = Date.now();
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--no-package-lock', '--legacy-peer-deps', `chdb@${CHDB_VERSION}`], { cwd: tmp, encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0 || !existsSync(join(tmp, 'node_modules', 'chdb', 'package.json'))) {
    rmSync(tmp, { recursive: true, force: true });
    return `npm install chdb@${CHDB_VERSION} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}`;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(tmp, dir);
  log(`chdb: installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return null;
}

export interface ChdbSession {
  query(sql: string, format?: string): string;
  cleanup?(): void;
  close?(): void;
}

/**
 * A chdb session on `path`; `configFile` is a ClickHouse config (remote_servers, macros, …) passed as
 * `--config-file`. Throws when chdb is not installed.
 */
export function chdbSession(path: string, configFile?: string): ChdbSession {
  const req = createRequire(entry());
  const { Session } = req('chdb') as { Session: new (p: string, o?: { connectionArgs?: string[] }) => ChdbSession };
  return new Session(path, configFile ? { connectionArgs: [`--config-file=${configFile}`] } : undefined);
}

/**
 * A `ClickHouse` (client.ts) on a chdb session, for tests that run our own code (migrations, the
 * sink, the SDB writer) on a current ClickHouse: statements run in the session, inserts are
 * JSONEachRow as over HTTP. Settings (for Distributed tables) are ignored: one server.
 */
export function chdbClickHouse(s: ChdbSession, database: string): import('./client.ts').ClickHouse {
  const rows = (out: string) => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    database,
    exec: async (q: unknown) => void s.query(String(q)),
    query: async (q: unknown) => rows(s.query(String(q), 'JSONEachRow')),
    insert: async (table: string, values: Record<string, unknown>[]) => {
      if (values.length) s.query(`INSERT INTO \`${database}\`.\`${table}\` FORMAT JSONEachRow\n${values.map((v) => JSON.stringify(v)).join('\n')}`);
    },
    ping: async () => true,
    close: async () => {},
  } as unknown as import('./client.ts').ClickHouse;
}
