/**
 * What `gft dc3`, `gft replay` and `gft chaos` show on a terminal: one live status line (rewritten in
 * place), the lines that matter (what the command does, warnings and errors of the stages, once per
 * kind every 30 s), and the stages' JSON logs in a file whose path is printed. With `--log-format json`
 * or when stderr is not a terminal, everything goes to stderr as today (JSON lines of the stages,
 * `[dc3] …` lines of the command): what a pipeline or a log collector wants.
 */
import { logToFile, logToStderr } from '../../lib/runtime/log.ts';

export type LogFormat = 'text' | 'json';

export function logFormatOption(v: unknown): LogFormat {
  if (v === undefined || v === '' || v === 'auto') return process.stderr.isTTY ? 'text' : 'json';
  if (v === 'text' || v === 'json') return v;
  throw new Error(`--log-format: text or json, got '${String(v)}'`);
}

export class Display {
  private statusShown = false;
  private readonly lastWarned = new Map<string, number>();

  constructor(
    readonly format: LogFormat,
    private readonly prefix: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Sends the stages' JSON logs to `file` (text format), keeping their warnings and errors on screen. */
  logTo(file: string): void {
    if (this.format !== 'text') return;
    logToFile(file, (l) => this.stageWarning(l));
    this.line(`stage logs: ${file}`);
  }

  close(): void {
    this.clearStatus();
    if (this.format === 'text') logToStderr();
  }

  private clearStatus(): void {
    if (this.statusShown && this.out.isTTY) this.out.write('\r\x1b[K');
    this.statusShown = false;
  }

  /** A line that stays. */
  line(s: string): void {
    if (this.format === 'json') {
      this.out.write(`[${this.prefix}] ${s}\n`);
      return;
    }
    this.clearStatus();
    this.out.write(`${s}\n`);
  }

  /** The live status (progress): rewritten in place on a terminal. */
  status(s: string): void {
    if (this.format === 'json' || !this.out.isTTY) {
      this.line(s);
      return;
    }
    const width = Math.max(20, (this.out.columns || 120) - 1);
    this.out.write(`\r\x1b[K${s.length > width ? s.slice(0, width - 1) + '…' : s}`);
    this.statusShown = true;
  }

  /** A stage's warning or error (a JSON log line): shown once per stage and message every 30 s. */
  private stageWarning(jsonLine: string): void {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(jsonLine) as Record<string, unknown>;
    } catch {
      return;
    }
    const who = String(v.stage ?? v.logger ?? '');
    const msg = String(v.msg ?? v.message ?? '');
    const key = `${who}\u0000${msg}`;
    const now = Date.now();
    if (now - (this.lastWarned.get(key) ?? 0) < 30_000) return;
    this.lastWarned.set(key, now);
    const detail = ['code', 'error', 'reason', 'burstId', 'partition'].filter((k) => v[k] !== undefined).map((k) => `${k}=${String(v[k]).slice(0, 160)}`).join(' ');
    this.line(`${String(v.level).toUpperCase()} ${who}: ${msg}${detail ? ` (${detail})` : ''}`);
  }
}
