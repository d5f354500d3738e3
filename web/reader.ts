/**
 * The read-only ClickHouse client of the web pages' data queries (telemetry, pipeline, SDB):
 * GFT_WEB_CLICKHOUSE_READ_USER/PASSWORD[_FILE], else on the local secured stack its `reader` user
 * (deploy/services/clickhouse.ts); undefined: the writer serves everything (plaintext stack).
 */
import { existsSync } from 'node:fs';
import { ClickHouse } from '../connectors/clickhouse/client.ts';
import { platformConfig } from '../lib/config/platform.ts';
import { CLICKHOUSE_USERS, clickhousePasswordFile, stackSecure } from '../lib/config/localSecure.ts';
import { readSecretFile } from '../lib/config/secrets.ts';
import type { WebConfig } from './config.ts';

export function readerClient(config: Pick<WebConfig, 'clickhouseReadUser' | 'clickhouseReadPassword'>): ClickHouse | undefined {
  const cfg = platformConfig();
  if (config.clickhouseReadUser) return new ClickHouse({ ...cfg, clickhouseUser: config.clickhouseReadUser, clickhousePassword: config.clickhouseReadPassword });
  if (!process.env.GFT_CLICKHOUSE_URL && stackSecure(cfg.home)) {
    const f = clickhousePasswordFile(cfg.home, CLICKHOUSE_USERS.reader);
    if (existsSync(f)) return new ClickHouse({ ...cfg, clickhouseUser: CLICKHOUSE_USERS.reader, clickhousePassword: readSecretFile(f, 'ClickHouse password of reader') });
  }
  return undefined;
}
