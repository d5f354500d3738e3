/** A small router: `GET /products/:id/thumb/:hdu` patterns, each route with the permission it needs. */
import type { Permission } from '../auth/roles.ts';
import type { Ctx } from './context.ts';

export type Access = Permission | 'public';
export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  keys: string[];
  access: Access;
  handler: Handler;
  /** POST routes that check their own CSRF token (the login form: no session yet) */
  ownCsrf?: boolean;
}

export class Router {
  readonly routes: Route[] = [];

  private add(method: 'GET' | 'POST', path: string, access: Access, handler: Handler, ownCsrf = false): void {
    const keys: string[] = [];
    const re = path.replace(/[.]/g, '\\.').replace(/:(\w+)/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${re}$`), keys, access, handler, ownCsrf });
  }

  get(path: string, access: Access, handler: Handler): void {
    this.add('GET', path, access, handler);
  }

  post(path: string, access: Access, handler: Handler, opts: { ownCsrf?: boolean } = {}): void {
    this.add('POST', path, access, handler, opts.ownCsrf);
  }

  /** The route for a method and path (HEAD = GET), with decoded parameters; `allowed` lists methods of a path that matched otherwise. */
  match(method: string, path: string): { route?: Route; params: Record<string, string>; allowed: string[] } {
    const m = method === 'HEAD' ? 'GET' : method;
    const allowed: string[] = [];
    for (const r of this.routes) {
      const x = r.pattern.exec(path);
      if (!x) continue;
      if (r.method !== m) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        r.keys.forEach((k, i) => (params[k] = decodeURIComponent(x[i + 1])));
      } catch {
        return { params: {}, allowed };
      }
      return { route: r, params, allowed };
    }
    return { params: {}, allowed };
  }
}
