/**
 * ClickHouse access: one client per process, built from typed config. Failures to reach the
 * server are retriable (the runner retries them); SQL errors are bugs or bad input.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { PlatformConfig } from '../../lib/config/platform.ts';
import { retriable } from '../../lib/runtime/errors.ts';
import type { Sql } from './sql.ts';

/** Settings of one statement, sent as URL parameters (every server version reads them there). */
export type QuerySettings = Record<string, string | number>;

export class ClickHouse {
  readonly client: ClickHouseClient;
  readonly database: string;
  constructor(cfg: Pick<PlatformConfig, 'clickhouseUrl' | 'clickhouseUser' | 'clickhousePassword' | 'clickhouseDatabase'>, opts: { database?: string } = {}) {
    this.database = opts.database ?? cfg.clickhouseDatabase;
    this.client = createClient({
      url: cfg.clickhouseUrl,
      username: cfg.clickhouseUser,
      password: cfg.clickhousePassword,
      request_timeout: 30_000,
      compression: { request: false, response: false },
    });
  }

  /**
   * Runs a request; a connection reset on a kept-alive socket the server had just closed (`socket hang
   * up`, ECONNRESET: seen under load, 18.16 closes idle sockets after keep_alive_timeout) is tried once
   * more at once on a new socket — every statement of the project is idempotent (IF NOT EXISTS DDL,
   * ReplacingMergeTree rows). Then unreachable → retriable, SQL errors as they are.
   */
  private async wrap<T>(what: string, send: () => Promise<T>): Promise<T> {
    const reset = (e: Error & { code?: string }) => /ECONNRESET|socket hang up/i.test((e.message ?? '') + (e.code ?? ''));
    try {
      try {
        return await send();
      } catch (e) {
        if (!reset(e as Error)) throw e;
        return await send();
      }
    } catch (err) {
      const e = err as Error & { code?: string };
      const msg = e.message ?? String(e);
      if (/ECONNREFUSED|ECONNRESET|socket hang up|ETIMEDOUT|Timeout/i.test(msg + (e.code ?? ''))) throw retriable('clickhouse.unavailable', `${what}: ${msg}`, e);
      throw e;
    }
  }

  /** DDL and statements without results (sent over HTTP; clickhouse-client crashes on some errors). */
  async exec(q: Sql | string, settings?: QuerySettings): Promise<void> {
    await this.wrap('exec', () => this.client.command({ query: String(q), ...(settings ? { clickhouse_settings: settings as never } : {}) }));
  }

  async query<T = Record<string, unknown>>(q: Sql, settings?: QuerySettings): Promise<T[]> {
    const rs = await this.wrap('query', () => this.client.query({ query: String(q), format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings as never } : {}) }));
    return (await rs.json()) as T[];
  }

  /** Inserts rows (every column present: omitted columns get the type's zero value on 18.16). */
  async insert(table: string, rows: Record<string, unknown>[], settings?: QuerySettings): Promise<void> {
    if (!rows.length) return;
    await this.wrap('insert', () => this.client.insert({ table: `${this.database}.${table}`, values: rows, format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings as never } : {}) }));
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()).success;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
