/**
 * Configuration of the GIC web server, declared once (typed, documented, defaulted, validated at boot).
 * Addresses of ClickHouse come from the platform config (lib/config/platform.ts).
 */
import { field, loadConfig } from '../lib/config/define.ts';
import { normalizeOrigin } from './auth/csrf.ts';

/** The configured public origins (GFT_WEB_PUBLIC_ORIGIN, comma-separated), as written. */
export function publicOrigins(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export const webSchema = {
  host: field<string>({ env: 'GFT_WEB_HOST', type: 'string', doc: 'Listen address (127.0.0.1: behind a TLS reverse proxy)', default: '127.0.0.1' }),
  port: field<number>({ env: 'GFT_WEB_PORT', type: 'int', doc: 'Listen port (0: any free port)', default: 8080, min: 0, max: 65535 }),
  sdbDatabase: field<string>({ env: 'GFT_SDB_DATABASE', type: 'string', doc: 'ClickHouse database of the SDB (products, candidates, lightcurve_points)', default: 'sdb' }),
  sessionTtlHours: field<number>({ env: 'GFT_WEB_SESSION_TTL_HOURS', type: 'number', doc: 'Absolute session lifetime, hours', default: 12, min: 0.01, max: 24 * 30 }),
  sessionIdleMinutes: field<number>({ env: 'GFT_WEB_SESSION_IDLE_MINUTES', type: 'number', doc: 'Session idle timeout, minutes', default: 120, min: 1 }),
  secureCookies: field<string>({ env: 'GFT_WEB_SECURE_COOKIES', type: 'string', doc: 'Secure cookie flag: auto (when the request came over TLS, directly or via a trusted proxy), always, never', default: 'auto' }),
  trustProxy: field<boolean>({ env: 'GFT_WEB_TRUST_PROXY', type: 'boolean', doc: 'Trust X-Forwarded-Proto from the reverse proxy (only when the server listens on a private address)', default: false }),
  tlsCert: field<string>({ env: 'GFT_WEB_TLS_CERT', type: 'string', doc: 'PEM certificate file: serve HTTPS directly (with GFT_WEB_TLS_KEY)', default: '' }),
  tlsKey: field<string>({ env: 'GFT_WEB_TLS_KEY', type: 'string', doc: 'PEM private key file', default: '', secret: true }),
  liveIntervalMs: field<number>({ env: 'GFT_WEB_LIVE_INTERVAL_MS', type: 'int', doc: 'How often live pages are told to refresh (Server-Sent Events)', default: 5000, min: 200 }),
  publicOrigin: field<string>({ env: 'GFT_WEB_PUBLIC_ORIGIN', type: 'string', doc: 'Origin(s) users reach the pages at, comma-separated (e.g. https://gic.example.org behind a TLS proxy). A POST whose Origin/Referer names another origin is refused (CSRF, DNS rebinding). Default: the listen address (and localhost when it is a loopback or wildcard address)', default: '' }),
  adminUser: field<string>({ env: 'GFT_WEB_ADMIN_USER', type: 'string', doc: 'Name of the initial admin created at start when no user exists', default: 'admin' }),
  clickhouseReadUser: field<string>({ env: 'GFT_WEB_CLICKHOUSE_READ_USER', type: 'string', doc: 'ClickHouse user (read-only) for the pages\' data queries — telemetry, pipeline, SDB (empty: GFT_CLICKHOUSE_USER; on the local secured stack: `reader`)', default: '' }),
  clickhouseReadPassword: field<string>({ env: 'GFT_WEB_CLICKHOUSE_READ_PASSWORD', type: 'string', doc: 'Its password (or GFT_WEB_CLICKHOUSE_READ_PASSWORD_FILE)', default: '', secret: true }),
  adminPassword: field<string>({ env: 'GFT_WEB_ADMIN_PASSWORD', type: 'string', doc: 'Password of the initial admin (only used when no user exists)', default: '', secret: true }),
};

export type WebConfig = ReturnType<typeof webConfig>;

export function webConfig(env: Record<string, string | undefined> = process.env) {
  const c = loadConfig(webSchema, env);
  if (!['auto', 'always', 'never'].includes(c.secureCookies)) throw new Error(`GFT_WEB_SECURE_COOKIES: expected auto, always or never, got '${c.secureCookies}'`);
  if (!!c.tlsCert !== !!c.tlsKey) throw new Error('GFT_WEB_TLS_CERT and GFT_WEB_TLS_KEY go together');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.sdbDatabase)) throw new Error(`GFT_SDB_DATABASE: not a database name: '${c.sdbDatabase}'`);
  for (const o of publicOrigins(c.publicOrigin)) {
    let u: URL | null = null;
    try {
      u = new URL(o);
    } catch {
      /* reported below */
    }
    if (!u || !normalizeOrigin(o) || u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
      throw new Error(`GFT_WEB_PUBLIC_ORIGIN: '${o}' is not an origin (http(s)://host[:port], no path), e.g. https://gic.example.org`);
    }
  }
  return c;
}
