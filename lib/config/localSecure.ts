/**
 * Where the local secured stack (`gft stack up --secure`, deploy/security/) keeps what clients need:
 * GFT_HOME/secure/tls/ca.crt (the CA to trust) and GFT_HOME/secure/users/<principal>.password (one
 * file per internal principal: `admin`, `registry`, each stage; 0600). Clients on this machine that
 * are given no credentials of their own use these (lib/config/platform.ts); outside consumers get
 * theirs once from `gft users add-consumer` and nothing of theirs is kept here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSecretFile } from './secrets.ts';

export const secureRoot = (home: string) => join(resolve(home), 'secure');
export const caFile = (home: string) => join(secureRoot(home), 'tls', 'ca.crt');
export const usersDir = (home: string) => join(secureRoot(home), 'users');
export const passwordFile = (home: string, principal: string) => join(usersDir(home), `${principal}.password`);

/** The operator principal of the local stack's clients (a Kafka super user, registry admin). */
export const ADMIN_PRINCIPAL = 'admin';
/** The ClickHouse users of the secured stack: `default` (migrations, sinks, writers) and `reader` (read-only: web pages, analysts). */
export const CLICKHOUSE_USERS = { writer: 'default', reader: 'reader' } as const;
export const clickhousePasswordFile = (home: string, user: string) => join(usersDir(home), `clickhouse-${user}.password`);

/** True when GFT_HOME/stack.json says the local stack runs secured. */
export function stackSecure(home: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(resolve(home), 'stack.json'), 'utf8')) as { secure?: unknown }).secure === true;
  } catch {
    return false;
  }
}

/** The password of a local principal, or null when the stack has none for it. */
export function localPassword(home: string, principal: string): string | null {
  const f = passwordFile(home, principal);
  return existsSync(f) ? readSecretFile(f, `password of ${principal}`) : null;
}
