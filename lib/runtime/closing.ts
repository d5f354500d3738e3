/**
 * Closing what a stage remembers of a burst (stages that live through a season, docs/season.md).
 *
 * A stateful stage keeps per-burst entries in its state store while the burst is open. When the
 * burst is closed (its last frame and epochs done, a retraction, or idle for a while in event time)
 * the stage deletes them and leaves one small marker, `closed/<burst>`: when it closed (event time),
 * why, and what a late or redelivered message of that burst needs (e.g. the masters' references, the
 * frame ids already measured). Markers older than the retention (event time, measured from the
 * newest close in the same store) are deleted in turn, so a store holds the open bursts plus at
 * most a retention's worth of markers.
 *
 * Everything here is a store operation: it reaches the changelog with the message's outputs, so a
 * restart or the next owner of the partition sees the burst closed too.
 */
import { field, loadConfig } from '../config/define.ts';
import type { StateStore } from './state.ts';

export const closingSchema = {
  idleHours: field<number>({ env: 'GFT_BURST_IDLE_HOURS', type: 'number', doc: 'A burst with no new frame for this long (event time: DATE-OBS of later frames) is closed and its state evicted', default: 24, min: 0.01 }),
  retentionDays: field<number>({ env: 'GFT_CLOSED_RETENTION_DAYS', type: 'number', doc: 'Closed-burst markers (what late or redelivered frames of a closed burst need) are kept this long, event time', default: 30, min: 0 }),
};
export type ClosingConfig = ReturnType<typeof loadConfig<typeof closingSchema>>;
export const closingConfig = (env: Record<string, string | undefined> = process.env): ClosingConfig => loadConfig(closingSchema, env);

export interface ClosedMarker {
  /** event time of the close (ISO 8601) */
  closedAt: string;
  reason: string;
  [extra: string]: unknown;
}

const MARKER = 'closed/';

export function closedOf<M extends ClosedMarker = ClosedMarker>(store: StateStore, burstId: string): M | undefined {
  return store.get<M>(`${MARKER}${burstId}`);
}

/**
 * Deletes the burst's entries (every key equal to or starting with one of `prefixes`), writes its
 * marker, and deletes markers older than `retentionDays` before `closedAt`. Returns the keys deleted.
 */
export function closeBurst(store: StateStore, burstId: string, o: { prefixes: string[]; closedAt: string; reason: string; keep?: Record<string, unknown>; retentionDays: number }): number {
  let deleted = 0;
  for (const p of o.prefixes)
    for (const k of store.keys(p)) {
      store.delete(k);
      deleted++;
    }
  store.put(`${MARKER}${burstId}`, { ...o.keep, closedAt: o.closedAt, reason: o.reason } satisfies ClosedMarker);
  const cutoff = Date.parse(o.closedAt) - o.retentionDays * 86_400_000;
  if (Number.isFinite(cutoff))
    for (const k of store.keys(MARKER)) {
      const at = Date.parse(store.get<ClosedMarker>(k)?.closedAt ?? '');
      if (at < cutoff) store.delete(k);
    }
  return deleted;
}

/** Distinct burst ids of the keys under `prefix` (`<prefix><burst>` or `<prefix><burst>/…`). */
export function burstsUnder(store: StateStore, prefix: string): string[] {
  const out = new Set<string>();
  for (const k of store.keys(prefix)) out.add(k.slice(prefix.length).split('/')[0]);
  return [...out];
}
