/**
 * VTP against an independent implementation: the Comet VOEvent broker (PyPI `comet` 3.1.0, Twisted),
 * installed into .gft/vtp-peer by `npx gft test` (or `bash connectors/voevent/peer/setup-comet.sh`).
 * Skipped, with a message, when it is not installed — except under `npx gft test`, which installs it. Everything stays on 127.0.0.1 (Comet is whitelisted to 127.0.0.0/8).
 *
 * - Comet as a broker: our subscriber connects, answers Comet's authenticate and iamalive (interval
 *   shortened to 1 s; Comet drops a subscriber that misses one), and receives and acks an event that
 *   our publisher submitted to Comet's receiver — byte for byte what we sent.
 * - Comet as an author (`comet-sendvo`): pushes a real SVOM notice to our receiver, gets our ack (its
 *   exit status is 0 only when it got an ack).
 * - Our publisher against Comet's receiver: Comet acks a valid VOEvent and naks a duplicate IVORN.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { repoRoot } from '../../lib/config/platform.ts';
import { svomNotice } from '../../streams/alerts/core/fixtures.ts';
import { VtpReceiver, VtpSubscriber, publishVoevent, type Receipt, type VtpLogEvent } from './vtp.ts';
import { cometInstalled, cometPython, cometVenv } from './peer/comet.ts';

const python = cometPython;
const have = cometInstalled();
if (!have) {
  // `npx gft test` installs the peer (GFT_REQUIRE_STACK=1): missing then is a failure, not a skip
  if (process.env.GFT_REQUIRE_STACK === '1') throw new Error(`the VTP peer (Comet) is not installed in ${cometVenv} although gft test installs it: see its '[vtp-peer]' lines`);
  console.warn(`SKIPPED VTP peer tests against Comet: not installed (npx gft test installs it; or: bash connectors/voevent/peer/setup-comet.sh)`);
}
const samples = join(repoRoot, '..', 'shared', 'data', 'voevents');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function waitPort(port: number, ms = 20_000): Promise<void> {
  const t = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() - t > ms) throw new Error(`Comet did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const until = async (cond: () => boolean, ms = 15_000) => {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!have)('VTP against Comet (independent peer)', () => {
  let comet: ChildProcess;
  let log = '';
  let receivePort = 0;
  let broadcastPort = 0;

  beforeAll(async () => {
    receivePort = await freePort();
    broadcastPort = await freePort();
    const db = mkdtempSync(join(tmpdir(), 'comet-db-'));
    comet = spawn(python, [
      join(repoRoot, 'connectors', 'voevent', 'peer', 'run_comet.py'), '-n', '--pidfile=', '--logfile=-', 'comet',
      '--local-ivo=ivo://gft.test/comet', '--receive', `--receive-port=${receivePort}`, '--broadcast', `--broadcast-port=${broadcastPort}`,
      '--broadcast-test-interval=0', '--author-whitelist=127.0.0.0/8', '--subscriber-whitelist=127.0.0.0/8', `--eventdb=${db}`, '-v',
    ], { env: { ...process.env, GFT_COMET_IAMALIVE_S: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    comet.stdout!.on('data', (d) => (log += d));
    comet.stderr!.on('data', (d) => (log += d));
    await waitPort(receivePort);
    await waitPort(broadcastPort);
  }, 30_000);

  afterAll(async () => {
    if (comet && comet.exitCode === null) {
      comet.kill('SIGTERM');
      await new Promise((r) => comet.once('exit', r));
    }
  });

  it('Comet as broker: our subscriber authenticates, keeps answering iamalive, receives and acks an event byte for byte', async () => {
    const got: Receipt[] = [];
    const events: VtpLogEvent[] = [];
    const sub = new VtpSubscriber({ host: '127.0.0.1', port: broadcastPort, localIvo: 'ivo://gft.test/subscriber', handler: (r) => void got.push(r), log: (e) => events.push(e), jitter: false });
    sub.start();
    try {
      await until(() => events.some((e) => e.event === 'transport' && e.role === 'authenticate'));
      // Comet drops a subscriber that has not answered the previous iamalive: survive several.
      await until(() => events.filter((e) => e.event === 'transport' && e.role === 'iamalive').length >= 3);
      const event = Buffer.from(svomNotice({ burstId: 'sb26010199', packetType: 202, instrument: 'ECLAIRs', ra: 10, dec: 20, error: 0.1 }));
      expect(await publishVoevent('127.0.0.1', receivePort, event)).toMatchObject({ role: 'ack', response: 'ivo://gft.test/comet' });
      await until(() => got.length === 1);
      expect(got[0].payload.equals(event)).toBe(true);
      expect(got[0].ivorn).toBe('ivo://org.svom/fsc#sb26010199_eclairs-wakeup');
      await until(() => /Ack received/.test(log));
      expect(events.filter((e) => e.event === 'disconnected')).toEqual([]);
      expect(log).not.toMatch(/Peer appears to be dead|not acknowledging/);
    } finally {
      await sub.stop();
    }
  }, 30_000);

  it('Comet as author (comet-sendvo): our receiver gets the real SVOM notice byte for byte and acks it', async () => {
    const got: Receipt[] = [];
    const rec = new VtpReceiver({ port: 0, localIvo: 'ivo://gft.test/receiver', handler: (r) => void got.push(r) });
    const { port } = await rec.listen();
    try {
      const file = existsSync(samples) ? join(samples, 'gcn-notice-parser_svom_mxt_40.xml') : join(mkdtempSync(join(tmpdir(), 'voe-')), 'n.xml');
      if (!existsSync(file)) writeFileSync(file, svomNotice({ burstId: 'sb26010198', packetType: 209, instrument: 'MXT', ra: 1, dec: 2, error: 0.01 }));
      // async spawn: our receiver runs in this process and must keep serving while comet-sendvo runs
      const p = spawn(join(cometVenv, 'bin', 'comet-sendvo'), ['--host=127.0.0.1', `--port=${port}`, `--file=${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (out += d));
      const status = await new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
      expect(out).toMatch(/Acknowledgement received/);
      expect(status).toBe(0);
      expect(got).toHaveLength(1);
      expect(got[0].payload.equals(readFileSync(file))).toBe(true);
    } finally {
      await rec.close();
    }
  }, 30_000);

  it('our publisher against Comet’s receiver: ack for a new IVORN, nak for a duplicate', async () => {
    const event = svomNotice({ burstId: 'sb26010197', packetType: 202, instrument: 'ECLAIRs', ra: 1, dec: 2, error: 0.1 });
    expect(await publishVoevent('127.0.0.1', receivePort, event)).toMatchObject({ role: 'ack', origin: 'ivo://org.svom/fsc#sb26010197_eclairs-wakeup' });
    const again = await publishVoevent('127.0.0.1', receivePort, event);
    expect(again.role).toBe('nak');
  }, 30_000);
});
