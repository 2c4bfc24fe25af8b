import type { SharedRateBudget } from '../../core/context.js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { RateBudget } from './rate-budget.js';

const START = Date.UTC(2026, 0, 1);

function virtualTime(): {
  clock: ManualClock;
  waits: number[];
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
} {
  const clock = new ManualClock(START);
  const waits: number[] = [];
  return {
    clock,
    waits,
    sleep: (ms, signal) => {
      signal.throwIfAborted();
      waits.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
  };
}

describe('RateBudget', () => {
  it('grants floor(requests × share) requests per sliding window, then waits for the oldest to leave it', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 10, windowSecs: 60, share: 0.5, clock, sleep });
    expect(budget.capacity).toBe(5);
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i++) {
      await budget.acquire(signal);
      clock.advance(1000);
    }
    expect(waits).toEqual([]);
    // The first grant was at START; the sixth may go when it is 60 s old.
    await budget.acquire(signal);
    expect(waits).toEqual([55_000]);
    expect(clock.now()).toBe(START + 60_000);
    // The second grant (START+1 s) leaves the window one second later.
    await budget.acquire(signal);
    expect(waits).toEqual([55_000, 1000]);
  });

  it('never grants more than the share in any window under steady demand', async () => {
    const { clock, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 12, windowSecs: 10, share: 0.25, clock, sleep });
    const grants: number[] = [];
    const signal = new AbortController().signal;
    for (let i = 0; i < 20; i++) {
      await budget.acquire(signal);
      grants.push(clock.now());
      clock.advance(100);
    }
    for (const at of grants) {
      expect(grants.filter((t) => t >= at && t < at + 10_000).length).toBeLessThanOrEqual(3);
    }
  });

  it('makes every user of the token wait out a block', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 100, windowSecs: 60, share: 1, clock, sleep });
    budget.block(START + 7000);
    expect(budget.waitMs()).toBe(7000);
    await budget.acquire(new AbortController().signal);
    expect(waits).toEqual([7000]);
    // An earlier block never shortens a later one.
    budget.block(START + 20_000);
    budget.block(START + 10_000);
    expect(budget.waitMs()).toBe(13_000);
  });

  it('waits for the reset when the Ratelimit header says nothing remains', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 0.5, clock, sleep });
    budget.observe(new Headers({ ratelimit: '"default";r=0;t=30' }));
    await budget.acquire(new AbortController().signal);
    expect(waits).toEqual([30_000]);
  });

  it('spreads the last requests over the reset time when the remaining quota is low', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock, sleep });
    const signal = new AbortController().signal;
    await budget.acquire(signal);
    budget.observe(new Headers({ ratelimit: '"default";r=10;t=60' }));
    await budget.acquire(signal);
    // Ten requests left for sixty seconds: one every six seconds.
    expect(waits).toEqual([6000]);
  });

  it('does not slow down while plenty of quota remains', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock, sleep });
    const signal = new AbortController().signal;
    await budget.acquire(signal);
    budget.observe(new Headers({ ratelimit: '"default";r=900;t=200', 'ratelimit-policy': '"burst";q=100;w=60' }));
    await budget.acquire(signal);
    await budget.acquire(signal);
    expect(waits).toEqual([]);
  });

  it('reads the older x-ratelimit-remaining / x-ratelimit-reset headers, in seconds or epoch seconds', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 0.5, clock, sleep });
    budget.observe(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '12' }));
    await budget.acquire(new AbortController().signal);
    expect(waits).toEqual([12_000]);

    budget.observe(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(clock.now() / 1000 + 40) }));
    expect(budget.waitMs()).toBe(40_000);
  });

  it('waits at most five minutes, a Cloudflare quota window, whatever reset a header reports', async () => {
    const { clock, waits, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 0.5, clock, sleep });
    budget.observe(new Headers({ ratelimit: '"default";r=0;t=99999999999' }));
    await budget.acquire(new AbortController().signal);
    expect(waits).toEqual([300_000]);
    // Epoch milliseconds where seconds belong.
    budget.observe(new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(clock.now() + 40_000) }));
    expect(budget.waitMs()).toBe(300_000);
  });

  it('ignores headers it cannot read', () => {
    const { clock, sleep } = virtualTime();
    const budget = new RateBudget({ requests: 1200, windowSecs: 300, share: 0.5, clock, sleep });
    budget.observe(new Headers({ ratelimit: 'garbage', 'x-ratelimit-remaining': 'soon' }));
    expect(budget.waitMs()).toBe(0);
  });

  it('stops waiting as soon as the signal aborts, with real time', async () => {
    const budget = new RateBudget({ requests: 1, windowSecs: 3600, share: 1, clock: { now: () => Date.now() } });
    const controller = new AbortController();
    await budget.acquire(controller.signal);
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stopping')), 20);
    await expect(budget.acquire(controller.signal)).rejects.toThrow('stopping');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives every user of one token fingerprint the same budget, and other tokens their own', () => {
    const { clock, sleep } = virtualTime();
    const options = { requests: 10, windowSecs: 60, share: 0.5, clock, sleep };
    const a = RateBudget.forToken('fingerprint-a-budget-test', options);
    const again = RateBudget.forToken('fingerprint-a-budget-test', { ...options, requests: 1000 });
    const b = RateBudget.forToken('fingerprint-b-budget-test', options);
    expect(again).toBe(a);
    expect(again.capacity).toBe(5);
    expect(b).not.toBe(a);
    a.block(START + 1000);
    expect(again.waitMs()).toBe(1000);
    expect(b.waitMs()).toBe(0);
  });

  it('keeps a budget kept in a store with that store: a store opened again gets a budget of its own', () => {
    const clock = new ManualClock(START);
    const store = (): SharedRateBudget => ({
      takeRateToken: () => Promise.resolve(0),
      holdRateTokens: () => Promise.resolve(),
    });
    const first = store();
    const options = { requests: 10, windowSecs: 60, share: 1, clock };
    const budget = RateBudget.forToken('fingerprint-stored', { ...options, shared: { budget: first, key: 'k' } });
    expect(RateBudget.forToken('fingerprint-stored', { ...options, shared: { budget: first, key: 'k' } })).toBe(budget);
    const reopened = RateBudget.forToken('fingerprint-stored', { ...options, shared: { budget: store(), key: 'k' } });
    expect(reopened).not.toBe(budget);
  });
});
