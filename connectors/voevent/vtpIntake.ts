/**
 * VTP intake: the subscriber (to a broker, e.g. SVOM's on port 8099) and the receiver (authors push to
 * us) write every received VOEvent, byte for byte, to `voevent.raw`, keyed by IVORN, with the receipt
 * time. The broker/author gets its ack only once Kafka has the bytes (acks=all): at-least-once, and
 * the IVORN makes downstream processing idempotent. A Kafka failure answers nak (the broker may drop
 * and we reconnect); nothing is parsed or judged here.
 */
import type { TopicProducer } from '../../lib/runtime/producer.ts';
import { rawRecord } from './intake.ts';
import { VtpReceiver, VtpSubscriber, type ReceiptHandler, type ReceiverOptions, type SubscriberOptions } from './vtp.ts';

/** A handler that keeps each receipt on voevent.raw. */
export function rawTopicHandler(producer: Pick<TopicProducer, 'send'>, source?: string): ReceiptHandler {
  return async (r) => {
    await producer.send('voevent.raw', [rawRecord(r.payload, r.transport, source ?? r.peer, r.receivedAt)]);
  };
}

export function subscribeToRaw(producer: Pick<TopicProducer, 'send'>, opts: Omit<SubscriberOptions, 'handler'>): VtpSubscriber {
  const s = new VtpSubscriber({ ...opts, handler: rawTopicHandler(producer, `${opts.host}:${opts.port}`) });
  s.start();
  return s;
}

export async function receiveToRaw(producer: Pick<TopicProducer, 'send'>, opts: Omit<ReceiverOptions, 'handler'>): Promise<{ receiver: VtpReceiver; host: string; port: number }> {
  const receiver = new VtpReceiver({ ...opts, handler: rawTopicHandler(producer) });
  const addr = await receiver.listen();
  return { receiver, ...addr };
}
