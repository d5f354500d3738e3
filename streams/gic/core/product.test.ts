import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeaders, readImage, readTable, verifyChecksums } from '../../../lib/fits/index.ts';
import { makeWcs, skyToPix, wcsFromHeader } from '../../../lib/wcs/index.ts';
import { repoRoot } from '../../../lib/config/platform.ts';
import { buildProduct } from './product.ts';
import { sampleProductInput, sampleReference } from './sample.ts';
import { CANDIDATE_COLUMNS, LIGHTCURVE_COLUMNS, PRIMARY_KEYWORDS, PROVENANCE_COLUMNS, obsIdFor, productIdFor, svomMet } from './dataModel.ts';
import { validateProduct } from '../../fsc/core/validate.ts';

const PY = '/usr/bin/python3';
const hasAstropy = existsSync(PY) && spawnSync(PY, ['-c', 'import astropy'], { encoding: 'utf8' }).status === 0;
const hasFitsverify = spawnSync('fitsverify', ['-h'], { encoding: 'utf8' }).error === undefined;

function variants(): Record<string, Buffer> {
  const stackInput = sampleProductInput({ n: 2 });
  const ref = sampleReference();
  const w = 64, h = 48;
  stackInput.stack = { width: w, height: h, data: new Float32Array(w * h).map((_, i) => (i % 7) * 0.1), wcs: makeWcs({ ra: ref.ra, dec: ref.dec, crpix1: 32.5, crpix2: 24.5, scaleArcsec: 0.34 }), frames: 10 };
  return {
    epoch: buildProduct(sampleProductInput()).bytes,
    final: buildProduct(sampleProductInput({ final: true, epochMinutes: 60, n: 5, revision: 2 })).bytes,
    empty: buildProduct({ ...sampleProductInput({ n: 0, epochMinutes: 5 }), cutouts: [] }).bytes,
    stack: buildProduct(stackInput).bytes,
  };
}

describe('GIC product builder (data model 1.005)', () => {
  it('writes the primary keywords, the tables and the cut-outs with their WCS', () => {
    const input = sampleProductInput({ epochMinutes: 10, n: 3 });
    const p = buildProduct(input);
    expect(p.productId).toBe('sb19101601_1910160101_10min');
    expect(p.obsId).toBe(obsIdFor('sb19101601'));
    const hdus = readHeaders(p.bytes);
    expect(hdus.map((h) => h.extname ?? 'PRIMARY')).toEqual(['PRIMARY', 'CANDIDATES', 'LIGHTCURVES', 'PROVENANCE', 'CUTOUT', 'CUTOUT', 'CUTOUT']);
    expect(hdus[0].type).toBe('empty');
    const h = hdus[0].header;
    expect(h.get('PRDM_VER')).toBe(1.005);
    expect(h.get('TELESCOP')).toBe('COLIBRI');
    expect(h.get('INSTRUME')).toBe('FGFT');
    expect(h.get('DSTREAM')).toBe('GFT');
    expect(h.get('MJDREFI')).toBe(57754);
    expect(h.get('MJDREFF')).toBe(0.00080074074);
    expect(h.get('T0')).toBe('2019-10-16T08:35:00.000');
    expect(h.get('T0_MET')).toBe(svomMet('2019-10-16T08:35:00'));
    expect(h.get('EPOCHMIN')).toBe(10);
    expect(h.get('FINAL')).toBe(false);
    expect(h.get('PROD_ID')).toBe(p.productId);
    for (const k of PRIMARY_KEYWORDS.filter((x) => x.required)) expect(h.has(k.key), k.key).toBe(true);
    for (const c of verifyChecksums(p.bytes)) expect(c).toMatchObject({ datasum: 'ok', checksum: 'ok' });

    const cand = readTable(p.bytes, 'CANDIDATES');
    expect(Object.keys(cand.columns)).toEqual(CANDIDATE_COLUMNS.map((c) => c.name));
    expect(cand.rows).toBe(3);
    expect((cand.columns.RA as Float64Array)[0]).toBe(input.candidateList.candidates[0].ra);
    expect(Number.isNaN((cand.columns.FADE_IDX as Float32Array)[1])).toBe(true); // null fading index
    const lc = readTable(p.bytes, 'LIGHTCURVES');
    expect(Object.keys(lc.columns)).toEqual(LIGHTCURVE_COLUMNS.map((c) => c.name));
    expect(lc.rows).toBe(30);
    const prov = readTable(p.bytes, 'PROVENANCE');
    expect(Object.keys(prov.columns)).toEqual(PROVENANCE_COLUMNS.map((c) => c.name));
    expect((prov.columns.KIND as string[]).filter((k) => k === 'frame')).toHaveLength(10);
    expect(prov.header.get('SOFTWARE')).toBe('gft-gic 0.1.0');

    // each stamp's WCS puts its candidate at the stamp centre
    for (let i = 0; i < 3; i++) {
      const img = readImage(p.bytes, 4 + i);
      const c = input.candidateList.candidates.find((x) => x.id === img.header.getString('CAND_ID'))!;
      const { wcs } = wcsFromHeader(img.header);
      const [x, y] = skyToPix(wcs!, c.ra, c.dec);
      expect(Math.abs(x - img.width / 2)).toBeLessThan(1.01);
      expect(Math.abs(y - img.height / 2)).toBeLessThan(1.01);
    }
  });

  it('is deterministic (replays give identical bytes) and names the final product', () => {
    expect(buildProduct(sampleProductInput()).bytes.equals(buildProduct(sampleProductInput()).bytes)).toBe(true);
    const f = buildProduct(sampleProductInput({ final: true, epochMinutes: 60 }));
    expect(f.productId).toBe(productIdFor('sb19101601', null));
    expect(f.productId.endsWith('_final')).toBe(true);
    const h = readHeaders(f.bytes)[0].header;
    expect(h.get('FINAL')).toBe(true);
    expect(h.get('CARD')).toBe('FGFT_CAND_FINAL');
    expect(h.get('EPOCHMIN')).toBe(60);
    // a wall-clock DATE changes the header only
    const d = buildProduct({ ...sampleProductInput(), date: '2025-01-01T00:00:00Z' });
    expect(readHeaders(d.bytes)[0].header.get('DATE')).toBe('2025-01-01T00:00:00');
  });

  it('refuses inputs that cannot make a valid file', () => {
    const bad = sampleProductInput();
    bad.candidateList.candidates[0].id = 'x'.repeat(40);
    expect(() => buildProduct(bad)).toThrow(/longer than 32/);
    expect(() => buildProduct({ ...sampleProductInput(), candidateList: { ...sampleProductInput().candidateList, burstId: 'GRB191016A' } })).toThrow(/SVOM burst id/);
  });

  it('every variant passes the FSC validator', () => {
    for (const [name, bytes] of Object.entries(variants())) expect(validateProduct(bytes).reasons, name).toEqual([]);
  });

  it('docs/data-model-1.005.md lists exactly the primary keywords and columns of the model', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'data-model-1.005.md'), 'utf8');
    const section = (title: string) => {
      const start = doc.indexOf(title);
      expect(start, title).toBeGreaterThanOrEqual(0);
      const rest = doc.slice(start + title.length);
      const end = rest.search(/\n#{2,3} /);
      return [...(end >= 0 ? rest.slice(0, end) : rest).matchAll(/^\| `([A-Z0-9_-]+)` \|/gm)].map((m) => m[1]);
    };
    expect(section('### Primary header keywords')).toEqual(PRIMARY_KEYWORDS.map((k) => k.key));
    expect(section('### CANDIDATES')).toEqual(CANDIDATE_COLUMNS.map((c) => c.name));
    expect(section('### LIGHTCURVES')).toEqual(LIGHTCURVE_COLUMNS.map((c) => c.name));
    expect(section('### PROVENANCE')).toEqual(PROVENANCE_COLUMNS.map((c) => c.name));
  });
});

describe.skipIf(!hasAstropy)('products open in astropy without warnings (checksums verified)', () => {
  it('every variant', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gic-astropy-'));
    const files = Object.entries(variants()).map(([n, b]) => {
      const f = join(dir, `${n}.fits`);
      writeFileSync(f, b);
      return f;
    });
    const script = `
import sys, json, warnings
warnings.simplefilter('error')
from astropy.io import fits
from astropy.wcs import WCS
out = []
for f in sys.argv[1:]:
    with fits.open(f, checksum=True) as h:
        h.verify('exception')
        for hdu in h:
            if hdu.header.get('CTYPE1'):
                WCS(hdu.header)
        out.append({'file': f, 'names': [x.name for x in h], 'prdm': h[0].header['PRDM_VER'], 'ncand': len(h['CANDIDATES'].data)})
print(json.dumps(out))
`;
    const r = spawnSync(PY, ['-c', script, ...files], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { names: string[]; prdm: number; ncand: number }[];
    expect(out).toHaveLength(files.length);
    for (const o of out) {
      expect(o.prdm).toBe(1.005);
      expect(o.names.slice(0, 4)).toEqual(['PRIMARY', 'CANDIDATES', 'LIGHTCURVES', 'PROVENANCE']);
    }
  });
});

describe.skipIf(!hasFitsverify)('products pass fitsverify', () => {
  it('every variant: 0 errors, 0 warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gic-fitsverify-'));
    for (const [n, b] of Object.entries(variants())) {
      const f = join(dir, `${n}.fits`);
      writeFileSync(f, b);
      const r = spawnSync('fitsverify', ['-q', '-e', f], { encoding: 'utf8' });
      expect(r.stdout + r.stderr, n).toMatch(/verification OK/);
      const full = spawnSync('fitsverify', [f], { encoding: 'utf8' }).stdout;
      expect(full, n).toMatch(/0 warning\(s\) and 0 error\(s\)/);
    }
  });
});
