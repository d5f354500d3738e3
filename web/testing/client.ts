/** An HTTP client with a cookie jar, for the integration tests and the benchmark. */
/** A cookie jar + fetch for the integration tests (no redirects followed). */
export class Client {
  cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async req(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const r = await fetch(this.base + path, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      const k = kv.slice(0, i);
      const v = kv.slice(i + 1);
      if (/Max-Age=0/i.test(c) || v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    return r;
  }

  async text(path: string): Promise<{ status: number; body: string; res: Response }> {
    const res = await this.req(path);
    return { status: res.status, body: await res.text(), res };
  }

  /** The CSRF token of the forms of a page. */
  async csrf(path = '/account'): Promise<string> {
    const { body } = await this.text(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (!m) throw new Error(`no CSRF token on ${path}`);
    return m[1];
  }

  async login(username: string, password: string): Promise<Response> {
    const { body } = await this.text('/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(body)![1];
    return this.req('/login', { form: { _csrf: token, username, password, next: '/' } });
  }
}
