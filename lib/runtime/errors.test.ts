import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { classify } from './errors.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } = kafkajs as unknown as Record<string, new (...a: any[]) => Error>;

describe('classify', () => {
  it('kafkajs giving up on brokers that are away is a dependency outage (retriable), not bad input', () => {
    const conn = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' });
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 8, retryTime: 25_000 });
    expect((gaveUp as { retriable?: boolean }).retriable).toBe(false); // what kafkajs says
    expect(classify(gaveUp).retriable).toBe(true); // what it means for a stage
    // giving up on a non-retriable cause stays non-retriable
    const bad = new KafkaJSNumberOfRetriesExceeded(Object.assign(new Error('bad'), { retriable: false }), { retryCount: 0, retryTime: 0 });
    expect(classify(bad).retriable).toBe(false);
  });
});

describe('lostCoordinator', () => {
  it('recognises a dead coordinator however kafkajs reports it', async () => {
    const { lostCoordinator } = await import('./broker/kafkajs.ts');
    expect(lostCoordinator(Object.assign(new Error('Broker 2 not found in the cached metadata'), { name: 'KafkaJSBrokerNotFound' }))).toBe(true);
    expect(lostCoordinator(Object.assign(new Error('x'), { cause: Object.assign(new Error('This is not the correct coordinator for this group'), { type: 'NOT_COORDINATOR' }) }))).toBe(true);
    expect(lostCoordinator(Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' }))).toBe(false);
    expect(lostCoordinator(new Error('disk full'))).toBe(false);
  });
});
