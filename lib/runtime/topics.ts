/** Provisioning of the declared topology (brokers run with auto-create off). */
import type { Admin, ITopicConfig } from 'kafkajs';
import { allTopics, nsName, type TopicSpec } from './topology.ts';

export function topicConfig(t: TopicSpec): { name: string; value: string }[] {
  const c: { name: string; value: string }[] = [{ name: 'cleanup.policy', value: t.cleanup }];
  if (t.cleanup === 'delete') c.push({ name: 'retention.ms', value: String(t.retentionMs) });
  c.push({ name: 'max.message.bytes', value: String(8 << 20) });
  return c;
}

const RETRIABLE_METADATA = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Creates topics and waits until every partition has a leader. kafkajs' own `waitForLeaders` only
 * retries LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment
 * after the controller created the topic (its metadata image lags): that is retried here too.
 * Topics that already exist (created concurrently) are accepted.
 */
export async function createAndAwaitTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  if (!topics.length) return;
  try {
    await admin.createTopics({ waitForLeaders: false, topics });
  } catch (e) {
    const errors = (e as { errors?: { type?: string }[] }).errors;
    if (!errors?.every((x) => x.type === 'TOPIC_ALREADY_EXISTS')) throw e;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    let reason: string;
    try {
      const { topics: md } = await admin.fetchTopicMetadata({ topics: names });
      const missing = names.filter((n) => {
        const t = md.find((m) => m.name === n);
        return !t || !t.partitions.length || t.partitions.some((p) => p.leader < 0);
      });
      if (!missing.length) return;
      reason = `no leader yet for ${missing.join(', ')}`;
    } catch (e) {
      const type = (e as { type?: string }).type ?? '';
      if (!RETRIABLE_METADATA.has(type)) throw e;
      reason = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics not ready within ${timeoutMs} ms: ${reason}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Creates every declared topic (and DLQ) under a namespace; existing ones are left as they are. Returns the names created. */
export async function createTopics(admin: Admin, namespace = '', opts: { replicationFactor?: number } = {}): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted = allTopics().filter((t) => !existing.has(nsName(namespace, t.name)));
  await createAndAwaitTopics(
    admin,
    wanted.map((t) => ({
      topic: nsName(namespace, t.name),
      numPartitions: t.partitions,
      replicationFactor: opts.replicationFactor ?? 1,
      configEntries: topicConfig(t),
    })),
  );
  return wanted.map((t) => nsName(namespace, t.name));
}
