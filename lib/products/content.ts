/**
 * What a GFT product FITS file holds, as the FSC reads it (streams/fsc/core/validate.ts) and the
 * science database stores it (connectors/sdb): one definition for both sides.
 */
export interface CandidateRow { id: string; ra: number; dec: number; posErr: number; mag: number; magErr: number; distAlert: number; flags: number; score: number; fadeIdx: number | null }
export interface PointRow { candId: string; frameId: string; tT0: number; mag: number; magErr: number }
export interface ProvenanceRow { kind: string; id: string; sha256: string }

/** What the validator could read; fields are absent when the file is too broken to tell. */
export interface ProductContent {
  productId?: string;
  burstId?: string;
  obsId?: string;
  /** null for the final product */
  epochMinutes?: number | null;
  /** EPOCHMIN as written (the last epoch for a final product) */
  lastEpochMinutes?: number;
  revision?: number;
  card?: string;
  program?: string;
  prdmVersion?: number;
  procVersion?: string;
  pipelineVersion?: string;
  date?: string;
  t0?: string;
  epochTime?: string;
  raObj?: number;
  decObj?: number;
  errRadDeg?: number;
  nFrames?: number;
  nCutouts: number;
  hdus: { index: number; type: string; extname?: string }[];
  candidates: CandidateRow[];
  points: PointRow[];
  provenance: ProvenanceRow[];
}

