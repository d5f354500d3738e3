/**
 * Login, logout and the own-account page. The login form is the only page an anonymous visitor
 * gets. Its CSRF token is a double-submit one (random HttpOnly SameSite=Strict cookie + hidden field);
 * failures answer with one generic message (no user enumeration) and are throttled per user and
 * address. A successful login issues a fresh session token (no fixation).
 */
import { clearCookie, cookieName, parseCookies, serializeCookie } from '../auth/cookies.ts';
import { newToken, tokensEqual } from '../auth/csrf.ts';
import { verifyPassword } from '../auth/password.ts';
import { UserError } from '../auth/stores.ts';
import type { Deps } from '../deps.ts';
import { redirect, safeNext, sendHtml, type Ctx } from '../http/context.ts';
import { html } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { csrfField, flashOf, page } from './layout.ts';

export const SESSION_COOKIE = 'gft_session';
export const LOGIN_CSRF_COOKIE = 'gft_login_csrf';

function loginPage(ctx: Ctx, token: string, next: string, error?: string) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · COLIBRI GFT</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><div class="login"><h1>COLIBRI GFT</h1><p class="muted">Ground follow-up operations. Please log in.</p>
${error ? html`<div class="flash error" role="alert" id="login-error">${error}</div>` : ''}
<form method="post" action="/login" class="stack" id="login-form">
<input type="hidden" name="_csrf" value="${token}"><input type="hidden" name="next" value="${next}">
<label>User name <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></div></body></html>`;
}

export function registerLogin(r: Router, d: Deps): void {
  const showLogin = (ctx: Ctx, status: number, error?: string) => {
    // keep the token of an open login form valid (another tab, a favicon fetch), rotate otherwise
    const existing = parseCookies(ctx.req.headers.cookie)[cookieName(LOGIN_CSRF_COOKIE, ctx.secure)];
    const token = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) && status === 200 ? existing : newToken();
    ctx.res.setHeader('Set-Cookie', serializeCookie(LOGIN_CSRF_COOKIE, token, { secure: ctx.secure, maxAgeSec: 3600 }));
    sendHtml(ctx, status, loginPage(ctx, token, safeNext(ctx.form.next ?? ctx.url.searchParams.get('next')), error));
  };

  r.get('/login', 'public', (ctx) => {
    if (ctx.user) return redirect(ctx, safeNext(ctx.url.searchParams.get('next')));
    showLogin(ctx, 200);
  });

  r.post(
    '/login',
    'public',
    async (ctx) => {
      const cookie = parseCookies(ctx.req.headers.cookie)[cookieName(LOGIN_CSRF_COOKIE, ctx.secure)];
      if (!tokensEqual(cookie, ctx.form._csrf)) return showLogin(ctx, 403, 'The form expired. Please try again.');
      const username = (ctx.form.username ?? '').trim().toLowerCase().slice(0, 64);
      const password = ctx.form.password ?? '';
      if (d.limiter.blocked(username, ctx.ip)) {
        await d.audit.record(username, 'login.throttled', username, '', ctx.ip).catch(() => {});
        return showLogin(ctx, 429, 'Too many failed attempts. Try again in a few minutes.');
      }
      const user = username ? await d.users.get(username) : null;
      const ok = await verifyPassword(password, user && !user.disabled ? user.passwordHash : null);
      if (!ok || !user || user.disabled) {
        d.limiter.fail(username, ctx.ip);
        await d.audit.record(username, 'login.failed', username, '', ctx.ip).catch(() => {});
        return showLogin(ctx, 401, 'Invalid user name or password.');
      }
      d.limiter.succeed(username);
      const old = parseCookies(ctx.req.headers.cookie)[cookieName(SESSION_COOKIE, ctx.secure)];
      if (old) await d.sessions.destroy(old);
      const { token } = await d.sessions.create(user.username);
      ctx.res.setHeader('Set-Cookie', [
        serializeCookie(SESSION_COOKIE, token, { secure: ctx.secure, maxAgeSec: d.config.sessionTtlHours * 3600 }),
        clearCookie(LOGIN_CSRF_COOKIE, ctx.secure),
      ]);
      await d.audit.record(user.username, 'login', user.username, '', ctx.ip).catch(() => {});
      redirect(ctx, safeNext(ctx.form.next));
    },
    { ownCsrf: true },
  );

  r.post('/logout', 'view', async (ctx) => {
    const token = parseCookies(ctx.req.headers.cookie)[cookieName(SESSION_COOKIE, ctx.secure)];
    await d.sessions.destroy(token);
    ctx.res.setHeader('Set-Cookie', clearCookie(SESSION_COOKIE, ctx.secure));
    await d.audit.record(ctx.user!.username, 'logout', ctx.user!.username, '', ctx.ip).catch(() => {});
    redirect(ctx, '/login');
  });

  const accountPage = (ctx: Ctx, status: number, error?: string) =>
    sendHtml(
      ctx,
      status,
      page(ctx, {
        title: 'Account',
        flash: error ? { kind: 'error', text: error } : flashOf(ctx),
        body: html`<div class="card"><p>Signed in as <b>${ctx.user!.username}</b> (${ctx.user!.role}).</p>
<h2>Change password</h2><form method="post" action="/account/password" class="stack">${csrfField(ctx)}
<label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
<label>New password (at least 10 characters) <input type="password" name="password" autocomplete="new-password" required></label>
<button type="submit">Change password</button></form></div>`,
      }),
    );

  r.get('/account', 'view', (ctx) => accountPage(ctx, 200));
  r.post('/account/password', 'view', async (ctx) => {
    const u = ctx.user!;
    if (!(await verifyPassword(ctx.form.current ?? '', u.passwordHash))) return accountPage(ctx, 400, 'The current password is wrong.');
    try {
      await d.users.update(u.username, { password: ctx.form.password ?? '' }, u.username);
    } catch (e) {
      if (e instanceof UserError) return accountPage(ctx, 400, e.message);
      throw e;
    }
    await d.sessions.destroyUser(u.username, ctx.session!.idHash);
    await d.audit.record(u.username, 'password.change', u.username, '', ctx.ip).catch(() => {});
    redirect(ctx, '/account?ok=password');
  });
}
