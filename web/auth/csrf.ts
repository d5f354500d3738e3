/**
 * CSRF protection for every state-changing request (all are POST; GET never changes anything):
 * 1. SameSite=Strict session cookies (cross-site requests carry no session);
 * 2. a synchronizer token per session, in a hidden `_csrf` field of each form (or the `x-csrf-token`
 *    header of script requests), compared in constant time with the one stored server-side;
 * 3. the login form (no session yet) uses a double-submit token: a random HttpOnly cookie and the same
 *    value in the form;
 * 4. an Origin (or Referer) header naming another origin than the server's public one is refused
 *    outright — compared with the configured public origin, not with the Host header (DNS rebinding).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function tokensEqual(expected: string | undefined | null, got: string | undefined | null): boolean {
  if (!expected || !got) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An origin as browsers send it, normalised: lower-case scheme and host, default port dropped
 * (`https://GIC.example.org:443/x` → `https://gic.example.org`). Null for anything that is not an
 * http(s) URL (including the opaque origin `null`).
 */
export function normalizeOrigin(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return u.origin.toLowerCase();
}

/**
 * The origins a server listening on `address:port` is reached at when nobody configured its public
 * origin: the address itself; for a loopback address also `localhost`; for a wildcard address (0.0.0.0,
 * ::) every local interface address and `localhost`. Never a name a DNS server controls: a page on
 * `http://evil.example` whose name was re-bound to this address must not count as this server.
 */
export function listenOrigins(address: string, port: number, tls: boolean, interfaces: string[] = []): string[] {
  const scheme = tls ? 'https' : 'http';
  const hostOf = (a: string) => (a.includes(':') ? `[${a}]` : a);
  const wildcard = address === '' || address === '0.0.0.0' || address === '::' || address === '[::]';
  const loopback = /^127\./.test(address) || address === '::1' || address === 'localhost';
  const hosts = wildcard ? [...interfaces, 'localhost'] : loopback ? [address, 'localhost'] : [address];
  return [...new Set(hosts.map((h) => normalizeOrigin(`${scheme}://${hostOf(h)}:${port}`)).filter((o): o is string => o !== null))];
}

/**
 * True when the request's Origin (else Referer) names one of the `allowed` origins — the server's
 * public origin (GFT_WEB_PUBLIC_ORIGIN, default: its listen address), never derived from the request's
 * own Host header (which a DNS-rebinding page controls). A request with neither header (a script, curl)
 * passes: its CSRF token still has to match.
 */
export function sameOrigin(headers: { origin?: string; referer?: string }, allowed: ReadonlySet<string>): boolean {
  const o = headers.origin;
  if (o !== undefined) {
    const n = normalizeOrigin(o);
    return n !== null && allowed.has(n);
  }
  const r = headers.referer;
  if (r !== undefined) {
    const n = normalizeOrigin(r);
    return n !== null && allowed.has(n);
  }
  return true;
}
