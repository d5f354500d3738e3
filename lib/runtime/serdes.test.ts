/** The registry client fails (retriable) instead of hanging when the registry never answers. */
import { describe, expect, it } from 'vitest';
import { createServer, type Socket } from 'node:net';
import { AvroSerdes } from './serdes.ts';
import { classify } from './errors.ts';

describe('AvroSerdes against a registry that accepts connections and never answers', () => {
  it('register and a schema fetch end in a retriable registry.unavailable within the timeout', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s)); // reads the request, never replies
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const serdes = new AvroSerdes(`http://127.0.0.1:${port}`, 300);
      const t = Date.now();
      const e = await serdes.register('x.ops.telemetry-value', 'org.gft.ops.Telemetry').catch((x: unknown) => x);
      expect(classify(e)).toMatchObject({ retriable: true, code: 'registry.unavailable' });
      const frame = Buffer.from([0, 0, 0, 0, 7, 1]);
      const d = await serdes.decode(frame, 'org.gft.ops.Telemetry').catch((x: unknown) => x);
      expect(classify(d)).toMatchObject({ retriable: true, code: 'registry.unavailable' });
      // the client's own retries (5) run on top of the 300 ms timeout; far below the test timeout
      expect(Date.now() - t).toBeLessThan(20_000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 30_000);
});
