/**
 * End to end on the project's synthetic COATLI night (streams/provider/core/simulate, with its
 * truth): `gft gp1 masters` then `gft gp1 calibrate` on the raw files, then star fluxes, sky, FWHM and
 * the bad flats checked against the truth. The night is generated in a temporary folder (~10 s).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readImage } from '../../../../lib/fits/index.ts';
import { simulateNight } from '../../../provider/core/simulate/write.ts';
import { MASK } from './maskBits.ts';

interface TruthFrame {
  name: string;
  type: string;
  usable: boolean;
  object?: {
    moffatAlphaPx: number;
    moffatBeta: number;
    seeingFwhmPx: number;
    skyAduPerPixel: number;
    stars: { id: number[]; x: number[]; y: number[]; saturated: number[] };
  };
}
interface Truth {
  camera: { gain: number; hotPixels: number };
  stars: { id: number; fluxE: number; mag: number }[];
  frames: TruthFrame[];
}

const tmp = mkdtempSync(join(tmpdir(), 'gp1-night-'));
let truth: Truth;
let mastersReport: any;
let calReport: any;

async function cli(args: string[]): Promise<{ code: number; json: any }> {
  const { run } = await import('../../cli.ts');
  const logs: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  try {
    const code = await run(args);
    return { code, json: JSON.parse(logs.join('\n')) };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  await simulateNight({ out: tmp, seed: 7, frames: 3 });
  truth = JSON.parse(readFileSync(join(tmp, 'truth.json'), 'utf8'));
  const m = await cli(['masters', '--in', join(tmp, 'raw'), '--out', join(tmp, 'masters'), '--workers', '2']);
  expect(m.code).toBe(0);
  mastersReport = m.json;
  const objects = truth.frames.filter((f) => f.type === 'object').map((f) => join(tmp, 'raw', f.name));
  const c = await cli(['calibrate', '--masters', join(tmp, 'masters'), '--out', join(tmp, 'cal'), '--workers', '2', ...objects]);
  expect(c.code).toBe(0);
  calReport = c.json;
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the synthetic night through gft gp1 masters + calibrate', () => {
  it('builds the three masters, rejecting exactly the flats the truth marks unusable', () => {
    expect(mastersReport.camera).toBe('coatli');
    expect(mastersReport.summary).toEqual({ masters: 3, accepted: 3, rejected: 0 });
    const flat = mastersReport.masters.find((m: any) => m.kind === 'flat');
    const bad = truth.frames.filter((f) => f.type === 'flat' && !f.usable).map((f) => f.name).sort();
    expect(flat.rejections.map((r: any) => r.name).sort()).toEqual(bad);
    expect(flat.rejections.map((r: any) => r.reason).sort()).toEqual(['level-out-of-range', 'saturated']);
    const dark = mastersReport.masters.find((m: any) => m.kind === 'dark');
    // every simulated hot pixel (≥ 1 e-/s) is above the master dark's hot threshold
    expect(Math.abs(dark.stats.hotPixels - truth.camera.hotPixels)).toBeLessThan(0.01 * truth.camera.hotPixels);
  });

  it('star fluxes within 1% of the truth where the noise allows it; all consistent with the noise', () => {
    const g = truth.camera.gain;
    const byId = new Map(truth.stars.map((s) => [s.id, s]));
    let checked = 0;
    let bright = 0;
    for (const f of calReport.frames) {
      expect(f.ok).toBe(true);
      const tf = truth.frames.find((x) => f.file.endsWith(x.name))!;
      const o = tf.object!;
      const img = readImage(f.out);
      const wgt = readImage(f.out, 'WEIGHT').data;
      const mask = readImage(f.out, 'MASK').data;
      const W = img.width;
      const H = img.height;
      const a = o.moffatAlphaPx;
      const rAp = 3 * a;
      const enclosed = 1 - (1 + (rAp * rAp) / (a * a)) ** (1 - o.moffatBeta);
      const st = o.stars;
      for (let k = 0; k < st.id.length; k++) {
        const s = byId.get(st.id[k])!;
        const x = st.x[k];
        const y = st.y[k];
        const expected = s.fluxE / g; // ADU/s (flat normalised to median 1)
        if (st.saturated.includes(s.id) || expected * 60 < 3000) continue;
        if (x < 7 * a || y < 7 * a || x > W - 7 * a || y > H - 7 * a) continue;
        const crowded = st.id.some((id, j) => j !== k && Math.hypot(st.x[j] - x, st.y[j] - y) < 7 * a && byId.get(id)!.fluxE > 0.01 * s.fluxE);
        if (crowded) continue;
        const ann: number[] = [];
        let sum = 0;
        let n = 0;
        let variance = 0;
        let hit = false;
        for (let j = Math.floor(y - 6.5 * a); j <= Math.ceil(y + 6.5 * a); j++)
          for (let i = Math.floor(x - 6.5 * a); i <= Math.ceil(x + 6.5 * a); i++) {
            const p = j * W + i;
            const r = Math.hypot(i - x, j - y);
            if (r <= rAp) {
              sum += img.data[p];
              n++;
              if (wgt[p] > 0) variance += 1 / wgt[p];
              if (mask[p] & MASK.COSMIC) hit = true;
            } else if (r >= 4.5 * a && !mask[p]) ann.push(img.data[p]);
          }
        if (hit) continue; // a cosmic ray on the star: masked for photometry, not removed from the image
        ann.sort((p, q) => p - q);
        const flux = (sum - n * ann[ann.length >> 1]) / enclosed;
        // row noise (0.3 ADU per row and readout, shared along the row) is not in the weight map: ×1.5
        const sigma = (Math.sqrt(1.5 * variance + (expected * enclosed) / (g * 60)) / enclosed) / expected;
        const err = flux / expected - 1;
        expect(Math.abs(err), `star ${s.id} mag ${s.mag.toFixed(2)} err ${err.toFixed(4)} σ ${sigma.toFixed(4)}`).toBeLessThan(Math.max(0.01, 4 * sigma));
        checked++;
        if (sigma < 0.0035) bright++;
      }
    }
    console.info(`[gp1 night] ${checked} isolated unsaturated stars checked, ${bright} with σ < 0.35%`);
    expect(checked).toBeGreaterThanOrEqual(8);
    expect(bright).toBeGreaterThanOrEqual(3);
  });

  it('sky and FWHM of each frame match the truth', () => {
    for (const f of calReport.frames) {
      const o = truth.frames.find((x) => f.file.endsWith(x.name))!.object!;
      // sky in counts/s: the truth's sky ADU per 60 s (+ 2% gradient across the field)
      expect(Math.abs(f.stats.sky / (o.skyAduPerPixel / 60) - 1)).toBeLessThan(0.05);
      expect(Math.abs(f.stats.fwhm / o.seeingFwhmPx - 1)).toBeLessThan(0.08);
      expect(f.stats.nCosmic).toBeGreaterThan(0);
    }
  });
});
