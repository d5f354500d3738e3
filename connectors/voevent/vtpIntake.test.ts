import { describe, it, expect } from 'vitest';
import { platformConfig } from '../../lib/config/platform.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { svomNotice } from '../../streams/alerts/core/fixtures.ts';
import { publishVoevent } from './vtp.ts';
import { receiveToRaw } from './vtpIntake.ts';

const EVENT = Buffer.from(svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 10, dec: 20, error: 0.1 }));

describe('VTP intake → voevent.raw (fake producer)', () => {
  it('acks only after the record is sent, naks when sending fails', async () => {
    const sent: { topic: string; records: { key: string | null; value: any }[] }[] = [];
    let fail = false;
    const producer = {
      send: async (topic: string, records: { key: string | null; value: unknown }[]) => {
        if (fail) throw new Error('broker down');
        sent.push({ topic, records });
      },
    };
    const { receiver, port } = await receiveToRaw(producer, { port: 0, localIvo: 'ivo://gft.test/receiver' });
    try {
      expect(await publishVoevent('127.0.0.1', port, EVENT)).toMatchObject({ role: 'ack' });
      expect(sent).toHaveLength(1);
      expect(sent[0].topic).toBe('voevent.raw');
      expect(sent[0].records[0].key).toBe('ivo://org.svom/fsc#sb26010101_eclairs-wakeup');
      expect(sent[0].records[0].value).toMatchObject({ transport: 'vtp-receiver', ivorn: 'ivo://org.svom/fsc#sb26010101_eclairs-wakeup' });
      expect((sent[0].records[0].value.payload as Buffer).equals(EVENT)).toBe(true);
      fail = true;
      expect(await publishVoevent('127.0.0.1', port, EVENT)).toMatchObject({ role: 'nak', result: 'broker down' });
    } finally {
      await receiver.close();
    }
  });
});

const ready = await stackReady();

describe.skipIf(!ready)('VTP intake → voevent.raw on the real stack', () => {
  it('a pushed VOEvent lands on voevent.raw byte for byte, keyed by IVORN, before the ack', async () => {
    const ns = randomNamespace('vtp');
    await provisionNamespace(ns);
    const producer = new TopicProducer(ns);
    const { receiver, port } = await receiveToRaw(producer, { port: 0, localIvo: 'ivo://gft.test/receiver' });
    try {
      const before = Date.now();
      expect(await publishVoevent('127.0.0.1', port, EVENT)).toMatchObject({ role: 'ack' });
      const cfg = platformConfig();
      const c = createKafka(cfg, 'vtp-test').consumer({ groupId: randomNamespace('g') });
      const serdes = new AvroSerdes(cfg.registryUrl);
      await c.connect();
      await c.subscribe({ topic: nsName(ns, 'voevent.raw'), fromBeginning: true });
      const got = await new Promise<{ key: string; value: any }>((res, rej) => {
        const t = setTimeout(() => rej(new Error('nothing on voevent.raw')), 20_000);
        void c.run({ eachMessage: async ({ message }) => {
          clearTimeout(t);
          res({ key: message.key!.toString(), value: await serdes.decode(message.value, 'org.gft.intake.RawVoevent') });
        } });
      });
      await c.disconnect();
      expect(got.key).toBe('ivo://org.svom/fsc#sb26010101_eclairs-wakeup');
      expect(Buffer.from(got.value.payload).equals(EVENT)).toBe(true);
      expect(got.value.transport).toBe('vtp-receiver');
      expect(got.value.receivedAt).toBeGreaterThanOrEqual(before);
    } finally {
      await receiver.close();
      await producer.disconnect();
    }
  }, 60_000);
});
