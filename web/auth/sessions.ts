/**
 * Server-side sessions. The browser holds only a random 256-bit token (cookie); the server keeps the
 * session under the token's SHA-256 (a leaked table does not yield usable cookies), with an absolute
 * expiry and an idle timeout. Sessions live in memory and, when a persistence is given, in ClickHouse
 * (`web_sessions`), so a restart does not log everyone out. A new token is issued at every login
 * (no fixation); logout, password change and disabling a user revoke sessions server-side.
 */
import { createHash, randomBytes } from 'node:crypto';
import { newToken } from './csrf.ts';

export interface SessionRecord {
  idHash: string;
  username: string;
  csrf: string;
  created: number;
  expires: number;
  revoked: boolean;
}

export interface Session extends SessionRecord {
  lastSeen: number;
  /** when this copy was last compared with the persistence (revocations by another process) */
  checkedAt: number;
}

export interface SessionPersistence {
  save(r: SessionRecord): Promise<void>;
  load(idHash: string): Promise<SessionRecord | null>;
  /** id hashes of the live sessions of a user */
  liveFor(username: string, now: number): Promise<string[]>;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export class SessionStore {
  private readonly live = new Map<string, Session>();
  private readonly now: () => number;

  constructor(
    private readonly opts: { ttlMs: number; idleMs: number; persistence?: SessionPersistence; now?: () => number; recheckMs?: number },
  ) {
    this.now = opts.now ?? Date.now;
  }

  async create(username: string): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { idHash: hashToken(token), username, csrf: newToken(), created: now, expires: now + this.opts.ttlMs, revoked: false, lastSeen: now, checkedAt: now };
    await this.opts.persistence?.save(session);
    this.live.set(session.idHash, session);
    return { token, session };
  }

  /** The live session of a token, or null (unknown, expired, idle too long, revoked). Touches it. */
  async get(token: string | undefined): Promise<Session | null> {
    if (!token || token.length < 20 || token.length > 100) return null;
    const idHash = hashToken(token);
    const now = this.now();
    let s = this.live.get(idHash);
    const p = this.opts.persistence;
    if (p && (!s || now - s.checkedAt > (this.opts.recheckMs ?? 30_000))) {
      // unknown here (restart), or time to see whether another process revoked it
      const r = await p.load(idHash);
      if (!r || r.revoked) {
        this.live.delete(idHash);
        return null;
      }
      s = s ? Object.assign(s, { checkedAt: now }) : { ...r, lastSeen: now, checkedAt: now };
      this.live.set(idHash, s);
    }
    if (!s) return null;
    if (s.revoked || now >= s.expires || now - s.lastSeen > this.opts.idleMs) {
      this.live.delete(idHash);
      if (!s.revoked) await this.revoke(s);
      return null;
    }
    s.lastSeen = now;
    return s;
  }

  private async revoke(s: SessionRecord): Promise<void> {
    s.revoked = true;
    this.live.delete(s.idHash);
    await this.opts.persistence?.save({ ...s, revoked: true });
  }

  async destroy(token: string | undefined): Promise<void> {
    if (!token) return;
    const s = await this.get(token);
    if (s) await this.revoke(s);
  }

  /** Revokes every session of a user (password change, role change, disabling). */
  async destroyUser(username: string, exceptIdHash?: string): Promise<number> {
    let n = 0;
    for (const s of [...this.live.values()]) {
      if (s.username === username && s.idHash !== exceptIdHash) {
        await this.revoke(s);
        n++;
      }
    }
    if (this.opts.persistence) {
      for (const idHash of await this.opts.persistence.liveFor(username, this.now())) {
        if (idHash === exceptIdHash) continue;
        const r = await this.opts.persistence.load(idHash);
        if (r && !r.revoked) {
          await this.revoke(r);
          n++;
        }
      }
    }
    return n;
  }

  /** Drops expired sessions from memory. */
  sweep(): void {
    const now = this.now();
    for (const [k, s] of this.live) if (now >= s.expires || now - s.lastSeen > this.opts.idleMs) this.live.delete(k);
  }

  get size(): number {
    return this.live.size;
  }
}
