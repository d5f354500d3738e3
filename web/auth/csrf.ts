/**
 * CSRF protection for every state-changing request (all are POST; GET never changes anything):
 * 1. SameSite=Strict session cookies (cross-site requests carry no session);
 * 2. a synchronizer token per session, in a hidden `_csrf` field of each form (or the `x-csrf-token`
 *    header of script requests), compared in constant time with the one stored server-side;
 * 3. the login form (no session yet) uses a double-submit token: a random HttpOnly cookie and the same
 *    value in the form;
 * 4. an Origin (or Referer) header naming another origin is refused outright.
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

/** True when the request's Origin/Referer (if any) is this server's origin. */
export function sameOrigin(headers: { origin?: string; referer?: string; host?: string }, proto: 'http' | 'https'): boolean {
  const host = headers.host;
  if (!host) return false;
  const expected = `${proto}://${host}`.toLowerCase();
  const o = headers.origin;
  if (o !== undefined) return o.toLowerCase() === expected;
  const r = headers.referer;
  if (r !== undefined) {
    try {
      return new URL(r).origin.toLowerCase() === expected;
    } catch {
      return false;
    }
  }
  return true; // neither header (non-browser clients): the token still has to match
}
