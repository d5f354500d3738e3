/**
 * Shifts and shifters (tables web_shifts, web_shifters; versioned inserts read with FINAL).
 * A shift: who (a shifter), what duty, from when to when (UTC), status and notes. Validation lives
 * here so the pages and any future API share it.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, sql } from '../../connectors/clickhouse/sql.ts';
import { nextVersion, unixSeconds } from '../migrations.ts';
import { chTime } from './telemetry.ts';

export const DUTIES = ['night operator', 'scientist on duty', 'burst advocate', 'backup'] as const;
export const SHIFT_STATUSES = ['planned', 'confirmed', 'done', 'cancelled'] as const;

export interface Shifter {
  id: string;
  name: string;
  email: string;
  phone: string;
  username: string;
  active: boolean;
  updated: number;
  updatedBy: string;
}

export interface Shift {
  id: string;
  start: number;
  end: number;
  shifterId: string;
  duty: string;
  status: string;
  notes: string;
  updated: number;
  updatedBy: string;
}

export class ValidationError extends Error {
  readonly code = 'web.invalid';
}

const EMAIL_RE = /^[^\s@<>"']{1,64}@[^\s@<>"']{1,190}$/;

export function validateShifter(x: { name?: string; email?: string; phone?: string; username?: string }): { name: string; email: string; phone: string; username: string } {
  const name = (x.name ?? '').trim();
  const email = (x.email ?? '').trim();
  const phone = (x.phone ?? '').trim();
  const username = (x.username ?? '').trim();
  if (!name || name.length > 100) throw new ValidationError('name: 1–100 characters');
  if (email && !EMAIL_RE.test(email)) throw new ValidationError('email: not an address');
  if (phone && !/^[+0-9 ().-]{3,32}$/.test(phone)) throw new ValidationError('phone: digits, spaces, + ( ) . -');
  if (username && !/^[a-z][a-z0-9._-]{1,31}$/.test(username)) throw new ValidationError('user name: not a valid user name');
  return { name, email, phone, username };
}

/** Parses 'YYYY-MM-DDTHH:MM' (datetime-local, taken as UTC) or a full ISO date. */
export function parseUtc(s: string | undefined): number {
  const v = (s ?? '').trim();
  if (!/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(\.\d+)?Z?$/.test(v)) throw new ValidationError(`not a date and time: '${v.slice(0, 40)}'`);
  const t = Date.parse(v.replace(' ', 'T') + (v.endsWith('Z') ? '' : 'Z'));
  if (!Number.isFinite(t)) throw new ValidationError(`not a date and time: '${v.slice(0, 40)}'`);
  return t;
}

export function validateShift(x: { start?: string; end?: string; shifterId?: string; duty?: string; status?: string; notes?: string }) {
  const start = parseUtc(x.start);
  const end = parseUtc(x.end);
  if (end <= start) throw new ValidationError('the shift must end after it starts');
  if (end - start > 7 * 86400_000) throw new ValidationError('a shift lasts at most 7 days');
  const duty = (x.duty ?? '').trim();
  if (!(DUTIES as readonly string[]).includes(duty)) throw new ValidationError(`duty: one of ${DUTIES.join(', ')}`);
  const status = (x.status ?? 'planned').trim();
  if (!(SHIFT_STATUSES as readonly string[]).includes(status)) throw new ValidationError(`status: one of ${SHIFT_STATUSES.join(', ')}`);
  const notes = (x.notes ?? '').slice(0, 2000);
  const shifterId = (x.shifterId ?? '').trim();
  if (!shifterId) throw new ValidationError('choose a shifter');
  return { start, end, duty, status, notes, shifterId };
}

export class ShiftStore {
  constructor(readonly ch: ClickHouse) {}
  private t(name: string) {
    return ident(`${this.ch.database}.${name}`);
  }

  async shifters(includeInactive = true): Promise<Shifter[]> {
    const rows = await this.ch.query<{ id: string; name: string; email: string; phone: string; username: string; active: number | string; updated: string; updated_by: string }>(
      sql`SELECT id, name, email, phone, username, active, updated, updated_by FROM ${this.t('web_shifters')} FINAL ORDER BY name`,
    );
    return rows
      .map((r) => ({ id: r.id, name: r.name, email: r.email, phone: r.phone, username: r.username, active: Number(r.active) === 1, updated: chTime(r.updated), updatedBy: r.updated_by }))
      .filter((s) => includeInactive || s.active);
  }

  async shifter(id: string): Promise<Shifter | null> {
    return (await this.shifters()).find((s) => s.id === id) ?? null;
  }

  async saveShifter(input: { id?: string; name?: string; email?: string; phone?: string; username?: string; active?: boolean }, by: string): Promise<Shifter> {
    const v = validateShifter(input);
    if (input.id && !(await this.shifter(input.id))) throw new ValidationError('no such shifter');
    const now = Date.now();
    const s: Shifter = { id: input.id || randomUUID(), ...v, active: input.active ?? true, updated: now, updatedBy: by };
    await this.ch.insert('web_shifters', [{ id: s.id, name: s.name, email: s.email, phone: s.phone, username: s.username, active: s.active ? 1 : 0, updated: unixSeconds(now), updated_by: by, version: nextVersion(now) }]);
    return s;
  }

  /** Shifts overlapping [from, to), by start time. */
  async shifts(from: number, to: number): Promise<Shift[]> {
    const rows = await this.ch.query<{ id: string; start: string; end: string; shifter_id: string; duty: string; status: string; notes: string; updated: string; updated_by: string }>(sql`
      SELECT id, starts_at AS start, ends_at AS end, shifter_id, duty, status, notes, updated, updated_by FROM ${this.t('web_shifts')} FINAL
      WHERE deleted = 0 AND ends_at > ${new Date(from)} AND starts_at < ${new Date(to)} ORDER BY starts_at, duty`);
    return rows.map((r) => ({ id: r.id, start: chTime(r.start), end: chTime(r.end), shifterId: r.shifter_id, duty: r.duty, status: r.status, notes: r.notes, updated: chTime(r.updated), updatedBy: r.updated_by }));
  }

  async shift(id: string): Promise<Shift | null> {
    const rows = await this.ch.query<{ id: string; start: string; end: string; shifter_id: string; duty: string; status: string; notes: string; updated: string; updated_by: string }>(sql`
      SELECT id, starts_at AS start, ends_at AS end, shifter_id, duty, status, notes, updated, updated_by FROM ${this.t('web_shifts')} FINAL WHERE id = ${id} AND deleted = 0`);
    const r = rows[0];
    return r ? { id: r.id, start: chTime(r.start), end: chTime(r.end), shifterId: r.shifter_id, duty: r.duty, status: r.status, notes: r.notes, updated: chTime(r.updated), updatedBy: r.updated_by } : null;
  }

  async saveShift(input: { id?: string; start?: string; end?: string; shifterId?: string; duty?: string; status?: string; notes?: string }, by: string): Promise<Shift> {
    const v = validateShift(input);
    if (!(await this.shifter(v.shifterId))) throw new ValidationError('no such shifter');
    if (input.id && !(await this.shift(input.id))) throw new ValidationError('no such shift');
    const now = Date.now();
    const s: Shift = { id: input.id || randomUUID(), ...v, updated: now, updatedBy: by };
    await this.ch.insert('web_shifts', [
      { id: s.id, starts_at: unixSeconds(s.start), ends_at: unixSeconds(s.end), shifter_id: s.shifterId, duty: s.duty, status: s.status, notes: s.notes, deleted: 0, updated: unixSeconds(now), updated_by: by, version: nextVersion(now) },
    ]);
    return s;
  }

  async deleteShift(id: string, by: string): Promise<void> {
    const s = await this.shift(id);
    if (!s) throw new ValidationError('no such shift');
    const now = Date.now();
    await this.ch.insert('web_shifts', [
      { id: s.id, starts_at: unixSeconds(s.start), ends_at: unixSeconds(s.end), shifter_id: s.shifterId, duty: s.duty, status: s.status, notes: s.notes, deleted: 1, updated: unixSeconds(now), updated_by: by, version: nextVersion(now) },
    ]);
  }
}
