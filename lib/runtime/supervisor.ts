/**
 * Stage instances as separate OS processes (`gft stage run NAME --instances N`, `gft dc3 --instances N`,
 * `gft chaos`): each is `gft stage run NAME` with its own GFT_INSTANCE_ID (its transactional id and
 * client ids), in the same namespace and consumer group. The supervisor starts, kills (-9) and
 * restarts them, and restarts one that died on its own when asked to (as systemd's
 * Restart=on-failure would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../config/platform.ts';

export interface InstanceSpec {
  stage: string;
  /** 1-based within the stage */
  index: number;
  namespace: string;
  env?: Record<string, string | undefined>;
  /** Folder for the instance's log (stderr and stdout): `<stage>-<index>.log`; inherit when absent. */
  logDir?: string;
}

export interface InstanceExit {
  stage: string;
  index: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** killed by the supervisor (kill() or stop()) */
  expected: boolean;
  at: number;
}

export const instanceId = (stage: string, index: number) => `${stage}-${index}`;

export class StageInstance {
  proc: ChildProcess | null = null;
  starts = 0;
  private log: WriteStream | null = null;
  private expectExit = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: InstanceSpec,
    private readonly onExit: (e: InstanceExit) => void,
  ) {}

  get id(): string {
    return instanceId(this.spec.stage, this.spec.index);
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    const s = this.spec;
    if (s.logDir && !this.log) {
      mkdirSync(s.logDir, { recursive: true });
      this.log = createWriteStream(join(s.logDir, `${this.id}.log`), { flags: 'a' });
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...(s.env ?? {}), GFT_NAMESPACE: s.namespace, GFT_INSTANCE_ID: this.id };
    // bin/gft.mjs runs itself again under this glibc tunable when it is missing: give it at once, so that
    // the process we start (and kill -9) is the stage itself, not a wrapper that would leave it orphaned
    if (env.GFT_NO_HUGEPAGES !== '1' && !/(^|:)glibc\.malloc\.hugetlb=1(:|$)/.test(env.GLIBC_TUNABLES ?? '')) env.GLIBC_TUNABLES = [env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1'].filter(Boolean).join(':');
    const p = spawn(process.execPath, [join(repoRoot, 'bin', 'gft.mjs'), 'stage', 'run', s.stage, '--namespace', s.namespace], {
      cwd: repoRoot,
      env,
      stdio: this.log ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    });
    if (this.log) {
      p.stdout?.pipe(this.log, { end: false });
      p.stderr?.pipe(this.log, { end: false });
    }
    this.proc = p;
    this.starts++;
    this.expectExit = false;
    this.exited = new Promise<void>((resolve) =>
      p.once('exit', (code, signal) => {
        this.onExit({ stage: s.stage, index: s.index, code, signal, expected: this.expectExit, at: Date.now() });
        resolve();
      }),
    );
  }

  /** kill -9 (no shutdown, no leave: the group notices at the session timeout). */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.expectExit = true;
    this.proc!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: a clean stop (finish the chunk, commit, leave the group); SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.expectExit = true;
    this.proc!.kill('SIGTERM');
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  close(): void {
    this.log?.end();
    this.log = null;
  }
}

export class Supervisor {
  readonly instances: StageInstance[] = [];
  readonly exits: InstanceExit[] = [];
  private stopping = false;

  constructor(private readonly o: { restartOnFailure?: boolean; restartDelayMs?: number; log?: (s: string) => void } = {}) {}

  add(spec: InstanceSpec): StageInstance {
    const inst = new StageInstance(spec, (e) => this.exited(inst, e));
    this.instances.push(inst);
    return inst;
  }

  private exited(inst: StageInstance, e: InstanceExit): void {
    this.exits.push(e);
    if (e.expected || this.stopping) return;
    this.o.log?.(`${inst.id} exited on its own (code ${e.code}${e.signal ? `, ${e.signal}` : ''})${this.o.restartOnFailure ? '; restarting it' : ''}`);
    if (this.o.restartOnFailure) setTimeout(() => !this.stopping && inst.start(), this.o.restartDelayMs ?? 1000).unref();
  }

  /** Unexpected exits so far (a stage that died by itself). */
  failures(): InstanceExit[] {
    return this.exits.filter((e) => !e.expected);
  }

  of(stage: string): StageInstance[] {
    return this.instances.filter((i) => i.spec.stage === stage);
  }

  startAll(): void {
    for (const i of this.instances) i.start();
  }

  async stopAll(graceMs?: number): Promise<void> {
    this.stopping = true;
    await Promise.all(this.instances.map((i) => i.stop(graceMs)));
    for (const i of this.instances) i.close();
  }
}
