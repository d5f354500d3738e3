/**
 * The local certificate authority of `gft stack up --secure`, made with Debian's openssl (keys,
 * certificates) and keytool (a PKCS#12 trust store for Java clients), under GFT_HOME/secure/tls:
 *
 * - `ca.crt` / `ca.key`: a self-signed CA (10 years). `ca.crt` is what clients trust (GFT_KAFKA_CA);
 *   it is public, the key never leaves this folder.
 * - `kafka-<id>.pem`: broker node <id>'s PKCS#8 key + certificate (CN=gft-kafka-<id>, SAN 127.0.0.1
 *   and localhost, server and client auth) + the CA: Kafka's PEM key store. The node presents it on
 *   every listener and uses it as a client on the inter-broker and controller listeners (mTLS).
 * - `operator.pem`: the stack's own operator (CN=gft-operator), a super user on the mTLS listener:
 *   `gft stack` uses it to probe the brokers and to manage SCRAM users and ACLs.
 * - `truststore.p12`: the CA for Java clients (password `changeit`: a trust store holds no secret).
 *
 * Idempotent: what exists is kept (a broker certificate is re-issued only when missing). Private keys
 * are written 0600 in a 0700 folder.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execOk } from '../lib/exec.ts';
import { caFile, secureRoot } from '../../lib/config/localSecure.ts';

export { caFile };
export const tlsDir = (home: string) => join(secureRoot(home), 'tls');
export const brokerPem = (home: string, node: number) => join(tlsDir(home), `kafka-${node}.pem`);
export const operatorPem = (home: string) => join(tlsDir(home), 'operator.pem');
export const truststoreP12 = (home: string) => join(tlsDir(home), 'truststore.p12');
export const TRUSTSTORE_PASSWORD = 'changeit';

/** The principal Kafka derives from a certificate (ssl.principal.mapping.rules keeps the CN). */
export const brokerPrincipal = (node: number) => `gft-kafka-${node}`;
export const OPERATOR_PRINCIPAL = 'gft-operator';

const openssl = (args: string[], cwd: string) => execOk('openssl', args, { cwd, timeoutMs: 60_000 });

async function ensureCa(dir: string): Promise<void> {
  if (existsSync(join(dir, 'ca.crt')) && existsSync(join(dir, 'ca.key'))) return;
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-keyout', 'ca.key.tmp', '-out', 'ca.crt.tmp', '-subj', '/O=GFT-FGFT local stack/CN=GFT local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  chmodSync(join(dir, 'ca.key.tmp'), 0o600);
  renameSync(join(dir, 'ca.key.tmp'), join(dir, 'ca.key'));
  renameSync(join(dir, 'ca.crt.tmp'), join(dir, 'ca.crt'));
}

/** A key + certificate signed by the CA, written as one PEM file (key, certificate, CA). */
async function ensureLeaf(dir: string, name: string, cn: string): Promise<void> {
  const pem = join(dir, `${name}.pem`);
  if (existsSync(pem)) return;
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost', ''].join('\n'));
  try {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=GFT-FGFT local stack/CN=${cn}`], dir);
    chmodSync(join(dir, `${name}.key`), 0o600);
    await openssl(['x509', '-req', '-sha256', '-days', '825', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-extfile', ext, '-out', `${name}.crt`], dir);
    const tmp = `${pem}.tmp`;
    writeFileSync(tmp, [readFileSync(join(dir, `${name}.key`), 'utf8'), readFileSync(join(dir, `${name}.crt`), 'utf8'), readFileSync(join(dir, 'ca.crt'), 'utf8')].join(''), { mode: 0o600 });
    renameSync(tmp, pem);
  } finally {
    for (const f of [`${name}.csr`, `${name}.ext`]) rmSync(join(dir, f), { force: true });
  }
}

const making = new Map<string, Promise<void>>();

/**
 * CA, one certificate per broker node, the operator's, and the Java trust store. The nodes of a
 * cluster prepare concurrently: one run per GFT_HOME at a time (the others wait for it).
 */
export function ensurePki(home: string, nodes: number[], keytool: string): Promise<void> {
  const prev = making.get(home) ?? Promise.resolve();
  const p = prev.catch(() => {}).then(() => ensurePkiOnce(home, nodes, keytool));
  making.set(home, p);
  return p;
}

async function ensurePkiOnce(home: string, nodes: number[], keytool: string): Promise<void> {
  const dir = tlsDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(join(home, 'secure'), 0o700);
  await ensureCa(dir);
  for (const id of nodes) await ensureLeaf(dir, `kafka-${id}`, brokerPrincipal(id));
  await ensureLeaf(dir, 'operator', OPERATOR_PRINCIPAL);
  if (!existsSync(truststoreP12(home))) {
    const tmp = `${truststoreP12(home)}.tmp`;
    rmSync(tmp, { force: true });
    await execOk(keytool, ['-importcert', '-noprompt', '-alias', 'gft-local-ca', '-file', caFile(home), '-keystore', tmp, '-storetype', 'PKCS12', '-storepass', TRUSTSTORE_PASSWORD], { timeoutMs: 60_000 });
    renameSync(tmp, truststoreP12(home));
  }
}

/** The operator's TLS material for kafkajs (mTLS on the internal listener). */
export function operatorTls(home: string): { ca: string[]; cert: string; key: string } {
  const dir = tlsDir(home);
  return { ca: [readFileSync(caFile(home), 'utf8')], cert: readFileSync(join(dir, 'operator.crt'), 'utf8'), key: readFileSync(join(dir, 'operator.key'), 'utf8') };
}
