/**
 * Who leads what in the local Kafka: per broker the partitions it leads and holds, per topic the
 * leaders per broker, per partition leader / replicas / in-sync replicas. One metadata request
 * through kafkajs to any live broker; `gft stack status` prints it.
 */
import kafkajs from 'kafkajs';

export interface BrokerOverview {
  id: number;
  address: string;
  /** listed in the cluster metadata (registered and not fenced) */
  up: boolean;
  /** partitions it leads */
  leaders: number;
  /** partitions it holds a replica of */
  replicas: number;
  /** replicas it holds that are out of the in-sync set */
  lagging: number;
}

export interface PartitionOverview {
  partition: number;
  /** -1: no leader (offline) */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicOverview {
  topic: string;
  partitions: PartitionOverview[];
}

export interface KafkaOverview {
  brokers: BrokerOverview[];
  topics: TopicOverview[];
  partitions: number;
  /** partitions with fewer in-sync replicas than replicas */
  underReplicated: number;
  /** partitions without a leader */
  offline: number;
}

/**
 * `expected`: the brokers of the stack (id → address), so a broker that is down is listed too.
 * `filter`: only topics whose name contains one of these strings (internal topics are skipped unless named).
 * Null when no broker answers.
 */
export async function kafkaOverview(expected: { id: number; address: string }[], filter: string[] = [], operator?: { brokers: string[]; ssl: { ca: string[]; cert: string; key: string } }): Promise<KafkaOverview | null> {
  const { Kafka, logLevel } = kafkajs;
  // the secured stack: as its operator, on the INTERNAL (mTLS) listener; addresses shown are the clients'
  const admin = new Kafka({ clientId: 'gft-stack-status', brokers: operator?.brokers ?? expected.map((b) => b.address), ssl: operator?.ssl, logLevel: logLevel.NOTHING, connectionTimeout: 1500, requestTimeout: 5000, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const names = (await admin.listTopics()).filter((t) => (filter.length ? filter.some((f) => t.includes(f)) : !t.startsWith('__'))).sort();
    const { topics } = names.length ? await admin.fetchTopicMetadata({ topics: names }) : { topics: [] };
    const live = new Map(cluster.brokers.map((b) => [b.nodeId, operator ? (expected.find((x) => x.id === b.nodeId)?.address ?? `${b.host}:${b.port}`) : `${b.host}:${b.port}`]));
    const ids = [...new Set([...expected.map((b) => b.id), ...live.keys()])].sort((a, b) => a - b);
    const brokers: BrokerOverview[] = ids.map((id) => ({ id, address: live.get(id) ?? expected.find((b) => b.id === id)?.address ?? '?', up: live.has(id), leaders: 0, replicas: 0, lagging: 0 }));
    const byId = new Map(brokers.map((b) => [b.id, b]));
    const out: TopicOverview[] = [];
    let partitions = 0;
    let underReplicated = 0;
    let offline = 0;
    for (const t of topics.sort((a, b) => a.name.localeCompare(b.name))) {
      const ps = t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] })).sort((a, b) => a.partition - b.partition);
      for (const p of ps) {
        partitions++;
        if (p.leader < 0) offline++;
        if (p.isr.length < p.replicas.length) underReplicated++;
        const l = byId.get(p.leader);
        if (l) l.leaders++;
        for (const r of p.replicas) {
          const b = byId.get(r);
          if (!b) continue;
          b.replicas++;
          if (!p.isr.includes(r)) b.lagging++;
        }
      }
      out.push({ topic: t.name, partitions: ps });
    }
    return { brokers, topics: out, partitions, underReplicated, offline };
  } catch {
    return null;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** `detail`: 'brokers' (summary), 'topics' (leaders per broker for each topic) or 'partitions' (every partition). */
export function formatOverview(o: KafkaOverview, detail: 'brokers' | 'topics' | 'partitions' = 'brokers'): string {
  const lines = [
    table([
      ['broker', 'address', 'up', 'leads', 'replicas', 'lagging'],
      ...o.brokers.map((b) => [String(b.id), b.address, b.up ? 'yes' : 'no', String(b.leaders), String(b.replicas), String(b.lagging)]),
    ]),
    `${o.topics.length} topics, ${o.partitions} partitions, ${o.underReplicated} under-replicated, ${o.offline} without a leader`,
  ];
  if (detail === 'topics' && o.topics.length) {
    lines.push(
      '',
      table([
        ['topic', ...o.brokers.map((b) => `leads@${b.id}`), 'under-replicated'],
        ...o.topics.map((t) => [t.topic, ...o.brokers.map((b) => String(t.partitions.filter((p) => p.leader === b.id).length)), String(t.partitions.filter((p) => p.isr.length < p.replicas.length).length)]),
      ]),
    );
  }
  if (detail === 'partitions' && o.topics.length) {
    lines.push(
      '',
      table([
        ['topic', 'partition', 'leader', 'replicas', 'isr'],
        ...o.topics.flatMap((t) => t.partitions.map((p) => [t.topic, String(p.partition), p.leader < 0 ? 'none' : String(p.leader), p.replicas.join(','), p.isr.join(',')])),
      ]),
    );
  }
  return lines.join('\n');
}
