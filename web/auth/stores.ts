/**
 * ClickHouse-backed users, session persistence and audit log (tables from ../migrations.ts). Every
 * query goes through sql``/ident(); rows are versioned inserts, read with FINAL.
 */
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, sql } from '../../connectors/clickhouse/sql.ts';
import { nextVersion, unixSeconds } from '../migrations.ts';
import { hashPassword, passwordProblem } from './password.ts';
import { isRole, USERNAME_RE, type Role } from './roles.ts';
import type { SessionPersistence, SessionRecord } from './sessions.ts';

export interface User {
  username: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  created: number;
  updated: number;
  updatedBy: string;
}

export class UserError extends Error {
  readonly code = 'web.user_invalid';
}

interface UserRow {
  username: string;
  role: string;
  password_hash: string;
  disabled: number | string;
  created: string;
  updated: string;
  updated_by: string;
}

const chTime = (s: string) => Date.parse(s.replace(' ', 'T') + 'Z');

function toUser(r: UserRow): User {
  return {
    username: r.username,
    role: isRole(r.role) ? r.role : 'viewer',
    passwordHash: r.password_hash,
    disabled: Number(r.disabled) === 1,
    created: chTime(r.created),
    updated: chTime(r.updated),
    updatedBy: r.updated_by,
  };
}

export class UserStore {
  private cache = new Map<string, { at: number; user: User | null }>();
  constructor(
    readonly ch: ClickHouse,
    private readonly cacheMs = 2000,
  ) {}

  private table() {
    return ident(`${this.ch.database}.web_users`);
  }

  async get(username: string): Promise<User | null> {
    const c = this.cache.get(username);
    if (c && Date.now() - c.at < this.cacheMs) return c.user;
    const rows = await this.ch.query<UserRow>(sql`SELECT username, role, password_hash, disabled, created, updated, updated_by FROM ${this.table()} FINAL WHERE username = ${username}`);
    const user = rows.length ? toUser(rows[0]) : null;
    this.cache.set(username, { at: Date.now(), user });
    return user;
  }

  async list(): Promise<User[]> {
    const rows = await this.ch.query<UserRow>(sql`SELECT username, role, password_hash, disabled, created, updated, updated_by FROM ${this.table()} FINAL ORDER BY username`);
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const r = await this.ch.query<{ n: string }>(sql`SELECT count() AS n FROM ${this.table()} FINAL`);
    return Number(r[0]?.n ?? 0);
  }

  private async write(u: User, by: string): Promise<void> {
    const now = Date.now();
    await this.ch.insert('web_users', [
      { username: u.username, role: u.role, password_hash: u.passwordHash, disabled: u.disabled ? 1 : 0, created: unixSeconds(u.created), updated: unixSeconds(now), updated_by: by, version: nextVersion(now) },
    ]);
    this.cache.delete(u.username);
  }

  async create(username: string, role: Role, password: string, by: string): Promise<User> {
    if (!USERNAME_RE.test(username)) throw new UserError('user name: 2–32 characters, lower-case letters, digits, . _ -, starting with a letter');
    if (!isRole(role)) throw new UserError(`unknown role '${role}'`);
    const p = passwordProblem(password, username);
    if (p) throw new UserError(`password: ${p}`);
    this.cache.delete(username);
    if (await this.get(username)) throw new UserError(`user '${username}' exists`);
    const now = Date.now();
    const u: User = { username, role, passwordHash: await hashPassword(password), disabled: false, created: now, updated: now, updatedBy: by };
    await this.write(u, by);
    return u;
  }

  async update(username: string, change: { role?: Role; password?: string; disabled?: boolean }, by: string): Promise<User> {
    this.cache.delete(username);
    const u = await this.get(username);
    if (!u) throw new UserError(`no user '${username}'`);
    if (change.role !== undefined) {
      if (!isRole(change.role)) throw new UserError(`unknown role '${change.role}'`);
      u.role = change.role;
    }
    if (change.password !== undefined) {
      const p = passwordProblem(change.password, username);
      if (p) throw new UserError(`password: ${p}`);
      u.passwordHash = await hashPassword(change.password);
    }
    if (change.disabled !== undefined) u.disabled = change.disabled;
    await this.write(u, by);
    return u;
  }
}

export class ClickHouseSessions implements SessionPersistence {
  constructor(readonly ch: ClickHouse) {}

  async save(r: SessionRecord): Promise<void> {
    await this.ch.insert('web_sessions', [
      { id_hash: r.idHash, username: r.username, csrf: r.csrf, created: unixSeconds(r.created), expires: unixSeconds(r.expires), revoked: r.revoked ? 1 : 0, version: nextVersion() },
    ]);
  }

  async load(idHash: string): Promise<SessionRecord | null> {
    const rows = await this.ch.query<{ id_hash: string; username: string; csrf: string; created: string; expires: string; revoked: number | string }>(
      sql`SELECT id_hash, username, csrf, created, expires, revoked FROM ${ident(`${this.ch.database}.web_sessions`)} FINAL WHERE id_hash = ${idHash}`,
    );
    const r = rows[0];
    if (!r) return null;
    return { idHash: r.id_hash, username: r.username, csrf: r.csrf, created: chTime(r.created), expires: chTime(r.expires), revoked: Number(r.revoked) === 1 };
  }

  async liveFor(username: string, now: number): Promise<string[]> {
    const rows = await this.ch.query<{ id_hash: string }>(
      sql`SELECT id_hash FROM ${ident(`${this.ch.database}.web_sessions`)} FINAL WHERE username = ${username} AND revoked = 0 AND expires > ${new Date(now)}`,
    );
    return rows.map((r) => r.id_hash);
  }

  /** Deletes sessions expired for more than a day (a mutation: run at start, not per request). */
  async purgeExpired(now = Date.now()): Promise<void> {
    await this.ch.exec(sql`ALTER TABLE ${ident(`${this.ch.database}.web_sessions`)} DELETE WHERE expires < ${new Date(now - 86400_000)}`);
  }
}

export class AuditLog {
  constructor(readonly ch: ClickHouse) {}
  async record(username: string, action: string, target: string, detail = '', ip = ''): Promise<void> {
    await this.ch.insert('web_audit', [{ time: unixSeconds(Date.now()), username, action, target, detail: detail.slice(0, 2000), ip }]);
  }
  async recent(limit = 50): Promise<{ time: string; username: string; action: string; target: string; detail: string; ip: string }[]> {
    return this.ch.query(sql`SELECT time, username, action, target, detail, ip FROM ${ident(`${this.ch.database}.web_audit`)} ORDER BY time DESC LIMIT ${limit}`);
  }
}
