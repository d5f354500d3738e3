/**
 * Camera descriptions for GP1 calibration: configuration, not code. A camera says where its overscan
 * (bias strip) and its light-sensitive data section are, its gain, read noise and saturation, and the
 * thresholds the COATLI batch pipeline applies to its calibration frames (see
 * ../shared/guides/domain.md, "The COATLI batch pipeline").
 *
 * Sections use the FITS/IRAF convention of the BIASSEC/DATASEC keywords: `[x1:x2,y1:y2]`, 1-based,
 * inclusive, x = column (NAXIS1), y = row (NAXIS2). Header keywords BIASSEC, DATASEC, GAIN, RDNOISE
 * (and SATURATE) override the configuration frame by frame when present.
 *
 * Built-in cameras:
 * - `coatli`: 2184x1472 with a 36-column bias strip. The public description says only "36-column
 *   bias strip"; we put it after the data, as serial overscan is read out after the pixels of each
 *   row: BIASSEC [2149:2184,1:1472], DATASEC [1:2148,1:1472]. Frames that carry BIASSEC/DATASEC
 *   override this. Gain 6.2 e-/ADU, read noise 10 e- (domain.md), 16-bit saturation.
 * - `colibri-ddrago`: COLIBRI's visible channel, 4192x4096, BIASSEC [1:48,1:4096],
 *   DATASEC [49:4144,1:4096] (domain.md). Gain/read noise not public: COATLI's values until measured.
 * - `ratir-c1`: the RATIR optical camera C1 of the sample frames (1024x1024 at 2x2 binning, FLI
 *   PL-series CCD). No overscan: the first and last columns and rows of its flats follow the
 *   illumination (checked on the five flats), so the bias pedestal (~640 ADU) is removed by the master
 *   bias alone, and the flat level "above overscan" is measured above the master bias level. Gain
 *   4.6 e-/ADU and read noise 2.4 ADU = 11 e- were measured from these frames (photon transfer on
 *   pairs of flats at 1900–6200 ADU; difference of two biases). Saturation 16384 ADU: the saturated
 *   flat reads exactly 16384 everywhere.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { observationDate } from '../../../lib/fits/observation.ts';

/** A FITS section, 1-based inclusive: columns x1..x2, rows y1..y2. */
export interface Section {
  x1: number;
  x2: number;
  y1: number;
  y2: number;
}

export type FrameType = 'bias' | 'dark' | 'flat' | 'object';

export interface CameraConfig {
  name: string;
  description?: string;
  /** Raw frame size at `binning`, pixels. */
  width: number;
  height: number;
  /** Overscan (BIASSEC); null = none, the bias master carries the whole pedestal. */
  overscan: Section | null;
  /** Light-sensitive section kept by calibration (DATASEC). */
  data: Section;
  /** e-/ADU. */
  gain: number;
  /** Read noise, e-. */
  readNoise: number;
  /** Raw ADU at and above which a pixel is saturated. */
  saturation: number;
  /** Binning as `XxY`, e.g. `1x1`; frames with another binning are rejected from masters. */
  binning: string;
  /** Header patterns that identify the camera (case-insensitive regular expressions on the keyword value). */
  match?: Record<string, string>;
  /** Flat selection: level = median(data) − median(overscan) must satisfy min < level < max, ADU. */
  flatLevel: { min: number; max: number };
  /** Fewest frames for a master. */
  minFrames: { bias: number; dark: number; flat: number };
  /** A frame whose fraction of saturated pixels exceeds this is rejected as saturated. */
  maxSaturatedFraction: number;
  /** Master combine method. */
  combine: 'median' | 'sigclip';
  /** Clipping threshold of the sigma-clipped mean, σ. */
  clipSigma: number;
  /** Hot pixel: master value > level + hotSigma × noise (bias and dark). */
  hotSigma: number;
  /** Flat below this (normalised) → LOW_FLAT mask bit and weight 0. */
  lowFlat: number;
  /** Tolerances of the comparison with the previous master, per kind (see compare.ts). */
  compare?: Partial<Record<'bias' | 'dark' | 'flat', Partial<CompareTolerances>>>;
}

/** Comparison tolerances; declared here so a camera file can carry them. See compare.ts. */
export interface CompareTolerances {
  /** Largest |level difference|, in the master's units (ADU; ADU/s for darks; normalised for flats). */
  maxLevelDiff: number;
  /** Noise ratio must lie within [1/maxNoiseRatio, maxNoiseRatio]. */
  maxNoiseRatio: number;
  /** Robust σ of the difference / √(σ_new² + σ_prev²) (random noise of each master) must not exceed this… */
  maxStructureRatio: number;
  /** …unless the robust σ of the difference is below this absolute floor (master units). */
  minStructure: number;
  /** |Δ hot pixels| must not exceed max(minHotPixelChange, maxHotPixelChangeFraction × previous count). */
  maxHotPixelChangeFraction: number;
  minHotPixelChange: number;
  /** At least this fraction of the previous master's hot pixels must still be hot (checked when it had ≥ 20). */
  minHotPixelOverlap: number;
}

const DEFAULTS = {
  binning: '1x1',
  flatLevel: { min: 2000, max: 7000 },
  minFrames: { bias: 8, dark: 8, flat: 6 },
  maxSaturatedFraction: 0.01,
  combine: 'median' as const,
  clipSigma: 3,
  hotSigma: 10,
  lowFlat: 0.5,
};

export const CAMERAS: Record<string, CameraConfig> = {
  coatli: {
    ...DEFAULTS,
    name: 'coatli',
    description: 'COATLI 50 cm, 2184x1472 CCD with a 36-column bias strip (layout assumed: strip after the data)',
    width: 2184,
    height: 1472,
    overscan: { x1: 2149, x2: 2184, y1: 1, y2: 1472 },
    data: { x1: 1, x2: 2148, y1: 1, y2: 1472 },
    gain: 6.2,
    readNoise: 10,
    saturation: 65535,
    match: { INSTRUME: 'coatli' },
  },
  'colibri-ddrago': {
    ...DEFAULTS,
    name: 'colibri-ddrago',
    description: 'COLIBRI DDRAGO visible channel, 4192x4096',
    width: 4192,
    height: 4096,
    overscan: { x1: 1, x2: 48, y1: 1, y2: 4096 },
    data: { x1: 49, x2: 4144, y1: 1, y2: 4096 },
    gain: 6.2,
    readNoise: 10,
    saturation: 65535,
    match: { INSTRUME: 'ddrago|colibri' },
  },
  'ratir-c1': {
    ...DEFAULTS,
    name: 'ratir-c1',
    description: 'RATIR optical camera C1 (sample frames), 1024x1024 at 2x2, no overscan',
    width: 1024,
    height: 1024,
    overscan: null,
    data: { x1: 1, x2: 1024, y1: 1, y2: 1024 },
    gain: 4.6,
    readNoise: 11,
    saturation: 16384,
    binning: '2x2',
    match: { INSTRUME: '^ratir$' },
  },
};

/** Minimal read access to a FITS header (lib/fits `Header` satisfies it). */
export interface HeaderLike {
  get(key: string): string | number | boolean | null | undefined;
}

/** Parses `[x1:x2,y1:y2]` (1-based inclusive). Throws on malformed text. */
export function parseSection(text: string): Section {
  const m = /^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$/.exec(text);
  if (!m) throw new Error(`malformed section '${text}' (expected [x1:x2,y1:y2])`);
  const [x1, x2, y1, y2] = m.slice(1).map(Number);
  if (x1 < 1 || y1 < 1 || x2 < x1 || y2 < y1) throw new Error(`empty or reversed section '${text}'`);
  return { x1, x2, y1, y2 };
}

export function formatSection(s: Section): string {
  return `[${s.x1}:${s.x2},${s.y1}:${s.y2}]`;
}

/** Section → 0-based end-exclusive bounds. */
export function bounds(s: Section): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: s.x1 - 1, x1: s.x2, y0: s.y1 - 1, y1: s.y2 };
}

/**
 * The numeric keywords of a raw frame the chain relies on, with what a valid value is. A keyword that
 * is present must hold a number (a FITS number, or a string holding only a decimal number, as some
 * cameras write `EXPTIME = '30.0'`) in range: a value that silently fell back to a default (GAIN =
 * 'abc' read as the camera's gain) would calibrate with numbers nobody wrote. `null` (a card without a
 * value) counts as absent. Structural keywords (BZERO, BSCALE, BLANK, NAXISn, …) are lib/fits's.
 */
export const FRAME_NUMERIC_KEYWORDS: Readonly<Record<string, { min: number; exclusive?: boolean; integer?: boolean; what: string }>> = {
  EXPTIME: { min: 0, what: 'exposure time, s' },
  EXPOSURE: { min: 0, what: 'exposure time, s' },
  GAIN: { min: 0, exclusive: true, what: 'gain, e-/ADU' },
  EGAIN: { min: 0, exclusive: true, what: 'gain, e-/ADU' },
  RDNOISE: { min: 0, what: 'read noise, e-' },
  READNOIS: { min: 0, what: 'read noise, e-' },
  RON: { min: 0, what: 'read noise, e-' },
  SATURATE: { min: 0, exclusive: true, what: 'saturation, ADU' },
  SATLEVEL: { min: 0, exclusive: true, what: 'saturation, ADU' },
  BINX: { min: 1, integer: true, what: 'binning' },
  BINY: { min: 1, integer: true, what: 'binning' },
  XBINNING: { min: 1, integer: true, what: 'binning' },
  YBINNING: { min: 1, integer: true, what: 'binning' },
  CCDXBIN: { min: 1, integer: true, what: 'binning' },
  CCDYBIN: { min: 1, integer: true, what: 'binning' },
  PIXSCALE: { min: 0, exclusive: true, what: 'pixel scale, arcsec' },
  SECPIX: { min: 0, exclusive: true, what: 'pixel scale, arcsec' },
  PIXSCAL1: { min: 0, exclusive: true, what: 'pixel scale, arcsec' },
  XPIXSZ: { min: 0, exclusive: true, what: 'pixel size, µm' },
  FOCALLEN: { min: 0, exclusive: true, what: 'focal length, mm' },
};

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?$/;

/** The value of a numeric frame keyword: undefined when absent (or null), else the number or why it is not one. */
function numericValue(h: HeaderLike | undefined, key: string): number | undefined | { problem: string } {
  const v = h?.get(key);
  if (v === undefined || v === null) return undefined;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && DECIMAL.test(v.trim())) n = Number(v.trim().replace(/[Dd]/, 'E'));
  else return { problem: `${key} = ${typeof v === 'string' ? `'${v.length > 30 ? `${v.slice(0, 30)}…` : v}'` : String(v)} is not a number` };
  const spec = FRAME_NUMERIC_KEYWORDS[key];
  if (!Number.isFinite(n)) return { problem: `${key} = ${String(v)} is not a finite number` };
  if (spec) {
    if (spec.integer && !Number.isInteger(n)) return { problem: `${key} = ${n} is not an integer (${spec.what})` };
    if (spec.exclusive ? !(n > spec.min) : !(n >= spec.min)) return { problem: `${key} = ${n} is out of range (${spec.what}: ${spec.exclusive ? '>' : '≥'} ${spec.min})` };
  }
  return n;
}

/** Every numeric frame keyword that is present but not a valid number, with why (empty = all good). */
export function frameKeywordProblems(h: HeaderLike | undefined): string[] {
  const out: string[] = [];
  for (const k of Object.keys(FRAME_NUMERIC_KEYWORDS)) {
    const v = numericValue(h, k);
    if (typeof v === 'object') out.push(v.problem);
  }
  return out;
}

/** The first of `keys` present; throws when it is present but not a valid number (see FRAME_NUMERIC_KEYWORDS). */
function num(h: HeaderLike | undefined, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = numericValue(h, k);
    if (typeof v === 'object') throw new Error(v.problem);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Like `num`, for readers that must not throw: an invalid value reads as absent (its problem is in FrameInfo.problems). */
function numLenient(h: HeaderLike | undefined, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = numericValue(h, k);
    if (typeof v === 'number') return v;
  }
  return undefined;
}

function str(h: HeaderLike | undefined, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = h?.get(k);
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** The effective geometry and detector constants of one frame: camera configuration + header overrides. */
export interface FrameGeometry {
  overscan: Section | null;
  data: Section;
  gain: number;
  readNoise: number;
  saturation: number;
  /** Where each value came from, for the history. */
  sources: string[];
}

/**
 * Resolves the sections and constants for a frame of size width×height. Header BIASSEC/DATASEC/GAIN/
 * RDNOISE/SATURATE win over the camera. When the frame is smaller than the camera by an integer factor
 * (binned more than configured) and carries no section keywords, the camera sections are scaled.
 * Throws when a section falls outside the frame, or when GAIN/RDNOISE/SATURATE (or a synonym) is present
 * but not a valid number.
 */
export function frameGeometry(camera: CameraConfig, header: HeaderLike | undefined, width: number, height: number): FrameGeometry {
  const sources: string[] = [];
  let overscan = camera.overscan;
  let data = camera.data;
  const fx = camera.width / width;
  const fy = camera.height / height;
  if ((fx !== 1 || fy !== 1) && Number.isInteger(fx) && Number.isInteger(fy)) {
    const scale = (s: Section): Section => ({ x1: Math.floor((s.x1 - 1) / fx) + 1, x2: Math.ceil(s.x2 / fx), y1: Math.floor((s.y1 - 1) / fy) + 1, y2: Math.ceil(s.y2 / fy) });
    overscan = overscan && scale(overscan);
    data = scale(data);
    sources.push(`sections scaled 1/${fx}x1/${fy} from camera ${camera.name}`);
  }
  const biassec = str(header, 'BIASSEC');
  const datasec = str(header, 'DATASEC');
  if (biassec) {
    overscan = parseSection(biassec);
    sources.push(`BIASSEC ${biassec} from header`);
  }
  if (datasec) {
    data = parseSection(datasec);
    sources.push(`DATASEC ${datasec} from header`);
  }
  for (const [label, s] of [['overscan', overscan], ['data', data]] as const) {
    if (s && (s.x2 > width || s.y2 > height)) throw new Error(`${label} section ${formatSection(s)} outside the ${width}x${height} frame`);
  }
  const gain = num(header, 'GAIN', 'EGAIN');
  const rn = num(header, 'RDNOISE', 'READNOIS', 'RON');
  const sat = num(header, 'SATURATE', 'SATLEVEL');
  if (gain !== undefined && gain > 0) sources.push(`GAIN ${gain} from header`);
  if (rn !== undefined && rn >= 0) sources.push(`RDNOISE ${rn} from header`);
  return {
    overscan,
    data,
    gain: gain !== undefined && gain > 0 ? gain : camera.gain,
    readNoise: rn !== undefined && rn >= 0 ? rn : camera.readNoise,
    saturation: sat !== undefined && sat > 0 ? sat : camera.saturation,
    sources,
  };
}

/** Metadata of a raw frame read from its header and file name. */
export interface FrameInfo {
  type: FrameType | null;
  filter: string | null;
  binning: string | null;
  exptime: number | null;
  /** ISO UTC, from the header (lib/fits observationDate) or else the file name; null if neither. */
  dateObs: string | null;
  /** Camera number of the file name `…C<n><t>.fits` (RATIR/COATLI/COLIBRI convention). */
  cameraNumber: number | null;
  /** Numeric keywords present with a value that is not a valid number (frameKeywordProblems): such a frame is refused. */
  problems: string[];
}

const NAME_RE = /(\d{8})T(\d{6})C(\d+)([bdfo])\.fits(?:\.fz)?$/i;
const TYPE_LETTER: Record<string, FrameType> = { b: 'bias', d: 'dark', f: 'flat', o: 'object' };

/** IMAGETYP/OBSTYPE value → frame type; null if not recognised. */
export function typeFromKeyword(v: string): FrameType | null {
  const s = v.trim().toLowerCase();
  if (/^(bias|zero)/.test(s)) return 'bias';
  if (/^dark/.test(s)) return 'dark';
  if (/flat/.test(s)) return 'flat';
  if (/^(object|light|science|sci)/.test(s)) return 'object';
  return null;
}

/** Reads type (IMAGETYP/OBSTYPE, else the file-name letter), filter, binning, exposure and date. */
export function frameInfo(header: HeaderLike | undefined, fileName: string): FrameInfo {
  const m = NAME_RE.exec(basename(fileName));
  const kw = str(header, 'IMAGETYP', 'OBSTYPE', 'IMGTYPE', 'FRAMETYP');
  let type = kw ? typeFromKeyword(kw) : null;
  if (!type && m) type = TYPE_LETTER[m[4].toLowerCase()] ?? null;
  const filter = str(header, 'FILTER', 'FILTA', 'FILTER1', 'FILTNAME') ?? null;
  let binning = str(header, 'BINNING') ?? null;
  if (binning) {
    const b = /^(\d+)\s*[x× ,]\s*(\d+)$/i.exec(binning);
    binning = b ? `${b[1]}x${b[2]}` : binning;
  } else {
    const bx = numLenient(header, 'BINX', 'XBINNING', 'CCDXBIN');
    const by = numLenient(header, 'BINY', 'YBINNING', 'CCDYBIN');
    const ccdsum = str(header, 'CCDSUM');
    if (bx && by) binning = `${bx}x${by}`;
    else if (ccdsum && /^\d+\s+\d+$/.test(ccdsum)) binning = ccdsum.split(/\s+/).join('x');
  }
  const exptime = numLenient(header, 'EXPTIME', 'EXPOSURE') ?? null;
  // The same date rules as the provider (lib/fits observationDate: DATE-OBS in its forms, a date-only
  // DATE-OBS or DATE + TIME-OBS/UT/…, DATE-BEG); the file-name stamp only when the header has none.
  const od = header ? observationDate(header) : null;
  let dateObs: string | null = od?.ok ? od.iso : null;
  if (!dateObs && m) {
    const [, ymd, hms] = m;
    dateObs = `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}T${hms.slice(0, 2)}:${hms.slice(2, 4)}:${hms.slice(4, 6)}.000Z`;
  }
  return { type, filter, binning, exptime, dateObs, cameraNumber: m ? Number(m[3]) : null, problems: frameKeywordProblems(header) };
}

/** Validates and completes a camera description (from JSON or code); throws with every problem listed. */
export function defineCamera(input: Partial<CameraConfig> & { name: string; overscan?: Section | string | null; data?: Section | string }): CameraConfig {
  const problems: string[] = [];
  const sec = (v: Section | string | null | undefined, label: string): Section | null => {
    if (v === null || v === undefined) return null;
    try {
      return typeof v === 'string' ? parseSection(v) : parseSection(formatSection(v));
    } catch (e) {
      problems.push(`${label}: ${(e as Error).message}`);
      return null;
    }
  };
  const width = input.width ?? 0;
  const height = input.height ?? 0;
  if (!(width > 0 && height > 0)) problems.push('width and height must be positive');
  const data = sec(input.data, 'data') ?? { x1: 1, x2: width, y1: 1, y2: height };
  const overscan = sec(input.overscan, 'overscan');
  for (const [k, v] of [['gain', input.gain], ['readNoise', input.readNoise], ['saturation', input.saturation]] as const) {
    if (!(typeof v === 'number' && v > 0)) problems.push(`${k} must be a positive number`);
  }
  const cam: CameraConfig = {
    ...DEFAULTS,
    ...input,
    flatLevel: { ...DEFAULTS.flatLevel, ...input.flatLevel },
    minFrames: { ...DEFAULTS.minFrames, ...input.minFrames },
    overscan,
    data,
    width,
    height,
    gain: input.gain ?? 0,
    readNoise: input.readNoise ?? 0,
    saturation: input.saturation ?? 0,
  };
  if (!(cam.flatLevel.min < cam.flatLevel.max)) problems.push('flatLevel.min must be below flatLevel.max');
  if (cam.combine !== 'median' && cam.combine !== 'sigclip') problems.push(`combine must be median or sigclip, not '${cam.combine}'`);
  if (!/^\d+x\d+$/.test(cam.binning)) problems.push(`binning must look like 2x2, not '${cam.binning}'`);
  for (const s of [cam.data, cam.overscan]) if (s && (s.x2 > width || s.y2 > height)) problems.push(`section ${formatSection(s)} outside ${width}x${height}`);
  if (problems.length) throw new Error(`camera '${input.name}': ${problems.join('; ')}`);
  return cam;
}

/**
 * Loads cameras from a JSON file: either one camera object or an array of them. Each may name a
 * built-in in `extends` to inherit from it. Sections may be written as FITS strings.
 */
export function loadCameraFile(path: string): CameraConfig[] {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((c: Record<string, unknown>) => {
    const base = typeof c.extends === 'string' ? CAMERAS[c.extends] : undefined;
    if (c.extends !== undefined && !base) throw new Error(`camera '${String(c.name)}': unknown base camera '${String(c.extends)}'`);
    const { extends: _e, ...rest } = c;
    return defineCamera({ ...(base ?? {}), ...(rest as Partial<CameraConfig> & { name: string }) });
  });
}

/**
 * A camera from a configuration value: a built-in name (`coatli`), a camera JSON file (`cam.json`:
 * its first camera) or one camera of a file (`cams.json#name`); '' = none (detect from the headers).
 * Also returns every camera of the file, for detection. Throws on an unknown name or a bad file.
 */
export function cameraFromSpec(spec: string): { camera: CameraConfig | null; cameras: CameraConfig[] } {
  if (/\.json(#.*)?$/i.test(spec)) {
    const hash = spec.lastIndexOf('#');
    const file = hash > 0 ? spec.slice(0, hash) : spec;
    const name = hash > 0 ? spec.slice(hash + 1) : '';
    const cameras = loadCameraFile(file);
    if (!cameras.length) throw new Error(`camera file ${file} describes no camera`);
    return { camera: name ? cameraByName(name, cameras) : cameras[0], cameras };
  }
  return { camera: spec ? cameraByName(spec) : null, cameras: [] };
}

/** A camera by name among the built-ins and `extra`; throws listing the known names. */
export function cameraByName(name: string, extra: CameraConfig[] = []): CameraConfig {
  const found = extra.find((c) => c.name === name) ?? CAMERAS[name];
  if (!found) throw new Error(`unknown camera '${name}' (known: ${[...extra.map((c) => c.name), ...Object.keys(CAMERAS)].join(', ')})`);
  return found;
}

/** A frame of width×height can come from camera `c`: the same size, or smaller by an integer binning factor. */
export function fitsCamera(c: Pick<CameraConfig, 'width' | 'height'>, width: number, height: number): boolean {
  const fx = c.width / width;
  const fy = c.height / height;
  return width > 0 && height > 0 && Number.isInteger(fx) && Number.isInteger(fy) && fx >= 1 && fy >= 1;
}

/** Header keywords that describe the detector: a frame carrying any of them can be calibrated without a camera file. */
export const SELF_DESCRIBING_KEYWORDS = ['BIASSEC', 'DATASEC', 'GAIN', 'EGAIN', 'RDNOISE', 'READNOIS', 'RON', 'SATURATE', 'SATLEVEL'] as const;

/** What is assumed for a camera described by its frames' headers, for what the headers do not say. */
export const HEADER_CAMERA_DEFAULTS = { gain: 1, readNoise: 10, saturation: 65535 } as const;

/** How a frame's camera was found, and what the user should know about it. */
export interface CameraResolution {
  camera: CameraConfig;
  /** configured (--camera, GFT_GP1_CAMERA), detected (a known camera's keywords or size), header (the frame's own keywords). */
  source: 'configured' | 'detected' | 'header';
  /** Warnings: why a configured camera was not used; for a header camera, which values came from the headers and which were assumed. */
  notes: string[];
}

/**
 * The camera of a frame — the one resolution every GP1 entry point uses (`gft gp1 masters` and
 * `calibrate`, the gp1-calibration stage through buildNightMasters and FrameCalibrator, hence
 * `gft dc3`):
 * 1. the configured camera, when the frame fits it (its size, or an integer binning of it);
 * 2. else a known camera detected from the header (`match` keywords) or the exact size (detectCamera);
 * 3. else a camera described by the frame itself: its size, BIASSEC (overscan; none when absent),
 *    DATASEC (the whole frame when absent), GAIN/RDNOISE/SATURATE (or synonyms), binning, named
 *    `<instrume>-<width>x<height>`; what the header does not say is assumed (HEADER_CAMERA_DEFAULTS)
 *    and said in `notes`. Only when the header has at least one SELF_DESCRIBING_KEYWORDS keyword.
 * Null when none applies. Throws when a describing keyword is present but malformed (a section that
 * does not parse or lies outside the frame, GAIN = 'abc').
 */
export function resolveFrameCamera(opts: { camera?: CameraConfig | null; cameras?: CameraConfig[] }, header: HeaderLike | undefined, width: number, height: number): CameraResolution | null {
  const notes: string[] = [];
  const configured = opts.camera ?? null;
  if (configured) {
    if (fitsCamera(configured, width, height)) return { camera: configured, source: 'configured', notes };
    notes.push(`the configured camera ${configured.name} is ${configured.width}x${configured.height}: a ${width}x${height} frame is not one of its frames (nor an integer binning of one)`);
  }
  const detected = detectCamera(header, width, height, opts.cameras ?? []);
  if (detected) {
    if (configured) notes.push(`camera ${detected.name} detected from the header instead`);
    return { camera: detected, source: 'detected', notes };
  }
  const present = SELF_DESCRIBING_KEYWORDS.filter((k) => header?.get(k) !== undefined && header?.get(k) !== null);
  if (!present.length) return null;
  const camera = cameraFromHeader(header, width, height);
  const from: string[] = [`size ${width}x${height}`];
  const assumed: string[] = [];
  from.push(str(header, 'BIASSEC') ? `overscan BIASSEC ${str(header, 'BIASSEC')}` : 'no overscan (no BIASSEC)');
  if (str(header, 'DATASEC')) from.push(`data section DATASEC ${str(header, 'DATASEC')}`);
  else assumed.push(`data section = the whole frame ${formatSection(camera.data)} (no DATASEC)`);
  const value = (keys: string[], label: string, unit: string, v: number) => {
    const k = keys.find((x) => numLenient(header, x) !== undefined);
    if (k) from.push(`${label} ${k} = ${v} ${unit}`);
    else assumed.push(`${label} ${v} ${unit} (no ${keys.join('/')})`);
  };
  value(['GAIN', 'EGAIN'], 'gain', 'e-/ADU', camera.gain);
  value(['RDNOISE', 'READNOIS', 'RON'], 'read noise', 'e-', camera.readNoise);
  value(['SATURATE', 'SATLEVEL'], 'saturation', 'ADU', camera.saturation);
  from.push(`binning ${camera.binning}`);
  assumed.push(`the built-in thresholds: flat level ${camera.flatLevel.min}–${camera.flatLevel.max} ADU, at least ${camera.minFrames.bias}/${camera.minFrames.dark}/${camera.minFrames.flat} bias/dark/flat frames`);
  notes.push(`no camera file describes this ${width}x${height} frame: camera ${camera.name} from its header — ${from.join(', ')}; assumed: ${assumed.join('; ')}`);
  return { camera, source: 'header', notes };
}

/** Why no camera could be resolved for a frame (for the error message). */
export function unresolvedCameraReason(configured: CameraConfig | null | undefined, width: number, height: number): string {
  const cfg = configured ? `the configured camera ${configured.name} is ${configured.width}x${configured.height}, ` : '';
  return `cannot tell the camera of a ${width}x${height} frame: ${cfg}no known camera matches its keywords or size, and its header has none of ${SELF_DESCRIBING_KEYWORDS.join(', ')}; configure one (--camera NAME or a camera JSON file)`;
}

/** A camera described by one frame's header (see resolveFrameCamera). Throws on malformed keywords. */
export function cameraFromHeader(header: HeaderLike | undefined, width: number, height: number): CameraConfig {
  const instrume = str(header, 'INSTRUME');
  const base = (instrume ?? 'frame').toLowerCase().replace(/[^a-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'frame';
  const biassec = str(header, 'BIASSEC');
  const datasec = str(header, 'DATASEC');
  const info = frameInfo(header, '');
  const bitpix = header?.get('BITPIX');
  const saturation = num(header, 'SATURATE', 'SATLEVEL') ?? (bitpix === 8 ? 255 : HEADER_CAMERA_DEFAULTS.saturation);
  return defineCamera({
    name: `${base}-${width}x${height}`,
    description: `described by its frames' headers${instrume ? ` (INSTRUME ${instrume})` : ''}`,
    width,
    height,
    overscan: biassec ? parseSection(biassec) : null,
    data: datasec ? parseSection(datasec) : { x1: 1, x2: width, y1: 1, y2: height },
    gain: num(header, 'GAIN', 'EGAIN') ?? HEADER_CAMERA_DEFAULTS.gain,
    // (RDNOISE = 0 is a valid keyword, applied frame by frame by frameGeometry; a camera needs a positive default)
    readNoise: num(header, 'RDNOISE', 'READNOIS', 'RON') || HEADER_CAMERA_DEFAULTS.readNoise,
    saturation,
    binning: info.binning && /^\d+x\d+$/.test(info.binning) ? info.binning : '1x1',
  });
}

/**
 * Detects the camera of a frame: a camera whose `match` patterns all match the header wins (size
 * must agree up to binning); otherwise the unique camera with the frame's exact size. Null if none
 * or ambiguous.
 */
export function detectCamera(header: HeaderLike | undefined, width: number, height: number, extra: CameraConfig[] = []): CameraConfig | null {
  const all = [...extra, ...Object.values(CAMERAS).filter((c) => !extra.some((e) => e.name === c.name))];
  const sizeOk = (c: CameraConfig) => fitsCamera(c, width, height);
  const byHeader = all.filter((c) => {
    if (!c.match || !Object.keys(c.match).length || !sizeOk(c)) return false;
    return Object.entries(c.match).every(([k, re]) => {
      const v = header?.get(k);
      return v !== undefined && v !== null && new RegExp(re, 'i').test(String(v).trim());
    });
  });
  if (byHeader.length === 1) return byHeader[0];
  const bySize = all.filter((c) => c.width === width && c.height === height);
  return bySize.length === 1 ? bySize[0] : null;
}
