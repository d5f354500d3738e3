/**
 * User administration (admins only; the route permission is `users.manage`, checked by the server
 * for GET and POST alike): create users, change roles, reset passwords, disable. Changing a user's
 * role, password or state revokes their sessions. An admin cannot demote or disable themselves
 * (there must always be one admin able to log in).
 */
import { ROLES, isRole } from '../auth/roles.ts';
import { UserError } from '../auth/stores.ts';
import type { Deps } from '../deps.ts';
import { HttpError, redirect, sendHtml, type Ctx } from '../http/context.ts';
import { fmtTime, html } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { csrfField, flashOf, page } from './layout.ts';

export function registerUsers(r: Router, d: Deps): void {
  const usersPage = async (ctx: Ctx, status = 200, error?: string) => {
    const [users, audit] = await Promise.all([d.users.list(), d.audit.recent(30)]);
    sendHtml(ctx, status, page(ctx, {
      title: 'Users',
      active: 'users',
      flash: error ? { kind: 'error', text: error } : flashOf(ctx),
      body: html`<div class="card"><table class="users"><thead><tr><th>user</th><th>role</th><th>state</th><th>changed</th><th>change</th></tr></thead><tbody>
${users.map((u) => html`<tr data-user="${u.username}"><td>${u.username}</td><td>${u.role}</td><td>${u.disabled ? html`<span class="badge error">disabled</span>` : html`<span class="badge ok">active</span>`}</td><td class="muted">${fmtTime(u.updated)} by ${u.updatedBy}</td>
<td><form method="post" action="/admin/users/${encodeURIComponent(u.username)}" class="inline">${csrfField(ctx)}
<select name="role" aria-label="role">${ROLES.map((x) => html`<option${x === u.role ? html` selected` : ''}>${x}</option>`)}</select>
<label><input type="checkbox" name="disabled" value="1"${u.disabled ? html` checked` : ''}> disabled</label>
<input type="password" name="password" placeholder="new password (optional)" autocomplete="new-password" aria-label="new password">
<button type="submit" class="secondary">Save</button></form></td></tr>`)}
</tbody></table></div>
<div class="card"><h2>New user</h2><form method="post" action="/admin/users" class="stack" id="user-form">${csrfField(ctx)}
<label>User name <input name="username" required pattern="[a-z][a-z0-9._-]{1,31}" autocomplete="off"></label>
<label>Role <select name="role">${ROLES.map((x) => html`<option${x === 'viewer' ? html` selected` : ''}>${x}</option>`)}</select></label>
<label>Password (at least 10 characters) <input type="password" name="password" required autocomplete="new-password"></label>
<button type="submit">Create user</button></form></div>
<div class="card"><h2>Recent activity</h2><table><thead><tr><th>time</th><th>user</th><th>action</th><th>target</th><th>from</th></tr></thead><tbody>
${audit.map((a) => html`<tr><td>${a.time}</td><td>${a.username}</td><td>${a.action}</td><td>${a.target}</td><td class="muted">${a.ip}</td></tr>`)}</tbody></table></div>`,
    }));
  };

  r.get('/admin/users', 'users.manage', (ctx) => usersPage(ctx));
  r.post('/admin/users', 'users.manage', async (ctx) => {
    const role = ctx.form.role ?? '';
    try {
      if (!isRole(role)) throw new UserError('unknown role');
      const u = await d.users.create((ctx.form.username ?? '').trim(), role, ctx.form.password ?? '', ctx.user!.username);
      await d.audit.record(ctx.user!.username, 'user.create', u.username, u.role, ctx.ip).catch(() => {});
      redirect(ctx, '/admin/users?ok=created');
    } catch (e) {
      if (e instanceof UserError) return usersPage(ctx, 400, e.message);
      throw e;
    }
  });
  r.post('/admin/users/:name', 'users.manage', async (ctx) => {
    const name = ctx.params.name;
    const target = await d.users.get(name);
    if (!target) throw new HttpError(404, 'no such user');
    const role = ctx.form.role ?? target.role;
    const disabled = ctx.form.disabled === '1';
    const password = ctx.form.password ? ctx.form.password : undefined;
    try {
      if (!isRole(role)) throw new UserError('unknown role');
      if (name === ctx.user!.username && (role !== 'admin' || disabled)) throw new UserError('you cannot demote or disable yourself');
      await d.users.update(name, { role, disabled, password }, ctx.user!.username);
    } catch (e) {
      if (e instanceof UserError) return usersPage(ctx, 400, e.message);
      throw e;
    }
    if (role !== target.role || disabled !== target.disabled || password) await d.sessions.destroyUser(name, name === ctx.user!.username ? ctx.session!.idHash : undefined);
    await d.audit.record(ctx.user!.username, 'user.update', name, `role=${role} disabled=${disabled}${password ? ' password reset' : ''}`, ctx.ip).catch(() => {});
    redirect(ctx, '/admin/users?ok=saved');
  });
}
