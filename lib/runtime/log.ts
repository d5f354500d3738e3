/**
 * Structured logs: one JSON line per event on stderr (for humans and process supervisors), and the
 * same records queued for the `ops.logs` topic when a publisher is attached (the runner attaches
 * one), so every stage's logs end up in ClickHouse. Known secrets are blanked out of both
 * (lib/config/secrets.ts).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { redact } from '../config/secrets.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecordValue {
  time: number;
  level: Level;
  stage: string;
  instance: string;
  message: string;
  fields: Record<string, string>;
}

export const instanceId = `${hostname()}:${process.pid}`;

/**
 * Where this process's JSON log lines go (the stages' and kafkajs'): stderr by default; a file when a
 * command draws its own display on a terminal (`gft dc3`, `gft replay`, `gft chaos`: their stages'
 * lines would scroll it away), with warnings and errors still summarised on stderr by the command.
 */
let logFile: WriteStream | null = null;
let onWarning: ((line: string) => void) | null = null;

export function logToFile(path: string, warnings?: (line: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  logFile?.end();
  logFile = createWriteStream(path, { flags: 'a' });
  onWarning = warnings ?? null;
}

export function logToStderr(): void {
  logFile?.end();
  logFile = null;
  onWarning = null;
}

/** Writes one JSON log line (already redacted) where this process's logs go. */
export function writeLogLine(line: string, level: string): void {
  if (!logFile) {
    process.stderr.write(line + '\n');
    return;
  }
  logFile.write(line + '\n');
  if (onWarning && /^(warn|error)$/i.test(level)) onWarning(line);
}

export class Logger {
  private sinks: Array<(r: LogRecordValue) => void> = [];
  constructor(
    readonly stage: string,
    private readonly minLevel: Level = (process.env.GFT_LOG_LEVEL as Level) || 'info',
    private readonly toStderr = process.env.GFT_LOG_STDERR !== '0',
  ) {}

  attach(sink: (r: LogRecordValue) => void): void {
    this.sinks.push(sink);
  }

  log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < ORDER[this.minLevel]) return;
    const f: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) f[k] = redact(typeof v === 'string' ? v : JSON.stringify(v));
    const rec: LogRecordValue = { time: Date.now(), level, stage: this.stage, instance: instanceId, message: redact(message), fields: f };
    if (this.toStderr) writeLogLine(redact(JSON.stringify({ t: new Date(rec.time).toISOString(), level, stage: this.stage, msg: message, ...fields })), level);
    for (const s of this.sinks) s(rec);
  }
  debug(m: string, f?: Record<string, unknown>) { this.log('debug', m, f); }
  info(m: string, f?: Record<string, unknown>) { this.log('info', m, f); }
  warn(m: string, f?: Record<string, unknown>) { this.log('warn', m, f); }
  error(m: string, f?: Record<string, unknown>) { this.log('error', m, f); }
}
