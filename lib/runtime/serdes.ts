/**
 * Confluent-framed Avro through a real schema registry (Apicurio's ccompat API locally, Confluent
 * in production). Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
 *
 * Registration speaks the Confluent REST API directly (subject `<topic>-value`): it first makes the
 * subject's compatibility what the topology says (`subjectCompatibility`: FULL_TRANSITIVE for the
 * public topics, BACKWARD for the rest; an existing subject with another level is switched), then
 * registers the schema exactly as its .avsc file says (`SchemaEntry.fullSchema`: logical types,
 * docs, defaults, aliases, order). Both steps are idempotent: the registry answers the id of an
 * identical schema already registered.
 *
 * Encoding and decoding are ours, synchronous on the hot path: the writer schema of an id is fetched
 * once, and the avsc resolver writer→reader is built once per id (`createResolver` fails at build
 * time on an incompatible schema, not per message). Values of timestamp-millis fields are JS numbers
 * (ms since the epoch): the types are parsed without logical-type hooks (see schemas.ts).
 */
import avro from 'avsc';
import { schema as schemaByName } from './schemas.ts';
import { invalidInput, retriable } from './errors.ts';
import { TOPICS } from './topology.ts';
import { platformConfig, registryCredentials } from '../config/platform.ts';

export const NOT_READY = Symbol('not-ready');

interface Reader {
  type: avro.Type;
  resolvers: Map<number, avro.Resolver | null>;
}

/** Registry HTTP requests time out after this (then fail as retriable `registry.unavailable`). */
export const REGISTRY_TIMEOUT_MS = 15_000;
/** Attempts of one registry request on a network error, a timeout or a 5xx, with backoff between. */
const REGISTRY_ATTEMPTS = 6;

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

/**
 * The compatibility rule of a registry subject (`[<namespace>.]<topic>-value`): FULL_TRANSITIVE for
 * the public topics (outside consumers lag behind the producer: every version must read, and be read
 * by, every other version), BACKWARD for internal ones (their consumers are upgraded with the chain).
 */
export function subjectCompatibility(subject: string): Compatibility {
  const pub = TOPICS.some((t) => t.public && (subject === `${t.name}-value` || subject.endsWith(`.${t.name}-value`)));
  return pub ? 'FULL_TRANSITIVE' : 'BACKWARD';
}

const JSON_TYPE = 'application/vnd.schemaregistry.v1+json';

const basic = (c: { user: string; password: string } | null): string | null => (c ? `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}` : null);

class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
  }
}

/** How long a 404 for a schema id is taken for a registry still loading (GFT_REGISTRY_UNKNOWN_ID_GRACE_MS, default 120 s). */
const unknownIdGraceMs = () => Number(process.env.GFT_REGISTRY_UNKNOWN_ID_GRACE_MS ?? 120_000);

export class AvroSerdes {
  private readonly url: string;
  private readonly writerTypes = new Map<number, avro.Type>();
  /** schema id → when the registry first answered 404 for it (see writerType) */
  private readonly missingSince = new Map<number, number>();
  private readonly idsBySubject = new Map<string, number>();
  private readonly typeById = new Map<number, avro.Type>();
  private readonly readers = new Map<string, Reader>();

  // A request the registry never answers (seen once in CI, under load, while another namespace
  // registered the same subject name) must fail, so that the caller's retry can run: each request
  // times out (15 s by default) and is tried REGISTRY_ATTEMPTS times in all.
  /** `Basic …` header value, null for none; resolved at the first request when not given */
  private authorization: string | null | undefined;

  /**
   * `credentials`: HTTP basic auth for the registry; default (undefined) from the configuration
   * (GFT_REGISTRY_USER/PASSWORD, else the Kafka SASL user; lib/config/platform.ts `registryCredentials`).
   */
  constructor(registryUrl: string, private readonly timeoutMs = REGISTRY_TIMEOUT_MS, credentials?: { user: string; password: string } | null) {
    this.url = registryUrl.replace(/\/+$/, '');
    if (credentials !== undefined) this.authorization = basic(credentials);
  }

  private auth(): Record<string, string> {
    if (this.authorization === undefined) this.authorization = basic(registryCredentials(platformConfig()));
    return this.authorization ? { Authorization: this.authorization } : {};
  }

  /**
   * One registry request; retried on network errors, timeouts and 5xx. Returns the parsed JSON body,
   * or null on 404 when `allow404`. Other 4xx throw RegistryHttpError at once.
   */
  private async request<T>(what: string, method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, allow404 = false): Promise<T | null> {
    let last: unknown;
    for (let attempt = 0; attempt < REGISTRY_ATTEMPTS; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** (attempt - 1))));
      let res: Response;
      try {
        res = await fetch(`${this.url}${path}`, {
          method,
          headers: { Accept: JSON_TYPE, ...this.auth(), ...(body !== undefined ? { 'Content-Type': JSON_TYPE } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        last = e;
        continue;
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return (text ? JSON.parse(text) : {}) as T;
      if (res.status === 404 && allow404) return null;
      last = new RegistryHttpError(res.status, text, what);
      if (res.status < 500) break;
    }
    if (last instanceof RegistryHttpError) throw last;
    throw retriable('registry.unavailable', `${what}: ${(last as Error)?.message ?? String(last)}`, last);
  }

  /**
   * Sets the compatibility of `subject` to `level` unless it already is (the subject need not exist
   * yet: the rule then applies from its first version on).
   */
  async ensureCompatibility(subject: string, level: Compatibility): Promise<void> {
    const path = `/config/${encodeURIComponent(subject)}`;
    const what = `setting compatibility ${level} on ${subject}`;
    try {
      const cur = await this.request<{ compatibilityLevel?: string }>(what, 'GET', path, undefined, true);
      if (cur?.compatibilityLevel?.toUpperCase() === level) return;
      await this.request(what, 'PUT', path, { compatibility: level });
    } catch (e) {
      if (e instanceof RegistryHttpError) throw retriable('registry.unavailable', e.message, e);
      throw e;
    }
  }

  /**
   * Registers the schema of record `name` under `subject` as its .avsc file says, with the subject's
   * compatibility set first (default: `subjectCompatibility(subject)`); returns the schema id.
   * Idempotent. Throws invalid input `registry.incompatible_schema` when the registry refuses the
   * schema under that rule, retriable `registry.unavailable` when it cannot be reached.
   */
  async register(subject: string, name: string, compatibility: Compatibility = subjectCompatibility(subject)): Promise<number> {
    const cached = this.idsBySubject.get(`${subject}\u0000${name}`);
    if (cached !== undefined) return cached;
    const entry = schemaByName(name);
    await this.ensureCompatibility(subject, compatibility);
    let id: number;
    try {
      const res = await this.request<{ id: number }>(`registering ${name} as ${subject}`, 'POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: entry.fullSchema });
      id = res!.id;
      if (!Number.isInteger(id)) throw retriable('registry.unavailable', `registering ${name} as ${subject}: no schema id in the answer`);
    } catch (e) {
      if (e instanceof RegistryHttpError && e.status === 409) throw invalidInput('registry.incompatible_schema', `schema ${name} is not ${compatibility} compatible with subject ${subject}: ${e.body.slice(0, 500)}`, e);
      if (e instanceof RegistryHttpError && e.status === 422) throw invalidInput('registry.invalid_schema', `the registry refused schema ${name} for ${subject}: ${e.body.slice(0, 500)}`, e);
      if (e instanceof RegistryHttpError) throw retriable('registry.unavailable', e.message, e);
      throw e;
    }
    this.idsBySubject.set(`${subject}\u0000${name}`, id);
    this.typeById.set(id, entry.type);
    this.writerTypes.set(id, entry.type);
    return id;
  }

  /** Encodes with a registered id. Throws invalid input when the value does not match the schema. */
  encode(id: number, value: unknown): Buffer {
    const type = this.typeById.get(id);
    if (!type) throw new Error(`schema id ${id} was not registered by this process`);
    let body: Buffer;
    try {
      body = type.toBuffer(value);
    } catch (e) {
      const paths: string[] = [];
      type.isValid(value, { errorHook: (p) => paths.push(p.join('.') || '(root)') });
      throw invalidInput('avro.encode_failed', `value does not match ${type.name}: invalid at ${paths.join(', ') || '?'}`, e);
    }
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeUInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  private async writerType(id: number): Promise<avro.Type> {
    let t = this.writerTypes.get(id);
    if (t) return t;
    let res: Response;
    try {
      res = await fetch(`${this.url}/schemas/ids/${id}`, { headers: this.auth(), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw retriable('registry.unavailable', `fetching schema ${id}: ${(e as Error).message}`, e);
    }
    if (res.status === 404) {
      // A registry that has just restarted answers 404 for ids it has not yet read back from its
      // storage (Apicurio's kafkasql: seen in `gft chaos`, telemetry dead-lettered a minute after the
      // restart). So an id is unknown only after the registry kept saying so for a grace period.
      const since = this.missingSince.get(id) ?? Date.now();
      this.missingSince.set(id, since);
      const waited = Date.now() - since;
      if (waited < unknownIdGraceMs()) throw retriable('registry.unavailable', `fetching schema ${id}: not in the registry (yet? a restarted registry is still loading; asked for ${Math.round(waited / 1000)} s)`);
      throw invalidInput('avro.unknown_schema_id', `schema id ${id} is not in the registry (asked for ${Math.round(waited / 1000)} s)`);
    }
    this.missingSince.delete(id);
    if (!res.ok) throw retriable('registry.unavailable', `fetching schema ${id}: HTTP ${res.status}`);
    const body = (await res.json()) as { schema: string };
    t = avro.Type.forSchema(JSON.parse(body.schema), { wrapUnions: false });
    this.writerTypes.set(id, t);
    return t;
  }

  /** Schema id of a framed message, or an invalid-input error when it is not Confluent-framed. */
  static schemaId(buf: Buffer | null): number {
    if (!buf || buf.length < 5 || buf[0] !== 0) throw invalidInput('avro.not_framed', 'message is not Confluent-framed Avro (magic byte 0 + schema id)');
    return buf.readUInt32BE(1);
  }

  /**
   * Hot path: decodes synchronously when the writer→reader resolver is already built; returns
   * NOT_READY otherwise (the caller then awaits `decode`, which fetches the writer schema).
   */
  tryDecodeSync<T = unknown>(buf: Buffer | null, readerName: string): T | typeof NOT_READY {
    const id = AvroSerdes.schemaId(buf);
    const reader = this.readers.get(readerName);
    const resolver = reader?.resolvers.get(id);
    if (!reader || resolver === undefined) return NOT_READY;
    try {
      return (resolver ? reader.type.fromBuffer(buf!.subarray(5), resolver, true) : reader.type.fromBuffer(buf!.subarray(5))) as T;
    } catch (e) {
      throw invalidInput('avro.decode_failed', `cannot decode message with schema ${id} as ${readerName}: ${(e as Error).message}`, e);
    }
  }

  /**
   * Decodes a framed message into the reader schema `readerName` (the consumer's own version of
   * the contract), resolving from whatever writer schema produced it.
   */
  async decode<T = unknown>(buf: Buffer | null, readerName: string): Promise<T> {
    const fast = this.tryDecodeSync<T>(buf, readerName);
    if (fast !== NOT_READY) return fast as T;
    const id = AvroSerdes.schemaId(buf);
    let reader = this.readers.get(readerName);
    if (!reader) {
      reader = { type: schemaByName(readerName).type, resolvers: new Map() };
      this.readers.set(readerName, reader);
    }
    let resolver = reader.resolvers.get(id);
    if (resolver === undefined) {
      const writer = await this.writerType(id);
      try {
        resolver = writer.name === reader.type.name && JSON.stringify(writer.schema()) === JSON.stringify(reader.type.schema()) ? null : reader.type.createResolver(writer);
      } catch (e) {
        throw invalidInput('avro.incompatible_writer', `writer schema ${id} (${writer.name}) cannot be read as ${readerName}: ${(e as Error).message}`, e);
      }
      reader.resolvers.set(id, resolver);
    }
    try {
      return (resolver ? reader.type.fromBuffer(buf!.subarray(5), resolver, true) : reader.type.fromBuffer(buf!.subarray(5))) as T;
    } catch (e) {
      throw invalidInput('avro.decode_failed', `cannot decode message with schema ${id} as ${readerName}: ${(e as Error).message}`, e);
    }
  }
}
