/**
 * An S3-compatible object store for the storage connector: MinIO, built from its Go module with
 * `go install` through the Go module proxy (no release binary is downloaded), once per version into
 * a cache outside GFT_HOME (`$GFT_CACHE_DIR`, default `~/.cache/gft`), so neither a second `up --s3` nor
 * a fresh GFT_HOME rebuilds it. Runs on 127.0.0.1 with root credentials generated once and kept in
 * GFT_HOME/s3/credentials.json (mode 0600), which clients read when GFT_S3_* are unset
 * (connectors/storage/config.ts). `up` creates the bucket `gft`.
 *
 * MinIO is AGPL-3.0: it is built and run here as a separate program, never linked into or shipped
 * with this project.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { field, loadConfig } from '../../lib/config/define.ts';
import { localS3, localS3File, type LocalS3 } from '../../connectors/storage/config.ts';
import { S3Backend } from '../../connectors/storage/s3.ts';
import { exec } from '../lib/exec.ts';
import { paths, type Ctx, type Service } from './types.ts';

/** The MinIO Go module and the version built (the newest the module proxy served on 2026-12-07). */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
export const LOCAL_BUCKET = 'gft';

export const s3PortsSchema = {
  port: field<number>({ env: 'GFT_S3_PORT', type: 'int', doc: 'Local S3 store (MinIO) API port', default: 19900, min: 1, max: 65535 }),
  consolePort: field<number>({ env: 'GFT_S3_CONSOLE_PORT', type: 'int', doc: 'Local MinIO console port (the console itself is off)', default: 19901, min: 1, max: 65535 }),
};
export const s3Ports = (env: Record<string, string | undefined> = process.env) => loadConfig(s3PortsSchema, env);

export const cacheDir = () => process.env.GFT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gft');
export const minioBinary = () => join(cacheDir(), 'minio', MINIO_VERSION, 'minio');

/** Builds MinIO once (minutes on 2 cores); a process-wide promise so parallel callers share one build. */
let building: Promise<string> | undefined;
export function buildMinio(log: (s: string) => void): Promise<string> {
  const bin = minioBinary();
  if (existsSync(bin)) return Promise.resolve(bin);
  building ??= (async () => {
    const dir = join(cacheDir(), 'minio', MINIO_VERSION);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const go = process.env.GFT_GO || 'go';
    log(`s3: building MinIO ${MINIO_VERSION} with \`go install ${MINIO_MODULE}@${MINIO_VERSION}\` (Go module proxy; once, cached in ${dir}; several minutes on 2 cores)`);
    const t0 = Date.now();
    let last = t0;
    const r = await exec(go, ['install', '-trimpath', '-ldflags', '-s -w', `${MINIO_MODULE}@${MINIO_VERSION}`], {
      env: { ...process.env, GOBIN: tmp, CGO_ENABLED: '0' },
      timeoutMs: 60 * 60_000,
      onLine: () => {
        if (Date.now() - last > 30_000) {
          last = Date.now();
          log(`s3: still building MinIO (${Math.round((last - t0) / 1000)} s)`);
        }
      },
    }).catch((e: Error) => ({ code: 127, output: e.message }));
    if (r.code !== 0 || !existsSync(join(tmp, 'minio'))) {
      rmSync(tmp, { recursive: true, force: true });
      const hint = r.code === 127 ? ' (is Go ≥ 1.24 on PATH? set GFT_GO to its `go`)' : '';
      throw new Error(`s3: go install ${MINIO_MODULE}@${MINIO_VERSION} failed (exit ${r.code})${hint}\n${r.output.trimEnd().split('\n').slice(-30).join('\n')}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    log(`s3: MinIO built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return bin;
  })().finally(() => (building = undefined));
  return building;
}

/** The credentials of the local store: generated once per GFT_HOME, rewritten only when the port changed. */
function credentials(ctx: Ctx, port: number): LocalS3 {
  const endpoint = `http://127.0.0.1:${port}`;
  const old = localS3(ctx.home);
  if (old && old.endpoint === endpoint) return old;
  const c: LocalS3 = old ? { ...old, endpoint } : { endpoint, accessKey: `gft-${randomBytes(6).toString('hex')}`, secretKey: randomBytes(24).toString('base64url'), region: 'us-east-1', bucket: LOCAL_BUCKET };
  const file = localS3File(ctx.home);
  mkdirSync(join(ctx.home, 's3'), { recursive: true });
  writeFileSync(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return c;
}

export async function s3Answers(port: number, timeoutMs = 2000): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/minio/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/** After a start: the bucket of the local store exists. */
export async function ensureBucket(ctx: Ctx): Promise<void> {
  const c = localS3(ctx.home);
  if (!c) throw new Error(`s3: no credentials in ${localS3File(ctx.home)}`);
  await new S3Backend({ ...c, bucket: c.bucket || LOCAL_BUCKET }).createBucket();
}

export function s3Service(env: Record<string, string | undefined> = process.env): Service {
  const ports = s3Ports(env);
  return {
    name: 's3',
    address: `127.0.0.1:${ports.port}`,
    ports: [ports.port, ports.consolePort],
    marker: 'minio',
    startTimeoutMs: 60_000,
    stopTimeoutMs: 15_000,
    async prepare(ctx) {
      mkdirSync(join(ctx.home, 's3', 'data'), { recursive: true });
      mkdirSync(paths.logs(ctx.home), { recursive: true });
      credentials(ctx, ports.port);
      await buildMinio(ctx.log);
    },
    launch(ctx) {
      const c = credentials(ctx, ports.port);
      return {
        cmd: minioBinary(),
        args: ['server', '--quiet', '--address', `127.0.0.1:${ports.port}`, '--console-address', `127.0.0.1:${ports.consolePort}`, join(ctx.home, 's3', 'data')],
        cwd: join(ctx.home, 's3'),
        env: { ...process.env, MINIO_ROOT_USER: c.accessKey, MINIO_ROOT_PASSWORD: c.secretKey, MINIO_REGION: c.region, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_PROMETHEUS_AUTH_TYPE: 'jwt' },
      };
    },
    healthy: () => s3Answers(ports.port),
    logFiles: (ctx) => [paths.outFile(ctx.home, 's3')],
  };
}
