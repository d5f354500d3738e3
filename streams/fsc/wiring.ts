/**
 * FSC Colibri-interface (group `fsc`): gic.products → SDB rows + fsc.receipts (key: product id).
 *
 * Per announcement: fetch the file from local storage (integrity checked against the announced
 * sha256 and size), validate it against the data model 1.005 (streams/fsc/core/validate.ts, with the
 * announcement's key, burst, revision and epoch as expectations), write it to the SDB
 * (connectors/sdb: products row, and for an accepted product its candidates and light-curve points),
 * then publish the receipt: accepted, or rejected with every reason found.
 *
 * - Rejected products are kept: a products row with status 'rejected' and the reasons; their bytes
 *   stay in storage (the FSC never deletes). A file missing from storage or not matching its digest
 *   is not the product's fault: a retriable error (`storage.not_found`, `storage.integrity`), retried
 *   until the storage has it (a replica catching up, a store back online), never a silent rejection.
 * - Redelivery and replays never duplicate rows: the SDB tables are keyed by product id, revision
 *   and content (ReplacingMergeTree, read with FINAL), and the validator is deterministic.
 * - ClickHouse unavailable → retriable (the runner retries in place; nothing is committed past it).
 *   The receipt goes out after the rows are written, so a crash in between re-runs the message.
 * - processedAt is the wall-clock time of the verdict: an audit field, it decides nothing.
 */
import type { StageDefinition } from '../../lib/runtime/runner.ts';
import { retriable } from '../../lib/runtime/errors.ts';
import { LocalStorage, type StorageRef } from '../../connectors/storage/storage.ts';
import type { ClickHouse } from '../../connectors/clickhouse/client.ts';
import { migrateSdb } from '../../connectors/sdb/migrations.ts';
import { insertProduct, sdbClient } from '../../connectors/sdb/sdb.ts';
import { validateProduct, type Validation } from './core/validate.ts';

/** org.gft.gic.Product as decoded by the runtime. */
export interface ProductValue {
  productId: string;
  burstId: string;
  obsId: string;
  epochMinutes: number | null;
  revision: number;
  prdmVersion: string;
  card: string;
  createdAt: number;
  candidates: number;
  storage: StorageRef;
}


export function fscStage(ch: ClickHouse, storage: LocalStorage): StageDefinition<ProductValue> {
  return {
    name: 'fsc',
    inputs: ['gic.products'],
    outputs: ['fsc.receipts'],
    async init(ctx) {
      // The SDB schema must exist before the first insert; ClickHouse may be away or still starting:
      // a retriable error here is retried by the runner, with backoff, until it answers.
      const applied = await migrateSdb(ch, (s) => ctx.log.info(s));
      if (applied.length) ctx.log.info('sdb migrated', { database: ch.database, applied: applied.join(',') });
    },
    async handle(msg, ctx) {
      const p = msg.value;
      const pre: string[] = [];
      if (msg.key !== null && msg.key !== p.productId) pre.push(`announcement.mismatch: key ${msg.key} but productId ${p.productId}`);
      if (p.prdmVersion !== '1.005') pre.push(`announcement.mismatch: prdmVersion ${p.prdmVersion}, this interface validates 1.005`);
      let v: Validation;
      let size = p.storage.size;
      try {
        const bytes = await storage.get(p.storage);
        size = bytes.length;
        v = validateProduct(bytes, { productId: p.productId, burstId: p.burstId, obsId: p.obsId, revision: p.revision, epochMinutes: p.epochMinutes });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).syscall) throw retriable('storage.unavailable', `reading ${p.storage.uri}: ${(e as Error).message}`, e);
        throw e; // storage errors say whether they are retriable (a missing or corrupt object is)
      }
      const reasons = [...pre, ...v.reasons];
      const status = reasons.length ? 'rejected' : 'accepted';
      const rows = await insertProduct(ch, {
        productId: p.productId, burstId: p.burstId, obsId: p.obsId, epochMinutes: p.epochMinutes, revision: p.revision,
        sha256: p.storage.sha256, size, storageUri: p.storage.uri, status, reasons, content: v.summary, createdAtMs: p.createdAt, receivedMs: Date.now(),
      });
      if (status === 'rejected') ctx.log.warn('product rejected', { productId: p.productId, revision: p.revision, reasons: reasons.slice(0, 5).join(' | ') });
      else ctx.log.info('product accepted', { productId: p.productId, revision: p.revision, rows });
      return [{ topic: 'fsc.receipts', key: p.productId, value: { productId: p.productId, sha256: p.storage.sha256, status, reasons, rows, processedAt: Date.now() } }];
    },
  };
}

export async function createStage(): Promise<StageDefinition<ProductValue>> {
  return fscStage(sdbClient(), LocalStorage.fromEnv());
}
