/**
 * The request context handed to every route handler, and the response helpers. Every response
 * carries the security headers: a strict Content-Security-Policy (scripts, styles, images, connections
 * only from this origin; no inline script or style; no framing), nosniff, no referrer leaks, and
 * `Cache-Control: no-store` for anything behind the login.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../auth/sessions.ts';
import type { User } from '../auth/stores.ts';
import type { SafeHtml } from './html.ts';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  path: string;
  params: Record<string, string>;
  ip: string;
  /** the request reached us over TLS (directly, or through a trusted proxy) */
  secure: boolean;
  session: Session | null;
  user: User | null;
  form: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(res: ServerResponse, secure: boolean, cache = false): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  if (!cache) res.setHeader('Cache-Control', 'no-store');
}

export function sendHtml(ctx: Ctx, status: number, body: SafeHtml | string): void {
  const buf = Buffer.from(String(body));
  ctx.res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': buf.length });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
}

export function sendJson(ctx: Ctx, status: number, value: unknown): void {
  const buf = Buffer.from(JSON.stringify(value));
  ctx.res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': buf.length });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
}

export function sendBytes(ctx: Ctx, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length, ...extra });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

export function redirect(ctx: Ctx, location: string, status = 303): void {
  ctx.res.writeHead(status, { Location: location, 'Content-Length': 0 });
  ctx.res.end();
}

/** A local path to come back to after login: only same-site absolute paths (no open redirects). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\r\n]/.test(next)) return '/';
  if (next.startsWith('/api/') || next.startsWith('/fragment/') || next.startsWith('/login') || next.startsWith('/logout')) return '/';
  return next.slice(0, 500);
}

const MAX_FORM = 64 * 1024;

/** Reads an application/x-www-form-urlencoded body (≤ 64 KiB). */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM) throw new HttpError(413, 'form too large');
    chunks.push(c as Buffer);
  }
  if (!size) return {};
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'forms only (application/x-www-form-urlencoded)');
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) if (!(k in out)) out[k] = v;
  return out;
}
