/**
 * Password hashing: scrypt (RFC 7914, node:crypto) with a random 16-byte salt per user, stored as
 * `scrypt$N$r$p$<salt b64>$<key b64>` so the cost can be raised later without invalidating old hashes
 * (`needsRehash`). Verification recomputes the key with the stored parameters and compares in constant
 * time (timingSafeEqual). Unknown users are checked against a dummy hash, so the response time does not
 * tell whether a user exists.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLen: number;
}

/** OWASP's scrypt minimum: N = 2^17, r = 8, p = 1 (128 MiB); 2^15 keeps a login under ~100 ms here. */
export const DEFAULT_PARAMS: ScryptParams = { N: 1 << 15, r: 8, p: 1, keyLen: 32 };

export const MIN_PASSWORD_LENGTH = 10;

function scrypt(password: string, salt: Buffer, prm: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: prm.N, r: prm.r, p: prm.p, maxmem: 256 * prm.N * prm.r + (1 << 20) };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, prm.keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, prm: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, prm);
  return `scrypt$${prm.N}$${prm.r}$${prm.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parse(stored: string): { prm: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20 || (N & (N - 1)) !== 0) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || key.length < 16) return null;
  return { prm: { N, r, p, keyLen: key.length }, salt, key };
}

let dummy: Promise<string> | undefined;

/** True when `password` matches `stored`; `stored` null = unknown user (still costs one scrypt). */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored ? parse(stored) : null;
  if (!parsed) {
    const d = parse(await (dummy ??= hashPassword('dummy password for timing')))!;
    await scrypt(password, d.salt, d.prm);
    return false;
  }
  const key = await scrypt(password, parsed.salt, parsed.prm);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

export function needsRehash(stored: string, prm: ScryptParams = DEFAULT_PARAMS): boolean {
  const p = parse(stored);
  return !p || p.prm.N < prm.N || p.prm.r < prm.r || p.prm.keyLen < prm.keyLen;
}

/** Why a new password is refused, or null. */
export function passwordProblem(password: string, username = ''): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'at most 1024 characters';
  if (username && password.toLowerCase().includes(username.toLowerCase())) return 'must not contain the user name';
  return null;
}
