/**
 * Cookies: parsing the Cookie header and writing Set-Cookie with the attributes the session needs:
 * HttpOnly (no script access), SameSite=Strict (never sent on cross-site requests: a first CSRF
 * barrier), Path=/, Secure when the request came over TLS; with Secure, the `__Host-` prefix pins the
 * cookie to this host (no Domain, Path=/, Secure), so a sibling sub-domain cannot overwrite it.
 */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!k || k in out) continue; // first one wins (the most specific path, per RFC 6265)
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSec?: number;
  httpOnly?: boolean;
}

/** Cookie name, `__Host-` prefixed when Secure. */
export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

export function serializeCookie(base: string, value: string, o: CookieOptions): string {
  const parts = [`${cookieName(base, o.secure)}=${encodeURIComponent(value)}`, 'Path=/', 'SameSite=Strict'];
  if (o.httpOnly !== false) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  if (o.maxAgeSec !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAgeSec))}`);
  return parts.join('; ');
}

export function clearCookie(base: string, secure: boolean): string {
  return serializeCookie(base, '', { secure, maxAgeSec: 0 });
}
