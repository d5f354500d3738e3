/**
 * SDB writer and queries. `insertProduct` writes one validated product idempotently: the same
 * product delivered again (redelivery, replay) upserts onto the same rows (see migrations.ts), and
 * every row carries `version` = `receivedMs`, the time the FSC processed it: of two writes of the
 * same identity the later processing wins, in FINAL and in merges alike.
 * Candidate and light-curve rows are written before the products row, so a visible products row
 * means its candidates are there. Values reach SQL only through connectors/clickhouse/sql.ts;
 * inserts are JSONEachRow with every column present (18.16 gives omitted columns zero values).
 *
 * Throws what the ClickHouse client throws: unreachable server → retriable (the runner retries).
 */
import { field, loadConfig } from '../../lib/config/define.ts';
import { platformConfig, type PlatformConfig } from '../../lib/config/platform.ts';
import { ClickHouse } from '../clickhouse/client.ts';
import { ident, sql } from '../clickhouse/sql.ts';
import type { ProductContent } from '../../lib/products/content.ts';

export const sdbSchema = {
  database: field<string>({ env: 'GFT_SDB_DATABASE', type: 'string', doc: 'ClickHouse database of the SDB (products, candidates, light-curve points)', default: 'sdb' }),
};

export function sdbConfig(env: Record<string, string | undefined> = process.env) {
  return loadConfig(sdbSchema, env);
}

/** A ClickHouse client on the SDB database. */
export function sdbClient(database = sdbConfig().database, cfg: PlatformConfig = platformConfig()): ClickHouse {
  return new ClickHouse(cfg, { database });
}

export interface ValidatedProduct {
  productId: string;
  burstId: string;
  obsId: string;
  /** null: final product */
  epochMinutes: number | null;
  revision: number;
  sha256: string;
  size: number;
  storageUri: string;
  status: 'accepted' | 'rejected';
  reasons: string[];
  /** What the validator read from the file (partial for a broken file). */
  content: ProductContent;
  /** Event time of the product (the announcement's createdAt), ms. */
  createdAtMs: number;
  /**
   * When the FSC processed it (ms): the rows' `received` and their `version` (a redelivery replaces
   * the rows, it never adds any; the latest processing is the one kept).
   */
  receivedMs: number;
}

export interface RowCounts {
  products: number;
  candidates: number;
  points: number;
}

const secs = (ms: number) => (Number.isFinite(ms) ? Math.max(0, Math.floor(ms / 1000)) : 0);
const isoMs = (iso: string | undefined) => (iso ? Date.parse(/[zZ]$/.test(iso) ? iso : `${iso}Z`) : NaN);
const finiteOr = (x: number | undefined, d: number) => (x !== undefined && Number.isFinite(x) ? x : d);

/** Writes the rows of one product; returns how many rows it wrote (products + candidates + points). */
export async function insertProduct(ch: ClickHouse, p: ValidatedProduct): Promise<number> {
  const c = p.content;
  const t0Ms = isoMs(c.t0);
  const t0 = Number.isFinite(t0Ms) ? t0Ms : p.createdAtMs; // unreadable file: partition by event time
  const epoch = p.epochMinutes === null ? 'FINAL' : String(p.epochMinutes);
  const keys = { product_id: p.productId, revision: p.revision };
  const version = Number.isFinite(p.receivedMs) && p.receivedMs > 0 ? Math.floor(p.receivedMs) : Date.now();
  const accepted = p.status === 'accepted';
  const cands = accepted
    ? c.candidates.map((x) => ({
        ...keys, cand_id: x.id, burst_id: p.burstId, obs_id: p.obsId, epoch, t0: secs(t0), sha256: p.sha256,
        ra: x.ra, dec: x.dec, pos_err: x.posErr, mag: x.mag, mag_err: x.magErr, dist_alert: x.distAlert, flags: x.flags, score: x.score,
        fade_idx: x.fadeIdx === null || !Number.isFinite(x.fadeIdx) ? null : x.fadeIdx, version,
      }))
    : [];
  const points = accepted
    ? c.points.map((x) => ({ ...keys, cand_id: x.candId, frame_id: x.frameId, burst_id: p.burstId, t0: secs(t0), sha256: p.sha256, t_t0: x.tT0, mag: x.mag, mag_err: x.magErr, version }))
    : [];
  await Promise.all([ch.insert('candidates', cands), ch.insert('lightcurve_points', points)]);
  await ch.insert('products', [
    {
      ...keys, burst_id: p.burstId, obs_id: p.obsId, epoch, epoch_minutes: p.epochMinutes, sha256: p.sha256, size: p.size, storage_uri: p.storageUri,
      status: p.status, reasons: p.reasons, card: c.card ?? '', prdm_ver: c.prdmVersion !== undefined ? String(c.prdmVersion) : '', proc_ver: c.procVersion ?? '',
      pip_ver: c.pipelineVersion ?? '', program: c.program ?? '', t0: secs(t0), t0_ms: Number.isFinite(t0) ? Math.round(t0) % 1000 : 0,
      epoch_time: secs(isoMs(c.epochTime)), created_at: secs(p.createdAtMs), date: c.date ?? '',
      ra_obj: finiteOr(c.raObj, 0), dec_obj: finiteOr(c.decObj, 0), err_rad: finiteOr(c.errRadDeg, -1),
      n_frames: finiteOr(c.nFrames, 0), n_candidates: c.candidates.length, n_points: c.points.length, n_cutouts: c.nCutouts, received: secs(version),
      version,
    },
  ]);
  return 1 + cands.length + points.length;
}

const tbl = (ch: ClickHouse, name: string) => ident(`${ch.database}.${name}`);

/** Rows held for one product id (all revisions), deduplicated (FINAL). */
export async function countRows(ch: ClickHouse, productId: string): Promise<RowCounts> {
  const one = async (table: string) =>
    Number((await ch.query<{ n: string }>(sql`SELECT count() AS n FROM ${tbl(ch, table)} FINAL WHERE product_id = ${productId}`))[0]?.n ?? 0);
  const [products, candidates, points] = await Promise.all([one('products'), one('candidates'), one('lightcurve_points')]);
  return { products, candidates, points };
}

export interface ProductRow {
  product_id: string; burst_id: string; obs_id: string; epoch: string; epoch_minutes: number | null; revision: number; sha256: string; size: string;
  storage_uri: string; status: 'accepted' | 'rejected'; reasons: string[]; n_candidates: number; n_points: number; t0: string; received: string;
}

/** Products rows (FINAL) of a burst, or of one product id. */
export async function products(ch: ClickHouse, where: { burstId?: string; productId?: string }): Promise<ProductRow[]> {
  const cond = where.productId !== undefined ? sql`product_id = ${where.productId}` : sql`burst_id = ${where.burstId ?? ''}`;
  return ch.query<ProductRow>(sql`SELECT * FROM ${tbl(ch, 'products')} FINAL WHERE ${cond} ORDER BY product_id, revision, sha256`);
}

/** The current candidates of a burst: per product, those of its highest accepted revision. */
export async function currentCandidates(ch: ClickHouse, burstId: string): Promise<Record<string, unknown>[]> {
  return ch.query(sql`
    SELECT * FROM ${tbl(ch, 'candidates')} FINAL
    WHERE burst_id = ${burstId} AND (product_id, revision) IN (
      SELECT product_id, max(revision) FROM ${tbl(ch, 'products')} FINAL WHERE burst_id = ${burstId} AND status = ${'accepted'} GROUP BY product_id)
    ORDER BY product_id, cand_id`);
}
