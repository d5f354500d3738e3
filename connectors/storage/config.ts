/**
 * Where the storage lives, from typed configuration (lib/config/define.ts):
 *
 * - `GFT_STORAGE_URL=s3://bucket/prefix` — an S3-compatible object store at `GFT_S3_ENDPOINT` with
 *   `GFT_S3_ACCESS_KEY` / `GFT_S3_SECRET_KEY` / `GFT_S3_REGION`. Unset endpoint and keys default to the
 *   local MinIO of `gft stack up --s3` (GFT_HOME/s3/credentials.json), so the local store needs only
 *   the URL.
 * - `GFT_STORAGE_URL=file:///path` or `GFT_STORAGE_DIR=/path` — a folder; neither: `<GFT_HOME>/storage`.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, field, loadConfig } from '../../lib/config/define.ts';
import { platformConfig } from '../../lib/config/platform.ts';

/** What `gft stack up --s3` writes (deploy/services/s3.ts) and clients read. */
export interface LocalS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
}

export const localS3File = (home: string) => join(resolve(home), 's3', 'credentials.json');

export function localS3(home: string): LocalS3 | null {
  try {
    const c = JSON.parse(readFileSync(localS3File(home), 'utf8')) as LocalS3;
    return c.endpoint && c.accessKey && c.secretKey ? c : null;
  } catch {
    return null;
  }
}

export const storageSchema = {
  url: field<string>({ env: 'GFT_STORAGE_URL', type: 'string', doc: 'Storage location: s3://bucket/prefix (S3-compatible store) or file:///path; empty: GFT_STORAGE_DIR', default: '' }),
  dir: field<string>({ env: 'GFT_STORAGE_DIR', type: 'string', doc: 'Storage folder when GFT_STORAGE_URL is empty (default <GFT_HOME>/storage)', default: '' }),
  s3Endpoint: field<string>({ env: 'GFT_S3_ENDPOINT', type: 'url', doc: 'S3 endpoint URL, path-style (default: the local MinIO of `gft stack up --s3`)', default: '' }),
  s3AccessKey: field<string>({ env: 'GFT_S3_ACCESS_KEY', type: 'string', doc: 'S3 access key (default: the local MinIO\'s)', default: '' }),
  s3SecretKey: field<string>({ env: 'GFT_S3_SECRET_KEY', type: 'string', doc: 'S3 secret key (default: the local MinIO\'s)', default: '', secret: true }),
  s3Region: field<string>({ env: 'GFT_S3_REGION', type: 'string', doc: 'S3 region used in request signatures', default: 'us-east-1' }),
};

export type StorageTarget =
  | { kind: 'file'; dir: string }
  | { kind: 's3'; endpoint: string; bucket: string; prefix: string; accessKey: string; secretKey: string; region: string };

/** Resolves the configuration to one target; a ConfigError names the variable that is wrong or missing. */
export function storageTarget(env: Record<string, string | undefined> = process.env): StorageTarget {
  const c = loadConfig(storageSchema, env);
  const home = platformConfig(env).home;
  if (!c.url) return { kind: 'file', dir: c.dir || join(home, 'storage') };
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    throw new ConfigError(`GFT_STORAGE_URL: not a URL: '${c.url}' (s3://bucket/prefix or file:///path)`);
  }
  if (u.protocol === 'file:') return { kind: 'file', dir: decodeURIComponent(u.pathname) };
  if (u.protocol !== 's3:') throw new ConfigError(`GFT_STORAGE_URL: unsupported scheme '${u.protocol}' (s3://bucket/prefix or file:///path)`);
  if (!u.hostname) throw new ConfigError(`GFT_STORAGE_URL: no bucket in '${c.url}' (s3://bucket/prefix)`);
  const local = localS3(home);
  const endpoint = c.s3Endpoint || local?.endpoint || '';
  const accessKey = c.s3AccessKey || (c.s3Endpoint ? '' : local?.accessKey) || '';
  const secretKey = c.s3SecretKey || (c.s3Endpoint ? '' : local?.secretKey) || '';
  const missing = [!endpoint && 'GFT_S3_ENDPOINT', !accessKey && 'GFT_S3_ACCESS_KEY', !secretKey && 'GFT_S3_SECRET_KEY'].filter(Boolean);
  if (missing.length) throw new ConfigError(`GFT_STORAGE_URL=${c.url} needs ${missing.join(', ')} (or the local store: npx gft stack up --s3)`);
  return { kind: 's3', endpoint, bucket: u.hostname, prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''), accessKey, secretKey, region: c.s3Region || local?.region || 'us-east-1' };
}
