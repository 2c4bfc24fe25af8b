import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import { RateBudget } from './rate-budget.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-shared-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RateBudget shared through the store', () => {
  it('lets two nodes together take no more than one budget, and both go on as it refills', async () => {
    const clock = new ManualClock(Date.UTC(2024, 5, 1));
    const path = join(dir, 'shared.db');
    const first = await SqliteStore.open({ path, clock });
    await first.migrate();
    const second = await SqliteStore.open({ path, clock });
    const waits: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      waits.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    };
    // Two nodes, each with its own in-process budget of 4 requests a minute, and one shared bucket.
    const nodes = [first, second].map(
      (store) =>
        new RateBudget({
          requests: 4,
          windowSecs: 60,
          share: 1,
          clock,
          sleep,
          shared: { budget: store, key: 'fingerprint-1' },
        }),
    );
    const signal = new AbortController().signal;
    for (const node of [...nodes, ...nodes]) await node.acquire(signal);
    // One request at once, then one every 20 s whichever node asks: the shared bucket refills 4 - 1 = 3 a minute
    // (see refillAndTake), so no minute holds more than the 4 of the budget, however the nodes start and stop.
    expect(waits).toEqual([20_000, 20_000, 20_000]);
    await first.close();
    await second.close();
  });

  it('makes a process started during a 429 hold wait for its end, instead of sending into the block', async () => {
    const clock = new ManualClock(Date.UTC(2024, 5, 1));
    const path = join(dir, 'held.db');
    const running = await SqliteStore.open({ path, clock });
    await running.migrate();
    const waits: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      waits.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    };
    const options = { requests: 1200, windowSecs: 300, share: 0.5, clock, sleep };
    const budget = new RateBudget({ ...options, shared: { budget: running, key: 'fingerprint-2' } });
    const signal = new AbortController().signal;
    await budget.acquire(signal);
    // Cloudflare answered 429 with Retry-After: 120. This process waits, as it always did.
    budget.block(clock.now() + 120_000);
    await new Promise((resolve) => setImmediate(resolve));
    // A process started meanwhile (a restart, a cron run beside the server) knows of it only through the store.
    const started = await SqliteStore.open({ path, clock });
    const fresh = new RateBudget({ ...options, shared: { budget: started, key: 'fingerprint-2' } });
    await fresh.acquire(signal);
    expect(waits).toEqual([120_000]);
    // The first process, past the hold too, waits only for the next token of the steady refill.
    await budget.acquire(signal);
    expect(waits[1]).toBeLessThan(1_000);
    await running.close();
    await started.close();
  });
});
