/**
 * Provisioning of the declared topology (brokers run with auto-create off), with the topic layout
 * from configuration: partitions of the chain topics, replication factor and min.insync.replicas.
 * Every place that makes topics (`gft topics create`, `gft dc3`, `gft replay`, the runner's DLQ and
 * changelog topics) goes through `topicRequest`, so the layout is the same everywhere.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { field, loadConfig } from '../config/define.ts';
import { allTopics, nsName, type TopicSpec } from './topology.ts';
import { platformConfig } from '../config/platform.ts';
import { applyAcls, namespaceAcls } from './acls.ts';

export const topicLayoutSchema = {
  partitions: field<number>({ env: 'GFT_TOPIC_PARTITIONS', type: 'int', doc: 'Partitions of the chain topics (keyed by burst or product id): the most instances of a stage that share the work', default: 6, min: 1, max: 10_000 }),
  replicationFactor: field<number>({ env: 'GFT_TOPIC_REPLICATION_FACTOR', type: 'int', doc: 'Replicas of every topic (0: min(3, brokers of the cluster))', default: 0, min: 0, max: 16 }),
  minInsyncReplicas: field<number>({ env: 'GFT_TOPIC_MIN_INSYNC_REPLICAS', type: 'int', doc: 'min.insync.replicas of every topic (0: 2 when replicated 3 or more times, else 1)', default: 0, min: 0, max: 16 }),
};

export interface TopicLayout {
  /** Partitions of the `scaled` (chain) topics. */
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** The layout for a cluster of `brokers` brokers, from configuration (0 = derived). */
export function topicLayout(brokers: number, env: Record<string, string | undefined> = process.env): TopicLayout {
  const c = loadConfig(topicLayoutSchema, env);
  const replicationFactor = c.replicationFactor || Math.max(1, Math.min(3, brokers));
  const minInsyncReplicas = c.minInsyncReplicas || (replicationFactor >= 3 ? 2 : 1);
  if (minInsyncReplicas > replicationFactor) throw new Error(`GFT_TOPIC_MIN_INSYNC_REPLICAS (${minInsyncReplicas}) is above the replication factor (${replicationFactor}): no write could succeed`);
  return { partitions: c.partitions, replicationFactor, minInsyncReplicas };
}

const layouts = new WeakMap<Admin, Promise<TopicLayout>>();

/** The layout for the cluster `admin` reaches (its broker count asked once per admin client). */
export function clusterLayout(admin: Admin): Promise<TopicLayout> {
  let l = layouts.get(admin);
  if (!l) {
    l = admin.describeCluster().then((c) => topicLayout(c.brokers.length));
    l.catch(() => layouts.delete(admin));
    layouts.set(admin, l);
  }
  return l;
}

export function partitionsOf(t: TopicSpec, layout: Pick<TopicLayout, 'partitions'>): number {
  return t.scaled ? layout.partitions : t.partitions;
}

export function topicConfig(t: TopicSpec, layout?: Pick<TopicLayout, 'minInsyncReplicas'>): { name: string; value: string }[] {
  const c: { name: string; value: string }[] = [{ name: 'cleanup.policy', value: t.cleanup }];
  if (t.cleanup === 'delete') c.push({ name: 'retention.ms', value: String(t.retentionMs) });
  c.push({ name: 'max.message.bytes', value: String(8 << 20) });
  if (layout) c.push({ name: 'min.insync.replicas', value: String(layout.minInsyncReplicas) });
  return c;
}

/** The create request of a declared topic under a namespace. */
export function topicRequest(namespace: string, t: TopicSpec, layout: TopicLayout): ITopicConfig & { numPartitions: number; replicationFactor: number } {
  return { topic: nsName(namespace, t.name), numPartitions: partitionsOf(t, layout), replicationFactor: layout.replicationFactor, configEntries: topicConfig(t, layout) };
}

const RETRIABLE_METADATA = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

/**
 * Creates topics and waits until every partition has a leader that serves it. kafkajs' own
 * `waitForLeaders` only retries LEADER_NOT_AVAILABLE, but a KRaft broker answers
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after the controller created the topic (its metadata image
 * lags): that is retried here too. And a broker can name itself leader in its metadata before its
 * replica manager has opened the partition (seen on a loaded machine creating many topics: produce
 * answered NOT_LEADER for seconds), so readiness ends with a ListOffsets on every partition, which
 * the leader's replica manager answers. Topics that already exist (created concurrently) are accepted.
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
      if (!missing.length) {
        // served by the leaders' replica managers (kafkajs retries NOT_LEADER inside, with fresh metadata)
        await Promise.all(names.map((topic) => admin.fetchTopicOffsets(topic)));
        return;
      }
      reason = `no leader yet for ${missing.join(', ')}`;
    } catch (e) {
      const cause = (e as { cause?: unknown }).cause ?? e; // kafkajs wraps the last error when its retries run out
      const type = (cause as { type?: string }).type ?? '';
      if (!RETRIABLE_METADATA.has(type)) throw e;
      reason = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics not ready within ${timeoutMs} ms: ${reason}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * Creates every declared topic (DLQs and changelogs included) under a namespace with the configured
 * layout (`overrides` win); existing ones are left as they are. Returns the names created. On a
 * secured cluster (GFT_KAFKA_ACLS; on by default on the local secured stack) it also grants every
 * stage's principal its ACLs in that namespace (lib/runtime/acls.ts): provisioning a namespace is
 * topics + ACLs, so stages never need to create topics.
 */
export async function createTopics(admin: Admin, namespace = '', overrides: Partial<TopicLayout> = {}, topics: TopicSpec[] = allTopics()): Promise<string[]> {
  const layout = { ...(await clusterLayout(admin)), ...definedOnly(overrides) };
  const existing = new Set(await admin.listTopics());
  const wanted = topics.filter((t) => !existing.has(nsName(namespace, t.name)));
  await createAndAwaitTopics(admin, wanted.map((t) => topicRequest(namespace, t, layout)));
  if (platformConfig().provisionAcls) await applyAcls(admin, namespaceAcls(namespace));
  return wanted.map((t) => nsName(namespace, t.name));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== 0)) as Partial<T>;
}
