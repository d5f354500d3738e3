import { describe, it, expect } from 'vitest';
import { topicLayout, topicRequest, partitionsOf } from './topics.ts';
import { topicSpec, dlqTopic } from './topology.ts';

describe('topic layout from configuration', () => {
  it('defaults: 6 chain partitions; replication min(3, brokers); min ISR 2 once replicated 3 times', () => {
    expect(topicLayout(1, {})).toEqual({ partitions: 6, replicationFactor: 1, minInsyncReplicas: 1 });
    expect(topicLayout(2, {})).toEqual({ partitions: 6, replicationFactor: 2, minInsyncReplicas: 1 });
    expect(topicLayout(3, {})).toEqual({ partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicLayout(5, {})).toEqual({ partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('takes GFT_TOPIC_* from the environment and refuses an impossible min ISR', () => {
    expect(topicLayout(3, { GFT_TOPIC_PARTITIONS: '12', GFT_TOPIC_REPLICATION_FACTOR: '2', GFT_TOPIC_MIN_INSYNC_REPLICAS: '2' })).toEqual({ partitions: 12, replicationFactor: 2, minInsyncReplicas: 2 });
    expect(() => topicLayout(1, { GFT_TOPIC_MIN_INSYNC_REPLICAS: '2' })).toThrow(/above the replication factor/);
    expect(() => topicLayout(1, { GFT_TOPIC_PARTITIONS: '0' })).toThrow(/GFT_TOPIC_PARTITIONS/);
  });

  it('chain topics take the chain partition count; the alert intake keeps its single ordered partition', () => {
    const layout = topicLayout(3, { GFT_TOPIC_PARTITIONS: '8' });
    expect(partitionsOf(topicSpec('gp1.calibrated'), layout)).toBe(8);
    expect(partitionsOf(topicSpec('voevent.raw'), layout)).toBe(1);
    const req = topicRequest('ns1', topicSpec('images.raw'), layout);
    expect(req).toMatchObject({ topic: 'ns1.images.raw', numPartitions: 8, replicationFactor: 3 });
    expect(req.configEntries).toContainEqual({ name: 'min.insync.replicas', value: '2' });
    expect(topicRequest('', dlqTopic('gic'), layout)).toMatchObject({ topic: 'gic.dlq', numPartitions: 1, replicationFactor: 3 });
  });
});
