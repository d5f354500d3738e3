/**
 * Confluent-framed Avro with schema ids kept in this process instead of a registry: for runner tests
 * on the in-memory broker. Same wire format and the same writer→reader resolution as AvroSerdes.
 */
import avro from 'avsc';
import { schema as schemaByName } from './schemas.ts';
import { invalidInput } from './errors.ts';
import { AvroSerdes, NOT_READY } from './serdes.ts';
import type { Serdes } from './runner.ts';

export class LocalSerdes implements Serdes {
  private readonly byId = new Map<number, avro.Type>();
  private readonly ids = new Map<string, number>();
  private readonly resolvers = new Map<string, avro.Resolver | null>();

  async register(subject: string, name: string): Promise<number> {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(name, id);
      this.byId.set(id, schemaByName(name).type);
    }
    void subject;
    return id;
  }

  encode(id: number, value: unknown): Buffer {
    const type = this.byId.get(id);
    if (!type) throw new Error(`schema id ${id} was not registered`);
    let body: Buffer;
    try {
      body = type.toBuffer(value);
    } catch (e) {
      throw invalidInput('avro.encode_failed', `value does not match ${type.name}: ${(e as Error).message}`, e);
    }
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = 0;
    out.writeUInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  tryDecodeSync<T>(buf: Buffer | null, readerName: string): T | typeof NOT_READY {
    const id = AvroSerdes.schemaId(buf);
    const writer = this.byId.get(id);
    if (!writer) throw invalidInput('avro.unknown_schema_id', `schema id ${id} is not registered`);
    const reader = schemaByName(readerName).type;
    const k = `${id}\u0000${readerName}`;
    let resolver = this.resolvers.get(k);
    if (resolver === undefined) {
      try {
        resolver = writer === reader ? null : reader.createResolver(writer);
      } catch (e) {
        throw invalidInput('avro.incompatible_writer', `writer schema ${id} (${writer.name}) cannot be read as ${readerName}: ${(e as Error).message}`, e);
      }
      this.resolvers.set(k, resolver);
    }
    try {
      return (resolver ? reader.fromBuffer(buf!.subarray(5), resolver, true) : reader.fromBuffer(buf!.subarray(5))) as T;
    } catch (e) {
      throw invalidInput('avro.decode_failed', `cannot decode message with schema ${id} as ${readerName}: ${(e as Error).message}`, e);
    }
  }

  async decode<T>(buf: Buffer | null, readerName: string): Promise<T> {
    return this.tryDecodeSync<T>(buf, readerName) as T;
  }
}
