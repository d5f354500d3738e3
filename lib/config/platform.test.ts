import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig, stackBrokers } from './platform.ts';

const home = (state?: string) => {
  const d = mkdtempSync(join(tmpdir(), 'gft-platform-'));
  if (state !== undefined) writeFileSync(join(d, 'stack.json'), state);
  return d;
};
const cluster = JSON.stringify({ kafka: { brokers: 3, bootstrap: ['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096'] }, s3: false });

describe('platformConfig: Kafka brokers', () => {
  it('unset GFT_KAFKA_BROKERS: every broker the local stack recorded in GFT_HOME/stack.json', () => {
    const h = home(cluster);
    expect(stackBrokers(h)).toEqual(['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
    expect(platformConfig({ GFT_HOME: h }).kafkaBrokers).toEqual(['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
    expect(platformConfig({ GFT_HOME: h, GFT_KAFKA_BROKERS: '' }).kafkaBrokers).toHaveLength(3);
  });

  it('GFT_KAFKA_BROKERS wins; no, unreadable or odd stack.json: the single local broker', () => {
    expect(platformConfig({ GFT_HOME: home(cluster), GFT_KAFKA_BROKERS: 'k1:9093,k2:9093' }).kafkaBrokers).toEqual(['k1:9093', 'k2:9093']);
    for (const state of [undefined, '{not json', '{"kafka":{"bootstrap":[]}}', '{"kafka":{"bootstrap":[1,2]}}']) {
      const h = home(state);
      expect(stackBrokers(h), String(state)).toBeNull();
      expect(platformConfig({ GFT_HOME: h }).kafkaBrokers, String(state)).toEqual([`127.0.0.1:${process.env.GFT_KAFKA_PORT || 19092}`]);
    }
  });
});
