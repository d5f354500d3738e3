/**
 * `npm run bench -- fits`: reading FITS frames with our reader against astropy reading the same files in
 * the same run (astropy times its own reads in-process, so interpreter start-up does not count).
 *
 * Files: a COLIBRI-size 4192x4096 RICE_1-compressed 16-bit frame (`.fits.fz`) and a COATLI-size
 * 2184x1472 plain 16-bit frame (BZERO 32768), generated once with our writer into a temp folder
 * (realistic content: bias level, sky, read noise, stars, hot pixels, cosmic rays — compression ratios
 * depend on it). `--rice FILE` / `--plain FILE` bench other files instead.
 * Both sides return physical values (ours Float32, astropy uint16 for BZERO 32768 — astropy's default).
 * Target: ratio (astropy time / our time) ≥ 1.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../lib/cli/args.ts';
import { readImage, writeFitsFile } from '../lib/fits/index.ts';
import { python, table, time } from './lib.ts';

const spec = {
  usage: 'npm run bench -- fits [options]',
  description: 'Read speed of our FITS reader vs astropy on a RICE 4192x4096 frame and a plain 2184x1472 frame.',
  options: {
    runs: { type: 'number' as const, description: 'timed runs per reader', default: 11 },
    dir: { type: 'string' as const, description: 'folder for the generated frames', default: join(tmpdir(), 'gft-bench-fits') },
    rice: { type: 'string' as const, description: 'RICE-compressed file to read instead of the generated one' },
    plain: { type: 'string' as const, description: 'plain FITS file to read instead of the generated one' },
  },
};

/** Deterministic synthetic CCD frame in ADU (physical values). */
export function syntheticFrame(width: number, height: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const rand = () => {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const gauss = () => {
    const u = rand() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const img = new Float32Array(width * height);
  const bias = 1000;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sky = 300 + 40 * (x / width) + 20 * (y / height);
      img[y * width + x] = Math.round(bias + sky + gauss() * Math.sqrt(sky + 36));
    }
  }
  // stars (Gaussian PSF, sigma ~1.5 px)
  const nstars = Math.round((width * height) / 4000);
  for (let k = 0; k < nstars; k++) {
    const cx = rand() * width;
    const cy = rand() * height;
    const flux = 200 * Math.exp(rand() * 6);
    const r = 6;
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(height, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(width, Math.ceil(cx + r)); x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        const i = y * width + x;
        img[i] = Math.min(65535, img[i] + Math.round((flux / (2 * Math.PI * 2.25)) * Math.exp(-d2 / 4.5)));
      }
    }
  }
  // hot pixels and cosmic rays
  for (let k = 0; k < (width * height) / 20000; k++) img[Math.floor(rand() * width * height)] = 65535 - Math.floor(rand() * 20000);
  return img;
}

async function ensure(path: string, width: number, height: number, rice: boolean): Promise<void> {
  if (existsSync(path)) return;
  const data = syntheticFrame(width, height, rice ? 7 : 3);
  await writeFitsFile(
    path,
    [{ kind: 'image', bitpix: 16, width, height, data, bzero: 32768, cards: [{ key: 'OBJECT', value: 'bench' }, { key: 'EXPTIME', value: 60 }] }],
    rice ? { compress: 'rice' } : {},
  );
}

const PY = `
import sys, time, json
import numpy as np
from astropy.io import fits
runs = int(sys.argv[1])
out = {}
for label, path in zip(sys.argv[2::2], sys.argv[3::2]):
    for mode, uint in (('default', True), ('float32', False)):
        def read():
            with fits.open(path, memmap=False, uint=uint) as h:
                for hdu in h:
                    if hdu.is_image and hdu.data is not None and hdu.data.size:
                        return hdu.data
        d = read()  # warm-up
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); d = read(); ts.append((time.perf_counter() - t) * 1000)
        ts.sort()
        out[label + '/' + mode] = {'medianMs': ts[len(ts)//2], 'minMs': ts[0], 'dtype': str(d.dtype), 'sum': float(d.astype(np.float64).sum())}
print(json.dumps(out))
`;

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, spec);
  const runs = Number(p.options.runs);
  const dir = String(p.options.dir);
  mkdirSync(dir, { recursive: true });
  const ricePath = (p.options.rice as string | undefined) ?? join(dir, 'colibri-4192x4096.fits.fz');
  const plainPath = (p.options.plain as string | undefined) ?? join(dir, 'coatli-2184x1472.fits');
  const t0 = performance.now();
  if (!p.options.rice) await ensure(ricePath, 4192, 4096, true);
  if (!p.options.plain) await ensure(plainPath, 2184, 1472, false);
  const gen = performance.now() - t0;
  if (gen > 100) console.log(`generated bench frames in ${dir} (${(gen / 1000).toFixed(1)} s)`);

  const files = [
    { label: 'RICE 4192x4096', path: ricePath },
    { label: 'plain 2184x1472', path: plainPath },
  ];
  const ref = python<Record<string, { medianMs: number; minMs: number; dtype: string; shape: number[]; sum: number }>>(PY, [
    String(runs),
    ...files.flatMap((f) => [f.label, f.path]),
  ]);
  const rows: Record<string, string | number>[] = [];
  let ok = true;
  for (const f of files) {
    let img = readImage(f.path);
    const t = await time(() => {
      img = readImage(f.path);
    }, { runs, warmup: 1 });
    let sum = 0;
    for (let i = 0; i < img.data.length; i++) sum += img.data[i];
    const r = ref[`${f.label}/default`];
    const r32 = ref[`${f.label}/float32`];
    for (const x of [r, r32]) {
      if (Math.abs(sum - x.sum) > 1e-6 * Math.abs(x.sum)) {
        console.error(`${f.label}: our pixel sum ${sum} differs from astropy's ${x.sum} (${x.dtype})`);
        ok = false;
      }
    }
    const fileMB = statSync(f.path).size / 1e6;
    const imageMB = (img.data.length * Math.abs(img.bitpix)) / 8 / 1e6;
    const mbs = (ms: number) => (imageMB / (ms / 1000)).toFixed(0);
    rows.push({
      file: f.label,
      'file MB': fileMB.toFixed(1),
      'ours ms (median/min)': `${t.medianMs.toFixed(1)} / ${t.minMs.toFixed(1)}`,
      [`astropy ${r.dtype} ms`]: `${r.medianMs.toFixed(1)} / ${r.minMs.toFixed(1)}`,
      'astropy float32 ms': `${r32.medianMs.toFixed(1)} / ${r32.minMs.toFixed(1)}`,
      'ours MB/s': `${mbs(t.medianMs)} / ${mbs(t.minMs)}`,
      [`vs astropy ${r.dtype}`]: `${(r.medianMs / t.medianMs).toFixed(2)}x / ${(r.minMs / t.minMs).toFixed(2)}x`,
      'vs astropy float32': `${(r32.medianMs / t.medianMs).toFixed(2)}x / ${(r32.minMs / t.minMs).toFixed(2)}x`,
    });
  }
  console.log(`\nFITS read: median / min of ${runs} runs each. MB/s of the decoded 16-bit image. Ours returns Float32`);
  console.log(`physical values; astropy is timed with its defaults (uint16 for BZERO 32768) and with uint=False (float32,`);
  console.log(`the same output as ours), each file opened and its image read in-process (memmap=False).\n`);
  console.log(table(rows));
  console.log(`\nvs astropy = astropy time / our time (target ≥ 1.00x); pixel sums checked equal.`);
  console.log(`Medians include the environment: a fresh output array must be page-faulted in unless the C allocator`);
  console.log(`recycles a freed one (GC timing); the minimum shows the reader itself.`);
  return ok ? 0 : 1;
}
