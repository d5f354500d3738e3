/**
 * The images provider on the real broker, driven as in production: the stage from wiring.ts in a
 * StageRunner (its own consumer group, a random namespace), started by a `gp1.trigger` record as the
 * alerts stage sends it. Over a directory of good frames (plain, `.fits.fz` with the keywords in the
 * primary header, `.fits.gz`) and bad files (truncated, not FITS, BITPIX 20, NaN-filled, no DATE-OBS,
 * no frame type, a second copy of a frame), interleaved by name:
 *  - calibration frames go first, then object frames in DATE-OBS order, with storage references whose
 *    sha256 is that of the stored bytes (the decompressed bytes for `.gz`);
 *  - the wall-clock spacing of object frames, measured on the broker's record timestamps, follows their
 *    DATE-OBS spacing / speed (irregular on purpose, so a fixed interval would not pass), or a fixed
 *    interval / speed with pacing=interval;
 *  - every bad file is on provider.dlq with its code and reason in the headers and its bytes in storage;
 *  - the stage goes on: nothing of its own is dead-lettered and the next trigger is consumed.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { readImage, writeFits, type FitsCard, type HduInput } from '../../lib/fits/index.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { providerConfig } from './config.ts';
import { providerStage } from './wiring.ts';

const ready = await stackReady();

const W = 64;
const H = 48;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Each call is another exposure: the last pixel differs (the provider drops a second file with the same pixel data). */
let exposures = 0;
function image(cards: FitsCard[], data?: Float32Array): HduInput {
  const px = data ?? Float32Array.from({ length: W * H }, (_, i) => 1000 + (i % 97));
  if (!data) px[W * H - 1] = 2000 + exposures++;
  return { kind: 'image', bitpix: 16, bzero: 32768, width: W, height: H, data: px, cards };
}
const object = (dateObs: string | null, type = 'object'): FitsCard[] => [
  { key: 'IMAGETYP', value: type }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER', value: 'r' }, { key: 'INSTRUME', value: 'COATLI' },
  ...(dateObs ? [{ key: 'DATE-OBS', value: dateObs }] : []),
];

type Rec = { key: string | null; value: any; headers: Record<string, string>; timestamp: number };

async function readAll(ns: string, topic: string, reader: string, n: number): Promise<Rec[]> {
  const cfg = platformConfig();
  const c = createKafka(cfg, 'pt').consumer({ groupId: randomNamespace('g'), maxWaitTimeInMs: 100 });
  const serdes = new AvroSerdes(cfg.registryUrl);
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: Rec[] = [];
  await new Promise<void>((res) => {
    const t = setTimeout(res, 30_000);
    void c.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ key: message.key?.toString() ?? null, value: await serdes.decode(message.value!, reader), headers, timestamp: Number(message.timestamp) });
        if (out.length >= n) {
          clearTimeout(t);
          res();
        }
      },
    });
  });
  await c.disconnect();
  return out;
}

async function runProvider(dir: string, env: Record<string, string>, expectRaw: number, expectDlq: number) {
  const ns = randomNamespace('prov');
  await provisionNamespace(ns);
  const store = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'prov-store-'))));
  const runner = new StageRunner(providerStage(providerConfig({ GFT_PROVIDER_IMAGES: dir, ...env }), store), { namespace: ns, publishLogs: false });
  await runner.start();
  try {
    const p = new TopicProducer(ns);
    const trigger = (kind: string) => ({ key: 'sb19101601', value: { burstId: 'sb19101601', kind, referenceVersion: 1, reference: null, t0: '2019-10-16T08:30:00Z', reason: 'test', issuedAt: 1_571_214_600_000 } });
    const sentAt = Date.now();
    await p.send('gp1.trigger', [trigger('trigger')]);
    const raw = await readAll(ns, 'images.raw', 'org.gft.provider.RawFrame', expectRaw);
    const dlq = await readAll(ns, 'provider.dlq', 'org.gft.runtime.DeadLetter', expectDlq);
    // the stage goes on: a later trigger record of the burst is consumed and committed too
    await p.send('gp1.trigger', [trigger('update')]);
    await p.disconnect();
    const until = Date.now() + 20_000;
    while (runner.counters.committed < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    return { raw, dlq, store, sentAt, counters: { ...runner.counters } };
  } finally {
    await runner.stop();
  }
}

describe.skipIf(!ready)('images provider on the real broker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prov-'));
  // object frames at irregular DATE-OBS spacing: 60 s, 150 s, 15 s
  const objects = [
    ['b_second.fits', '2019-10-16T08:31:00'],
    ['a_third.fits.fz', '2019-10-16T08:33:30.000'],
    ['c_first.fits', '2019-10-16T08:30:00'],
    ['d_fourth.fits.gz', '2019-10-16T08:33:45'],
  ] as const;
  const spacingS = [0, 60, 210, 225];

  beforeAll(() => {
    const put = (name: string, b: Buffer | string) => writeFileSync(join(dir, name), b);
    put('c_first.fits', writeFits([image(object('2019-10-16T08:30:00'))]));
    put('b_second.fits', writeFits([image(object('2019-10-16T08:31:00'))]));
    // keywords in the primary header, image RICE-compressed in extension 1
    put('a_third.fits.fz', writeFits([{ kind: 'empty', cards: object('2019-10-16T08:33:30.000') }, image([])], { compress: 'rice' }));
    put('d_fourth.fits.gz', gzipSync(writeFits([image(object('2019-10-16T08:33:45'))])));
    // calibrations: an evening bias and a morning flat, both sent before the objects
    put('e_bias.fits', writeFits([image([{ key: 'IMAGETYP', value: 'Bias Frame' }, { key: 'DATE-OBS', value: '2019-10-16T00:40:00' }])]));
    put('e_flat.fits', writeFits([image([...object('2019-10-16T12:10:00', 'flat field')])]));
    // bad files, named to sort among the good ones
    const ok = writeFits([image(object('2019-10-16T08:36:00'))]);
    put('b_truncated.fits', ok.subarray(0, ok.length - 3000));
    put('c_not_fits.fits', 'SIMPLE? no: this is a text file\n'.repeat(200));
    const bitpix = Buffer.from(writeFits([image(object('2019-10-16T08:37:00'))]));
    bitpix.write('BITPIX  =                   20', bitpix.indexOf('BITPIX  ='), 'latin1');
    put('a_bitpix.fits', bitpix);
    // NaN-filled: 16-bit pixels all equal to BLANK (a raw camera format holding no value)
    put('bad_nan.fits', writeFits([image(object('2019-10-16T08:38:00'), new Float32Array(W * H).fill(NaN))]));
    put('bad_no_date.fits', writeFits([image(object(null))]));
    put('d_focus.fits', writeFits([image(object('2019-10-16T08:39:00', 'focus'))]));
    put('c_first.fits.gz', gzipSync(writeFits([image(object('2019-10-16T08:30:00'))]))); // a second copy of c_first
  });

  it('injects calibrations then objects in DATE-OBS order paced by DATE-OBS spacing / speed; dead-letters every bad file with its reason; goes on', async () => {
    const speed = 60;
    const { raw, dlq, store, counters, sentAt } = await runProvider(dir, { GFT_PROVIDER_SPEED: String(speed) }, 6, 7);

    expect(raw.map((r) => r.value.fileName)).toEqual(['e_bias.fits', 'e_flat.fits', 'c_first.fits', 'b_second.fits', 'a_third.fits.fz', 'd_fourth.fits']);
    expect(raw.map((r) => r.value.imageType)).toEqual(['bias', 'flat', 'object', 'object', 'object', 'object']);
    expect(raw.map((r) => r.value.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(raw.slice(2).map((r) => r.value.dateObs)).toEqual(['2019-10-16T08:30:00.000Z', '2019-10-16T08:31:00.000Z', '2019-10-16T08:33:30.000Z', '2019-10-16T08:33:45.000Z']);
    expect(raw.map((r) => r.value.lastOfSequence)).toEqual([false, false, false, false, false, true]);
    expect(raw[4].value).toMatchObject({ compressed: true, filter: 'r', camera: 'COATLI', exptime: 60 });
    for (const r of raw) {
      // the .gz frame is stored and announced decompressed, under the name GP1 reads
      const gz = r.value.fileName === 'd_fourth.fits';
      const original = readFileSync(join(dir, gz ? 'd_fourth.fits.gz' : r.value.fileName));
      const expected = gz ? gunzipSync(original) : original;
      const stored = await store.get(r.value.storage); // re-hashes: throws unless the bytes match the reference
      expect(r.value.storage.sha256, r.value.fileName).toBe(sha(stored));
      expect(stored.equals(expected), r.value.fileName).toBe(true);
      expect(r.value.storage.size).toBe(stored.length);
      expect(r.key).toBe('sb19101601');
    }
    // pixels of the stored .gz frame = the original's
    expect(Array.from(readImage(await store.get(raw[5].value.storage)).data.subarray(0, 4))).toEqual([1000, 1001, 1002, 1003]);

    // pacing, on the record timestamps: never before its time (the schedule starts after the trigger
    // was sent), and relative to the first object frame about on time (a loaded machine adds delay)
    const t0 = raw[2].timestamp;
    const measured = raw.slice(2).map((r) => r.timestamp - t0);
    const expected = spacingS.map((s) => (s * 1000) / speed); // 0, 1000, 3500, 3750 ms
    for (let i = 1; i < measured.length; i++) {
      expect(raw[2 + i].timestamp - sentAt, `object ${i}: ${measured.join(', ')} ms vs ${expected.join(', ')}`).toBeGreaterThanOrEqual(expected[i] - 5);
      expect(measured[i], `object ${i}: ${measured.join(', ')} ms vs ${expected.join(', ')}`).toBeLessThan(expected[i] + 1500);
    }
    console.log(`provider pacing at speed ${speed}: object frames at ${measured.join(', ')} ms, DATE-OBS spacing / speed = ${expected.join(', ')} ms`);

    const byFile: Record<string, Rec> = Object.fromEntries(dlq.map((d) => [d.headers['gft-source-file'].split('/').pop() as string, d]));
    const codes = Object.fromEntries(Object.entries(byFile).map(([k, d]) => [k, d.headers['gft-error-code']]));
    expect(codes).toEqual({
      'b_truncated.fits': 'provider.truncated',
      'c_not_fits.fits': 'provider.not_fits',
      'a_bitpix.fits': 'provider.bad_bitpix',
      'bad_nan.fits': 'provider.nan_filled',
      'bad_no_date.fits': 'provider.no_date_obs',
      'd_focus.fits': 'provider.unknown_type',
      'c_first.fits.gz': 'provider.duplicate',
    });
    const reasons: Record<string, RegExp> = {
      'b_truncated.fits': /truncated/,
      'c_not_fits.fits': /not a FITS file/,
      'a_bitpix.fits': /BITPIX 20/,
      'bad_nan.fits': /100\.0% of the pixels are not finite/,
      'bad_no_date.fits': /no DATE-OBS/,
      'd_focus.fits': /IMAGETYP 'focus'/,
      'c_first.fits.gz': /already provided by c_first\.fits/,
    };
    for (const [name, d] of Object.entries(byFile)) {
      expect(d.headers['gft-error-message'], name).toMatch(reasons[name]);
      expect(d.value.errorMessage).toBe(d.headers['gft-error-message']);
      expect(d.headers['gft-stage']).toBe('provider');
      // the bad file's bytes are kept in storage, referenced from the dead letter
      const uri = Buffer.from(d.value.value).toString();
      expect((await store.get(uri)).equals(readFileSync(join(dir, name))), name).toBe(true);
    }
    expect(counters.dlq).toBe(0); // the trigger itself was fine: bad files are not failures of the stage
    expect(counters.committed).toBe(2); // and it went on to the next trigger record
  }, 120_000);

  it('with pacing=interval, object frames go one every interval / speed whatever their DATE-OBS', async () => {
    const { raw, sentAt } = await runProvider(dir, { GFT_PROVIDER_SPEED: '120', GFT_PROVIDER_PACING: 'interval', GFT_PROVIDER_INTERVAL_S: '60' }, 6, 7);
    const t0 = raw[2].timestamp;
    const measured = raw.slice(2).map((r) => r.timestamp - t0);
    console.log(`provider pacing=interval at speed 120: object frames at ${measured.join(', ')} ms, expected 0, 500, 1000, 1500 ms`);
    for (let i = 1; i < measured.length; i++) {
      expect(raw[2 + i].timestamp - sentAt, measured.join(', ')).toBeGreaterThanOrEqual(500 * i - 5); // never early
      expect(measured[i], measured.join(', ')).toBeLessThan(500 * i + 1500);
    }
  }, 120_000);
});
