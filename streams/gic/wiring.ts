/**
 * GIC stage (group `gic`): gp1.candidates (+ alerts.reference) → FITS products in local storage,
 * announced on gic.products (key: product id). Data model 1.005 (docs/data-model-1.005.md).
 *
 * Per candidate list: one per-epoch product, and when the list is of the burst's last planned epoch,
 * the final product too. Inputs besides the list:
 * - the burst reference (T0, alert position, planned epochs): the alerts.reference global table (read
 *   in full by every instance, so any instance holding a list's partition has it), else the highest
 *   version of the burst's reference documents in storage (the alerts stage stores a document before
 *   announcing it);
 * - provenance: the calibrated and raw files of every frame of the list with their sha256, as the
 *   list's frameRefs give them (lists without frameRefs: looked up by name in the storage metadata,
 *   streams/gic/storageIndex.ts); the masters named in the last frame's header (GP1BIAS/GP1DARK/
 *   GP1FLAT), the stored file whose pixel checksum (GP1SHA) is the one the header gives
 *   (GP1BSHA/GP1DSHA/GP1FSHA) — names repeat when a night is re-run; the GP1 base file and the
 *   reference document;
 * - cut-outs around the best-scored candidates from the epoch's last calibrated frame, with its WCS.
 * A frame missing from storage (retention) leaves its SHA256 empty and, for the last frame, the
 * product without cut-outs; the product is still built.
 *
 * Event time only: the product's createdAt is the list's epochTime, DATE as well (unless
 * GFT_GIC_WALLCLOCK_DATE), so a replay rebuilds byte-identical files and announcements. Outputs are
 * idempotent by product id + revision + sha256; FSC upserts. Bad lists (non-SVOM burst id, no
 * reference anywhere, values that do not fit the model) go to gic.dlq.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output, StageContext, StageDefinition } from '../../lib/runtime/runner.ts';
import { classify, invalidInput } from '../../lib/runtime/errors.ts';
import { ConfigError, field, loadConfig } from '../../lib/config/define.ts';
import { repoRoot } from '../../lib/config/platform.ts';
import { readHeaders, readImage } from '../../lib/fits/index.ts';
import { wcsFromHeader } from '../../lib/wcs/index.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import { StorageIndex } from './storageIndex.ts';
import { Lru } from '../../lib/runtime/lru.ts';
import { buildProduct, ProductInputError, type CandidateListValue, type ProvenanceInput, type ReferenceInfo } from './core/product.ts';
import { cutout, type Cutout } from './core/cutouts.ts';
import { BURST_ID_RE, MAX_CUTOUTS, PRDM_VERSION, PROGRAMS } from './core/dataModel.ts';

export const gicSchema = {
  cutoutSize: field<number>({ env: 'GFT_GIC_CUTOUT_SIZE', type: 'int', doc: 'Side of the per-candidate cut-outs, pixels', default: 32, min: 8, max: 256 }),
  maxCutouts: field<number>({ env: 'GFT_GIC_MAX_CUTOUTS', type: 'int', doc: 'Cut-outs per product (highest scores first)', default: MAX_CUTOUTS, min: 0, max: MAX_CUTOUTS }),
  program: field<string>({ env: 'GFT_GIC_PROGRAM', type: 'string', doc: 'SVOM program written in PROGRAM (CP, GP, TOO)', default: 'CP' }),
  wallClockDate: field<boolean>({ env: 'GFT_GIC_WALLCLOCK_DATE', type: 'boolean', doc: 'Write the wall-clock time in DATE (default: event time, byte-identical replays)', default: false }),
};
export type GicConfig = ReturnType<typeof gicConfig>;
export const gicConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(gicSchema, env);

interface ReferenceValue {
  burstId: string; version: number; t0: string; ra: number; dec: number; errorRadiusDeg: number | null; epochsMinutes: number[]; document: StorageRef;
}
interface KnownReference { info: ReferenceInfo; epochsMinutes: number[]; document: { id: string; sha256: string } | null }

export const SOFTWARE_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Header cards of a calibrated frame naming its masters (GP1 calibration). */
/** A calibrated frame's header names its masters and the sha256 of their pixels (the master's GP1SHA). */
const MASTER_CARDS: [string, string, 'bias' | 'dark' | 'flat'][] = [['GP1BIAS', 'GP1BSHA', 'bias'], ['GP1DARK', 'GP1DSHA', 'dark'], ['GP1FLAT', 'GP1FSHA', 'flat']];

export function gicStage(cfg: GicConfig, storage: LocalStorage): StageDefinition<CandidateListValue> {
  const index = new StorageIndex(storage);
  const software = `gft-gic ${SOFTWARE_VERSION}`;

  async function reference(burstId: string, ctx: StageContext): Promise<KnownReference> {
    const r = await ctx.table<ReferenceValue>('alerts.reference').lookup(burstId);
    if (r)
      return {
        info: { burstId: r.burstId, t0: r.t0, ra: r.ra, dec: r.dec, errorRadiusDeg: r.errorRadiusDeg, version: r.version },
        epochsMinutes: r.epochsMinutes,
        document: { id: `${r.burstId}_v${r.version}.json`, sha256: r.document.sha256 },
      };
    let docs = index.references(burstId);
    if (!docs.length) {
      await index.refresh();
      docs = index.references(burstId);
    }
    if (!docs.length) throw invalidInput('gic.no_reference', `no reference file for burst ${burstId} on alerts.reference nor in storage`);
    const { meta, version } = docs[0];
    const doc = JSON.parse((await storage.get(`gft-store://sha256/${meta.sha256}`)).toString('utf8')) as {
      burstId: string; version: number; t0: string; ra: number; dec: number; errorRadiusDeg: number | null; plan?: { epochsMinutes?: number[] };
    };
    const k: KnownReference = {
      info: { burstId, t0: doc.t0, ra: doc.ra, dec: doc.dec, errorRadiusDeg: doc.errorRadiusDeg, version: doc.version ?? version },
      epochsMinutes: doc.plan?.epochsMinutes ?? [],
      document: { id: meta.name ?? `${burstId}_v${version}.json`, sha256: meta.sha256 },
    };
    return k;
  }

  /** Stored file of a master, by name and pixel checksum → file sha256 (a night re-run can store other masters under the same name). */
  const masterFiles = new Lru<string, string | null>(64);
  async function masterFile(name: string, pixelSha: string, burstId: string): Promise<string | null> {
    const key = `${name} ${pixelSha}`;
    if (masterFiles.has(key)) return masterFiles.get(key)!;
    const all = await index.lookupAll(`${name}.fits`, { burstId, kind: 'master' });
    let found: string | null = null;
    if (!pixelSha) found = all[0]?.sha256 ?? null; // a header without the checksum: the best guess by name
    else
      for (const m of all) {
        const h = readHeaders(await storage.get(`gft-store://sha256/${m.sha256}`))[0]?.header;
        if (h?.getString('GP1SHA')?.trim() === pixelSha) {
          found = m.sha256;
          break;
        }
      }
    if (found) masterFiles.set(key, found);
    return found;
  }

  /** Provenance rows and the last frame's pixels for the cut-outs. */
  async function inputs(list: CandidateListValue, ref: KnownReference, log: (m: string, f: Record<string, unknown>) => void): Promise<{ provenance: ProvenanceInput; cutouts: Cutout[] }> {
    // the list names its frames' stored files (frameRefs); older lists only their ids, looked up
    // by name in the storage metadata (ambiguous when another night reused the names)
    const given = new Map((list.frameRefs ?? []).map((r) => [r.frameId, r]));
    const resolve = () =>
      list.frames.map((id) => {
        const r = given.get(id);
        if (r) return r.raw ? { id, sha256: r.calibrated.sha256, rawSha256: r.raw.sha256 } : { id, sha256: r.calibrated.sha256 };
        const cal = index.find(`${id}-cal.fits`, { burstId: list.burstId, kind: 'calibrated' });
        const raw = index.find(`${id}.fits.fz`, { burstId: list.burstId, kind: 'raw' }) ?? index.find(`${id}.fits`, { burstId: list.burstId, kind: 'raw' });
        return raw ? { id, sha256: cal?.sha256 ?? '', rawSha256: raw.sha256 } : { id, sha256: cal?.sha256 ?? '' };
      });
    let frames = resolve();
    if (frames.some((f) => !f.sha256)) {
      await index.refresh(); // frames of a new epoch: read the metadata written since the last look
      frames = resolve();
    }
    const masters: ProvenanceInput['masters'] = [];
    let cutouts: Cutout[] = [];
    const lastId = list.frames[list.frames.length - 1];
    const last = lastId !== undefined ? frames.find((f) => f.id === lastId) : undefined;
    if (last?.sha256) {
      try {
        const img = readImage(await storage.get(`gft-store://sha256/${last.sha256}`), 0);
        for (const [nameKey, shaKey, kind] of MASTER_CARDS) {
          const name = img.header.getString(nameKey)?.trim();
          if (!name) continue;
          const m = await masterFile(name, img.header.getString(shaKey)?.trim() ?? '', list.burstId);
          masters.push({ id: name, sha256: m ?? '', kind });
        }
        const { wcs } = wcsFromHeader(img.header);
        if (wcs && cfg.maxCutouts > 0) {
          const best = [...list.candidates].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, cfg.maxCutouts);
          cutouts = best.flatMap((c) => {
            const s = cutout(img, wcs, c.id, c.ra, c.dec, cfg.cutoutSize);
            return s ? [{ ...s, frameId: lastId }] : [];
          });
        } else if (!wcs) log('last frame has no WCS: product without cut-outs', { frameId: lastId });
      } catch (e) {
        // a missing, corrupt or unreadable frame costs the cut-outs, not the product
        if (classify(e).retriable) throw e;
        log('last frame unusable: product without cut-outs', { frameId: lastId, error: (e as Error).message });
      }
    } else if (lastId !== undefined) log('last frame not in storage: product without cut-outs', { frameId: lastId });
    let basefile: ProvenanceInput['basefile'] = null;
    if (list.baseFile) {
      const meta = await storage.meta(list.baseFile).catch(() => null);
      basefile = { id: meta?.name ?? list.baseFile.uri, sha256: list.baseFile.sha256 };
    }
    return { provenance: { frames, masters, software, basefile, reference: ref.document }, cutouts };
  }

  return {
    name: 'gic',
    inputs: ['gp1.candidates'],
    tables: ['alerts.reference'],
    outputs: ['gic.products'],
    // no state store; caches bounded: masters by name (64), storage metadata of the open bursts only
    held: { bursts: () => 0, cacheBytes: () => 400 * index.size + 200 * masterFiles.size },
    async handle(msg, ctx) {
      const list = msg.value;
      if (!BURST_ID_RE.test(list.burstId)) throw invalidInput('gic.bad_burst_id', `burst id '${list.burstId}' is not a SVOM burst id (sbYYMMDDnn)`);
      index.recall(list.burstId); // (a revision after the final product: its storage metadata again)
      const ref = await reference(list.burstId, ctx);
      const { provenance, cutouts } = await inputs(list, ref, (m, f) => ctx.log.warn(m, { burstId: list.burstId, ...f }));
      await ctx.heartbeat();
      const lastEpoch = ref.epochsMinutes.length ? Math.max(...ref.epochsMinutes) : undefined;
      const epochs: (number | null)[] = [list.epochMinutes, ...(lastEpoch !== undefined && list.epochMinutes === lastEpoch ? [null] : [])];
      const outs: Output[] = [];
      for (const epochMinutes of epochs) {
        let p;
        try {
          p = buildProduct({
            candidateList: list, reference: ref.info, epochMinutes, createdAt: list.epochTime, provenance, cutouts,
            program: cfg.program as (typeof PROGRAMS)[number], pipelineVersion: SOFTWARE_VERSION, ...(cfg.wallClockDate ? { date: new Date().toISOString() } : {}),
          });
        } catch (e) {
          if (e instanceof ProductInputError) throw invalidInput(e.code, e.message, e);
          throw e;
        }
        const stored = await storage.put(p.bytes, { kind: 'product', burstId: p.burstId, source: 'gic', name: `${p.productId}_r${p.revision}.fits`, created: list.epochTime });
        outs.push({
          topic: 'gic.products',
          key: p.productId,
          value: {
            productId: p.productId, burstId: p.burstId, obsId: p.obsId, epochMinutes: p.epochMinutes, revision: p.revision, prdmVersion: PRDM_VERSION.toFixed(3),
            card: p.card, createdAt: p.createdAtMs, candidates: p.nCandidates, storage: stored,
          },
        });
        ctx.log.info('product', { productId: p.productId, revision: p.revision, candidates: p.nCandidates, cutouts: p.nCutouts, sha256: stored.sha256, bytes: stored.size });
      }
      // the final product is made: the burst's storage metadata leaves the index (read again if a revision comes)
      if (epochs.includes(null)) index.forget(list.burstId);
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<CandidateListValue>> {
  const cfg = gicConfig();
  if (!(PROGRAMS as readonly string[]).includes(cfg.program)) throw new ConfigError(`GFT_GIC_PROGRAM: '${cfg.program}' is not one of ${PROGRAMS.join(', ')}`);
  return gicStage(cfg, LocalStorage.fromEnv());
}
