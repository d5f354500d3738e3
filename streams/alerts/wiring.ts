/**
 * Alerts stage (group `alerts`): voevent.raw → alerts.managed (every decision, with the burst state),
 * alerts.reference (a new version on trigger/update) and gp1.trigger (trigger, update, cancel).
 * Unparseable packets go to alerts.dlq with the reason (the raw bytes stay in voevent.raw).
 *
 * State: one BurstState per burst in the store of the voevent.raw partition (key `burst/<burst id>`,
 * forgotten GFT_CLOSED_RETENTION_DAYS after the burst's T0, event time),
 * written to `alerts.changelog` in the same transaction as the decision, its outputs and the input
 * offset, and restored from it when the partition is assigned: a restart, a standby instance taking
 * over, or a replay into a fresh namespace gives the same decisions. voevent.raw has one partition
 * (a total order of alerts): one instance decides, the others are standbys.
 * Event time: issuedAt = the receipt time recorded by the intake, never the wall clock.
 */
import type { StageDefinition, Output } from '../../lib/runtime/runner.ts';
import { invalidInput, FatalStageError } from '../../lib/runtime/errors.ts';
import { field, loadConfig } from '../../lib/config/define.ts';
import { LocalStorage } from '../../connectors/storage/storage.ts';
import { parseVoevent } from './core/parse.ts';
import { applyAlert, restoreState, DEFAULT_MANAGER_CONFIG } from './core/manager.ts';
import { buildReference, checkPlan, referenceJson, DC3_PLAN, DEFAULT_CATALOG } from './core/reference.ts';
import { CatalogSource } from './catalogSource.ts';
import { closingConfig, type ClosingConfig } from '../../lib/runtime/closing.ts';
import { InvalidInput } from './core/errors.ts';

export const alertsSchema = {
  catalog: field<string>({ env: 'GFT_ALERTS_CATALOG', type: 'string', doc: 'Reference star catalog: a file (CSV ra,dec,mag[,band] or FITS table with those columns) or a folder of them (e.g. one per field); re-read when it changes, no restart; empty = no stars', default: '' }),
  catalogRadiusDeg: field<number>({ env: 'GFT_ALERTS_CATALOG_RADIUS_DEG', type: 'number', doc: 'Reference stars extracted within this radius of the best position (deg)', default: DEFAULT_CATALOG.radiusDeg, min: 0 }),
  maxErrorDeg: field<number>({ env: 'GFT_ALERTS_MAX_ERROR_DEG', type: 'number', doc: 'Largest error radius that triggers GP1 (deg); 0.3 = half-diagonal of the 26 arcmin COLIBRI field', default: DEFAULT_MANAGER_CONFIG.maxErrorRadiusDeg, min: 0 }),
  cadenceS: field<number>({ env: 'GFT_PLAN_CADENCE_S', type: 'number', doc: 'Observation plan: seconds between frames', default: DC3_PLAN.cadenceSeconds, min: 1 }),
  durationS: field<number>({ env: 'GFT_PLAN_DURATION_S', type: 'number', doc: 'Observation plan: duration (s)', default: DC3_PLAN.durationSeconds, min: 1 }),
  epochs: field<string[]>({ env: 'GFT_PLAN_EPOCHS_MIN', type: 'list', doc: 'Candidate epochs, minutes after T0', default: DC3_PLAN.epochsMinutes.map(String) }),
};

interface RawVoevent { receivedAt: number; transport: string; source: string; ivorn: string | null; payload: Buffer }

export function alertsStage(cfg: ReturnType<typeof loadConfig<typeof alertsSchema>>, storage: LocalStorage, closing: ClosingConfig = closingConfig()): StageDefinition<RawVoevent> {
  let sweptAt = -Infinity;
  const catalog = cfg.catalog ? new CatalogSource(cfg.catalog) : null;
  const plan = checkPlan({ cadenceSeconds: cfg.cadenceS, durationSeconds: cfg.durationS, epochsMinutes: cfg.epochs.map(Number) });
  const catalogCfg = { ...DEFAULT_CATALOG, radiusDeg: cfg.catalogRadiusDeg };
  return {
    name: 'alerts',
    inputs: ['voevent.raw'],
    outputs: ['alerts.managed', 'alerts.reference', 'gp1.trigger'],
    // the state, the managed alert, the reference file and the GP1 trigger of one packet commit
    // together with its offset: a crash can never keep the decision and lose the trigger
    transactional: true,
    state: true,
    held: { bursts: (store) => store.keys('burst/').length },
    async handle(msg, ctx) {
      let alert;
      try {
        alert = parseVoevent(msg.value.payload);
      } catch (e) {
        if (e instanceof InvalidInput) throw invalidInput(e.code, e.message, e);
        throw e;
      }
      // States written by an older manager (another schema) are dropped: that burst starts afresh.
      const d = applyAlert(restoreState(ctx.store.get(`burst/${alert.burstId}`) ?? null) ?? undefined, alert, { maxErrorRadiusDeg: cfg.maxErrorDeg });
      const at = msg.value.receivedAt;
      const outs: Output[] = [{
        topic: 'alerts.managed', key: alert.burstId,
        value: { ivorn: alert.ivorn, burstId: alert.burstId, packetType: alert.packetType, role: alert.role, instrument: alert.instrument, noticeLevel: alert.noticeLevel, t0: alert.t0, ra: alert.ra, dec: alert.dec, errorRadiusDeg: alert.errorRadiusDeg, action: d.action, reason: d.reason, receivedAt: at, stateJson: JSON.stringify(d.state) },
      }];
      let ref: Awaited<ReturnType<LocalStorage['put']>> | null = null;
      for (const o of d.outputs) {
        if (o.kind === 'reference') {
          // A broken catalog is a configuration error: stop the stage instead of dead-lettering every trigger.
          const best = d.state.best!;
          const field = catalog ? await catalog.near(best.ra, best.dec, catalogCfg.radiusDeg).catch((e: Error) => Promise.reject(new FatalStageError('alerts.bad_catalog', e.message))) : { stars: [], files: [] };
          const doc = buildReference(d.state, field.stars, { plan, catalog: catalogCfg, catalogSource: cfg.catalog || null });
          ref = await storage.put(referenceJson(doc), { kind: 'reference', burstId: doc.burstId, source: 'alerts', name: `${doc.burstId}_v${doc.version}.json`, created: new Date(at).toISOString() });
          outs.push({
            topic: 'alerts.reference', key: doc.burstId,
            value: { burstId: doc.burstId, version: doc.version, t0: doc.t0, ra: doc.ra, dec: doc.dec, errorRadiusDeg: doc.errorRadiusDeg, bestIvorn: doc.bestIvorn, cadenceSeconds: plan.cadenceSeconds, durationSeconds: plan.durationSeconds, epochsMinutes: plan.epochsMinutes, catalogStars: doc.catalog.stars.length, document: ref, issuedAt: at },
          });
        } else {
          outs.push({ topic: 'gp1.trigger', key: o.burstId, value: { burstId: o.burstId, kind: o.kind, referenceVersion: o.version, reference: o.kind === 'cancel' ? null : ref, t0: d.state.t0, reason: d.reason, issuedAt: at } });
        }
      }
      // kept only if the handler succeeds: a retried message (storage down) sees the old state
      ctx.store.put(`burst/${alert.burstId}`, d.state);
      // a season: the states of bursts whose T0 is older than the retention are forgotten (event time, hourly)
      if (at - sweptAt > 3_600_000) {
        sweptAt = at;
        for (const k of ctx.store.keys('burst/')) {
          const t0 = Date.parse(ctx.store.get<{ t0: string | null }>(k)?.t0 ?? '');
          if (at - t0 > closing.retentionDays * 86_400_000) ctx.store.delete(k);
        }
      }
      return outs;
    },
  };
}

export async function createStage(): Promise<StageDefinition<RawVoevent>> {
  return alertsStage(loadConfig(alertsSchema), LocalStorage.fromEnv());
}
