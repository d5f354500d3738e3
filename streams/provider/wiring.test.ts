/**
 * The images provider on the real broker, driven as in production (a gp1.trigger): good frames go to
 * images.raw in DATE-OBS order with storage references whose checksums match the stored bytes, paced
 * by DATE-OBS spacing / speed; every bad file goes to provider.dlq with its reason, and the provider
 * goes on.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { platformConfig } from '../../lib/config/platform.ts';
import { createKafka } from '../../lib/runtime/kafka.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { StageRunner } from '../../lib/runtime/runner.ts';
import { TopicProducer } from '../../lib/runtime/producer.ts';
import { nsName } from '../../lib/runtime/topology.ts';
import { randomNamespace, provisionNamespace, stackReady } from '../../lib/runtime/testing.ts';
import { writeFits } from '../../lib/fits/index.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { FsBackend } from '../../connectors/storage/backend.ts';
import { providerConfig } from './config.ts';
import { providerStage } from './wiring.ts';

const ready = await stackReady();

function frame(dateObs: string | null, data?: ArrayLike<number>, bitpix: 16 | -32 = 16): Buffer {
  const W = 64, H = 48;
  const cards = [
    { key: 'IMAGETYP', value: 'object' }, { key: 'EXPTIME', value: 60 }, { key: 'FILTER', value: 'r' }, { key: 'INSTRUME', value: 'COATLI' },
    ...(dateObs ? [{ key: 'DATE-OBS', value: dateObs }] : []),
  ];
  return writeFits([{ kind: 'image', bitpix, width: W, height: H, data: data ?? Float32Array.from({ length: W * H }, (_, i) => 1000 + (i % 97)), bzero: bitpix === 16 ? 32768 : undefined, cards }]);
}

async function readAll(ns: string, topic: string, reader: string, n: number): Promise<Array<{ key: string | null; value: any; headers: Record<string, string>; timestamp: number }>> {
  const cfg = platformConfig();
  const c = createKafka(cfg, 'pt').consumer({ groupId: randomNamespace('g'), maxWaitTimeInMs: 100 });
  const serdes = new AvroSerdes(cfg.registryUrl);
  await c.connect();
  await c.subscribe({ topic: nsName(ns, topic), fromBeginning: true });
  const out: Array<{ key: string | null; value: any; headers: Record<string, string>; timestamp: number }> = [];
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

describe.skipIf(!ready)('images provider on the real broker', () => {
  it('injects good frames in DATE-OBS order at interval/speed, dead-letters every bad file with its reason, and goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prov-'));
    // good object frames, names out of time order
    const good = [
      ['b_second.fits', '2019-10-16T08:33:00'],
      ['a_third.fits', '2019-10-16T08:34:00.500'],
      ['c_first.fits', '2019-10-16T08:32:00'],
      ['d_fourth.fits', '2019-10-16T08:35:00'],
    ] as const;
    for (const [name, date] of good) writeFileSync(join(dir, name), frame(date));
    const ok = frame('2019-10-16T08:36:00');
    writeFileSync(join(dir, 'bad_truncated.fits'), ok.subarray(0, ok.length - 3000));
    writeFileSync(join(dir, 'bad_not_fits.fits'), 'SIMPLE? no: this is a text file\n'.repeat(200));
    const bitpix = Buffer.from(frame('2019-10-16T08:37:00'));
    const at = bitpix.indexOf('BITPIX  =');
    bitpix.write('BITPIX  =                   20', at, 'latin1');
    writeFileSync(join(dir, 'bad_bitpix.fits'), bitpix);
    // NaN-filled: 16-bit pixels all equal to BLANK (a raw camera format holding no value)
    writeFileSync(join(dir, 'bad_nan.fits'), frame('2019-10-16T08:38:00', new Float32Array(64 * 48).fill(NaN)));
    writeFileSync(join(dir, 'bad_no_date.fits'), frame(null));

    const ns = randomNamespace('prov');
    await provisionNamespace(ns);
    const store = new LocalStorage(new FsBackend(mkdtempSync(join(tmpdir(), 'prov-store-'))));
    const speed = 60; // DC3 interval 60 s → one frame per second
    const runner = new StageRunner(providerStage(providerConfig({ GFT_PROVIDER_IMAGES: dir, GFT_PROVIDER_SPEED: String(speed), GFT_PROVIDER_INTERVAL_S: '60' }), store), { namespace: ns, publishLogs: false });
    await runner.start();
    const p = new TopicProducer(ns);
    await p.send('gp1.trigger', [{ key: 'sb19101601', value: { burstId: 'sb19101601', kind: 'trigger', referenceVersion: 1, reference: null, t0: '2019-10-16T08:30:00Z', reason: 'test', issuedAt: 1_571_214_600_000 } }]);
    await p.disconnect();
    const raw = await readAll(ns, 'images.raw', 'org.gft.provider.RawFrame', 4);
    const dlq = await readAll(ns, 'provider.dlq', 'org.gft.runtime.DeadLetter', 5);
    await runner.stop();

    expect(raw.map((r) => r.value.fileName)).toEqual(['c_first.fits', 'b_second.fits', 'a_third.fits', 'd_fourth.fits']);
    expect(raw.map((r) => r.value.dateObs)).toEqual(['2019-10-16T08:32:00.000Z', '2019-10-16T08:33:00.000Z', '2019-10-16T08:34:00.500Z', '2019-10-16T08:35:00.000Z']);
    expect(raw.map((r) => r.value.lastOfSequence)).toEqual([false, false, false, true]);
    for (const r of raw) {
      const bytes = readFileSync(join(dir, r.value.fileName));
      expect(r.value.storage.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect((await store.get(r.value.storage)).equals(bytes)).toBe(true);
      expect(r.key).toBe('sb19101601');
    }
    // paced: one frame per interval/speed = 1 s (the first goes at once)
    const gaps = raw.slice(1).map((r, i) => r.timestamp - raw[i].timestamp);
    for (const g of gaps) {
      expect(g).toBeGreaterThan(800);
      expect(g).toBeLessThan(1800);
    }
    const byFile = Object.fromEntries(dlq.map((d) => [d.headers['gft-source-file'].split('/').pop(), d.headers['gft-error-code']]));
    expect(byFile).toEqual({
      'bad_truncated.fits': 'provider.truncated',
      'bad_not_fits.fits': 'provider.not_fits',
      'bad_bitpix.fits': 'provider.bad_bitpix',
      'bad_nan.fits': 'provider.nan_filled',
      'bad_no_date.fits': 'provider.no_date_obs',
    });
    for (const d of dlq) {
      expect(d.value.errorMessage.length).toBeGreaterThan(5);
      // the bad file's bytes are kept in storage, referenced from the dead letter
      const uri = Buffer.from(d.value.value).toString();
      expect(uri).toMatch(/^gft-store:\/\/sha256\//);
    }
    expect(runner.counters.dlq).toBe(0); // the trigger itself was fine: bad files are not failures of the stage
  }, 120_000);
});
