/**
 * The alert manager: one state per burst, a pure deterministic function of the notices in order.
 *
 * Rules (see ../README.md for the table):
 * - duplicate IVORN → ignore ('duplicate'); test packets (role test / broker test) → kept, ignore;
 * - retraction (Packet_Type 219 or a `cite="retraction"` citation) → state retracted; 'retract' with a
 *   cancellation when the burst had been triggered, else ignore ('retracted before trigger');
 *   anything after a retraction → ignore;
 * - catalog trigger (203: a known source) → never triggers ('catalog source');
 * - position: the best wins — MXT > VT > ECLAIRs > GRM > other missions' instruments; within the same
 *   rank, the smaller known error wins; unknown error (Error2Radius -1) loses to any known one;
 * - T0: the earliest trigger time seen for the burst (ECLAIRs/GRM trigger time), not later notices' times;
 * - trigger: first time the burst is observable = not test, not retracted, not catalog, position known,
 *   error radius known and ≤ maxErrorRadiusDeg (COLIBRI's field is 26′; default limit 0.5°);
 * - update: an already-triggered burst whose best position or T0 changed → reference file version + 1;
 *   otherwise ignore ('no better position').
 */
import type { ParsedAlert } from './parse.ts';

export type Action = 'trigger' | 'update' | 'retract' | 'ignore';

export interface BurstState {
  burstId: string;
  ivorns: string[];
  notices: number;
  t0: string | null;
  best: { ivorn: string; instrument: string | null; ra: number; dec: number; errorRadiusDeg: number | null; rank: number } | null;
  triggered: boolean;
  retracted: boolean;
  catalog: boolean;
  testOnly: boolean;
  referenceVersion: number;
}

export interface ManagerConfig {
  maxErrorRadiusDeg: number;
}
export const DEFAULT_MANAGER: ManagerConfig = { maxErrorRadiusDeg: 0.5 };

export interface Decision {
  state: BurstState;
  action: Action;
  reason: string;
  /** A new reference file version must be issued (trigger or update) */
  issueReference: boolean;
  /** A cancellation must be emitted */
  cancel: boolean;
}

const RANK: Record<string, number> = { MXT: 4, VT: 3, ECLAIRS: 2, GRM: 1, XRT: 4, BAT: 2 };
const rank = (instrument: string | null) => RANK[(instrument ?? '').toUpperCase()] ?? 0;

export function emptyState(burstId: string): BurstState {
  return { burstId, ivorns: [], notices: 0, t0: null, best: null, triggered: false, retracted: false, catalog: false, testOnly: true, referenceVersion: 0 };
}

function better(a: NonNullable<BurstState['best']>, b: BurstState['best']): boolean {
  if (!b) return true;
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (a.errorRadiusDeg === null) return false;
  if (b.errorRadiusDeg === null) return true;
  return a.errorRadiusDeg < b.errorRadiusDeg;
}

export function applyAlert(prev: BurstState | undefined, a: ParsedAlert, cfg: ManagerConfig = DEFAULT_MANAGER): Decision {
  const s: BurstState = prev ? { ...prev, ivorns: [...prev.ivorns], best: prev.best && { ...prev.best } } : emptyState(a.burstId);
  const out = (action: Action, reason: string, issueReference = false, cancel = false): Decision => ({ state: s, action, reason, issueReference, cancel });
  if (s.ivorns.includes(a.ivorn)) return { state: prev ?? s, action: 'ignore', reason: 'duplicate IVORN', issueReference: false, cancel: false };
  s.ivorns.push(a.ivorn);
  s.notices++;
  if (a.isTest) return out('ignore', 'test packet (kept, never triggers)');
  s.testOnly = false;
  const isRetraction = a.packetType === 219 || a.cites.some((c) => c.type === 'retraction');
  if (s.retracted) return out('ignore', 'burst already retracted');
  if (isRetraction) {
    s.retracted = true;
    return s.triggered ? out('retract', 'retraction: pending work cancelled', false, true) : out('ignore', 'retracted before any trigger');
  }
  if (a.mission === 'SVOM' && a.packetType === 203) {
    s.catalog = true;
    return out('ignore', 'catalog trigger (known source): no burst follow-up');
  }
  // T0: earliest trigger time of the burst
  const t0Before = s.t0;
  if (a.t0 && (!s.t0 || a.t0 < s.t0)) s.t0 = a.t0;
  const bestBefore = s.best;
  if (a.positionKnown) {
    const cand = { ivorn: a.ivorn, instrument: a.instrument, ra: a.ra!, dec: a.dec!, errorRadiusDeg: a.errorRadiusDeg, rank: rank(a.instrument) };
    if (better(cand, s.best)) s.best = cand;
  }
  if (s.catalog) return out('ignore', 'catalog source');
  const b = s.best;
  if (!b) return out('ignore', 'waiting for a position');
  if (b.errorRadiusDeg === null) return out('ignore', 'position error unknown (Error2Radius -1): not observable yet');
  if (b.errorRadiusDeg > cfg.maxErrorRadiusDeg) return out('ignore', `error radius ${b.errorRadiusDeg}° above the ${cfg.maxErrorRadiusDeg}° limit`);
  if (!s.t0) return out('ignore', 'no T0');
  if (!s.triggered) {
    s.triggered = true;
    s.referenceVersion++;
    return out('trigger', `observable: ${b.instrument ?? 'unknown'} position, error ${b.errorRadiusDeg}°`, true);
  }
  if (b !== bestBefore || s.t0 !== t0Before) {
    s.referenceVersion++;
    return out('update', b !== bestBefore ? `better position from ${b.instrument ?? 'unknown'} (error ${b.errorRadiusDeg}°)` : 'earlier T0', true);
  }
  return out('ignore', 'no better position');
}
