/**
 * The ACLs derived from the topology are exactly what each stage's runner does with Kafka: READ on its
 * inputs, global tables and own changelog; WRITE on its outputs, DLQ, changelog, ops.metrics/logs;
 * its group and follower groups; a transactional id prefix for transactional stages — checked against
 * the real stage definitions (the wiring modules), so a wiring that starts reading a new topic fails
 * here until the topology says so.
 */
import { describe, expect, it } from 'vitest';
import { checkConsumerName, consumerAcls, namespaceAcls, stageAcls, stageTopics, STAGE_PRINCIPALS, TRANSACTIONAL_STAGES, PUBLIC_TOPICS } from './acls.ts';
import { STAGE_WIRING, loadStage } from './stageCli.ts';
import { DLQ_STAGES, type StageName } from './topology.ts';

const sorted = (a: Iterable<string>) => [...new Set(a)].sort();

describe('ACLs from the topology', () => {
  it('grant each stage exactly the topics its definition reads and writes', async () => {
    for (const name of Object.keys(STAGE_WIRING) as StageName[]) {
      const def = await loadStage(name);
      const { reads, writes } = stageTopics(name);
      const changelog = def.state ? [`${name}.changelog`] : [];
      expect(sorted(reads), `${name} reads`).toEqual(sorted([...def.inputs, ...(def.tables ?? []), ...changelog]));
      const dlq = DLQ_STAGES.includes(name) ? [`${name}.dlq`] : [];
      expect(sorted(writes), `${name} writes`).toEqual(sorted([...def.outputs, ...dlq, ...changelog, 'ops.metrics', 'ops.logs']));
      expect(TRANSACTIONAL_STAGES.includes(name), `${name} transactional`).toBe(!!def.transactional);
    }
  }, 60_000);

  it('namespace every topic, group and transactional id of a stage, never grant CREATE or cluster rights', () => {
    const rules = stageAcls('alerts', 'ns1');
    for (const r of rules.filter((x) => x.resourceType === 'TOPIC')) expect(r.name.startsWith('ns1.')).toBe(true);
    expect(rules).toContainEqual({ principal: 'alerts', resourceType: 'GROUP', name: 'ns1.alerts', pattern: 'LITERAL', operation: 'READ' });
    expect(rules).toContainEqual({ principal: 'alerts', resourceType: 'GROUP', name: 'ns1.alerts-', pattern: 'PREFIXED', operation: 'READ' });
    expect(rules).toContainEqual({ principal: 'alerts', resourceType: 'TRANSACTIONAL_ID', name: 'ns1.alerts-tx-', pattern: 'PREFIXED', operation: 'WRITE' });
    const all = namespaceAcls('ns1');
    expect(all.some((r) => r.operation === 'CREATE' || r.operation === 'ALL' || r.resourceType === 'CLUSTER')).toBe(false);
    expect(all.filter((r) => r.resourceType === 'TRANSACTIONAL_ID').map((r) => r.principal)).toEqual(['alerts']);
    expect(sorted(all.map((r) => r.principal))).toEqual(sorted(STAGE_PRINCIPALS));
  });

  it('let an outside consumer read only the public topics, with groups under its name', () => {
    const rules = consumerAcls('acme', ['', 'dc3-x']);
    expect(PUBLIC_TOPICS.sort()).toEqual(['fsc.receipts', 'gic.products']);
    expect(rules.filter((r) => r.resourceType === 'TOPIC').map((r) => `${r.operation} ${r.name}`).sort()).toEqual(['READ dc3-x.fsc.receipts', 'READ dc3-x.gic.products', 'READ fsc.receipts', 'READ gic.products']);
    expect(rules.filter((r) => r.resourceType !== 'TOPIC')).toEqual([{ principal: 'acme', resourceType: 'GROUP', name: 'acme.', pattern: 'PREFIXED', operation: 'READ' }]);
  });

  it('refuse consumer names that would reach a stage, a reserved principal or a run namespace', () => {
    for (const bad of ['alerts', 'gp1', 'gp1-calibration-x', 'admin', 'registry', 'external', 'dc3', 'dc3-2026', 'A', 'x', 'a b', 'fsc-team']) expect(checkConsumerName(bad), bad).not.toBeNull();
    for (const ok of ['acme', 'acme-followup', 'lal_grb', 'ligo2']) expect(checkConsumerName(ok), ok).toBeNull();
  });
});
