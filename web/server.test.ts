/**
 * The web server against the real ClickHouse (scratch databases, DC3-like dataset): access control,
 * login, sessions, CSRF, roles, data pages, log search with hostile text, download, live updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomNamespace, stackReady } from '../lib/runtime/testing.ts';
import { Client, createHarness, PASSWORDS, USERS, type Harness } from './testing/harness.ts';
import { DC3 } from './testing/dataset.ts';
import { SdbQueries } from './data/sdb.ts';
import { UserStore } from './auth/stores.ts';
import { TelemetryQueries } from './data/telemetry.ts';
import { ident, raw, sql } from '../connectors/clickhouse/sql.ts';
import { ClickHouse } from '../connectors/clickhouse/client.ts';
import { platformConfig } from '../lib/config/platform.ts';
import { Logger } from '../lib/runtime/log.ts';
import { verifyPassword } from './auth/password.ts';
import { webConfig } from './config.ts';
import { migrateWeb } from './migrations.ts';
import { WebServer } from './server.ts';
import { ROLLUP } from './rollup.ts';
import { request as httpRequest } from 'node:http';
import { insertTelemetry } from '../connectors/clickhouse/rollup.ts';

const ready = await stackReady();

describe.skipIf(!ready)('web server (ClickHouse)', () => {
  let h: Harness;
  const as = async (role: keyof typeof USERS) => {
    const c = new Client(h.url);
    const r = await c.login(USERS[role], PASSWORDS[role]);
    expect(r.status).toBe(303);
    return c;
  };

  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows nothing but the login page to anonymous visitors (pages redirect, API and fragments 401)', async () => {
    const c = new Client(h.url);
    for (const p of ['/', '/weather', '/telescope', '/products', `/products/${h.dataset.products[0].productId}/download`, '/shifts', '/monitoring', '/admin/users', '/no-such-page', '/static/app.js']) {
      const r = await c.req(p);
      expect(r.status, p).toBe(303);
      expect(r.headers.get('location')).toBe(`/login?next=${encodeURIComponent(p)}`);
    }
    for (const p of ['/api/stages', '/api/telemetry?source=tcs&metrics=alt', '/api/events', '/api/products', '/fragment/dash-burst']) {
      const r = await c.req(p);
      expect(r.status, p).toBe(401);
      expect(await r.json()).toEqual({ error: 'authentication required' });
    }
    const post = await c.req('/shifts', { form: { duty: 'backup' } });
    expect(post.status).toBe(303);
    const login = await c.text('/login');
    expect(login.status).toBe(200);
    expect(login.body).toContain('id="login-form"');
    expect(login.res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(login.res.headers.get('x-frame-options')).toBe('DENY');
    expect((await c.req('/static/app.css')).status).toBe(200);
  });

  it('logs in with the right password only, with a generic error, and sets a strict session cookie', async () => {
    const c = new Client(h.url);
    const bad = await c.login(USERS.admin, 'wrong-password-1');
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('Invalid user name or password.');
    const nobody = await c.login('nobody', 'wrong-password-1');
    expect(nobody.status).toBe(401);
    // no CSRF token: refused
    const noToken = await c.req('/login', { form: { username: USERS.admin, password: PASSWORDS.admin } });
    expect(noToken.status).toBe(403);
    const ok = await c.login(USERS.admin, PASSWORDS.admin);
    expect(ok.status).toBe(303);
    const setCookie = ok.headers.getSetCookie().find((s) => s.startsWith('gft_session='))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP on 127.0.0.1
    const me = await c.req('/api/me');
    expect(await me.json()).toEqual({ username: USERS.admin, role: 'admin' });
  });

  it('throttles repeated failures', async () => {
    await new UserStore(h.ch, 0).create('tess', 'viewer', 'kestrel-9876-pass', 'test');
    const c = new Client(h.url);
    for (let i = 0; i < 5; i++) expect((await c.login('tess', `bad-password-${i}`)).status).toBe(401);
    expect((await c.login('tess', 'kestrel-9876-pass')).status).toBe(429);
  });

  it('marks cookies Secure (and __Host-) behind a TLS proxy', async () => {
    const s = await h.startServer({ GFT_WEB_TRUST_PROXY: 'true', GFT_WEB_PUBLIC_ORIGIN: 'https://gic.example.org' });
    const c = new Client(s.url);
    const page = await c.req('/login', { headers: { 'x-forwarded-proto': 'https' } });
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
    expect(page.headers.getSetCookie()[0]).toMatch(/^__Host-gft_login_csrf=.*; Secure/);
    const r = await c.req('/login', { form: { _csrf: token, username: USERS.shifter, password: PASSWORDS.shifter }, headers: { 'x-forwarded-proto': 'https', origin: 'https://gic.example.org' } });
    expect(r.status).toBe(303);
    expect(r.headers.getSetCookie().find((x) => x.startsWith('__Host-gft_session='))).toMatch(/HttpOnly; Secure/);
    expect(r.headers.get('strict-transport-security')).toBeTruthy();
  });

  it('serves every page with the DC3 data', async () => {
    const c = await as('viewer');
    const pid = `${DC3.burstId}_01_010`;
    const expectations: Record<string, string[]> = {
      '/': [DC3.burstId, 'id="tcs-state"', 'data-stage="gp1-detection"', pid, 'astrometry failed'],
      '/weather': ['id="weather-verdict"', 'class="plot"', 'Temperature and dew point'],
      '/telescope': ['Altitude', 'class="plot"', 'State changes', 'badge slewing'],
      '/products': [pid, 'c1'],
      [`/products/${pid}`]: ['id="download"', 'id="thumbs"', 'CUTOUT_c1', 'id="lightcurve"', 'BURST_ID= &#39;sb19101601&#39;'],
      '/shifts': ['Schedule'],
      '/shifters': ['Shifters'],
      '/monitoring': ['id="plot-throughput"', 'gft-node1', 'id="log-search"'],
    };
    for (const [p, needles] of Object.entries(expectations)) {
      const r = await c.text(p);
      expect(r.status, p).toBe(200);
      for (const n of needles) expect(r.body, `${p} contains ${n}`).toContain(n);
      expect(r.res.headers.get('cache-control')).toBe('no-store');
    }
    const api = await c.req('/api/telemetry?source=weather&metrics=temperature,humidity&range=24h');
    const j = (await api.json()) as { series: { metric: string; points: unknown[] }[]; bucketSec: number };
    expect(j.bucketSec).toBe(300);
    expect(j.series.map((s) => s.metric)).toEqual(['temperature', 'humidity']);
    expect(j.series[0].points.length).toBeGreaterThan(100);
    expect((await c.req('/api/telemetry?source=tcs%27%3B&metrics=alt')).status).toBe(400);
  });

  it('reads long windows from the one-minute rollup, with the raw rows\' min, max and mean', async () => {
    const withRollup = h.server.deps.telemetry;
    expect(String(withRollup.rollup?.minute)).toBe(`\`${h.db}\`.\`${ROLLUP}\``);
    const raw = new TelemetryQueries(h.ch);
    const end = h.dataset.telemetryEnd;
    for (const [start, bucket] of [[end - 86400_000, 300], [end - 7 * 86400_000, 1800]]) {
      const a = await withRollup.series('weather', ['temperature', 'windGust'], start, end, bucket);
      const b = await raw.series('weather', ['temperature', 'windGust'], start, end, bucket);
      expect(a.map((s) => s.points.length)).toEqual(b.map((s) => s.points.length));
      a.forEach((s, i) =>
        s.points.forEach((p, j) => {
          const q = b[i].points[j];
          expect([p.t, p.min, p.max]).toEqual([q.t, q.min, q.max]);
          expect(p.avg).toBeCloseTo(q.avg, 9);
        }),
      );
    }
    const sa = await withRollup.stats('weather', ['pressure'], end - 86400_000, end);
    const sb = await raw.stats('weather', ['pressure'], end - 86400_000, end);
    expect(sa.pressure.n).toBe(sb.pressure.n);
    expect(sa.pressure.max).toBe(sb.pressure.max);
    // new rows reach the rollup as the ClickHouse sink writes them (rows, then their minutes recomputed)
    const t = Math.floor(end / 1000) + 3600;
    await insertTelemetry(h.ch, [{ source: 'weather', metric: 'temperature', time: t, ms: 0, value: 99.5, state: 'dry', version: t * 1000 }]);
    const after = await withRollup.series('weather', ['temperature'], (t - 60) * 1000, (t + 60) * 1000, 60);
    expect(after[0].points).toEqual([{ t: t * 1000 - ((t * 1000) % 60_000), avg: 99.5, min: 99.5, max: 99.5 }]);
    const n = await h.ch.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(`${h.db}.${ROLLUP}`)}`);
    expect(Number(n[0].n)).toBeGreaterThan(1000);
  });

  it('searches logs with hostile text as a literal', async () => {
    const c = await as('viewer');
    const rows = async (q: string) => ((await (await c.req(`/api/logs?range=30d&q=${encodeURIComponent(q)}`)).json()) as { rows: { message: string }[] }).rows;
    expect((await rows("O'Hara")).map((r) => r.message)).toEqual(["message sent to DLQ (field 'O'Hara' test)"]);
    expect(await rows("') OR 1=1 --")).toEqual([]);
    expect(await rows('\\')).toEqual([]);
    expect(await rows("'; DROP DATABASE x; --")).toEqual([]);
    expect((await rows('ASTROMETRY')).length).toBe(2); // the error's message and the DLQ warning's fields
    const page = await c.text(`/monitoring?q=${encodeURIComponent('<script>x</script>')}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<script>x</script>');
    expect(page.body).toContain('&lt;script&gt;x&lt;/script&gt;');
  });

  it('shows the highest revision of each product, and the candidates of the highest accepted one', async () => {
    const c = await as('viewer');
    const list = (await (await c.req(`/api/products?burst=${DC3.burstId}`)).json()) as { products: { productId: string; revision: number; status: string }[] };
    expect(list.products.map((p) => `${p.productId.slice(-5)}:${p.revision}:${p.status}`).sort()).toEqual(['1_005:0:accepted', '1_010:1:accepted', '1_030:1:rejected', '1_060:0:accepted', 'final:0:accepted']);
    const rejected = await c.text(`/products/${DC3.burstId}_01_030`);
    expect(rejected.body).toContain('HDU 2: DATASUM does not match the data');
    expect(rejected.body).toContain('revision 0, the highest accepted one');
    expect(rejected.body.match(/<tr><td>c\d<\/td>/g)).toHaveLength(3);
    const sdb = h.server.deps.sdb;
    const c010 = await sdb.candidates({ productId: `${DC3.burstId}_01_010` });
    expect(c010.map((x) => x.candidateId)).toEqual(['c1', 'c2', 'c3']);
    expect(c010.find((x) => x.candidateId === 'c2')!.mag).toBeCloseTo(18.45, 9); // revision 1 (+0.05), not revision 0
    const lc = await sdb.lightCurve({ productId: `${DC3.burstId}_01_010` });
    expect(lc.filter((p) => p.candidateId === 'c2').every((p) => Math.abs(p.mag - 18.45) < 0.02)).toBe(true);
    const burst = await sdb.candidates({ burstId: DC3.burstId, limit: 1000 });
    expect(burst).toHaveLength(15); // 5 products × 3, the rejected delivery contributing its accepted revision's
    expect((await sdb.currentBurst())?.products).toBe(5);
  });

  it('downloads the product file byte for byte, and renders thumbnails', async () => {
    const c = await as('viewer');
    const p = h.dataset.products.find((x) => x.productId.endsWith('_010') && x.revision === 1)!; // the latest delivery
    const r = await c.req(`/products/${encodeURIComponent(p.productId)}/download`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="${p.productId}.fits"`);
    expect(Buffer.from(await r.arrayBuffer()).equals(p.bytes)).toBe(true);
    const t = await c.req(`/products/${encodeURIComponent(p.productId)}/thumb/1`);
    expect(t.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await t.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    expect((await c.req(`/products/${encodeURIComponent(p.productId)}/thumb/4`)).status).toBe(404); // the table HDU
    expect((await c.req('/products/nope/download')).status).toBe(404);
  });

  it('enforces roles and CSRF on every change', async () => {
    const viewer = await as('viewer');
    const shifter = await as('shifter');
    const admin = await as('admin');
    // a shifter cannot manage users
    expect((await shifter.req('/admin/users')).status).toBe(403);
    const sc = await shifter.csrf('/shifts');
    expect((await shifter.req('/admin/users', { form: { _csrf: sc, username: 'mallory', role: 'admin', password: 'mallory-pass-123' } })).status).toBe(403);
    // shifters manage shifters and shifts
    const made = await shifter.req('/shifters', { form: { _csrf: sc, name: 'Alberto Castro-Tirado', email: 'ajct@example.org', phone: '+34 958 000 000' } });
    expect(made.status).toBe(303);
    const sid = /data-shifter="([^"]+)"/.exec((await shifter.text('/shifters')).body)![1];
    const start = new Date(Date.now() - 3600_000).toISOString().slice(0, 16);
    const end = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 16);
    expect((await shifter.req('/shifts', { form: { _csrf: sc, shifterId: sid, duty: 'night operator', start, end, status: 'confirmed', notes: 'DC3 <b>night</b>' } })).status).toBe(303);
    const list = await shifter.text('/shifts');
    expect(list.body).toContain('id="on-shift"');
    expect(list.body).toContain('Alberto Castro-Tirado');
    expect(list.body).toContain('DC3 &lt;b&gt;night&lt;/b&gt;');
    const shiftId = /data-shift="([^"]+)"/.exec(list.body)![1];
    // invalid input: a readable error, nothing saved
    const bad = await shifter.req('/shifts', { form: { _csrf: sc, shifterId: sid, duty: 'night operator', start: end, end: start } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('the shift must end after it starts');
    // update
    expect((await shifter.req(`/shifts/${shiftId}`, { form: { _csrf: sc, shifterId: sid, duty: 'night operator', start, end, status: 'done', notes: '' } })).status).toBe(303);
    expect((await viewer.text('/shifts')).body).toContain('badge done');
    // a viewer reads but cannot edit
    const vc = await viewer.csrf('/shifts');
    expect((await viewer.text('/shifts')).body).not.toContain('id="shift-form"');
    expect((await viewer.req(`/shifts/${shiftId}`, { form: { _csrf: vc, shifterId: sid, duty: 'backup', start, end, status: 'cancelled' } })).status).toBe(403);
    expect((await viewer.req('/shifters', { form: { _csrf: vc, name: 'Eve' } })).status).toBe(403);
    // CSRF: missing, wrong, or another user's token; cross-origin
    expect((await shifter.req(`/shifts/${shiftId}/delete`, { form: {} })).status).toBe(403);
    expect((await shifter.req(`/shifts/${shiftId}/delete`, { form: { _csrf: vc } })).status).toBe(403);
    expect((await shifter.req(`/shifts/${shiftId}/delete`, { form: { _csrf: sc }, headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await shifter.req(`/shifts/${shiftId}/delete`, { form: { _csrf: sc } })).status).toBe(303);
    expect((await viewer.text('/shifts')).body).not.toContain(shiftId);
    // admins manage users; disabling one ends their sessions at once
    const ac = await admin.csrf('/admin/users');
    expect((await admin.req('/admin/users', { form: { _csrf: ac, username: 'olga', role: 'viewer', password: 'merlin-5432-pass' } })).status).toBe(303);
    const olga = new Client(h.url);
    expect((await olga.login('olga', 'merlin-5432-pass')).status).toBe(303);
    expect((await olga.req('/')).status).toBe(200);
    expect((await admin.req('/admin/users/olga', { form: { _csrf: ac, role: 'viewer', disabled: '1' } })).status).toBe(303);
    expect((await olga.req('/')).status).toBe(303);
    expect((await olga.login('olga', 'merlin-5432-pass')).status).toBe(401);
    // an admin cannot lock themselves out
    expect((await admin.req(`/admin/users/${USERS.admin}`, { form: { _csrf: ac, role: 'viewer' } })).status).toBe(400);
  });

  it("refuses a POST whose Origin is another host even when its Host header names that host too (DNS rebinding; issue 16)", async () => {
    const admin = await as('admin');
    const token = await admin.csrf('/admin/users');
    const { port } = new URL(h.url);
    // fetch will not send another Host header: a raw request, as a re-bound browser page would make it
    const post = (host: string, origin: string) =>
      new Promise<number>((resolve, reject) => {
        const body = new URLSearchParams({ _csrf: token, username: `rebind${Math.random().toString(36).slice(2, 8)}`, role: 'admin', password: 'rebinding-pass-123' }).toString();
        const rq = httpRequest({ host: '127.0.0.1', port, path: '/admin/users', method: 'POST', headers: { host, origin, cookie: admin.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        rq.on('error', reject);
        rq.end(body);
      });
    expect(await post('evil.example', 'http://evil.example')).toBe(403);
    expect(await post(`evil.example:${port}`, `http://evil.example:${port}`)).toBe(403);
    // the same request from the listen address (or localhost, the loopback name) is accepted
    expect(await post(`127.0.0.1:${port}`, `http://127.0.0.1:${port}`)).toBe(303);
    expect(await post(`localhost:${port}`, `http://localhost:${port}`)).toBe(303);
    // a configured public origin replaces the listen address
    const s = await h.startServer({ GFT_WEB_PUBLIC_ORIGIN: 'https://gic.example.org' });
    const c = new Client(s.url);
    expect((await c.login(USERS.admin, PASSWORDS.admin)).status).toBe(303); // no Origin header from fetch: the token decides
    const t2 = await c.csrf('/admin/users');
    const form = { _csrf: t2, username: 'pubo', role: 'viewer', password: 'public-origin-123' };
    expect((await c.req('/admin/users', { form, headers: { origin: s.url } })).status).toBe(403);
    expect((await c.req('/admin/users', { form, headers: { origin: 'https://gic.example.org' } })).status).toBe(303);
  });

  it('logs out server-side, and sessions survive a restart of the server', async () => {
    const c = await as('viewer');
    const token = c.cookies.get('gft_session')!;
    const other = await h.startServer();
    const c2 = new Client(other.url);
    c2.cookies.set('gft_session', token);
    expect((await c2.req('/')).status).toBe(200);
    const csrf = await c.csrf('/');
    expect((await c.req('/logout', { form: { _csrf: csrf } })).status).toBe(303);
    const replay = new Client(h.url);
    replay.cookies.set('gft_session', token);
    expect((await replay.req('/')).status).toBe(303);
  });

  it('pushes live updates when new rows arrive', async () => {
    const c = await as('viewer');
    const ac = new AbortController();
    const res = await fetch(`${h.url}/api/events`, { headers: { cookie: c.cookieHeader() }, signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += dec.decode(value);
      }
    })();
    const until = async (needle: string, ms: number) => {
      const deadline = Date.now() + ms;
      while (!buf.includes(needle)) {
        if (Date.now() > deadline) throw new Error(`no '${needle}' in ${buf}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until('event: hello', 5000);
    await new Promise((r) => setTimeout(r, 1000)); // three ticks without new rows: nothing to signal
    expect(buf).not.toContain('event: update');
    buf = '';
    await insertTelemetry(h.ch, [{ source: 'tcs', metric: 'alt', time: Math.floor(h.dataset.telemetryEnd / 1000) + 30, ms: 0, value: 42, state: 'closed-weather', version: Date.now() }]);
    await until('event: update', 5000);
    ac.abort();
    await pump;
    expect((await c.text('/fragment/telescope-now')).body).toContain('closed-weather');
  });

  it('creates the initial admin from GFT_WEB_ADMIN_PASSWORD only when there is no user', async () => {
    const db = randomNamespace('webadm');
    const ch = new ClickHouse(platformConfig(), { database: db });
    try {
      await migrateWeb(ch);
      const mk = (password: string) =>
        new WebServer({ config: webConfig({ ...process.env, GFT_WEB_ADMIN_PASSWORD: password, GFT_WEB_ADMIN_USER: 'root' }), ch, storage: h.storage, log: new Logger('t', 'error') });
      await expect(mk('root-password-1').ensureAdmin()).rejects.toThrow(/must not contain the user name/);
      expect(await mk('').ensureAdmin()).toBeNull();
      expect(await mk('first-admin-pass-99').ensureAdmin()).toBe('root');
      expect(await mk('another-pass-12345').ensureAdmin()).toBeNull(); // a user exists: the variable is ignored
      const u = await new UserStore(ch, 0).get('root');
      expect(u?.role).toBe('admin');
      expect(await verifyPassword('first-admin-pass-99', u!.passwordHash)).toBe(true);
    } finally {
      await ch.exec(raw(`DROP DATABASE IF EXISTS ${ident(db)}`));
      await ch.close();
    }
  });

  it('shows an empty state when the SDB is absent', async () => {
    const s = await h.startServer({ GFT_SDB_DATABASE: 'gft_no_such_sdb' });
    const c = new Client(s.url);
    expect((await c.login(USERS.viewer, PASSWORDS.viewer)).status).toBe(303);
    const p = await c.text('/products');
    expect(p.status).toBe(200);
    expect(p.body).toContain('id="sdb-missing"');
    expect((await c.text('/')).body).toContain('No burst in the SDB yet.');
    expect(await new SdbQueries(h.ch, 'gft_no_such_sdb').products()).toEqual([]);
  });
});
