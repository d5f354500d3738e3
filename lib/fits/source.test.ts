/** gzip-compressed FITS (`.fits.gz`) read like the plain file, by path or buffer. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readHeaders, readImage, verifyChecksums, writeFits } from './index.ts';
import { fileInfo } from './cli.ts';

describe('gzip-compressed FITS', () => {
  const plain = writeFits([
    { kind: 'empty', cards: [{ key: 'DATE-OBS', value: '2019-10-16T08:30:00' }] },
    { kind: 'image', bitpix: 16, bzero: 32768, width: 5, height: 4, data: Float32Array.from({ length: 20 }, (_, i) => 1000 + i) },
  ], { compress: 'rice' });
  const dir = mkdtempSync(join(tmpdir(), 'gft-fits-gz-'));
  const gz = join(dir, 'frame.fits.fz.gz');
  writeFileSync(gz, gzipSync(plain));

  it('reads headers, pixels and checksums of a .gz file and buffer as of the plain file', async () => {
    for (const src of [gz, gzipSync(plain)]) {
      expect(readHeaders(src).map((h) => h.type)).toEqual(['empty', 'compressed-image']);
      expect(Array.from(readImage(src).data)).toEqual(Array.from(readImage(plain).data));
      expect(verifyChecksums(src).every((x) => x.checksum === 'ok' && x.datasum === 'ok')).toBe(true);
    }
    const info = (await fileInfo(gz)) as { observation: unknown };
    expect(info.observation).toEqual({ hdu: 1, dateObs: '2019-10-16T08:30:00.000Z', from: 'DATE-OBS' });
  });

  it('a broken gzip stream is NOT_FITS', () => {
    const bad = join(dir, 'bad.fits.gz');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not deflate data at all')]));
    expect(() => readHeaders(bad)).toThrow(expect.objectContaining({ code: 'NOT_FITS' }));
  });
});
