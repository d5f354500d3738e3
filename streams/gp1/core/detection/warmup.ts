/**
 * JIT warm-up for a thread that is about to measure frames: the first frames a fresh thread (a
 * worker of the detection pool, a CLI run) measures are 2–4× slower than the following ones while
 * V8 compiles the hot functions and tiers up the WebAssembly kernels. Running the whole per-frame
 * chain and the candidates a few times on a small synthetic night at start-up moves that cost off
 * the first real frame. The frames use the element types that FITS reading gives (float32 image,
 * weight and mask), so the compiled code is the one the real frames run.
 *
 * Pure apart from the JIT and the detection scratch it leaves allocated (small: 384 × 384 frames).
 * Returns the time it took, ms.
 */
import { makeNight } from './synthetic.ts';
import { processFrame, type FrameResult } from './frame.ts';
import { buildCandidates } from './candidates.ts';

export function warmUpDetection(o: { rounds?: number } = {}): number {
  const t0 = performance.now();
  const night = makeNight({ seed: 7, width: 384, height: 384, nStars: 1500, starts: [120, 240, 420], hotPixels: 10, cosmicRays: 5 });
  for (let r = 0; r < (o.rounds ?? 3); r++) {
    const results: FrameResult[] = night.frames.map((f) => processFrame({ ...f, mask: Float32Array.from(f.mask), wcs: f.headerWcs }, night.catalog));
    buildCandidates([300, 600], results, night.catalog, night.alert);
  }
  return performance.now() - t0;
}
