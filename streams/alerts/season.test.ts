/** The alerts stage over a season (issue 22): the state of old bursts is forgotten, by event time. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { loadConfig } from '../../lib/config/define.ts';
import { closingConfig } from '../../lib/runtime/closing.ts';
import { handleOnce, stageContext } from '../../lib/runtime/memoryHarness.ts';
import { alertsSchema, alertsStage } from './wiring.ts';
import { svomNotice } from './core/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'alerts-season-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('alerts stage over a season', () => {
  it('keeps the state of recent bursts and forgets those whose T0 is older than the retention', async () => {
    const stage = alertsStage(loadConfig(alertsSchema, {}), new LocalStorage(new FsBackend(join(tmp, 's'))), closingConfig({ GFT_CLOSED_RETENTION_DAYS: '30' }));
    const ctx = stageContext({ stage: 'alerts' });
    const send = async (burstId: string, t0: string) => {
      const payload = Buffer.from(svomNotice({ burstId, packetType: 209, instrument: 'MXT', isoTime: t0, ra: 150, dec: 20, error: 0.02 }));
      await handleOnce(stage, { topic: 'voevent.raw', partition: 0, offset: '0', key: null, value: { receivedAt: Date.parse(t0) + 60_000, transport: 'file', source: 't', ivorn: null, payload }, headers: {}, timestamp: 0, bytes: 0 }, ctx);
    };
    await send('sb24030101', '2024-03-01T02:00:00Z');
    await send('sb24031501', '2024-03-15T02:00:00Z');
    expect(ctx.store.keys()).toEqual(['burst/sb24030101', 'burst/sb24031501']);
    await send('sb24041201', '2024-04-12T02:00:00Z'); // 42 days after the first, 28 after the second
    expect(ctx.store.keys()).toEqual(['burst/sb24031501', 'burst/sb24041201']);
    expect(stage.held!.bursts(ctx.store)).toBe(2);
  });
});
