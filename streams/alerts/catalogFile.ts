/** Reading a reference catalog file (the parsing is core: catalogFromBytes). */
import { readFileSync } from 'node:fs';
import { catalogFromBytes, CatalogError, type CatalogStar } from './core/reference.ts';

/** @throws CatalogError naming the file (unreadable, or not a catalog) */
export async function loadCatalog(file: string, opts: { hdu?: number | string } = {}): Promise<CatalogStar[]> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CatalogError(`${file}: ${(e as Error).message}`);
  }
  return catalogFromBytes(bytes, file, opts);
}
