/**
 * The FSC Colibri-interface validator: does a file follow the GFT-FGFT product data model 1.005?
 *
 * Pure: bytes in, verdict out; never throws on bad input (a file that cannot be parsed is a
 * rejection with its reason). Checks, in order, each adding reasons rather than stopping, so a
 * receipt lists every problem found:
 *   1. FITS structure (lib/fits can walk every HDU) and the HDU sequence: header-only primary,
 *      CANDIDATES, LIGHTCURVES, PROVENANCE binary tables, then CUTOUT images (EXTVER 1..n) or one STACK;
 *   2. CHECKSUM and DATASUM of every HDU (present and verifying);
 *   3. primary keywords: presence, type, fixed/allowed values, patterns, ranges, and their
 *      consistency (PROD_ID from BURST_ID/OBS_ID/EPOCHMIN/FINAL, PROC_VER = REVISION + 1, T0_MET, EPOCH_T);
 *   4. table columns (name, TFORM, unit) and values against the model's ranges; row counts against
 *      NCAND/NLCPTS/NFRAMES; light-curve candidates and frames known to CANDIDATES and PROVENANCE;
 *   5. WCS of every image HDU: RA---TAN/DEC--TAN, CD matrix, plausible pixel scale; a cut-out's
 *      candidate must fall on its stamp;
 *   6. optional expectations from the announcement (topic key, burst, revision).
 * Reasons are `<code>: <detail>` with a stable dotted code (receipts and dashboards group by it).
 */
import { readHeaders, readTable, verifyChecksums, type Header } from '../../../lib/fits/index.ts';
import { pixelScaleArcsec, skyToPix, wcsFromHeader } from '../../../lib/wcs/index.ts';
import {
  CANDIDATE_COLUMNS, CARD_EPOCH, CARD_FINAL, LIGHTCURVE_COLUMNS, MAX_CUTOUTS, PIXEL_SCALE_RANGE, PRIMARY_KEYWORDS, PROVENANCE_COLUMNS,
  PROVENANCE_KINDS, SHA256_RE, TABLE_EXTENSIONS, obsIdFor, parseIsoUtc, productIdFor, svomMet, type ColumnSpec, type KeywordSpec,
} from '../../gic/core/dataModel.ts';

export type { CandidateRow, PointRow, ProvenanceRow, ProductContent } from '../../../lib/products/content.ts';
import type { CandidateRow, PointRow, ProvenanceRow, ProductContent } from '../../../lib/products/content.ts';

export interface Validation {
  ok: boolean;
  reasons: string[];
  summary: ProductContent;
}

export interface Expectations {
  productId?: string;
  burstId?: string;
  obsId?: string;
  epochMinutes?: number | null;
  revision?: number;
}

type Value = string | number | boolean | null | undefined;

function typeOf(v: Value): string {
  if (v === null || v === undefined) return 'undefined';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'string';
}

function fmtRange(s: { min?: number; max?: number; below?: number }): string {
  const lo = s.min !== undefined ? `[${s.min}` : '(-inf';
  const hi = s.below !== undefined ? `${s.below})` : s.max !== undefined ? `${s.max}]` : 'inf)';
  return `${lo}, ${hi}`;
}

function inRange(x: number, s: { min?: number; max?: number; below?: number }): boolean {
  return !(s.min !== undefined && x < s.min) && !(s.max !== undefined && x > s.max) && !(s.below !== undefined && x >= s.below);
}

function checkKeyword(h: Header, spec: KeywordSpec, where: string, reasons: string[]): void {
  const present = h.has(spec.key);
  const v = h.get(spec.key) as Value;
  if (!present) {
    if (spec.required) reasons.push(`keyword.missing: ${where} ${spec.key}`);
    return;
  }
  const t = typeOf(v);
  const okType = spec.type === 'float' ? t === 'float' || t === 'int' : t === spec.type;
  if (!okType) {
    reasons.push(`keyword.type: ${where} ${spec.key} is ${t === 'undefined' ? 'undefined' : `a ${t} (${JSON.stringify(v)})`}, expected ${spec.type}`);
    return;
  }
  if (spec.fixed !== undefined && v !== spec.fixed) reasons.push(`keyword.value: ${where} ${spec.key} = ${JSON.stringify(v)}, expected ${JSON.stringify(spec.fixed)}`);
  if (spec.allowed && !spec.allowed.includes(v as string | number)) reasons.push(`keyword.value: ${where} ${spec.key} = ${JSON.stringify(v)}, allowed: ${spec.allowed.join(', ')}`);
  if (spec.pattern && !spec.pattern.test(String(v))) reasons.push(`keyword.value: ${where} ${spec.key} = ${JSON.stringify(v)} does not match ${spec.pattern}`);
  if (typeof v === 'number' && !inRange(v, spec)) reasons.push(`keyword.range: ${where} ${spec.key} = ${v} outside ${fmtRange(spec)}`);
}

function tformOk(actual: string | undefined, want: ColumnSpec['format']): boolean {
  if (!actual) return false;
  const a = actual.trim().toUpperCase();
  return a === want || a === `1${want}`;
}

type Columns = Record<string, Float64Array | Float32Array | Int32Array | string[] | boolean[]>;

/** Column presence, format, unit and value ranges; returns the columns that are usable. */
function checkTable(bytes: Buffer, extname: string, specs: ColumnSpec[], reasons: string[]): { rows: number; cols: Columns } | null {
  let t;
  try {
    t = readTable(bytes, extname);
  } catch (e) {
    reasons.push(`structure.table: ${extname}: ${(e as Error).message}`);
    return null;
  }
  const h = t.header;
  const nf = h.getNumber('TFIELDS') ?? 0;
  const byName = new Map<string, number>();
  for (let i = 1; i <= nf; i++) byName.set((h.getString(`TTYPE${i}`) ?? '').trim().toUpperCase(), i);
  let usable = true;
  for (const s of specs) {
    const i = byName.get(s.name);
    if (i === undefined) {
      reasons.push(`column.missing: ${extname}.${s.name}`);
      usable = false;
      continue;
    }
    const tf = h.getString(`TFORM${i}`);
    if (!tformOk(tf, s.format)) {
      reasons.push(`column.format: ${extname}.${s.name} is ${tf}, expected ${s.format}`);
      usable = false;
      continue;
    }
    const unit = h.getString(`TUNIT${i}`)?.trim();
    if (s.unit && unit !== s.unit) reasons.push(`column.unit: ${extname}.${s.name} unit is ${unit === undefined ? 'missing' : `'${unit}'`}, expected '${s.unit}'`);
    const vals = t.columns[s.name] ?? t.columns[(h.getString(`TTYPE${i}`) ?? '').trim()];
    if (!vals || typeof vals[0] === 'string' || typeof vals[0] === 'boolean') continue;
    const nums = vals as ArrayLike<number>;
    let bad = 0;
    let first = -1;
    for (let r = 0; r < nums.length; r++) {
      const x = nums[r];
      const ok = Number.isNaN(x) ? !!s.nullable : Number.isFinite(x) && inRange(x, s);
      if (!ok) {
        bad++;
        if (first < 0) first = r;
      }
    }
    if (bad) reasons.push(`range: ${extname}.${s.name} = ${nums[first]} (row ${first + 1}) outside ${fmtRange(s)}${s.nullable ? '' : ', NaN not allowed'}; ${bad} row(s)`);
  }
  return usable ? { rows: t.rows, cols: t.columns } : null;
}

const num = (c: Columns, k: string, r: number) => Number((c[k] as ArrayLike<number>)[r]);
const str = (c: Columns, k: string, r: number) => String((c[k] as string[])[r] ?? '').trim();

export function validateProduct(bytes: Buffer, expect: Expectations = {}): Validation {
  const reasons: string[] = [];
  const summary: ProductContent = { nCutouts: 0, hdus: [], candidates: [], points: [], provenance: [] };
  const done = (): Validation => ({ ok: reasons.length === 0, reasons, summary });

  let hdus;
  try {
    hdus = readHeaders(bytes);
  } catch (e) {
    reasons.push(`fits.structure: ${(e as Error).message}`);
    return done();
  }
  summary.hdus = hdus.map((h) => (h.extname ? { index: h.index, type: h.type, extname: h.extname } : { index: h.index, type: h.type }));
  const name = (i: number) => `HDU ${i}${hdus[i]?.extname ? ` (${hdus[i].extname})` : i === 0 ? ' (PRIMARY)' : ''}`;

  // 2. checksums
  try {
    for (const c of verifyChecksums(bytes)) {
      if (c.datasum !== 'ok') reasons.push(`checksum.${c.datasum === 'bad' ? 'datasum_bad' : 'datasum_missing'}: ${name(c.hdu)}`);
      if (c.checksum !== 'ok') reasons.push(`checksum.${c.checksum === 'bad' ? 'checksum_bad' : 'checksum_missing'}: ${name(c.hdu)}`);
    }
  } catch (e) {
    reasons.push(`checksum.unreadable: ${(e as Error).message}`);
  }

  // 1. HDU sequence
  if (hdus[0].type !== 'empty') reasons.push(`structure.primary: the primary HDU must hold no data (found ${hdus[0].type} ${hdus[0].shape.join('x')})`);
  TABLE_EXTENSIONS.forEach((ext, k) => {
    const h = hdus[k + 1];
    if (!h) reasons.push(`structure.missing_extension: ${ext} (HDU ${k + 1}) is missing`);
    else if (h.extname?.toUpperCase() !== ext || h.type !== 'bintable') reasons.push(`structure.extension: HDU ${k + 1} must be the ${ext} binary table, found ${h.type} ${h.extname ?? '(no EXTNAME)'}`);
  });
  const images = hdus.slice(TABLE_EXTENSIONS.length + 1);
  const cutoutHdus = images.filter((h) => h.extname?.toUpperCase() === 'CUTOUT');
  const stackHdus = images.filter((h) => h.extname?.toUpperCase() === 'STACK');
  for (const h of images) {
    if (h.type !== 'image' || !['CUTOUT', 'STACK'].includes(h.extname?.toUpperCase() ?? '')) reasons.push(`structure.unexpected_hdu: ${name(h.index)} is a ${h.type}; only CUTOUT or STACK images may follow PROVENANCE`);
    else if (h.shape.length !== 2) reasons.push(`structure.image: ${name(h.index)} has ${h.shape.length} axes, expected 2`);
  }
  if (stackHdus.length && cutoutHdus.length) reasons.push('structure.images: a product holds either one STACK or CUTOUT images, not both');
  if (stackHdus.length > 1) reasons.push(`structure.images: ${stackHdus.length} STACK images, at most 1`);
  if (cutoutHdus.length > MAX_CUTOUTS) reasons.push(`structure.images: ${cutoutHdus.length} CUTOUT images, at most ${MAX_CUTOUTS}`);
  cutoutHdus.forEach((h, i) => {
    if (h.header.getNumber('EXTVER') !== i + 1) reasons.push(`structure.extver: ${name(h.index)} has EXTVER ${JSON.stringify(h.header.get('EXTVER'))}, expected ${i + 1}`);
  });
  summary.nCutouts = cutoutHdus.length;

  // 3. primary keywords
  const p = hdus[0].header;
  for (const spec of PRIMARY_KEYWORDS) checkKeyword(p, spec, 'PRIMARY', reasons);
  const s = (k: string) => p.getString(k);
  const n = (k: string) => p.getNumber(k);
  summary.productId = s('PROD_ID');
  summary.burstId = s('BURST_ID');
  summary.obsId = s('OBS_ID');
  summary.revision = n('REVISION');
  summary.card = s('CARD');
  summary.program = s('PROGRAM');
  summary.prdmVersion = n('PRDM_VER');
  summary.procVersion = s('PROC_VER');
  summary.pipelineVersion = s('PIP_VER');
  summary.date = s('DATE');
  summary.t0 = s('T0');
  summary.epochTime = s('EPOCH_T');
  summary.raObj = n('RA_OBJ');
  summary.decObj = n('DEC_OBJ');
  summary.errRadDeg = n('ERR_RAD');
  summary.nFrames = n('NFRAMES');
  const final = p.getBoolean('FINAL');
  const epochMin = n('EPOCHMIN');
  summary.lastEpochMinutes = epochMin;
  if (final !== undefined && (final || epochMin !== undefined)) summary.epochMinutes = final ? null : epochMin;

  // consistency between keywords
  if (summary.burstId && /^sb\d{8}$/.test(summary.burstId)) {
    const obs = obsIdFor(summary.burstId);
    if (summary.obsId !== undefined && summary.obsId !== obs) reasons.push(`keyword.inconsistent: OBS_ID ${summary.obsId} is not the one of ${summary.burstId} (${obs})`);
    if (summary.productId !== undefined && summary.epochMinutes !== undefined) {
      const pid = productIdFor(summary.burstId, summary.epochMinutes);
      if (pid !== summary.productId) reasons.push(`keyword.inconsistent: PROD_ID ${summary.productId}, expected ${pid} from BURST_ID, EPOCHMIN and FINAL`);
    }
  }
  if (final !== undefined && summary.card && summary.card !== (final ? CARD_FINAL : CARD_EPOCH)) reasons.push(`keyword.inconsistent: CARD ${summary.card} with FINAL = ${final ? 'T' : 'F'}`);
  if (summary.revision !== undefined && summary.procVersion !== undefined && Number(summary.procVersion) !== summary.revision + 1) reasons.push(`keyword.inconsistent: PROC_VER ${summary.procVersion} is not REVISION + 1 (${summary.revision + 1})`);
  const t0ms = summary.t0 ? parseIsoUtc(summary.t0) : NaN;
  const met = n('T0_MET');
  if (Number.isFinite(t0ms) && met !== undefined && Math.abs(svomMet(summary.t0!) - met) > 1e-3) reasons.push(`keyword.inconsistent: T0_MET ${met} is not T0 ${summary.t0} in SVOM time (${svomMet(summary.t0!)})`);
  if (Number.isFinite(t0ms) && epochMin !== undefined && summary.epochTime) {
    const dt = parseIsoUtc(summary.epochTime) - (t0ms + epochMin * 60_000);
    if (!(Math.abs(dt) <= 1000)) reasons.push(`keyword.inconsistent: EPOCH_T ${summary.epochTime} is not T0 + EPOCHMIN`);
  }

  // 4. tables
  const cand = hdus[1]?.extname?.toUpperCase() === 'CANDIDATES' ? checkTable(bytes, 'CANDIDATES', CANDIDATE_COLUMNS, reasons) : null;
  const lc = hdus[2]?.extname?.toUpperCase() === 'LIGHTCURVES' ? checkTable(bytes, 'LIGHTCURVES', LIGHTCURVE_COLUMNS, reasons) : null;
  const prov = hdus[3]?.extname?.toUpperCase() === 'PROVENANCE' ? checkTable(bytes, 'PROVENANCE', PROVENANCE_COLUMNS, reasons) : null;
  if (cand) {
    const c = cand.cols;
    for (let r = 0; r < cand.rows; r++) {
      const fade = num(c, 'FADE_IDX', r);
      summary.candidates.push({
        id: str(c, 'ID', r), ra: num(c, 'RA', r), dec: num(c, 'DEC', r), posErr: num(c, 'POS_ERR', r), mag: num(c, 'MAG', r), magErr: num(c, 'MAG_ERR', r),
        distAlert: num(c, 'DIST_ALERT', r), flags: num(c, 'FLAGS', r), score: num(c, 'SCORE', r), fadeIdx: Number.isNaN(fade) ? null : fade,
      });
    }
    const ids = summary.candidates.map((x) => x.id);
    if (ids.some((x) => !x)) reasons.push('value.empty_id: CANDIDATES.ID has an empty id');
    if (new Set(ids).size !== ids.length) reasons.push('value.duplicate_id: CANDIDATES.ID is not unique');
    if (n('NCAND') !== undefined && n('NCAND') !== cand.rows) reasons.push(`keyword.inconsistent: NCAND ${n('NCAND')} but CANDIDATES has ${cand.rows} rows`);
  }
  if (lc) {
    const c = lc.cols;
    for (let r = 0; r < lc.rows; r++) summary.points.push({ candId: str(c, 'CAND_ID', r), frameId: str(c, 'FRAME_ID', r), tT0: num(c, 'T_T0', r), mag: num(c, 'MAG', r), magErr: num(c, 'MAG_ERR', r) });
    if (n('NLCPTS') !== undefined && n('NLCPTS') !== lc.rows) reasons.push(`keyword.inconsistent: NLCPTS ${n('NLCPTS')} but LIGHTCURVES has ${lc.rows} rows`);
    if (cand) {
      const ids = new Set(summary.candidates.map((x) => x.id));
      const unknown = [...new Set(summary.points.map((x) => x.candId).filter((x) => !ids.has(x)))];
      if (unknown.length) reasons.push(`value.unknown_candidate: LIGHTCURVES.CAND_ID not in CANDIDATES: ${unknown.slice(0, 5).join(', ')}`);
    }
    const pairs = summary.points.map((x) => `${x.candId}\u0000${x.frameId}`);
    if (new Set(pairs).size !== pairs.length) reasons.push('value.duplicate_point: LIGHTCURVES has two points of one candidate on one frame');
  }
  if (prov) {
    const c = prov.cols;
    for (let r = 0; r < prov.rows; r++) summary.provenance.push({ kind: str(c, 'KIND', r), id: str(c, 'ID', r), sha256: str(c, 'SHA256', r) });
    const badKind = summary.provenance.filter((x) => !(PROVENANCE_KINDS as readonly string[]).includes(x.kind));
    if (badKind.length) reasons.push(`value.provenance_kind: PROVENANCE.KIND '${badKind[0].kind}' not one of ${PROVENANCE_KINDS.join(', ')}`);
    const badSha = summary.provenance.filter((x) => x.sha256 !== '' && !SHA256_RE.test(x.sha256));
    if (badSha.length) reasons.push(`value.provenance_sha256: PROVENANCE.SHA256 of ${badSha[0].kind} ${badSha[0].id} is not a sha256`);
    const frames = summary.provenance.filter((x) => x.kind === 'frame');
    if (summary.nFrames !== undefined && frames.length !== summary.nFrames) reasons.push(`keyword.inconsistent: NFRAMES ${summary.nFrames} but PROVENANCE lists ${frames.length} frames`);
    if (lc) {
      const known = new Set(frames.map((x) => x.id));
      const unknown = [...new Set(summary.points.map((x) => x.frameId).filter((x) => !known.has(x)))];
      if (unknown.length) reasons.push(`value.unknown_frame: LIGHTCURVES.FRAME_ID not in PROVENANCE: ${unknown.slice(0, 5).join(', ')}`);
    }
  }
  if (n('NCUTOUT') !== undefined && n('NCUTOUT') !== cutoutHdus.length) reasons.push(`keyword.inconsistent: NCUTOUT ${n('NCUTOUT')} but the file has ${cutoutHdus.length} CUTOUT images`);

  // 5. WCS of the images
  const candById = new Map(summary.candidates.map((x) => [x.id, x]));
  for (const h of [...cutoutHdus, ...stackHdus]) {
    const where = name(h.index);
    const c1 = h.header.getString('CTYPE1')?.trim();
    const c2 = h.header.getString('CTYPE2')?.trim();
    if (c1 !== 'RA---TAN' || c2 !== 'DEC--TAN') {
      reasons.push(`wcs.ctype: ${where} CTYPE1/2 = ${c1 ?? 'missing'}/${c2 ?? 'missing'}, expected RA---TAN/DEC--TAN`);
      continue;
    }
    for (const k of ['CRVAL1', 'CRVAL2', 'CRPIX1', 'CRPIX2', 'CD1_1', 'CD1_2', 'CD2_1', 'CD2_2']) {
      if (h.header.getNumber(k) === undefined) reasons.push(`wcs.missing: ${where} ${k}`);
    }
    const { wcs, notes } = wcsFromHeader(h.header);
    if (!wcs) {
      reasons.push(`wcs.invalid: ${where}: ${notes.join('; ')}`);
      continue;
    }
    if (!(wcs.crval1 >= 0 && wcs.crval1 < 360) || !(wcs.crval2 >= -90 && wcs.crval2 <= 90)) reasons.push(`wcs.range: ${where} CRVAL ${wcs.crval1}, ${wcs.crval2} is not a sky position`);
    const scale = pixelScaleArcsec(wcs);
    if (!(scale >= PIXEL_SCALE_RANGE[0] && scale <= PIXEL_SCALE_RANGE[1])) reasons.push(`wcs.scale: ${where} pixel scale ${scale.toPrecision(3)}"/px outside [${PIXEL_SCALE_RANGE.join(', ')}]`);
    if (h.extname?.toUpperCase() === 'CUTOUT') {
      const id = h.header.getString('CAND_ID')?.trim();
      const cnd = id !== undefined ? candById.get(id) : undefined;
      if (!cnd) {
        reasons.push(`value.unknown_candidate: ${where} CAND_ID ${id === undefined ? 'missing' : `'${id}' not in CANDIDATES`}`);
        continue;
      }
      const [x, y] = skyToPix(wcs, cnd.ra, cnd.dec);
      const [w, ht] = h.shape;
      if (!(x >= -0.5 && x <= w - 0.5 && y >= -0.5 && y <= ht - 0.5)) reasons.push(`wcs.off_image: ${where}: candidate ${id} maps to pixel (${x.toFixed(1)}, ${y.toFixed(1)}), outside ${w}x${ht}`);
    }
  }

  // 6. the announcement
  if (expect.productId !== undefined && summary.productId !== undefined && expect.productId !== summary.productId) reasons.push(`announcement.mismatch: key ${expect.productId} but PROD_ID ${summary.productId}`);
  if (expect.burstId !== undefined && summary.burstId !== undefined && expect.burstId !== summary.burstId) reasons.push(`announcement.mismatch: burstId ${expect.burstId} but BURST_ID ${summary.burstId}`);
  if (expect.obsId !== undefined && summary.obsId !== undefined && expect.obsId !== summary.obsId) reasons.push(`announcement.mismatch: obsId ${expect.obsId} but OBS_ID ${summary.obsId}`);
  if (expect.revision !== undefined && summary.revision !== undefined && expect.revision !== summary.revision) reasons.push(`announcement.mismatch: revision ${expect.revision} but REVISION ${summary.revision}`);
  if (expect.epochMinutes !== undefined && summary.epochMinutes !== undefined && expect.epochMinutes !== summary.epochMinutes) reasons.push(`announcement.mismatch: epochMinutes ${expect.epochMinutes} but the file says ${summary.epochMinutes === null ? 'FINAL' : summary.epochMinutes}`);
  return done();
}
