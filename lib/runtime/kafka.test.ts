/**
 * Client authentication (lib/runtime/kafka.ts): SCRAM-SHA-512/256, the CA file, and on the local
 * secured stack each stage's clients on its own principal (by client id), every other client `admin`.
 * Against real brokers: deploy/secure.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformConfig, registryCredentials } from '../config/platform.ts';
import { saslFor, stageOfClient, tlsFor } from './kafka.ts';

/** A GFT_HOME whose stack.json says secured, with password files like `gft stack up --secure` writes. */
function secureHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'gft-kafka-auth-'));
  writeFileSync(join(home, 'stack.json'), JSON.stringify({ kafka: { brokers: 1, bootstrap: ['127.0.0.1:29999'] }, s3: false, secure: true }));
  mkdirSync(join(home, 'secure', 'users'), { recursive: true });
  mkdirSync(join(home, 'secure', 'tls'), { recursive: true });
  writeFileSync(join(home, 'secure', 'tls', 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  for (const p of ['admin', 'gic', 'gp1-calibration', 'gp1-detection', 'ops-sim']) writeFileSync(join(home, 'secure', 'users', `${p}.password`), `pw-of-${p}\n`);
  return home;
}

describe('Kafka client authentication', () => {
  it('takes the stage from the client id, longest stage name first', () => {
    expect(stageOfClient('gp1-calibration-vm:12-consumer')).toBe('gp1-calibration');
    expect(stageOfClient('gp1-detection-3-tables')).toBe('gp1-detection');
    expect(stageOfClient('ops-sim')).toBe('ops-sim');
    expect(stageOfClient('gft-chain-monitor')).toBeNull();
    expect(stageOfClient('gicx-1')).toBeNull();
  });

  it('on the local secured stack: TLS with its CA, each stage on its own principal, others admin', () => {
    const home = secureHome();
    const cfg = platformConfig({ GFT_HOME: home });
    expect(cfg.kafkaBrokers).toEqual(['127.0.0.1:29999']);
    expect(cfg.kafkaSsl).toBe(true);
    expect(cfg.kafkaCa).toBe(join(home, 'secure', 'tls', 'ca.crt'));
    expect(tlsFor(cfg)).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
    expect(saslFor(cfg, 'gic-vm:1-consumer')).toEqual({ mechanism: 'scram-sha-512', username: 'gic', password: 'pw-of-gic' });
    expect(saslFor(cfg, 'gp1-calibration-2-tx')).toMatchObject({ username: 'gp1-calibration', password: 'pw-of-gp1-calibration' });
    expect(saslFor(cfg, 'gft-chain-monitor')).toMatchObject({ username: 'admin', password: 'pw-of-admin' });
    expect(saslFor(cfg, 'gft-dc3', 'gp1-detection')).toMatchObject({ username: 'gp1-detection' });
    expect(() => saslFor(cfg, 'fsc-1-consumer')).toThrow(/no credentials for principal 'fsc'/);
    expect(registryCredentials(cfg)).toEqual({ user: 'admin', password: 'pw-of-admin' });
    expect(platformConfig({ GFT_HOME: home, GFT_KAFKA_SASL_MECHANISM: 'scram-sha-256' }).kafkaSaslMechanism).toBe('scram-sha-256');
  });

  it('a configured user is every client\'s, whatever its client id; SCRAM-SHA-256 on request', () => {
    const home = secureHome();
    const cfg = platformConfig({ GFT_HOME: home, GFT_KAFKA_SASL_USER: 'gic', GFT_KAFKA_SASL_PASSWORD: 'configured-pw', GFT_KAFKA_SASL_MECHANISM: 'scram-sha-256' });
    expect(saslFor(cfg, 'alerts-1-consumer')).toEqual({ mechanism: 'scram-sha-256', username: 'gic', password: 'configured-pw' });
    expect(registryCredentials(cfg)).toEqual({ user: 'gic', password: 'configured-pw' });
    expect(registryCredentials({ ...cfg, registryUser: 'reg', registryPassword: 'rp' })).toEqual({ user: 'reg', password: 'rp' });
    expect(() => platformConfig({ GFT_KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/scram-sha-512 or scram-sha-256/);
  });

  it('elsewhere (GFT_KAFKA_BROKERS set, or a plaintext stack): only what is configured', () => {
    const home = secureHome();
    const cfg = platformConfig({ GFT_HOME: home, GFT_KAFKA_BROKERS: 'kafka.example:9093' });
    expect(cfg.kafkaSsl).toBe(false);
    expect(saslFor(cfg, 'gic-1')).toBeUndefined();
    expect(tlsFor({ kafkaSsl: false, kafkaCa: '' })).toBeUndefined();
    expect(tlsFor({ kafkaSsl: true, kafkaCa: '' })).toBe(true);
    expect(() => tlsFor({ kafkaSsl: false, kafkaCa: join(home, 'missing.pem') })).toThrow(/GFT_KAFKA_CA: cannot read .*missing\.pem/);
  });
});
