/**
 * Shifts and shifters. Everyone logged in sees the schedule; shifters and admins create and update
 * shifts and manage the shifter list (the server checks the role on every POST, the forms are only
 * shown to those who may use them). Times are UTC.
 */
import { can } from '../auth/roles.ts';
import type { Deps } from '../deps.ts';
import { HttpError, redirect, sendHtml, type Ctx } from '../http/context.ts';
import { fmtTime, html, type SafeHtml } from '../http/html.ts';
import type { Router } from '../http/router.ts';
import { DUTIES, SHIFT_STATUSES, ValidationError, type Shift, type Shifter } from '../data/shifts.ts';
import { csrfField, flashOf, page } from './layout.ts';

const DAY = 86400_000;
const local = (ms: number) => new Date(ms).toISOString().slice(0, 16); // datetime-local value, UTC

function shiftForm(ctx: Ctx, shifters: Shifter[], s: Partial<Shift> & { start?: number; end?: number }, action: string, label: string): SafeHtml {
  return html`<form method="post" action="${action}" class="stack" id="shift-form">${csrfField(ctx)}
<label>Shifter <select name="shifterId" required><option value="">—</option>${shifters.filter((x) => x.active || x.id === s.shifterId).map((x) => html`<option value="${x.id}"${x.id === s.shifterId ? html` selected` : ''}>${x.name}</option>`)}</select></label>
<label>Duty <select name="duty">${DUTIES.map((x) => html`<option${x === s.duty ? html` selected` : ''}>${x}</option>`)}</select></label>
<label>Start (UTC) <input type="datetime-local" name="start" required value="${s.start ? local(s.start) : ''}"></label>
<label>End (UTC) <input type="datetime-local" name="end" required value="${s.end ? local(s.end) : ''}"></label>
<label>Status <select name="status">${SHIFT_STATUSES.map((x) => html`<option${x === (s.status ?? 'planned') ? html` selected` : ''}>${x}</option>`)}</select></label>
<label>Notes <textarea name="notes" rows="3" maxlength="2000">${s.notes ?? ''}</textarea></label>
<button type="submit">${label}</button></form>`;
}

function shiftsTable(ctx: Ctx, shifts: Shift[], shifters: Map<string, Shifter>, now: number): SafeHtml {
  if (!shifts.length) return html`<p class="empty">No shifts.</p>`;
  const edit = can(ctx.user?.role, 'shifts.edit');
  return html`<table class="shifts"><thead><tr><th>start (UTC)</th><th>end (UTC)</th><th>duty</th><th>shifter</th><th>contact</th><th>status</th><th>notes</th><th></th></tr></thead><tbody>
${shifts.map((s) => {
  const who = shifters.get(s.shifterId);
  return html`<tr class="${s.start <= now && now < s.end ? 'now-on' : ''}" data-shift="${s.id}"><td>${fmtTime(s.start)}</td><td>${fmtTime(s.end)}</td><td>${s.duty}</td><td>${who?.name ?? '(removed)'}</td><td class="muted">${who ? [who.email, who.phone].filter(Boolean).join(' · ') : ''}</td>
<td><span class="badge ${s.status}">${s.status}</span></td><td>${s.notes}</td><td><a href="/shifts/${encodeURIComponent(s.id)}">${edit ? 'edit' : 'view'}</a></td></tr>`;
})}
</tbody></table>`;
}

function shiftersTable(ctx: Ctx, shifters: Shifter[]): SafeHtml {
  if (!shifters.length) return html`<p class="empty">No shifters yet.</p>`;
  const manage = can(ctx.user?.role, 'shifters.manage');
  return html`<table class="shifters"><thead><tr><th>name</th><th>email</th><th>phone</th><th>user</th><th>active</th>${manage ? html`<th></th>` : ''}</tr></thead><tbody>
${shifters.map((s) =>
  manage
    ? html`<tr data-shifter="${s.id}"><td colspan="6"><form method="post" action="/shifters/${encodeURIComponent(s.id)}" class="inline">${csrfField(ctx)}
<input name="name" value="${s.name}" required maxlength="100" aria-label="name"><input name="email" value="${s.email}" aria-label="email" placeholder="email"><input name="phone" value="${s.phone}" aria-label="phone" placeholder="phone"><input name="username" value="${s.username}" aria-label="user name" placeholder="user name">
<label><input type="checkbox" name="active" value="1"${s.active ? html` checked` : ''}> active</label><button type="submit" class="secondary">Save</button></form></td></tr>`
    : html`<tr><td>${s.name}</td><td>${s.email}</td><td>${s.phone}</td><td>${s.username}</td><td>${s.active ? 'yes' : 'no'}</td></tr>`,
)}
</tbody></table>`;
}

export function registerShifts(r: Router, d: Deps): void {
  const listPage = async (ctx: Ctx, status = 200, error?: string, draft?: Record<string, string>) => {
    const now = Date.now();
    const [shifts, shifters] = await Promise.all([d.shifts.shifts(now - 7 * DAY, now + 60 * DAY), d.shifts.shifters()]);
    const byId = new Map(shifters.map((s) => [s.id, s]));
    const current = shifts.filter((s) => s.start <= now && now < s.end);
    const edit = can(ctx.user?.role, 'shifts.edit');
    const draftShift = draft ? { shifterId: draft.shifterId, duty: draft.duty, status: draft.status, notes: draft.notes, start: Date.parse((draft.start ?? '') + 'Z') || undefined, end: Date.parse((draft.end ?? '') + 'Z') || undefined } : { start: Math.ceil(now / 3600_000) * 3600_000, end: Math.ceil(now / 3600_000) * 3600_000 + 10 * 3600_000 };
    sendHtml(ctx, status, page(ctx, {
      title: 'Shifts',
      active: 'shifts',
      flash: error ? { kind: 'error', text: error } : flashOf(ctx),
      body: html`<div class="card"><h2>On shift now</h2>${current.length ? html`<ul id="on-shift">${current.map((s) => html`<li><b>${byId.get(s.shifterId)?.name ?? '?'}</b> — ${s.duty}, until ${fmtTime(s.end)}</li>`)}</ul>` : html`<p class="empty">Nobody is on shift now.</p>`}</div>
<div class="card"><h2>Schedule (past 7 days, next 60 days)</h2>${shiftsTable(ctx, shifts, byId, now)}</div>
${edit ? html`<div class="card"><h2>New shift</h2>${shifters.some((s) => s.active) ? shiftForm(ctx, shifters, draftShift, '/shifts', 'Create shift') : html`<p class="empty">Add a shifter first (<a href="/shifters">shifters</a>).</p>`}</div>` : ''}
<p><a href="/shifters">Shifters →</a></p>`,
    }));
  };

  r.get('/shifts', 'view', (ctx) => listPage(ctx));
  r.post('/shifts', 'shifts.edit', async (ctx) => {
    try {
      const s = await d.shifts.saveShift({ start: ctx.form.start, end: ctx.form.end, shifterId: ctx.form.shifterId, duty: ctx.form.duty, status: ctx.form.status, notes: ctx.form.notes }, ctx.user!.username);
      await d.audit.record(ctx.user!.username, 'shift.create', s.id, `${s.duty} ${fmtTime(s.start)}`, ctx.ip).catch(() => {});
      redirect(ctx, '/shifts?ok=created');
    } catch (e) {
      if (e instanceof ValidationError) return listPage(ctx, 400, e.message, ctx.form);
      throw e;
    }
  });

  const onePage = async (ctx: Ctx, status = 200, error?: string) => {
    const s = await d.shifts.shift(ctx.params.id);
    if (!s) throw new HttpError(404, 'no such shift');
    const shifters = await d.shifts.shifters();
    const edit = can(ctx.user?.role, 'shifts.edit');
    const who = shifters.find((x) => x.id === s.shifterId);
    sendHtml(ctx, status, page(ctx, {
      title: 'Shift',
      active: 'shifts',
      flash: error ? { kind: 'error', text: error } : flashOf(ctx),
      body: edit
        ? html`<div class="card">${shiftForm(ctx, shifters, s, `/shifts/${encodeURIComponent(s.id)}`, 'Save shift')}</div>
<div class="card"><form method="post" action="/shifts/${encodeURIComponent(s.id)}/delete" data-confirm="Delete this shift?">${csrfField(ctx)}<button type="submit" class="danger">Delete shift</button></form>
<p class="muted">Last changed ${fmtTime(s.updated)} by ${s.updatedBy}.</p></div>`
        : html`<div class="card"><p><b>${who?.name ?? '?'}</b> — ${s.duty}, ${fmtTime(s.start)} → ${fmtTime(s.end)} <span class="badge ${s.status}">${s.status}</span></p><p>${s.notes}</p></div>`,
    }));
  };
  r.get('/shifts/:id', 'view', (ctx) => onePage(ctx));
  r.post('/shifts/:id', 'shifts.edit', async (ctx) => {
    try {
      const s = await d.shifts.saveShift({ id: ctx.params.id, start: ctx.form.start, end: ctx.form.end, shifterId: ctx.form.shifterId, duty: ctx.form.duty, status: ctx.form.status, notes: ctx.form.notes }, ctx.user!.username);
      await d.audit.record(ctx.user!.username, 'shift.update', s.id, `${s.status}`, ctx.ip).catch(() => {});
      redirect(ctx, `/shifts/${encodeURIComponent(s.id)}?ok=saved`);
    } catch (e) {
      if (e instanceof ValidationError) return onePage(ctx, 400, e.message);
      throw e;
    }
  });
  r.post('/shifts/:id/delete', 'shifts.edit', async (ctx) => {
    try {
      await d.shifts.deleteShift(ctx.params.id, ctx.user!.username);
    } catch (e) {
      if (e instanceof ValidationError) throw new HttpError(404, e.message);
      throw e;
    }
    await d.audit.record(ctx.user!.username, 'shift.delete', ctx.params.id, '', ctx.ip).catch(() => {});
    redirect(ctx, '/shifts?ok=deleted');
  });

  const shiftersPage = async (ctx: Ctx, status = 200, error?: string) => {
    const shifters = await d.shifts.shifters();
    sendHtml(ctx, status, page(ctx, {
      title: 'Shifters',
      active: 'shifts',
      flash: error ? { kind: 'error', text: error } : flashOf(ctx),
      body: html`<div class="card">${shiftersTable(ctx, shifters)}</div>
${can(ctx.user?.role, 'shifters.manage') ? html`<div class="card"><h2>Add a shifter</h2><form method="post" action="/shifters" class="stack" id="shifter-form">${csrfField(ctx)}
<label>Name <input name="name" required maxlength="100"></label><label>Email <input name="email" type="email"></label><label>Phone <input name="phone"></label>
<label>User name (optional, links to a login) <input name="username"></label><button type="submit">Add shifter</button></form></div>` : ''}
<p><a href="/shifts">← Shifts</a></p>`,
    }));
  };
  r.get('/shifters', 'view', (ctx) => shiftersPage(ctx));
  const saveShifter = async (ctx: Ctx, id?: string) => {
    try {
      const s = await d.shifts.saveShifter({ id, name: ctx.form.name, email: ctx.form.email, phone: ctx.form.phone, username: ctx.form.username, active: id ? ctx.form.active === '1' : true }, ctx.user!.username);
      await d.audit.record(ctx.user!.username, id ? 'shifter.update' : 'shifter.create', s.id, s.name, ctx.ip).catch(() => {});
      redirect(ctx, `/shifters?ok=${id ? 'saved' : 'created'}`);
    } catch (e) {
      if (e instanceof ValidationError) return shiftersPage(ctx, 400, e.message);
      throw e;
    }
  };
  r.post('/shifters', 'shifters.manage', (ctx) => saveShifter(ctx));
  r.post('/shifters/:id', 'shifters.manage', (ctx) => saveShifter(ctx, ctx.params.id));
}
