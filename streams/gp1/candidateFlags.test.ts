import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config/platform.ts';
import { CANDIDATE_FLAG_BITS, FLAG_DOC, flagBits, flagNames } from './candidateFlags.ts';

describe('candidate flag bits', () => {
  it('round-trips names and bits; unknown bits stay visible', () => {
    expect(flagBits(['catalog_absent', 'fading', 'saturated', 'nonsense'])).toBe(1 | 4 | 64);
    expect(flagNames(1 | 4 | 64)).toEqual(['catalog_absent', 'fading', 'saturated']);
    expect(flagNames(0)).toEqual([]);
    expect(flagNames(128 | 2)).toEqual(['above_catalog_depth', 'bit7']);
    for (const [k, v] of Object.entries(CANDIDATE_FLAG_BITS)) {
      expect(flagNames(flagBits([k]))).toEqual([k]);
      expect(v & (v - 1)).toBe(0); // one bit each
    }
  });
  it('the data model document lists the same bits', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'data-model-1.005.md'), 'utf8');
    for (const [k, v] of Object.entries(CANDIDATE_FLAG_BITS)) expect(doc).toContain(`${v} ${k}`);
    expect(FLAG_DOC).toMatch(/^1 catalog_absent, 2 above_catalog_depth/);
  });
});
