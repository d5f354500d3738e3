/**
 * The GIC web server: node:http (or node:https with GFT_WEB_TLS_CERT/KEY), server-rendered pages,
 * small vanilla JS, SVG plots; no outside requests.
 *
 * Request pipeline (in this order, for every request):
 * 1. security headers (CSP, nosniff, frame denial, no-store);
 * 2. session from the cookie → user (a disabled or deleted user has no session);
 * 3. route lookup; anything but the login page and its stylesheet needs a session: pages redirect to
 *    /login, `/api/*` and `/fragment/*` (and script requests) answer 401 — before a 404 is possible,
 *    so an anonymous visitor cannot even probe which URLs exist;
 * 4. the route's permission for the user's role (403 otherwise);
 * 5. POST: same-origin check (Origin/Referer against the public origin: GFT_WEB_PUBLIC_ORIGIN, default
 *    the listen address — never the request's Host header), then the form (≤ 64 KiB) and its CSRF token;
 * 6. the handler. Unexpected errors give a 500 page without details (details go to the log).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ClickHouse } from '../connectors/clickhouse/client.ts';
import type { LocalStorage } from '../connectors/storage/storage.ts';
import { Logger } from '../lib/runtime/log.ts';
import { cookieName, parseCookies } from './auth/cookies.ts';
import { listenOrigins, normalizeOrigin, sameOrigin, tokensEqual } from './auth/csrf.ts';
import { LoginLimiter } from './auth/limiter.ts';
import { can } from './auth/roles.ts';
import { SessionStore } from './auth/sessions.ts';
import { AuditLog, ClickHouseSessions, UserStore } from './auth/stores.ts';
import { publicOrigins, type WebConfig } from './config.ts';
import { PipelineQueries } from './data/pipeline.ts';
import { SdbQueries } from './data/sdb.ts';
import { ShiftStore } from './data/shifts.ts';
import { TelemetryQueries } from './data/telemetry.ts';
import type { Deps } from './deps.ts';
import { HttpError, readForm, redirect, securityHeaders, sendBytes, sendHtml, sendJson, type Ctx } from './http/context.ts';
import { html } from './http/html.ts';
import { Router } from './http/router.ts';
import { migrateWeb } from './migrations.ts';
import { rollupTable } from './rollup.ts';
import { LiveHub, registerApi } from './pages/api.ts';
import { registerDashboard } from './pages/dashboard.ts';
import { page } from './pages/layout.ts';
import { registerLogin, SESSION_COOKIE } from './pages/login.ts';
import { registerMonitoring } from './pages/monitoring.ts';
import { registerProducts } from './pages/products.ts';
import { registerShifts } from './pages/shifts.ts';
import { registerTelemetryPages } from './pages/telemetry.ts';
import { readerClient } from './reader.ts';
import { registerUsers } from './pages/users.ts';

const here = dirname(fileURLToPath(import.meta.url));

const STATIC: Record<string, { file: string; type: string; public: boolean }> = {
  '/static/app.css': { file: join(here, 'static', 'app.css'), type: 'text/css; charset=utf-8', public: true },
  '/static/app.js': { file: join(here, 'static', 'app.js'), type: 'text/javascript; charset=utf-8', public: false },
  // fitsjs (the npm FITS library, a browser library): the product page reads the FITS file in the browser with it
  '/static/fits.js': { file: join(dirname(createRequire(import.meta.url).resolve('fitsjs/package.json')), 'lib', 'fits.js'), type: 'text/javascript; charset=utf-8', public: false },
};

export interface WebServerOptions {
  config: WebConfig;
  ch: ClickHouse;
  /** a read-only ClickHouse user for the pages' data queries (telemetry, pipeline, SDB); default: web/reader.ts, else `ch` */
  chRead?: ClickHouse;
  storage: LocalStorage;
  log?: Logger;
  /** apply the web_ migrations at start (default true) */
  migrate?: boolean;
}

export class WebServer {
  readonly deps: Deps;
  readonly router = new Router();
  readonly log: Logger;
  private server?: Server;
  private readonly hub: LiveHub;
  private sweepTimer?: NodeJS.Timeout;
  private readonly staticCache = new Map<string, Buffer>();

  constructor(private readonly opts: WebServerOptions) {
    const { config, ch } = opts;
    const chRead = opts.chRead ?? readerClient(config) ?? ch;
    this.log = opts.log ?? new Logger('web');
    const sessionsDb = new ClickHouseSessions(ch);
    this.deps = {
      config,
      ch,
      storage: opts.storage,
      users: new UserStore(ch),
      sessions: new SessionStore({ ttlMs: config.sessionTtlHours * 3600_000, idleMs: config.sessionIdleMinutes * 60_000, persistence: sessionsDb }),
      audit: new AuditLog(ch),
      limiter: new LoginLimiter(),
      // the pages' data: read-only when a reader is configured; the web's own tables (users,
      // sessions, audit, shifts, rollup) need the writer
      telemetry: new TelemetryQueries(chRead),
      pipeline: new PipelineQueries(chRead),
      sdb: new SdbQueries(chRead, config.sdbDatabase),
      shifts: new ShiftStore(ch),
    };
    this.hub = new LiveHub(this.deps);
    registerLogin(this.router, this.deps);
    registerDashboard(this.router, this.deps);
    registerTelemetryPages(this.router, this.deps);
    registerProducts(this.router, this.deps);
    registerShifts(this.router, this.deps);
    registerMonitoring(this.router, this.deps);
    registerUsers(this.router, this.deps);
    registerApi(this.router, this.deps, this.hub);
  }

  /** Creates the first admin from GFT_WEB_ADMIN_PASSWORD when there is no user at all. */
  async ensureAdmin(): Promise<string | null> {
    const { adminUser, adminPassword } = this.opts.config;
    if ((await this.deps.users.count()) > 0) return null;
    if (!adminPassword) {
      this.log.warn('no web user exists: set GFT_WEB_ADMIN_PASSWORD or run `npx gft web adduser NAME --role admin`');
      return null;
    }
    await this.deps.users.create(adminUser, 'admin', adminPassword, 'bootstrap');
    await this.deps.audit.record('bootstrap', 'user.create', adminUser, 'admin (GFT_WEB_ADMIN_PASSWORD)');
    this.log.info('initial admin created', { user: adminUser });
    return adminUser;
  }

  /** The one-minute rollup for long windows (web/rollup.ts); raw rows only until it exists. */
  private async attachRollup(): Promise<void> {
    try {
      this.deps.telemetry.rollup = await rollupTable(this.deps.ch);
    } catch (e) {
      this.log.warn('telemetry rollup unavailable, plots read raw rows', { error: (e as Error).message });
    }
  }

  /** Starts listening; resolves with the base URL. */
  async start(): Promise<string> {
    if (this.opts.migrate !== false) await migrateWeb(this.deps.ch);
    await new ClickHouseSessions(this.deps.ch).purgeExpired().catch((e) => this.log.warn('session purge failed', { error: (e as Error).message }));
    await this.ensureAdmin();
    await this.attachRollup();
    const { config } = this.opts;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = config.tlsCert ? createHttps({ cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }, handler) : createHttp(handler);
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(config.port, config.host, () => resolve());
    });
    this.origins = this.allowedOrigins();
    this.sweepTimer = setInterval(() => {
      this.deps.sessions.sweep();
      if (!this.deps.telemetry.rollup) void this.attachRollup(); // `gft db migrate` ran after we started
    }, 60_000);
    this.sweepTimer.unref();
    return this.url;
  }

  /** Origins a POST may come from (see csrf.ts sameOrigin). */
  private origins: ReadonlySet<string> = new Set();

  private allowedOrigins(): ReadonlySet<string> {
    const configured = publicOrigins(this.opts.config.publicOrigin);
    if (configured.length) return new Set(configured.map((o) => normalizeOrigin(o)!));
    const a = this.server!.address() as AddressInfo;
    const addrs = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address));
    const list = listenOrigins(a.address, a.port, !!this.opts.config.tlsCert, addrs);
    if (this.opts.config.trustProxy) {
      this.log.warn('GFT_WEB_PUBLIC_ORIGIN is not set: behind a reverse proxy, forms posted from the public address will be refused', { accepted: list });
    }
    return new Set(list);
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.opts.config.tlsCert ? 'https' : 'http'}://${host}:${a.port}`;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.hub.close();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    });
  }

  private isSecure(req: IncomingMessage): boolean {
    const mode = this.opts.config.secureCookies;
    if (mode === 'always') return true;
    if (mode === 'never') return false;
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    return this.opts.config.trustProxy && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim() === 'https';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secure = this.isSecure(req);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const ip = (this.opts.config.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0].trim() : '') || req.socket.remoteAddress || '';
    const ctx: Ctx = { req, res, url, method: req.method ?? 'GET', path: url.pathname, params: {}, ip, secure, session: null, user: null, form: {} };
    securityHeaders(res, secure);
    try {
      await this.dispatch(ctx);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = e instanceof HttpError ? e.status : 500;
      if (status >= 500) this.log.error('request failed', { method: ctx.method, path: ctx.path, error: (e as Error).stack ?? String(e) });
      const msg = status >= 500 ? 'Something went wrong; the error was logged.' : (e as Error).message;
      if (this.wantsJson(ctx)) sendJson(ctx, status, { error: msg });
      else sendHtml(ctx, status, ctx.user ? page(ctx, { title: `Error ${status}`, body: html`<div class="card"><p id="error-message">${msg}</p><p><a href="/">Dashboard</a></p></div>` }) : html`<!doctype html><title>Error</title><p>${msg}</p>`);
    }
  }

  private wantsJson(ctx: Ctx): boolean {
    return ctx.path.startsWith('/api/') || ctx.path.startsWith('/fragment/') || ctx.req.headers['x-requested-with'] === 'fetch' || String(ctx.req.headers.accept ?? '').startsWith('application/json');
  }

  private async dispatch(ctx: Ctx): Promise<void> {
    const { req, res } = ctx;
    if (!['GET', 'HEAD', 'POST'].includes(ctx.method)) {
      res.setHeader('Allow', 'GET, HEAD, POST');
      throw new HttpError(405, 'method not allowed');
    }
    // 2. session → user
    const token = parseCookies(req.headers.cookie)[cookieName(SESSION_COOKIE, ctx.secure)];
    if (token) {
      const s = await this.deps.sessions.get(token);
      if (s) {
        const u = await this.deps.users.get(s.username);
        if (u && !u.disabled) {
          ctx.session = s;
          ctx.user = u;
        } else await this.deps.sessions.destroy(token);
      }
    }
    // static files
    if (ctx.path === '/favicon.ico') {
      res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
      return void res.end();
    }
    const st = STATIC[ctx.path];
    if (st && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      if (!st.public && !ctx.user) return this.unauthenticated(ctx);
      let body = this.staticCache.get(st.file);
      if (!body) this.staticCache.set(st.file, (body = readFileSync(st.file)));
      return sendBytes(ctx, 200, st.type, body, { 'Cache-Control': st.public ? 'public, max-age=300' : 'private, max-age=300' });
    }
    // 3. route and authentication
    const m = this.router.match(ctx.method, ctx.path);
    if (!m.route || m.route.access !== 'public') {
      if (!ctx.user) return this.unauthenticated(ctx);
    }
    if (!m.route) {
      if (m.allowed.length) {
        res.setHeader('Allow', m.allowed.join(', '));
        throw new HttpError(405, 'method not allowed');
      }
      throw new HttpError(404, 'not found');
    }
    ctx.params = m.params;
    // 4. role
    if (m.route.access !== 'public' && !can(ctx.user!.role, m.route.access)) {
      await this.deps.audit.record(ctx.user!.username, 'access.denied', `${ctx.method} ${ctx.path}`, m.route.access, ctx.ip).catch(() => {});
      throw new HttpError(403, `your role (${ctx.user!.role}) may not do this`);
    }
    // 5. POST: origin, form, CSRF
    if (ctx.method === 'POST') {
      if (!sameOrigin(req.headers, this.origins)) throw new HttpError(403, 'cross-origin request refused');
      ctx.form = await readForm(req);
      if (!m.route.ownCsrf) {
        const got = ctx.form._csrf ?? (req.headers['x-csrf-token'] as string | undefined);
        if (!ctx.session || !tokensEqual(ctx.session.csrf, got)) throw new HttpError(403, 'missing or invalid CSRF token; reload the page and try again');
      }
    }
    await m.route.handler(ctx);
  }

  private unauthenticated(ctx: Ctx): void {
    if (this.wantsJson(ctx)) return sendJson(ctx, 401, { error: 'authentication required' });
    const next = ctx.method === 'GET' ? ctx.path + ctx.url.search : '/';
    redirect(ctx, `/login?next=${encodeURIComponent(next)}`);
  }
}
