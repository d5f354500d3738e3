/**
 * Kafka ACLs from the topology: what each principal of a secured cluster may do, as data, and the
 * calls that apply it (kafkajs admin, as a super user). Brokers of the secured stack deny whatever no
 * ACL allows (`allow.everyone.if.no.acl.found=false`, deploy/services/kafka.ts).
 *
 * A stage's principal (User:<stage>) gets exactly what the runner does for it (lib/runtime/runner.ts,
 * tables.ts, broker/kafkajs.ts), for one run namespace `ns` (names `<ns>.<name>`; none in production):
 * - READ its input topics (the topology's consumers of a topic) and its own `<stage>.changelog` (the
 *   replica every instance follows); the global tables are inputs in the topology too;
 * - WRITE its output topics (the topology's producer), `<stage>.dlq`, `<stage>.changelog`, ops.metrics
 *   and ops.logs. Idempotent producers need no cluster ACL since Kafka 3.0 (KIP-679: WRITE on any topic
 *   is enough for InitProducerId);
 * - its consumer group `<ns>.<stage>` (READ, which includes committing offsets), and the groups of its
 *   followers, PREFIXED `<ns>.<stage>-` (broker/kafkajs.ts names them
 *   `<ns>.<stage>-<instance>-tables-follower-<hex>` / `…-changelog-follower-<hex>`);
 * - a transactional stage (alerts): WRITE on the transactional ids PREFIXED `<ns>.<stage>-tx-` (the
 *   runner's `<group>-tx-<instance>`).
 * No CREATE: the DLQ and changelog topics are provisioned with the others (`gft topics create`,
 * `createTopics`, which applies these ACLs too), so a stage cannot create topics. No DESCRIBE on the
 * cluster is needed: kafkajs' describeCluster is a Metadata request.
 *
 * An outside consumer (User:<name>, `gft users add-consumer`) may READ the public topics
 * (gic.products, fsc.receipts) of the given namespaces and use the groups PREFIXED `<name>.`; nothing
 * else: no write, no other topic, no stage group. The registry's principal owns its KafkaSQL topics
 * and groups `gft-registry` (deploy/services/registry.ts).
 */
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { DLQ_STAGES, STATEFUL_STAGES, TOPICS, dlqTopic, nsName, type StageName } from './topology.ts';

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

export type ResourceType = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER';
export type Operation = 'READ' | 'WRITE' | 'CREATE' | 'DESCRIBE' | 'DESCRIBE_CONFIGS' | 'ALTER' | 'DELETE' | 'IDEMPOTENT_WRITE' | 'ALL';

export interface AclRule {
  principal: string;
  resourceType: ResourceType;
  name: string;
  pattern: 'LITERAL' | 'PREFIXED';
  operation: Operation;
}

/** Stages that run with a principal of their own on a secured cluster (every stage but `external`). */
export const STAGE_PRINCIPALS: StageName[] = ['voevent-intake', 'alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc', 'ops-sim', 'clickhouse-sink'];
/** Stages whose outputs, changelog and offsets commit in one Kafka transaction (StageDefinition.transactional). */
export const TRANSACTIONAL_STAGES: StageName[] = ['alerts'];
/** Topics every stage writes (its metrics and its logs). */
const EVERY_STAGE_WRITES = ['ops.metrics', 'ops.logs'];
/** Principals that are not stages nor outside consumers. */
export const RESERVED_PRINCIPALS = ['admin', 'registry', 'gft-operator'];

/** What a stage reads and writes (logical topic names), from the topology. */
export function stageTopics(stage: StageName): { reads: string[]; writes: string[] } {
  const changelog = STATEFUL_STAGES[stage] ? [`${stage}.changelog`] : [];
  const reads = TOPICS.filter((t) => t.consumers.includes(stage)).map((t) => t.name);
  const produces = TOPICS.filter((t) => t.producer === stage && !EVERY_STAGE_WRITES.includes(t.name)).map((t) => t.name);
  const dlq = DLQ_STAGES.includes(stage) ? [dlqTopic(stage).name] : [];
  return { reads: [...reads, ...changelog], writes: [...produces, ...dlq, ...changelog, ...EVERY_STAGE_WRITES] };
}

const rule = (principal: string, resourceType: ResourceType, name: string, operation: Operation, pattern: 'LITERAL' | 'PREFIXED' = 'LITERAL'): AclRule => ({ principal, resourceType, name, pattern, operation });

/** The ACLs of one stage's principal in namespace `ns`. */
export function stageAcls(stage: StageName, ns = ''): AclRule[] {
  const { reads, writes } = stageTopics(stage);
  const out = [
    ...reads.map((t) => rule(stage, 'TOPIC', nsName(ns, t), 'READ')),
    ...writes.map((t) => rule(stage, 'TOPIC', nsName(ns, t), 'WRITE')),
    rule(stage, 'GROUP', nsName(ns, stage), 'READ'),
    rule(stage, 'GROUP', `${nsName(ns, stage)}-`, 'READ', 'PREFIXED'),
  ];
  if (TRANSACTIONAL_STAGES.includes(stage)) out.push(rule(stage, 'TRANSACTIONAL_ID', `${nsName(ns, stage)}-tx-`, 'WRITE', 'PREFIXED'));
  return out;
}

/** Every stage's ACLs in namespace `ns` (what provisioning a namespace grants). */
export function namespaceAcls(ns = ''): AclRule[] {
  return STAGE_PRINCIPALS.flatMap((s) => stageAcls(s, ns));
}

/** Topics outside consumers may read. */
export const PUBLIC_TOPICS = TOPICS.filter((t) => t.public).map((t) => t.name);

/** An outside consumer: read the public topics of each namespace, groups `<name>.*`. */
export function consumerAcls(name: string, namespaces: string[] = ['']): AclRule[] {
  return [...namespaces.flatMap((ns) => PUBLIC_TOPICS.map((t) => rule(name, 'TOPIC', nsName(ns, t), 'READ'))), rule(name, 'GROUP', `${name}.`, 'READ', 'PREFIXED')];
}

/**
 * The registry (Apicurio KafkaSQL): its journal and snapshot topics (it creates them at first start
 * and checks their configuration), its groups (`apicurio.kafkasql.consumer.group-prefix` gft-registry…).
 */
export function registryAcls(topics: string[], groupPrefix: string, principal = 'registry'): AclRule[] {
  return [
    ...topics.flatMap((t) => (['READ', 'WRITE', 'CREATE', 'DESCRIBE_CONFIGS'] as Operation[]).map((op) => rule(principal, 'TOPIC', t, op))),
    rule(principal, 'GROUP', groupPrefix, 'READ', 'PREFIXED'),
  ];
}

/**
 * Names an outside consumer may not take: a stage's or a reserved principal, or one whose group
 * prefix `<name>.` could reach a stage's groups (`<ns>.<stage>` when ns = name) or whose name starts a
 * stage follower group (`<ns>.<stage>-…`, or `<stage>-…` with no namespace).
 */
export function checkConsumerName(name: string): string | null {
  if (!/^[a-z][a-z0-9_-]{1,62}$/.test(name)) return `'${name}': use 2-63 characters a-z 0-9 _ -, starting with a letter`;
  if ((STAGE_PRINCIPALS as string[]).includes(name) || name === 'external') return `'${name}' is a stage of the chain`;
  if (RESERVED_PRINCIPALS.includes(name)) return `'${name}' is reserved`;
  if (STAGE_PRINCIPALS.some((s) => s.startsWith(`${name}-`) || name.startsWith(`${s}-`))) return `'${name}' overlaps the group names of a stage`;
  if (/^(dc3|replay|chaos)(-|$)/.test(name)) return `'${name}' looks like a run namespace (dc3-…, replay-…): pick a team name`;
  return null;
}

// --- applying them (kafkajs admin, as a super user) ---

const resourceTypes: Record<ResourceType, number> = { TOPIC: AclResourceTypes.TOPIC, GROUP: AclResourceTypes.GROUP, TRANSACTIONAL_ID: AclResourceTypes.TRANSACTIONAL_ID, CLUSTER: AclResourceTypes.CLUSTER };
const byNumber = <T extends string>(o: Record<string, number>, n: number) => Object.entries(o).find(([, v]) => v === n)?.[0] as T;

function toKafkajs(r: AclRule) {
  return {
    resourceType: resourceTypes[r.resourceType],
    resourceName: r.resourceType === 'CLUSTER' ? 'kafka-cluster' : r.name,
    resourcePatternType: r.pattern === 'PREFIXED' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    principal: `User:${r.principal}`,
    host: '*',
    operation: AclOperationTypes[r.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

const ruleKey = (r: AclRule) => `${r.principal}|${r.resourceType}|${r.pattern}|${r.name}|${r.operation}`;

/**
 * Creates the rules (Kafka keeps one copy of an identical binding: idempotent) and waits until the
 * broker answering DescribeAcls has them: CreateAcls returns once the controller committed them, but
 * a broker applies them when it replays the metadata log, a few ms later — a client of the principal
 * connecting in between is denied.
 */
export async function applyAcls(admin: Admin, rules: AclRule[], timeoutMs = 15_000): Promise<void> {
  for (let i = 0; i < rules.length; i += 500) await admin.createAcls({ acl: rules.slice(i, i + 500).map(toKafkajs) as never });
  const want = new Set(rules.map(ruleKey));
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const have = new Set((await describeAcls(admin)).map(ruleKey));
    const missing = [...want].filter((k) => !have.has(k));
    if (!missing.length) return;
    if (Date.now() > deadline) throw new Error(`ACLs not visible within ${timeoutMs} ms: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** The ALLOW rules of one principal (or of all with `principal` undefined). */
export async function describeAcls(admin: Admin, principal?: string): Promise<AclRule[]> {
  const res = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    ...(principal ? { principal: `User:${principal}` } : {}),
    host: '*',
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  } as never);
  const out: AclRule[] = [];
  for (const r of res.resources) {
    for (const a of r.acls) {
      out.push({
        principal: a.principal.replace(/^User:/, ''),
        resourceType: byNumber<ResourceType>(resourceTypes, r.resourceType),
        name: r.resourceName,
        pattern: r.resourcePatternType === ResourcePatternTypes.PREFIXED ? 'PREFIXED' : 'LITERAL',
        operation: byNumber<Operation>(AclOperationTypes as unknown as Record<string, number>, a.operation),
      });
    }
  }
  return out;
}

/** Deletes every ACL of a principal; returns how many there were. */
export async function deletePrincipalAcls(admin: Admin, principal: string): Promise<number> {
  const res = await admin.deleteAcls({
    filters: [{ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: `User:${principal}`, host: '*', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }],
  } as never);
  return (res.filterResponses as Array<{ matchingAcls: unknown[] }>).reduce((n, f) => n + f.matchingAcls.length, 0);
}

/** One line per rule, for `gft users list`. */
export function formatRule(r: AclRule): string {
  return `${r.operation.padEnd(16)} ${r.resourceType.toLowerCase().replace('_', '-').padEnd(16)} ${r.name}${r.pattern === 'PREFIXED' ? '*' : ''}`;
}
