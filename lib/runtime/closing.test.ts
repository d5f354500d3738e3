import { describe, expect, it } from 'vitest';
import { StateStore } from './state.ts';
import { burstsUnder, closeBurst, closedOf } from './closing.ts';

describe('closing a burst in a state store', () => {
  it('deletes its entries, leaves a marker, expires old markers; the store counts its bytes', () => {
    const s = new StateStore();
    s.put('frame/a/1', { x: 1 });
    s.put('frame/a/2', { x: 2 });
    s.put('emitted/a', {});
    s.put('frame/b/1', { x: 3 });
    s.put('closed/old', { closedAt: '2024-01-01T00:00:00Z', reason: 'x' });
    s.commitMessage();
    expect(s.bytes).toBe(['frame/a/1{"x":1}', 'frame/a/2{"x":2}', 'emitted/a{}', 'frame/b/1{"x":3}', 'closed/old{"closedAt":"2024-01-01T00:00:00Z","reason":"x"}'].join('').length);
    expect(burstsUnder(s, 'frame/').sort()).toEqual(['a', 'b']);
    const n = closeBurst(s, 'a', { prefixes: ['frame/a/', 'emitted/a'], closedAt: '2024-03-01T00:00:00Z', reason: 'done', keep: { frames: ['1', '2'] }, retentionDays: 30 });
    s.commitMessage();
    expect(n).toBe(3);
    expect(s.keys()).toEqual(['closed/a', 'frame/b/1']);
    expect(closedOf(s, 'a')).toEqual({ frames: ['1', '2'], closedAt: '2024-03-01T00:00:00Z', reason: 'done' });
    expect(s.bytes).toBe(['closed/a', JSON.stringify(closedOf(s, 'a')), 'frame/b/1{"x":3}'].join('').length);
    // a rolled-back close changes nothing
    closeBurst(s, 'b', { prefixes: ['frame/b/'], closedAt: '2024-03-02T00:00:00Z', reason: 'done', retentionDays: 30 });
    s.rollbackMessage();
    expect(s.keys()).toEqual(['closed/a', 'frame/b/1']);
  });
});
