/** Secrets from files or the environment, and never in a log line (lib/config/secrets.ts, define.ts, log.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig } from './platform.ts';
import { redact, rememberSecret } from './secrets.ts';
import { Logger } from '../runtime/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'gft-secrets-'));

describe('secrets', () => {
  afterEach(() => vi.restoreAllMocks());

  it('come from <VAR>_FILE (final newline dropped), never from both, and a missing file is named, not read', () => {
    const f = join(dir, 'kafka.password');
    writeFileSync(f, 'Pa55-from-a-file\n');
    expect(platformConfig({ GFT_KAFKA_SASL_USER: 'gic', GFT_KAFKA_SASL_PASSWORD_FILE: f }).kafkaSaslPassword).toBe('Pa55-from-a-file');
    expect(() => platformConfig({ GFT_KAFKA_SASL_PASSWORD: 'x-in-env', GFT_KAFKA_SASL_PASSWORD_FILE: f })).toThrow(/both set/);
    expect(() => platformConfig({ GFT_REGISTRY_PASSWORD_FILE: join(dir, 'nope') })).toThrow(/GFT_REGISTRY_PASSWORD_FILE: cannot read .*nope \(ENOENT\)/);
  });

  it('are blanked out of log lines, on stderr and in the records bound for ops.logs', () => {
    const secret = `s3cr3t-${Date.now()}`;
    platformConfig({ GFT_CLICKHOUSE_PASSWORD: secret }); // reading the configuration remembers it
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    const log = new Logger('test', 'debug', true);
    const records: string[] = [];
    log.attach((r) => records.push(JSON.stringify(r)));
    log.error(`connect failed with ${secret}`, { password: secret, nested: { url: `http://u:${secret}@h` } });
    expect(lines.join('')).toContain('connect failed with ***');
    expect(lines.join('') + records.join('')).not.toContain(secret);
    expect(records.join('')).toContain('***');
  });

  it('redact leaves short words alone and replaces every occurrence', () => {
    rememberSecret('abc'); // too short to be one of ours: never blanked
    rememberSecret('longer-secret');
    expect(redact('abc longer-secret/longer-secret')).toBe('abc ***/***');
  });
});
