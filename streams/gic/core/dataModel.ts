/**
 * The GFT-FGFT product data model, version 1.005, as data: the builder (streams/gic/core/product.ts)
 * writes it and the FSC validator (streams/fsc/core/validate.ts) checks files against it.
 * docs/data-model-1.005.md is the human-readable form; keep both in step (the product tests read
 * the keyword list of the doc back and compare).
 *
 * Time: TIMESYS = 'UTC' for every date string (DATE, T0, EPOCH_T). MJDREFI + MJDREFF is the SVOM
 * mission reference 2017-01-01T00:00:00 UTC *expressed as an MJD in TT* (UTC + 37 s leap seconds +
 * 32.184 s = 69.184 s = 0.00080074074 d), the fixed values of the SVOM product cards. T0_MET is T0
 * in SVOM mission time: SI seconds since that instant (no leap second has been inserted since, so
 * it is the POSIX difference).
 */
import { FLAG_DOC } from '../../gp1/candidateFlags.ts';

export const PRDM_VERSION = 1.005;
export const MJDREFI = 57754;
export const MJDREFF = 0.00080074074;
/** 2017-01-01T00:00:00 UTC, ms since 1970 (POSIX): the SVOM mission time origin. */
export const SVOM_EPOCH_MS = Date.UTC(2017, 0, 1);

export const CARD_EPOCH = 'FGFT_CAND_EPOCH';
export const CARD_FINAL = 'FGFT_CAND_FINAL';
export const PROGRAMS = ['CP', 'GP', 'TOO'] as const;

export const BURST_ID_RE = /^sb\d{8}$/;
export const OBS_ID_RE = /^\d{10}$/;
export const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Widths of the string columns (FITS `nA`). */
export const ID_WIDTH = 32;
export const FRAME_ID_WIDTH = 48;
export const PROV_ID_WIDTH = 64;
/** At most this many CUTOUT HDUs per product (the highest-scored candidates). */
export const MAX_CUTOUTS = 50;

export type KeywordType = 'string' | 'int' | 'float' | 'bool';

export interface KeywordSpec {
  key: string;
  type: KeywordType;
  unit?: string;
  required: boolean;
  fixed?: string | number | boolean;
  allowed?: readonly (string | number)[];
  pattern?: RegExp;
  min?: number;
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
  doc: string;
}

/** Primary header (a header-only HDU: NAXIS = 0). */
export const PRIMARY_KEYWORDS: KeywordSpec[] = [
  { key: 'ORIGIN', type: 'string', required: true, pattern: /\S/, doc: 'Institution that wrote the file' },
  { key: 'TELESCOP', type: 'string', required: true, fixed: 'COLIBRI', doc: 'Telescope' },
  { key: 'INSTRUME', type: 'string', required: true, fixed: 'FGFT', doc: 'SVOM instrument code of the French ground follow-up telescope' },
  { key: 'CREATOR', type: 'string', required: true, pattern: /\S/, doc: 'Software that wrote the file (name and version)' },
  { key: 'CARD', type: 'string', required: true, allowed: [CARD_EPOCH, CARD_FINAL], doc: 'Product card: per-epoch product or final product of the burst' },
  { key: 'PROGRAM', type: 'string', required: true, allowed: PROGRAMS, doc: 'SVOM observing program (CP core program, GP general program, TOO)' },
  { key: 'PRDM_VER', type: 'float', required: true, fixed: PRDM_VERSION, doc: 'Product data model version' },
  { key: 'PROC_VER', type: 'string', required: true, pattern: /^\d{2}$/, doc: 'Processing version: candidate-list revision + 1, two digits' },
  { key: 'PIP_VER', type: 'string', required: true, pattern: /^\d+\.\d+\.\d+$/, doc: 'Pipeline version (major.minor.patch)' },
  { key: 'DSTREAM', type: 'string', required: true, fixed: 'GFT', doc: 'SVOM data stream' },
  { key: 'DATE', type: 'string', required: true, pattern: ISO_UTC_RE, doc: 'File creation date (UTC, ISO 8601); event time by default, so a replay writes identical bytes' },
  { key: 'TIMESYS', type: 'string', required: true, fixed: 'UTC', doc: 'Time scale of the date strings' },
  { key: 'TIMEUNIT', type: 'string', required: true, fixed: 's', doc: 'Unit of time values' },
  { key: 'MJDREFI', type: 'int', unit: 'd', required: true, fixed: MJDREFI, doc: 'Integer part of the SVOM reference MJD (TT)' },
  { key: 'MJDREFF', type: 'float', unit: 'd', required: true, fixed: MJDREFF, doc: 'Fractional part of the SVOM reference MJD (TT): 2017-01-01T00:00:00 UTC' },
  { key: 'PROD_ID', type: 'string', required: true, pattern: /^sb\d{8}_\d{10}_(\d+(\.\d+)?min|final)$/, doc: 'Product id <BURST_ID>_<OBS_ID>_<epoch>min | _final (the topic key)' },
  { key: 'BURST_ID', type: 'string', required: true, pattern: BURST_ID_RE, doc: 'SVOM burst id sbYYMMDDnn' },
  { key: 'OBS_ID', type: 'string', required: true, pattern: OBS_ID_RE, doc: 'Observation id: YYMMDDnn of the burst + 2-digit GFT observation number (01: automatic follow-up)' },
  { key: 'T0', type: 'string', required: true, pattern: ISO_UTC_RE, doc: 'Burst trigger time (UTC, ISO 8601)' },
  { key: 'T0_MET', type: 'float', unit: 's', required: true, min: 0, doc: 'T0 in SVOM mission time: seconds since 2017-01-01T00:00:00 UTC' },
  { key: 'EPOCHMIN', type: 'float', unit: 'min', required: true, min: 0, max: 10080, doc: 'Epoch of the candidate list, minutes after T0 (final product: its last epoch). Not EPOCH: a reserved FITS keyword (the deprecated equinox)' },
  { key: 'FINAL', type: 'bool', required: true, doc: 'T for the final product of the burst, F for a per-epoch product' },
  { key: 'EPOCH_T', type: 'string', required: true, pattern: ISO_UTC_RE, doc: 'Epoch as a date: T0 + EPOCHMIN' },
  { key: 'REVISION', type: 'int', required: true, min: 0, doc: 'Candidate-list revision (a late frame revises an epoch)' },
  { key: 'RADESYS', type: 'string', required: true, fixed: 'ICRS', doc: 'Reference frame of the coordinates' },
  { key: 'RA_OBJ', type: 'float', unit: 'deg', required: true, min: 0, below: 360, doc: 'Alert position, right ascension' },
  { key: 'DEC_OBJ', type: 'float', unit: 'deg', required: true, min: -90, max: 90, doc: 'Alert position, declination' },
  { key: 'ERR_RAD', type: 'float', unit: 'deg', required: true, min: -1, max: 180, doc: 'Alert error radius; -1 when unknown' },
  { key: 'REF_VER', type: 'int', required: false, min: 0, doc: 'Version of the burst reference file the alert position comes from' },
  { key: 'NFRAMES', type: 'int', required: true, min: 0, doc: 'Frames the candidate list was built from' },
  { key: 'NCAND', type: 'int', required: true, min: 0, doc: 'Rows of CANDIDATES' },
  { key: 'NLCPTS', type: 'int', required: true, min: 0, doc: 'Rows of LIGHTCURVES' },
  { key: 'NCUTOUT', type: 'int', required: true, min: 0, max: MAX_CUTOUTS, doc: 'CUTOUT image HDUs (0 with a STACK)' },
  { key: 'ZEROPT', type: 'float', unit: 'mag', required: false, min: 10, max: 40, doc: 'Photometric zero point of the last frame (counts/s)' },
  { key: 'LIMMAG', type: 'float', unit: 'mag', required: false, min: 5, max: 35, doc: 'Limiting magnitude (5 sigma) of the last frame' },
];

export interface ColumnSpec {
  name: string;
  format: 'D' | 'E' | 'J' | `${number}A`;
  unit?: string;
  min?: number;
  max?: number;
  below?: number;
  /** NaN allowed (floating columns only). */
  nullable?: boolean;
  doc: string;
}

export const CANDIDATE_COLUMNS: ColumnSpec[] = [
  { name: 'ID', format: `${ID_WIDTH}A`, doc: 'Candidate id (GP1 designation, stable across epochs)' },
  { name: 'RA', format: 'D', unit: 'deg', min: 0, below: 360, doc: 'Right ascension (ICRS)' },
  { name: 'DEC', format: 'D', unit: 'deg', min: -90, max: 90, doc: 'Declination (ICRS)' },
  { name: 'POS_ERR', format: 'E', unit: 'arcsec', min: 0, max: 60, doc: 'Position error (1 sigma)' },
  { name: 'MAG', format: 'D', unit: 'mag', min: 0, max: 30, doc: 'Latest magnitude (AB, calibrated on the reference catalog)' },
  { name: 'MAG_ERR', format: 'E', unit: 'mag', min: 0, max: 5, doc: 'Magnitude error (1 sigma)' },
  { name: 'DIST_ALERT', format: 'E', unit: 'arcsec', min: 0, max: 648000, doc: 'Angular distance to the alert position' },
  { name: 'FLAGS', format: 'J', min: 0, doc: `GP1 flags: ${FLAG_DOC}` },
  { name: 'SCORE', format: 'E', min: 0, max: 1, doc: 'Candidate score' },
  { name: 'FADE_IDX', format: 'E', min: -20, max: 20, nullable: true, doc: 'Power-law decay index alpha (flux ~ t^-alpha); NaN when not measured' },
];

export const LIGHTCURVE_COLUMNS: ColumnSpec[] = [
  { name: 'CAND_ID', format: `${ID_WIDTH}A`, doc: 'Candidate id (an ID of CANDIDATES)' },
  { name: 'FRAME_ID', format: `${FRAME_ID_WIDTH}A`, doc: 'Frame of the measurement' },
  { name: 'T_T0', format: 'D', unit: 's', min: -86400, max: 30 * 86400, doc: 'Mid-exposure time minus T0' },
  { name: 'MAG', format: 'D', unit: 'mag', min: 0, max: 30, doc: 'Magnitude' },
  { name: 'MAG_ERR', format: 'E', unit: 'mag', min: 0, max: 5, doc: 'Magnitude error (1 sigma)' },
];

export const PROVENANCE_KINDS = ['frame', 'raw', 'bias', 'dark', 'flat', 'master', 'basefile', 'reference'] as const;
export const PROVENANCE_COLUMNS: ColumnSpec[] = [
  { name: 'KIND', format: '16A', doc: `One of ${PROVENANCE_KINDS.join(', ')}` },
  { name: 'ID', format: `${PROV_ID_WIDTH}A`, doc: 'Frame id, master id, or file name' },
  { name: 'SHA256', format: '64A', doc: 'SHA-256 of the input file (lower-case hex) as held in local storage; empty when unknown' },
];

/** Extension order after the primary HDU; then 0..MAX_CUTOUTS CUTOUT images, or one STACK. */
export const TABLE_EXTENSIONS = ['CANDIDATES', 'LIGHTCURVES', 'PROVENANCE'] as const;

/** Plausible pixel scale of a product image (arcsec/pixel). */
export const PIXEL_SCALE_RANGE: [number, number] = [0.05, 10];

/** `5min`, `2.5min` or `final`: the epoch part of a product id. */
export function epochLabel(epochMinutes: number | null): string {
  return epochMinutes === null ? 'final' : `${epochMinutes}min`;
}

/**
 * OBS_ID derived from the burst id: the 8 digits of sbYYMMDDnn + '01' (the automatic GFT follow-up
 * observation of the burst). Deterministic, so every epoch of a burst shares it and replays agree.
 */
export function obsIdFor(burstId: string): string {
  const m = /^sb(\d{8})$/.exec(burstId);
  if (!m) throw new Error(`not a SVOM burst id: '${burstId}'`);
  return `${m[1]}01`;
}

export function productIdFor(burstId: string, epochMinutes: number | null): string {
  return `${burstId}_${obsIdFor(burstId)}_${epochLabel(epochMinutes)}`;
}

/** Seconds since the SVOM mission origin (2017-01-01T00:00:00 UTC). */
export function svomMet(iso: string): number {
  return (parseIsoUtc(iso) - SVOM_EPOCH_MS) / 1000;
}

/** ms since 1970 of an ISO 8601 date without zone (UTC) or with Z. NaN when unreadable. */
export function parseIsoUtc(iso: string): number {
  const s = /[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`;
  return Date.parse(s);
}

/** ISO 8601 UTC without zone letter, ms precision: the FITS date form (e.g. 2019-10-16T08:41:00.000). */
export function fitsDate(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '');
}
