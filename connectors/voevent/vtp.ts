/**
 * VOEvent Transport Protocol (IVOA Note "VOEvent Transport Protocol", Swinbank): TCP, each message a
 * 4-byte big-endian unsigned length followed by that many bytes of XML. Messages are either VOEvents or
 * `<trn:Transport role="…">` messages (namespace http://www.telescope-networks.org/xml/Transport/v1.1)
 * with Origin, Response, TimeStamp and Meta children:
 *
 * - broker → subscriber `iamalive` (Origin = broker): answered `iamalive` (Origin = broker, Response = us);
 * - broker → subscriber `authenticate` (Comet sends one on connect): answered `authenticate`, with our
 *   XPath filters (if any) as `Meta/Param name="xpath-filter"`;
 * - VOEvent (broker → subscriber, or author → receiver): answered `ack` (Origin = the event's IVORN,
 *   Response = us) once the handler has kept the bytes, or `nak` (with `Meta/Result`) when it failed.
 *
 * Contracts
 * - Handlers get the exact bytes received and the receipt time (ms, taken when the frame is complete).
 *   Nothing is parsed or rejected before the handler: the raw bytes are always kept. The IVORN is read
 *   from the root element when possible (for the ack and as a Kafka key), null otherwise.
 * - Events of one connection are handled one at a time, in order; transport messages are answered at
 *   once, even while a handler is running (a slow Kafka must not make the broker drop us).
 * - Ack after the handler resolves (at-least-once: the broker may resend after a crash; the IVORN is the
 *   idempotency key downstream), nak when it rejects.
 * - Frames above `maxMessageBytes` (default 8 MiB, well above the 1 MiB parse limit so that oversize
 *   alerts are still kept and dead-lettered downstream) and zero-length frames are protocol errors: the
 *   connection is closed (the length prefix cannot be trusted any more).
 * - The subscriber reconnects with exponential backoff (1 s doubling to 60 s, with jitter), reset once
 *   the broker has sent a message; no data for `idleTimeoutMs` (default 150 s: brokers send iamalive
 *   every 60 s) counts as a dead connection.
 * - The receiver listens on 127.0.0.1 unless told otherwise, bounds its connections, drops idle ones,
 *   and can restrict peers to IPv4 CIDR ranges.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { parseXml, child, type XmlElement } from '../../streams/alerts/core/xml.ts';
import { cheapIvorn } from './intake.ts';

export { cheapIvorn };

export const TRANSPORT_NS = 'http://www.telescope-networks.org/xml/Transport/v1.1';
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export type TransportRole = 'iamalive' | 'ack' | 'nak' | 'authenticate';

export interface TransportMessage {
  role: string;
  origin: string | null;
  response: string | null;
  timestamp: string | null;
  /** Meta/Result text (a nak's reason) */
  result: string | null;
  /** Meta/Param name → value */
  params: Record<string, string[]>;
}

export class VtpProtocolError extends Error {
  readonly code = 'vtp.protocol';
  constructor(message: string) {
    super(message);
    this.name = 'VtpProtocolError';
  }
}

// --- framing

/** One frame: 4-byte big-endian length + payload. */
export function frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > 0xffffffff) throw new VtpProtocolError('payload too large for a 32-bit length');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Incremental frame decoder: push TCP chunks, get complete payloads (copies, safe to keep). */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** @throws VtpProtocolError on a zero or over-limit length */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const len = this.take(4).readUInt32BE(0);
        if (len === 0) throw new VtpProtocolError('zero-length frame');
        if (len > this.maxMessageBytes) throw new VtpProtocolError(`frame of ${len} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
        this.need = len;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** Bytes buffered for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const head = Buffer.from(all.subarray(0, n)); // copy: the rest of the chunk may be reused by the stream
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }
}

// --- transport messages

const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** ISO 8601 UTC to the second, as VTP peers write it. */
export function vtpTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface TransportFields {
  origin: string;
  response?: string | null;
  timestamp: string;
  /** nak reason */
  result?: string;
  /** authenticate: XPath filters */
  filters?: string[];
}

/** XML bytes of a transport message (not framed). */
export function transportXml(role: TransportRole, f: TransportFields): Buffer {
  const parts = [`<Origin>${xmlEscape(f.origin)}</Origin>`];
  if (f.response) parts.push(`<Response>${xmlEscape(f.response)}</Response>`);
  parts.push(`<TimeStamp>${xmlEscape(f.timestamp)}</TimeStamp>`);
  const meta: string[] = [];
  if (f.result !== undefined) meta.push(`<Result>${xmlEscape(f.result)}</Result>`);
  for (const x of f.filters ?? []) meta.push(`<Param name="xpath-filter" value="${xmlEscape(x)}"/>`);
  if (meta.length) parts.push(`<Meta>${meta.join('')}</Meta>`);
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<trn:Transport xmlns:trn="${TRANSPORT_NS}" version="1.0" role="${role}">${parts.join('')}</trn:Transport>`,
    'utf8',
  );
}

export type Classified = { kind: 'transport'; message: TransportMessage } | { kind: 'event'; ivorn: string | null };

/**
 * Transport message or event? Anything whose root is not `<Transport>` is an event (including bytes
 * that are not XML at all: they are kept and judged downstream). Never throws.
 */
export function classifyPayload(payload: Buffer): Classified {
  let root: XmlElement;
  try {
    root = parseXml(payload, { maxBytes: Math.max(payload.length, 1) });
  } catch {
    return { kind: 'event', ivorn: cheapIvorn(payload) };
  }
  if (root.name !== 'Transport') return { kind: 'event', ivorn: root.attrs.ivorn?.trim() || null };
  const text = (name: string) => child(root, name)?.text.trim() || null;
  const meta = child(root, 'Meta');
  const params: Record<string, string[]> = {};
  for (const p of meta?.children ?? []) {
    if (p.name === 'Param' && p.attrs.name) (params[p.attrs.name] ??= []).push(p.attrs.value ?? '');
  }
  return {
    kind: 'transport',
    message: { role: (root.attrs.role ?? '').trim(), origin: text('Origin'), response: text('Response'), timestamp: text('TimeStamp'), result: meta ? (child(meta, 'Result')?.text.trim() ?? null) : null, params },
  };
}

// --- shared connection logic

export interface Receipt {
  /** The exact bytes received (the frame's payload). */
  payload: Buffer;
  /** Receipt time, ms since the epoch (when the frame was complete). */
  receivedAt: number;
  /** 'host:port' of the peer */
  peer: string;
  /** The event's IVORN when it could be read, else null. */
  ivorn: string | null;
  transport: 'vtp-subscriber' | 'vtp-receiver';
}

/** Keeps the bytes (e.g. writes them to Kafka). Resolve → ack; reject → nak. */
export type ReceiptHandler = (r: Receipt) => Promise<void> | void;

export type VtpLogEvent =
  | { event: 'connected'; peer: string }
  | { event: 'disconnected'; peer: string; reason: string }
  | { event: 'reconnect'; inMs: number; attempt: number }
  | { event: 'transport'; peer: string; role: string }
  | { event: 'voevent'; peer: string; ivorn: string | null; bytes: number; acked: boolean; error?: string }
  | { event: 'protocol-error'; peer: string; error: string }
  | { event: 'rejected'; peer: string; reason: string };

interface ConnectionOptions {
  localIvo: string;
  handler: ReceiptHandler;
  transport: Receipt['transport'];
  maxMessageBytes: number;
  idleTimeoutMs: number;
  filters: string[];
  now: () => number;
  log: (e: VtpLogEvent) => void;
  onMessage?: () => void;
}

/** One TCP connection speaking VTP (either side): decodes frames, answers, hands events over in order. */
class VtpConnection {
  private readonly decoder: FrameDecoder;
  private chain: Promise<void> = Promise.resolve();
  readonly peer: string;
  closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly o: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(o.maxMessageBytes);
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    if (o.idleTimeoutMs > 0) socket.setTimeout(o.idleTimeoutMs, () => socket.destroy(new Error(`no data for ${o.idleTimeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** Resolves when every event received so far has been handled and answered. */
  drained(): Promise<void> {
    return this.chain;
  }

  private onData(chunk: Buffer): void {
    let payloads: Buffer[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (e) {
      this.o.log({ event: 'protocol-error', peer: this.peer, error: (e as Error).message });
      this.socket.destroy();
      return;
    }
    for (const payload of payloads) {
      const receivedAt = this.o.now();
      this.o.onMessage?.();
      const c = classifyPayload(payload);
      if (c.kind === 'transport') this.onTransport(c.message);
      else this.chain = this.chain.then(() => this.onEvent(payload, receivedAt, c.ivorn));
    }
  }

  private send(xml: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(frame(xml));
  }

  private onTransport(m: TransportMessage): void {
    this.o.log({ event: 'transport', peer: this.peer, role: m.role });
    const ts = vtpTimestamp(this.o.now());
    if (m.role === 'iamalive') {
      this.send(transportXml('iamalive', { origin: m.origin ?? '', response: this.o.localIvo, timestamp: ts }));
    } else if (m.role === 'authenticate') {
      this.send(transportXml('authenticate', { origin: m.origin ?? '', response: this.o.localIvo, timestamp: ts, filters: this.o.filters }));
    }
    // ack / nak / unknown roles from the peer need no answer.
  }

  private async onEvent(payload: Buffer, receivedAt: number, ivorn: string | null): Promise<void> {
    const origin = ivorn ?? '';
    try {
      await this.o.handler({ payload, receivedAt, peer: this.peer, ivorn, transport: this.o.transport });
    } catch (e) {
      const error = (e as Error)?.message ?? String(e);
      this.o.log({ event: 'voevent', peer: this.peer, ivorn, bytes: payload.length, acked: false, error });
      this.send(transportXml('nak', { origin, response: this.o.localIvo, timestamp: vtpTimestamp(this.o.now()), result: error.slice(0, 500) }));
      return;
    }
    this.o.log({ event: 'voevent', peer: this.peer, ivorn, bytes: payload.length, acked: true });
    this.send(transportXml('ack', { origin, response: this.o.localIvo, timestamp: vtpTimestamp(this.o.now()) }));
  }
}

// --- subscriber

export interface SubscriberOptions {
  host: string;
  port: number;
  /** Our IVOA identifier (Response of our answers), e.g. ivo://org.gft/colibri#subscriber */
  localIvo: string;
  handler: ReceiptHandler;
  /** XPath filters announced to the broker when it asks us to authenticate. */
  filters?: string[];
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Randomise each delay in [delay/2, delay] (default true) so that many clients do not reconnect together. */
  jitter?: boolean;
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxMessageBytes?: number;
  now?: () => number;
  log?: (e: VtpLogEvent) => void;
}

/**
 * Connects to a VTP broker and keeps connected until `stop()`. Events: 'connected', 'disconnected'
 * (with the reason), 'log' (every VtpLogEvent).
 */
export class VtpSubscriber extends EventEmitter {
  private socket: net.Socket | null = null;
  private conn: VtpConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private running = false;
  private readonly o: Required<Omit<SubscriberOptions, 'log'>> & { log: (e: VtpLogEvent) => void };
  readonly stats = { connections: 0, events: 0, transport: 0 };

  constructor(opts: SubscriberOptions) {
    super();
    this.o = {
      filters: [],
      minBackoffMs: 1000,
      maxBackoffMs: 60_000,
      jitter: true,
      idleTimeoutMs: 150_000,
      connectTimeoutMs: 10_000,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      now: Date.now,
      ...opts,
      log: (e) => {
        if (e.event === 'voevent') this.stats.events++;
        if (e.event === 'transport') this.stats.transport++;
        opts.log?.(e);
        this.emit('log', e);
      },
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** The delay before reconnect attempt `n` (0-based): min·2^n capped at max, jittered. */
  backoffMs(n: number): number {
    const d = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(n, 30));
    return this.o.jitter ? Math.round(d / 2 + (Math.random() * d) / 2) : d;
  }

  private connect(): void {
    const s = net.connect({ host: this.o.host, port: this.o.port });
    this.socket = s;
    const connectTimer = setTimeout(() => s.destroy(new Error(`connect timeout after ${this.o.connectTimeoutMs} ms`)), this.o.connectTimeoutMs);
    let reason = 'closed by peer';
    s.once('connect', () => {
      clearTimeout(connectTimer);
      this.stats.connections++;
      const peer = `${this.o.host}:${this.o.port}`;
      this.o.log({ event: 'connected', peer });
      this.emit('connected', peer);
      this.conn = new VtpConnection(s, {
        localIvo: this.o.localIvo,
        handler: this.o.handler,
        transport: 'vtp-subscriber',
        maxMessageBytes: this.o.maxMessageBytes,
        idleTimeoutMs: this.o.idleTimeoutMs,
        filters: this.o.filters,
        now: this.o.now,
        log: this.o.log,
        onMessage: () => {
          this.attempt = 0; // the broker talks to us: the connection is healthy
        },
      });
    });
    s.on('error', (e) => {
      reason = e.message;
    });
    s.once('close', () => {
      clearTimeout(connectTimer);
      this.conn = null;
      this.socket = null;
      const peer = `${this.o.host}:${this.o.port}`;
      this.o.log({ event: 'disconnected', peer, reason });
      this.emit('disconnected', reason);
      if (!this.running) return;
      const inMs = this.backoffMs(this.attempt);
      this.attempt++;
      this.o.log({ event: 'reconnect', inMs, attempt: this.attempt });
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.running) this.connect();
      }, inMs);
    });
  }

  /** Stops reconnecting, lets the event being handled finish (and be acked), then closes. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    const c = this.conn;
    if (c) await c.drained();
    if (s && !s.destroyed) {
      await new Promise<void>((res) => {
        s.once('close', () => res());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      });
    }
  }
}

// --- receiver

export interface ReceiverOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port (default 8098; 0 = any free port). */
  port?: number;
  localIvo: string;
  handler: ReceiptHandler;
  maxConnections?: number;
  idleTimeoutMs?: number;
  maxMessageBytes?: number;
  /** IPv4 CIDR ranges allowed to connect (default: anyone who can reach the listen address). */
  allow?: string[];
  now?: () => number;
  log?: (e: VtpLogEvent) => void;
}

function ipv4ToInt(ip: string): number | null {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return null;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** True when `ip` (IPv4 or IPv4-mapped IPv6) is inside one of the CIDR ranges. */
export function allowedPeer(ip: string, cidrs: string[]): boolean {
  const n = ipv4ToInt(ip);
  if (n === null) return false;
  return cidrs.some((c) => {
    const [base, bits = '32'] = c.split('/');
    const b = ipv4ToInt(base);
    const k = Number(bits);
    if (b === null || !(k >= 0 && k <= 32)) return false;
    const mask = k === 0 ? 0 : (0xffffffff << (32 - k)) >>> 0;
    return (n & mask) === (b & mask);
  });
}

/** Accepts VOEvents pushed by authors (one or more per connection), acks each once handled. */
export class VtpReceiver extends EventEmitter {
  private server: net.Server | null = null;
  private readonly conns = new Set<VtpConnection>();
  private readonly o: Required<Omit<ReceiverOptions, 'log' | 'allow'>> & { allow: string[] | null; log: (e: VtpLogEvent) => void };

  constructor(opts: ReceiverOptions) {
    super();
    this.o = {
      host: '127.0.0.1',
      port: 8098,
      maxConnections: 64,
      idleTimeoutMs: 30_000,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      now: Date.now,
      ...opts,
      allow: opts.allow ?? null,
      log: (e) => {
        opts.log?.(e);
        this.emit('log', e);
      },
    };
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      server.maxConnections = this.o.maxConnections;
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        this.server = server;
        const a = server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  private accept(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.o.allow && !allowedPeer(socket.remoteAddress ?? '', this.o.allow)) {
      this.o.log({ event: 'rejected', peer, reason: 'not in the allowed ranges' });
      socket.destroy();
      return;
    }
    this.o.log({ event: 'connected', peer });
    const c = new VtpConnection(socket, {
      localIvo: this.o.localIvo,
      handler: this.o.handler,
      transport: 'vtp-receiver',
      maxMessageBytes: this.o.maxMessageBytes,
      idleTimeoutMs: this.o.idleTimeoutMs,
      filters: [],
      now: this.o.now,
      log: this.o.log,
    });
    this.conns.add(c);
    socket.on('error', () => {});
    socket.once('close', () => {
      this.conns.delete(c);
      this.o.log({ event: 'disconnected', peer, reason: 'closed' });
    });
  }

  /** Stops accepting, lets events in progress be handled and answered, then closes every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((res) => server.close(() => res())) : Promise.resolve();
    await Promise.all([...this.conns].map((c) => c.drained()));
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }
}

// --- author side (publish one event to a receiver): our own peer for tests and `gft voevent publish`

/** Sends one VOEvent to a VTP receiver and resolves with its answer (ack or nak). */
export function publishVoevent(host: string, port: number, payload: Buffer | string, opts: { timeoutMs?: number; maxMessageBytes?: number } = {}): Promise<TransportMessage> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const dec = new FrameDecoder(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    let done = false;
    const finish = (err: Error | null, m?: TransportMessage) => {
      if (done) return;
      done = true;
      s.destroy();
      if (err) reject(err);
      else resolve(m!);
    };
    s.setTimeout(opts.timeoutMs ?? 10_000, () => finish(new Error('no answer from the receiver')));
    s.once('connect', () => s.write(frame(payload)));
    s.on('data', (chunk: Buffer) => {
      try {
        for (const p of dec.push(chunk)) {
          const c = classifyPayload(p);
          if (c.kind === 'transport' && (c.message.role === 'ack' || c.message.role === 'nak')) return finish(null, c.message);
        }
      } catch (e) {
        finish(e as Error);
      }
    });
    s.once('error', (e) => finish(e));
    s.once('close', () => finish(new Error('connection closed without an answer')));
  });
}
