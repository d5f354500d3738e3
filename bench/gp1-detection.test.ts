import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFitsFile } from '../lib/fits/index.ts';
import { makeFrame } from '../streams/gp1/core/detection/synthetic.ts';
import { classifyDisagreements, run } from './gp1-detection.ts';

const hasSex = spawnSync('source-extractor', ['-v'], { encoding: 'utf8' }).status === 0;
if (!hasSex) console.warn('SKIPPED gp1-detection bench test: source-extractor is not installed');
const dir = mkdtempSync(join(tmpdir(), 'bench-det-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasSex)('npm run bench -- gp1-detection --image (frames of your own, no truth)', () => {
  it('runs both detectors on a calibrated file and prints timings and the agreement by S/N', async () => {
    // bright isolated stars on a grid: both detectors must find all of them
    const stars = [];
    for (let y = 40; y < 480; y += 48) for (let x = 40; x < 480; x += 48) stars.push({ x: x + 0.3, y: y + 0.6, flux: 3000 });
    const f = makeFrame({ width: 512, height: 512, stars, fwhm: 3, seed: 5, hotPixels: 5, cosmicRays: 5, saturation: 1e6 });
    const file = join(dir, 'cal.fits');
    await writeFitsFile(file, [
      { kind: 'image', bitpix: -32, width: 512, height: 512, data: f.data, cards: [{ key: 'DATE-OBS', value: '2024-01-01T00:00:00' }, { key: 'EXPTIME', value: 60 }, { key: 'GAIN', value: 2 }] },
      { kind: 'image', bitpix: -32, width: 512, height: 512, data: f.weight, cards: [{ key: 'EXTNAME', value: 'WEIGHT' }] },
      { kind: 'image', bitpix: 16, width: 512, height: 512, data: Int16Array.from(f.mask), cards: [{ key: 'EXTNAME', value: 'MASK' }] },
    ]);
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      expect(await run(['--image', file, '--runs', '1'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toMatch(/cal\.fits\s+512x512\s+\d+\s+\d+\s+\d+\.\d+x\s+\d+\s+\d+\s+no --catalog\s+WEIGHT HDU/);
    const bright = text.split('\n').find((l) => /cal\.fits\s+>50\s/.test(l))!;
    // the 100 grid stars (S/N > 50) on both sides, each found by the other
    expect(bright).toMatch(/>50\s+(\d+)\s+100\.0%\s+(\d+)\s+100\.0%/);
    const [, a, b] = /\s(\d+)\s+100\.0%\s+(\d+)\s+100\.0%/.exec(bright)!;
    expect(Number(a)).toBeGreaterThanOrEqual(100);
    expect(Number(b)).toBeGreaterThanOrEqual(100);
  }, 120_000);

  it('measures frames without DATE-OBS (a detection bench needs no date), one file or several, saying so; an unreadable one is reported, the others go on', async () => {
    const stars = [];
    for (let y = 40; y < 220; y += 48) for (let x = 40; x < 220; x += 48) stars.push({ x: x + 0.3, y: y + 0.6, flux: 3000 });
    const files: string[] = [];
    for (const k of [0, 1]) {
      const f = makeFrame({ width: 256, height: 256, stars, fwhm: 3, seed: 9 + k, saturation: 1e6 });
      const file = join(dir, `nodate-${k}.fits`);
      await writeFitsFile(file, [{ kind: 'image', bitpix: -32, width: 256, height: 256, data: f.data, cards: [{ key: 'EXPTIME', value: 30 }, { key: 'GAIN', value: 2 }] }]);
      files.push(file);
    }
    const broken = join(dir, 'broken.fits');
    (await import('node:fs')).writeFileSync(broken, 'not FITS');
    const out: string[] = [];
    const errs: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errs.push(a.join(' ')));
    try {
      expect(await run(['--image', files[0], '--runs', '1'])).toBe(0);
      expect(await run(['--image', files[0], '--image', broken, '--image', files[1], '--runs', '1'])).toBe(1);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const text = out.join('\n');
    // both frames measured in the second run (and the first frame in the first)
    expect(text.match(/nodate-0\.fits\s+256x256/g)).toHaveLength(2);
    expect(text).toMatch(/nodate-1\.fits\s+256x256/);
    expect(errs.join('\n')).toMatch(/nodate-0\.fits: no usable DATE-OBS.*\(not needed to measure the frame\)/);
    expect(errs.join('\n')).toMatch(/skipped .*broken\.fits: .*NOT_FITS|skipped .*broken\.fits: .*not a FITS file/);
    expect(text).toMatch(/skipped \(1\):\n\s+.*broken\.fits/);
  }, 120_000);

  it('says which file is missing', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--image', join(dir, 'nope.fits')])).toBe(2);
      expect(err).toHaveBeenCalledWith(expect.stringContaining('nope.fits'));
    } finally {
      err.mockRestore();
    }
  });
});

describe('gp1-detection bench: each disagreement with SExtractor has a kind', () => {
  it('edge, bad pixel, bright star, deblending, centroid, threshold, unexplained; matched pairs are not listed', () => {
    const W = 500, H = 400;
    const mask = new Uint8Array(W * H);
    mask[200 * W + 300] = 1;
    const ours = [
      { x: 100, y: 100, snr: 40 }, // matched (0.5 px)
      { x: 250.2, y: 300.1, snr: 19000 }, // the bright star, matched
      { x: 4, y: 200, snr: 30 }, // edge
      { x: 301, y: 201, snr: 20 }, // bad pixel
      { x: 250, y: 330, snr: 12 }, // 30 px from a S/N 20000 star → bright star
      { x: 50, y: 50, snr: 22 }, // one object here, SExtractor split it in two → deblending
      { x: 400, y: 100, snr: 25 }, // SExtractor's one source 2.5 px away → centroid
      { x: 150, y: 300, snr: 12 }, // nothing near, S/N < 1.5 × 10 → threshold
      { x: 420, y: 250, snr: 40 }, // nothing near, bright → unexplained
    ];
    const sex = [
      { x: 100.3, y: 100.4, snr: 41 },
      { x: 250, y: 300, snr: 20000 },
      { x: 48, y: 52, snr: 15 },
      { x: 53, y: 48, snr: 14 },
      { x: 402.5, y: 100, snr: 24 },
    ];
    const d = classifyDisagreements(ours, sex, { width: W, height: H, mask, minSnr: 10 });
    const kinds = Object.fromEntries(d.map((x) => [`${x.side} ${x.x},${x.y}`, x.kind]));
    expect(kinds).toEqual({
      'ours 4,200': 'edge',
      'ours 301,201': 'bad pixel',
      'ours 250,330': 'bright star',
      'ours 50,50': 'deblending',
      'ours 400,100': 'centroid',
      'ours 150,300': 'threshold',
      'ours 420,250': 'unexplained',
      'SExtractor 48,52': 'deblending',
      'SExtractor 53,48': 'deblending',
      'SExtractor 402.5,100': 'centroid',
    });
    expect(d.find((x) => x.kind === 'bright star')!.detail).toMatch(/(29\.9|30\.0) px from a source of S\/N (19000|20000)/);
  });
});
