import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chart, logTicks, niceTicks, timeTicks } from './svg.ts';
import { encodeGreyPng, thumbnail } from './png.ts';

describe('SVG charts', () => {
  it('draws a line, a min–max band and breaks at gaps', () => {
    const pts = [0, 1, 2, 10, 11].map((i) => ({ x: 1_571_212_800_000 + i * 60_000, y: i, lo: i - 1, hi: i + 1 }));
    const svg = chart([{ label: 'temperature', points: pts }], { title: 'T <°C>', gap: 120_000 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('data-points="5"');
    expect(svg.match(/<polyline/g)).toHaveLength(2); // broken at the 8-minute gap
    expect(svg.match(/<polygon class="band"/g)).toHaveLength(2);
    expect(svg).toContain('T &lt;°C&gt;');
    expect(svg).not.toContain('style=');
  });
  it('says so when there is no data; draws points with error bars on a log axis', () => {
    expect(chart([], { title: 'x' })).toContain('no data in this window');
    const svg = chart([{ label: 'c1', points: [{ x: 300, y: 15, lo: 14.9, hi: 15.1 }, { x: 3000, y: 17, lo: 16.9, hi: 17.1 }] }], { title: 'lc', xType: 'log', invertY: true, mode: 'points' });
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svg).toContain('>1000<');
  });
  it('ticks', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(logTicks(300, 5000)).toEqual([500, 1000, 2000, 5000]);
    expect(timeTicks(Date.UTC(2019, 9, 16, 0), Date.UTC(2019, 9, 17, 0)).map((t) => t.label)).toEqual(['00:00', '06:00', '12:00', '18:00', '00:00']);
  });
});

describe('PNG thumbnails', () => {
  it('writes a valid greyscale PNG whose rows decode back', () => {
    const px = new Uint8Array([0, 64, 128, 255, 10, 20]);
    const png = encodeGreyPng(px, 3, 2);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(3);
    expect(png.readUInt32BE(20)).toBe(2);
    const idatLen = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect([...raw]).toEqual([0, 0, 64, 128, 0, 255, 10, 20]);
  });
  it('downsamples, stretches, and puts FITS row 1 at the bottom', () => {
    const w = 400;
    const h = 200;
    const img = new Float32Array(w * h).fill(100);
    img[5 * w + 5] = 1e6; // bright pixel near the bottom-left (FITS rows start at the bottom)
    const t = thumbnail(img, w, h, 100);
    expect([t.width, t.height]).toEqual([100, 50]);
    expect(t.png.length).toBeGreaterThan(50);
  });
});
