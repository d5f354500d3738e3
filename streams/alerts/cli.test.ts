import { describe, it, expect, vi, afterEach } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../lib/config/platform.ts';
import { UsageError } from '../../lib/cli/args.ts';
import { run, summary } from './cli.ts';
import { svomNotice } from './core/fixtures.ts';

const dir = join(repoRoot, '..', 'shared', 'data', 'voevents');
const have = existsSync(dir);
if (!have) console.warn(`SKIPPED gft voevent parse tests on real packets: ${dir} is missing`);

async function capture(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  const error = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
  try {
    const code = await run(args);
    return { code, out, err, json: out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('gft voevent parse', () => {
  it('exports a summary and refuses bad usage', async () => {
    expect(summary).toMatch(/voevent parse/);
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(['parse'])).rejects.toThrow(UsageError);
    await expect(run(['parse', '--bogus', 'x'])).rejects.toThrow(UsageError);
    expect((await capture(['--help'])).out[0]).toMatch(/^usage: gft voevent parse/);
  });

  it.skipIf(!have)('prints the parsed alert and the decision on an empty state, per file', async () => {
    const r = await capture(['parse', join(dir, 'gcn-notice-parser_svom_grm_330.xml'), join(dir, 'gcn-notice-parser_svom_eclairs_304.xml')]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual([
      expect.objectContaining({
        ivorn: 'ivo://org.svom/fsc#sb26042101_grm-trigger', burstId: 'sb26042101', packetType: 201, role: 'observation', instrument: 'GRM',
        t0: '2026-04-21T00:24:02.000Z', ra: 171.5201, dec: -40.9497, errorRadiusDeg: null, noticeLevel: 'N1g', cites: [],
        action: 'ignore', reason: 'waiting for position: error radius unknown (Error2Radius -1)',
      }),
      expect.objectContaining({
        ivorn: 'ivo://org.svom/fsc#sb26030408_retraction', burstId: 'sb26030408', packetType: 219, noticeLevel: 'N3e',
        cites: [{ ivorn: 'ivo://org.svom/fsc#sb26030408_eclairs-wakeup', type: 'retraction' }],
        action: 'retract', reason: 'retraction before any trigger: nothing to cancel',
      }),
    ]);
  });

  it.skipIf(!have)('--sequence applies the files in order to one state per burst', async () => {
    const files = ['gcn-notice-parser_svom_eclairs_299.xml', 'gcn-notice-parser_svom_eclairs_300.xml', 'gcn-notice-parser_svom_mxt_40.xml', 'gcn-notice-parser_svom_eclairs_303.xml', 'gcn-notice-parser_svom_eclairs_304.xml'];
    const r = await capture(['parse', '--sequence', '--states', ...files.map((f) => join(dir, f))]);
    expect(r.code).toBe(0);
    expect(r.json.slice(0, 5).map((j) => [j.burstId, j.action, j.referenceVersion])).toEqual([
      ['sb26022501', 'trigger', 1], ['sb26022501', 'update', 2], ['sb26022501', 'update', 3], ['sb26030408', 'trigger', 1], ['sb26030408', 'retract', 1],
    ]);
    expect(r.json[4].reason).toBe('retraction: GP1 work cancelled');
    expect(r.json.slice(5).map((j) => j.state.burstId)).toEqual(['sb26022501', 'sb26030408']);
  });

  it('voevent kafka: documented in the help, and refuses to start without brokers, naming what to set', async () => {
    const help = (await capture(['--help'])).out.join('\n');
    expect(help).toMatch(/gft voevent kafka .*--brokers HOST:PORT/);
    expect(help).toMatch(/--ssl/);
    const saved = process.env.GFT_VOEVENT_KAFKA_BROKERS;
    delete process.env.GFT_VOEVENT_KAFKA_BROKERS;
    try {
      await expect(run(['kafka'])).rejects.toThrow(/GFT_VOEVENT_KAFKA_BROKERS \(--brokers\) is required/);
      await expect(run(['kafka', '--brokers', 'h:9092', '--sasl', 'oauthbearer'])).rejects.toThrow(/CLIENT_ID/);
      await expect(run(['kafka', 'extra-positional'])).rejects.toThrow(UsageError);
    } finally {
      if (saved !== undefined) process.env.GFT_VOEVENT_KAFKA_BROKERS = saved;
    }
  });

  it('a bad file: clear error on stderr, the others still printed, exit 1', async () => {
    const d = mkdtempSync(join(tmpdir(), 'voe-cli-'));
    writeFileSync(join(d, 'bad.xml'), '<VOEvent ivorn="ivo://x/y"><Who></VOEvent>');
    writeFileSync(join(d, 'good.xml'), svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 2, error: 0.1 }));
    writeFileSync(join(d, 'lol.xml'), '<!DOCTYPE x [<!ENTITY a "b">]><VOEvent/>');
    const r = await capture(['parse', join(d, 'bad.xml'), join(d, 'good.xml'), join(d, 'missing.xml'), join(d, 'lol.xml')]);
    expect(r.code).toBe(1);
    expect(r.json.map((j) => [j.burstId, j.action])).toEqual([['sb26010101', 'trigger']]);
    expect(r.err).toEqual([
      expect.stringMatching(/bad\.xml: voevent\.malformed_xml: end tag <\/VOEvent> does not match <Who>/),
      expect.stringMatching(/missing\.xml: cannot read: ENOENT/),
      expect.stringMatching(/lol\.xml: voevent\.entity_declared: /),
    ]);
  });

  it('--max-error changes the trigger limit', async () => {
    const d = mkdtempSync(join(tmpdir(), 'voe-cli-'));
    writeFileSync(join(d, 'n.xml'), svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 2, error: 0.2 }));
    expect((await capture(['parse', '--max-error', '0.1', join(d, 'n.xml')])).json[0]).toMatchObject({ action: 'ignore', reason: 'error radius 0.2° above the 0.1° limit' });
  });

  it.skipIf(!have)('runs through `npx gft voevent parse` (exit codes)', () => {
    const gft = join(repoRoot, 'bin', 'gft.mjs');
    const ok = spawnSync(process.execPath, [gft, 'voevent', 'parse', join(dir, 'voevent-parse_SWIFT_xrt_position_v1.1_example.xml')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ burstId: 'swift-644259', action: 'trigger', errorRadiusDeg: 0.0009 });
    const bad = spawnSync(process.execPath, [gft, 'voevent', 'parse', '/nonexistent.xml'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/nonexistent\.xml: cannot read/);
  });
});
