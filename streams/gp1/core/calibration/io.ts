/**
 * FITS I/O of the calibration: raw frames in, master and calibrated files out, master metadata for
 * the bank. Uses lib/fits; everything else in this folder is pure.
 *
 * Master file: primary float32 image (DATASEC of the raw frames), keywords
 *   GP1KIND bias|dark|flat, CAMERA, BINNING, FILTER (flats), DATE-OBS (median of the inputs),
 *   BUNIT (ADU | ADU/s | normalised), NFRAMES, COMBINE, CLIPSIG, LEVEL, NOISE, RNOISE (random noise),
 *   NHOT, HOTTHR, GP1SHA (sha256 of the float32 pixel bytes, little-endian), GP1ACC (accepted),
 *   RAWDATAS / RAWBIASS (the raw sections), GP1BIAS/GP1BSHA, GP1DARK/GP1DSHA (what it was built on),
 *   HISTORY two cards per input frame: `input <name>` then `sha256 <hex>`.
 * Calibrated file: primary float32 image (counts/s) with the raw header's cards when it has them
 *   (lib/fits Header; structural and section keywords dropped), the calibration cards and HISTORY;
 *   extension WEIGHT (float32, inverse variance); extension MASK (uint8, bits of maskBits.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Header, observationHeader, readHeaders, readImage, writeFits, writeFitsFile, type ImageInput } from '../../../../lib/fits/index.ts';
import type { HeaderLike } from '../camera.ts';
import type { MasterMeta } from './bank.ts';
import type { CalibratedFrame } from './calibrate.ts';
import { sha256Pixels, type RawFrame } from './frame.ts';
import type { Master, MasterKind, MasterResult, MasterStats } from './masters.ts';

type Card = { key: string; value?: string | number | boolean | null; comment?: string };

/**
 * A raw frame's image HDU, with the keywords that describe it: the image header plus the primary
 * header's keywords it lacks (multi-extension files and their `.fits.fz`, where the observation
 * keywords sit in the primary header; lib/fits observationHeader). Headers only.
 */
export function rawFrameHeader(src: string | Buffer): { header: Header; width: number; height: number; index: number } {
  const hdus = readHeaders(src);
  const img = hdus.find((x) => (x.type === 'image' && x.dataBytes > 0) || x.type === 'compressed-image');
  if (!img) throw new Error(`no image HDU (${hdus.map((h) => h.type).join(', ') || 'no HDU'})`);
  return { header: observationHeader(hdus, img), width: img.shape[0] ?? 0, height: img.shape[1] ?? 1, index: img.index };
}

/**
 * A raw frame from the bytes of its file (plain or tile-compressed; BITPIX 8/16/32/−32/−64, BZERO/
 * BSCALE applied): physical ADU as float32 (float64 for 32/−64-bit data), the keywords of
 * rawFrameHeader, and the file's sha256 for provenance (computed when not given).
 */
export function rawFrameFromBytes(bytes: Buffer, name: string, sha256?: string): RawFrame {
  const img = readImage(bytes);
  const hdus = readHeaders(bytes);
  const header = observationHeader(hdus, hdus[img.index]);
  const data = img.data instanceof Float32Array || img.data instanceof Float64Array ? img.data : Float32Array.from(img.data);
  return { name: basename(name), header, width: img.width, height: img.height, data, sha256: sha256 ?? createHash('sha256').update(bytes).digest('hex') };
}

/** Reads a raw frame file (see rawFrameFromBytes). */
export function readRawFrame(path: string): RawFrame {
  return rawFrameFromBytes(readFileSync(path), path);
}

const UNITS: Record<MasterKind, string> = { bias: 'ADU', dark: 'ADU/s', flat: 'normalised' };

function finite(v: number): number | null {
  return Number.isFinite(v) ? Number(v.toPrecision(8)) : null;
}

/** The cards of a master file (see the file comment). */
export function masterCards(m: Master, accepted: boolean): Card[] {
  const s = m.stats;
  const p = m.provenance;
  const cards: Card[] = [
    { key: 'GP1KIND', value: m.kind, comment: 'GP1 master type' },
    { key: 'CAMERA', value: m.camera },
    { key: 'BINNING', value: m.binning },
    ...(m.filter ? [{ key: 'FILTER', value: m.filter }] : []),
    { key: 'DATE-OBS', value: m.dateObs.replace(/Z$/, ''), comment: 'median DATE-OBS of the inputs (UTC)' },
    { key: 'BUNIT', value: UNITS[m.kind] },
    { key: 'NFRAMES', value: s.nFrames, comment: 'frames combined' },
    { key: 'COMBINE', value: p.combine.method },
    ...(p.combine.clipSigma !== undefined ? [{ key: 'CLIPSIG', value: p.combine.clipSigma }] : []),
    { key: 'LEVEL', value: finite(s.level), comment: 'median' },
    { key: 'NOISE', value: finite(s.noise), comment: 'robust sigma of the pixels' },
    { key: 'RNOISE', value: finite(s.randomNoise), comment: 'random noise per pixel (from input pairs)' },
    { key: 'NHOT', value: s.hotPixels, comment: m.kind === 'flat' ? 'pixels below HOTTHR' : 'pixels above HOTTHR' },
    { key: 'HOTTHR', value: finite(s.hotThreshold) },
    { key: 'NCLIPPED', value: s.clipped },
    { key: 'DATAMIN', value: finite(s.min) },
    { key: 'DATAMAX', value: finite(s.max) },
    { key: 'MINFRAME', value: p.minFrames, comment: 'minimum frames required' },
    { key: 'RAWDATAS', value: p.dataSection, comment: 'raw DATASEC this master covers' },
    ...(p.overscan ? [{ key: 'RAWBIASS', value: p.overscan, comment: 'raw BIASSEC subtracted' }] : []),
    ...(p.bias ? [{ key: 'GP1BIAS', value: p.bias.name }, { key: 'GP1BSHA', value: p.bias.sha256 }] : []),
    ...(p.dark ? [{ key: 'GP1DARK', value: p.dark.name }, { key: 'GP1DSHA', value: p.dark.sha256 }] : []),
    { key: 'GP1SHA', value: m.sha256, comment: 'sha256 of the float32 LE pixels' },
    { key: 'GP1ACC', value: accepted, comment: 'accepted by validation' },
  ];
  // two cards per input: a 64-hex checksum does not fit on one 72-character HISTORY card with a name
  for (const i of p.inputs) cards.push({ key: 'HISTORY', value: `input ${i.name}` }, { key: 'HISTORY', value: `sha256 ${i.sha256}` });
  return cards;
}

function masterHdu(r: MasterResult): ImageInput {
  const m = r.master;
  if (!m) throw new Error(`no master ${r.kind} to write`);
  return { kind: 'image', bitpix: -32, width: m.width, height: m.height, data: m.data, cards: masterCards(m, r.accepted) };
}

export async function writeMasterFile(path: string, r: MasterResult): Promise<void> {
  await writeFitsFile(path, [masterHdu(r)]);
}

/** The master file's bytes, in memory (the stage sends them to storage). */
export function masterBytes(r: MasterResult): Buffer {
  return writeFits([masterHdu(r)]);
}

function str(h: Header, k: string): string | null {
  const v = h.get(k);
  return typeof v === 'string' ? v : null;
}

function numOr(h: Header, k: string, d: number): number {
  const v = h.get(k);
  return typeof v === 'number' ? v : d;
}

function isoDate(v: string | null): string {
  if (!v) return new Date(0).toISOString();
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z');
  return Number.isFinite(t) ? new Date(t).toISOString() : new Date(0).toISOString();
}

/** Bank metadata of a master file from its header; null if the header is not a GP1 master. */
export function masterMetaFromHeader(h: Header, path: string, shape: number[]): MasterMeta | null {
  const kind = str(h, 'GP1KIND') as MasterKind | null;
  if (kind !== 'bias' && kind !== 'dark' && kind !== 'flat') return null;
  return {
    kind,
    name: basename(path).replace(/\.fits(\.fz)?$/i, ''),
    camera: str(h, 'CAMERA') ?? '',
    binning: str(h, 'BINNING') ?? '1x1',
    filter: kind === 'flat' ? str(h, 'FILTER') : null,
    dateObs: isoDate(str(h, 'DATE-OBS')),
    sha256: str(h, 'GP1SHA') ?? '',
    width: shape[0] ?? 0,
    height: shape[1] ?? 0,
    path,
    accepted: h.get('GP1ACC') !== false,
    stats: { level: numOr(h, 'LEVEL', NaN), noise: numOr(h, 'NOISE', NaN), hotPixels: numOr(h, 'NHOT', 0), nFrames: numOr(h, 'NFRAMES', 0) },
  };
}

/** Reads only the primary header of a file and returns its master metadata (null if not a master). */
export function readMasterMeta(path: string): MasterMeta | null {
  const [primary] = readHeaders(path);
  if (!primary) return null;
  return masterMetaFromHeader(primary.header, path, primary.shape);
}

/**
 * Reads a master file back. Throws when the pixels do not match the recorded GP1SHA (a corrupted or
 * edited master must not be used silently).
 */
export function readMasterFile(path: string): Master {
  return readMasterBytes(readFileSync(path), path);
}

/**
 * A master from the bytes of its file (`path` names it: the master's name is its base name without
 * `.fits`). The statistics are the header's (as rounded there), so a master read back from storage
 * and one read from a file calibrate identically. Throws on a GP1SHA mismatch.
 */
export function readMasterBytes(bytes: Buffer, path: string): Master {
  const img = readImage(bytes);
  const h = img.header;
  const meta = masterMetaFromHeader(h, path, [img.width, img.height]);
  if (!meta) throw new Error(`${path}: not a GP1 master (no GP1KIND)`);
  const data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  const sha = sha256Pixels(data);
  if (meta.sha256 && sha !== meta.sha256) throw new Error(`${path}: pixel checksum ${sha.slice(0, 12)}… does not match GP1SHA ${meta.sha256.slice(0, 12)}…`);
  const stats: MasterStats = {
    level: numOr(h, 'LEVEL', NaN),
    noise: numOr(h, 'NOISE', NaN),
    hotPixels: numOr(h, 'NHOT', 0),
    hotThreshold: numOr(h, 'HOTTHR', Infinity),
    nFrames: numOr(h, 'NFRAMES', 0),
    clipped: numOr(h, 'NCLIPPED', 0),
    randomNoise: numOr(h, 'RNOISE', NaN),
    min: numOr(h, 'DATAMIN', NaN),
    max: numOr(h, 'DATAMAX', NaN),
  };
  const hist = h.getAll('HISTORY').map(String);
  const inputs: Master['provenance']['inputs'] = [];
  for (let k = 0; k < hist.length; k++) {
    const name = /^input (\S+)$/.exec(hist[k]);
    const sha = name && /^sha256 ([0-9a-f]{64})$/.exec(hist[k + 1] ?? '');
    if (name && sha) inputs.push({ name: name[1], sha256: sha[1], dateObs: null, exptime: null, overscan: 0, level: NaN });
  }
  const method = str(h, 'COMBINE') === 'sigclip' ? 'sigclip' : 'median';
  const clip = h.get('CLIPSIG');
  return {
    kind: meta.kind,
    name: meta.name,
    camera: meta.camera,
    binning: meta.binning,
    filter: meta.filter,
    dateObs: meta.dateObs,
    width: img.width,
    height: img.height,
    data,
    sha256: sha,
    stats,
    provenance: {
      inputs,
      ...(str(h, 'GP1BIAS') ? { bias: { name: str(h, 'GP1BIAS')!, sha256: str(h, 'GP1BSHA') ?? '' } } : {}),
      ...(str(h, 'GP1DARK') ? { dark: { name: str(h, 'GP1DARK')!, sha256: str(h, 'GP1DSHA') ?? '' } } : {}),
      combine: method === 'sigclip' && typeof clip === 'number' ? { method, clipSigma: clip } : { method },
      overscan: str(h, 'RAWBIASS'),
      dataSection: str(h, 'RAWDATAS') ?? '',
      minFrames: numOr(h, 'MINFRAME', 0),
    },
  };
}

const STRUCTURAL = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|END|CHECKSUM|DATASUM|Z[A-Z0-9]*|TFIELDS|TTYPE\d+|TFORM\d+)$/;

/** The three HDUs of a calibrated file: image (primary), WEIGHT, MASK. */
export function calibratedHdus(cal: CalibratedFrame, rawHeader: HeaderLike | null): ImageInput[] {
  const drop = new Set([...cal.dropKeys, ...cal.cards.map((c) => c.key)]);
  const copied: Card[] = [];
  const rawCards = (rawHeader as { cards?: Card[] } | null)?.cards ?? [];
  for (const c of rawCards) {
    const k = c.key.toUpperCase();
    if (STRUCTURAL.test(k) || drop.has(k)) continue;
    copied.push({ key: c.key, value: c.value, comment: c.comment });
  }
  const cards: Card[] = [...copied, ...cal.cards, ...cal.history.map((t) => ({ key: 'HISTORY', value: t }))];
  return [
    { kind: 'image', bitpix: -32, width: cal.width, height: cal.height, data: cal.image, cards },
    { kind: 'image', bitpix: -32, width: cal.width, height: cal.height, data: cal.weight, extname: 'WEIGHT', cards: [{ key: 'BUNIT', value: '(counts/s)^-2', comment: 'inverse variance' }] },
    { kind: 'image', bitpix: 8, width: cal.width, height: cal.height, data: cal.mask, extname: 'MASK', cards: [{ key: 'MASKBITS', value: '1 hot, 2 low flat, 4 saturated, 8 cosmic ray' }] },
  ];
}

export async function writeCalibratedFile(path: string, cal: CalibratedFrame, rawHeader: HeaderLike | null): Promise<void> {
  await writeFitsFile(path, calibratedHdus(cal, rawHeader));
}

/** In-memory variant (for the stage, which sends bytes to storage). */
export function calibratedBytes(cal: CalibratedFrame, rawHeader: HeaderLike | null): Buffer {
  return writeFits(calibratedHdus(cal, rawHeader));
}
