/** Provisioning of the declared topology (brokers run with auto-create off). */
import type { Admin } from 'kafkajs';
import { allTopics, nsName, type TopicSpec } from './topology.ts';

export function topicConfig(t: TopicSpec): { name: string; value: string }[] {
  const c: { name: string; value: string }[] = [{ name: 'cleanup.policy', value: t.cleanup }];
  if (t.cleanup === 'delete') c.push({ name: 'retention.ms', value: String(t.retentionMs) });
  c.push({ name: 'max.message.bytes', value: String(8 << 20) });
  return c;
}

/** Creates every declared topic (and DLQ) under a namespace; existing ones are left as they are. Returns the names created. */
export async function createTopics(admin: Admin, namespace = '', opts: { replicationFactor?: number } = {}): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted = allTopics().filter((t) => !existing.has(nsName(namespace, t.name)));
  if (!wanted.length) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: wanted.map((t) => ({
      topic: nsName(namespace, t.name),
      numPartitions: t.partitions,
      replicationFactor: opts.replicationFactor ?? 1,
      configEntries: topicConfig(t),
    })),
  });
  return wanted.map((t) => nsName(namespace, t.name));
}
