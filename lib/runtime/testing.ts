/**
 * Test helpers for integration tests against the real local stack. Each test uses random topic
 * namespaces and group ids so tests never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { platformConfig, registryCredentials } from '../config/platform.ts';
import { createKafka } from './kafka.ts';
import { createTopics } from './topics.ts';

export function randomNamespace(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

let probed: Promise<string | null> | undefined;

/** null when Kafka, the registry and ClickHouse answer; otherwise why not. */
export function stackProblem(): Promise<string | null> {
  return (probed ??= (async () => {
    const cfg = platformConfig();
    try {
      const admin = createKafka(cfg, 'gft-test-probe').admin();
      await Promise.race([admin.connect(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 4000))]);
      await admin.disconnect();
    } catch (e) {
      return `Kafka not reachable at ${cfg.kafkaBrokers.join(',')}: ${(e as Error).message}`;
    }
    // (the secured stack wants credentials for the registry: the configured ones, as clients send them)
    const reg = registryCredentials(cfg);
    const auth: Record<string, string> = reg ? { Authorization: `Basic ${Buffer.from(`${reg.user}:${reg.password}`).toString('base64')}` } : {};
    for (const [name, url, headers] of [
      ['registry', `${cfg.registryUrl}/subjects`, auth],
      ['ClickHouse', `${cfg.clickhouseUrl}/ping`, {}],
    ] as const) {
      try {
        const r = await fetch(url, { headers, signal: AbortSignal.timeout(4000) });
        if (!r.ok) return `${name} answered HTTP ${r.status} at ${url}`;
      } catch (e) {
        return `${name} not reachable at ${url}: ${(e as Error).message}`;
      }
    }
    return null;
  })());
}

/**
 * For `describe.skipIf(!(await stackReady()))`: true when the stack answers. When it does not,
 * prints why; under `gft test` (GFT_REQUIRE_STACK=1) that is an error, so the suite fails.
 */
export async function stackReady(): Promise<boolean> {
  const problem = await stackProblem();
  if (!problem) return true;
  if (process.env.GFT_REQUIRE_STACK === '1') throw new Error(`local stack required but unavailable: ${problem}`);
  console.warn(`SKIPPED integration tests: ${problem} (run \`npx gft stack up\` or \`npx gft test\`)`);
  return false;
}

export async function provisionNamespace(ns: string): Promise<void> {
  const admin = createKafka(platformConfig(), 'gft-test-admin').admin();
  await admin.connect();
  try {
    await createTopics(admin, ns);
  } finally {
    await admin.disconnect();
  }
}
