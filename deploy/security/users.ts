/**
 * Principals of the local secured stack (`gft stack up --secure`) and their rights:
 *
 * - internal principals, one password file each under GFT_HOME/secure/users (0600, made once):
 *   `admin` (the operator's clients: gft dc3's monitor, topics, tests; a Kafka super user and
 *   registry admin), `registry` (Apicurio's KafkaSQL storage), and one per stage (lib/runtime/acls.ts);
 *   plus the ClickHouse users `default` (writer) and `reader` (read-only);
 * - outside consumers (`gft users add-consumer NAME`): a SCRAM user, READ on the public topics, groups
 *   `<NAME>.*`, and a read-only registry user. The password is printed once and not kept: only Kafka's
 *   salted SCRAM credentials and the registry's digest of it remain (GFT_HOME/secure/registry-users.json).
 *
 * SCRAM credentials are written through Kafka's Admin API by deploy/security/ScramUsers.java (Java's
 * source launcher, the broker jars on the class path), passwords on its standard input; ACLs through
 * kafkajs. Both authenticate with the operator certificate on the brokers' INTERNAL (mTLS) listener.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { repoRoot } from '../../lib/config/platform.ts';
import { ADMIN_PRINCIPAL, CLICKHOUSE_USERS, clickhousePasswordFile, passwordFile, secureRoot, usersDir } from '../../lib/config/localSecure.ts';
import { readSecretFile, rememberSecret } from '../../lib/config/secrets.ts';
import { applyAcls, consumerAcls, deletePrincipalAcls, namespaceAcls, registryAcls, STAGE_PRINCIPALS } from '../../lib/runtime/acls.ts';
import { exec } from '../lib/exec.ts';
import { findJava } from '../lib/java.ts';
import { caFile, operatorPem, operatorTls } from './pki.ts';

export const REGISTRY_PRINCIPAL = 'registry';
export const INTERNAL_PRINCIPALS = [ADMIN_PRINCIPAL, REGISTRY_PRINCIPAL, ...STAGE_PRINCIPALS];

/** Registry roles (Apicurio's defaults: apicurio.auth.roles.*). */
export type RegistryRole = 'sr-admin' | 'sr-developer' | 'sr-readonly';
export function registryRole(principal: string): RegistryRole {
  if (principal === ADMIN_PRINCIPAL) return 'sr-admin';
  if ((STAGE_PRINCIPALS as string[]).includes(principal)) return 'sr-developer'; // stages register their output schemas
  return 'sr-readonly';
}

/** A fresh password: 32 characters of base64url (192 bits). */
export const newPassword = () => randomBytes(24).toString('base64url');

function writeSecret(file: string, value: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Password files of every internal principal and ClickHouse user (made once, kept). */
export function ensurePasswords(home: string): void {
  mkdirSync(usersDir(home), { recursive: true, mode: 0o700 });
  chmodSync(secureRoot(home), 0o700);
  for (const p of INTERNAL_PRINCIPALS) if (!existsSync(passwordFile(home, p))) writeSecret(passwordFile(home, p), newPassword());
  for (const u of Object.values(CLICKHOUSE_USERS)) if (!existsSync(clickhousePasswordFile(home, u))) writeSecret(clickhousePasswordFile(home, u), newPassword());
}

export function internalPassword(home: string, principal: string): string {
  return readSecretFile(passwordFile(home, principal), `password of ${principal}`);
}

// --- the registry's users (Quarkus embedded realm: digests, never passwords) ---

export const REGISTRY_REALM = 'Quarkus';
/** What Quarkus' embedded realm stores for a user (algorithm digest-md5): HEX(MD5(user:realm:password)). */
export const registryDigest = (user: string, password: string) => createHash('md5').update(`${user}:${REGISTRY_REALM}:${password}`).digest('hex');

const registryUsersFile = (home: string) => join(secureRoot(home), 'registry-users.json');
type RegistryUsers = Record<string, { digest: string; role: RegistryRole }>;

export function outsideRegistryUsers(home: string): RegistryUsers {
  try {
    return JSON.parse(readFileSync(registryUsersFile(home), 'utf8')) as RegistryUsers;
  } catch {
    return {};
  }
}

function writeRegistryUsers(home: string, users: RegistryUsers): void {
  writeSecret(registryUsersFile(home), JSON.stringify(users, null, 2));
}

/** Every registry user: the internal principals (from their password files) and the outside consumers. */
export function registryUsers(home: string): RegistryUsers {
  const out: RegistryUsers = {};
  for (const p of INTERNAL_PRINCIPALS) if (p !== REGISTRY_PRINCIPAL) out[p] = { digest: registryDigest(p, internalPassword(home, p)), role: registryRole(p) };
  return { ...outsideRegistryUsers(home), ...out };
}

// --- Kafka: SCRAM users (Java, Kafka's Admin API) and ACLs (kafkajs), as the operator ---

/** Kafka client properties of the operator on the INTERNAL listener (for the Java tools). */
function operatorClientProperties(home: string, internal: string[]): string {
  return [`bootstrap.servers=${internal.join(',')}`, 'security.protocol=SSL', 'ssl.keystore.type=PEM', `ssl.keystore.location=${operatorPem(home)}`, 'ssl.truststore.type=PEM', `ssl.truststore.location=${caFile(home)}`, 'request.timeout.ms=20000', 'default.api.timeout.ms=60000', ''].join('\n');
}

/**
 * Runs ScramUsers.java with `commands` on its standard input; returns its output lines.
 * @throws Error with the tool's output (never the commands: they hold passwords)
 */
export async function scramUsers(home: string, internal: string[], commands: string[]): Promise<string[]> {
  for (const c of commands) if (!/^(upsert [A-Za-z0-9._-]+ [A-Za-z0-9_-]+|delete [A-Za-z0-9._-]+|list)$/.test(c)) throw new Error(`scram: malformed command for ${c.split(' ')[1] ?? c.split(' ')[0]}`);
  const props = join(secureRoot(home), 'operator.properties');
  writeFileSync(props, operatorClientProperties(home, internal), { mode: 0o600 });
  const java = findJava(17, process.env.GFT_KAFKA_JAVA).java;
  const { spawn } = await import('node:child_process');
  const out = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const p = spawn(java, ['-Xmx256m', '-cp', join(home, 'kafka', 'libs', '*'), `-Dlog4j2.configurationFile=${join(repoRoot, 'deploy', 'kafka', 'log4j2.xml')}`, `-Dkafka.logs.dir=${join(home, 'logs')}`, join(repoRoot, 'deploy', 'security', 'ScramUsers.java'), props], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (b: Buffer) => (output += b.toString()));
    p.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', (e) => reject(new Error(`${java}: ${e.message}`)));
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? 1, output });
    });
    p.stdin.end(commands.join('\n') + '\n');
  });
  const lines = out.output.split('\n').filter(Boolean);
  if (out.code !== 0 || !lines.includes('ok')) {
    const hint = /source-file mode|jdk\.compiler|Unable to find a javac/.test(out.output) ? ' (Java\'s source launcher needs a JDK: apt-get install openjdk-17-jdk-headless)' : '';
    throw new Error(`SCRAM users: ScramUsers.java exited with ${out.code}${hint}\n${lines.slice(-20).join('\n')}`);
  }
  return lines.filter((l) => l !== 'ok');
}

/** A kafkajs admin client of the operator (mTLS on the INTERNAL listener). */
export async function operatorAdmin(home: string, internal: string[]): Promise<Admin> {
  const { Kafka, logLevel } = kafkajs;
  const admin = new Kafka({ clientId: 'gft-operator', brokers: internal, ssl: operatorTls(home), logLevel: logLevel.NOTHING, retry: { retries: 5 } }).admin();
  await admin.connect();
  return admin;
}

const syncFile = (home: string) => join(secureRoot(home), 'scram-sync.json');

/**
 * After the brokers are up: every internal principal has its SCRAM credentials (written again only
 * when the cluster or the passwords changed since the last time: a marker keeps the cluster id and a
 * digest of the passwords), and the base ACLs hold: the registry's, and every stage's for the
 * production names (no namespace). Runs once per `stack up --secure` (~2-3 s when users are written).
 */
export async function secureKafka(home: string, internal: string[], clusterId: string, registry: { topics: string[]; groupPrefix: string }, log: (s: string) => void): Promise<void> {
  ensurePasswords(home);
  const digest = createHash('sha256');
  for (const p of INTERNAL_PRINCIPALS) digest.update(`${p}\0${internalPassword(home, p)}\0`);
  const marker = JSON.stringify({ clusterId, passwords: digest.digest('hex') });
  if (!existsSync(syncFile(home)) || readFileSync(syncFile(home), 'utf8') !== marker) {
    const t0 = Date.now();
    await scramUsers(home, internal, INTERNAL_PRINCIPALS.map((p) => `upsert ${p} ${internalPassword(home, p)}`));
    writeFileSync(syncFile(home), marker, { mode: 0o600 });
    log(`kafka: SCRAM credentials of ${INTERNAL_PRINCIPALS.length} principals written (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }
  const admin = await operatorAdmin(home, internal);
  try {
    await applyAcls(admin, [...registryAcls(registry.topics, registry.groupPrefix, REGISTRY_PRINCIPAL), ...namespaceAcls('')]);
  } finally {
    await admin.disconnect();
  }
}

// --- outside consumers ---

export interface NewConsumer {
  user: string;
  password: string;
  namespaces: string[];
}

/** Creates (or re-keys) an outside consumer: SCRAM credentials, ACLs, read-only registry user. */
export async function addConsumer(home: string, internal: string[], name: string, namespaces: string[]): Promise<NewConsumer> {
  const password = newPassword();
  rememberSecret(password);
  await scramUsers(home, internal, [`upsert ${name} ${password}`]);
  const admin = await operatorAdmin(home, internal);
  try {
    await applyAcls(admin, consumerAcls(name, namespaces));
  } finally {
    await admin.disconnect();
  }
  writeRegistryUsers(home, { ...outsideRegistryUsers(home), [name]: { digest: registryDigest(name, password), role: 'sr-readonly' } });
  return { user: name, password, namespaces };
}

/** Removes a principal's SCRAM credentials, ACLs and registry user; returns the number of ACLs removed. */
export async function removeUser(home: string, internal: string[], name: string): Promise<number> {
  await scramUsers(home, internal, [`delete ${name}`]);
  const admin = await operatorAdmin(home, internal);
  let n: number;
  try {
    n = await deletePrincipalAcls(admin, name);
  } finally {
    await admin.disconnect();
  }
  const users = outsideRegistryUsers(home);
  delete users[name];
  writeRegistryUsers(home, users);
  return n;
}

/** Users with SCRAM credentials, with their mechanisms. */
export async function listScramUsers(home: string, internal: string[]): Promise<Array<{ user: string; mechanisms: string[] }>> {
  const lines = await scramUsers(home, internal, ['list']);
  return lines.filter((l) => l.startsWith('user ')).map((l) => {
    const [, user, mechs] = l.split(' ');
    return { user, mechanisms: (mechs ?? '').split(',').filter(Boolean) };
  });
}
