import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readAlert, readCatalogFile, run } from './detectCli.ts';
import { makeNight } from './core/detection/synthetic.ts';
import { wcsCards } from '../../lib/wcs/index.ts';

describe('gp1 detect inputs', () => {
  it('reads the catalog as the alerts stage does: any column order, comments, rows without mag skipped; clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp1-cli-'));
    try {
      writeFileSync(join(dir, 'c.csv'), '# ref\nmag,ra,dec,band\n12.5,10.1,-5.2,r\n,1,2,r\n13,10.2,-5.3,r\n');
      const c = await readCatalogFile(join(dir, 'c.csv'));
      expect(Array.from(c.ra)).toEqual([10.1, 10.2]);
      expect(Array.from(c.mag)).toEqual([12.5, 13]);
      expect(c.band).toEqual(['r', 'r']);
      writeFileSync(join(dir, 'bad.csv'), 'a,b\n1,2');
      await expect(readCatalogFile(join(dir, 'bad.csv'))).rejects.toThrow(/catalog: .*ra, dec and mag/);
      await expect(readCatalogFile(join(dir, 'missing.csv'))).rejects.toThrow(/catalog: .*missing.csv/);
      writeFileSync(join(dir, 'x.csv'), 'ra,dec,mag\n1,2,x\n');
      await expect(readCatalogFile(join(dir, 'x.csv'))).rejects.toThrow(/line 2: mag 'x' is not a number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a JSON alert; an unknown error radius is null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp1-cli-'));
    try {
      writeFileSync(join(dir, 'a.json'), JSON.stringify({ t0: '2019-10-16T08:30:00', ra: 150, dec: 20, errorRadiusDeg: -1 }));
      expect(await readAlert(join(dir, 'a.json'))).toEqual({ t0: '2019-10-16T08:30:00', ra: 150, dec: 20, errorRadiusDeg: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const fitsPath = join(import.meta.dirname, '../../lib/fits/index.ts');

describe.skipIf(!existsSync(fitsPath))('gft gp1 detect end to end (needs lib/fits)', () => {
  it('prints per-frame WCS fits, zero points, sources and the candidates', async () => {
    const fits = (await import(pathToFileURL(fitsPath).href)) as { writeFitsFile(p: string, hdus: unknown[]): unknown };
    // nStars is the count over makeNight's whole field disc (frame diagonal/2 + 0.15°), not over the frame:
    // 3000 puts ~45 catalog stars (mag ≤ 19) on a 600×600 frame; 500 put only ~4, too few to solve.
    const night = makeNight({ seed: 51, starts: [120, 240, 420], width: 600, height: 600, nStars: 3000 });
    const dir = mkdtempSync(join(tmpdir(), 'gp1-cli-'));
    try {
      const files: string[] = [];
      for (const f of night.frames) {
        const header: Record<string, string | number> = { 'DATE-OBS': f.dateObs.replace('Z', ''), EXPTIME: f.exptime, GAIN: f.gain };
        for (const [k, v] of wcsCards(f.headerWcs)) header[k] = v;
        const path = join(dir, `${f.frameId}.fits`);
        await fits.writeFitsFile(path, [
          { kind: 'image', cards: Object.entries(header).map(([key, value]) => ({ key, value })), width: f.width, height: f.height, data: f.data, bitpix: -32 },
          { kind: 'image', extname: 'WEIGHT', width: f.width, height: f.height, data: f.weight, bitpix: -32 },
          { kind: 'image', extname: 'MASK', width: f.width, height: f.height, data: Int16Array.from(f.mask), bitpix: 16 },
        ]);
        files.push(path);
      }
      const cat = ['ra,dec,mag', ...Array.from(night.catalog.ra, (r, i) => `${r},${night.catalog.dec[i]},${night.catalog.mag[i]}`)].join('\n');
      writeFileSync(join(dir, 'cat.csv'), cat);
      writeFileSync(join(dir, 'alert.json'), JSON.stringify(night.alert));
      const out = join(dir, 'out.json');
      expect(await run(['--catalog', join(dir, 'cat.csv'), '--alert', join(dir, 'alert.json'), '--out', out, ...files])).toBe(0);
      const j = JSON.parse((await import('node:fs')).readFileSync(out, 'utf8'));
      expect(j.frames).toHaveLength(3);
      for (const f of j.frames) {
        expect(f.error).toBeUndefined();
        expect(f.wcsFit.ok, JSON.stringify({ wcsFit: f.wcsFit, notes: f.wcsNotes })).toBe(true);
        expect(f.wcsFit.matchedStars).toBeGreaterThan(10);
        expect(f.zeroPoint.zp).toBeGreaterThan(22);
        expect(f.sources.length).toBeGreaterThan(50);
      }
      expect(j.candidates).toHaveLength(4);
      expect(j.candidates[0].candidates.length).toBeGreaterThanOrEqual(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
