/**
 * `gft stack up --secure` on a stack of its own (temporary GFT_HOME, free ports, the Kafka jars and the
 * registry of the main stack): Kafka on SASL_SSL with ACLs, the registry behind basic auth, ClickHouse
 * with passwords. What the issue asks of it:
 * - anonymous clients (plaintext, TLS without SASL, TLS without our CA) and wrong passwords are refused;
 *   SCRAM-SHA-512 and -256 both work;
 * - an outside consumer (`gft users add-consumer`) reads the products and nothing else: not images.raw,
 *   not the registry's journal, no write anywhere, no stage's group; lists only the public topics;
 *   reads the registry, cannot write it;
 * - the whole DC3 chain runs with every stage on its own principal (checked in the broker's authorizer
 *   log: each stage's allowed operations under its own name, no denial), and examples/product-consumer.ts
 *   reads the products with the consumer's credentials;
 * - ClickHouse: no password, no access; the reader cannot write;
 * - no password of any principal appears in anything the test process or the services logged.
 *
 * Runs whenever the main stack's Kafka jars and registry are there (always under `gft test`):
 * ~2 min, one Kafka JVM, one registry JVM and one ClickHouse of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaT } from 'kafkajs';
import { platformConfig } from '../lib/config/platform.ts';
import { passwordFile } from '../lib/config/localSecure.ts';
import { createKafka } from '../lib/runtime/kafka.ts';
import { createTopics } from '../lib/runtime/topics.ts';
import { STAGE_PRINCIPALS } from '../lib/runtime/acls.ts';
import { nsName } from '../lib/runtime/topology.ts';
import { randomNamespace } from '../lib/runtime/testing.ts';
import { registryVersion } from './services/registry.ts';

const { Kafka, logLevel } = kafkajs;
const mainHome = resolve(platformConfig().home);
const libs = join(mainHome, 'kafka', 'libs');
const registryApp = () => join(mainHome, 'registry', `apicurio-${registryVersion()}`);
const have = existsSync(libs) && existsSync(join(registryApp(), 'quarkus-run.jar'));
if (!have) {
  const why = `no Kafka jars or registry under ${mainHome} (run \`npx gft stack up\` once)`;
  if (process.env.GFT_REQUIRE_STACK === '1') throw new Error(`secured stack test: ${why}`);
  console.warn(`SKIPPED secured stack test: ${why}`);
}

const log = (s: string) => console.log(`[secure] ${s}`);

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

async function freeBase(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 30000 + Math.floor(Math.random() * 20000);
    if ((await Promise.all(Array.from({ length: n }, (_, i) => portFree(base + i)))).every(Boolean)) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

/** Everything this process writes to stdout/stderr (console, kafkajs, stage logs), to look for secrets. */
const printed: string[] = [];
// the stages log at info here whatever the run's level (CI runs at warn): the secret check needs lines to search
process.env.GFT_LOG_LEVEL = 'info';
function tee(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    printed.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

/** Resolves with the error of a promise that must fail (or throws when it succeeds within the time). */
async function failure(p: Promise<unknown>, timeoutMs = 20_000): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('__timeout__')), timeoutMs)))]);
  } catch (e) {
    if ((e as Error).message === '__timeout__') throw new Error('neither succeeded nor failed in time');
    return e as Error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a failure, got a success');
}

describe.skipIf(!have)('secured stack (gft stack up --secure)', () => {
  let home: string;
  let stack: typeof import('./stack.ts');
  let users: typeof import('./security/users.ts');
  let bootstrap: string[];
  let ca: string;
  const nsA = randomNamespace('sec');
  const nsDc3 = randomNamespace('secdc3');
  let consumer: { user: string; password: string };
  const kafkas: KafkaT[] = [];
  const client = (o: { sasl?: { mechanism: 'scram-sha-512' | 'scram-sha-256'; username: string; password: string }; ssl?: boolean | { ca: string[] } }) => {
    const k = new Kafka({ clientId: 'gft-secure-test', brokers: bootstrap, ssl: o.ssl, sasl: o.sasl as never, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 10_000, retry: { retries: 0 } });
    kafkas.push(k);
    return k;
  };
  const pw = (p: string) => readFileSync(passwordFile(home, p), 'utf8').trim();

  beforeAll(async () => {
    tee(process.stdout);
    tee(process.stderr);
    home = mkdtempSync(join(tmpdir(), 'gft-secure-'));
    mkdirSync(join(home, 'kafka'), { recursive: true });
    mkdirSync(join(home, 'registry'), { recursive: true });
    symlinkSync(libs, join(home, 'kafka', 'libs'));
    symlinkSync(registryApp(), join(home, 'registry', `apicurio-${registryVersion()}`));
    const base = await freeBase(6);
    // the stack functions and the clients read their configuration from the environment (own process)
    Object.assign(process.env, {
      GFT_HOME: home,
      GFT_KAFKA_PORT: String(base),
      GFT_KAFKA_CONTROLLER_PORT: String(base + 1),
      GFT_KAFKA_INTERNAL_PORT: String(base + 2),
      GFT_REGISTRY_PORT: String(base + 3),
      GFT_CLICKHOUSE_HTTP_PORT: String(base + 4),
      GFT_CLICKHOUSE_TCP_PORT: String(base + 5),
      GFT_KAFKA_AUTHORIZER_LOG: 'debug', // every allowed operation is logged: who did what
    });
    for (const v of ['GFT_KAFKA_BROKERS', 'GFT_REGISTRY_URL', 'GFT_CLICKHOUSE_URL', 'GFT_KAFKA_SASL_USER', 'GFT_KAFKA_SASL_PASSWORD', 'GFT_REGISTRY_USER', 'GFT_NAMESPACE', 'GFT_STORAGE_DIR', 'GFT_STORAGE_URL']) delete process.env[v];
    stack = await import('./stack.ts');
    users = await import('./security/users.ts');
    let t0 = Date.now();
    await stack.up({ secure: true, install: false, log });
    log(`cold up --secure (certificates, format, SCRAM users, ACLs, registry): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t0 = Date.now();
    await stack.up({ install: false, log });
    log(`warm up (everything running): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    bootstrap = platformConfig().kafkaBrokers;
    ca = readFileSync(join(home, 'secure', 'tls', 'ca.crt'), 'utf8');
  }, 300_000);

  afterAll(async () => {
    if (!stack) return;
    await stack.down({ log }).catch((e) => log(`down: ${(e as Error).message}`));
    rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('refuses anonymous clients and wrong passwords; SCRAM-SHA-512 and -256 work', async () => {
    const tls = { ca: [ca] };
    const tryAdmin = async (k: KafkaT) => {
      const a = k.admin();
      try {
        await a.connect();
        return await a.listTopics();
      } finally {
        await a.disconnect().catch(() => {});
      }
    };
    await failure(tryAdmin(client({}))); // plaintext on the SASL_SSL port
    await failure(tryAdmin(client({ ssl: tls }))); // TLS, no SASL
    expect((await failure(tryAdmin(client({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: pw('admin') } })))).message).toMatch(/self.signed|certificate/i); // our CA not trusted
    for (const mechanism of ['scram-sha-512', 'scram-sha-256'] as const) {
      const e = await failure(tryAdmin(client({ ssl: tls, sasl: { mechanism, username: 'admin', password: 'not-the-password' } })));
      expect(e.name, mechanism).toBe('KafkaJSSASLAuthenticationError');
      expect(await failure(tryAdmin(client({ ssl: tls, sasl: { mechanism, username: 'nobody', password: pw('admin') } }))).then((x) => x.name)).toBe('KafkaJSSASLAuthenticationError');
      expect(await tryAdmin(client({ ssl: tls, sasl: { mechanism, username: 'admin', password: pw('admin') } }))).toEqual(expect.arrayContaining(['kafkasql-journal']));
    }
    // our own client path (createKafka) with a wrong password: refused, and it says so without the password
    const cfg = { ...platformConfig(), kafkaSaslUser: 'gic', kafkaSaslPassword: 'wrong-password-123', localPrincipals: null };
    expect((await failure(tryAdmin(createKafka(cfg, 'gft-secure-test-wrong')))).name).toBe('KafkaJSSASLAuthenticationError');
    // the registry and ClickHouse refuse anonymous requests
    expect((await fetch(`${platformConfig().registryUrl}/subjects`)).status).toBe(401);
    expect((await fetch(`${platformConfig().clickhouseUrl}/?query=SELECT%201`)).status).not.toBe(200);
  }, 120_000);

  it('an outside consumer reads the products and nothing else', async () => {
    const t0 = Date.now();
    consumer = await users.addConsumer(home, stack.internalBrokers(platformConfig(), stack.layout(home)), 'acme', [nsA, nsDc3]);
    await stack.restartIfRunning('registry', { log });
    log(`add-consumer incl. registry restart: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // provision a namespace as the operator (topics + the stages' ACLs), and a product as the GIC would
    const cfg = platformConfig();
    const admin = createKafka(cfg, 'gft-secure-test').admin();
    await admin.connect();
    await createTopics(admin, nsA);
    await admin.disconnect();
    const gic = createKafka(cfg, 'gic-test-producer').producer(); // the GIC's principal (client id)
    await gic.connect();
    await gic.send({ topic: nsName(nsA, 'gic.products'), messages: [{ key: 'p1', value: 'a product' }] });
    expect((await failure(gic.send({ topic: nsName(nsA, 'images.raw'), messages: [{ value: 'x' }] }))).message).toMatch(/authoriz/i); // a stage writes only its outputs
    await gic.disconnect();

    const me = client({ ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: consumer.user, password: consumer.password } });
    // it sees only what it may read
    const a = me.admin();
    await a.connect();
    const visible = await a.listTopics();
    await a.disconnect();
    expect(visible.sort()).toEqual([nsName(nsA, 'fsc.receipts'), nsName(nsA, 'gic.products')]);
    // reads the products with a group of its own
    const c = me.consumer({ groupId: 'acme.products', maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topic: nsName(nsA, 'gic.products'), fromBeginning: true });
    const got = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error('no product within 30 s')), 30_000);
      void c.run({ eachMessage: async ({ message }) => (clearTimeout(t), res(String(message.value))) }).catch(rej);
    });
    await c.disconnect();
    expect(got).toBe('a product');
    // cannot read the raw images nor the registry's journal
    for (const topic of [nsName(nsA, 'images.raw'), 'kafkasql-journal']) {
      const x = me.consumer({ groupId: 'acme.snoop' });
      await x.connect();
      expect((await failure(x.subscribe({ topic, fromBeginning: true }).then(() => x.run({ eachMessage: async () => {} })))).message, topic).toMatch(/authoriz/i);
      await x.disconnect().catch(() => {});
    }
    // cannot write anywhere, its own readable topic included (plain and idempotent producers)
    for (const idempotent of [false, true]) {
      const p = me.producer({ idempotent, allowAutoTopicCreation: false, ...(idempotent ? { retry: { retries: 2 } } : {}) });
      for (const topic of [nsName(nsA, 'gic.products'), nsName(nsA, 'voevent.raw')]) {
        const e = await failure(p.connect().then(() => p.send({ topic, messages: [{ value: 'forged' }] })));
        expect(e.message, `${topic} idempotent=${idempotent}`).toMatch(/authoriz/i);
      }
      await p.disconnect().catch(() => {});
    }
    // cannot join a stage's consumer group (even on a topic it may read)
    const g = me.consumer({ groupId: nsName(nsA, 'fsc') });
    await g.connect();
    await g.subscribe({ topic: nsName(nsA, 'gic.products'), fromBeginning: true });
    const joinError = await new Promise<Error>((res) => {
      g.on(g.events.CRASH, (e) => res((e.payload as { error: Error }).error));
      g.run({ eachMessage: async () => {} }).catch(res);
    });
    // kafkajs reports the refused FindCoordinator as "Failed to find group coordinator"; the broker says why
    expect(joinError.message).toMatch(/authoriz|coordinator/i);
    await g.disconnect().catch(() => {});
    const denied = readFileSync(join(home, 'logs', 'kafka-authorizer.log'), 'utf8').split('\n').filter((l) => l.includes('Principal = User:acme is Denied'));
    expect(denied.some((l) => l.includes(`Group:LITERAL:${nsName(nsA, 'fsc')} `)), 'the broker denied the stage group').toBe(true);
    // the registry: reads, cannot write
    const auth = { Authorization: `Basic ${Buffer.from(`${consumer.user}:${consumer.password}`).toString('base64')}` };
    const url = platformConfig().registryUrl;
    expect((await fetch(`${url}/subjects`, { headers: auth })).status).toBe(200);
    const write = await fetch(`${url}/subjects/${nsA}.forged-value/versions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: '"string"' }) });
    expect(write.status).toBe(403);
    // removing it: refused from then on
  }, 180_000);

  it('runs DC3 with every stage on its own principal; the example consumer reads its products', async () => {
    const { runDc3 } = await import('../streams/dc3/run.ts');
    const out = mkdtempSync(join(tmpdir(), 'gft-secure-dc3-'));
    const s = (await runDc3({ out, namespace: nsDc3, camera: 'coatli', speed: 0, seed: 7, frames: 10, timeoutS: 300, log: () => {} })) as Record<string, any>;
    log(`DC3 on the secured stack: ${s.outcome}, chain ${s.chainSeconds} s, ${s.products.length} products`);
    expect(s.outcome).toBe('complete');
    expect(s.products.length).toBeGreaterThanOrEqual(4);
    expect(s.products.every((p: any) => p.status === 'accepted')).toBe(true);
    expect(Object.values(s.dlq).every((n) => n === 0)).toBe(true);

    // who did what, from the broker: every stage of the chain under its own principal, on its own topics
    const authz = readFileSync(join(home, 'logs', 'kafka-authorizer.log'), 'utf8').split('\n').filter((l) => l.includes(`${nsDc3}.`));
    const allowed = (p: string) => authz.filter((l) => l.includes(`Principal = User:${p} is Allowed`));
    for (const [stage, op, topic] of [
      ['alerts', 'Write', 'gp1.trigger'],
      ['provider', 'Write', 'images.raw'],
      ['gp1-calibration', 'Write', 'gp1.calibrated'],
      ['gp1-detection', 'Write', 'gp1.candidates'],
      ['gic', 'Write', 'gic.products'],
      ['fsc', 'Write', 'fsc.receipts'],
      ['clickhouse-sink', 'Read', 'ops.metrics'],
    ])
      expect(allowed(stage).some((l) => l.includes(`operation = ${op.toUpperCase()} `) && l.includes(`Topic:LITERAL:${nsDc3}.${topic} `)), `${stage} ${op} ${topic}`).toBe(true);
    expect(allowed('admin').some((l) => / operation = WRITE /.test(l) && !l.includes('voevent.raw')), 'the operator wrote only the alert').toBe(false);
    expect(authz.filter((l) => / is Denied /.test(l) && STAGE_PRINCIPALS.some((p) => l.includes(`User:${p} `)))).toEqual([]);

    // examples/product-consumer.ts with the consumer's credentials
    const { consumeProducts } = await import('../examples/product-consumer.ts');
    const got: string[] = [];
    const done = new Promise<void>((res) => {
      const c = consumeProducts({
        brokers: bootstrap,
        registryUrl: platformConfig().registryUrl,
        groupId: 'acme.products',
        topic: nsName(nsDc3, 'gic.products'),
        storageDir: join(home, 'storage'),
        outDir: join(out, 'downloaded'),
        fromBeginning: true,
        saslUser: consumer.user,
        saslPassword: consumer.password,
        ca,
        onProduct: (p) => {
          got.push(`${p.productId}/${p.revision}`);
          if (new Set(got).size >= s.products.length) res();
        },
      });
      void c.then((x) => done.finally(() => x.stop()));
    });
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`example consumer got ${got.length} of ${s.products.length} products in 60 s`)), 60_000))]);
    expect(new Set(got).size).toBe(s.products.length);
    expect(readdirSync(join(out, 'downloaded')).filter((f) => f.endsWith('.fits')).length).toBe(s.products.length);
    rmSync(out, { recursive: true, force: true });
  }, 420_000);

  it('ClickHouse: the writer needs its password, the reader cannot write', async () => {
    const url = platformConfig().clickhouseUrl;
    const q = (sql: string, user?: string, password?: string) => fetch(url, { method: 'POST', body: sql, headers: user ? { 'X-ClickHouse-User': user, 'X-ClickHouse-Key': password ?? '' } : {} });
    const secret = (u: string) => readFileSync(join(home, 'secure', 'users', `clickhouse-${u}.password`), 'utf8').trim();
    expect((await q('SELECT 1', 'default', 'wrong')).status).not.toBe(200);
    expect((await q('SELECT 1', 'default', secret('default'))).status).toBe(200);
    const read = await q('SELECT count() FROM sdb.products', 'reader', secret('reader'));
    expect(read.status).toBe(200);
    expect(Number((await read.text()).trim())).toBeGreaterThan(0); // the DC3 run's SDB rows
    const w = await q('CREATE TABLE default.forged (x UInt8) ENGINE = Memory', 'reader', secret('reader'));
    expect(w.status).not.toBe(200);
    expect(await w.text()).toMatch(/readonly/i);
  });

  it('never printed a password, nor did the services log one', async () => {
    const secrets = [...users.INTERNAL_PRINCIPALS.map(pw), ...(consumer ? [consumer.password] : []), ...['default', 'reader'].map((u) => readFileSync(join(home, 'secure', 'users', `clickhouse-${u}.password`), 'utf8').trim())];
    const ours = printed.join('');
    expect(ours.length).toBeGreaterThan(1000); // the stages and the stack did log
    for (const s of secrets) expect(ours.includes(s)).toBe(false);
    const logs = join(home, 'logs');
    for (const f of readdirSync(logs)) {
      const text = readFileSync(join(logs, f), 'utf8');
      for (const s of secrets) expect(text.includes(s), `${f}`).toBe(false);
    }
  });
});
