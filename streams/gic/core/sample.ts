/**
 * Synthetic inputs for tests, examples and benchmarks: a candidate list as GP1 emits it, the burst
 * reference, and a small frame with a WCS to cut stamps from. Deterministic (seeded).
 */
import { makeWcs, tangentToSky } from '../../../lib/wcs/index.ts';
import type { CandidateListValue, ProductInput, ReferenceInfo } from './product.ts';
import { cutout, type Cutout } from './cutouts.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export const SAMPLE_BURST = 'sb19101601';

export function sampleReference(burstId = SAMPLE_BURST): ReferenceInfo {
  return { burstId, t0: '2019-10-16T08:35:00', ra: 11.8732, dec: 33.6021, errorRadiusDeg: 0.05, version: 2 };
}

/** A list at `epochMinutes` with `n` candidates, each seen on every frame so far (one per minute). */
export function sampleCandidateList(opts: { burstId?: string; epochMinutes?: number; n?: number; revision?: number; seed?: number } = {}): CandidateListValue {
  const burstId = opts.burstId ?? SAMPLE_BURST;
  const epoch = opts.epochMinutes ?? 10;
  const ref = sampleReference(burstId);
  const t0 = Date.parse(`${ref.t0}Z`);
  const r = rng(opts.seed ?? 7);
  const nFrames = Math.max(2, Math.round(epoch));
  const frames = Array.from({ length: nFrames }, (_, i) => new Date(t0 + (i + 1) * 60_000).toISOString().slice(0, 19).replace(/[-:]/g, '') + 'C0o');
  const candidates = Array.from({ length: opts.n ?? 3 }, (_, k) => {
    const sky = tangentToSky((r() - 0.5) * 0.05, (r() - 0.5) * 0.05, ref.ra, ref.dec);
    const m0 = 15 + 3 * r();
    const lightCurve = frames.map((frameId, i) => ({ frameId, tSinceT0: (i + 1) * 60 + 30, mag: m0 + 0.8 * Math.log10(i + 1), magErr: 0.02 + 0.01 * r() }));
    return {
      id: `GP1 J${(4000 + k).toString().padStart(6, '0')}.${k}+333607.${k}`,
      ra: sky[0], dec: sky[1], posErrArcsec: 0.2 + 0.1 * r(), mag: lightCurve[lightCurve.length - 1].mag, magErr: 0.03,
      distanceArcsec: 30 + 60 * r(), fadingIndex: k % 2 ? null : 0.9 + 0.2 * r(), flags: k % 2 ? 3 : 5, score: 0.5 + 0.4 * r(), lightCurve,
    };
  });
  return {
    burstId, epochMinutes: epoch, epochTime: new Date(t0 + epoch * 60_000).toISOString(), revision: opts.revision ?? 0, frames,
    zeroPoint: 23.1, limitingMag: 19.8, candidates, baseFile: null,
  };
}

/** A 600 x 600 frame around the alert with a 0.34"/px TAN WCS, a flat sky and the candidates as Gaussians. */
export function sampleCutouts(list: CandidateListValue, size = 16): Cutout[] {
  const ref = sampleReference(list.burstId);
  const w = 600, h = 600;
  const wcs = makeWcs({ ra: ref.ra, dec: ref.dec, crpix1: w / 2 + 0.5, crpix2: h / 2 + 0.5, scaleArcsec: 0.34 });
  const data = new Float32Array(w * h).fill(0.2);
  const out: Cutout[] = [];
  for (const c of list.candidates) {
    const s = cutout({ width: w, height: h, data }, wcs, c.id, c.ra, c.dec, size);
    if (s) out.push({ ...s, frameId: list.frames[list.frames.length - 1] });
  }
  return out;
}

export function sampleProductInput(opts: Parameters<typeof sampleCandidateList>[0] & { final?: boolean } = {}): ProductInput {
  const list = sampleCandidateList(opts);
  const sha = (s: string) => s.repeat(64).slice(0, 64);
  return {
    candidateList: list,
    reference: sampleReference(list.burstId),
    epochMinutes: opts.final ? null : list.epochMinutes,
    createdAt: list.epochTime,
    provenance: {
      frames: list.frames.map((id, i) => ({ id, sha256: sha((i % 10).toString()), rawSha256: sha('a') })),
      masters: [{ id: 'master-bias-coatli-1x1-20191016T004120', sha256: sha('b'), kind: 'bias' }, { id: 'master-flat-r-coatli-1x1-20191016T012112', sha256: sha('f'), kind: 'flat' }],
      software: 'gft-gic 0.1.0',
      basefile: { id: `${list.burstId}_T0+${list.epochMinutes}min_r0.fits`, sha256: sha('c') },
    },
    cutouts: sampleCutouts(list),
  };
}
