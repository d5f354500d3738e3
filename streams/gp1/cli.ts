/**
 * `npx gft gp1 <subcommand>` — the GP1 stage's core without Kafka; also how operators re-run a night.
 *
 *   gft gp1 masters   --in DIR --out DIR [--camera NAME] [--min-frames N] …   build + validate masters
 *   gft gp1 calibrate --masters DIR --out DIR [--camera NAME] FILE…           calibrate raw frames
 *   gft gp1 detect    …                                                       streams/gp1/detectCli.ts
 *
 * Both calibration subcommands print a JSON report on stdout (or --report FILE).
 * Exit codes: 0 done (rejections are in the report; with --strict, 3 when a master was rejected or
 * a frame failed), 1 nothing could be read / I/O error, 2 usage error.
 *
 * Adding a subcommand: a module next to this file exporting `run(args): Promise<number>`, listed in
 * SUBCOMMANDS below (loaded lazily, like `detect`).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { formatHelp, parseArgs, printUsage, unknownSubcommand, UsageError, type CommandSpec } from '../../lib/cli/args.ts';
import { cameraByName, cameraFromSpec, frameInfo, loadCameraFile, resolveFrameCamera, unresolvedCameraReason, type CameraConfig } from './core/camera.ts';
import { MasterBank, type MasterMeta } from './core/calibration/bank.ts';
import { calibrateFrame, CalibrationError, type CalibratedFrame, type CalibrateOptions, type CalibrationMasters } from './core/calibration/calibrate.ts';
import type { RawFrame } from './core/calibration/frame.ts';
import { rawFrameHeader, readMasterFile, readMasterMeta, readRawFrame, writeCalibratedFile, writeMasterFile } from './core/calibration/io.ts';
import type { Master, MasterKind, MasterResult } from './core/calibration/masters.ts';
import { buildNightMasters, NightMastersError, type FrameEntry } from './core/calibration/nightMasters.ts';
import { CalibrationPool, defaultWorkers } from './core/calibration/pool.ts';

export const summary = 'GP1 calibration: build/validate masters, calibrate frames; detect (see `gft gp1 detect --help`)';

/** Subcommands implemented in their own modules (relative to this file), loaded on demand. */
const SUBCOMMANDS: Record<string, { module: string; summary: string }> = {
  detect: { module: './detectCli.ts', summary: 'detection, astrometry, photometry, candidates on calibrated frames' },
};

const USAGE = [
  'usage: gft gp1 <subcommand> [options]',
  '',
  'subcommands:',
  '  masters     build and validate master bias/dark/flat from a folder of raw frames (JSON report)',
  '  calibrate   calibrate raw frames with the masters of a bank folder (image + WEIGHT + MASK)',
  ...Object.entries(SUBCOMMANDS).map(([k, v]) => `  ${k.padEnd(11)} ${v.summary}`),
  '',
  'Run `gft gp1 <subcommand> --help` for its options.',
].join('\n');

const common = {
  camera: { type: 'string', description: 'camera name (built-in or from --camera-file), or a camera JSON file (FILE.json, FILE.json#name); default: detected from the headers' },
  'camera-file': { type: 'string', description: 'JSON file with camera descriptions (one object or an array; sections, gain, readNoise, saturation, binning, …; "extends" a built-in)' },
  workers: { type: 'number', description: 'worker threads (0: run on the main thread)', default: defaultWorkers() },
  report: { type: 'string', description: 'write the JSON report to this file instead of stdout' },
  strict: { type: 'boolean', description: 'exit 3 when a master is rejected or a frame fails' },
} as const;

const mastersSpec: CommandSpec = {
  usage: 'gft gp1 masters --in DIR --out DIR [options]',
  description:
    'Classifies the raw frames of DIR (IMAGETYP, else the file-name letter b/d/f/o), builds the master bias, dark rate and one flat per filter, compares each with the previous master of the bank (--bank, default --out) and writes the accepted masters to --out. Rejected frames and masters are listed with their reasons. A master of the night that cannot be made or is rejected (e.g. every flat of a filter outside the level rule) is replaced by the newest accepted master of the bank with the same kind, camera, binning and filter, dated before the night (copied to --out, said in a warning and in the report: fromBank). Exit status: 0; 1 when a master the night needs could not be made and the bank has none to use instead (the report lists it under missing); 2 when the camera cannot be told; 3 with --strict when any master was rejected (stand-in or not).',
  options: {
    in: { type: 'string', description: 'folder of raw frames (*.fits, *.fits.fz)' },
    out: { type: 'string', description: 'folder for the master files' },
    bank: { type: 'string', description: 'folder of earlier masters to compare with (default: --out)' },
    ...common,
    'min-frames': { type: 'number', description: 'fewest frames for every master (overrides the camera)' },
    'min-bias': { type: 'number', description: 'fewest bias frames' },
    'min-dark': { type: 'number', description: 'fewest dark frames' },
    'min-flat': { type: 'number', description: 'fewest flat frames per filter' },
    combine: { type: 'string', description: 'median | sigclip (default: the camera)' },
    'keep-rejected': { type: 'boolean', description: 'also write rejected masters, under OUT/rejected/' },
  },
};

const calibrateSpec: CommandSpec = {
  usage: 'gft gp1 calibrate --masters DIR --out DIR [options] FILE…',
  description:
    'Calibrates each raw frame with the bias, dark and flat picked from the bank folder by camera, binning, filter and nearest date: float32 counts/s image, WEIGHT (inverse variance) and MASK (1 hot, 2 low flat, 4 saturated, 8 cosmic ray) extensions, HISTORY of what was applied. Writes OUT/<name>-cal.fits.',
  options: {
    masters: { type: 'string', description: 'bank folder of master files (from `gft gp1 masters`)' },
    out: { type: 'string', description: 'folder for the calibrated files' },
    ...common,
    'allow-missing': { type: 'boolean', description: 'calibrate even when the bank has no dark or flat for a frame (a bias is always required)' },
    'no-cosmics': { type: 'boolean', description: 'skip cosmic-ray detection' },
  },
};

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return printUsage(USAGE, !!sub);
  if (sub === 'masters') return mastersCommand(rest);
  if (sub === 'calibrate') return calibrateCommand(rest);
  const ext = SUBCOMMANDS[sub];
  if (ext) {
    const url = new URL(ext.module, import.meta.url);
    if (!existsSync(url)) {
      console.error(`gft gp1 ${sub}: not available in this build (${ext.module} is missing)`);
      return 2;
    }
    const mod = (await import(url.href)) as { run(args: string[]): Promise<number> };
    return mod.run(rest);
  }
  throw unknownSubcommand(sub, ['masters', 'calibrate', ...Object.keys(SUBCOMMANDS)], USAGE);
}

// ------------------------------------------------------------------------------------------------
// shared helpers

interface Context {
  cameras: CameraConfig[];
  camera: CameraConfig | null;
  pool: CalibrationPool | null;
}

async function context(o: Record<string, unknown>): Promise<Context> {
  const cameras = typeof o['camera-file'] === 'string' ? loadCameraFile(o['camera-file'] as string) : [];
  let camera: CameraConfig | null = null;
  if (typeof o.camera === 'string' && /\.json(#.*)?$/i.test(o.camera)) {
    // --camera cams.json or cams.json#name: a camera file given directly
    const r = cameraFromSpec(o.camera);
    camera = r.camera;
    cameras.push(...r.cameras);
  } else if (typeof o.camera === 'string') camera = cameraByName(o.camera, cameras);
  const n = Number(o.workers ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new UsageError('--workers must be a non-negative integer');
  const pool = n > 0 ? await CalibrationPool.create(n) : null;
  return { cameras, camera, pool };
}

/** A warning on stderr, once per text (the same camera note for every frame of a night is said once). */
const warned = new Set<string>();
function warnOnce(text: string): void {
  if (warned.has(text)) return;
  warned.add(text);
  console.error(text);
}

function emit(report: unknown, path: unknown): void {
  const text = JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  if (typeof path === 'string') writeFileSync(path, text + '\n');
  else console.log(text);
}

function listFits(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.fits?(\.fz)?$/i.test(f))
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/** Loads the bank: every GP1 master in `dir` (by header). */
function loadBank(dir: string): { bank: MasterBank; unreadable: { file: string; error: string }[] } {
  const bank = new MasterBank();
  const unreadable: { file: string; error: string }[] = [];
  if (!existsSync(dir)) return { bank, unreadable };
  for (const p of listFits(dir)) {
    try {
      const m = readMasterMeta(p);
      if (m) bank.add(m);
    } catch (e) {
      unreadable.push({ file: basename(p), error: (e as Error).message });
    }
  }
  return { bank, unreadable };
}

function masterSummary(r: MasterResult, path: string | null) {
  const m = r.master;
  return {
    kind: r.kind,
    ...(r.kind === 'flat' ? { filter: r.filter } : {}),
    accepted: r.accepted,
    name: m?.name ?? null,
    file: path,
    issues: r.issues,
    rejections: r.rejections,
    notes: r.notes,
    stats: m?.stats ?? null,
    comparison: r.comparison ?? null,
    fromBank: r.fromBank ?? null,
    provenance: m ? { ...m.provenance, sha256: m.sha256, dateObs: m.dateObs, camera: m.camera, binning: m.binning, width: m.width, height: m.height } : null,
  };
}

// ------------------------------------------------------------------------------------------------
// masters

async function mastersCommand(args: string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(args, mastersSpec);
  if (help) {
    console.log(formatHelp(mastersSpec));
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (the frames are taken from --in)`);
  if (typeof o.in !== 'string' || typeof o.out !== 'string') throw new UsageError(`--in and --out are required\n\n${formatHelp(mastersSpec)}`);
  if (o.combine !== undefined && o.combine !== 'median' && o.combine !== 'sigclip') throw new UsageError(`--combine must be median or sigclip`);
  const inDir = resolve(o.in);
  const outDir = resolve(o.out);
  if (!existsSync(inDir) || !statSync(inDir).isDirectory()) {
    console.error(`gft gp1 masters: --in ${inDir} is not a folder`);
    return 1;
  }
  const ctx = await context(o);
  try {
    return await buildAll(o, inDir, outDir, ctx);
  } finally {
    await ctx.pool?.close();
  }
}

async function buildAll(o: Record<string, unknown>, inDir: string, outDir: string, ctx: Context): Promise<number> {
  // 1. headers only (cheap); the pixels are read one frame at a time, when their master is built
  const files = listFits(inDir);
  const entries: FrameEntry[] = files.map((p) => {
    const load = () => readRawFrame(p);
    try {
      return { name: basename(p), ...rawFrameHeader(p), load };
    } catch (e) {
      return { name: basename(p), unreadable: (e as Error).message, load };
    }
  });
  const minOf = (k: MasterKind): number | undefined => {
    const specific = o[`min-${k}`];
    return typeof specific === 'number' ? specific : typeof o['min-frames'] === 'number' ? (o['min-frames'] as number) : undefined;
  };
  const bankDir = typeof o.bank === 'string' ? resolve(o.bank) : outDir;
  const { bank, unreadable } = loadBank(bankDir);
  const reports: ReturnType<typeof masterSummary>[] = [];
  let night;
  try {
    night = await buildNightMasters(entries, {
      camera: ctx.camera,
      cameras: ctx.cameras,
      minFrames: { bias: minOf('bias'), dark: minOf('dark'), flat: minOf('flat') },
      ...(o.combine ? { combine: o.combine as 'median' | 'sigclip' } : {}),
      ...(ctx.pool ? { alloc: ctx.pool.alloc, combiner: ctx.pool.combiner } : {}),
      previous: (m, note) => {
        const prevMeta = bank.previous({ ...m });
        if (!prevMeta?.path) return null;
        try {
          return readMasterFile(prevMeta.path);
        } catch (e) {
          note(`previous master ${prevMeta.name} unreadable: ${(e as Error).message}`);
          return null;
        }
      },
      fallback: (q) => {
        const m = bank.newest(q.kind, { camera: q.camera, binning: q.binning, filter: q.filter }, q.before);
        return m ? { name: m.name, sha256: m.sha256, dateObs: m.dateObs, ...(m.path ? { path: m.path } : {}) } : null;
      },
      onMaster: async (r) => {
        let path: string | null = null;
        if (r.master && (r.accepted || o['keep-rejected'])) {
          const dir = r.accepted ? outDir : join(outDir, 'rejected');
          mkdirSync(dir, { recursive: true });
          path = join(dir, `${r.master.name}.fits`);
          await writeMasterFile(path, r);
          if (r.accepted) bank.add(toMeta(r.master, path));
        }
        reports.push(masterSummary(r, path));
      },
    });
  } catch (e) {
    if (!(e instanceof NightMastersError)) throw e;
    if (e.code === 'no-camera') {
      console.error(`gft gp1 masters: ${e.message}`);
      return files.length ? 2 : 1;
    }
    console.error(`gft gp1 masters: ${e.message} in ${inDir}`);
    return 1;
  }
  mkdirSync(outDir, { recursive: true });
  for (const n of night.cameraNotes) warnOnce(`gft gp1 masters: warning: ${n}`);

  const accepted = reports.filter((r) => r.accepted).length;
  const what = (m: { kind: string; filter: string | null; binning: string }) => `${m.kind}${m.kind === 'flat' ? ` (filter ${m.filter ?? 'none'})` : ''}, binning ${m.binning}`;
  for (const r of night.masters) {
    if (!r.fromBank) continue;
    warnOnce(`gft gp1 masters: warning: ${r.notes.at(-1)}`);
    // --out must hold every master the night's frames are calibrated with (gft gp1 calibrate --masters OUT)
    const src = r.fromBank.path;
    if (src && resolve(dirname(src)) !== outDir && existsSync(src)) {
      const dst = join(outDir, basename(src));
      if (!existsSync(dst)) copyFileSync(src, dst);
      r.fromBank.path = dst; // the report holds the same object
    }
  }
  emit(
    {
      command: 'gp1 masters',
      camera: night.camera.name,
      cameraSource: night.cameraSource,
      ...(night.cameraNotes.length ? { cameraNotes: night.cameraNotes } : {}),
      in: inDir,
      out: outDir,
      bank: { dir: bankDir, mastersBefore: bank.entries.length - accepted, unreadable },
      frames: { ...night.frames, unclassified: night.unclassified, unreadable: night.unreadable },
      summary: { masters: reports.length, accepted, rejected: reports.length - accepted },
      masters: reports,
      missing: night.missing,
    },
    o.report,
  );
  if (night.missing.length) {
    for (const m of night.missing) console.error(`gft gp1 masters: no master ${what(m)}: ${m.why}; and ${bankDir} has no accepted one to use instead`);
    console.error(`gft gp1 masters: ${night.missing.length} required master(s) could not be made: frames that need them cannot be calibrated`);
  }
  if (o.strict && accepted < reports.length) return 3;
  return night.missing.length ? 1 : 0;
}

function toMeta(m: Master, path: string): MasterMeta {
  return { kind: m.kind, name: m.name, camera: m.camera, binning: m.binning, filter: m.filter, dateObs: m.dateObs, sha256: m.sha256, width: m.width, height: m.height, path, stats: m.stats, accepted: true };
}

// ------------------------------------------------------------------------------------------------
// calibrate

async function calibrateCommand(args: string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(args, calibrateSpec);
  if (help) {
    console.log(formatHelp(calibrateSpec));
    return 0;
  }
  if (typeof o.masters !== 'string' || typeof o.out !== 'string') throw new UsageError(`--masters and --out are required\n\n${formatHelp(calibrateSpec)}`);
  if (!positionals.length) throw new UsageError('no FILE to calibrate');
  const mastersDir = resolve(o.masters);
  if (!existsSync(mastersDir)) {
    console.error(`gft gp1 calibrate: --masters ${mastersDir} does not exist`);
    return 1;
  }
  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const { bank, unreadable } = loadBank(mastersDir);
  const ctx = await context(o);
  const cache = new Map<string, Master>();
  const loadMaster = (meta: MasterMeta | null): Master | null => {
    if (!meta?.path) return null;
    let m = cache.get(meta.path);
    if (!m) {
      m = readMasterFile(meta.path);
      cache.set(meta.path, ctx.pool ? ctx.pool.share(m) : m);
      m = cache.get(meta.path)!;
    }
    return m;
  };
  type FrameReport = Record<string, unknown> & { file: string; ok: boolean };
  const jobs: Promise<FrameReport>[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const limit = Math.max(1, (ctx.pool?.size ?? 1) * 2);

  const one = async (file: string): Promise<FrameReport> => {
    let raw: RawFrame;
    try {
      raw = readRawFrame(resolve(file));
    } catch (e) {
      return { file, ok: false, error: { code: 'unreadable', message: (e as Error).message } };
    }
    const header = raw.header;
    let resolution;
    try {
      resolution = resolveFrameCamera({ camera: ctx.camera, cameras: ctx.cameras }, header, raw.width, raw.height);
    } catch (e) {
      return { file, ok: false, error: { code: 'bad-geometry', message: (e as Error).message } };
    }
    if (!resolution) return { file, ok: false, error: { code: 'unknown-camera', message: unresolvedCameraReason(ctx.camera, raw.width, raw.height) } };
    const camera = resolution.camera;
    for (const n of resolution.notes) warnOnce(`gft gp1 calibrate: warning: ${n}`);
    const info = frameInfo(header, raw.name);
    const date = info.dateObs;
    if (!date) return { file, ok: false, error: { code: 'no-date', message: 'no DATE-OBS and no date in the file name: cannot pick masters' } };
    const q = { camera: camera.name, binning: info.binning ?? camera.binning, filter: info.filter, date };
    const picked = { bias: bank.pick('bias', q), dark: bank.pick('dark', q), flat: bank.pick('flat', q) };
    const missing = (Object.keys(picked) as MasterKind[]).filter((k) => !picked[k]);
    if (missing.includes('bias') || (missing.length && !o['allow-missing'])) {
      const noFilter = missing.includes('flat') && !q.filter ? ' (the frame has no FILTER, FILTA, FILTER1 or FILTNAME keyword)' : '';
      return { file, ok: false, error: { code: 'no-master', message: `no ${missing.join(', ')} master in ${mastersDir} for camera ${q.camera}, binning ${q.binning}${q.filter ? `, filter ${q.filter}` : ''}${noFilter}` } };
    }
    let masters: CalibrationMasters;
    try {
      masters = { bias: loadMaster(picked.bias), dark: loadMaster(picked.dark), flat: loadMaster(picked.flat) };
    } catch (e) {
      return { file, ok: false, error: { code: 'bad-master', message: (e as Error).message } };
    }
    const opts: CalibrateOptions = { camera, ...(o['no-cosmics'] ? { cosmic: false as const } : {}) };
    let cal: CalibratedFrame;
    try {
      cal = ctx.pool ? await ctx.pool.calibrate(raw, masters, opts) : calibrateFrame(raw, masters, opts);
    } catch (e) {
      const code = e instanceof CalibrationError ? e.code : 'error';
      return { file, ok: false, error: { code, message: (e as Error).message } };
    }
    const age = (m: MasterMeta | null) => (m ? Math.round((Date.parse(m.dateObs) - Date.parse(date)) / 3600e3) : null);
    const outPath = join(outDir, `${basename(file).replace(/\.fits?(\.fz)?$/i, '')}-cal.fits`);
    await writeCalibratedFile(outPath, cal, header);
    const stats = cal.stats;
    ctx.pool?.recycle(cal); // the buffers go back to the workers for the next frame
    return {
      file,
      ok: true,
      out: outPath,
      camera: camera.name,
      cameraSource: resolution.source,
      ...(resolution.notes.length ? { cameraNotes: resolution.notes } : {}),
      masters: Object.fromEntries((Object.keys(picked) as MasterKind[]).map((k) => [k, picked[k] ? { name: picked[k]!.name, sha256: picked[k]!.sha256, hoursFromFrame: age(picked[k]), ...(Math.abs(age(picked[k])!) > 12 ? { otherNight: true } : {}) } : null])),
      ...(missing.length ? { missing } : {}),
      stats,
    };
  };

  for (const f of positionals) {
    const p = one(f);
    jobs.push(p);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  let frames: FrameReport[];
  try {
    frames = await Promise.all(jobs);
  } finally {
    await ctx.pool?.close();
  }
  const ok = frames.filter((f) => f.ok).length;
  emit({ command: 'gp1 calibrate', masters: mastersDir, out: outDir, bankUnreadable: unreadable, summary: { frames: frames.length, calibrated: ok, failed: frames.length - ok }, frames }, o.report);
  if (ok === 0) return 1;
  return o.strict && ok < frames.length ? 3 : 0;
}

/** For tests: resolves a subcommand module path (the detect hook). */
export function subcommandModule(name: string): string | null {
  const s = SUBCOMMANDS[name];
  return s ? new URL(s.module, import.meta.url).href : null;
}
