/**
 * Raw frames as the calibration sees them, and the two operations every calibration step starts
 * with: the overscan level (a scalar median of the BIASSEC region, as the COATLI pipeline does) and
 * the crop to DATASEC with the overscan subtracted.
 */
import { createHash } from 'node:crypto';
import { bounds, type HeaderLike, type Section } from '../camera.ts';
import { regionStats } from '../../../../lib/stats/robust.ts';

/** One raw frame: physical ADU values (BZERO/BSCALE applied), row-major, width = NAXIS1. */
export interface RawFrame {
  /** File name (provenance and file-name type letter). */
  name: string;
  header: HeaderLike;
  width: number;
  height: number;
  data: Float32Array | Float64Array;
  /** sha256 (hex) of the file bytes; when absent, provenance uses the sha256 of the pixel bytes. */
  sha256?: string;
}

/** A master (or any calibration image) as calibrateFrame needs it: cropped to DATASEC. */
export interface MasterImage {
  name: string;
  sha256: string;
  width: number;
  height: number;
  data: Float32Array;
  /** Master statistics (level, noise, hot-pixel threshold in the master's units). */
  stats?: { level: number; noise: number; hotThreshold?: number; randomNoise?: number };
  /** ISO date of the master (its inputs' median DATE-OBS): the calibrated frame records how far it is. */
  dateObs?: string;
}

/** sha256 of a typed array's bytes (host byte order: little-endian on every supported platform). */
export function sha256Pixels(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

/** Checksum of a raw frame for provenance: the file's when known, else its pixels'. */
export function frameChecksum(f: RawFrame): string {
  return f.sha256 ?? sha256Pixels(f.data);
}

/** Samples for the overscan median: ≤ 2^20 on a regular stride (an overscan strip has fewer pixels). */
export const LEVEL_SAMPLES = 1 << 20;
/**
 * Samples for the sky and noise of a calibrated frame: ≤ 2^18 on a regular stride. The median of
 * 2^18 values is within 0.25% of a σ of the full-frame median (1.25σ/√n); more samples only cost
 * memory traffic (each sample is a cache line of each input).
 */
export const SKY_SAMPLES = 1 << 18;
/**
 * Samples for the levels and noise of calibration frames and masters: ≤ 2^18 on a regular stride.
 * The median of 2^18 samples is within 0.25% of a σ of the full-frame median (1.25σ/√n).
 */
export const FRAME_SAMPLES = 1 << 18;

/** Median of the overscan region, ADU; 0 when the camera has none. */
export function overscanLevel(f: { width: number; data: ArrayLike<number> }, overscan: Section | null): number {
  if (!overscan) return 0;
  return regionStats(f.data, f.width, bounds(overscan), LEVEL_SAMPLES).median;
}

/**
 * Copies DATASEC of `f` minus `offset` into `out` (allocated when absent, length = section area),
 * counting raw values ≥ `saturation`. One pass, no allocation beyond `out`.
 */
export function cropSubtract(
  f: { width: number; data: ArrayLike<number> },
  data: Section,
  offset: number,
  saturation = Infinity,
  out?: Float32Array,
): { out: Float32Array; width: number; height: number; saturated: number } {
  const b = bounds(data);
  const w = b.x1 - b.x0;
  const h = b.y1 - b.y0;
  const dst = out ?? new Float32Array(w * h);
  if (dst.length !== w * h) throw new Error(`cropSubtract: output has ${dst.length} pixels, section needs ${w * h}`);
  const src = f.data;
  let saturated = 0;
  for (let y = 0; y < h; y++) {
    const row = (b.y0 + y) * f.width + b.x0;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const v = src[row + x];
      if (v >= saturation) saturated++;
      dst[o + x] = v - offset;
    }
  }
  return { out: dst, width: w, height: h, saturated };
}
