/**
 * The alert manager: one state per burst, a pure and deterministic function of the notices in the order
 * they are applied. No clock, no randomness, no I/O: replaying the same notices gives byte-identical
 * states, decisions and outputs. The state is plain JSON (strings, numbers, booleans, null, arrays,
 * objects; never undefined), so the stage can keep it in a compacted topic keyed by burst id and rebuild
 * it after a restart.
 *
 * Rules, evaluated in this order (the README has the same table; `rule` is the stable identifier):
 *
 * | # | rule             | condition                                                 | action / reason                                   |
 * |---|------------------|-----------------------------------------------------------|---------------------------------------------------|
 * | 1 | duplicate        | IVORN already applied to this burst                       | ignore 'duplicate' — state unchanged              |
 * | 2 | too-many         | the burst already holds `maxNoticesPerBurst` notices      | ignore — state unchanged (bounds the state size)  |
 * | 3 | test             | role="test", "Broker test event", GCN Test_Submission      | ignore — recorded in the sequence, never triggers |
 * | 4 | not-observation  | role utility or prediction                                | ignore — recorded                                 |
 * | 4′| not-grb          | not a GRB alert stream (LVK, IceCube, MAXI, Gaia, …)      | ignore — recorded, never followed                 |
 * | 5 | retraction       | SVOM 219 or a cite="retraction", burst triggered          | retract + cancel output                           |
 * | 5'| retraction       | same, burst never triggered                               | retract, no output (just marked retracted)        |
 * | 6 | retracted        | any later notice of a retracted burst                     | ignore (a second retraction too)                  |
 * | 7 | known-source     | SVOM 203 eclairs-catalog, GCN catalogued / Def_NOT_a_GRB   | ignore; if it was triggered: retract + cancel     |
 * | 8 | catalog          | any later notice of a known-source burst                  | ignore                                            |
 * | 8′| not-grb          | the notice classifies the event as not (yet) a GRB        | ignore — recorded, nothing merged; the burst      |
 * |   |                  | (Fermi GBM Most_Likely_Index ≠ 4, Swift GRB_Identified=0) | stays open (a later notice may say GRB)           |
 * | 9 | (merge)          | T0 and best position updated from the notice (below)      | —                                                 |
 * |10 | no-position      | no notice gave a position yet                             | ignore 'waiting for position'                     |
 * |11 | unknown-error    | best position has an unknown error (Error2Radius -1)      | ignore                                            |
 * |12 | error-too-large  | best error radius > maxErrorRadiusDeg (not yet triggered) | ignore                                            |
 * |13 | no-t0            | no T0 known                                               | ignore                                            |
 * |14 | trigger          | first time observable                                     | trigger; reference v1 + GP1 trigger outputs       |
 * |15 | update           | triggered, best position or T0 differs from the last      | update; reference v+1 + GP1 update outputs        |
 * |   |                  | reference file issued                                     |                                                   |
 * |16 | no-change        | triggered, nothing the reference file holds changed       | ignore                                            |
 *
 * Best position (rule 9): a known error beats an unknown one; then the instrument rank (RANK):
 * VT/UVOT > MXT/XRT > ECLAIRs/BAT > LAT > GRM/GBM > any other instrument; then the smaller error; on
 * a full tie the incumbent stays (so equal notices do not flip the position with arrival order). Positions of test,
 * retraction and known-source notices are never used.
 *
 * T0 (rule 9), by precedence: Alert_Seq_T0 when an SVOM notice gives it (the FSC's own T0 of the alert
 * sequence); else the ISOTime of a trigger-level notice (SVOM 199–205: GRM/ECLAIRs trigger time; every
 * classic GCN notice, whose ISOTime is the burst trigger time); else, provisionally, the ISOTime of an
 * MXT/VT notice (their time is an observation time, used only until a trigger time arrives). Within one
 * precedence level the earliest time wins (order-independent). Example sb26022501: wakeup says
 * 08:51:04.859, slewing refines it to 08:50:57.169 → T0 08:50:57.169; the MXT time 09:36:39 is ignored.
 *
 * Error-radius limit (rule 12): default 0.3° = 18′, the half-diagonal of COLIBRI's 26′ × 26′ field:
 * beyond it, more than a third of the error circle falls outside one pointing. ECLAIRs (~8–10′ at 90%),
 * MXT, VT, Swift BAT/XRT pass; GRM (-1 = tens of degrees) and Fermi GBM (degrees) do not. The limit
 * only gates the *first* trigger: once triggered, a better (or re-ranked) position always updates.
 */
import { isRetraction, type ParsedAlert } from './parse.ts';

export type Action = 'trigger' | 'update' | 'retract' | 'ignore';
export type Rule =
  | 'duplicate'
  | 'too-many'
  | 'test'
  | 'not-observation'
  | 'not-grb'
  | 'retraction'
  | 'retracted'
  | 'known-source'
  | 'catalog'
  | 'no-position'
  | 'unknown-error'
  | 'error-too-large'
  | 'no-t0'
  | 'trigger'
  | 'update'
  | 'no-change';

export interface ManagerConfig {
  /** Largest error radius (deg) that starts a follow-up. Default 0.3 (see above). */
  maxErrorRadiusDeg: number;
  /** Notices kept per burst; later ones are ignored ('too-many'). SVOM sends ≤ ~10 per burst. */
  maxNoticesPerBurst: number;
}

export const DEFAULT_MANAGER_CONFIG: Readonly<ManagerConfig> = Object.freeze({ maxErrorRadiusDeg: 0.3, maxNoticesPerBurst: 200 });

/** One applied notice, in application order. */
export interface NoticeRecord {
  seq: number;
  ivorn: string;
  packetType: number | null;
  packetName: string | null;
  instrument: string | null;
  noticeLevel: string | null;
  isTest: boolean;
  action: Action;
  rule: Rule;
}

export interface Position {
  ivorn: string;
  instrument: string | null;
  rank: number;
  ra: number;
  dec: number;
  errorRadiusDeg: number | null;
}

export type T0Kind = 'alert-seq' | 'trigger' | 'provisional';

/** What the last reference file said: an update is issued only when one of these changes. */
export interface Issued {
  version: number;
  t0: string;
  ra: number;
  dec: number;
  errorRadiusDeg: number | null;
  ivorn: string;
}

export interface BurstState {
  schema: 1;
  burstId: string;
  mission: string;
  notices: NoticeRecord[];
  t0: string | null;
  t0Kind: T0Kind | null;
  t0Ivorn: string | null;
  best: Position | null;
  triggered: boolean;
  retracted: boolean;
  /** Known source (catalog trigger / not a GRB): never followed. */
  catalog: boolean;
  /** Version of the last reference file issued (0 = none). */
  referenceVersion: number;
  issued: Issued | null;
}

/**
 * What the stage must emit for this decision, in order:
 * - `reference`: write reference file `version` of the burst (from the new state);
 * - `trigger` / `update`: a GP1 trigger record pointing at that reference version;
 * - `cancel`: a GP1 cancellation (the burst was triggered and is now retracted / a known source).
 */
export interface ManagerOutput {
  kind: 'reference' | 'trigger' | 'update' | 'cancel';
  burstId: string;
  version: number;
}

export interface Decision {
  state: BurstState;
  action: Action;
  rule: Rule;
  reason: string;
  outputs: ManagerOutput[];
}

/** Instrument rank for the best position (higher wins). Unknown instruments rank 0. */
export const RANK: Readonly<Record<string, number>> = Object.freeze({ VT: 5, UVOT: 5, MXT: 4, XRT: 4, ECLAIRS: 3, BAT: 3, LAT: 2, GRM: 1, GBM: 1 });

export function instrumentRank(instrument: string | null): number {
  return RANK[(instrument ?? '').toUpperCase()] ?? 0;
}

export function emptyState(burstId: string, mission = 'unknown'): BurstState {
  return { schema: 1, burstId, mission, notices: [], t0: null, t0Kind: null, t0Ivorn: null, best: null, triggered: false, retracted: false, catalog: false, referenceVersion: 0, issued: null };
}

/** True when candidate `a` is a better position than the incumbent `b` (see the rules above). */
export function betterPosition(a: Position, b: Position | null): boolean {
  if (!b) return true;
  if ((a.errorRadiusDeg === null) !== (b.errorRadiusDeg === null)) return a.errorRadiusDeg !== null;
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (a.errorRadiusDeg !== null && b.errorRadiusDeg !== null && a.errorRadiusDeg !== b.errorRadiusDeg) return a.errorRadiusDeg < b.errorRadiusDeg;
  return false;
}

const T0_PRECEDENCE: Record<T0Kind, number> = { 'alert-seq': 3, trigger: 2, provisional: 1 };
const SVOM_TRIGGER_LEVEL = new Set([199, 200, 201, 202, 203, 204, 205]);

/** The T0 a notice offers, with its precedence kind (see the rules above); null when none. */
export function t0Candidate(a: ParsedAlert): { t0: string; kind: T0Kind } | null {
  if (a.alertSeqT0) return { t0: a.alertSeqT0, kind: 'alert-seq' };
  if (!a.t0) return null;
  if (a.mission !== 'SVOM') return { t0: a.t0, kind: 'trigger' };
  return { t0: a.t0, kind: a.packetType !== null && SVOM_TRIGGER_LEVEL.has(a.packetType) ? 'trigger' : 'provisional' };
}

const fmt = (deg: number | null) => (deg === null ? 'unknown' : `${+deg.toFixed(4)}°`);

function cloneState(s: BurstState): BurstState {
  return {
    ...s,
    notices: s.notices.map((n) => ({ ...n })),
    best: s.best && { ...s.best },
    issued: s.issued && { ...s.issued },
  };
}

/**
 * Applies one parsed notice to its burst's state (undefined = first notice of the burst).
 * Never mutates `prev`. Throws only on a programming error (a state of another burst).
 */
export function applyAlert(prev: BurstState | undefined, alert: ParsedAlert, config: Partial<ManagerConfig> = {}): Decision {
  const cfg: ManagerConfig = { ...DEFAULT_MANAGER_CONFIG, ...config };
  if (prev && prev.burstId !== alert.burstId) throw new Error(`applyAlert: state of burst ${prev.burstId} given for a notice of burst ${alert.burstId}`);
  if (prev?.notices.some((n) => n.ivorn === alert.ivorn)) return { state: prev, action: 'ignore', rule: 'duplicate', reason: 'duplicate', outputs: [] };
  if (prev && prev.notices.length >= cfg.maxNoticesPerBurst) {
    return { state: prev, action: 'ignore', rule: 'too-many', reason: `too many notices for one burst (limit ${cfg.maxNoticesPerBurst})`, outputs: [] };
  }

  const s = prev ? cloneState(prev) : emptyState(alert.burstId, alert.mission);
  const record: NoticeRecord = {
    seq: s.notices.length + 1,
    ivorn: alert.ivorn,
    packetType: alert.packetType,
    packetName: alert.packetName,
    instrument: alert.instrument,
    noticeLevel: alert.noticeLevel,
    isTest: alert.isTest,
    action: 'ignore',
    rule: 'no-change',
  };
  s.notices.push(record);
  const decide = (action: Action, rule: Rule, reason: string, outputs: ManagerOutput[] = []): Decision => {
    record.action = action;
    record.rule = rule;
    return { state: s, action, rule, reason, outputs };
  };
  const cancel = (): ManagerOutput[] => [{ kind: 'cancel', burstId: s.burstId, version: s.referenceVersion }];

  if (alert.isTest) return decide('ignore', 'test', 'test packet (recorded, never triggers)');
  if (alert.role !== 'observation') return decide('ignore', 'not-observation', `role ${alert.role}: not an observation`);
  if (!alert.grbStream) {
    const what = `${alert.mission === 'unknown' ? 'unknown mission' : alert.mission}${alert.packetType !== null ? ` type ${alert.packetType}` : ''}`;
    return decide('ignore', 'not-grb', `not a GRB alert stream (${what}): never followed`);
  }

  if (isRetraction(alert)) {
    if (s.retracted) return decide('ignore', 'retracted', 'already retracted');
    s.retracted = true;
    return s.triggered
      ? decide('retract', 'retraction', 'retraction: GP1 work cancelled', cancel())
      : decide('retract', 'retraction', 'retraction before any trigger: nothing to cancel');
  }
  if (s.retracted) return decide('ignore', 'retracted', 'burst retracted earlier');

  if (alert.catalogSource || alert.notGrb) {
    const what = alert.catalogSource ? (alert.mission === 'SVOM' ? 'catalog trigger (203): known source' : 'known catalogued source') : 'flagged not a GRB';
    const wasTriggered = s.triggered && !s.catalog;
    s.catalog = true;
    return wasTriggered ? decide('retract', 'known-source', `${what}: GP1 work cancelled`, cancel()) : decide('ignore', 'known-source', `${what}, no burst follow-up`);
  }
  if (s.catalog) return decide('ignore', 'catalog', 'known source: no burst follow-up');
  if (alert.notGrbReason) return decide('ignore', 'not-grb', `${alert.notGrbReason}: notice not used`);

  // Merge T0 and position.
  const cand = t0Candidate(alert);
  if (cand) {
    const cur = s.t0Kind ? T0_PRECEDENCE[s.t0Kind] : 0;
    const mine = T0_PRECEDENCE[cand.kind];
    if (mine > cur || (mine === cur && s.t0 !== null && cand.t0 < s.t0)) {
      s.t0 = cand.t0;
      s.t0Kind = cand.kind;
      s.t0Ivorn = alert.ivorn;
    }
  }
  if (alert.positionKnown && alert.ra !== null && alert.dec !== null) {
    const p: Position = { ivorn: alert.ivorn, instrument: alert.instrument, rank: instrumentRank(alert.instrument), ra: alert.ra, dec: alert.dec, errorRadiusDeg: alert.errorRadiusDeg };
    if (betterPosition(p, s.best)) s.best = p;
  }

  const b = s.best;
  if (!s.triggered) {
    if (!b) return decide('ignore', 'no-position', 'waiting for position');
    if (b.errorRadiusDeg === null) return decide('ignore', 'unknown-error', 'waiting for position: error radius unknown (Error2Radius -1)');
    if (b.errorRadiusDeg > cfg.maxErrorRadiusDeg) return decide('ignore', 'error-too-large', `error radius ${fmt(b.errorRadiusDeg)} above the ${cfg.maxErrorRadiusDeg}° limit`);
    if (!s.t0) return decide('ignore', 'no-t0', 'waiting for T0');
    s.triggered = true;
    issue(s);
    return decide('trigger', 'trigger', `observable: ${b.instrument ?? 'unknown instrument'} position, error ${fmt(b.errorRadiusDeg)}`, [
      { kind: 'reference', burstId: s.burstId, version: s.referenceVersion },
      { kind: 'trigger', burstId: s.burstId, version: s.referenceVersion },
    ]);
  }

  // Triggered: the best position and T0 exist (they were needed to trigger and are never removed).
  const last = s.issued!;
  const moved = b!.ra !== last.ra || b!.dec !== last.dec || b!.errorRadiusDeg !== last.errorRadiusDeg;
  const retimed = s.t0 !== last.t0;
  if (!moved && !retimed) return decide('ignore', 'no-change', 'no change to best position or T0');
  issue(s);
  const parts: string[] = [];
  if (moved) parts.push(`better position from ${b!.instrument ?? 'unknown instrument'} (error ${fmt(b!.errorRadiusDeg)})`);
  if (retimed) parts.push(`T0 ${last.t0} → ${s.t0}`);
  return decide('update', 'update', parts.join('; '), [
    { kind: 'reference', burstId: s.burstId, version: s.referenceVersion },
    { kind: 'update', burstId: s.burstId, version: s.referenceVersion },
  ]);
}

function issue(s: BurstState): void {
  s.referenceVersion++;
  s.issued = { version: s.referenceVersion, t0: s.t0!, ra: s.best!.ra, dec: s.best!.dec, errorRadiusDeg: s.best!.errorRadiusDeg, ivorn: s.best!.ivorn };
}

/**
 * A state read back from storage (JSON text or an already parsed value), or null when it is not a
 * state of this schema (e.g. written by an older manager): the caller then starts the burst afresh.
 */
export function restoreState(json: string | unknown): BurstState | null {
  let v: unknown = json;
  if (typeof json === 'string') {
    try {
      v = JSON.parse(json);
    } catch {
      return null;
    }
  }
  const s = v as Partial<BurstState> | null;
  if (!s || typeof s !== 'object' || s.schema !== 1 || typeof s.burstId !== 'string' || !Array.isArray(s.notices)) return null;
  if (typeof s.triggered !== 'boolean' || typeof s.retracted !== 'boolean' || typeof s.catalog !== 'boolean' || typeof s.referenceVersion !== 'number') return null;
  if (s.triggered && (!s.issued || !s.best || !s.t0)) return null;
  return s as BurstState;
}

/** Applies notices in order to a map of states (one per burst); returns the decisions in order. */
export function applyAll(states: Map<string, BurstState>, alerts: ParsedAlert[], config: Partial<ManagerConfig> = {}): Decision[] {
  return alerts.map((a) => {
    const d = applyAlert(states.get(a.burstId), a, config);
    states.set(a.burstId, d.state);
    return d;
  });
}
