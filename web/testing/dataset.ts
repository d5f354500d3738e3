/**
 * A small DC3-like dataset for the web tests and for trying the pages by hand: one night at San Pedro
 * Mártir around burst sb19101601 (T0 2019-10-16T08:30:00Z, as the DC3 synthetic night), with
 * - telemetry: TCS and weather from the ops simulators (every 30 s over 10 h) and one host;
 * - stage metrics of every stage every 10 s from T0 − 5 min to T0 + 70 min (with a lag peak and a
 *   few dead-lettered messages in gp1-detection);
 * - logs of the stages (alert manager decisions, a warning, an error);
 * - SDB rows (products at T0 + 5, 10, 30, 60 min and a final one; candidates; light-curve points) in
 *   the FSC's tables (connectors/sdb/migrations.ts), with a second accepted revision of the T0+10 product
 *   (a late frame) and a rejected second revision of the T0+30 one;
 * - each product's FITS file (a stack image, candidate cut-outs and a candidates table) in local storage.
 */
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { insertTelemetry, type TelemetryRow } from '../../connectors/clickhouse/rollup.ts';
import { migrateSdb } from '../../connectors/sdb/migrations.ts';
import type { LocalStorage, StorageRef } from '../../connectors/storage/storage.ts';
import { writeFits, type ImageInput, type TableInput } from '../../lib/fits/index.ts';
import { telemetryAt } from '../../streams/ops/core/samples.ts';
import { hash01 } from '../../streams/ops/core/noise.ts';

export const DC3 = { burstId: 'sb19101601', t0: Date.parse('2019-10-16T08:30:00Z'), ra: 11.8732, dec: 33.6021, obsId: '01' };
export const STAGES = ['voevent-intake', 'alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc', 'clickhouse-sink'];
export const HOST = 'host:gft-node1';

export interface Dataset {
  burstId: string;
  t0: number;
  telemetryEnd: number;
  /** every delivered revision, in delivery order */
  products: { productId: string; revision: number; status: 'accepted' | 'rejected'; ref: StorageRef; bytes: Buffer; candidates: string[] }[];
}

const sec = (ms: number) => Math.floor(ms / 1000);

/** A small stack image with a few stars, and 16×16 cut-outs around the candidates. */
export function productFits(productId: string, epoch: number | null, cands: { id: string; mag: number; x: number; y: number }[]): Buffer {
  const W = 96;
  const H = 80;
  const img = new Float32Array(W * H);
  const stars = [...cands.map((c) => ({ x: c.x, y: c.y, f: 10 ** (-0.4 * (c.mag - 22)) })), { x: 20, y: 60, f: 800 }, { x: 70, y: 15, f: 300 }, { x: 50, y: 40, f: 1500 }];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let v = 100 + 5 * (hash01(7, productId, y * W + x) - 0.5);
      for (const s of stars) v += s.f * Math.exp(-((x - s.x) ** 2 + (y - s.y) ** 2) / (2 * 1.6 ** 2));
      img[y * W + x] = v;
    }
  const hdus: Array<ImageInput | TableInput> = [
    {
      kind: 'image', bitpix: -32, width: W, height: H, data: img,
      cards: [
        { key: 'ORIGIN', value: 'GFT' }, { key: 'TELESCOP', value: 'COLIBRI' }, { key: 'INSTRUME', value: 'FGFT' }, { key: 'CARD', value: 'FGFT-CAND' },
        { key: 'PRDM_VER', value: 1.005 }, { key: 'BURST_ID', value: DC3.burstId }, { key: 'OBS_ID', value: DC3.obsId },
        // the epoch as the products write it (EPOCH is FITS's equinox keyword, a number: not ours to use)
        ...(epoch === null ? [] : [{ key: 'EPOCHMIN', value: epoch }]), { key: 'EXTNAME', value: 'STACK' },
      ],
    },
  ];
  for (const c of cands) {
    const cut = new Float32Array(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) cut[y * 16 + x] = img[(Math.round(c.y) - 8 + y) * W + (Math.round(c.x) - 8 + x)];
    hdus.push({ kind: 'image', bitpix: -32, width: 16, height: 16, data: cut, extname: `CUTOUT_${c.id}` });
  }
  hdus.push({
    kind: 'table', extname: 'CANDIDATES',
    columns: [
      { name: 'ID', format: '8A', values: cands.map((c) => c.id) },
      { name: 'MAG', format: 'D', values: cands.map((c) => c.mag) },
    ],
  });
  return writeFits(hdus);
}

export async function insertDataset(o: { ch: ClickHouse; sdb: ClickHouse; storage: LocalStorage; seed?: number; telemetryStepSec?: number }): Promise<Dataset> {
  const seed = o.seed ?? 1;
  const { t0, burstId } = DC3;
  const step = (o.telemetryStepSec ?? 30) * 1000;
  const tStart = t0 - 8 * 3600_000; // from evening twilight (parked) into the night
  const tEnd = t0 + 2 * 3600_000;

  // telemetry (long format, one row per metric)
  const tel: TelemetryRow[] = [];
  for (let t = tStart; t <= tEnd; t += step) {
    for (const s of ['tcs', 'weather'] as const) {
      const v = telemetryAt(s, t, seed);
      for (const [metric, value] of Object.entries(v.metrics)) tel.push({ source: v.source, metric, time: sec(t), ms: t % 1000, value, state: v.state, version: t });
    }
    const busy = t > t0 && t < t0 + 3600_000 ? 55 : 12;
    const host = { cpuPct: busy + 10 * hash01(seed, 'cpu', t / step), memUsedPct: 40 + (t - tStart) / 3600_000, diskUsedPct: 61.5, load1: busy / 25, load5: busy / 30, memUsedMB: 6000, diskFreeGB: 120 };
    for (const [metric, value] of Object.entries(host)) tel.push({ source: HOST, metric, time: sec(t), ms: 0, value, state: 'up', version: t });
  }
  // as the ClickHouse sink writes it: rows, then the rollup of their minutes
  for (let i = 0; i < tel.length; i += 50_000) await insertTelemetry(o.ch, tel.slice(i, i + 50_000));

  // stage metrics every 10 s
  const metrics: Record<string, unknown>[] = [];
  for (let t = t0 - 300_000; t <= t0 + 70 * 60_000; t += 10_000) {
    STAGES.forEach((stage, i) => {
      const active = t >= t0 + i * 20_000;
      const rate = active ? (stage === 'provider' || stage.startsWith('gp1') ? 0.3 : stage === 'clickhouse-sink' ? 40 : 0.1) : 0;
      const n = Math.round(rate * 10 + (active ? hash01(seed, stage, t / 10_000) * 2 : 0));
      const lagPeak = stage === 'gp1-calibration' && t > t0 + 5 * 60_000 && t < t0 + 12 * 60_000 ? 40 : 0;
      const dlq = stage === 'gp1-detection' && Math.abs(t - (t0 + 31 * 60_000)) < 5000 ? 2 : 0;
      metrics.push({
        stage, instance: `gft-node1:${1000 + i}`, time: sec(t), ms: 0, interval_ms: 10_000, messages_in: n, messages_out: n, messages_dlq: dlq, retries: 0,
        lag: lagPeak, processing_ms_p50: 2 + i, processing_ms_p99: 10 + 5 * i, version: t,
      });
    });
  }
  await o.ch.insert('stage_metrics', metrics);

  // logs
  const log = (dt: number, level: string, stage: string, message: string, fields: Record<string, string> = {}, k = 0) => ({
    time: sec(t0 + dt), ms: (t0 + dt) % 1000, level, stage, instance: 'gft-node1:1', message, fields: JSON.stringify(fields), kafka_id: `0:${dt}:${k}`, version: t0 + dt,
  });
  const logs = [
    log(12_000, 'info', 'voevent-intake', 'VOEvent received', { ivorn: `ivo://org.svom/fsc#${burstId}_eclairs-wakeup` }),
    log(13_000, 'info', 'alerts', `burst ${burstId} started: ECLAIRs wakeup, follow-up requested`, { burstId, decision: 'start' }),
    log(14_000, 'info', 'alerts', `GP1 trigger sent for ${burstId}`, { burstId }),
    log(95_000, 'info', 'alerts', `burst ${burstId} updated: MXT position, error 0.0025 deg`, { burstId, decision: 'update' }),
    log(8 * 60_000, 'warn', 'gp1-calibration', 'late frame 20191016T083812C0o arrived after its epoch', { frame: '20191016T083812C0o' }),
    log(31 * 60_000, 'error', 'gp1-detection', 'astrometry failed: fewer than 5 matched stars', { frame: '20191016T090100C0o', code: 'gp1.astrometry_failed' }),
    log(31 * 60_000 + 500, 'warn', 'gp1-detection', "message sent to DLQ (field 'O'Hara' test)", { code: 'gp1.astrometry_failed' }, 1),
  ];
  const products: Dataset['products'] = [];
  const sdbProducts: Record<string, unknown>[] = [];
  const sdbCands: Record<string, unknown>[] = [];
  const sdbPoints: Record<string, unknown>[] = [];
  const candDefs = [
    { id: 'c1', x: 48, y: 40, mag0: 15.2, alpha: 1.1, dist: 3.2, score: 0.97 },
    { id: 'c2', x: 30, y: 25, mag0: 18.4, alpha: 0.0, dist: 41.5, score: 0.42 },
    { id: 'c3', x: 72, y: 58, mag0: 19.1, alpha: 0.3, dist: 88.0, score: 0.18 },
  ];
  // (epoch, revision, status): T0+10 re-issued after a late frame; T0+30's second delivery rejected
  const deliveries: { epoch: number | null; revision: number; status: 'accepted' | 'rejected' }[] = [
    { epoch: 5, revision: 0, status: 'accepted' },
    { epoch: 10, revision: 0, status: 'accepted' },
    { epoch: 10, revision: 1, status: 'accepted' },
    { epoch: 30, revision: 0, status: 'accepted' },
    { epoch: 30, revision: 1, status: 'rejected' },
    { epoch: 60, revision: 0, status: 'accepted' },
    { epoch: null, revision: 0, status: 'accepted' },
  ];
  const sec0 = sec(t0);
  for (const { epoch, revision, status } of deliveries) {
    const productId = `${burstId}_${DC3.obsId}_${epoch === null ? 'final' : String(epoch).padStart(3, '0')}`;
    const tEpoch = epoch === null ? 70 * 60 : epoch * 60;
    const shift = revision * 0.05; // a re-issued product measures slightly differently
    const mags = candDefs.map((c) => ({ ...c, mag: c.mag0 + shift + 2.5 * c.alpha * Math.log10(tEpoch / 300) }));
    const bytes = productFits(`${productId}#${revision}`, epoch, mags);
    const ref = await o.storage.put(bytes, { kind: 'product', burstId, source: 'web-test', name: `${productId}.fits` });
    products.push({ productId, revision, status, ref, bytes, candidates: candDefs.map((c) => c.id) });
    const epochStr = epoch === null ? 'FINAL' : String(epoch);
    const points: Record<string, unknown>[] = [];
    const created = t0 + tEpoch * 1000 + 40_000 + revision * 300_000;
    const received = created + 2000; // ms: the rows' version (connectors/sdb/sdb.ts)
    for (const c of mags) {
      for (let t = 300; t <= tEpoch; t += 120) {
        const mag = c.mag0 + shift + 2.5 * c.alpha * Math.log10(t / 300) + 0.03 * (hash01(seed, c.id, t) - 0.5);
        const iso = new Date(t0 + t * 1000).toISOString();
        points.push({ product_id: productId, revision, cand_id: c.id, frame_id: `${iso.slice(0, 10).replace(/-/g, '')}T${iso.slice(11, 19).replace(/:/g, '')}C0o`, burst_id: burstId, t0: sec0, sha256: ref.sha256, t_t0: t, mag, mag_err: 0.02 + 0.01 * (mag - 15), version: received });
      }
    }
    if (status === 'accepted') {
      sdbPoints.push(...points);
      for (const c of mags)
        sdbCands.push({
          product_id: productId, revision, cand_id: c.id, burst_id: burstId, obs_id: DC3.obsId, epoch: epochStr, t0: sec0, sha256: ref.sha256,
          ra: DC3.ra + ((c.x - 48) * 0.34) / 3600, dec: DC3.dec + ((c.y - 40) * 0.34) / 3600, pos_err: 0.2, mag: c.mag, mag_err: 0.02 + 0.01 * (c.mag - 15),
          dist_alert: c.dist, flags: c.alpha > 0.5 ? 1 : 0, score: c.score, fade_idx: c.alpha > 0.5 ? c.alpha : null, version: received,
        });
    }
    sdbProducts.push({
      product_id: productId, revision, burst_id: burstId, obs_id: DC3.obsId, epoch: epochStr, epoch_minutes: epoch, sha256: ref.sha256, size: ref.size, storage_uri: ref.uri,
      status, reasons: status === 'rejected' ? ['HDU 2: DATASUM does not match the data'] : [], card: 'FGFT-CAND', prdm_ver: '1.005', proc_ver: '0.1', pip_ver: '0.1', program: 'GRB',
      t0: sec0, t0_ms: 0, epoch_time: sec(t0 + tEpoch * 1000), created_at: sec(created), date: new Date(created).toISOString().slice(0, 19), ra_obj: DC3.ra, dec_obj: DC3.dec, err_rad: 0.0025,
      n_frames: Math.round(tEpoch / 120), n_candidates: candDefs.length, n_points: points.length, n_cutouts: candDefs.length, received: sec(received), version: received,
    });
    if (revision === 0) logs.push(log(tEpoch * 1000 + 30_000, 'info', 'gic', `product ${productId} written`, { productId }));
    logs.push(log(created - t0, status === 'accepted' ? 'info' : 'warn', 'fsc', `product ${productId} revision ${revision} ${status}`, { productId, revision: String(revision) }));
  }
  await o.ch.insert('logs', logs);
  await migrateSdb(o.sdb);
  await o.sdb.insert('candidates', sdbCands);
  await o.sdb.insert('lightcurve_points', sdbPoints);
  await o.sdb.insert('products', sdbProducts);
  return { burstId, t0, telemetryEnd: tEnd, products };
}
