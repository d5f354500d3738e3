import { describe, expect, it } from 'vitest';
import { burstImagesDir } from './burstImages.ts';

const dirs = (...d: string[]) => (p: string) => d.includes(p);

describe('the folder of a burst\'s frames', () => {
  const b = { burstId: 'sb24030101', t0: '2024-03-01T02:10:00Z' };
  it('fills a template with the burst id, the T0 date and the night (evening) date', () => {
    expect(burstImagesDir('/n/{night}/raw', b, dirs('/n/20240229/raw'))).toEqual({ dir: '/n/20240229/raw', rule: 'template' });
    expect(burstImagesDir('/n/{date}/{burstId}', b, dirs('/n/20240301/sb24030101'))).toEqual({ dir: '/n/20240301/sb24030101', rule: 'template' });
    expect(burstImagesDir('/n/{burstId}', b, dirs())).toEqual({ error: 'no images folder for burst sb24030101: /n/sb24030101 (from /n/{burstId}) is not a folder' });
    expect(burstImagesDir('/n/{night}', { ...b, t0: null }, dirs('/n/'))).toMatchObject({ error: expect.stringContaining('has no T0') });
  });
  it('uses <root>/<burstId> when it exists, else the folder itself', () => {
    expect(burstImagesDir('/root/', b, dirs('/root', '/root/sb24030101'))).toEqual({ dir: '/root/sb24030101', rule: 'folder per burst' });
    expect(burstImagesDir('/root', b, dirs('/root'))).toEqual({ dir: '/root', rule: 'one folder' });
    expect(burstImagesDir('/nope', b, dirs())).toEqual({ error: 'images folder /nope is not a folder' });
  });
});
