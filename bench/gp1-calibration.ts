/**
 * `npm run bench -- gp1-calibration [--runs N] [--only small|large|master] [--keep]`: GP1 calibration
 * against numpy (Debian python3-numpy, files read by astropy) doing the same arithmetic on the same
 * files in the same run.
 *
 * Cases (synthetic raw frames written with lib/fits as BITPIX 16 + BZERO 32768, like the cameras'):
 * - calibrate a COATLI 2184x1472 frame (overscan [2149:2184,1:1472]) and a COLIBRI 4192x4096 frame
 *   (BIASSEC [1:48,1:4096], DATASEC [49:4144,1:4096]) with float32 masters;
 * - build a master bias from 8 frames of 4192x4096 (overscan median, crop, median combine, stats).
 *
 * The same work on both sides ("compute"): overscan median of the whole BIASSEC, crop, float32
 * (raw − ov − bias − dark·t)/(t·flat) with the low-flat pixels set to 0, the hot/low-flat/saturated
 * mask, sky median and 1.4826·MAD on the same ≤ 2^18 strided unmasked pixels, the float32 weight map
 * g t² f²/(RN²/g + |sky| t f + max(dark, 0) t) with 0 on low-flat pixels. Ours does a little more:
 * the masters' variance in the weight, weight 0 on NaN (BLANK) pixels, the pixel counts per mask bit
 * and the list of significant pixels the cosmic-ray and FWHM steps start from.
 *
 * Rows:
 * - "compute": arrays already in memory on both sides; fresh output arrays on both sides (numpy's
 *   allocator maps large arrays on transparent huge pages, Node cannot: a fresh 64 MB array costs
 *   ~16,000 page faults here; the note gives numpy's time with huge pages off, for scale);
 *   "reused buffers" passes the previous frame's arrays (opts.out), as the stage does.
 * - "+cosmics+FWHM": our full per-frame calibration (cosmic-ray detection, FWHM estimate) against the
 *   same numpy arithmetic (numpy does less: the ratio is conservative).
 * - "pool": the same through the worker pool (2 threads here): a frame per worker (output buffers
 *   recycled) / a combine split over the workers; timed per frame (calibrate) or per master. On a
 *   2-core machine shared with other work, expect little gain.
 * - "files": reading the raw FITS files too (ours lib/fits + sha256 of each file for provenance;
 *   numpy: astropy.io.fits.getdata).
 * - "files + write FITS": read, calibrate and write the image + WEIGHT + MASK file in memory with
 *   CHECKSUM/DATASUM — what the stage does per frame (numpy: astropy HDUList.writeto(checksum=True)).
 * Peak memory: a child process builds the 8-frame 4192x4096 master from the files (lazy reading) and
 * reports its peak RSS (the kernel's VmHWM, and the max of process.memoryUsage().rss sampled between
 * frames); numpy's VmHWM for its version (8 frames in memory) is printed beside it.
 * Each numpy case runs in its own process right before ours, so both see the same load.
 * Times: median and best of N runs; ratios use the best runs, the least disturbed by other work on a
 * shared machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { python, ratio, table, time } from './lib.ts';
import { repoRoot } from '../lib/config/platform.ts';
import { writeFitsFile } from '../lib/fits/index.ts';
import { parseArgs } from '../lib/cli/args.ts';
import { defineCamera, formatSection, type CameraConfig } from '../streams/gp1/core/camera.ts';
import { buildMasterBias, calibrateFrame, masterStats, sha256Pixels, type MasterImage, type RawFrame } from '../streams/gp1/core/calibration/index.ts';
import { calibratedBytes, readRawFrame } from '../streams/gp1/core/calibration/io.ts';
import { CalibrationPool } from '../streams/gp1/core/calibration/pool.ts';
import { makeRawFrame, makeTruth, type SyntheticCamera, type Truth } from '../streams/gp1/core/calibration/synthetic.ts';

const SMALL: SyntheticCamera = { width: 2184, height: 1472, overscan: { x1: 2149, x2: 2184, y1: 1, y2: 1472 }, data: { x1: 1, x2: 2148, y1: 1, y2: 1472 }, gain: 6.2, readNoise: 10, saturation: 65535 };
const LARGE: SyntheticCamera = { width: 4192, height: 4096, overscan: { x1: 1, x2: 48, y1: 1, y2: 4096 }, data: { x1: 49, x2: 4144, y1: 1, y2: 4096 }, gain: 6.2, readNoise: 10, saturation: 65535 };
const N_MASTER = 8;
const HUGETLB = /(^|:)glibc\.malloc\.hugetlb=1(:|$)/;
const EXPTIME = 60;

const camOf = (name: string, s: SyntheticCamera): CameraConfig => defineCamera({ name, ...s });

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function writeRaw(path: string, f: RawFrame): Promise<void> {
  await writeFitsFile(path, [{ kind: 'image', bitpix: 16, bzero: 32768, width: f.width, height: f.height, data: f.data, cards: Object.entries((f.header as unknown as { values: Record<string, string | number> }).values).map(([key, value]) => ({ key, value })) }]);
}

async function writeF32(path: string, a: Float32Array, w: number, h: number): Promise<void> {
  await writeFitsFile(path, [{ kind: 'image', bitpix: -32, width: w, height: h, data: a }]);
}

function masterImage(name: string, kind: 'bias' | 'dark' | 'flat', data: Float32Array, w: number, h: number, cam: CameraConfig): MasterImage {
  const s = masterStats(data, kind, cam.hotSigma, cam.lowFlat);
  return { name, sha256: sha256Pixels(data), width: w, height: h, data, stats: { level: s.level, noise: s.noise, hotThreshold: s.hotThreshold } };
}

/** A timing as both sides report it: median and best of the runs, ms. */
type T = { median: number; min: number };
const tm = (x: { medianMs: number; minMs: number }): T => ({ median: x.medianMs, min: x.minMs });
/** One table row: times are "median (best)"; the ratio uses the best runs (the machine is shared). */
function row(cse: string, variant: string, ours: T, ref: T | null, note: string): Record<string, string> {
  const f = (x: T) => `${x.median.toFixed(0)} (${x.min.toFixed(0)})`;
  return { case: cse, variant, 'ours ms': f(ours), 'numpy ms': ref ? f(ref) : '', ratio: ref ? ratio(ours.min, ref.min) : '', note };
}

interface CalCase {
  label: string;
  cam: CameraConfig;
  syn: SyntheticCamera;
  raw: string;
  bias: string;
  dark: string;
  flat: string;
  masters: { bias: MasterImage; dark: MasterImage; flat: MasterImage };
}

/** Numpy side: the same arithmetic (see the file comment). Prints one JSON line. */
const NUMPY = String.raw`
import sys, json, time, hashlib, resource, io
import numpy as np
from astropy.io import fits
cfg = json.loads(sys.argv[1])
runs = cfg['runs']
def med_ms(fn):
    fn()
    ts = []
    for _ in range(runs):
        s = time.perf_counter(); fn(); ts.append((time.perf_counter() - s) * 1000)
    ts.sort(); return {'median': ts[len(ts) // 2], 'min': ts[0]}
def hwm_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    return None
def load(p): return fits.getdata(p, memmap=False).astype(np.float32)
def sl(s): return (slice(s[2] - 1, s[3]), slice(s[0] - 1, s[1]))
out = {}
for c in cfg['calibrate']:
    bias, dark, flat = load(c['bias']), load(c['dark']), load(c['flat'])
    raw = load(c['raw'])
    osl, dsl = sl(c['overscan']), sl(c['data'])
    t = np.float32(c['t']); g = c['gain']; rn = c['rn']; sat = c['sat']; low = c['lowFlat']; hot = c['hot']
    def calib(raw):
        ov = np.float32(np.median(raw[osl]))
        d = raw[dsl]
        img = (d - ov - bias - dark * t) / (t * flat)
        lowm = flat < low
        mask = (dark > hot).astype(np.uint8) | (lowm.astype(np.uint8) << 1) | ((d >= sat).astype(np.uint8) << 2)
        img[lowm] = 0
        v = img.ravel(); m = mask.ravel()
        step = max(1, v.size // (1 << 18))
        s = v[::step][m[::step] == 0]
        sky = np.median(s); noise = 1.4826 * np.median(np.abs(s - sky))
        w = (np.float32(g) * t * t * flat * flat) / np.float32(rn * rn / g + abs(sky) * t * flat + np.maximum(dark, 0) * t)
        w[lowm] = 0
        return img, w, mask, sky, noise
    def write(r):
        img, w, mask = r[0], r[1], r[2]
        hl = fits.HDUList([fits.PrimaryHDU(img), fits.ImageHDU(w, name='WEIGHT'), fits.ImageHDU(mask, name='MASK')])
        b = io.BytesIO()
        hl.writeto(b, checksum=True)
        return b.getbuffer().nbytes
    r = calib(raw)
    out[c['label']] = {'compute': med_ms(lambda: calib(raw)), 'files': med_ms(lambda: calib(load(c['raw']))), 'write': med_ms(lambda: write(calib(load(c['raw'])))), 'sky': float(r[3]), 'noise': float(r[4])}
    try:
        # for scale only: the same with numpy's huge-page advice off (4 KB page faults, as Node has)
        from numpy.core import multiarray as ma
        ma._set_madvise_hugepage(False)
        out[c['label']]['computeNoHuge'] = med_ms(lambda: calib(raw))
        ma._set_madvise_hugepage(True)
    except Exception:
        pass
m = cfg.get('master')
if m:
    osl, dsl = sl(m['overscan']), sl(m['data'])
    frames = [load(p) for p in m['files']]
    def build(frames):
        st = np.empty((len(frames),) + frames[0][dsl].shape, np.float32)
        for k, f in enumerate(frames):
            st[k] = f[dsl] - np.float32(np.median(f[osl]))
        mm = np.median(st, axis=0)
        v = mm.ravel()[:: max(1, mm.size // (1 << 18))]
        lvl = np.median(v); noise = 1.4826 * np.median(np.abs(v - lvl))
        return mm, lvl, noise, int((mm > lvl + 10 * noise).sum())
    r = build(frames)
    out['master'] = {'compute': med_ms(lambda: build(frames)), 'level': float(r[1]), 'noise': float(r[2])}
    del frames
    def from_files():
        fr = [load(p) for p in m['files']]
        return build(fr)
    out['master']['files'] = med_ms(from_files)
    out['hwmMB'] = hwm_mb()
print(json.dumps(out))
`;

/** Child mode: builds the master from files lazily and reports peak memory. */
async function peakChild(dir: string): Promise<number> {
  const files = readdirSync(dir).filter((f) => /^bias\d+\.fits$/.test(f)).sort().map((f) => join(dir, f));
  let peak = process.memoryUsage().rss;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  async function* frames() {
    for (const p of files) {
      sample();
      yield readRawFrame(p);
      sample();
    }
  }
  const t0 = process.hrtime.bigint();
  const r = await buildMasterBias(frames(), { camera: camOf('colibri-ddrago', LARGE) });
  sample();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // VmHWM: this process's peak resident set. (getrusage's maxRSS is not used: after fork+exec it
  // carries the parent's high-water mark on Linux.)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  console.log(JSON.stringify({ ms, peakRss: peak, hwm: hwm ? Number(hwm[1]) * 1024 : null, nFrames: r.master?.stats.nFrames }));
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const { options: o } = parseArgs(args, {
    usage: 'npm run bench -- gp1-calibration [--runs N] [--only small|large|master] [--keep]',
    options: {
      runs: { type: 'number', description: 'timed runs per measurement (median reported)', default: 5 },
      only: { type: 'string', description: 'small | large | master' },
      keep: { type: 'boolean', description: 'keep the temporary folder of FITS files' },
      'peak-child': { type: 'string', description: '(internal) measure the master build from DIR in this process' },
      'no-hugepages': { type: 'boolean', description: 'run Node without glibc.malloc.hugetlb=1 (4 KB page faults on fresh arrays)' },
    },
  });
  if (typeof o['peak-child'] === 'string') return peakChild(o['peak-child']);
  // numpy maps its large arrays on transparent huge pages (madvise); glibc does the same for Node's
  // array buffers with this tunable, read at process start. bin/gft.mjs runs every gft command under it
  // (what users get); --no-hugepages runs this benchmark again without it, to measure the difference.
  const tunables = process.env.GLIBC_TUNABLES ?? '';
  if (process.platform === 'linux' && !o['no-hugepages'] !== HUGETLB.test(tunables)) {
    const rest = tunables.split(':').filter((t) => t && !HUGETLB.test(t));
    const env = { ...process.env, GLIBC_TUNABLES: (o['no-hugepages'] ? rest : [...rest, 'glibc.malloc.hugetlb=1']).join(':'), GFT_NO_HUGEPAGES: o['no-hugepages'] ? '1' : '' };
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'gft.mjs'), 'bench', 'gp1-calibration', ...args], { stdio: 'inherit', env });
    return r.status ?? 1;
  }
  const runs = o.runs as number;
  const only = o.only as string | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gp1-bench-'));
  const rows: Record<string, string | number>[] = [];
  const pool = await CalibrationPool.create(2);
  try {
    // ---- frames on disk
    const cases: CalCase[] = [];
    let truthLarge: Truth | null = null;
    for (const [label, syn, name] of [
      ['2184x1472', SMALL, 'coatli'],
      ['4192x4096', LARGE, 'colibri-ddrago'],
    ] as const) {
      if (only && only !== (syn === SMALL ? 'small' : 'large') && !(only === 'master' && syn === LARGE)) continue;
      const s0 = Date.now();
      const truth = makeTruth(syn, { seed: 5, nHot: 200 });
      if (syn === LARGE) truthLarge = truth;
      if (only === 'master') break;
      const cam = camOf(name, syn);
      const w = syn.data.x2 - syn.data.x1 + 1;
      const h = syn.data.y2 - syn.data.y1 + 1;
      const biasM = masterImage('bias', 'bias', Float32Array.from(truth.bias), w, h, cam);
      const darkM = masterImage('dark', 'dark', Float32Array.from(truth.dark), w, h, cam);
      const flatM = masterImage('flat', 'flat', Float32Array.from(truth.flat), w, h, cam);
      const stars = Array.from({ length: 400 }, (_, k) => ({ x: 20 + ((k * 7919) % (w - 40)), y: 20 + ((k * 104729) % (h - 40)), flux: 2000 + 50 * k, fwhm: 3.5 }));
      const raw = makeRawFrame(syn, truth, { name: `${label}-o.fits`, type: 'object', exptime: EXPTIME, level: 20, stars, seed: 9 });
      const c: CalCase = { label, cam, syn, raw: join(dir, `${label}-o.fits`), bias: join(dir, `${label}-bias.fits`), dark: join(dir, `${label}-dark.fits`), flat: join(dir, `${label}-flat.fits`), masters: { bias: biasM, dark: darkM, flat: flatM } };
      await writeRaw(c.raw, raw);
      await writeF32(c.bias, biasM.data, w, h);
      await writeF32(c.dark, darkM.data, w, h);
      await writeF32(c.flat, flatM.data, w, h);
      cases.push(c);
      console.error(`gp1-calibration: ${label} frames written (${((Date.now() - s0) / 1000).toFixed(1)} s)`);
    }
    const masterFiles: string[] = [];
    if (!only || only === 'master') {
      const s0 = Date.now();
      const truth = truthLarge ?? makeTruth(LARGE, { seed: 5, nHot: 200 });
      for (let k = 0; k < N_MASTER; k++) {
        const p = join(dir, `bias${k}.fits`);
        await writeRaw(p, makeRawFrame(LARGE, truth, { name: `bias${k}.fits`, type: 'bias', exptime: 0, seed: 100 + k }));
        masterFiles.push(p);
      }
      console.error(`gp1-calibration: ${N_MASTER} master frames written (${((Date.now() - s0) / 1000).toFixed(1)} s)`);
    }
    truthLarge = null;

    // ---- numpy, one case per process, each just before ours: both sides see the same machine load
    const sec = (s: { x1: number; x2: number; y1: number; y2: number }) => [s.x1, s.x2, s.y1, s.y2];
    type NpCase = { compute: T; files: T; write?: T; computeNoHuge?: T; sky?: number; noise?: number; level?: number };
    const numpy = (cfg: object): Record<string, NpCase> & { hwmMB?: number } => {
      const s0 = Date.now();
      // numpy as it runs by default (it madvises its own arrays for huge pages): without our tunable
      const tunables = process.env.GLIBC_TUNABLES;
      delete process.env.GLIBC_TUNABLES;
      let r: Record<string, NpCase> & { hwmMB?: number };
      try {
        r = python<Record<string, NpCase> & { hwmMB?: number }>(NUMPY, [JSON.stringify({ runs, calibrate: [], master: null, ...cfg })]);
      } finally {
        if (tunables !== undefined) process.env.GLIBC_TUNABLES = tunables;
      }
      console.error(`gp1-calibration: numpy case done (${((Date.now() - s0) / 1000).toFixed(1)} s)`);
      return r;
    };

    // ---- ours: calibration
    for (const c of cases) {
      const ref = numpy({ calibrate: [{ label: c.label, raw: c.raw, bias: c.bias, dark: c.dark, flat: c.flat, overscan: sec(c.syn.overscan!), data: sec(c.syn.data), t: EXPTIME, gain: c.cam.gain, rn: c.cam.readNoise, sat: c.cam.saturation, lowFlat: c.cam.lowFlat, hot: c.masters.dark.stats!.hotThreshold }] })[c.label];
      const raw = readRawFrame(c.raw);
      const core = await time(() => calibrateFrame(raw, c.masters, { camera: c.cam, cosmic: false, fwhm: false }), { runs });
      const n = c.masters.bias.width * c.masters.bias.height;
      const out = { image: new Float32Array(n), weight: new Float32Array(n), mask: new Uint8Array(n) };
      const reused = await time(() => calibrateFrame(raw, c.masters, { camera: c.cam, cosmic: false, fwhm: false, out }), { runs });
      const full = await time(() => calibrateFrame(raw, c.masters, { camera: c.cam }), { runs });
      const check = calibrateFrame(raw, c.masters, { camera: c.cam });
      const files = await time(() => calibrateFrame(readRawFrame(c.raw), c.masters, { camera: c.cam, cosmic: false, fwhm: false }), { runs });
      const written = await time(
        () => {
          const r = readRawFrame(c.raw);
          return calibratedBytes(calibrateFrame(r, c.masters, { camera: c.cam, cosmic: false, fwhm: false }), r.header);
        },
        { runs },
      );
      // pool: 2 frames in flight per worker; time per frame
      const batch = 2 * pool.size;
      const shared = { bias: pool.share(c.masters.bias), dark: pool.share(c.masters.dark), flat: pool.share(c.masters.flat) };
      const pooled = await time(
        async () => {
          const done = await Promise.all(Array.from({ length: batch }, () => pool.calibrate({ ...raw, data: raw.data.slice() }, shared, { camera: c.cam })));
          for (const f of done) pool.recycle(f); // as gft gp1 calibrate does once a frame is written
        },
        { runs: Math.max(2, Math.ceil(runs / 2)) },
      );
      const perFrame = { median: pooled.medianMs / batch, min: pooled.minMs / batch };
      rows.push(
        row(`calibrate ${c.label}`, 'compute', tm(core), ref.compute, `sky ${check.stats.sky.toFixed(3)} vs ${ref.sky!.toFixed(3)} counts/s; fresh output arrays${ref.computeNoHuge ? ` (numpy without huge pages: ${ref.computeNoHuge.min.toFixed(0)} ms)` : ''}`),
        row(`calibrate ${c.label}`, 'compute, reused buffers', tm(reused), ref.compute, 'output arrays reused frame to frame (opts.out), as the stage runs'),
        row(`calibrate ${c.label}`, '+cosmics+FWHM', tm(full), ref.compute, `${check.stats.nCosmic} CR px, FWHM ${check.stats.fwhm.toFixed(2)} px (numpy does neither)`),
        row(`calibrate ${c.label}`, `pool x${pool.size} (full)`, perFrame, ref.compute, `per frame, ${batch} frames in flight`),
        row(`calibrate ${c.label}`, 'files (read raw)', tm(files), ref.files, 'ours: lib/fits + sha256; numpy: astropy'),
        row(`calibrate ${c.label}`, 'files + write FITS', tm(written), ref.write!, 'read, calibrate, image+WEIGHT+MASK file in memory with CHECKSUM/DATASUM (numpy: astropy writeto)'),
      );
    }

    // ---- ours: master
    if (masterFiles.length) {
      const cam = camOf('colibri-ddrago', LARGE);
      const np = numpy({ master: { files: masterFiles, overscan: sec(LARGE.overscan!), data: sec(LARGE.data) } });
      const ref = np.master;
      const frames = masterFiles.map(readRawFrame);
      const single = await time(() => buildMasterBias(frames, { camera: cam }), { runs });
      const pooled = await time(() => buildMasterBias(frames, { camera: cam, alloc: pool.alloc, combiner: pool.combiner }), { runs });
      const check = await buildMasterBias(frames, { camera: cam });
      frames.length = 0;
      const files = await time(
        async () => {
          async function* lazy() {
            for (const p of masterFiles) yield readRawFrame(p);
          }
          return buildMasterBias(lazy(), { camera: cam, alloc: pool.alloc, combiner: pool.combiner });
        },
        { runs: Math.max(1, Math.ceil(runs / 2)) },
      );
      const note = `level ${check.master!.stats.level.toFixed(2)} vs ${ref.level!.toFixed(2)}, noise ${check.master!.stats.noise.toFixed(3)} vs ${ref.noise!.toFixed(3)} ADU`;
      rows.push(
        row(`master ${N_MASTER}x4192x4096`, 'compute', tm(single), ref.compute, note),
        row(`master ${N_MASTER}x4192x4096`, `pool x${pool.size}`, tm(pooled), ref.compute, 'combine split over the workers'),
        row(`master ${N_MASTER}x4192x4096`, 'files (lazy, pool)', tm(files), ref.files, 'ours: lib/fits + sha256 per file; numpy: astropy'),
      );
      // peak memory in a fresh process
      const child = spawnSync(process.execPath, [join(repoRoot, 'bin', 'gft.mjs'), 'bench', 'gp1-calibration', '--peak-child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`peak-memory child failed: ${child.stderr}`);
      const peak = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ms: number; peakRss: number; hwm: number | null };
      rows.push(
        row(`master ${N_MASTER}x4192x4096`, 'peak memory (fresh process)', { median: peak.ms, min: peak.ms }, null, `peak RSS ${peak.hwm !== null ? mb(peak.hwm) : '?'} (VmHWM; sampled max rss ${mb(peak.peakRss)}), target < 2048 MB; numpy ${np.hwmMB?.toFixed(0)} MB`),
      );
    }
  } finally {
    await pool.close();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`gp1-calibration: files kept in ${dir}`);
  }
  console.log(table(rows));
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores (other work on the machine slows both sides unevenly)`);
  console.log(
    HUGETLB.test(process.env.GLIBC_TUNABLES ?? '')
      ? 'memory: Node under GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (large buffers on transparent huge pages, as numpy maps its arrays); --no-hugepages to run without'
      : 'memory: Node on 4 KB pages (--no-hugepages or not Linux): fresh large arrays pay a page fault per 4 KB, numpy\'s do not',
  );
  console.log('arithmetic: float32 on both sides, the same operations in the same order (see the file comment for what ours does in addition)');
  console.log(`\ntimes: median (best) of ${runs} runs after a warm-up; ratio = ours / numpy on the best runs (the machine is shared), target ≤ 1.00x. Overscans ${formatSection(SMALL.overscan!)} / ${formatSection(LARGE.overscan!)}.`);
  return 0;
}
