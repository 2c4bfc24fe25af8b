import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { abortAfter } from './abort-after.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// Waits up to `ms` for `signal`, collecting garbage all the while, as a long-running process does.
async function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!signal.aborted && Date.now() < deadline) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return signal.aborted;
}

describe('abortAfter', () => {
  it('fires after its time even when garbage is collected while it waits', async () => {
    const never = new AbortController().signal;
    expect(await abortedWithin(abortAfter(never, 200), 3_000)).toBe(true);
  });

  it('fires at once with the outer signal', () => {
    const outer = new AbortController();
    const signal = abortAfter(outer.signal, 60_000);
    outer.abort(new Error('stopped'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('stopped');
  });
});
