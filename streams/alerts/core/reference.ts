/**
 * The reference file of a burst: T0, best position and error, the observation plan and the field's
 * reference star catalog (extracted from a local catalog file: CSV `ra,dec,mag[,band]`, degrees).
 * Pure given the catalog rows; the document is canonical JSON so identical inputs give identical bytes.
 */
import type { BurstState } from './manager.ts';

export interface PlanConfig {
  cadenceSeconds: number; // DC3: 60
  durationSeconds: number; // DC3: 3600
  epochsMinutes: number[]; // DC3: 5, 10, 30, 60
  fieldRadiusDeg: number; // catalog extraction radius around the position
}
export const DC3_PLAN: PlanConfig = { cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes: [5, 10, 30, 60], fieldRadiusDeg: 0.35 };

export interface CatalogStar {
  ra: number;
  dec: number;
  mag: number;
  band?: string;
}

export interface ReferenceDocument {
  burstId: string;
  version: number;
  t0: string;
  ra: number;
  dec: number;
  errorRadiusDeg: number | null;
  bestIvorn: string;
  plan: PlanConfig;
  catalog: CatalogStar[];
}

const D2R = Math.PI / 180;
export function separationDeg(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const s = Math.sin(((dec2 - dec1) * D2R) / 2) ** 2 + Math.cos(dec1 * D2R) * Math.cos(dec2 * D2R) * Math.sin(((ra2 - ra1) * D2R) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(s)))) / D2R;
}

/** Parses a CSV catalog with a header naming ra, dec, mag (any order) and optionally band. */
export function parseCatalogCsv(text: string): CatalogStar[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  if (!lines.length) return [];
  const head = lines[0].split(',').map((h) => h.trim().toLowerCase());
  const [iRa, iDec, iMag, iBand] = ['ra', 'dec', 'mag', 'band'].map((k) => head.indexOf(k));
  if (iRa < 0 || iDec < 0 || iMag < 0) throw new Error(`catalog header must name ra, dec, mag (got '${lines[0]}')`);
  const out: CatalogStar[] = [];
  for (const l of lines.slice(1)) {
    const c = l.split(',');
    const ra = Number(c[iRa]);
    const dec = Number(c[iDec]);
    const mag = Number(c[iMag]);
    if (!Number.isFinite(ra) || !Number.isFinite(dec) || !Number.isFinite(mag)) continue;
    out.push(iBand >= 0 && c[iBand] !== undefined ? { ra, dec, mag, band: c[iBand].trim() } : { ra, dec, mag });
  }
  return out;
}

export function extractField(catalog: CatalogStar[], ra: number, dec: number, radiusDeg: number): CatalogStar[] {
  return catalog.filter((s) => separationDeg(ra, dec, s.ra, s.dec) <= radiusDeg).sort((a, b) => a.mag - b.mag || a.ra - b.ra);
}

export function buildReference(state: BurstState, catalog: CatalogStar[], plan: PlanConfig = DC3_PLAN): ReferenceDocument {
  if (!state.best || !state.t0) throw new Error(`burst ${state.burstId} has no position or T0`);
  return {
    burstId: state.burstId,
    version: state.referenceVersion,
    t0: state.t0,
    ra: state.best.ra,
    dec: state.best.dec,
    errorRadiusDeg: state.best.errorRadiusDeg,
    bestIvorn: state.best.ivorn,
    plan,
    catalog: extractField(catalog, state.best.ra, state.best.dec, plan.fieldRadiusDeg),
  };
}
