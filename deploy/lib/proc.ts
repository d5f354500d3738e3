/**
 * Process plumbing for the local stack: pid files, liveness, detached starts, graceful stops, log
 * tails, port probes and the stack lock. Nothing here knows about a particular service.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, fstatSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The pid in `file` when that process is alive and its command line contains `marker` (guards against pid reuse). */
export function livePid(file: string, marker: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return null;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!cmdline.includes(marker)) return null;
  } catch {
    /* no /proc (not Linux): trust kill 0 */
  }
  return pid;
}

export interface DetachedSpec {
  cmd: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here */
  outFile: string;
  pidFile: string;
}

/** Starts a process in its own session that outlives us; returns its pid (also written to pidFile). */
export function startDetached(s: DetachedSpec): number {
  mkdirSync(dirname(s.outFile), { recursive: true });
  mkdirSync(dirname(s.pidFile), { recursive: true });
  const fd = openSync(s.outFile, 'a');
  writeFileSync(fd, `\n--- ${new Date().toISOString()} start: ${s.cmd} ${s.args.join(' ')}\n`);
  const opts: SpawnOptions = { cwd: s.cwd, env: s.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] };
  const child = spawn(s.cmd, s.args, opts);
  closeSync(fd);
  if (!child.pid) throw new Error(`could not start ${s.cmd}`);
  child.on('error', () => {}); // reported through the health wait and the log
  child.unref();
  writeFileSync(s.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, then SIGKILL after timeoutMs. Resolves once the process is gone. */
export async function stopPid(pid: number, timeoutMs: number): Promise<'term' | 'kill' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'term';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'term';
  }
  while (pidAlive(pid)) await sleep(50);
  return 'kill';
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** TCP ports a process listens on (Linux /proc; [] elsewhere or when it is gone). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return [...ports];
}

/** The last `n` lines of a file ('' when missing). Reads at most the last 256 KiB. */
export function tail(file: string, n = 40): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').replace(/\n+$/, '').split('\n');
    return lines.slice(-n).join('\n');
  } finally {
    closeSync(fd);
  }
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Cross-process mutex on a lock file (O_EXCL create). A holder that died is detected by its pid and
 * its lock taken over. Used so that parallel `up()` calls (test workers, two shells) never start a
 * service twice.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, opts: { timeoutMs: number; onWait?: () => void }): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + opts.timeoutMs;
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, token);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(file, 'utf8').split(' ')[0]);
    } catch {
      continue; // released between our open and read
    }
    if (!holder || !pidAlive(holder)) {
      rmSync(file, { force: true }); // stale: its owner died
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by pid ${holder})`);
    if (!waited) opts.onWait?.();
    waited = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(file, 'utf8') === token) rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  }
}
