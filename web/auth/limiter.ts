/**
 * Login throttling: after `maxFailures` failed logins for the same user name or from the same address
 * within `windowMs`, further attempts are refused until the window has passed (slows password
 * guessing; memory-bounded).
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const t = this.now();
    const arr = (this.failures.get(key) ?? []).filter((x) => t - x < this.windowMs);
    if (arr.length) this.failures.set(key, arr);
    else this.failures.delete(key);
    return arr;
  }

  blocked(user: string, ip: string): boolean {
    return this.recent(`u:${user}`).length >= this.maxFailures || this.recent(`ip:${ip}`).length >= this.maxFailures * 4;
  }

  fail(user: string, ip: string): void {
    if (this.failures.size > 10_000) this.failures.clear();
    for (const k of [`u:${user}`, `ip:${ip}`]) this.failures.set(k, [...this.recent(k), this.now()]);
  }

  succeed(user: string): void {
    this.failures.delete(`u:${user}`);
  }
}
