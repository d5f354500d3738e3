import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, passwordProblem, verifyPassword } from './password.ts';
import { can, ROLES } from './roles.ts';
import { clearCookie, parseCookies, serializeCookie } from './cookies.ts';
import { listenOrigins, newToken, normalizeOrigin, sameOrigin, tokensEqual } from './csrf.ts';
import { webConfig } from '../config.ts';
import { hashToken, SessionStore, type SessionPersistence, type SessionRecord } from './sessions.ts';
import { LoginLimiter } from './limiter.ts';

const FAST = { N: 1 << 10, r: 8, p: 1, keyLen: 32 };

describe('password hashing (scrypt, per-user salt, constant-time compare)', () => {
  it('hashes with a random salt and verifies', async () => {
    const a = await hashPassword('correct horse battery', FAST);
    const b = await hashPassword('correct horse battery', FAST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b); // salts differ
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });
  it('uses the default cost when none is given, and flags weaker hashes for rehash', async () => {
    const strong = await hashPassword('another long password');
    expect(strong.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(needsRehash(strong)).toBe(false);
    expect(needsRehash(await hashPassword('x'.repeat(12), FAST))).toBe(true);
    expect(needsRehash('md5$abc')).toBe(true);
  });
  it('rejects malformed stored hashes and unknown users, still spending one scrypt', async () => {
    expect(await verifyPassword('x', 'scrypt$1000$8$1$AAAA$BBBB')).toBe(false); // N not a power of two
    expect(await verifyPassword('x', 'plain')).toBe(false);
    const t0 = performance.now();
    expect(await verifyPassword('whatever', null)).toBe(false);
    const unknown = performance.now() - t0;
    const h = await hashPassword('whatever-password');
    const t1 = performance.now();
    await verifyPassword('whatever-password', h);
    const known = performance.now() - t1;
    expect(unknown).toBeGreaterThan(known * 0.3); // same cost, so no user enumeration by timing
  });
  it('password policy', () => {
    expect(passwordProblem('short')).toMatch(/at least/);
    expect(passwordProblem('sam-password-1', 'sam')).toMatch(/user name/);
    expect(passwordProblem('a long enough one')).toBeNull();
  });
});

describe('roles', () => {
  it('admin ⊃ shifter ⊃ viewer', () => {
    expect(ROLES).toEqual(['admin', 'shifter', 'viewer']);
    for (const r of ROLES) expect(can(r, 'view')).toBe(true);
    expect(can('viewer', 'shifts.edit')).toBe(false);
    expect(can('viewer', 'shifters.manage')).toBe(false);
    expect(can('shifter', 'shifts.edit')).toBe(true);
    expect(can('shifter', 'shifters.manage')).toBe(true);
    expect(can('shifter', 'users.manage')).toBe(false);
    expect(can('admin', 'users.manage')).toBe(true);
    expect(can(null, 'view')).toBe(false);
    expect(can('root' as never, 'view')).toBe(false);
  });
});

describe('cookies', () => {
  it('session cookies are HttpOnly, SameSite=Strict, Path=/; Secure with the __Host- prefix behind TLS', () => {
    const plain = serializeCookie('gft_session', 'abc', { secure: false, maxAgeSec: 60 });
    expect(plain).toBe('gft_session=abc; Path=/; SameSite=Strict; HttpOnly; Max-Age=60');
    const tls = serializeCookie('gft_session', 'abc', { secure: true });
    expect(tls).toBe('__Host-gft_session=abc; Path=/; SameSite=Strict; HttpOnly; Secure');
    expect(clearCookie('gft_session', false)).toContain('Max-Age=0');
  });
  it('parses the Cookie header (first value wins)', () => {
    expect(parseCookies('a=1; b=x%20y; a=2; junk; =3')).toEqual({ a: '1', b: 'x y' });
    expect(parseCookies(undefined)).toEqual({});
  });
});

describe('CSRF', () => {
  it('tokens are random, compared in constant time, and empty never matches', () => {
    const t = newToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(t);
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t, t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'))).toBe(false);
    expect(tokensEqual(t, t + 'x')).toBe(false);
    expect(tokensEqual('', '')).toBe(false);
    expect(tokensEqual(t, undefined)).toBe(false);
  });
  it('refuses another Origin or Referer than the public origin, whatever the Host header says (DNS rebinding)', () => {
    const allowed = new Set(['http://gic:8080']);
    expect(sameOrigin({ origin: 'http://gic:8080' }, allowed)).toBe(true);
    expect(sameOrigin({ origin: 'HTTP://GIC:8080' }, allowed)).toBe(true);
    expect(sameOrigin({ origin: 'https://evil.example' }, allowed)).toBe(false);
    expect(sameOrigin({ origin: 'https://gic:8080' }, allowed)).toBe(false);
    expect(sameOrigin({ origin: 'null' }, allowed)).toBe(false);
    expect(sameOrigin({ referer: 'http://gic:8080/shifts' }, allowed)).toBe(true);
    expect(sameOrigin({ referer: 'http://evil/x' }, allowed)).toBe(false);
    expect(sameOrigin({ referer: 'not a url' }, allowed)).toBe(false);
    expect(sameOrigin({}, allowed)).toBe(true); // no browser: the CSRF token decides
    // the request: Host and Origin both name the attacker's host
    expect(sameOrigin({ host: 'evil.example', origin: 'http://evil.example' } as { origin: string }, allowed)).toBe(false);
    expect(sameOrigin({ origin: 'https://gic.example.org:443' }, new Set(['https://gic.example.org']))).toBe(true);
  });

  it('the default public origin is the listen address (localhost too for loopback and wildcard), never a DNS name', () => {
    expect(listenOrigins('127.0.0.1', 8080, false)).toEqual(['http://127.0.0.1:8080', 'http://localhost:8080']);
    expect(listenOrigins('::1', 8443, true)).toEqual(['https://[::1]:8443', 'https://localhost:8443']);
    expect(listenOrigins('0.0.0.0', 80, false, ['127.0.0.1', '10.1.2.3', 'fe80::1'])).toEqual(['http://127.0.0.1', 'http://10.1.2.3', 'http://[fe80::1]', 'http://localhost']);
    expect(listenOrigins('10.1.2.3', 8080, false)).toEqual(['http://10.1.2.3:8080']);
    expect(normalizeOrigin('https://GIC.example.org:443/path?q')).toBe('https://gic.example.org');
    expect(normalizeOrigin('ftp://x')).toBeNull();
  });

  it('GFT_WEB_PUBLIC_ORIGIN must be origins, comma-separated', () => {
    expect(webConfig({ GFT_WEB_PUBLIC_ORIGIN: 'https://gic.example.org, http://10.0.0.5:8080' }).publicOrigin).toBe('https://gic.example.org, http://10.0.0.5:8080');
    for (const bad of ['gic.example.org', 'https://gic.example.org/pages', 'ftp://x', 'https://u:p@x']) expect(() => webConfig({ GFT_WEB_PUBLIC_ORIGIN: bad }), bad).toThrow(/GFT_WEB_PUBLIC_ORIGIN/);
  });
});

class MemoryPersistence implements SessionPersistence {
  rows = new Map<string, SessionRecord>();
  async save(r: SessionRecord) {
    this.rows.set(r.idHash, { ...r });
  }
  async load(idHash: string) {
    return this.rows.get(idHash) ?? null;
  }
  async liveFor(username: string, now: number) {
    return [...this.rows.values()].filter((r) => r.username === username && !r.revoked && r.expires > now).map((r) => r.idHash);
  }
}

describe('sessions', () => {
  const setup = () => {
    let now = 1_000_000;
    const persistence = new MemoryPersistence();
    const store = new SessionStore({ ttlMs: 3600_000, idleMs: 600_000, persistence, now: () => now });
    return { store, persistence, tick: (ms: number) => (now += ms) };
  };

  it('issues random 256-bit tokens and keeps only their hash server-side', async () => {
    const { store, persistence } = setup();
    const a = await store.create('ada');
    const b = await store.create('ada');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(persistence.rows.has(hashToken(a.token))).toBe(true);
    expect(JSON.stringify([...persistence.rows.values()])).not.toContain(a.token);
    expect((await store.get(a.token))?.username).toBe('ada');
    expect(await store.get('x'.repeat(43))).toBeNull();
    expect(await store.get(undefined)).toBeNull();
  });

  it('expires after the absolute TTL and after idling', async () => {
    const { store, tick } = setup();
    const { token } = await store.create('ada');
    for (let i = 0; i < 5; i++) {
      tick(500_000); // active every 8 min: never idle
      expect(await store.get(token)).not.toBeNull();
    }
    tick(1_200_000); // 3700 s after creation: past the 1 h TTL
    expect(await store.get(token)).toBeNull();
    const idle = await store.create('ada');
    tick(600_001);
    expect(await store.get(idle.token)).toBeNull();
  });

  it('survives a restart through the persistence, and revocations persist', async () => {
    const { store, persistence, tick } = setup();
    const { token } = await store.create('ada');
    const other = await store.create('ada');
    const restarted = new SessionStore({ ttlMs: 3600_000, idleMs: 600_000, persistence, now: () => 1_000_000 });
    expect((await restarted.get(token))?.username).toBe('ada');
    await restarted.destroy(token);
    expect(persistence.rows.get(hashToken(token))?.revoked).toBe(true);
    tick(30_001); // the first process re-checks its copy against the persistence
    expect(await store.get(token)).toBeNull();
    expect((await restarted.get(other.token))?.username).toBe('ada');
  });

  it('revokes every session of a user (password change, disabling) but can keep the current one', async () => {
    const { store } = setup();
    const a = await store.create('ada');
    const b = await store.create('ada');
    const c = await store.create('sam');
    expect(await store.destroyUser('ada', a.session.idHash)).toBe(1);
    expect(await store.get(a.token)).not.toBeNull();
    expect(await store.get(b.token)).toBeNull();
    expect(await store.get(c.token)).not.toBeNull();
  });
});

describe('login throttling', () => {
  it('blocks a user name after 5 failures in the window, then lets it go', () => {
    let now = 0;
    const l = new LoginLimiter(5, 60_000, () => now);
    for (let i = 0; i < 5; i++) {
      expect(l.blocked('ada', '10.0.0.1')).toBe(false);
      l.fail('ada', '10.0.0.1');
    }
    expect(l.blocked('ada', '10.0.0.2')).toBe(true);
    expect(l.blocked('sam', '10.0.0.2')).toBe(false);
    now += 60_001;
    expect(l.blocked('ada', '10.0.0.1')).toBe(false);
  });
});
