/** The page frame: navigation (entries the role may use), the user menu with a CSRF-protected logout. */
import { can } from '../auth/roles.ts';
import type { Ctx } from '../http/context.ts';
import { html, qs, type SafeHtml } from '../http/html.ts';
import { RANGES } from '../data/telemetry.ts';

const NAV: { href: string; label: string; key: string }[] = [
  { href: '/', label: 'Dashboard', key: 'dashboard' },
  { href: '/weather', label: 'Weather', key: 'weather' },
  { href: '/telescope', label: 'Telescope', key: 'telescope' },
  { href: '/products', label: 'Products', key: 'products' },
  { href: '/shifts', label: 'Shifts', key: 'shifts' },
  { href: '/monitoring', label: 'Monitoring', key: 'monitoring' },
];

export function csrfField(ctx: Ctx): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${ctx.session?.csrf ?? ''}">`;
}

export function page(ctx: Ctx, o: { title: string; active?: string; body: SafeHtml | SafeHtml[]; flash?: { kind: 'ok' | 'error'; text: string } | null }): SafeHtml {
  const u = ctx.user;
  const nav = [...NAV];
  if (can(u?.role, 'users.manage')) nav.push({ href: '/admin/users', label: 'Users', key: 'users' });
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · COLIBRI GFT</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>
<body><header><nav><span class="brand">COLIBRI GFT</span>${nav.map((n) => html`<a href="${n.href}" class="${n.key === o.active ? 'active' : ''}">${n.label}</a>`)}</nav>
${u ? html`<div class="who"><a href="/account" id="whoami">${u.username}</a><span class="badge">${u.role}</span><form method="post" action="/logout">${csrfField(ctx)}<button type="submit" id="logout">Log out</button></form></div>` : ''}
</header>
<main><h1>${o.title}</h1>${o.flash ? html`<div class="flash ${o.flash.kind}" role="status">${o.flash.text}</div>` : ''}${o.body}</main>
<div id="live"></div>
</body></html>`;
}

/** Links to the time windows of a page. */
export function rangeLinks(path: string, current: string, extra: Record<string, string> = {}): SafeHtml {
  return html`<p class="ranges">Window: ${Object.entries(RANGES).map(([k, r]) => html`<a href="${path}${qs({ ...extra, range: k })}" class="${k === current ? 'active' : ''}">${r.label}</a>`)}</p>`;
}

/** A live section: server-rendered now, re-fetched from `url` when the server signals new data. */
export function live(url: string, inner: SafeHtml, id?: string): SafeHtml {
  return html`<div data-live="${url}"${id ? html` id="${id}"` : ''}>${inner}</div>`;
}

export const FLASH: Record<string, string> = {
  saved: 'Saved.',
  created: 'Created.',
  deleted: 'Deleted.',
  password: 'Password changed.',
};

export function flashOf(ctx: Ctx): { kind: 'ok'; text: string } | null {
  const k = ctx.url.searchParams.get('ok');
  return k && FLASH[k] ? { kind: 'ok', text: FLASH[k] } : null;
}
