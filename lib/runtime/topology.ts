/**
 * The topology of the chain, as data: every topic with its schema, key, partitions, retention or
 * compaction, the stage that produces it and the stages that consume it. `gft topics create`
 * provisions from this (brokers run with auto-create off), `gft topics doc` renders
 * docs/topics.md from it, and a test checks the chain is connected and acyclic and every topic
 * has a schema. Names are API: group id = stage name, `<stage>.dlq`.
 */
export const STAGES = [
  'voevent-intake', // connectors/voevent: VTP, Kafka, files, stdin → raw VOEvents
  'alerts', // parse + burst management + reference file + GP1 trigger
  'provider', // images provider: raw frames into storage, on a schedule
  'gp1-calibration', // masters + per-frame calibration
  'gp1-detection', // detection, astrometry, photometry, candidates at epochs, base files
  'gic', // FITS products (data model 1.005)
  'fsc', // FSC Colibri-interface: validation + SDB insert + receipts
  'ops-sim', // TCS and weather simulation, host monitoring
  'clickhouse-sink', // telemetry, logs, metrics → ClickHouse
  'external', // outside consumers (example consumer in examples/)
] as const;
export type StageName = (typeof STAGES)[number];

const DAY = 24 * 3600 * 1000;

export interface TopicSpec {
  name: string;
  schema: string;
  key: string;
  /** Partitions when not `scaled` (a total order, or a topic nobody scales out on). */
  partitions: number;
  /**
   * A chain topic keyed by burst id (or product id): its partition count is the chain's
   * (`GFT_TOPIC_PARTITIONS`, default 6), the most instances of its consumer stage that share the work.
   */
  scaled?: boolean;
  /** 'delete' with retentionMs, or 'compact' (latest value per key kept forever) */
  cleanup: 'delete' | 'compact';
  retentionMs: number;
  producer: StageName;
  consumers: StageName[];
  doc: string;
  /** Public contract for outside consumers: subjects under FULL_TRANSITIVE compatibility (old readers read new data and new readers old data), documented */
  public?: boolean;
}

export const TOPICS: TopicSpec[] = [
  { name: 'voevent.raw', schema: 'org.gft.intake.RawVoevent', key: 'IVORN (sha256 of the bytes when unreadable)', partitions: 1, cleanup: 'delete', retentionMs: 365 * DAY, producer: 'voevent-intake', consumers: ['alerts'], doc: 'Every received VOEvent, byte for byte, with receipt time. The replay source of the whole chain. One partition: a total order of alerts for the alert manager (its extra instances are standbys).' },
  { name: 'alerts.managed', scaled: true, schema: 'org.gft.alerts.ManagedAlert', key: 'burst id', partitions: 1, cleanup: 'compact', retentionMs: -1, producer: 'alerts', consumers: ['external'], doc: 'Each parsed alert with the manager decision and the burst state after it.' },
  { name: 'alerts.reference', scaled: true, schema: 'org.gft.alerts.ReferenceFile', key: 'burst id', partitions: 1, cleanup: 'compact', retentionMs: -1, producer: 'alerts', consumers: ['gp1-detection', 'gic'], doc: 'Versioned reference file per burst (latest version per key).' },
  { name: 'gp1.trigger', scaled: true, schema: 'org.gft.alerts.Gp1Trigger', key: 'burst id', partitions: 1, cleanup: 'delete', retentionMs: 30 * DAY, producer: 'alerts', consumers: ['provider', 'gp1-calibration'], doc: 'Start, update or cancel GP1 work on a burst.' },
  { name: 'images.raw', scaled: true, schema: 'org.gft.provider.RawFrame', key: 'burst id (camera for calibration frames)', partitions: 1, cleanup: 'delete', retentionMs: 30 * DAY, producer: 'provider', consumers: ['gp1-calibration'], doc: 'Raw frames available in local storage, in DATE-OBS order.' },
  { name: 'gp1.masters', scaled: true, schema: 'org.gft.gp1.Master', key: 'camera/kind/filter', partitions: 1, cleanup: 'compact', retentionMs: -1, producer: 'gp1-calibration', consumers: [], doc: 'Master bias, dark rate and flats with validation verdict and provenance (GIC finds masters through storage, not this topic).' },
  { name: 'gp1.calibrated', scaled: true, schema: 'org.gft.gp1.CalibratedFrame', key: 'burst id', partitions: 1, cleanup: 'delete', retentionMs: 30 * DAY, producer: 'gp1-calibration', consumers: ['gp1-detection'], doc: 'Calibrated frames (counts/s, weight, mask) in local storage.' },
  { name: 'gp1.candidates', scaled: true, schema: 'org.gft.gp1.CandidateList', key: 'burst id', partitions: 1, cleanup: 'delete', retentionMs: 365 * DAY, producer: 'gp1-detection', consumers: ['gic'], doc: 'Candidate lists at T0+5, 10, 30, 60 min (event time); revisions supersede.' },
  { name: 'gp1.basefiles', scaled: true, schema: 'org.gft.gp1.Gp1BaseFile', key: 'burst id', partitions: 1, cleanup: 'delete', retentionMs: 365 * DAY, producer: 'gp1-detection', consumers: [], doc: 'GP1 base files in local storage (announced for archives and replays; no stage reads it).' },
  { name: 'gic.products', scaled: true, schema: 'org.gft.gic.Product', key: 'product id', partitions: 3, cleanup: 'delete', retentionMs: 365 * DAY, producer: 'gic', consumers: ['fsc', 'external'], doc: 'FITS products (data model 1.005). Public contract for outside consumers.', public: true },
  { name: 'fsc.receipts', scaled: true, schema: 'org.gft.fsc.FscReceipt', key: 'product id', partitions: 1, cleanup: 'delete', retentionMs: 365 * DAY, producer: 'fsc', consumers: ['external'], doc: 'FSC verdict per product: accepted or rejected with reasons.', public: true },
  { name: 'ops.telemetry', schema: 'org.gft.ops.Telemetry', key: 'source', partitions: 3, cleanup: 'delete', retentionMs: 7 * DAY, producer: 'ops-sim', consumers: ['clickhouse-sink'], doc: 'TCS, weather and host telemetry samples.' },
  { name: 'ops.logs', schema: 'org.gft.ops.LogRecord', key: 'stage', partitions: 3, cleanup: 'delete', retentionMs: 7 * DAY, producer: 'alerts', consumers: ['clickhouse-sink'], doc: 'Structured logs of every stage (each stage produces; listed under alerts for the graph).' },
  { name: 'ops.metrics', schema: 'org.gft.ops.StageMetrics', key: 'stage', partitions: 1, cleanup: 'delete', retentionMs: 7 * DAY, producer: 'alerts', consumers: ['clickhouse-sink'], doc: 'Per-stage runtime metrics (each stage produces).' },
];

/** Stages whose failures are dead-lettered; each gets `<stage>.dlq`. */
export const DLQ_STAGES: StageName[] = ['voevent-intake', 'alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc', 'clickhouse-sink'];

export function dlqTopic(stage: string): TopicSpec {
  return { name: `${stage}.dlq`, schema: 'org.gft.runtime.DeadLetter', key: 'original key', partitions: 1, cleanup: 'delete', retentionMs: 90 * DAY, producer: stage as StageName, consumers: [], doc: `Messages ${stage} could not process, with reason and original bytes.` };
}

/**
 * Stages with a state store, and the input stream it is partitioned like: the entry of input
 * partition p lives in changelog partition p (lib/runtime/state.ts, tables.ts).
 */
export const STATEFUL_STAGES: Record<string, string> = {
  alerts: 'voevent.raw',
  provider: 'gp1.trigger',
  'gp1-calibration': 'images.raw',
  'gp1-detection': 'gp1.calibrated',
};

export function changelogTopic(stage: string): TopicSpec {
  const input = STATEFUL_STAGES[stage];
  const spec = input ? TOPICS.find((t) => t.name === input) : undefined;
  return {
    name: `${stage}.changelog`,
    schema: 'org.gft.runtime.StateEntry',
    key: 'state key',
    partitions: spec?.partitions ?? 1,
    scaled: spec?.scaled,
    cleanup: 'compact',
    retentionMs: -1,
    producer: stage as StageName,
    consumers: [stage as StageName],
    doc: `State store of ${stage}, partitioned like ${input ?? 'its input'}; restored when a partition is assigned.`,
  };
}

export function allTopics(): TopicSpec[] {
  return [...TOPICS, ...DLQ_STAGES.map(dlqTopic), ...Object.keys(STATEFUL_STAGES).map(changelogTopic)];
}

/** Run namespace: prefixes topics (and groups) so a replay or a test never mixes with another run. */
export function nsName(namespace: string, name: string): string {
  return namespace ? `${namespace}.${name}` : name;
}

export function topicSpec(name: string): TopicSpec {
  const t = allTopics().find((x) => x.name === name);
  if (!t) throw new Error(`unknown topic '${name}'`);
  return t;
}

export function renderTopologyDoc(): string {
  const lines = [
    '# Topic map',
    '',
    'Generated from `lib/runtime/topology.ts` by `npx gft topics doc` — do not edit by hand.',
    'Consumer group id = stage name (prefixed by the run namespace when one is set). Values are Confluent-framed Avro',
    '(magic byte 0, 4-byte schema id, Avro body); subject = `<topic>-value`, compatibility BACKWARD (FULL_TRANSITIVE for public topics).',
    '',
    'Partitions "chain" = `GFT_TOPIC_PARTITIONS` (default 6): the topics keyed by burst or product id, so that up to',
    'that many instances of a stage share the work. Replication factor `GFT_TOPIC_REPLICATION_FACTOR` (default: min(3,',
    'brokers of the cluster)) and `min.insync.replicas` `GFT_TOPIC_MIN_INSYNC_REPLICAS` (default: 2 when replicated 3+',
    'times, else 1) apply to every topic, wherever it is made (`gft topics create`, `gft dc3`, `gft replay`, DLQs).',
    '',
    '| topic | schema | key | partitions | cleanup | retention | producer | consumers | |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const t of allTopics()) {
    const ret = t.cleanup === 'compact' ? 'compacted' : `${Math.round(t.retentionMs / DAY)} d`;
    lines.push(`| \`${t.name}\` | \`${t.schema}\` | ${t.key} | ${t.scaled ? 'chain (6)' : t.partitions} | ${t.cleanup} | ${ret} | ${t.producer} | ${t.consumers.join(', ') || '—'} | ${t.public ? '**public** ' : ''}${t.doc} |`);
  }
  return lines.join('\n') + '\n';
}
