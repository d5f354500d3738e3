import { mkdtempSync, mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogSource } from './catalogSource.ts';

const tmp = mkdtempSync(join(tmpdir(), 'catalogs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const csv = (rows: [number, number, number][]) => `ra,dec,mag\n${rows.map((r) => r.join(',')).join('\n')}\n`;

describe('CatalogSource: a season of fields without restarts', () => {
  it('a folder: searches the files that reach the field, sees files added later and files changed', async () => {
    const dir = join(tmp, 'fields');
    mkdirSync(dir);
    writeFileSync(join(dir, 'field-a.csv'), csv([[10, 20, 15], [10.1, 20.1, 16]]));
    writeFileSync(join(dir, 'notes.txt'), 'not a catalog');
    const src = new CatalogSource(dir);
    expect((await src.near(10, 20, 0.3)).stars.map((s) => s.mag)).toEqual([15, 16]);
    expect((await src.near(200, -40, 0.3)).stars).toEqual([]);
    writeFileSync(join(dir, 'field-b.csv'), csv([[200, -40, 14]])); // a new field during the season
    expect(await src.near(200, -40, 0.3)).toEqual({ stars: [{ ra: 200, dec: -40, mag: 14, band: null }], files: [join(dir, 'field-b.csv')] });
    writeFileSync(join(dir, 'field-a.csv'), csv([[10, 20, 12]])); // corrected
    utimesSync(join(dir, 'field-a.csv'), new Date(), new Date(Date.now() + 5000));
    expect((await src.near(10, 20, 0.3)).stars.map((s) => s.mag)).toEqual([12]);
  });
  it('a broken file names itself', async () => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.csv'), 'ra,dec,mag\n10,abc,3\n');
    await expect(new CatalogSource(dir).near(10, 20, 1)).rejects.toThrow(/x\.csv/);
  });
});
