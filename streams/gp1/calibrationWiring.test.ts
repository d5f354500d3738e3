/**
 * The gp1-calibration stage without a broker: records piped through handle() (and prepare(), as the
 * runner calls it, for the worker option) against a temporary storage. What it announces and stores
 * must be what `gft gp1 masters` and `gft gp1 calibrate` write for the same frames, byte for byte.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import { writeFits } from '../../lib/fits/index.ts';
import { handleOnce, stageContext } from '../../lib/runtime/memoryHarness.ts';
import { StateStore } from '../../lib/runtime/state.ts';
import type { InMessage } from '../../lib/runtime/runner.ts';
import { calibrationStage } from './calibrationWiring.ts';
import { closingConfig } from '../../lib/runtime/closing.ts';
import { run as gp1 } from './cli.ts';
import { makeRawFrame, makeRng, makeTruth, type SyntheticCamera } from './core/calibration/synthetic.ts';

const SYN: SyntheticCamera = { width: 420, height: 300, overscan: { x1: 401, x2: 420, y1: 1, y2: 300 }, data: { x1: 1, x2: 400, y1: 1, y2: 300 }, gain: 5, readNoise: 9, saturation: 60000 };
const tmp = mkdtempSync(join(tmpdir(), 'gp1-stage-'));
const camFile = join(tmp, 'cam.json');
const framesDir = join(tmp, 'frames');
let storage: LocalStorage;
let truth: ReturnType<typeof makeTruth>;
const records: { topic: string; value: Record<string, unknown> }[] = [];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  // the camera as operators describe one: a JSON file (no built-in has this size)
  writeFileSync(camFile, JSON.stringify({ name: 'testcam', width: 420, height: 300, overscan: '[401:420,1:300]', data: '[1:400,1:300]', gain: 5, readNoise: 9, saturation: 60000, minFrames: { bias: 4, dark: 4, flat: 3 } }));
  mkdirSync(framesDir);
  storage = new LocalStorage(new FsBackend(join(tmp, 'store')));
  truth = makeTruth(SYN, { seed: 8, nHot: 12 });
  const rng = makeRng(1);
  const stars = Array.from({ length: 25 }, () => ({ x: 15 + rng.uniform() * 370, y: 15 + rng.uniform() * 270, flux: 800 + 9000 * rng.uniform(), fwhm: 3.2 }));
  let minute = 0;
  const add = async (type: string, letter: string, opts: Record<string, unknown>) => {
    const m = minute++;
    const name = `20240301T02${String(m).padStart(2, '0')}00C0${letter}.fits`;
    const f = makeRawFrame(SYN, truth, { name, type: type as 'bias', seed: 50 + m, exptime: 0, ...opts });
    const cards = Object.entries((f.header as unknown as { values: Record<string, string | number> }).values).map(([key, value]) => ({ key, value }));
    cards.push({ key: 'DATE-OBS', value: `2024-03-01T02:${String(m).padStart(2, '0')}:00` });
    const bytes = writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: f.width, height: f.height, data: f.data, cards }]);
    writeFileSync(join(framesDir, name), bytes);
    const ref = await storage.put(bytes, { kind: 'raw', source: 'test', name });
    records.push({ topic: 'images.raw', value: { frameId: name.replace('.fits', ''), burstId: 'sb24030101', seq: m, fileName: name, imageType: type, dateObs: `2024-03-01T02:${String(m).padStart(2, '0')}:00Z`, exptime: opts.exptime, filter: opts.filter ?? null, camera: 'testcam', binning: '1x1', width: 420, height: 300, bitpix: 16, compressed: false, storage: ref, lastOfSequence: false } });
  };
  for (let i = 0; i < 5; i++) await add('bias', 'b', { exptime: 0 });
  for (let i = 0; i < 4; i++) await add('dark', 'd', { exptime: 30 });
  for (let i = 0; i < 4; i++) await add('flat', 'f', { exptime: 10, level: i === 1 ? 50 : 300 + 40 * i, filter: 'r' }); // one under the flat window
  for (let i = 0; i < 3; i++) await add('object', 'o', { exptime: 30, level: 15, stars, filter: 'r' });
}, 60_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cfg = (workers: number) => ({ camera: camFile, minFrames: 0, pixelScale: 0.5, workers });

/**
 * Pipes the records through a fresh stage with one state store, as the runner would: prepare (when
 * defined) then handle, in order; gp1.trigger records go to its global table. With `restartAfter`, the
 * stage is replaced by a fresh one (caches lost, store kept: a restart restored from the changelog).
 */
async function pipe(workers: number, recs = records, restartAfter = -1, store = new StateStore(), env: Record<string, string> = {}) {
  const triggers = new Map<string, unknown>();
  const ctx = stageContext({ stage: 'gp1-calibration', tables: { 'gp1.trigger': triggers }, store });
  const closing = closingConfig(env);
  let stage = calibrationStage(cfg(workers), storage, closing);
  await stage.init?.(ctx);
  const outs: { topic: string; value: Record<string, unknown> }[] = [];
  try {
    for (const [i, r] of recs.entries()) {
      if (r.topic === 'gp1.trigger') {
        triggers.set((r.value as { burstId: string }).burstId, r.value);
        continue;
      }
      const msg: InMessage<any> = { topic: r.topic, partition: 0, offset: '0', key: 'k', value: r.value, headers: {}, timestamp: 0, bytes: 0 };
      if (stage.prepare) msg.prepared = await stage.prepare(msg as never, ctx);
      outs.push(...((await handleOnce(stage, msg, ctx)) as typeof outs));
      if (i === restartAfter) {
        await stage.close?.(ctx);
        stage = calibrationStage(cfg(workers), storage, closing);
        await stage.init?.(ctx);
      }
    }
  } finally {
    await stage.close?.(ctx);
  }
  return outs;
}

describe('gp1-calibration stage (core API, no broker)', () => {
  let outs: Awaited<ReturnType<typeof pipe>>;
  beforeAll(async () => {
    outs = await pipe(0);
  }, 60_000);

  it('announces the masters with verdicts and provenance, and stores the accepted ones as `gft gp1 masters` writes them', async () => {
    const masters = outs.filter((o) => o.topic === 'gp1.masters').map((o) => o.value);
    expect(masters.map((m) => [m.kind, m.accepted, m.filter])).toEqual([['bias', true, null], ['dark', true, null], ['flat', true, 'r']]);
    const flat = masters[2] as { inputs: { frameId: string; used: boolean; reason: string }[]; nFrames: number };
    expect(flat.nFrames).toBe(3);
    expect(flat.inputs.filter((i) => !i.used)).toEqual([{ frameId: '20240301T021000C0f', sha256: '', used: false, reason: expect.stringMatching(/^level-out-of-range level above overscan \d+ ADU, outside 2000–7000 ADU$/) }]);
    expect(masters.every((m) => m.camera === 'testcam' && m.binning === '1x1')).toBe(true);

    const out = join(tmp, 'cli-masters');
    expect(await gp1(['masters', '--in', framesDir, '--out', out, '--camera', camFile, '--workers', '0', '--report', join(tmp, 'masters.json')])).toBe(0);
    const files = readdirSync(out).filter((f) => f.endsWith('.fits')).sort();
    expect(files.map((f) => f.replace('.fits', ''))).toEqual(masters.map((m) => m.masterId).sort());
    for (const m of masters) {
      const ref = m.storage as StorageRef;
      expect(ref.sha256).toBe(sha(readFileSync(join(out, `${m.masterId}.fits`))));
    }
  });

  it('calibrates each object frame to the bytes `gft gp1 calibrate` writes', async () => {
    const cal = outs.filter((o) => o.topic === 'gp1.calibrated').map((o) => o.value);
    expect(cal.map((c) => c.frameId)).toEqual(['20240301T021300C0o', '20240301T021400C0o', '20240301T021500C0o']);
    const out = join(tmp, 'cli-cal');
    const objects = records.filter((r) => r.value.imageType === 'object').map((r) => join(framesDir, r.value.fileName as string));
    expect(await gp1(['calibrate', '--masters', join(tmp, 'cli-masters'), '--out', out, '--camera', camFile, '--workers', '0', '--report', join(tmp, 'cal.json'), ...objects])).toBe(0);
    for (const c of cal) {
      expect((c.storage as StorageRef).sha256).toBe(sha(readFileSync(join(out, `${c.frameId}-cal.fits`))));
      expect(c.skyLevel).toBeGreaterThan(14);
      expect(c.skyLevel).toBeLessThan(16);
      expect(c.fwhmArcsec).toBeGreaterThan(1.2);
      expect(c.masters).toHaveLength(3);
    }
  });

  it('calibrating on worker threads (GFT_GP1_CAL_WORKERS) gives the same records', async () => {
    expect(await pipe(2)).toEqual(outs);
  }, 60_000);

  it('a restart (state restored, caches lost) before or after the masters gives the same records', async () => {
    const firstObject = records.findIndex((r) => r.value.imageType === 'object');
    expect(await pipe(0, records, firstObject - 1)).toEqual(outs); // calibration frames only in the state
    expect(await pipe(0, records, firstObject)).toEqual(outs); // masters in the state
  }, 60_000);

  it('drops the frames of a cancelled burst; an unknown frame type is invalid input', async () => {
    const cancel = { topic: 'gp1.trigger', value: { burstId: 'sb24030101', kind: 'cancel' } };
    expect(await pipe(0, [cancel, ...records])).toEqual([]);
    const odd = { topic: 'images.raw', value: { ...records[0].value, imageType: 'focus' } };
    await expect(pipe(0, [odd])).rejects.toMatchObject({ code: 'gp1.unknown_frame_type' });
  });

  it('an object frame before any calibration frame: building the masters fails with the reason', async () => {
    const obj = records.filter((r) => r.value.imageType === 'object').slice(0, 1);
    await expect(pipe(0, obj)).rejects.toThrow(/building masters failed for burst sb24030101: no calibration frame/);
  });

  // issue 22: a stage that lives through a season keeps nothing of a closed burst but a small marker
  describe('closing a burst', () => {
    const asBurst = (burstId: string, dayOffset: number, lastObject: boolean) =>
      records.map((r, i) => {
        const d = new Date(Date.parse(r.value.dateObs as string) + dayOffset * 86_400_000).toISOString();
        const isLast = lastObject && i === records.length - 1;
        return { ...r, value: { ...r.value, burstId, dateObs: d, lastOfSequence: isLast } };
      });

    it('the last frame closes the burst: its masters leave the state for a marker that still calibrates a redelivered frame identically', async () => {
      const store = new StateStore();
      const night = asBurst('sb24030101', 0, true);
      const got = await pipe(0, night, -1, store);
      expect(got.filter((o) => o.topic === 'gp1.calibrated').map((o) => (o.value.storage as StorageRef).sha256)).toEqual(outs.filter((o) => o.topic === 'gp1.calibrated').map((o) => (o.value.storage as StorageRef).sha256));
      expect(store.keys()).toEqual(['closed/sb24030101']);
      expect(store.get<{ reason: string; masters: unknown[] }>('closed/sb24030101')).toMatchObject({ reason: 'last frame of the sequence', masters: [expect.anything(), expect.anything(), expect.anything()] });
      const stage = calibrationStage(cfg(0), storage, closingConfig({}));
      expect(stage.held!.bursts(store)).toBe(0);
      // a redelivered last frame and a late calibration frame, after the close
      const again = await pipe(0, [night[night.length - 1], night[0]], -1, store);
      expect(again.map((o) => (o.value.storage as StorageRef).sha256)).toEqual([(got[got.length - 1].value.storage as StorageRef).sha256]);
      expect(store.keys()).toEqual(['closed/sb24030101']);
    }, 60_000);

    it('a burst without its last frame is closed when frames of a burst a day later arrive; old markers expire', async () => {
      const store = new StateStore();
      await pipe(0, asBurst('sb24030101', 0, false), -1, store);
      expect(store.keys().filter((k) => !k.startsWith('closed/'))).toEqual(['masters/sb24030101']);
      await pipe(0, asBurst('sb24030201', 1.5, false).slice(0, 2), -1, store, { GFT_BURST_IDLE_HOURS: '24' });
      expect(store.get<{ reason: string }>('closed/sb24030101')?.reason).toBe('idle: no frame for 24 h');
      expect(burstKeys(store)).toEqual(['cal/sb24030201']);
      // a third burst 40 days later: the first marker is past the 30-day retention
      await pipe(0, asBurst('sb24041101', 41, true), -1, store);
      expect(store.keys().filter((k) => k.startsWith('closed/'))).toEqual(['closed/sb24030201', 'closed/sb24041101']);
      expect(store.get<{ reason: string }>('closed/sb24030201')?.reason).toBe('idle: no frame for 24 h');
      expect(burstKeys(store)).toEqual([]);
    }, 60_000);

    it('a cancelled burst is closed at its next frame', async () => {
      const store = new StateStore();
      const night = asBurst('sb24030101', 0, false);
      await pipe(0, night.slice(0, 6), -1, store);
      await pipe(0, [{ topic: 'gp1.trigger', value: { burstId: 'sb24030101', kind: 'cancel' } }, night[6]], -1, store);
      expect(store.keys()).toEqual(['closed/sb24030101']);
      expect(store.get<{ reason: string }>('closed/sb24030101')?.reason).toBe('cancelled');
    });
  });
});


describe('gp1-calibration stage: a night whose flats all fail (issue 20 item 5)', () => {
  it("uses the bank's newest accepted flat (a master stored by an earlier night), says so, and calibrates", async () => {
    const store = new StateStore();
    // night 1: its flats are good; its masters are stored (the bank)
    const night1 = records.map((r, i) => ({ ...r, value: { ...r.value, burstId: 'sb24030101', lastOfSequence: i === records.length - 1 } }));
    await pipe(0, night1, -1, store);
    // night 2, a day later: the same bias and darks, flats all far under the level rule
    const later = (d: string) => new Date(Date.parse(d) + 86_400_000).toISOString();
    const night2: typeof records = [];
    for (const r of records) {
      const v: Record<string, unknown> = { ...r.value, burstId: 'sb24030201', dateObs: later(r.value.dateObs as string), lastOfSequence: false };
      if (v.imageType === 'flat') {
        const name = `low-${v.fileName as string}`;
        const f = makeRawFrame(SYN, truth, { name, type: 'flat', seed: 900 + night2.length, exptime: 10, level: 40, filter: 'r' });
        const cards = Object.entries((f.header as unknown as { values: Record<string, string | number> }).values).map(([key, value]) => ({ key, value }));
        cards.push({ key: 'DATE-OBS', value: (v.dateObs as string).replace('Z', '').replace(/\.\d+$/, '') });
        const bytes = writeFits([{ kind: 'image', bitpix: 16, bzero: 32768, width: f.width, height: f.height, data: f.data, cards }]);
        night2.push({ topic: r.topic, value: { ...v, fileName: name, storage: await storage.put(bytes, { kind: 'raw', source: 'test', name }) } });
      } else night2.push({ topic: r.topic, value: v });
    }
    const outs = await pipe(0, night2, -1, store);
    const flat = outs.find((o) => o.topic === 'gp1.masters' && o.value.kind === 'flat')!.value as { accepted: boolean; reasons: string[] };
    expect(flat.accepted).toBe(false);
    expect(flat.reasons.join(' ')).toMatch(/replaced by the bank's master-flat-r-testcam-1x1-20240301T\d{6} \(\d+ h older\)/);
    const cal = outs.filter((o) => o.topic === 'gp1.calibrated').map((o) => o.value as { masters: string[] });
    expect(cal).toHaveLength(3);
    for (const c of cal) expect(c.masters.some((m) => m.startsWith('master-flat-r-testcam-1x1-20240301T'))).toBe(true);
  }, 60_000);
});

const burstKeys = (store: StateStore) => [...new Set(store.keys().filter((k) => !k.startsWith('closed/')).map((k) => k.split('/').slice(0, 2).join('/')))];
