/**
 * Confluent-framed Avro through a real schema registry (Apicurio's ccompat API locally, Confluent
 * in production). Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
 *
 * Registration goes through @kafkajs/confluent-schema-registry (subject `<topic>-value`,
 * compatibility BACKWARD). Encoding and decoding are ours, synchronous on the hot path: the writer
 * schema of an id is fetched once, and the avsc resolver writer→reader is built once per id
 * (`createResolver` fails at build time on an incompatible schema, not per message).
 */
import avro from 'avsc';
import confluent from '@kafkajs/confluent-schema-registry';
import { schema as schemaByName } from './schemas.ts';
import { invalidInput, retriable } from './errors.ts';

const { SchemaRegistry, SchemaType, COMPATIBILITY } = confluent as unknown as typeof import('@kafkajs/confluent-schema-registry');

export const NOT_READY = Symbol('not-ready');

interface Reader {
  type: avro.Type;
  resolvers: Map<number, avro.Resolver | null>;
}

/** Registry HTTP requests time out after this (then fail as retriable `registry.unavailable`). */
export const REGISTRY_TIMEOUT_MS = 15_000;

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** A mappersmith middleware giving every request a timeout (the client has none by default). */
function requestTimeout(ms: number): RegistryMiddleware {
  return () => ({
    async prepareRequest(next) {
      const request = await next();
      return request.timeout() ? request : request.enhance({ timeout: ms });
    },
  });
}

export class AvroSerdes {
  readonly registry: InstanceType<typeof SchemaRegistry>;
  private readonly url: string;
  private readonly writerTypes = new Map<number, avro.Type>();
  private readonly idsBySubject = new Map<string, number>();
  private readonly typeById = new Map<number, avro.Type>();
  private readonly readers = new Map<string, Reader>();

  constructor(registryUrl: string, private readonly timeoutMs = REGISTRY_TIMEOUT_MS) {
    this.url = registryUrl.replace(/\/+$/, '');
    // a request the registry never answers (seen once in CI, under load, while another namespace
    // registered the same subject name) must fail, so that the caller's retry can run: 15 s timeout
    this.registry = new SchemaRegistry({ host: this.url, retry: { retries: 5 }, middlewares: [requestTimeout(timeoutMs)] });
  }

  /** Registers the schema of record `name` under `subject` (BACKWARD); returns its id. Idempotent. */
  async register(subject: string, name: string): Promise<number> {
    const cached = this.idsBySubject.get(`${subject}\u0000${name}`);
    if (cached !== undefined) return cached;
    const entry = schemaByName(name);
    let id: number;
    try {
      ({ id } = await this.registry.register({ type: SchemaType.AVRO, schema: entry.fullSchema }, { subject, compatibility: COMPATIBILITY.BACKWARD }));
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      if (/incompatib/i.test(msg)) throw invalidInput('registry.incompatible_schema', `schema ${name} is not BACKWARD compatible with subject ${subject}: ${msg}`, e);
      throw retriable('registry.unavailable', `registering ${name} as ${subject}: ${msg}`, e);
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
      res = await fetch(`${this.url}/schemas/ids/${id}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw retriable('registry.unavailable', `fetching schema ${id}: ${(e as Error).message}`, e);
    }
    if (res.status === 404) throw invalidInput('avro.unknown_schema_id', `schema id ${id} is not in the registry`);
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
