import { describe, expect, it } from 'vitest';
import { parseChildOptions } from './child.js';

describe('parseChildOptions', () => {
  it('reads the options the benchmark passes', () => {
    const options = parseChildOptions(
      JSON.stringify({
        seed: 3,
        traffic: { kind: 'fixed', fromMs: 0, toMs: 1000, count: 10 },
        faults: { bursts: [{ atMs: 5, count: 2 }] },
      }),
    );
    expect(options).toEqual({
      seed: 3,
      traffic: { kind: 'fixed', fromMs: 0, toMs: 1000, count: 10 },
      faults: { bursts: [{ atMs: 5, count: 2 }] },
    });
    expect(parseChildOptions(undefined)).toEqual({});
  });

  it('lists every problem', () => {
    expect(() => parseChildOptions(JSON.stringify({ port: -1, traffic: { kind: 'weekly' }, clock: 1 }))).toThrow(
      /port.*traffic|traffic.*port/s,
    );
  });
});
