import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../../../lib/config/platform.ts';
import { parseVoevent } from './parse.ts';
import { applyAll, type BurstState } from './manager.ts';
import { svomNotice } from './fixtures.ts';
import {
  buildReference, catalogFromColumns, checkPlan, extractField, parseCatalogCsv, referenceJson, separationDeg,
  CatalogError, DC3_PLAN, DEFAULT_CATALOG, type CatalogStar,
} from './reference.ts';
import { loadCatalog } from '../catalogFile.ts';

/** sb26010101 triggered by a synthetic ECLAIRs notice then refined by MXT (reference v2). */
function burst(): BurstState {
  const states = new Map<string, BurstState>();
  applyAll(states, [
    parseVoevent(svomNotice({ burstId: 'sb26010101', packetType: 202, instrument: 'ECLAIRs', isoTime: '2026-01-01T00:00:10.250000', ra: 204.65, dec: 44.63, error: 0.1 })),
    parseVoevent(svomNotice({ burstId: 'sb26010101', packetType: 209, instrument: 'MXT', isoTime: '2026-01-01T00:40:00', ra: 204.8665, dec: 45.1204, error: 0.0643 })),
  ]);
  return states.get('sb26010101')!;
}

const star = (ra: number, dec: number, mag: number, band: string | null = null): CatalogStar => ({ ra, dec, mag, band });

describe('angular separation (haversine)', () => {
  it('known values', () => {
    expect(separationDeg(0, 0, 0, 1)).toBeCloseTo(1, 12);
    expect(separationDeg(0, 0, 90, 0)).toBeCloseTo(90, 12);
    expect(separationDeg(0, 0, 180, 0)).toBeCloseTo(180, 12);
    expect(separationDeg(10, 89.9, 190, 89.9)).toBeCloseTo(0.2, 10); // across the pole
    expect(separationDeg(359.99, 0, 0.01, 0)).toBeCloseTo(0.02, 10); // across RA 0
    expect(separationDeg(204, 45, 204 + 1e-6 / Math.cos((45 * Math.PI) / 180), 45)).toBeCloseTo(1e-6, 12); // tiny angles stay accurate
    expect(separationDeg(12.3, -45.6, 12.3, -45.6)).toBe(0);
  });
});

describe('field extraction', () => {
  it('keeps stars within the radius, brightest first, with a stable order', () => {
    const stars = [star(10, 10, 15), star(10.3, 10, 12), star(10, 10.36, 11), star(10, 9.7, 12), star(190, -10, 5), star(10.1, 10.1, 15)];
    const f = extractField(stars, 10, 10, 0.35);
    expect(f).toEqual([star(10, 9.7, 12), star(10.3, 10, 12), star(10, 10, 15), star(10.1, 10.1, 15)]);
  });
  it('near the pole and across RA 0', () => {
    expect(extractField([star(180, 89.8, 10), star(0, 89.8, 11), star(270, 89.5, 9)], 90, 89.9, 0.25).length).toBe(2); // each 0.2236° away; the third 0.6° (across the pole);
    expect(extractField([star(359.9, 0, 10), star(0.1, 0, 11), star(1, 0, 9)], 0, 0, 0.2).map((s) => s.mag)).toEqual([10, 11]);
  });
});

describe('CSV catalogs', () => {
  it('header in any order and case, optional band, comments, quotes, empty mags skipped', () => {
    const text = '# reference stars\nMag,Dec,RA,band,other\n15.2,45.12,204.87,r,x\n\n16.0,45.1,204.9,"i, SDSS",y\n,45.0,204.0,g,z\n# end\n';
    expect(parseCatalogCsv(text)).toEqual([star(204.87, 45.12, 15.2, 'r'), star(204.9, 45.1, 16, 'i, SDSS')]);
    expect(parseCatalogCsv('ra,dec,mag\n1,2,3\r\n4,5,6\r\n')).toEqual([star(1, 2, 3), star(4, 5, 6)]);
    expect(parseCatalogCsv('')).toEqual([]);
  });
  it('refuses a bad header or bad numbers with the line', () => {
    expect(() => parseCatalogCsv('ra,dec\n1,2')).toThrow(CatalogError);
    expect(() => parseCatalogCsv('ra,dec,mag\n1,2,3\nx,2,3', 'cat.csv')).toThrow(/cat.csv line 3: ra 'x' is not a number/);
    expect(() => parseCatalogCsv('ra,dec,mag\n1,95,3')).toThrow(/outside \[-90, 90\]/);
    expect(() => parseCatalogCsv('ra,dec,mag\n,1,3')).toThrow(/required/);
  });
});

describe('FITS catalogs (lib/fits readTable)', () => {
  it('table columns → stars (numeric columns, optional band)', () => {
    const cols = { RA: new Float64Array([1, 2, 3]), DEC: new Float64Array([4, 5, 6]), MAG: new Float32Array([10, NaN, 12]), Band: ['r', 'g', ' '] };
    expect(catalogFromColumns(cols, 3)).toEqual([star(1, 4, 10, 'r'), star(3, 6, 12, null)]);
    expect(() => catalogFromColumns({ ra: new Float64Array(1), dec: new Float64Array(1) }, 1)).toThrow(CatalogError);
    expect(() => catalogFromColumns({ ra: ['a'], dec: new Float64Array(1), mag: new Float64Array(1) }, 1)).toThrow(/not a numeric/);
  });

  const haveFits = existsSync(join(repoRoot, 'lib', 'fits', 'index.ts'));
  if (!haveFits) console.warn('SKIPPED FITS catalog file test: lib/fits is not in this checkout');
  it.skipIf(!haveFits)('loadCatalog reads a FITS BINTABLE and a CSV file to the same stars', async () => {
    const { writeFits } = await import('../../../lib/fits/index.ts');
    const d = mkdtempSync(join(tmpdir(), 'refcat-'));
    const fits = join(d, 'cat.fits');
    writeFileSync(fits, writeFits([{ kind: 'table', extname: 'CATALOG', columns: [
      { name: 'ra', format: 'D', values: [204.87, 204.9, 10] },
      { name: 'dec', format: 'D', values: [45.12, 45.1, 10] },
      { name: 'mag', format: 'E', values: [15.25, 16, 12] },
      { name: 'band', format: '1A', values: ['r', 'i', 'g'] },
    ] }]));
    const csv = join(d, 'cat.csv');
    writeFileSync(csv, 'ra,dec,mag,band\n204.87,45.12,15.25,r\n204.9,45.1,16,i\n10,10,12,g\n');
    const a = await loadCatalog(fits);
    expect(a).toEqual(await loadCatalog(csv));
    await expect(loadCatalog(join(d, 'missing.csv'))).rejects.toThrow(CatalogError);
    writeFileSync(join(d, 'bad.fits'), Buffer.concat([Buffer.from('SIMPLE  =                    T'), Buffer.alloc(50)]));
    await expect(loadCatalog(join(d, 'bad.fits'))).rejects.toThrow(CatalogError);
  });
});

describe('reference document', () => {
  const stars = [star(204.87, 45.12, 15.2, 'r'), star(204.9, 45.1, 16, 'r'), star(204.5, 45.1, 14, 'r'), star(10, 10, 12)];

  it('holds burst id, version, T0, best position and error, the DC3 plan and the field stars', () => {
    const doc = buildReference(burst(), stars, { catalogSource: 'cat.csv' });
    expect(doc).toEqual({
      schema: 'gft.alerts.reference/1',
      burstId: 'sb26010101',
      version: 2,
      t0: '2026-01-01T00:00:10.250Z',
      ra: 204.8665,
      dec: 45.1204,
      errorRadiusDeg: 0.0643,
      bestIvorn: 'ivo://org.svom/fsc#sb26010101_mxt-initial',
      bestInstrument: 'MXT',
      notices: ['ivo://org.svom/fsc#sb26010101_eclairs-wakeup', 'ivo://org.svom/fsc#sb26010101_mxt-initial'],
      plan: {
        cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes: [5, 10, 30, 60], frames: 60,
        epochs: ['2026-01-01T00:05:10.250Z', '2026-01-01T00:10:10.250Z', '2026-01-01T00:30:10.250Z', '2026-01-01T01:00:10.250Z'],
      },
      catalog: { source: 'cat.csv', radiusDeg: 0.35, total: 3, truncated: false, stars: [stars[2], stars[0], stars[1]] },
    });
  });

  it('plan and catalog are configurable; maxStars keeps the brightest', () => {
    const doc = buildReference(burst(), stars, { plan: { cadenceSeconds: 30, durationSeconds: 1800, epochsMinutes: [2.5, 20] }, catalog: { radiusDeg: 0.1, maxStars: 1 } });
    expect(doc.plan).toEqual({ cadenceSeconds: 30, durationSeconds: 1800, epochsMinutes: [2.5, 20], frames: 60, epochs: ['2026-01-01T00:02:40.250Z', '2026-01-01T00:20:10.250Z'] });
    expect(doc.catalog).toEqual({ source: null, radiusDeg: 0.1, total: 2, truncated: true, stars: [stars[0]] });
    expect(DC3_PLAN).toEqual({ cadenceSeconds: 60, durationSeconds: 3600, epochsMinutes: [5, 10, 30, 60] });
    expect(DEFAULT_CATALOG.radiusDeg).toBe(0.35);
  });

  it('identical inputs give identical bytes', () => {
    expect(referenceJson(buildReference(burst(), stars)).equals(referenceJson(buildReference(burst(), [...stars].reverse())))).toBe(true);
  });

  it('refuses a burst with nothing to reference, and bad plans', () => {
    const s = burst();
    expect(() => buildReference({ ...s, best: null }, stars)).toThrow(/no reference/);
    expect(() => checkPlan({ cadenceSeconds: 0, durationSeconds: 60, epochsMinutes: [] })).toThrow();
    expect(() => checkPlan({ cadenceSeconds: 60, durationSeconds: 60, epochsMinutes: [10, 5] })).toThrow();
    expect(checkPlan(DC3_PLAN)).toBe(DC3_PLAN);
  });
});
