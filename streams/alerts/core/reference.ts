/**
 * The reference file of a burst: what GP1 needs to observe and reduce it. One version per trigger or
 * update decided by the manager (`BurstState.referenceVersion`); the document is built only from the
 * burst state, the plan configuration and the catalog rows, so identical inputs give identical bytes
 * (`referenceJson`).
 *
 * - Position: the manager's best position (deg, ICRS) and its error radius (deg, null = unknown).
 * - Observation plan (DC3 default): one image every 60 s for 60 min, i.e. 60 frames, from the trigger;
 *   candidate epochs at T0 + 5, 10, 30, 60 min (the stacks GP1 searches for new sources), all
 *   configurable. Epoch times are given both in minutes after T0 and as ISO UTC instants.
 * - Reference stars: the catalog rows within `radiusDeg` of the best position (great-circle distance,
 *   haversine formula, stable for small angles), brightest first, at most `maxStars`. Default radius
 *   0.35°: the half-diagonal of COLIBRI's 26′ field (0.306°) plus a margin for pointing offsets.
 * - Catalog files: CSV with a header naming `ra`, `dec`, `mag` and optionally `band` (any order, any
 *   case, other columns ignored, `#` comment lines allowed; a row with an empty mag is skipped), or a
 *   FITS table (BINTABLE/ASCII TABLE, columns of the same names, first extension by default) read with
 *   lib/fits `readTable`. RA/Dec in degrees. A bad catalog is a configuration error (`CatalogError`),
 *   not bad alert input: the stage refuses to start rather than dead-letter every alert.
 */
import type { BurstState } from './manager.ts';

export interface PlanConfig {
  /** Seconds between frames (DC3: 60). */
  cadenceSeconds: number;
  /** Length of the observation (DC3: 3600 s). */
  durationSeconds: number;
  /** Candidate epochs, minutes after T0 (DC3: 5, 10, 30, 60). */
  epochsMinutes: number[];
}

export interface CatalogConfig {
  /** Extraction radius around the best position (deg). */
  radiusDeg: number;
  /** Keep at most this many stars, the brightest. */
  maxStars: number;
}

export const DC3_PLAN: Readonly<PlanConfig> = Object.freeze({ cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes: Object.freeze([5, 10, 30, 60]) as number[] });
export const DEFAULT_CATALOG: Readonly<CatalogConfig> = Object.freeze({ radiusDeg: 0.35, maxStars: 5000 });

export interface CatalogStar {
  ra: number;
  dec: number;
  mag: number;
  band: string | null;
}

export interface ReferenceDocument {
  schema: 'gft.alerts.reference/1';
  burstId: string;
  version: number;
  /** ISO UTC */
  t0: string;
  ra: number;
  dec: number;
  errorRadiusDeg: number | null;
  bestIvorn: string;
  bestInstrument: string | null;
  /** Non-test notices of the burst applied so far, in order. */
  notices: string[];
  plan: PlanConfig & { frames: number; epochs: string[] };
  catalog: { source: string | null; radiusDeg: number; total: number; truncated: boolean; stars: CatalogStar[] };
}

export class CatalogError extends Error {
  readonly code = 'alerts.bad_catalog';
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

const D2R = Math.PI / 180;

/** Great-circle separation (deg) by the haversine formula (accurate at small separations). */
export function separationDeg(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const sd = Math.sin(((dec2 - dec1) * D2R) / 2);
  const sr = Math.sin(((ra2 - ra1) * D2R) / 2);
  const h = sd * sd + Math.cos(dec1 * D2R) * Math.cos(dec2 * D2R) * sr * sr;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / D2R;
}

/** Stars within `radiusDeg`, brightest first (ties by RA then Dec, for a stable order). */
export function extractField(stars: readonly CatalogStar[], ra: number, dec: number, radiusDeg: number): CatalogStar[] {
  const dmin = dec - radiusDeg;
  const dmax = dec + radiusDeg;
  const out: CatalogStar[] = [];
  for (const s of stars) {
    if (s.dec < dmin || s.dec > dmax) continue; // cheap declination band first
    if (separationDeg(ra, dec, s.ra, s.dec) <= radiusDeg) out.push(s);
  }
  return out.sort((a, b) => a.mag - b.mag || a.ra - b.ra || a.dec - b.dec);
}

function checkStar(ra: number, dec: number, where: string): void {
  if (!(ra >= 0 && ra <= 360)) throw new CatalogError(`${where}: ra ${ra} is outside [0, 360] deg`);
  if (!(dec >= -90 && dec <= 90)) throw new CatalogError(`${where}: dec ${dec} is outside [-90, 90] deg`);
}

function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** CSV text (header ra,dec,mag[,band]) → stars. @throws CatalogError */
export function parseCatalogCsv(text: string, name = 'catalog'): CatalogStar[] {
  const lines = text.split(/\r?\n/);
  let h = 0;
  while (h < lines.length && (!lines[h].trim() || lines[h].trimStart().startsWith('#'))) h++;
  if (h >= lines.length) return [];
  const head = splitCsv(lines[h]).map((c) => c.trim().toLowerCase());
  const [iRa, iDec, iMag, iBand] = ['ra', 'dec', 'mag', 'band'].map((k) => head.indexOf(k));
  if (iRa < 0 || iDec < 0 || iMag < 0) throw new CatalogError(`${name}: the header must name ra, dec and mag (got '${lines[h].slice(0, 80)}')`);
  const out: CatalogStar[] = [];
  for (let k = h + 1; k < lines.length; k++) {
    const line = lines[k];
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const c = splitCsv(line);
    const where = `${name} line ${k + 1}`;
    const num = (i: number, what: string) => {
      const v = (c[i] ?? '').trim();
      const n = v === '' ? NaN : Number(v);
      if (v !== '' && !Number.isFinite(n)) throw new CatalogError(`${where}: ${what} '${v.slice(0, 20)}' is not a number`);
      return n;
    };
    const ra = num(iRa, 'ra');
    const dec = num(iDec, 'dec');
    const mag = num(iMag, 'mag');
    if (Number.isNaN(ra) || Number.isNaN(dec)) throw new CatalogError(`${where}: ra and dec are required`);
    if (Number.isNaN(mag)) continue;
    checkStar(ra, dec, where);
    const band = iBand >= 0 ? (c[iBand] ?? '').trim() || null : null;
    out.push({ ra, dec, mag, band });
  }
  return out;
}

type Column = Float64Array | Float32Array | Int32Array | string[] | boolean[] | ArrayLike<unknown>;

/** Table columns (as lib/fits `readTable` returns them) → stars; column names matched case-insensitively. */
export function catalogFromColumns(columns: Record<string, Column>, rows: number, name = 'catalog'): CatalogStar[] {
  const find = (k: string) => Object.keys(columns).find((c) => c.trim().toLowerCase() === k);
  const [cRa, cDec, cMag, cBand] = ['ra', 'dec', 'mag', 'band'].map(find);
  if (!cRa || !cDec || !cMag) throw new CatalogError(`${name}: the table must have ra, dec and mag columns (has ${Object.keys(columns).join(', ')})`);
  const ra = columns[cRa];
  const dec = columns[cDec];
  const mag = columns[cMag];
  const band = cBand ? columns[cBand] : undefined;
  for (const [k, col] of [['ra', ra], ['dec', dec], ['mag', mag]] as const) {
    if (col.length < rows || (col.length > 0 && typeof col[0] !== 'number')) throw new CatalogError(`${name}: column ${k} is not a numeric scalar column`);
  }
  const out: CatalogStar[] = [];
  for (let i = 0; i < rows; i++) {
    const r = ra[i] as number;
    const d = dec[i] as number;
    const m = mag[i] as number;
    if (!Number.isFinite(r) || !Number.isFinite(d)) throw new CatalogError(`${name} row ${i + 1}: ra and dec are required`);
    if (!Number.isFinite(m)) continue;
    checkStar(r, d, `${name} row ${i + 1}`);
    const b = band ? String(band[i] ?? '').trim() || null : null;
    out.push({ ra: r, dec: d, mag: m, band: b });
  }
  return out;
}

/**
 * A catalog file's bytes: FITS (by its `SIMPLE  =` signature) through lib/fits `readTable(src, hdu)`,
 * otherwise CSV; `name` names it in errors. lib/fits is imported lazily so that parsing VOEvents never
 * loads the FITS code. Reading the file: streams/alerts/catalogFile.ts.
 * @throws CatalogError
 */
export async function catalogFromBytes(bytes: Buffer, name: string, opts: { hdu?: number | string } = {}): Promise<CatalogStar[]> {
  if (bytes.subarray(0, 9).toString('latin1') === 'SIMPLE  =') {
    const { readTable } = await import('../../../lib/fits/index.ts');
    let t: { rows: number; columns: Record<string, Column> };
    try {
      t = readTable(bytes, opts.hdu ?? 1);
    } catch (e) {
      throw new CatalogError(`${name}: ${(e as Error).message}`);
    }
    return catalogFromColumns(t.columns, t.rows, name);
  }
  return parseCatalogCsv(bytes.toString('utf8'), name);
}

export interface ReferenceOptions {
  plan?: PlanConfig;
  catalog?: CatalogConfig;
  /** Name of the catalog file, recorded in the document. */
  catalogSource?: string | null;
}

/**
 * The reference document of a burst at its current `referenceVersion`.
 * @throws Error when the burst has no position or T0 (the manager never asks for one then).
 */
export function buildReference(state: BurstState, stars: readonly CatalogStar[], opts: ReferenceOptions = {}): ReferenceDocument {
  const plan = opts.plan ?? DC3_PLAN;
  const cat = opts.catalog ?? DEFAULT_CATALOG;
  const best = state.best;
  if (!best || !state.t0 || state.referenceVersion < 1) throw new Error(`burst ${state.burstId} has no reference to build (position, T0 or version missing)`);
  const t0ms = Date.parse(state.t0);
  const field = extractField(stars, best.ra, best.dec, cat.radiusDeg);
  return {
    schema: 'gft.alerts.reference/1',
    burstId: state.burstId,
    version: state.referenceVersion,
    t0: state.t0,
    ra: best.ra,
    dec: best.dec,
    errorRadiusDeg: best.errorRadiusDeg,
    bestIvorn: best.ivorn,
    bestInstrument: best.instrument,
    notices: state.notices.filter((n) => !n.isTest).map((n) => n.ivorn),
    plan: {
      cadenceSeconds: plan.cadenceSeconds,
      durationSeconds: plan.durationSeconds,
      epochsMinutes: [...plan.epochsMinutes],
      frames: Math.floor(plan.durationSeconds / plan.cadenceSeconds),
      epochs: plan.epochsMinutes.map((m) => new Date(t0ms + Math.round(m * 60_000)).toISOString()),
    },
    catalog: {
      source: opts.catalogSource ?? null,
      radiusDeg: cat.radiusDeg,
      total: field.length,
      truncated: field.length > cat.maxStars,
      stars: field.slice(0, cat.maxStars),
    },
  };
}

/** Canonical bytes of a reference document (fixed key order by construction, no whitespace). */
export function referenceJson(doc: ReferenceDocument): Buffer {
  return Buffer.from(JSON.stringify(doc));
}

/** Validates a plan (positive cadence and duration, epochs ≥ 0, sorted). @throws Error */
export function checkPlan(plan: PlanConfig): PlanConfig {
  if (!(plan.cadenceSeconds > 0) || !(plan.durationSeconds > 0)) throw new Error('plan: cadence and duration must be positive');
  if (plan.epochsMinutes.some((m, i) => !(m >= 0) || (i > 0 && m < plan.epochsMinutes[i - 1]))) throw new Error('plan: epochs must be non-negative and increasing');
  return plan;
}
