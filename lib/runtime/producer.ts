/**
 * A typed producer for sources outside the stage runner (intake connectors, simulators, DC3, tests):
 * Confluent-framed Avro through the registry, idempotent producer, acks=all, namespaced topics.
 */
import type { Producer } from 'kafkajs';
import { platformConfig, type PlatformConfig } from '../config/platform.ts';
import { createKafka } from './kafka.ts';
import { AvroSerdes } from './serdes.ts';
import { SendGuard } from './sendGuard.ts';
import { nsName, topicSpec } from './topology.ts';

export interface Record_ {
  key: string | null;
  value: unknown;
  headers?: Record<string, string>;
  timestamp?: number;
}

export class TopicProducer {
  private readonly producer: Producer;
  /** resends what kafkajs 2.2.4 drops when a leader moves mid-send (sendGuard.ts) */
  readonly guard = new SendGuard();
  readonly serdes: AvroSerdes;
  private readonly ids = new Map<string, number>();
  private connected = false;

  constructor(
    readonly namespace = '',
    readonly cfg: PlatformConfig = platformConfig(),
    clientId = 'gft-producer',
  ) {
    this.producer = createKafka(cfg, clientId).producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: this.guard.createPartitioner });
    this.serdes = new AvroSerdes(cfg.registryUrl);
  }

  async connect(): Promise<void> {
    if (!this.connected) await this.producer.connect();
    this.connected = true;
  }

  private async id(topic: string): Promise<number> {
    let id = this.ids.get(topic);
    if (id === undefined) {
      id = await this.serdes.register(`${nsName(this.namespace, topic)}-value`, topicSpec(topic).schema);
      this.ids.set(topic, id);
    }
    return id;
  }

  /** Sends records to a declared topic (logical name); resolves when acknowledged by all replicas. */
  async send(topic: string, records: Record_[]): Promise<void> {
    await this.connect();
    const id = await this.id(topic);
    const messages = records.map((r) => ({ key: r.key, value: this.serdes.encode(id, r.value), headers: r.headers, timestamp: r.timestamp !== undefined ? String(r.timestamp) : undefined }));
    await this.guard.sendBatch((b) => this.producer.sendBatch(b), { acks: -1, topicMessages: [{ topic: nsName(this.namespace, topic), messages }] });
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }
}
