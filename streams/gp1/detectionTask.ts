/**
 * One calibrated frame measured by the GP1 detection core (detection, astrometry against the
 * reference catalog, photometry), from the bytes of the calibrated FITS file (image + WEIGHT + MASK).
 * Runs in the stage's thread or in a worker thread (lib/workers/taskPool.ts: plain-data in and out).
 */
import { readImage } from '../../lib/fits/index.ts';
import { processFrame, frameFromHeader, withHintScale, type FrameResult } from './core/detection/frame.ts';
import type { ReferenceCatalog } from './core/detection/candidates.ts';

export interface MeasureRequest {
  frameId: string;
  /** The calibrated FITS file. */
  bytes: Uint8Array;
  /** Alert position: the astrometry's starting point when the header has no usable WCS. */
  hint: { ra: number; dec: number; scaleArcsec: number };
  catalog: ReferenceCatalog;
}

export function measureFrame(req: MeasureRequest): FrameResult {
  const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
  const img = readImage(bytes, 0);
  let weight = null;
  let mask = null;
  try {
    weight = readImage(bytes, 'WEIGHT').data;
    mask = readImage(bytes, 'MASK').data;
  } catch {
    /* frames without weight/mask are measured with the background RMS only */
  }
  const frame = frameFromHeader(img.header, { width: img.width, height: img.height, data: img.data, weight, mask: mask as never }, req.frameId);
  frame.hint = withHintScale(frame.hint, req.hint);
  return processFrame(frame, req.catalog);
}
