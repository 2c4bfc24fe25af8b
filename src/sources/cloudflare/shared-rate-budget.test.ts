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
});
