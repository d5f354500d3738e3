/**
 * VTP on loopback: framing, transport messages, our receiver against our publisher, and our subscriber
 * against a scripted broker written here with raw sockets (so each side is checked against bytes we
 * spell out, not only against our own other half). The independent peer (Comet) is vtp.comet.test.ts.
 */
import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { svomNotice } from '../../streams/alerts/core/fixtures.ts';
import {
  FrameDecoder, frame, transportXml, classifyPayload, publishVoevent, allowedPeer, VtpReceiver, VtpSubscriber, VtpProtocolError, TRANSPORT_NS,
  type Receipt, type TransportMessage,
} from './vtp.ts';

const EVENT = Buffer.from(svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 10, dec: 20, error: 0.1 }));
const IVORN = 'ivo://org.svom/fsc#sb26010101_eclairs-wakeup';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const until = async (cond: () => boolean, ms = 5000) => {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('framing', () => {
  it('4-byte big-endian length + payload, decoded across any chunking', () => {
    const a = frame('<a/>');
    expect([...a.subarray(0, 4)]).toEqual([0, 0, 0, 4]);
    const stream = Buffer.concat([frame(EVENT), frame('<b/>'), frame(Buffer.alloc(70_000, 0x41))]);
    for (const step of [1, 3, 7, 4096, stream.length]) {
      const d = new FrameDecoder();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      expect(out.map((b) => b.length)).toEqual([EVENT.length, 4, 70_000]);
      expect(out[0].equals(EVENT)).toBe(true);
      expect(d.pending).toBe(0);
    }
  });

  it('zero-length and over-limit frames are protocol errors', () => {
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0]))).toThrow(VtpProtocolError);
    expect(() => new FrameDecoder(10).push(frame('<abcdefghij/>'))).toThrow(/exceeds the 10-byte limit/);
  });
});

describe('transport messages', () => {
  it('round-trip through our writer and reader, with escaping', () => {
    const x = transportXml('nak', { origin: 'ivo://a/b#c&d', response: 'ivo://us', timestamp: '2026-01-01T00:00:00Z', result: 'bad <thing>' });
    expect(x.toString()).toContain(`xmlns:trn="${TRANSPORT_NS}"`);
    expect(classifyPayload(x)).toEqual({ kind: 'transport', message: { role: 'nak', origin: 'ivo://a/b#c&d', response: 'ivo://us', timestamp: '2026-01-01T00:00:00Z', result: 'bad <thing>', params: {} } });
    const auth = classifyPayload(transportXml('authenticate', { origin: 'o', timestamp: 't', filters: ['//Param[@name="Packet_Type"][@value="202"]'] }));
    expect(auth).toMatchObject({ kind: 'transport', message: { role: 'authenticate', response: null, params: { 'xpath-filter': ['//Param[@name="Packet_Type"][@value="202"]'] } } });
  });

  it('reads a transport message written by another implementation (Comet style, default and prefixed)', () => {
    const comet = `<?xml version='1.0' encoding='UTF-8'?>\n<trn:Transport xmlns:trn="http://www.telescope-networks.org/xml/Transport/v1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.0" xsi:schemaLocation="http://telescope-networks.org/schema/Transport/v1.1 http://www.telescope-networks.org/schema/Transport-v1.1.xsd" role="iamalive"><Origin>ivo://comet.broker/default_ivo</Origin><TimeStamp>2026-01-01T00:00:00Z</TimeStamp></trn:Transport>`;
    expect(classifyPayload(Buffer.from(comet))).toMatchObject({ kind: 'transport', message: { role: 'iamalive', origin: 'ivo://comet.broker/default_ivo', response: null } });
  });

  it('anything else is an event, IVORN read when possible, never an exception', () => {
    expect(classifyPayload(EVENT)).toEqual({ kind: 'event', ivorn: IVORN });
    expect(classifyPayload(Buffer.from('<VOEvent ivorn="ivo://x/y#1"><broken>'))).toEqual({ kind: 'event', ivorn: 'ivo://x/y#1' });
    expect(classifyPayload(Buffer.from([0xff, 0x00, 0x12]))).toEqual({ kind: 'event', ivorn: null });
    expect(classifyPayload(Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><VOEvent ivorn="ivo://x/y#2"/>'))).toEqual({ kind: 'event', ivorn: 'ivo://x/y#2' });
  });

  it('CIDR allow-lists', () => {
    expect(allowedPeer('127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(allowedPeer('::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(allowedPeer('10.1.2.3', ['127.0.0.0/8', '10.1.0.0/16'])).toBe(true);
    expect(allowedPeer('10.2.2.3', ['10.1.0.0/16'])).toBe(false);
    expect(allowedPeer('::1', ['127.0.0.0/8'])).toBe(false);
    expect(allowedPeer('1.2.3.4', ['0.0.0.0/0'])).toBe(true);
  });
});

async function receiver(handler: (r: Receipt) => Promise<void> | void, extra: Partial<ConstructorParameters<typeof VtpReceiver>[0]> = {}) {
  const r = new VtpReceiver({ port: 0, localIvo: 'ivo://gft.test/receiver', handler, ...extra });
  const addr = await r.listen();
  cleanups.push(() => r.close());
  return { r, ...addr };
}

describe('receiver (authors push to us)', () => {
  it('listens on 127.0.0.1, hands over the exact bytes with the receipt time, acks with the IVORN', async () => {
    const got: Receipt[] = [];
    const { host, port } = await receiver((x) => void got.push(x));
    expect(host).toBe('127.0.0.1');
    const before = Date.now();
    const answer = await publishVoevent(host, port, EVENT);
    expect(answer).toMatchObject({ role: 'ack', origin: IVORN, response: 'ivo://gft.test/receiver' });
    expect(got).toHaveLength(1);
    expect(got[0].payload.equals(EVENT)).toBe(true);
    expect(got[0]).toMatchObject({ ivorn: IVORN, transport: 'vtp-receiver' });
    expect(got[0].receivedAt).toBeGreaterThanOrEqual(before);
    expect(got[0].receivedAt).toBeLessThanOrEqual(Date.now());
  });

  it('naks with the reason when the handler fails; garbage bytes are still handed over', async () => {
    const got: Buffer[] = [];
    const { host, port } = await receiver((x) => {
      got.push(x.payload);
      if (x.ivorn === null) throw new Error('kafka unavailable');
    });
    expect(await publishVoevent(host, port, Buffer.from('not xml'))).toMatchObject({ role: 'nak', result: 'kafka unavailable' });
    expect(got.map(String)).toEqual(['not xml']);
  });

  it('several events on one connection are handled in order and each acked', async () => {
    const order: string[] = [];
    const { port } = await receiver(async (x) => {
      await new Promise((r) => setTimeout(r, x.ivorn!.endsWith('#1') ? 30 : 0));
      order.push(x.ivorn!);
    });
    const s = net.connect({ host: '127.0.0.1', port });
    const acks: string[] = [];
    const dec = new FrameDecoder();
    s.on('data', (c: Buffer) => dec.push(c).forEach((p) => {
      const m = classifyPayload(p);
      if (m.kind === 'transport') acks.push(`${m.message.role}:${m.message.origin}`);
    }));
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.concat([1, 2, 3].map((i) => frame(`<VOEvent ivorn="ivo://x/y#${i}"/>`))));
    await until(() => acks.length === 3);
    s.destroy();
    expect(order).toEqual(['ivo://x/y#1', 'ivo://x/y#2', 'ivo://x/y#3']);
    expect(acks).toEqual(['ack:ivo://x/y#1', 'ack:ivo://x/y#2', 'ack:ivo://x/y#3']);
  });

  it('closes the connection on an oversize frame, refuses peers outside the allow-list', async () => {
    const { port } = await receiver(() => {}, { maxMessageBytes: 100 });
    await expect(publishVoevent('127.0.0.1', port, Buffer.alloc(101, 0x20))).rejects.toThrow(/closed without an answer/);
    const other = await receiver(() => {}, { allow: ['10.0.0.0/8'] });
    await expect(publishVoevent('127.0.0.1', other.port, EVENT)).rejects.toThrow();
  });

  it('close() lets an event in progress be acked first', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { r, port } = await receiver(() => gate);
    const answer = publishVoevent('127.0.0.1', port, EVENT);
    await new Promise((res) => setTimeout(res, 50));
    const closing = r.close();
    release();
    expect(await answer).toMatchObject({ role: 'ack' });
    await closing;
  });
});

/** A broker scripted with raw sockets: records what the subscriber says. */
async function fakeBroker(port = 0) {
  const heard: TransportMessage[] = [];
  const sockets: net.Socket[] = [];
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.push(s);
    const d = new FrameDecoder();
    s.on('data', (c: Buffer) => d.push(c).forEach((p) => {
      const m = classifyPayload(p);
      if (m.kind === 'transport') heard.push(m.message);
    }));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const addr = server.address() as net.AddressInfo;
  const api = {
    port: addr.port,
    heard,
    get connections() {
      return connections;
    },
    send: (xml: Buffer | string) => sockets[sockets.length - 1].write(frame(xml)),
    dropAll: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((r) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => r());
    }),
  };
  cleanups.push(api.close);
  return api;
}

function subscriber(port: number, handler: (r: Receipt) => Promise<void> | void, extra: Partial<ConstructorParameters<typeof VtpSubscriber>[0]> = {}) {
  const s = new VtpSubscriber({ host: '127.0.0.1', port, localIvo: 'ivo://gft.test/subscriber', handler, minBackoffMs: 20, maxBackoffMs: 200, jitter: false, ...extra });
  cleanups.push(() => s.stop());
  s.start();
  return s;
}

describe('subscriber (we connect to a broker)', () => {
  it('answers authenticate and iamalive, acks events with their IVORN, naks failures', async () => {
    const b = await fakeBroker();
    const got: Receipt[] = [];
    subscriber(b.port, (r) => {
      got.push(r);
      if (r.payload.includes('please-fail')) throw new Error('cannot keep it');
    }, { filters: ['//Param[@name="Packet_Type"]'] });
    await until(() => b.connections === 1);
    b.send(transportXml('authenticate', { origin: 'ivo://broker/x', timestamp: '2026-01-01T00:00:00Z' }));
    b.send(transportXml('iamalive', { origin: 'ivo://broker/x', timestamp: '2026-01-01T00:00:00Z' }));
    b.send(EVENT);
    b.send('<VOEvent ivorn="ivo://x/y#please-fail"/>');
    await until(() => b.heard.length === 4);
    expect(b.heard.map((m) => [m.role, m.origin, m.response])).toEqual([
      ['authenticate', 'ivo://broker/x', 'ivo://gft.test/subscriber'],
      ['iamalive', 'ivo://broker/x', 'ivo://gft.test/subscriber'],
      ['ack', IVORN, 'ivo://gft.test/subscriber'],
      ['nak', 'ivo://x/y#please-fail', 'ivo://gft.test/subscriber'],
    ]);
    expect(b.heard[0].params).toEqual({ 'xpath-filter': ['//Param[@name="Packet_Type"]'] });
    expect(b.heard[3].result).toBe('cannot keep it');
    expect(got[0].payload.equals(EVENT)).toBe(true);
    expect(got[0]).toMatchObject({ transport: 'vtp-subscriber', ivorn: IVORN });
  });

  it('answers iamalive while a slow handler is still keeping an event', async () => {
    const b = await fakeBroker();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    subscriber(b.port, () => gate);
    await until(() => b.connections === 1);
    b.send(EVENT);
    b.send(transportXml('iamalive', { origin: 'ivo://broker/x', timestamp: 't' }));
    await until(() => b.heard.length === 1);
    expect(b.heard[0].role).toBe('iamalive');
    release();
    await until(() => b.heard.length === 2);
    expect(b.heard[1].role).toBe('ack');
  });

  it('reconnects with exponential backoff until the broker is up, and after it drops us', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const delays: number[] = [];
    const s = subscriber(port, () => {}, { log: (e) => e.event === 'reconnect' && delays.push(e.inMs) });
    await until(() => delays.length >= 4);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 160]); // nothing listening yet
    const b = await fakeBroker(port);
    await until(() => b.connections === 1, 2000);
    b.send(transportXml('iamalive', { origin: 'o', timestamp: 't' })); // a message from the broker resets the backoff
    await until(() => b.heard.length === 1);
    const n = delays.length;
    b.dropAll();
    await until(() => b.connections === 2, 2000);
    expect(delays[n]).toBe(20);
    expect(s.stats.connections).toBe(2);
    expect(s.backoffMs(10)).toBe(200);
    expect(new VtpSubscriber({ host: 'h', port: 1, localIvo: 'i', handler: () => {} }).backoffMs(0)).toBeGreaterThanOrEqual(500); // default 1 s, jittered in [0.5, 1] s
  });

  it('a silent broker (no iamalive) is a dead connection', async () => {
    const b = await fakeBroker();
    const reasons: string[] = [];
    subscriber(b.port, () => {}, { idleTimeoutMs: 100, log: (e) => e.event === 'disconnected' && reasons.push(e.reason) });
    await until(() => b.connections === 2, 3000);
    expect(reasons[0]).toMatch(/no data for 100 ms/);
  });

  it('stop() acks the event in progress and does not reconnect', async () => {
    const b = await fakeBroker();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = subscriber(b.port, () => gate);
    await until(() => b.connections === 1);
    b.send(EVENT);
    await new Promise((r) => setTimeout(r, 30));
    const stopping = s.stop();
    release();
    await stopping;
    await until(() => b.heard.length === 1);
    expect(b.heard[0].role).toBe('ack');
    await new Promise((r) => setTimeout(r, 100));
    expect(b.connections).toBe(1);
  });
});
