import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPICS, allTopics, STAGES, renderTopologyDoc } from './topology.ts';
import { schemas } from './schemas.ts';
import { repoRoot } from '../config/platform.ts';

describe('topology', () => {
  it('gives every topic a known schema owned by its producer', () => {
    for (const t of allTopics()) {
      const s = schemas().get(t.schema);
      expect(s, `${t.name}: schema ${t.schema}`).toBeDefined();
    }
  });

  it('is a connected acyclic chain from VOEvent intake to the FSC', () => {
    const edges = new Map<string, Set<string>>();
    for (const t of TOPICS) for (const c of t.consumers) {
      if (!edges.has(t.producer)) edges.set(t.producer, new Set());
      if (c !== t.producer) edges.get(t.producer)!.add(c);
    }
    // reachability from the intake
    const seen = new Set<string>(['voevent-intake']);
    const stack = ['voevent-intake'];
    while (stack.length) for (const n of edges.get(stack.pop()!) ?? []) if (!seen.has(n)) { seen.add(n); stack.push(n); }
    for (const s of ['alerts', 'provider', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc']) expect(seen.has(s), s).toBe(true);
    // acyclic (DFS colouring), ignoring the ops topics every stage writes to
    const chainEdges = new Map<string, string[]>();
    for (const t of TOPICS.filter((x) => !x.name.startsWith('ops.'))) for (const c of t.consumers) chainEdges.set(t.producer, [...(chainEdges.get(t.producer) ?? []), c]);
    const state = new Map<string, number>();
    const visit = (n: string): void => {
      state.set(n, 1);
      for (const m of chainEdges.get(n) ?? []) {
        expect(state.get(m), `cycle through ${n} -> ${m}`).not.toBe(1);
        if (!state.has(m)) visit(m);
      }
      state.set(n, 2);
    };
    for (const s of STAGES) if (!state.has(s)) visit(s);
  });

  it('has unique names, and a DLQ per processing stage', () => {
    const names = allTopics().map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of ['alerts', 'gp1-calibration', 'gp1-detection', 'gic', 'fsc']) expect(names).toContain(`${s}.dlq`);
  });

  it('docs/topics.md is generated from the declaration (run `npx gft topics doc`)', () => {
    expect(readFileSync(join(repoRoot, 'docs', 'topics.md'), 'utf8')).toBe(renderTopologyDoc());
  });
});
