/**
 * What the stack needs to know about one local service. `stack.ts` owns the life cycle (lock, pid
 * files, health waits, stops); a service only says how to prepare, start and probe itself.
 */
import { join } from 'node:path';
import type { PlatformConfig } from '../../lib/config/platform.ts';

export type ServiceName = 'kafka' | 'registry' | 'clickhouse';

export interface Ctx {
  cfg: PlatformConfig;
  /** GFT_HOME, absolute */
  home: string;
  log: (line: string) => void;
}

export interface Launch {
  cmd: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface Service {
  /** also the pid file and log file stem */
  name: string;
  /** host:port clients use */
  address: string;
  /** every port the process binds (checked for squatters before a start) */
  ports: number[];
  /** a substring of the process command line, to tell our process from a reused pid */
  marker: string;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  /** download, generate config, format storage: idempotent and cached */
  prepare(ctx: Ctx): Promise<void>;
  launch(ctx: Ctx): Launch;
  /** one quick probe; never throws */
  healthy(): Promise<boolean>;
  /** log files worth showing when the service fails, most useful first (stdout/stderr file included) */
  logFiles(ctx: Ctx): string[];
}

export const paths = {
  run: (home: string) => join(home, 'run'),
  logs: (home: string) => join(home, 'logs'),
  pidFile: (home: string, name: string) => join(home, 'run', `${name}.pid`),
  outFile: (home: string, name: string) => join(home, 'logs', `${name}.out`),
};
