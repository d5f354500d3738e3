/** The registry client fails (retriable) instead of hanging when the registry never answers. */
import { describe, expect, it } from 'vitest';
import { createServer, type Socket } from 'node:net';
import { createServer as httpServer } from 'node:http';
import { AvroSerdes } from './serdes.ts';
import { schema as schemaByName } from './schemas.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../config/platform.ts';
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

describe('AvroSerdes against a registry that has just restarted (404 for ids it has not loaded yet)', () => {
  it('a 404 is retriable during the grace period, then bad input; an id that appears meanwhile decodes', async () => {
    const telemetry = schemaByName('org.gft.ops.Telemetry').type;
    const writer = JSON.parse(readFileSync(join(repoRoot, 'schemas/avro/ops/Telemetry.avsc'), 'utf8'));
    let loaded = false;
    const server = httpServer((req, res) => {
      if (req.url === '/schemas/ids/7' && loaded) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ schema: JSON.stringify(writer) }));
      } else res.writeHead(404).end('{"error_code":40403}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    process.env.GFT_REGISTRY_UNKNOWN_ID_GRACE_MS = '400';
    try {
      const serdes = new AvroSerdes(`http://127.0.0.1:${port}`, 300);
      const value = { source: 'a', time: 1_600_000_000_000, metrics: { x: 1 }, state: 's' };
      const frame = (id: number) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), telemetry.toBuffer(value)]);
      expect(classify(await serdes.decode(frame(7), 'org.gft.ops.Telemetry').catch((x: unknown) => x))).toMatchObject({ retriable: true, code: 'registry.unavailable' });
      loaded = true; // the registry has read its storage back
      expect(await serdes.decode(frame(7), 'org.gft.ops.Telemetry').catch((x: unknown) => x)).toMatchObject({ source: 'a' });
      expect(classify(await serdes.decode(frame(9), 'org.gft.ops.Telemetry').catch((x: unknown) => x))).toMatchObject({ retriable: true });
      await new Promise((r) => setTimeout(r, 450));
      expect(classify(await serdes.decode(frame(9), 'org.gft.ops.Telemetry').catch((x: unknown) => x))).toMatchObject({ retriable: false, code: 'avro.unknown_schema_id' });
    } finally {
      delete process.env.GFT_REGISTRY_UNKNOWN_ID_GRACE_MS;
      server.close();
    }
  });
});
