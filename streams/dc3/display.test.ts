import { describe, it, expect } from 'vitest';
import { Display } from './display.ts';

function fakeStream(tty: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY: tty, columns: 40, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream };
}

describe('the dc3 display', () => {
  it('on a terminal: the status is rewritten in place, cut to the width, and a line clears it first', () => {
    const { out, stream } = fakeStream(true);
    const d = new Display('text', 'dc3', stream);
    d.status('frames in 1');
    d.status('frames in 2 | calibrated 1 | epochs 0/4 | products accepted 0 | DLQ 0');
    d.line('alert sent');
    expect(out[0]).toBe('\r\x1b[Kframes in 1');
    expect(out[1].length).toBeLessThanOrEqual('\r\x1b[K'.length + 39);
    expect(out[1].endsWith('…')).toBe(true);
    expect(out.slice(2)).toEqual(['\r\x1b[K', 'alert sent\n']);
  });

  it('json (or not a terminal): every line once, prefixed, no control characters', () => {
    const { out, stream } = fakeStream(false);
    const d = new Display('json', 'replay', stream);
    d.status('frames in 1');
    d.line('copied 3 messages');
    expect(out).toEqual(['[replay] frames in 1\n', '[replay] copied 3 messages\n']);
  });
});
