/**
 * Health endpoint of a stage process, for process supervisors (Kubernetes probes, load balancers,
 * monitoring): `GET /health/live` answers 200 while the process is not failed, `GET /health/ready`
 * 200 once the stage consumes (503 with the reason otherwise). JSON bodies: {status, stage, instance,
 * detail}. Listens on GFT_HEALTH_PORT (0 or unset: no server) on GFT_HEALTH_HOST (default 0.0.0.0
 * inside a container is the supervisor's business; the default here is 127.0.0.1).
 *
 * The probes are functions of the runner's state, so this file knows nothing of Kafka. What `gft
 * deploy render` writes into unit files and Deployments points at these paths.
 */
import { createServer, type Server } from 'node:http';

export interface HealthProbes {
  /** false once the stage has failed for good (the process should be restarted) */
  live(): boolean;
  /** null when consuming; else why not (starting, rebalancing, paused by the breaker…) */
  notReady(): string | null;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export const HEALTH_PATHS = { live: '/health/live', ready: '/health/ready' } as const;

export async function startHealthServer(probes: HealthProbes, opts: { port?: number; host?: string; stage?: string; instance?: string } = {}): Promise<HealthServer | null> {
  const port = opts.port ?? Number(process.env.GFT_HEALTH_PORT || 0);
  if (!port && opts.port === undefined) return null;
  const host = opts.host ?? process.env.GFT_HEALTH_HOST ?? '127.0.0.1';
  const base = { stage: opts.stage ?? '', instance: opts.instance ?? process.env.GFT_INSTANCE_ID ?? '' };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    let code = 404;
    let body: Record<string, unknown> = { status: 'unknown path', paths: Object.values(HEALTH_PATHS) };
    try {
      if (path === HEALTH_PATHS.live) {
        const ok = probes.live();
        code = ok ? 200 : 503;
        body = { status: ok ? 'UP' : 'DOWN', ...base };
      } else if (path === HEALTH_PATHS.ready) {
        const why = probes.notReady();
        code = why === null ? 200 : 503;
        body = { status: why === null ? 'UP' : 'DOWN', ...base, ...(why === null ? {} : { detail: why }) };
      }
    } catch (e) {
      code = 503;
      body = { status: 'DOWN', ...base, detail: `probe failed: ${(e as Error).message}` };
    }
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
