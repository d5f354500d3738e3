/**
 * Try the pages by hand on the DC3-like dataset, in scratch databases dropped on exit:
 *   GFT_WEB_ADMIN_PASSWORD=… npx tsx web/testing/demo.ts [--port 8080]
 * Logs in as `admin` with that password (default 'colibri-demo-2019').
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrate } from '../../connectors/clickhouse/migrations.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { ident, raw } from '../../connectors/clickhouse/sql.ts';
import { platformConfig } from '../../lib/config/platform.ts';
import { randomNamespace } from '../../lib/runtime/testing.ts';
import { webConfig } from '../config.ts';
import { WebServer } from '../server.ts';
import { insertDataset } from './dataset.ts';

const port = process.argv.includes('--port') ? process.argv[process.argv.indexOf('--port') + 1] : '8080';
const db = randomNamespace('webdemo');
const sdbDb = `${db}_sdb`;
const dir = mkdtempSync(join(tmpdir(), 'gft-web-demo-'));
const cfg = platformConfig();
const ch = new ClickHouse(cfg, { database: db });
const sdb = new ClickHouse(cfg, { database: sdbDb });
await migrate(ch);
const storage = LocalStorage.fromEnv({ ...process.env, GFT_STORAGE_DIR: dir });
await insertDataset({ ch, sdb, storage });
const server = new WebServer({
  config: webConfig({ ...process.env, GFT_WEB_PORT: port, GFT_SDB_DATABASE: sdbDb, GFT_WEB_ADMIN_PASSWORD: process.env.GFT_WEB_ADMIN_PASSWORD || 'colibri-demo-2019' }),
  ch,
  storage,
});
console.log(`demo on ${await server.start()} (databases ${db}, ${sdbDb}; Ctrl-C drops them)`);
await new Promise<void>((r) => process.once('SIGINT', () => r()));
await server.stop();
await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`));
await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(sdbDb)}`));
await ch.close();
await sdb.close();
rmSync(dir, { recursive: true, force: true });
