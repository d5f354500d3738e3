/**
 * S3-compatible object store backend (AWS S3, MinIO, Ceph RGW, …): path-style requests signed with
 * AWS Signature Version 4, over Node's fetch. No SDK: the five calls the storage needs (PutObject,
 * GetObject, HeadObject, DeleteObject, ListObjectsV2) fit in this file, and the signature is checked
 * by a real server in storage.test.ts (MinIO, `gft stack up --s3`). (@aws-sdk/client-s3 3.x would add
 * 26 packages / 22 MB to node_modules for the same.)
 *
 * Failures are typed for the runner (lib/runtime/errors.ts): a missing object is `storage.not_found`,
 * everything the server or the network answers otherwise is `storage.unavailable` /
 * `storage.access_denied` / `storage.no_bucket`, all retriable (retried in place, then the stage stops:
 * none of them says the message is bad).
 */
import { createHash, createHmac } from 'node:crypto';
import { NotFoundError, StorageError, type ObjectInfo, type StorageBackend } from './backend.ts';

export interface S3Options {
  /** e.g. http://127.0.0.1:19900 (path-style: the bucket is the first path segment) */
  endpoint: string;
  bucket: string;
  /** key prefix inside the bucket ('' or ending without '/'; a '/' is added) */
  prefix?: string;
  accessKey: string;
  secretKey: string;
  region?: string;
  /** per-request timeout (default 120 s: frames are tens of MB) */
  timeoutMs?: number;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const hex = (data: Buffer | Uint8Array | string) => createHash('sha256').update(data).digest('hex');
/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const xmlText = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlText(m[1]) : undefined;
};

export interface SignInput {
  method: string;
  url: URL;
  /** hex sha256 of the body, or 'UNSIGNED-PAYLOAD' */
  payloadHash: string;
  accessKey: string;
  secretKey: string;
  region: string;
  now?: Date;
  headers?: Record<string, string>;
}

/** AWS Signature Version 4 for service s3: the headers to send (host is sent by fetch itself). */
export function signV4(s: SignInput): Record<string, string> {
  const amzDate = (s.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.trim()])), host: s.url.host, 'x-amz-content-sha256': s.payloadHash, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const query = [...s.url.searchParams.entries()].map(([k, v]) => [enc(k), enc(v)]).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const canonical = [
    s.method,
    s.url.pathname.split('/').map((seg) => enc(decodeURIComponent(seg))).join('/'),
    query.map(([k, v]) => `${k}=${v}`).join('&'),
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    names.join(';'),
    s.payloadHash,
  ].join('\n');
  const scope = `${date}/${s.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${s.secretKey}`, date), s.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...rest } = headers;
  return { ...rest, authorization: `AWS4-HMAC-SHA256 Credential=${s.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

export class S3Backend implements StorageBackend {
  readonly scheme = 's3';
  private readonly base: URL;
  private readonly prefix: string;
  private readonly region: string;
  private readonly timeoutMs: number;

  constructor(readonly opts: S3Options) {
    this.base = new URL(opts.endpoint.replace(/\/+$/, '') + '/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) throw new StorageError('storage.config', `invalid S3 bucket name '${opts.bucket}'`, false);
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.region = opts.region || 'us-east-1';
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** s3://bucket/prefix at endpoint, for messages */
  get where(): string {
    return `s3://${this.opts.bucket}/${this.prefix} at ${this.base.origin}`;
  }

  private url(key?: string, query: Record<string, string> = {}): URL {
    const path = key === undefined ? this.opts.bucket : `${this.opts.bucket}/${this.prefix ? `${this.prefix}/` : ''}${key}`;
    const u = new URL(path.split('/').map(enc).join('/'), this.base);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  }

  private async request(method: string, url: URL, body?: Buffer | Uint8Array, payloadHash?: string): Promise<Response> {
    const headers = signV4({ method, url, payloadHash: payloadHash ?? (body ? hex(body) : EMPTY_SHA256), accessKey: this.opts.accessKey, secretKey: this.opts.secretKey, region: this.region, headers: body ? { 'content-type': 'application/octet-stream' } : {} });
    try {
      return await fetch(url, { method, headers, body: body as BodyInit | undefined, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new StorageError('storage.unavailable', `S3 ${method} ${url.pathname} at ${this.base.origin}: ${cause} (${(e as Error).message})`, true, e);
    }
  }

  /** A non-2xx answer as a typed error (the S3 XML error code in the message). */
  private async failure(r: Response, method: string, key: string | undefined): Promise<StorageError> {
    const body = method === 'HEAD' ? '' : await r.text().catch(() => '');
    const code = tag(body, 'Code') ?? `HTTP ${r.status}`;
    const what = `S3 ${method} ${key ?? '(bucket)'} in ${this.where}: ${code}${tag(body, 'Message') ? ` — ${tag(body, 'Message')}` : ''}`;
    if (code === 'NoSuchBucket') return new StorageError('storage.no_bucket', `${what} (create the bucket; \`gft stack up --s3\` creates it for the local store)`, true);
    if (r.status === 404) return new NotFoundError(`${what}: not written yet, or deleted by retention`);
    if (r.status === 403 || r.status === 401) return new StorageError('storage.access_denied', `${what} (check GFT_S3_ACCESS_KEY / GFT_S3_SECRET_KEY / GFT_S3_REGION)`, true);
    return new StorageError('storage.unavailable', what, true);
  }

  async put(key: string, data: Buffer | Uint8Array): Promise<void> {
    const r = await this.request('PUT', this.url(key), data);
    if (!r.ok) throw await this.failure(r, 'PUT', key);
    await r.arrayBuffer();
  }

  async get(key: string): Promise<Buffer> {
    const r = await this.request('GET', this.url(key));
    if (!r.ok) throw await this.failure(r, 'GET', key);
    return Buffer.from(await r.arrayBuffer());
  }

  async has(key: string): Promise<boolean> {
    const r = await this.request('HEAD', this.url(key));
    if (r.status === 404) return false;
    if (!r.ok) throw await this.failure(r, 'HEAD', key);
    return true;
  }

  async delete(key: string): Promise<void> {
    const r = await this.request('DELETE', this.url(key));
    if (!r.ok && r.status !== 404) throw await this.failure(r, 'DELETE', key);
    await r.arrayBuffer();
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const p = prefix.replace(/\/+$/, '');
    const full = `${this.prefix ? `${this.prefix}/` : ''}${p ? `${p}/` : ''}`;
    let token: string | undefined;
    do {
      const q: Record<string, string> = { 'list-type': '2', prefix: full };
      if (token) q['continuation-token'] = token;
      const r = await this.request('GET', this.url(undefined, q));
      const xml = await r.text();
      if (!r.ok) throw await this.failure(new Response(xml, { status: r.status }), 'LIST', full);
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = tag(m[1], 'Key')!;
        yield { key: key.slice(strip), size: Number(tag(m[1], 'Size') ?? 0), modified: new Date(tag(m[1], 'LastModified') ?? 0) };
      }
      token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
    } while (token);
  }

  /** Creates the bucket (no error when it exists and is ours). For the local store and tests. */
  async createBucket(): Promise<void> {
    const r = await this.request('PUT', this.url());
    if (r.ok) return void (await r.arrayBuffer());
    const body = await r.text();
    if (tag(body, 'Code') === 'BucketAlreadyOwnedByYou') return;
    throw await this.failure(new Response(body, { status: r.status }), 'PUT', undefined);
  }
}
