/**
 * Comparing two runs of the chain (an original and its replay, or the same night at two speeds):
 * the latest candidate list of every (burst, epoch) must be identical field by field, and every
 * product FITS file (and GP1 base file) identical HDU by HDU: the same data units byte for byte,
 * the same header cards except the creation dates and the checksums that cover them.
 */
import type { Kafka } from 'kafkajs';
import { readHeaders, type FitsCard } from '../../lib/fits/index.ts';
import { AvroSerdes } from '../../lib/runtime/serdes.ts';
import { readToEnd } from '../../lib/runtime/readToEnd.ts';
import { nsName, topicSpec } from '../../lib/runtime/topology.ts';
import type { LocalStorage, StorageRef } from '../../connectors/storage/storage.ts';
import { latestLists } from './chain.ts';

/** Header keywords that may differ between two runs: creation time and the checksums over it. */
export const VOLATILE_KEYS = new Set(['DATE', 'CHECKSUM', 'DATASUM']);

export interface RunRecord {
  namespace: string;
  lists: Array<Record<string, any>>;
  products: Array<Record<string, any>>;
}

/** Reads a run's candidate lists and products from its topics (up to their current end). */
export async function readRun(kafka: Kafka, namespace: string, registryUrl: string): Promise<RunRecord> {
  const serdes = new AvroSerdes(registryUrl);
  const topics = ['gp1.candidates', 'gic.products'];
  const got: Record<string, Array<Record<string, any>>> = { 'gp1.candidates': [], 'gic.products': [] };
  await readToEnd(
    kafka,
    topics.map((t) => nsName(namespace, t)),
    async (topic, message) => {
      const logical = topics.find((t) => nsName(namespace, t) === topic)!;
      got[logical].push((await serdes.decode(message.value!, topicSpec(logical).schema)) as Record<string, any>);
    },
    { timeoutMs: 60_000, groupPrefix: nsName(namespace, 'compare') },
  );
  const products = new Map<string, Record<string, any>>();
  for (const p of got['gic.products']) {
    const prev = products.get(p.productId);
    if (!prev || p.revision > prev.revision) products.set(p.productId, p);
  }
  return { namespace, lists: latestLists(got['gp1.candidates']), products: [...products.values()].sort((a, b) => a.productId.localeCompare(b.productId)) };
}

/** Differences between two FITS files, ignoring VOLATILE_KEYS; [] when equal. */
export function compareFits(a: Buffer, b: Buffer, label: string): string[] {
  const ha = readHeaders(a);
  const hb = readHeaders(b);
  if (ha.length !== hb.length) return [`${label}: ${ha.length} HDUs vs ${hb.length}`];
  const out: string[] = [];
  const cards = (cs: FitsCard[]) => cs.filter((c) => !VOLATILE_KEYS.has(c.key)).map((c) => `${c.key}=${JSON.stringify(c.value ?? null)}`);
  ha.forEach((x, i) => {
    const y = hb[i];
    const name = `${label} HDU ${i}${x.extname ? ` (${x.extname})` : ''}`;
    const ca = cards(x.header.cards);
    const cb = cards(y.header.cards);
    const n = Math.max(ca.length, cb.length);
    for (let k = 0; k < n; k++) {
      if (ca[k] !== cb[k]) {
        out.push(`${name}: header card ${k}: ${ca[k] ?? '(none)'} vs ${cb[k] ?? '(none)'}`);
        break;
      }
    }
    const da = a.subarray(x.dataOffset, x.dataOffset + x.dataBytes);
    const db = b.subarray(y.dataOffset, y.dataOffset + y.dataBytes);
    if (!da.equals(db)) {
      let at = 0;
      while (at < Math.min(da.length, db.length) && da[at] === db[at]) at++;
      out.push(`${name}: data unit differs (${da.length} vs ${db.length} bytes, first difference at byte ${at})`);
    }
  });
  return out;
}

/** A candidate list without what legitimately differs between runs (the base file's storage ref). */
function comparable(l: Record<string, any>): unknown {
  const { baseFile: _ignored, ...rest } = l;
  return rest;
}

function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return `${path || '.'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (Array.isArray(a) && ka.length !== kb.length) return `${path}: ${ka.length} items vs ${kb.length}`;
  for (const k of new Set([...ka, ...kb])) {
    const d = firstDifference((a as any)[k], (b as any)[k], `${path}${Array.isArray(a) ? `[${k}]` : `.${k}`}`);
    if (d) return d;
  }
  return null;
}

export interface Comparison {
  identical: boolean;
  lists: { compared: number; differing: number };
  products: { compared: number; differing: number };
  baseFiles: { compared: number; differing: number };
  differences: string[];
}

/** `storageB`: where run b's objects are, when not in `storage` (a run on S3 compared with one on the filesystem). */
export async function compareRuns(a: RunRecord, b: RunRecord, storage: LocalStorage, storageB: LocalStorage = storage): Promise<Comparison> {
  const diffs: string[] = [];
  const key = (l: Record<string, any>) => `${l.burstId} T0+${l.epochMinutes}min`;
  const lb = new Map(b.lists.map((l) => [key(l), l]));
  const res: Comparison = { identical: false, lists: { compared: 0, differing: 0 }, products: { compared: 0, differing: 0 }, baseFiles: { compared: 0, differing: 0 }, differences: diffs };
  if (!a.lists.length) diffs.push(`${a.namespace}: no candidate lists`);
  for (const l of a.lists) {
    const m = lb.get(key(l));
    if (!m) {
      diffs.push(`candidate list ${key(l)}: missing in ${b.namespace}`);
      continue;
    }
    lb.delete(key(l));
    res.lists.compared++;
    const d = firstDifference(comparable(l), comparable(m));
    if (d) {
      res.lists.differing++;
      diffs.push(`candidate list ${key(l)}: ${d}`);
    }
    if (l.baseFile && m.baseFile) {
      res.baseFiles.compared++;
      const fd = compareFits(await storage.get(l.baseFile as StorageRef), await storageB.get(m.baseFile as StorageRef), `base file ${key(l)}`);
      if (fd.length) res.baseFiles.differing++;
      diffs.push(...fd);
    }
  }
  for (const k of lb.keys()) diffs.push(`candidate list ${k}: only in ${b.namespace}`);
  const pb = new Map(b.products.map((p) => [p.productId, p]));
  for (const p of a.products) {
    const q = pb.get(p.productId);
    if (!q) {
      diffs.push(`product ${p.productId}: missing in ${b.namespace}`);
      continue;
    }
    pb.delete(p.productId);
    res.products.compared++;
    const fd = compareFits(await storage.get(p.storage as StorageRef), await storageB.get(q.storage as StorageRef), `product ${p.productId} r${p.revision}`);
    if (p.revision !== q.revision) fd.unshift(`product ${p.productId}: revision ${p.revision} vs ${q.revision}`);
    if (fd.length) res.products.differing++;
    diffs.push(...fd);
  }
  for (const k of pb.keys()) diffs.push(`product ${k}: only in ${b.namespace}`);
  res.identical = diffs.length === 0;
  return res;
}
