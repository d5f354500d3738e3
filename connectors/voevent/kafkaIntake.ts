/**
 * VOEvent XML carried on Kafka topics — the way NASA GCN distributes SVOM notices
 * (`gcn.notices.svom.voevent.{eclairs,grm,mxt}` on kafka.gcn.nasa.gov, SASL OAUTHBEARER with client
 * credentials) — into our `voevent.raw`: the exact bytes of every message value, keyed by IVORN, with
 * the receipt time. Nothing is parsed or judged here (the alerts stage dead-letters what is not a
 * VOEvent, with the reason; the raw bytes are always kept).
 *
 * At-least-once: a message's offset is committed (kafkajs auto-commit of resolved offsets) only
 * after our produce of it is acknowledged by all replicas; a duplicate after a crash carries the same
 * IVORN and the alerts stage ignores it.
 *
 * The external cluster has its own typed, validated configuration (GFT_VOEVENT_KAFKA_*), separate
 * from ours: brokers, topics (names, or a /regular expression/), group id, SASL (plain, SCRAM, or
 * OAUTHBEARER with a client-credentials token URL) and TLS.
 *
 * Compression: GCN's own clients (gcn-kafka for Python and Node.js) produce zstd-compressed batches by
 * default, which kafkajs cannot read by itself; `zstdCodec` (decompression by the pure-JS fzstd) is
 * registered with kafkajs here. gzip is built in; Snappy and LZ4 batches are not supported (kafkajs
 * fails the fetch with "… compression not implemented").
 *
 * A value too large for voevent.raw (> MAX_KEPT_BYTES) cannot be kept: it is counted, logged with its
 * topic/partition/offset (it stays on the external cluster) and skipped, so that one such message
 * cannot stall the intake. Anything up to that size is kept, including payloads over the alerts
 * stage's 1 MiB parse limit (which it dead-letters with voevent.too_large).
 */
import kafkajs from 'kafkajs';
import type { Consumer, SASLOptions } from 'kafkajs';
import { decompress as zstdDecompress } from 'fzstd';
import { field, loadConfig } from '../../lib/config/define.ts';
import type { TopicProducer } from '../../lib/runtime/producer.ts';
import { rawRecord } from './intake.ts';

export const kafkaIntakeSchema = {
  brokers: field<string>({ env: 'GFT_VOEVENT_KAFKA_BROKERS', type: 'string', doc: 'External Kafka brokers, comma-separated host:port (GCN: kafka.gcn.nasa.gov:9092)', default: '' }),
  topics: field<string>({ env: 'GFT_VOEVENT_KAFKA_TOPICS', type: 'string', doc: 'Comma-separated topics, or one /regular expression/', default: 'gcn.notices.svom.voevent.eclairs,gcn.notices.svom.voevent.grm,gcn.notices.svom.voevent.mxt' }),
  groupId: field<string>({ env: 'GFT_VOEVENT_KAFKA_GROUP', type: 'string', doc: 'Consumer group on the external cluster', default: 'gft-voevent-intake' }),
  fromBeginning: field<boolean>({ env: 'GFT_VOEVENT_KAFKA_FROM_BEGINNING', type: 'boolean', doc: 'A new group starts at the earliest retained message (else at the end)', default: false }),
  sasl: field<string>({ env: 'GFT_VOEVENT_KAFKA_SASL', type: 'string', doc: 'none | plain | scram-sha-256 | scram-sha-512 | oauthbearer', default: 'none' }),
  username: field<string>({ env: 'GFT_VOEVENT_KAFKA_USER', type: 'string', doc: 'SASL user (plain/scram)', default: '' }),
  password: field<string>({ env: 'GFT_VOEVENT_KAFKA_PASSWORD', type: 'string', doc: 'SASL password (plain/scram)', default: '' }),
  clientId: field<string>({ env: 'GFT_VOEVENT_KAFKA_CLIENT_ID', type: 'string', doc: 'OAuth client id (oauthbearer)', default: '' }),
  clientSecret: field<string>({ env: 'GFT_VOEVENT_KAFKA_CLIENT_SECRET', type: 'string', doc: 'OAuth client secret (oauthbearer)', default: '' }),
  tokenUrl: field<string>({ env: 'GFT_VOEVENT_KAFKA_TOKEN_URL', type: 'string', doc: 'OAuth token endpoint (GCN: https://auth.gcn.nasa.gov/oauth2/token)', default: '' }),
  ssl: field<boolean>({ env: 'GFT_VOEVENT_KAFKA_SSL', type: 'boolean', doc: 'TLS to the external brokers', default: false }),
};

export type KafkaIntakeConfig = ReturnType<typeof loadConfig<typeof kafkaIntakeSchema>>;

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

/** voevent.raw takes messages up to 8 MiB (lib/runtime/topics.ts); the Avro record adds a few fields. */
export const MAX_KEPT_BYTES = (8 << 20) - (64 << 10);

/** A kafkajs codec that reads zstd batches (one or more frames); we never produce zstd. */
export function zstdCodec() {
  return {
    async compress(): Promise<Buffer> {
      throw new Error('zstd compression is not supported here (the VOEvent intake only reads zstd)');
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      const out = zstdDecompress(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length));
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    },
  };
}

/** Registers zstdCodec unless a zstd codec is already registered (kafkajs' registry is process-wide). */
export function registerZstd(): void {
  const codecs = CompressionCodecs as Record<number, () => unknown>;
  try {
    codecs[CompressionTypes.ZSTD]();
    return; // someone registered a working codec already
  } catch {
    codecs[CompressionTypes.ZSTD] = zstdCodec;
  }
}

const MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];

/** Checks the combinations the field types cannot (throws with what to set). */
export function validateKafkaIntake(c: KafkaIntakeConfig): void {
  if (!c.brokers.trim()) throw new Error('GFT_VOEVENT_KAFKA_BROKERS (--brokers) is required: host:port of the cluster that carries the VOEvents');
  if (!topicSelection(c.topics).length) throw new Error('GFT_VOEVENT_KAFKA_TOPICS (--topic) is empty');
  if (!MECHANISMS.includes(c.sasl)) throw new Error(`GFT_VOEVENT_KAFKA_SASL: '${c.sasl}' is not one of ${MECHANISMS.join(', ')}`);
  if ((c.sasl === 'plain' || c.sasl.startsWith('scram')) && !c.username) throw new Error(`SASL ${c.sasl} needs GFT_VOEVENT_KAFKA_USER and GFT_VOEVENT_KAFKA_PASSWORD`);
  if (c.sasl === 'oauthbearer' && !(c.clientId && c.clientSecret && c.tokenUrl)) throw new Error('SASL oauthbearer needs GFT_VOEVENT_KAFKA_CLIENT_ID, _CLIENT_SECRET and _TOKEN_URL');
}

/** `a,b,c` → names; `/re/` → one RegExp. */
export function topicSelection(text: string): Array<string | RegExp> {
  const t = text.trim();
  if (t.length > 2 && t.startsWith('/') && t.endsWith('/')) return [new RegExp(t.slice(1, -1))];
  return t.split(',').map((x) => x.trim()).filter(Boolean);
}

/**
 * OAuth 2 client-credentials tokens for SASL OAUTHBEARER, cached until a minute before expiry.
 * `fetchImpl` is injectable for tests.
 */
export function oauthTokenProvider(c: Pick<KafkaIntakeConfig, 'clientId' | 'clientSecret' | 'tokenUrl'>, fetchImpl: typeof fetch = fetch): () => Promise<{ value: string }> {
  let cached: { value: string; until: number } | null = null;
  return async () => {
    if (cached && Date.now() < cached.until) return { value: cached.value };
    const res = await fetchImpl(c.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    if (!res.ok) throw new Error(`OAuth token request to ${c.tokenUrl} failed: HTTP ${res.status}`);
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new Error(`OAuth token response from ${c.tokenUrl} has no access_token`);
    cached = { value: body.access_token, until: Date.now() + Math.max(0, (body.expires_in ?? 300) - 60) * 1000 };
    return { value: cached.value };
  };
}

function sasl(c: KafkaIntakeConfig): SASLOptions | undefined {
  switch (c.sasl) {
    case 'plain':
      return { mechanism: 'plain', username: c.username, password: c.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: c.username, password: c.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: c.username, password: c.password };
    case 'oauthbearer':
      return { mechanism: 'oauthbearer', oauthBearerProvider: oauthTokenProvider(c) };
    default:
      return undefined;
  }
}

export interface KafkaIntakeCounters {
  received: number;
  kept: number;
  /** Empty values (tombstones, keep-alives): nothing to keep. */
  empty: number;
  /** Values over MAX_KEPT_BYTES: logged and skipped. */
  tooLarge: number;
}

export class KafkaVoeventIntake {
  private consumer: Consumer | null = null;
  readonly counters: KafkaIntakeCounters = { received: 0, kept: 0, empty: 0, tooLarge: 0 };

  constructor(
    readonly cfg: KafkaIntakeConfig,
    private readonly producer: Pick<TopicProducer, 'send'>,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void = () => {},
  ) {
    validateKafkaIntake(cfg);
  }

  async start(): Promise<void> {
    registerZstd();
    const c = this.cfg;
    const kafka = new Kafka({
      clientId: 'gft-voevent-kafka-intake',
      brokers: c.brokers.split(',').map((b) => b.trim()).filter(Boolean),
      ssl: c.ssl || undefined,
      sasl: sasl(c),
      logLevel: logLevel.ERROR,
      retry: { initialRetryTime: 300, retries: 10 },
    });
    this.consumer = kafka.consumer({ groupId: c.groupId, maxWaitTimeInMs: 500 });
    await this.consumer.connect();
    for (const t of topicSelection(c.topics)) await this.consumer.subscribe({ topic: t, fromBeginning: c.fromBeginning });
    await this.consumer.run({
      autoCommit: true,
      eachMessage: async ({ topic, partition, message }) => {
        this.counters.received++;
        if (!message.value || message.value.length === 0) {
          this.counters.empty++; // a tombstone or keep-alive: nothing to keep
          this.log('empty message skipped', { topic, partition, offset: message.offset });
          return;
        }
        if (message.value.length > MAX_KEPT_BYTES) {
          this.counters.tooLarge++;
          this.log('message too large for voevent.raw: skipped (it stays on the external topic)', { topic, partition, offset: message.offset, bytes: message.value.length, limit: MAX_KEPT_BYTES });
          return;
        }
        // our produce must be acknowledged before this offset is resolved (and later committed)
        await this.producer.send('voevent.raw', [rawRecord(Buffer.from(message.value), 'kafka', `${topic}/${partition}/${message.offset}`, Date.now())]);
        this.counters.kept++;
        this.log('voevent received', { topic, partition, offset: message.offset, bytes: message.value.length });
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = null;
  }
}
