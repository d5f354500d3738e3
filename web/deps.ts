/** What the routes need, built once by the server (web/server.ts). */
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import type { LocalStorage } from '../connectors/storage/storage.ts';
import type { LoginLimiter } from './auth/limiter.ts';
import type { SessionStore } from './auth/sessions.ts';
import type { AuditLog, UserStore } from './auth/stores.ts';
import type { WebConfig } from './config.ts';
import type { PipelineQueries } from './data/pipeline.ts';
import type { SdbQueries } from './data/sdb.ts';
import type { ShiftStore } from './data/shifts.ts';
import type { TelemetryQueries } from './data/telemetry.ts';

export interface Deps {
  config: WebConfig;
  ch: ClickHouse;
  storage: LocalStorage;
  users: UserStore;
  sessions: SessionStore;
  audit: AuditLog;
  limiter: LoginLimiter;
  telemetry: TelemetryQueries;
  pipeline: PipelineQueries;
  sdb: SdbQueries;
  shifts: ShiftStore;
}
