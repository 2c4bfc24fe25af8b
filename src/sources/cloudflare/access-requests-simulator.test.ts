import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import { startSimulator, type Simulator } from '../../simulator/simulator.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { simulatorClient } from '../../../test/helpers/simulators.js';
import { CloudflareClient } from './client.js';
import { AccessRequestsSource } from './datasets/access-requests.js';
import { RateBudget } from './rate-budget.js';

const NOW = Date.parse('2026-03-04T15:00:00.000Z');
const HOUR = 3_600_000;

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

describe('AccessRequestsSource against the simulator', () => {
  it('pages a whole window, bursts and offsets included, handing out every event once with valid requests', async () => {
    const clock = new ManualClock(NOW);
    const burstAt = NOW - 2 * HOUR + 123;
    const sim = await startSimulator({
      clock,
      seed: 7,
      traffic: { kind: 'fixed', fromMs: NOW - 5 * HOUR, toMs: NOW - HOUR, count: 2600 },
      faults: { bursts: [{ atMs: burstAt, count: 1500 }], timestampOffsets: true },
    });
    simulator = sim;
    const client = new CloudflareClient({
      baseUrl: sim.baseUrl,
      accountId: sim.accountId,
      token: new Secret(sim.token),
      timeoutMs: 10_000,
      rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock }),
      logger: silentLogger(),
      metrics: new Metrics(),
      clock,
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 },
    });
    const source = new AccessRequestsSource({
      client,
      clock,
      logger: silentLogger(),
      pageSize: 1000,
      lookbackMs: 300_000,
    });

    const backfillFrom = NOW - 6 * HOUR;
    const received: unknown[] = [];
    let pages = 0;
    for await (const page of source.pull(
      source.initialCursor({ backfillFromMs: backfillFrom }),
      new AbortController().signal,
    )) {
      received.push(...page.records);
      pages++;
    }
    // The first pull starts at the backfill point (the lookback never reaches before it) and ends at the clock's now.
    const expected = sim.eventsBetween(backfillFrom, NOW + 1);
    expect(expected.length).toBe(2600 + 1500);
    expect(received).toHaveLength(expected.length);
    // Same events, same values; the API and eventsBetween only order the keys differently.
    const canonical = (items: readonly unknown[]): string[] =>
      items
        .map((item) =>
          JSON.stringify(
            Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))),
          ),
        )
        .sort();
    const got = canonical(received);
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual(canonical(expected));
    expect(pages).toBeGreaterThan(4);

    const log = sim.requestLog();
    expect(log.every((entry) => entry.status === 200)).toBe(true);
    for (const entry of log) expect(validateRequest(entry.method, `${entry.path}?${entry.query}`)).toEqual([]);
  });
});

describe('AccessRequestsSource against a faulty simulator', () => {
  it('rides out 429s, edge 5xx pages, truncated JSON and resets, and picks up late events on the next pull', async () => {
    const clock = new ManualClock(NOW);
    const sim = await startSimulator({
      clock,
      seed: 11,
      traffic: { kind: 'fixed', fromMs: NOW - HOUR, toMs: NOW, count: 900 },
      faults: {
        rateLimit: { everyNth: 3, maxTimes: 1, retryAfterSecs: 0 },
        serverError: { everyNth: 4, maxTimes: 1 },
        truncatedJson: { everyNth: 5, maxTimes: 1 },
        connectionReset: { everyNth: 6, maxTimes: 1 },
        lateEvents: { fraction: 0.3, delayMs: 120_000 },
      },
    });
    simulator = sim;
    const metrics = new Metrics();
    const client = simulatorClient(sim, { clock, metrics });
    const source = new AccessRequestsSource({
      client,
      clock,
      logger: silentLogger(),
      pageSize: 100,
      lookbackMs: 300_000,
    });
    const ids = new Map<string, number>();
    const take = async (cursor: Record<string, unknown>): Promise<Record<string, unknown>> => {
      let next = cursor;
      for await (const page of source.pull(cursor, new AbortController().signal)) {
        for (const r of page.records) {
          const id = String((r as { ray_id: unknown }).ray_id);
          ids.set(id, (ids.get(id) ?? 0) + 1);
        }
        next = page.nextCursor;
      }
      return next;
    };

    const backfillFrom = NOW - 2 * HOUR;
    const afterFirst = await take(source.initialCursor({ backfillFromMs: backfillFrom }));
    const all = sim.eventsBetween(backfillFrom - 300_000, NOW + 1).map((e) => String(e['ray_id']));
    const missing = all.filter((id) => !ids.has(id));
    // Some of the last two minutes' events were not visible yet.
    expect(missing.length).toBeGreaterThan(0);

    clock.advance(180_000);
    await take(afterFirst);
    expect(all.filter((id) => !ids.has(id))).toEqual([]);
    expect(ids.size).toBe(all.length);
    expect(metrics.value('source_requests_retried_total', { code: 'SOURCE_RATE_LIMITED' })).toBe(1);
    expect(metrics.value('source_requests_retried_total', { code: 'SOURCE_UNAVAILABLE' })).toBe(1);
    expect(metrics.value('source_requests_retried_total', { code: 'SOURCE_RESPONSE_INVALID' })).toBeGreaterThanOrEqual(
      1,
    );
    for (const entry of sim.requestLog())
      expect(validateRequest(entry.method, `${entry.path}?${entry.query}`)).toEqual([]);
  });
});
