/**
 * Bits of a candidate's `flags` on gp1.candidates, in GP1 base files and in the products' CANDIDATES
 * table (docs/data-model-1.005.md). GP1 owns them; consumers (GIC, the web pages) decode with these.
 */
export const CANDIDATE_FLAG_BITS = {
  catalog_absent: 1,
  above_catalog_depth: 2,
  fading: 4,
  brightened: 8,
  blended: 16,
  crowded: 32,
  /** saturated in some frames; with no unsaturated detection, the magnitude is a faint bound */
  saturated: 64,
} as const;

export type CandidateFlag = keyof typeof CANDIDATE_FLAG_BITS;

/** Names → bits (unknown names are ignored). */
export function flagBits(flags: readonly string[]): number {
  return flags.reduce((b, f) => b | ((CANDIDATE_FLAG_BITS as Record<string, number>)[f] ?? 0), 0);
}

/** Bits → names, in bit order; bits without a name as `bit<N>`. */
export function flagNames(bits: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 31; b++) {
    const v = 1 << b;
    if (!(bits & v)) continue;
    const name = (Object.keys(CANDIDATE_FLAG_BITS) as CandidateFlag[]).find((k) => CANDIDATE_FLAG_BITS[k] === v);
    out.push(name ?? `bit${b}`);
  }
  return out;
}

/** The bits as documentation text: "1 catalog_absent, 2 above_catalog_depth, …". */
export const FLAG_DOC = Object.entries(CANDIDATE_FLAG_BITS).map(([k, v]) => `${v} ${k}`).join(', ');
