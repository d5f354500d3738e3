/**
 * Example outside consumer of the public topic `gic.products` (docs/consumers.md).
 *
 * Subscribes with its OWN consumer group, decodes each announcement through the schema registry
 * (Confluent wire format: magic byte 0, 4-byte schema id, Avro body), and downloads the product file
 * from the mounted product storage into a folder, checking its sha256 and size. Written the way an
 * outside team would: only kafkajs and @kafkajs/confluent-schema-registry, nothing from this repo.
 *
 *   npx tsx examples/product-consumer.ts --group my-team-products --out ./products \
 *     [--brokers host:9092] [--registry https://…/apis/ccompat/v7] [--storage /mnt/gft-storage] \
 *     [--topic gic.products] [--from-beginning] [--exit-after N]
 *
 * On a secured cluster (credentials from `gft users add-consumer`, docs/consumers.md):
 *   --sasl-user NAME (GFT_KAFKA_SASL_USER), the password in GFT_KAFKA_SASL_PASSWORD or a file named by
 *   GFT_KAFKA_SASL_PASSWORD_FILE (never on the command line), --sasl-mechanism scram-sha-512 (default)
 *   or scram-sha-256, --ca FILE (GFT_KAFKA_CA: the PEM CA of the brokers; TLS on) or --ssl (system CAs).
 *   The registry gets the same user and password (HTTP basic) unless GFT_REGISTRY_USER and
 *   GFT_REGISTRY_PASSWORD[_FILE] say otherwise. Passwords are never printed.
 * Delivery is at least once: a product may be announced again (redelivery, replay, revision); the
 * download is idempotent (same product id + revision + sha256 → same file, skipped when present).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import confluent from '@kafkajs/confluent-schema-registry';

const { SchemaRegistry } = confluent as unknown as typeof import('@kafkajs/confluent-schema-registry');

/** The announcement (org.gft.gic.Product, reader's view). Unknown newer fields are ignored. */
export interface ProductAnnouncement {
  productId: string;
  burstId: string;
  obsId: string;
  epochMinutes: number | null;
  revision: number;
  prdmVersion: string;
  card: string;
  createdAt: number;
  candidates: number;
  storage: { uri: string; sha256: string; size: number; kind: string };
}

export interface ConsumerOptions {
  brokers: string[];
  registryUrl: string;
  groupId: string;
  topic: string;
  storageDir: string;
  outDir: string;
  fromBeginning?: boolean;
  saslUser?: string;
  saslPassword?: string;
  /** scram-sha-512 (default) or scram-sha-256 */
  saslMechanism?: 'scram-sha-512' | 'scram-sha-256';
  ssl?: boolean;
  /** PEM CA certificate(s) of the brokers (TLS on) */
  ca?: string;
  /** registry HTTP basic auth (default: the SASL user and password) */
  registryAuth?: { username: string; password: string };
  onProduct?: (p: ProductAnnouncement, file: string) => void;
}

/** Path of an object in a mounted product storage (filesystem layout: objects/<aa>/<sha256>). */
export function storagePath(storageDir: string, uri: string): string {
  const m = /^gft-store:\/\/sha256\/([0-9a-f]{64})$/.exec(uri);
  if (!m) throw new Error(`not a product storage URI: ${uri}`);
  return join(storageDir, 'objects', m[1].slice(0, 2), m[1]);
}

/** Copies the product file into outDir as <productId>_r<revision>.fits, verified; returns its path. */
export function download(p: ProductAnnouncement, storageDir: string, outDir: string): string {
  const file = join(outDir, `${p.productId}_r${p.revision}.fits`);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  if (existsSync(file) && sha(readFileSync(file)) === p.storage.sha256) return file; // already here
  const bytes = readFileSync(storagePath(storageDir, p.storage.uri));
  if (bytes.length !== p.storage.size || sha(bytes) !== p.storage.sha256) throw new Error(`${p.productId}: stored bytes do not match the announced sha256/size`);
  mkdirSync(outDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return file;
}

/** Starts consuming; resolves once subscribed. `stop()` disconnects. */
export async function consumeProducts(o: ConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const kafka = new Kafka({
    clientId: `${o.groupId}-example`,
    brokers: o.brokers,
    ssl: o.ca ? { ca: [o.ca] } : o.ssl || undefined,
    sasl: o.saslUser ? ({ mechanism: o.saslMechanism ?? 'scram-sha-512', username: o.saslUser, password: o.saslPassword ?? '' } as SASLOptions) : undefined,
    logLevel: logLevel.ERROR,
  });
  const auth = o.registryAuth ?? (o.saslUser ? { username: o.saslUser, password: o.saslPassword ?? '' } : undefined);
  const registry = new SchemaRegistry({ host: o.registryUrl, ...(auth ? { auth } : {}) });
  const consumer = kafka.consumer({ groupId: o.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning ?? false });
  await consumer.run({
    // kafkajs commits the offset after eachMessage returns: a crash re-delivers, downloads are idempotent
    eachMessage: async ({ message }) => {
      const p = (await registry.decode(message.value!)) as ProductAnnouncement;
      const file = download(p, o.storageDir, o.outDir);
      o.onProduct?.(p, file);
    },
  });
  return { stop: () => consumer.disconnect() };
}

/** A secret from VAR or from the file named by VAR_FILE (Docker/Kubernetes secrets); never printed. */
function secret(name: string): string | undefined {
  const file = process.env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return process.env[name];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: process.env.GFT_KAFKA_BROKERS ?? '127.0.0.1:19092' },
      registry: { type: 'string', default: process.env.GFT_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7' },
      group: { type: 'string' },
      topic: { type: 'string', default: 'gic.products' },
      storage: { type: 'string', default: process.env.GFT_STORAGE_DIR ?? resolve('.gft/storage') },
      out: { type: 'string', default: './products' },
      'from-beginning': { type: 'boolean', default: false },
      'sasl-user': { type: 'string', default: process.env.GFT_KAFKA_SASL_USER ?? '' },
      'sasl-mechanism': { type: 'string', default: process.env.GFT_KAFKA_SASL_MECHANISM ?? 'scram-sha-512' },
      ssl: { type: 'boolean', default: process.env.GFT_KAFKA_SSL === 'true' },
      ca: { type: 'string', default: process.env.GFT_KAFKA_CA ?? '' },
      'exit-after': { type: 'string', default: '0' },
    },
  });
  if (!values.group) {
    console.error('--group is required: use your own consumer group id (e.g. <team>-products)');
    return 2;
  }
  const mechanism = values['sasl-mechanism'];
  if (mechanism !== 'scram-sha-512' && mechanism !== 'scram-sha-256') {
    console.error(`--sasl-mechanism: scram-sha-512 or scram-sha-256, not ${mechanism}`);
    return 2;
  }
  const saslPassword = secret('GFT_KAFKA_SASL_PASSWORD');
  const registryUser = process.env.GFT_REGISTRY_USER;
  const exitAfter = Number(values['exit-after']);
  let n = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const c = await consumeProducts({
    brokers: values.brokers.split(',').map((s) => s.trim()),
    registryUrl: values.registry,
    groupId: values.group,
    topic: values.topic,
    storageDir: values.storage,
    outDir: values.out,
    fromBeginning: values['from-beginning'],
    saslUser: values['sasl-user'] || undefined,
    saslPassword,
    saslMechanism: mechanism,
    ssl: values.ssl,
    ca: values.ca ? readFileSync(values.ca, 'utf8') : undefined,
    registryAuth: registryUser ? { username: registryUser, password: secret('GFT_REGISTRY_PASSWORD') ?? '' } : undefined,
    onProduct: (p, file) => {
      console.log(JSON.stringify({ productId: p.productId, revision: p.revision, epochMinutes: p.epochMinutes, candidates: p.candidates, file }));
      if (exitAfter && ++n >= exitAfter) done();
    },
  });
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  await finished;
  await c.stop();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => process.exit(code), (e) => {
    console.error(e);
    process.exit(1);
  });
}
