/**
 * Per-candidate cut-outs of a calibrated frame, each with its own TAN WCS.
 *
 * The stamp is `size` x `size` pixels centred on the pixel nearest to the candidate (0-based array
 * coordinates, lib/wcs convention); pixels outside the frame are NaN. The stamp's WCS is the frame's
 * with CRPIX shifted by the stamp's origin (CRPIX' = CRPIX − x0), so every stamp pixel keeps the sky
 * position it has in the frame.
 */
import { skyToPix, type TanWcs } from '../../../lib/wcs/index.ts';

export interface FrameImage {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

export interface Cutout {
  candId: string;
  width: number;
  height: number;
  data: Float32Array;
  wcs: TanWcs;
  /** 0-based position of the stamp's first pixel in the frame. */
  x0: number;
  y0: number;
  frameId?: string;
}

/** null when the candidate is off the frame (or behind the projection). */
export function cutout(frame: FrameImage, wcs: TanWcs, candId: string, ra: number, dec: number, size = 32): Cutout | null {
  const p = skyToPix(wcs, ra, dec);
  if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return null;
  const cx = Math.round(p[0]);
  const cy = Math.round(p[1]);
  if (cx < 0 || cy < 0 || cx >= frame.width || cy >= frame.height) return null;
  const x0 = cx - Math.floor(size / 2);
  const y0 = cy - Math.floor(size / 2);
  const data = new Float32Array(size * size).fill(NaN);
  for (let y = 0; y < size; y++) {
    const fy = y0 + y;
    if (fy < 0 || fy >= frame.height) continue;
    for (let x = 0; x < size; x++) {
      const fx = x0 + x;
      if (fx < 0 || fx >= frame.width) continue;
      data[y * size + x] = frame.data[fy * frame.width + fx];
    }
  }
  return { candId, width: size, height: size, data, wcs: { ...wcs, cd: [...wcs.cd] as TanWcs['cd'], crpix1: wcs.crpix1 - x0, crpix2: wcs.crpix2 - y0 }, x0, y0 };
}
