/**
 * `npm run bench -- fits`: reading FITS frames with our reader against astropy reading the same files in
 * the same run (astropy times its own reads in-process, so interpreter start-up does not count).
 *
 * Files: a COLIBRI-size 4192x4096 RICE_1-compressed 16-bit frame (`.fits.fz`) and a COATLI-size
 * 2184x1472 plain 16-bit frame (BZERO 32768), generated once with our writer into a temp folder
 * (realistic content: bias level, sky, read noise, stars, hot pixels, cosmic rays — compression ratios
 * depend on it). `--rice FILE` / `--plain FILE` bench other files instead.
 * Both sides return physical values (ours Float32, astropy uint16 for BZERO 32768 — astropy's default).
 * Ours is timed as it runs (output buffers page-faulted ahead by a helper thread) and without that
 * helper; CPU time per read (all threads) is printed for both sides. Astropy runs in one persistent
 * python process and the readers alternate run by run, so each run's ratio compares reads made under
 * the same machine load (the machine is shared: a sequential A-then-B timing measured the neighbours).
 * Target: ratio (astropy time / our time) ≥ 1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseArgs } from '../lib/cli/args.ts';
import { readImage, writeFitsFile } from '../lib/fits/index.ts';
import { table } from './lib.ts';

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

/**
 * Astropy side, a persistent process: each stdin line `<path> <uint 0|1>` opens the file, reads its
 * first image in-process (memmap=False) and answers one JSON line: wall and CPU ms of that read, the
 * dtype and the pixel sum. So both readers are timed run after run, under the same machine load.
 */
const PY = `
import sys, time, json
import numpy as np
from astropy.io import fits
def read(path, uint):
    with fits.open(path, memmap=False, uint=uint) as h:
        for hdu in h:
            if hdu.is_image and hdu.data is not None and hdu.data.size:
                return hdu.data
for line in sys.stdin:
    path, uint = line.rstrip('\\n').rsplit(' ', 1)
    c = time.process_time(); t = time.perf_counter()
    d = read(path, uint == '1')
    ms = (time.perf_counter() - t) * 1000; cpu = (time.process_time() - c) * 1000
    print(json.dumps({'ms': ms, 'cpuMs': cpu, 'dtype': str(d.dtype), 'sum': float(d.astype(np.float64).sum())}), flush=True)
`;

class Astropy {
  private proc = spawn('/usr/bin/python3', ['-c', PY], { stdio: ['pipe', 'pipe', 'inherit'] });
  private lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
  async read(path: string, uint: boolean): Promise<{ ms: number; cpuMs: number; dtype: string; sum: number }> {
    this.proc.stdin!.write(`${path} ${uint ? 1 : 0}\n`);
    const l = await this.lines.next();
    if (l.done) throw new Error('the astropy reference process ended (is python3-astropy installed?)');
    return JSON.parse(l.value);
  }
  close(): void {
    this.proc.stdin!.end();
  }
}

interface Stat {
  median: number;
  min: number;
}
const stat = (xs: number[]): Stat => {
  const v = [...xs].sort((a, b) => a - b);
  return { median: v[v.length >> 1], min: v[0] };
};

/** One of our reads: wall and process CPU (all threads) in ms. */
function ours(path: string, helper: boolean): { ms: number; cpuMs: number; sum: number; values: number; bitpix: number } {
  if (helper) delete process.env.GFT_FITS_NO_PREFAULT;
  else process.env.GFT_FITS_NO_PREFAULT = '1';
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  const img = readImage(path);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const cu = process.cpuUsage(c);
  delete process.env.GFT_FITS_NO_PREFAULT;
  let sum = 0;
  for (let i = 0; i < img.data.length; i++) sum += img.data[i];
  return { ms, cpuMs: (cu.user + cu.system) / 1000, sum, values: img.data.length, bitpix: img.bitpix };
}

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
  const py = new Astropy();
  const rows: Record<string, string | number>[] = [];
  let ok = true;
  try {
    for (const f of files) {
      // warm-up of every reader, and the pixel sums checked equal
      const o = ours(f.path, true);
      ours(f.path, false);
      for (const uint of [true, false]) {
        const r = await py.read(f.path, uint);
        if (Math.abs(o.sum - r.sum) > 1e-6 * Math.abs(r.sum)) {
          console.error(`${f.label}: our pixel sum ${o.sum} differs from astropy's ${r.sum} (${r.dtype})`);
          ok = false;
        }
      }
      // Timed runs, the four readers one after the other in each run (order rotated), so that each
      // run's ratios compare reads made under the same load.
      const m = { ours: [] as number[], oursCpu: [] as number[], none: [] as number[], uint: [] as number[], uintCpu: [] as number[], f32: [] as number[], rUint: [] as number[], rF32: [] as number[], rNone: [] as number[] };
      let dtype = '';
      for (let i = 0; i < runs; i++) {
        const res: Record<string, { ms: number; cpuMs: number }> = {};
        const order = ['ours', 'none', 'uint', 'f32'];
        for (let k = 0; k < order.length; k++) {
          const which = order[(k + i) % order.length];
          if (which === 'ours') res.ours = ours(f.path, true);
          else if (which === 'none') res.none = ours(f.path, false);
          else {
            const r = await py.read(f.path, which === 'uint');
            if (which === 'uint') dtype = r.dtype;
            res[which] = r;
          }
        }
        m.ours.push(res.ours.ms);
        m.oursCpu.push(res.ours.cpuMs);
        m.none.push(res.none.ms);
        m.uint.push(res.uint.ms);
        m.uintCpu.push(res.uint.cpuMs);
        m.f32.push(res.f32.ms);
        m.rUint.push(res.uint.ms / res.ours.ms);
        m.rF32.push(res.f32.ms / res.ours.ms);
        m.rNone.push(res.uint.ms / res.none.ms);
      }
      const fileMB = statSync(f.path).size / 1e6;
      const imageMB = (o.values * Math.abs(o.bitpix)) / 8 / 1e6;
      const ms = (s: Stat) => `${s.median.toFixed(1)} / ${s.min.toFixed(1)}`;
      const x = (s: Stat) => `${s.median.toFixed(2)}x`;
      const so = stat(m.ours);
      rows.push({
        file: f.label,
        'file MB': fileMB.toFixed(1),
        'ours ms': ms(so),
        'ours MB/s': (imageMB / (so.median / 1000)).toFixed(0),
        'ours no helper ms': ms(stat(m.none)),
        [`astropy ${dtype} ms`]: ms(stat(m.uint)),
        'astropy float32 ms': ms(stat(m.f32)),
        [`vs astropy ${dtype}`]: x(stat(m.rUint)),
        'vs astropy float32': x(stat(m.rF32)),
        [`no helper vs ${dtype}`]: x(stat(m.rNone)),
        'CPU ms ours / astropy': `${stat(m.oursCpu).median.toFixed(1)} / ${stat(m.uintCpu).median.toFixed(1)}`,
        'worst run vs astropy': `${Math.min(...m.rUint).toFixed(2)}x`,
      });
    }
  } finally {
    py.close();
  }
  console.log(`\nFITS read, ${runs} runs; in each run our reader and astropy's read the same file one after the other`);
  console.log(`(order rotated), so ratios are per run and then the median is shown. Ours returns Float32 physical`);
  console.log(`values; astropy is timed with its defaults (uint16 for BZERO 32768) and with uint=False (float32, the`);
  console.log(`same output as ours), each file opened and its image read in-process (memmap=False). ms = median / min.\n`);
  console.log(table(rows));
  console.log(`\nvs astropy = astropy time / our time, median over runs (target ≥ 1.00x); pixel sums checked equal.`);
  console.log(`Ours: big output buffers come page-faulted by a nice-19 helper thread when one is ready`);
  console.log(`(lib/fits/prefault.ts); "no helper" = GFT_FITS_NO_PREFAULT=1, every output page faulted on first write.`);
  console.log(`CPU ms = CPU time of the read for the whole process (all threads, so the helper's share is counted).`);
  console.log(`load: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min) on ${cpus().length} CPUs`);
  return ok ? 0 : 1;
}
