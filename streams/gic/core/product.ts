/**
 * The GIC product builder: a GP1 candidate list (+ the burst reference, pixels, provenance) → one
 * FITS file following the data model 1.005 (streams/gic/core/dataModel.ts, docs/data-model-1.005.md).
 *
 * Pure and deterministic: no clock, no I/O. Every time in the file comes from the inputs (T0, the
 * epoch time of the candidate list); DATE defaults to the epoch time too, so building the same
 * product again (a replay, a redelivery) gives byte-identical files and the same sha256 in
 * content-addressed storage. Callers that want a wall-clock DATE pass `date`.
 *
 * Layout: primary (header only, product keywords) · CANDIDATES · LIGHTCURVES · PROVENANCE ·
 * CUTOUT × NCUTOUT (or one STACK); CHECKSUM/DATASUM in every HDU.
 *
 * Throws `ProductInputError` (non-retriable) when the inputs cannot make a valid file (a string too
 * long for its column, a non-SVOM burst id, a non-finite position…). Value ranges are not judged
 * here: that is the FSC validator's job, and the tests feed it out-of-range products built here.
 */
import { writeFits, type FitsCard, type ImageInput, type TableInput } from '../../../lib/fits/index.ts';
import { wcsCards, type TanWcs } from '../../../lib/wcs/index.ts';
import { headerOnlyPrimary, withPrimary } from './fitsPrimary.ts';
import type { Cutout } from './cutouts.ts';
import {
  BURST_ID_RE, CARD_EPOCH, CARD_FINAL, FRAME_ID_WIDTH, ID_WIDTH, MAX_CUTOUTS, MJDREFF, MJDREFI, PRDM_VERSION, PROV_ID_WIDTH,
  fitsDate, obsIdFor, parseIsoUtc, productIdFor, svomMet,
} from './dataModel.ts';

export class ProductInputError extends Error {
  readonly retriable = false;
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ProductInputError';
  }
}

/** org.gft.gp1.CandidateList as decoded by the runtime. */
export interface LightCurvePointValue { frameId: string; tSinceT0: number; mag: number; magErr: number; /** a faint bound (GP1 candidate lists ≥ the saturated flag); absent = false */ saturated?: boolean }
export interface CandidateValue {
  id: string; ra: number; dec: number; posErrArcsec: number; mag: number; magErr: number; distanceArcsec: number;
  fadingIndex: number | null; flags: number; score: number; lightCurve: LightCurvePointValue[];
}
export interface CandidateListValue {
  burstId: string; epochMinutes: number; epochTime: string; revision: number; frames: string[];
  zeroPoint: number | null; limitingMag: number | null; candidates: CandidateValue[];
  baseFile: { uri: string; sha256: string; size: number; kind: string } | null;
  /** Stored files of the frames (GP1 lists since frameRefs; older lists: absent or empty). */
  frameRefs?: { frameId: string; calibrated: StoredRef; raw: StoredRef | null }[];
}

type StoredRef = { uri: string; sha256: string; size: number; kind: string };

export interface ReferenceInfo {
  burstId: string;
  /** ISO 8601 UTC (zone letter optional). */
  t0: string;
  ra: number;
  dec: number;
  /** Degrees; null or ≤ 0 = unknown (written as -1). */
  errorRadiusDeg: number | null;
  version?: number;
}

export interface ProvenanceInput {
  /** Calibrated frames used (one per frame id of the list); sha256 of the file in storage, '' if unknown. */
  frames: { id: string; sha256: string; rawSha256?: string }[];
  masters: { id: string; sha256: string; kind?: 'bias' | 'dark' | 'flat' | 'master' }[];
  /** Software name and version, e.g. 'gft-gic 0.1.0'. */
  software: string;
  basefile?: { id: string; sha256: string } | null;
  reference?: { id: string; sha256: string } | null;
}

export interface StackInput {
  width: number;
  height: number;
  data: Float32Array;
  wcs: TanWcs;
  frames?: number;
  bunit?: string;
}

export interface ProductInput {
  candidateList: CandidateListValue;
  reference: ReferenceInfo;
  /** null: the final product of the burst (built from the list of its last epoch). */
  epochMinutes: number | null;
  /** Event time of the product (the list's epochTime). */
  createdAt: string;
  provenance: ProvenanceInput;
  stack?: StackInput;
  cutouts?: Cutout[];
  /** DATE keyword (ISO UTC); default: createdAt. */
  date?: string;
  program?: 'CP' | 'GP' | 'TOO';
  origin?: string;
  /** major.minor.patch */
  pipelineVersion?: string;
}

export interface ProductSummary {
  productId: string;
  burstId: string;
  obsId: string;
  epochMinutes: number | null;
  revision: number;
  card: string;
  /** Event time of the product, ms since 1970. */
  createdAtMs: number;
  nCandidates: number;
  nPoints: number;
  nCutouts: number;
  header: Record<string, string | number | boolean>;
}

export interface BuiltProduct extends ProductSummary {
  bytes: Buffer;
}

function need(cond: unknown, code: string, msg: string): asserts cond {
  if (!cond) throw new ProductInputError(code, msg);
}

function fitsText(s: string, width: number, what: string): string {
  need(s.length <= width, 'gic.value_too_long', `${what} '${s}' is longer than ${width} characters`);
  need(/^[\x20-\x7e]*$/.test(s), 'gic.non_ascii', `${what} '${s}' is not printable ASCII`);
  return s;
}

function isoDate(iso: string, what: string): string {
  const ms = parseIsoUtc(iso);
  need(Number.isFinite(ms), 'gic.bad_date', `${what} '${iso}' is not an ISO 8601 date`);
  return fitsDate(ms);
}

const nanIfNull = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);

function wcsFitsCards(w: TanWcs): FitsCard[] {
  return wcsCards(w).map(([key, value, comment]) => (comment ? { key, value, comment } : { key, value }));
}

export function buildProduct(input: ProductInput): BuiltProduct {
  const list = input.candidateList;
  const ref = input.reference;
  need(BURST_ID_RE.test(list.burstId), 'gic.bad_burst_id', `burst id '${list.burstId}' is not a SVOM burst id (sbYYMMDDnn)`);
  need(ref.burstId === list.burstId, 'gic.reference_mismatch', `reference of ${ref.burstId} given for a list of ${list.burstId}`);
  need(Number.isFinite(ref.ra) && Number.isFinite(ref.dec), 'gic.bad_position', `alert position ${ref.ra}, ${ref.dec} is not finite`);
  const final = input.epochMinutes === null;
  need(final || input.epochMinutes === list.epochMinutes, 'gic.epoch_mismatch', `epoch ${input.epochMinutes} given for a list at ${list.epochMinutes} min`);
  const burstId = list.burstId;
  const obsId = obsIdFor(burstId);
  const productId = productIdFor(burstId, input.epochMinutes);
  const t0 = isoDate(ref.t0, 'T0');
  const epochT = isoDate(list.epochTime, 'epoch time');
  const created = isoDate(input.createdAt, 'createdAt');
  const date = input.date ? isoDate(input.date, 'DATE').slice(0, 19) : created.slice(0, 19);
  const card = final ? CARD_FINAL : CARD_EPOCH;
  const cands = list.candidates;
  // measurements only: a saturated point is a bound, not a magnitude (the candidate's FLAGS bit 64 says so)
  const points = cands.flatMap((c) => c.lightCurve.filter((p) => !p.saturated).map((p) => ({ id: c.id, ...p })));
  const cutouts = input.stack ? [] : (input.cutouts ?? []);
  need(cutouts.length <= MAX_CUTOUTS, 'gic.too_many_cutouts', `${cutouts.length} cut-outs, at most ${MAX_CUTOUTS}`);
  const errRad = ref.errorRadiusDeg !== null && ref.errorRadiusDeg > 0 ? ref.errorRadiusDeg : -1;
  const software = input.provenance.software;
  const pipVer = input.pipelineVersion ?? (/(\d+\.\d+\.\d+)/.exec(software)?.[1] ?? '0.0.0');

  const primary: FitsCard[] = [
    { key: 'ORIGIN', value: input.origin ?? 'SVOM GFT-FGFT (COLIBRI)', comment: 'institution that wrote the file' },
    { key: 'TELESCOP', value: 'COLIBRI', comment: 'telescope' },
    { key: 'INSTRUME', value: 'FGFT', comment: 'French ground follow-up telescope' },
    { key: 'CREATOR', value: software, comment: 'software that wrote the file' },
    { key: 'CARD', value: card, comment: 'product card' },
    { key: 'PROGRAM', value: input.program ?? 'CP', comment: 'SVOM observing program' },
    { key: 'PRDM_VER', value: PRDM_VERSION, comment: 'product data model version' },
    { key: 'PROC_VER', value: String(list.revision + 1).padStart(2, '0'), comment: 'processing version (revision + 1)' },
    { key: 'PIP_VER', value: pipVer, comment: 'pipeline version' },
    { key: 'DSTREAM', value: 'GFT', comment: 'SVOM data stream' },
    { key: 'DATE', value: date, comment: 'file creation date (UTC)' },
    { key: 'TIMESYS', value: 'UTC', comment: 'time scale of the date strings' },
    { key: 'TIMEUNIT', value: 's', comment: 'unit of time values' },
    { key: 'MJDREFI', value: MJDREFI, comment: '[d] SVOM reference MJD (TT), integer part' },
    { key: 'MJDREFF', value: MJDREFF, comment: '[d] 2017-01-01T00:00:00 UTC in TT, fraction' },
    { key: 'PROD_ID', value: productId, comment: 'product id' },
    { key: 'BURST_ID', value: burstId, comment: 'SVOM burst id' },
    { key: 'OBS_ID', value: obsId, comment: 'observation id' },
    { key: 'T0', value: t0, comment: 'trigger time (UTC)' },
    { key: 'T0_MET', value: svomMet(t0), comment: '[s] T0 since 2017-01-01T00:00:00 UTC' },
    { key: 'EPOCHMIN', value: list.epochMinutes, comment: '[min] epoch after T0 of the candidate list' },
    { key: 'FINAL', value: final, comment: 'final product of the burst' },
    { key: 'EPOCH_T', value: epochT, comment: 'T0 + EPOCHMIN (UTC)' },
    { key: 'REVISION', value: list.revision, comment: 'candidate-list revision' },
    { key: 'RADESYS', value: 'ICRS', comment: 'reference frame' },
    { key: 'RA_OBJ', value: ref.ra, comment: '[deg] alert right ascension' },
    { key: 'DEC_OBJ', value: ref.dec, comment: '[deg] alert declination' },
    { key: 'ERR_RAD', value: errRad, comment: '[deg] alert error radius (-1 unknown)' },
    ...(ref.version !== undefined ? [{ key: 'REF_VER', value: ref.version, comment: 'reference file version' }] : []),
    { key: 'NFRAMES', value: list.frames.length, comment: 'frames used' },
    { key: 'NCAND', value: cands.length, comment: 'candidates' },
    { key: 'NLCPTS', value: points.length, comment: 'light-curve points' },
    { key: 'NCUTOUT', value: cutouts.length, comment: 'CUTOUT image extensions' },
    ...(list.zeroPoint !== null && Number.isFinite(list.zeroPoint) ? [{ key: 'ZEROPT', value: list.zeroPoint, comment: '[mag] zero point, last frame' }] : []),
    ...(list.limitingMag !== null && Number.isFinite(list.limitingMag) ? [{ key: 'LIMMAG', value: list.limitingMag, comment: '[mag] 5-sigma limit, last frame' }] : []),
    { key: 'COMMENT', value: 'GFT-FGFT product, data model 1.005 (docs/data-model-1.005.md)' },
    { key: 'COMMENT', value: 'MJDREFI+MJDREFF: SVOM epoch 2017-01-01T00:00:00 UTC as an MJD in TT' },
  ];

  const idCol = (ids: string[], what: string) => ids.map((s) => fitsText(s, ID_WIDTH, what));
  for (const c of cands) {
    for (const [k, v] of Object.entries({ ra: c.ra, dec: c.dec, mag: c.mag })) need(Number.isFinite(v), 'gic.non_finite', `candidate ${c.id}: ${k} = ${v}`);
  }
  const tables: TableInput[] = [
    {
      kind: 'table', extname: 'CANDIDATES',
      cards: [{ key: 'BURST_ID', value: burstId }, { key: 'PROD_ID', value: productId }],
      columns: [
        { name: 'ID', format: `${ID_WIDTH}A`, values: idCol(cands.map((c) => c.id), 'candidate id') },
        { name: 'RA', format: 'D', unit: 'deg', values: cands.map((c) => c.ra) },
        { name: 'DEC', format: 'D', unit: 'deg', values: cands.map((c) => c.dec) },
        { name: 'POS_ERR', format: 'E', unit: 'arcsec', values: cands.map((c) => c.posErrArcsec) },
        { name: 'MAG', format: 'D', unit: 'mag', values: cands.map((c) => c.mag) },
        { name: 'MAG_ERR', format: 'E', unit: 'mag', values: cands.map((c) => c.magErr) },
        { name: 'DIST_ALERT', format: 'E', unit: 'arcsec', values: cands.map((c) => c.distanceArcsec) },
        { name: 'FLAGS', format: 'J', values: cands.map((c) => c.flags) },
        { name: 'SCORE', format: 'E', values: cands.map((c) => c.score) },
        { name: 'FADE_IDX', format: 'E', values: cands.map((c) => nanIfNull(c.fadingIndex)) },
      ],
    },
    {
      kind: 'table', extname: 'LIGHTCURVES',
      cards: [{ key: 'BURST_ID', value: burstId }, { key: 'PROD_ID', value: productId }],
      columns: [
        { name: 'CAND_ID', format: `${ID_WIDTH}A`, values: idCol(points.map((p) => p.id), 'candidate id') },
        { name: 'FRAME_ID', format: `${FRAME_ID_WIDTH}A`, values: points.map((p) => fitsText(p.frameId, FRAME_ID_WIDTH, 'frame id')) },
        { name: 'T_T0', format: 'D', unit: 's', values: points.map((p) => p.tSinceT0) },
        { name: 'MAG', format: 'D', unit: 'mag', values: points.map((p) => p.mag) },
        { name: 'MAG_ERR', format: 'E', unit: 'mag', values: points.map((p) => p.magErr) },
      ],
    },
  ];

  const prov: { kind: string; id: string; sha256: string }[] = [];
  const frames = new Map(input.provenance.frames.map((f) => [f.id, f]));
  for (const id of list.frames) {
    const f = frames.get(id);
    prov.push({ kind: 'frame', id, sha256: f?.sha256 ?? '' });
    if (f?.rawSha256) prov.push({ kind: 'raw', id, sha256: f.rawSha256 });
  }
  for (const m of input.provenance.masters) prov.push({ kind: m.kind ?? 'master', id: m.id, sha256: m.sha256 });
  if (input.provenance.basefile) prov.push({ kind: 'basefile', ...input.provenance.basefile });
  if (input.provenance.reference) prov.push({ kind: 'reference', ...input.provenance.reference });
  for (const p of prov) need(p.sha256 === '' || /^[0-9a-f]{64}$/.test(p.sha256), 'gic.bad_sha256', `provenance ${p.kind} ${p.id}: '${p.sha256}' is not a sha256`);
  tables.push({
    kind: 'table', extname: 'PROVENANCE',
    cards: [
      { key: 'SOFTWARE', value: software, comment: 'software that built the product' },
      { key: 'PIP_VER', value: pipVer, comment: 'pipeline version' },
    ],
    columns: [
      { name: 'KIND', format: '16A', values: prov.map((p) => p.kind) },
      { name: 'ID', format: `${PROV_ID_WIDTH}A`, values: prov.map((p) => fitsText(p.id, PROV_ID_WIDTH, 'provenance id')) },
      { name: 'SHA256', format: '64A', values: prov.map((p) => p.sha256) },
    ],
  });

  const images: ImageInput[] = [];
  if (input.stack) {
    const s = input.stack;
    images.push({
      kind: 'image', bitpix: -32, width: s.width, height: s.height, data: s.data, extname: 'STACK',
      cards: [{ key: 'BUNIT', value: s.bunit ?? 'counts/s' }, ...(s.frames !== undefined ? [{ key: 'NCOMBINE', value: s.frames, comment: 'frames stacked' }] : []), ...wcsFitsCards(s.wcs)],
    });
  }
  cutouts.forEach((c, i) => {
    images.push({
      kind: 'image', bitpix: -32, width: c.width, height: c.height, data: c.data, extname: 'CUTOUT',
      cards: [
        { key: 'EXTVER', value: i + 1, comment: 'cut-out number' },
        { key: 'CAND_ID', value: fitsText(c.candId, ID_WIDTH, 'candidate id'), comment: 'candidate at the centre' },
        ...(c.frameId ? [{ key: 'FRAME_ID', value: fitsText(c.frameId, FRAME_ID_WIDTH, 'frame id'), comment: 'frame cut from' }] : []),
        { key: 'X0', value: c.x0, comment: '0-based column of pixel (0,0) in the frame' },
        { key: 'Y0', value: c.y0, comment: '0-based row of pixel (0,0) in the frame' },
        { key: 'BUNIT', value: 'counts/s' },
        ...wcsFitsCards(c.wcs),
      ],
    });
  });

  const bytes = withPrimary(headerOnlyPrimary(primary), writeFits([...tables, ...images]));
  const header: Record<string, string | number | boolean> = {};
  for (const c of primary) if (c.key !== 'COMMENT' && c.value !== undefined && c.value !== null) header[c.key] = c.value;
  return {
    productId, burstId, obsId, epochMinutes: input.epochMinutes, revision: list.revision, card,
    createdAtMs: parseIsoUtc(input.createdAt), nCandidates: cands.length, nPoints: points.length, nCutouts: cutouts.length, header, bytes,
  };
}
