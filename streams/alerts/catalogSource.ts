/**
 * The reference catalog of the alerts stage, found per burst and re-read without a restart (issue 22).
 * GFT_ALERTS_CATALOG is one of:
 * - a file (CSV ra,dec,mag[,band] or FITS table): one catalog for every field, indexed by Dec
 *   (core/catalogIndex.ts), read again when its size or modification time changes;
 * - a folder of such files (e.g. one per field, or per Dec zone): at each reference the folder is
 *   listed again (a catalog added during the season is used by the next burst), and the files whose
 *   Dec range can reach the position are searched. Each file is read once and kept as its Dec range;
 *   at most MAX_LOADED files keep their stars in memory (least recently used).
 * A file that cannot be read as a catalog is a configuration error (the stage stops with the file's name).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Lru } from '../../lib/runtime/lru.ts';
import { CatalogIndex } from './core/catalogIndex.ts';
import { loadCatalog, type CatalogStar } from './core/reference.ts';

const CATALOG_FILE = /\.(csv|fits?|fts)$/i;
export const MAX_LOADED = 8;

interface Known { stamp: string; dec: [number, number] }

export class CatalogSource {
  private readonly loaded = new Lru<string, { stamp: string; index: CatalogIndex }>(MAX_LOADED);
  private readonly known = new Map<string, Known>();

  constructor(readonly path: string) {}

  private async index(file: string, stamp: string): Promise<CatalogIndex> {
    const hit = this.loaded.get(file);
    if (hit && hit.stamp === stamp) return hit.index;
    const index = new CatalogIndex(await loadCatalog(file));
    this.loaded.set(file, { stamp, index });
    this.known.set(file, { stamp, dec: index.decRange });
    return index;
  }

  /** The catalog files now: the file itself, or the folder's catalog files (sorted), each with its change stamp. */
  private files(): { file: string; stamp: string }[] {
    const st = statSync(this.path); // throws a clear ENOENT with the path
    const stampOf = (s: { size: number; mtimeMs: number }) => `${s.size}:${s.mtimeMs}`;
    if (!st.isDirectory()) return [{ file: this.path, stamp: stampOf(st) }];
    return readdirSync(this.path)
      .filter((n) => CATALOG_FILE.test(n))
      .sort()
      .map((n) => join(this.path, n))
      .flatMap((file) => {
        const s = statSync(file);
        return s.isFile() ? [{ file, stamp: stampOf(s) }] : [];
      });
  }

  /** Stars within `radiusDeg` of (ra, dec) from every catalog that reaches it, and the files used. */
  async near(ra: number, dec: number, radiusDeg: number): Promise<{ stars: CatalogStar[]; files: string[] }> {
    const stars: CatalogStar[] = [];
    const used: string[] = [];
    for (const { file, stamp } of this.files()) {
      const k = this.known.get(file);
      if (k && k.stamp === stamp && !(dec + radiusDeg >= k.dec[0] && dec - radiusDeg <= k.dec[1])) continue; // cannot reach the field
      const found = (await this.index(file, stamp)).near(ra, dec, radiusDeg);
      if (found.length) {
        stars.push(...found);
        used.push(file);
      }
    }
    return { stars, files: used };
  }
}
