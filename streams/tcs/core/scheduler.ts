/**
 * The telescope's decisions in event time (issue 15): alerts become observation blocks that the
 * simulated COLIBRI telescope accepts or refuses (with the reason), schedules by priority, slews to and
 * exposes; a higher-priority alert interrupts the running block (which goes back to the queue), an
 * update re-points a block, a retraction stops it, closed weather pauses it. Pure and deterministic:
 * the same events give the same timeline at any replay speed.
 *
 * Rules (learned from how robotic GRB follow-up telescopes select alerts, e.g. the UNAM TCS selector;
 * our own code and numbers):
 * - priority by mission/instrument: SVOM ECLAIRs/MXT/VT 1, SVOM GRM 2, Swift 3, Fermi 4, others 5
 *   (lower first); ties: the earlier alert;
 * - refused at once: error radius above `maxErrorDeg` (the field), alert later than `maxDelayH` after
 *   T0, or no moment before T0 + maxDelayH when the field is observable (Sun below `maxSunAlt`, the
 *   target above `minAlt` (airmass), within `maxHourAngleH` of the meridian, `minMoonDeg` from the
 *   Moon); otherwise accepted, and held until observable when it is not yet (daytime, rising field);
 * - the visit plan depends on the alert delay and error radius: early alerts get short exposures,
 *   late ones longer; a radius above half the field gets a dither pattern;
 * - slews take `settleS` + distance / `slewDegPerS`.
 */
import { SAN_PEDRO_MARTIR, horizontal, moonDistance, separation, sunHorizontal, type Site } from './sky.ts';

export interface TcsConfig {
  site: Site;
  maxSunAlt: number;
  minAlt: number;
  maxHourAngleH: number;
  minMoonDeg: number;
  maxErrorDeg: number;
  maxDelayH: number;
  slewDegPerS: number;
  settleS: number;
  /** dead time between exposures (readout), s */
  readoutS: number;
}

export const DEFAULT_TCS: TcsConfig = {
  site: SAN_PEDRO_MARTIR, maxSunAlt: -12, minAlt: 30, maxHourAngleH: 5, minMoonDeg: 15, maxErrorDeg: 0.3, maxDelayH: 24,
  slewDegPerS: 2, settleS: 10, readoutS: 5,
};

export interface AlertEvent {
  type: 'alert';
  /** receipt time (event time), ms */
  at: number;
  burstId: string;
  kind: 'trigger' | 'update' | 'cancel';
  t0: number;
  ra: number;
  dec: number;
  errorRadiusDeg: number | null;
  mission: string;
  instrument: string | null;
}
export interface WeatherEvent { type: 'weather'; at: number; open: boolean; reason?: string }
export type TcsEvent = AlertEvent | WeatherEvent;

export interface VisitPlan { exptimeS: number; count: number; filters: string[]; dithersArcsec: [number, number][] }

export type TcsOutput =
  | { type: 'decision'; at: number; burstId: string; accepted: boolean; reason: string; priority: number; plan: VisitPlan | null; observableFrom: number | null }
  | { type: 'slew'; start: number; end: number; burstId: string; ra: number; dec: number; reason: string }
  | { type: 'exposure'; start: number; end: number; burstId: string; blockId: string; index: number; ra: number; dec: number; filter: string; exptimeS: number; ditherArcsec: [number, number] }
  | { type: 'block'; at: number; burstId: string; blockId: string; state: 'started' | 'interrupted' | 'resumed' | 'paused' | 'stopped' | 'done' | 'expired'; reason: string };

export interface TelescopeSnapshot {
  queue: Block[];
  current: Block | null;
  pointing: { ra: number; dec: number } | null;
  busyUntil: number | null;
  open: boolean;
  seq: number;
  cursor: number | null;
  slewedFor: string[];
}

interface Block {
  id: string;
  burstId: string;
  priority: number;
  seq: number;
  ra: number;
  dec: number;
  t0: number;
  plan: VisitPlan;
  next: number;
  endBy: number;
}

export function priorityOf(mission: string, instrument: string | null): number {
  const m = mission.toLowerCase();
  const i = (instrument ?? '').toLowerCase();
  if (m.includes('svom')) return /grm/.test(i) ? 2 : 1;
  if (m.includes('swift')) return 3;
  if (m.includes('fermi')) return 4;
  return 5;
}

/** Exposures by alert delay; a dither pattern when the error region is larger than half the field. */
export function visitPlan(delayS: number, errorRadiusDeg: number | null, cfg: TcsConfig = DEFAULT_TCS): VisitPlan {
  const early = delayS < 3600;
  const dithers: [number, number][] = errorRadiusDeg !== null && errorRadiusDeg > cfg.maxErrorDeg / 2 ? [[0, 0], [360, 0], [0, 360], [-360, 0], [0, -360]] : [[0, 0]];
  return early ? { exptimeS: 55, count: 60, filters: ['r'], dithersArcsec: dithers } : { exptimeS: 115, count: 30, filters: ['r', 'i'], dithersArcsec: dithers };
}

/** Why the field cannot be observed at `ms` (null: it can). */
export function constraintAt(ra: number, dec: number, ms: number, cfg: TcsConfig = DEFAULT_TCS): string | null {
  const sun = sunHorizontal(ms, cfg.site).alt;
  if (sun > cfg.maxSunAlt) return `Sun above ${cfg.maxSunAlt}°`;
  const h = horizontal(ra, dec, ms, cfg.site);
  if (h.alt <= 0) return 'below the horizon';
  if (h.alt < cfg.minAlt) return `below the airmass limit (altitude ${cfg.minAlt}°)`;
  if (Math.abs(h.ha) > cfg.maxHourAngleH * 15) return `hour angle beyond ${cfg.maxHourAngleH} h`;
  if (moonDistance(ra, dec, ms) < cfg.minMoonDeg) return `within ${cfg.minMoonDeg}° of the Moon`;
  return null;
}

/** The first moment in [from, until] (1-minute steps) when the field is observable, and the reason it is not at `from`. */
export function firstObservable(ra: number, dec: number, from: number, until: number, cfg: TcsConfig = DEFAULT_TCS): { at: number | null; reason: string | null } {
  const reason = constraintAt(ra, dec, from, cfg);
  if (!reason) return { at: from, reason: null };
  for (let t = from + 60_000; t <= until; t += 60_000) if (!constraintAt(ra, dec, t, cfg)) return { at: t, reason };
  return { at: null, reason };
}

export class TelescopeScheduler {
  private queue: Block[] = [];
  private current: Block | null = null;
  private pointing: { ra: number; dec: number } | null = null;
  /** the telescope is busy (slewing, exposing) until then */
  private busyUntil = -Infinity;
  private open = true;
  private seq = 0;
  /** the time up to which an idle telescope has looked for work */
  private cursor = -Infinity;
  private readonly slewedFor = new Set<string>();

  constructor(private readonly cfg: TcsConfig = DEFAULT_TCS) {}

  /** The telescope's whole state as JSON (a stage keeps it in its state store: Kafka restores it). */
  snapshot(): TelescopeSnapshot {
    const fin = (x: number) => (Number.isFinite(x) ? x : null);
    return { queue: this.queue.map((b) => ({ ...b, plan: { ...b.plan } })), current: this.current ? { ...this.current } : null, pointing: this.pointing, busyUntil: fin(this.busyUntil), open: this.open, seq: this.seq, cursor: fin(this.cursor), slewedFor: [...this.slewedFor].sort() };
  }

  static restore(s: TelescopeSnapshot, cfg: TcsConfig = DEFAULT_TCS): TelescopeScheduler {
    const t = new TelescopeScheduler(cfg);
    t.queue = s.queue.map((b) => ({ ...b }));
    t.current = s.current ? { ...s.current } : null;
    t.pointing = s.pointing;
    t.busyUntil = s.busyUntil ?? -Infinity;
    t.open = s.open;
    t.seq = s.seq;
    t.cursor = s.cursor ?? -Infinity;
    for (const id of s.slewedFor) t.slewedFor.add(id);
    return t;
  }

  /** Advances to the event's time, then applies it. */
  handle(e: TcsEvent): TcsOutput[] {
    const out = this.advance(e.at);
    if (e.type === 'weather') {
      this.open = e.open;
      if (this.current) out.push({ type: 'block', at: e.at, burstId: this.current.burstId, blockId: this.current.id, state: e.open ? 'resumed' : 'paused', reason: e.open ? 'weather open' : `weather closed${e.reason ? `: ${e.reason}` : ''}` });
      return out.concat(this.advance(e.at));
    }
    const known = [this.current, ...this.queue].find((b) => b?.burstId === e.burstId) ?? null;
    if (e.kind === 'cancel') {
      if (known) {
        this.drop(known);
        out.push({ type: 'block', at: e.at, burstId: e.burstId, blockId: known.id, state: 'stopped', reason: 'retracted' });
      }
      return out.concat(this.advance(e.at));
    }
    if (known) {
      // an update refines the position: the next exposure is taken there (after a re-point when it moved)
      known.ra = e.ra;
      known.dec = e.dec;
      return out.concat(this.advance(e.at));
    }
    const priority = priorityOf(e.mission, e.instrument);
    const refuse = (reason: string) => out.push({ type: 'decision', at: e.at, burstId: e.burstId, accepted: false, reason, priority, plan: null, observableFrom: null });
    const endBy = e.t0 + this.cfg.maxDelayH * 3_600_000;
    if (e.errorRadiusDeg !== null && e.errorRadiusDeg > this.cfg.maxErrorDeg) refuse(`error radius too large (${e.errorRadiusDeg.toFixed(2)}° > ${this.cfg.maxErrorDeg}°)`);
    else if (e.at > endBy) refuse(`alert too late (${((e.at - e.t0) / 3_600_000).toFixed(1)} h after T0 > ${this.cfg.maxDelayH} h)`);
    else if (!this.open) refuse('weather closed');
    else {
      const obs = firstObservable(e.ra, e.dec, e.at, endBy, this.cfg);
      if (obs.at === null) refuse(`${obs.reason} until the alert expires`);
      else {
        const plan = visitPlan((Math.max(e.at, obs.at) - e.t0) / 1000, e.errorRadiusDeg, this.cfg);
        const b: Block = { id: `${e.burstId}-b${++this.seq}`, burstId: e.burstId, priority, seq: this.seq, ra: e.ra, dec: e.dec, t0: e.t0, plan, next: 0, endBy };
        out.push({ type: 'decision', at: e.at, burstId: e.burstId, accepted: true, reason: obs.reason ? `accepted, held: ${obs.reason} until ${new Date(obs.at).toISOString()}` : 'accepted', priority, plan, observableFrom: obs.at });
        this.queue.push(b);
        if (this.current && priority < this.current.priority) {
          // (after the exposure in progress)
          out.push({ type: 'block', at: e.at, burstId: this.current.burstId, blockId: this.current.id, state: 'interrupted', reason: `higher-priority alert ${e.burstId}` });
          this.queue.push(this.current);
          this.current = null;
        }
      }
    }
    return out.concat(this.advance(e.at));
  }

  private drop(b: Block): void {
    if (this.current === b) this.current = null;
    this.queue = this.queue.filter((x) => x !== b);
  }

  /** Runs the telescope until `to`: picks blocks, slews, takes the exposures that start before `to`. */
  advance(to: number): TcsOutput[] {
    const out: TcsOutput[] = [];
    for (let guard = 0; guard < 100_000; guard++) {
      // the telescope is free from `start` on (it may have been idle: then from the last time looked at)
      let start = Math.max(this.busyUntil, this.cursor);
      if (!Number.isFinite(start)) start = to; // the first event: the telescope starts then
      if (start > to) break;
      if (!this.open) {
        this.cursor = to;
        break;
      }
      if (!this.current) {
        for (const b of this.queue.filter((x) => start > x.endBy)) {
          out.push({ type: 'block', at: start, burstId: b.burstId, blockId: b.id, state: 'expired', reason: 'the alert expired before it could be observed' });
          this.drop(b);
        }
        this.queue.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
        // the first moment in [start, to] when a queued block is observable (minute steps), in priority order
        let ready: Block | undefined;
        for (let t = start; t <= to && !ready; t += 60_000) {
          ready = this.queue.find((b) => t <= b.endBy && !constraintAt(b.ra, b.dec, t, this.cfg));
          if (ready) start = t;
        }
        if (!ready) {
          this.cursor = to;
          break;
        }
        this.current = ready;
        this.queue = this.queue.filter((x) => x !== ready);
        out.push({ type: 'block', at: start, burstId: ready.burstId, blockId: ready.id, state: ready.next ? 'resumed' : 'started', reason: ready.next ? 'back from the queue' : `priority ${ready.priority}` });
      }
      const b = this.current;
      const plan = b.plan;
      const i = b.next;
      const filter = plan.filters[i % plan.filters.length];
      const dither = plan.dithersArcsec[Math.floor(i / plan.filters.length) % plan.dithersArcsec.length];
      const cosd = Math.max(0.05, Math.cos((b.dec * Math.PI) / 180));
      const target = { ra: b.ra + dither[0] / 3600 / cosd, dec: b.dec + dither[1] / 3600 };
      let s = start;
      if (!this.pointing || separation(this.pointing.ra, this.pointing.dec, target.ra, target.dec) > 1 / 3600) {
        const dist = this.pointing ? separation(this.pointing.ra, this.pointing.dec, target.ra, target.dec) : 90;
        const end = s + 1000 * (this.cfg.settleS + dist / this.cfg.slewDegPerS);
        out.push({ type: 'slew', start: s, end, burstId: b.burstId, ra: target.ra, dec: target.dec, reason: i === 0 && !this.slewedFor.has(b.id) ? 'new block' : dither[0] || dither[1] ? 'dither' : 're-point' });
        this.slewedFor.add(b.id);
        this.pointing = target;
        s = end;
      }
      const why = constraintAt(b.ra, b.dec, s, this.cfg);
      if (why) {
        out.push({ type: 'block', at: s, burstId: b.burstId, blockId: b.id, state: 'interrupted', reason: why });
        this.queue.push(b);
        this.current = null;
        this.busyUntil = s;
        this.cursor = s + 60_000; // look again a minute later
        continue;
      }
      const end = s + plan.exptimeS * 1000;
      out.push({ type: 'exposure', start: s, end, burstId: b.burstId, blockId: b.id, index: i, ra: target.ra, dec: target.dec, filter, exptimeS: plan.exptimeS, ditherArcsec: dither });
      b.next++;
      this.busyUntil = end + this.cfg.readoutS * 1000;
      if (b.next >= plan.count) {
        out.push({ type: 'block', at: end, burstId: b.burstId, blockId: b.id, state: 'done', reason: `${plan.count} exposures` });
        this.current = null;
      }
    }
    return out;
  }
}
