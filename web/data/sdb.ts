/**
 * Read side of the SDB (ClickHouse database `sdb`, written by the FSC Colibri-interface): products,
 * candidates, light-curve points. The web pages only read it, and adapt to its columns: the table
 * layout is looked up once in `system.columns`, and each field the pages need is taken from the first
 * column that exists among a few spellings (snake_case as the FSC writes it, camelCase as in the Avro
 * contracts). A missing database or table gives an empty page with a note, never an error page.
 * Identifiers go through ident(), values through sql``.
 */
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { ident, join, raw, sql, type Sql } from '../../connectors/clickhouse/sql.ts';
import { chTime } from './telemetry.ts';

const FIELDS = {
  products: {
    productId: ['product_id', 'productId', 'id'],
    burstId: ['burst_id', 'burstId'],
    obsId: ['obs_id', 'obsId'],
    epochMinutes: ['epoch_minutes', 'epochMinutes', 'epoch'],
    revision: ['revision'],
    card: ['card'],
    prdmVersion: ['prdm_version', 'prdm_ver', 'prdmVersion'],
    createdAt: ['created_at', 'createdAt', 'inserted_at', 'received_at', 'created', 'time'],
    candidates: ['candidates', 'n_candidates', 'candidate_count'],
    storageUri: ['storage_uri', 'uri', 'storageUri', 'file_uri'],
    sha256: ['sha256', 'storage_sha256', 'storageSha256'],
    size: ['size', 'storage_size', 'bytes', 'file_size'],
    status: ['status', 'fsc_status'],
    reasons: ['reasons'],
    t0: ['t0', 'T0', 'burst_t0'],
  },
  candidates: {
    productId: ['product_id', 'productId'],
    revision: ['revision'],
    burstId: ['burst_id', 'burstId'],
    candidateId: ['cand_id', 'candidate_id', 'candidateId', 'id'],
    epochMinutes: ['epoch_minutes', 'epochMinutes'],
    ra: ['ra'],
    dec: ['dec'],
    posErrArcsec: ['pos_err_arcsec', 'pos_err', 'posErrArcsec'],
    mag: ['mag'],
    magErr: ['mag_err', 'magErr'],
    distanceArcsec: ['dist_alert', 'distance_arcsec', 'distance', 'distanceArcsec'],
    fadingIndex: ['fade_idx', 'fading_index', 'fadingIndex'],
    flags: ['flags'],
    score: ['score'],
  },
  lightcurve_points: {
    productId: ['product_id', 'productId'],
    revision: ['revision'],
    burstId: ['burst_id', 'burstId'],
    candidateId: ['cand_id', 'candidate_id', 'candidateId'],
    frameId: ['frame_id', 'frameId'],
    tSinceT0: ['t_t0', 't_since_t0', 'tSinceT0', 't'],
    mag: ['mag'],
    magErr: ['mag_err', 'magErr'],
  },
} as const;

type TableName = keyof typeof FIELDS;
type FieldsOf<T extends TableName> = keyof (typeof FIELDS)[T];

export interface Product {
  productId: string;
  burstId: string;
  obsId: string;
  epochMinutes: number | null;
  revision: number;
  card: string;
  prdmVersion: string;
  createdAt: number | null;
  candidates: number | null;
  storageUri: string;
  sha256: string;
  size: number | null;
  status: string;
  reasons: string[];
}

export interface Candidate {
  productId: string;
  burstId: string;
  candidateId: string;
  epochMinutes: number | null;
  ra: number;
  dec: number;
  posErrArcsec: number | null;
  mag: number;
  magErr: number | null;
  distanceArcsec: number | null;
  fadingIndex: number | null;
  flags: number | null;
  score: number | null;
}

export interface LightCurvePoint {
  candidateId: string;
  frameId: string;
  tSinceT0: number;
  mag: number;
  magErr: number;
}

interface Layout {
  table: Sql;
  final: boolean;
  cols: Map<string, string>; // field → column
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

function timeOf(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v > 1e11 ? v : v * 1000;
  const s = String(v);
  if (/^\d+$/.test(s)) return Number(s) > 1e11 ? Number(s) : Number(s) * 1000;
  const t = chTime(s.slice(0, 19));
  return Number.isFinite(t) ? t : null;
}

export class SdbQueries {
  private layouts?: Promise<Partial<Record<TableName, Layout>>>;
  private layoutAt = 0;

  constructor(
    readonly ch: ClickHouse,
    readonly database = 'sdb',
  ) {}

  /** Looks the tables up (cached 30 s, so a database created after the server started is found). */
  private layout(): Promise<Partial<Record<TableName, Layout>>> {
    if (!this.layouts || Date.now() - this.layoutAt > 30_000) {
      this.layoutAt = Date.now();
      this.layouts = this.loadLayout().catch((e) => {
        this.layouts = undefined;
        throw e;
      });
    }
    return this.layouts;
  }

  private async loadLayout(): Promise<Partial<Record<TableName, Layout>>> {
    const names = Object.keys(FIELDS) as TableName[];
    const cols = await this.ch.query<{ table: string; name: string }>(
      sql`SELECT table, name FROM system.columns WHERE database = ${this.database} AND table IN (${join(names.map((n) => sql`${n}`))})`,
    );
    const engines = await this.ch.query<{ name: string; engine: string }>(
      sql`SELECT name, engine FROM system.tables WHERE database = ${this.database} AND name IN (${join(names.map((n) => sql`${n}`))})`,
    );
    const out: Partial<Record<TableName, Layout>> = {};
    for (const tn of names) {
      const present = new Set(cols.filter((c) => c.table === tn).map((c) => c.name));
      if (!present.size) continue;
      const map = new Map<string, string>();
      for (const [field, spellings] of Object.entries(FIELDS[tn])) {
        const c = (spellings as readonly string[]).find((s) => present.has(s));
        if (c) map.set(field, c);
      }
      const engine = engines.find((e) => e.name === tn)?.engine ?? '';
      out[tn] = { table: ident(`${this.database}.${tn}`), final: /Replacing|Collapsing/.test(engine), cols: map };
    }
    return out;
  }

  /** Whether the SDB tables exist (for the empty-state note). */
  async available(): Promise<{ products: boolean; candidates: boolean; lightcurve: boolean }> {
    const l = await this.layout();
    return { products: !!l.products?.cols.get('productId'), candidates: !!l.candidates?.cols.get('candidateId'), lightcurve: !!l.lightcurve_points?.cols.get('tSinceT0') };
  }

  private select<T extends TableName>(l: Layout, fields: FieldsOf<T>[]): { list: Sql; present: string[] } {
    const present = fields.map(String).filter((f) => l.cols.has(f));
    return { list: join(present.map((f) => raw(`${ident(l.cols.get(f)!)} AS ${ident(f)}`))), present };
  }

  private col(l: Layout, field: string): Sql {
    return ident(l.cols.get(field)!);
  }

  private from(l: Layout): Sql {
    return l.final ? raw(`${l.table} FINAL`) : l.table;
  }

  private toProduct(r: Record<string, unknown>): Product {
    return {
      productId: str(r.productId),
      burstId: str(r.burstId),
      obsId: str(r.obsId),
      epochMinutes: num(r.epochMinutes),
      revision: num(r.revision) ?? 0,
      card: str(r.card),
      prdmVersion: str(r.prdmVersion),
      createdAt: timeOf(r.createdAt),
      candidates: num(r.candidates),
      storageUri: str(r.storageUri),
      sha256: str(r.sha256),
      size: num(r.size),
      status: str(r.status),
      reasons: Array.isArray(r.reasons) ? r.reasons.map(String) : [],
    };
  }

  async products(o: { burstId?: string; limit?: number } = {}): Promise<Product[]> {
    const l = (await this.layout()).products;
    if (!l?.cols.get('productId')) return [];
    const { list } = this.select<'products'>(l, Object.keys(FIELDS.products) as FieldsOf<'products'>[]);
    const where = o.burstId && l.cols.has('burstId') ? sql`WHERE ${this.col(l, 'burstId')} = ${o.burstId}` : raw('');
    const order = l.cols.has('createdAt') ? sql`${this.col(l, 'createdAt')} DESC, ${this.col(l, 'productId')}` : this.col(l, 'productId');
    const limit = Math.min(1000, o.limit ?? 100);
    const rows = await this.ch.query(sql`SELECT ${list} FROM ${this.from(l)} ${where} ORDER BY ${order} LIMIT ${limit * 4}`);
    const best = new Map<string, Product>();
    for (const p of rows.map((r) => this.toProduct(r))) {
      const b = best.get(p.productId);
      if (!b || p.revision > b.revision) best.set(p.productId, p);
    }
    return [...best.values()].sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0) || a.productId.localeCompare(b.productId)).slice(0, limit);
  }

  /** Every revision of a product id, highest first. */
  async revisions(productId: string): Promise<Product[]> {
    const l = (await this.layout()).products;
    if (!l?.cols.get('productId')) return [];
    const { list } = this.select<'products'>(l, Object.keys(FIELDS.products) as FieldsOf<'products'>[]);
    const rows = await this.ch.query(sql`SELECT ${list} FROM ${this.from(l)} WHERE ${this.col(l, 'productId')} = ${productId} LIMIT 100`);
    return rows.map((r) => this.toProduct(r)).sort((a, b) => b.revision - a.revision);
  }

  async product(productId: string): Promise<Product | null> {
    const l = (await this.layout()).products;
    if (!l?.cols.get('productId')) return null;
    const { list } = this.select<'products'>(l, Object.keys(FIELDS.products) as FieldsOf<'products'>[]);
    const order = l.cols.has('revision') ? sql`ORDER BY ${this.col(l, 'revision')} DESC` : raw('');
    const rows = await this.ch.query(sql`SELECT ${list} FROM ${this.from(l)} WHERE ${this.col(l, 'productId')} = ${productId} ${order} LIMIT 1`);
    return rows.length ? this.toProduct(rows[0]) : null;
  }

  /** Latest burst (by product creation time) and its products count. */
  async currentBurst(): Promise<{ burstId: string; products: number; lastProductAt: number | null; firstProductAt: number | null } | null> {
    const l = (await this.layout()).products;
    if (!l?.cols.get('burstId')) return null;
    const b = this.col(l, 'burstId');
    const c = l.cols.has('createdAt') ? this.col(l, 'createdAt') : null;
    const rows = await this.ch.query<{ burst: string; n: string; last: unknown; first: unknown }>(
      c
        ? sql`SELECT ${b} AS burst, uniqExact(${this.col(l, 'productId')}) AS n, max(${c}) AS last, min(${c}) AS first FROM ${this.from(l)} GROUP BY burst ORDER BY last DESC LIMIT 1`
        : sql`SELECT ${b} AS burst, uniqExact(${this.col(l, 'productId')}) AS n, NULL AS last, NULL AS first FROM ${this.from(l)} GROUP BY burst ORDER BY burst DESC LIMIT 1`,
    );
    if (!rows.length) return null;
    return { burstId: rows[0].burst, products: Number(rows[0].n), lastProductAt: timeOf(rows[0].last), firstProductAt: timeOf(rows[0].first) };
  }

  /**
   * `AND (product_id, revision) IN (highest accepted revision per product)` for a candidates or
   * light-curve table, when both tables carry revisions (and products a status); else nothing.
   */
  private async currentRevision(l: Layout, burstId?: string): Promise<Sql | null> {
    const p = (await this.layout()).products;
    if (!p || !l.cols.has('productId') || !l.cols.has('revision') || !p.cols.has('productId') || !p.cols.has('revision')) return null;
    const conds: Sql[] = [];
    if (p.cols.has('status')) conds.push(sql`${this.col(p, 'status')} = 'accepted'`);
    if (burstId && p.cols.has('burstId')) conds.push(sql`${this.col(p, 'burstId')} = ${burstId}`);
    const where = conds.length ? sql`WHERE ${join(conds, ' AND ')}` : raw('');
    return sql`(${this.col(l, 'productId')}, ${this.col(l, 'revision')}) IN (SELECT ${this.col(p, 'productId')}, max(${this.col(p, 'revision')}) FROM ${this.from(p)} ${where} GROUP BY ${this.col(p, 'productId')})`;
  }

  private toCandidate(r: Record<string, unknown>): Candidate {
    return {
      productId: str(r.productId),
      burstId: str(r.burstId),
      candidateId: str(r.candidateId),
      epochMinutes: num(r.epochMinutes),
      ra: Number(r.ra),
      dec: Number(r.dec),
      posErrArcsec: num(r.posErrArcsec),
      mag: Number(r.mag),
      magErr: num(r.magErr),
      distanceArcsec: num(r.distanceArcsec),
      fadingIndex: num(r.fadingIndex),
      flags: num(r.flags),
      score: num(r.score),
    };
  }

  /** Candidates of a product (by product id), or of a burst, or the latest ones overall. */
  async candidates(o: { productId?: string; burstId?: string; limit?: number } = {}): Promise<Candidate[]> {
    const l = (await this.layout()).candidates;
    if (!l?.cols.get('candidateId')) return [];
    const { list } = this.select<'candidates'>(l, Object.keys(FIELDS.candidates) as FieldsOf<'candidates'>[]);
    const where: Sql[] = [];
    if (o.productId) {
      if (!l.cols.has('productId')) return [];
      where.push(sql`${this.col(l, 'productId')} = ${o.productId}`);
    }
    if (o.burstId && l.cols.has('burstId')) where.push(sql`${this.col(l, 'burstId')} = ${o.burstId}`);
    const current = await this.currentRevision(l, o.burstId);
    if (current) where.push(current);
    const w = where.length ? sql`WHERE ${join(where, ' AND ')}` : raw('');
    const order: Sql[] = [];
    if (!o.productId && l.cols.has('productId')) order.push(sql`${this.col(l, 'productId')} DESC`);
    if (l.cols.has('score')) order.push(sql`${this.col(l, 'score')} DESC`);
    order.push(this.col(l, 'candidateId'));
    const rows = await this.ch.query(sql`SELECT ${list} FROM ${this.from(l)} ${w} ORDER BY ${join(order)} LIMIT ${Math.min(1000, o.limit ?? 200)}`);
    return rows.map((r) => this.toCandidate(r));
  }

  /** Light-curve points of a product's candidates (by product id, else by burst id). */
  async lightCurve(o: { productId?: string; burstId?: string }): Promise<LightCurvePoint[]> {
    const l = (await this.layout()).lightcurve_points;
    if (!l?.cols.get('tSinceT0') || !l.cols.get('mag')) return [];
    let where: Sql;
    if (o.productId && l.cols.has('productId')) where = sql`${this.col(l, 'productId')} = ${o.productId}`;
    else if (o.burstId && l.cols.has('burstId')) where = sql`${this.col(l, 'burstId')} = ${o.burstId}`;
    else return [];
    const current = await this.currentRevision(l, o.productId ? undefined : o.burstId);
    if (current) where = sql`${where} AND ${current}`;
    const { list } = this.select<'lightcurve_points'>(l, ['candidateId', 'frameId', 'tSinceT0', 'mag', 'magErr']);
    const rows = await this.ch.query(sql`SELECT ${list} FROM ${this.from(l)} WHERE ${where} ORDER BY ${this.col(l, 'tSinceT0')} LIMIT 20000`);
    const seen = new Set<string>();
    const out: LightCurvePoint[] = [];
    for (const r of rows) {
      const p = { candidateId: str(r.candidateId), frameId: str(r.frameId), tSinceT0: Number(r.tSinceT0), mag: Number(r.mag), magErr: num(r.magErr) ?? 0 };
      const k = `${p.candidateId}\u0000${p.frameId}\u0000${p.tSinceT0}`;
      if (seen.has(k)) continue; // replayed inserts not merged yet
      seen.add(k);
      out.push(p);
    }
    return out;
  }
}
