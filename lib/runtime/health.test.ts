import { describe, expect, it } from 'vitest';
import { startHealthServer, HEALTH_PATHS } from './health.ts';

describe('stage health endpoint', () => {
  it('live and ready follow the probes; unknown paths are 404; no port, no server', async () => {
    let live = true;
    let why: string | null = 'joining group';
    const h = (await startHealthServer({ live: () => live, notReady: () => why }, { port: 0, stage: 'gic', instance: '2' }))!;
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${h.port}${p}`);
      return { code: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    try {
      expect(await get(HEALTH_PATHS.live)).toEqual({ code: 200, body: { status: 'UP', stage: 'gic', instance: '2' } });
      expect(await get(HEALTH_PATHS.ready)).toEqual({ code: 503, body: { status: 'DOWN', stage: 'gic', instance: '2', detail: 'joining group' } });
      why = null;
      expect((await get(HEALTH_PATHS.ready)).code).toBe(200);
      live = false;
      expect((await get(HEALTH_PATHS.live)).code).toBe(503);
      expect((await get('/nope')).code).toBe(404);
    } finally {
      await h.close();
    }
    const saved = process.env.GFT_HEALTH_PORT;
    delete process.env.GFT_HEALTH_PORT;
    expect(await startHealthServer({ live: () => true, notReady: () => null })).toBeNull();
    if (saved !== undefined) process.env.GFT_HEALTH_PORT = saved;
  });
});
