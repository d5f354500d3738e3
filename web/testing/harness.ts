/**
 * Test harness: scratch ClickHouse databases (project + SDB, random names, dropped by `close`), the
 * project tables (lead's migrations) and the web_ tables, the DC3-like dataset, local storage in a temp
 * folder, one user per role, and a running WebServer on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrate } from '../../connectors/clickhouse/migrations.ts';
import { ident, raw } from '../../connectors/clickhouse/sql.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { Logger } from '../../lib/runtime/log.ts';
import { randomNamespace } from '../../lib/runtime/testing.ts';
import { UserStore } from '../auth/stores.ts';
import { webConfig } from '../config.ts';
import { migrateWeb } from '../migrations.ts';
import { WebServer } from '../server.ts';
import { insertDataset, type Dataset } from './dataset.ts';

export const PASSWORDS = { admin: 'admin-pass-0123', shifter: 'shifter-pass-0123', viewer: 'viewer-pass-0123' } as const;
export const USERS = { admin: 'ada', shifter: 'sam', viewer: 'val' } as const;

export interface Harness {
  db: string;
  sdbDb: string;
  ch: ClickHouse;
  sdb: ClickHouse;
  storage: LocalStorage;
  storageDir: string;
  dataset: Dataset;
  server: WebServer;
  url: string;
  startServer(env?: Record<string, string>): Promise<WebServer>;
  close(): Promise<void>;
}

export async function createHarness(o: { env?: Record<string, string>; prefix?: string } = {}): Promise<Harness> {
  const db = randomNamespace(o.prefix ?? 'web');
  const sdbDb = `${db}_sdb`;
  const cfg = platformConfig();
  const ch = new ClickHouse(cfg, { database: db });
  const sdb = new ClickHouse(cfg, { database: sdbDb });
  const storageDir = mkdtempSync(join(tmpdir(), 'gft-web-test-'));
  const storage = LocalStorage.fromEnv({ ...process.env, GFT_STORAGE_DIR: storageDir });
  await migrate(ch);
  await migrateWeb(ch);
  const dataset = await insertDataset({ ch, sdb, storage });
  const users = new UserStore(ch, 0);
  for (const role of ['admin', 'shifter', 'viewer'] as const) await users.create(USERS[role], role, PASSWORDS[role], 'test');
  const servers: WebServer[] = [];
  const startServer = async (env: Record<string, string> = {}) => {
    const s = new WebServer({
      config: webConfig({ ...process.env, GFT_WEB_PORT: '0', GFT_WEB_HOST: '127.0.0.1', GFT_SDB_DATABASE: sdbDb, GFT_WEB_LIVE_INTERVAL_MS: '300', GFT_WEB_ADMIN_PASSWORD: '', ...o.env, ...env }),
      ch,
      storage,
      log: new Logger('web-test', 'warn'),
    });
    await s.start();
    servers.push(s);
    return s;
  };
  const server = await startServer();
  return {
    db,
    sdbDb,
    ch,
    sdb,
    storage,
    storageDir,
    dataset,
    server,
    url: server.url,
    startServer,
    async close() {
      for (const s of servers) await s.stop().catch(() => {});
      await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`)).catch(() => {});
      await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(sdbDb)}`)).catch(() => {});
      await ch.close();
      await sdb.close();
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}

export { Client } from './client.ts';
