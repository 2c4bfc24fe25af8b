import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess } from '../helpers/cli.js';
import { expectExactlyOnce, setUpCollector, storedRawRecords, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describe('collection under faults', () => {
  let setup: CollectorEnv | undefined;
  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('stores exactly the served events through 429s, HTML 5xx, resets, truncated JSON, offsets and hostile values', async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 11,
      traffic: { kind: 'fixed', fromMs: now - 2 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: 6000 },
      faults: {
        rateLimit: { everyNth: 4, retryAfterSecs: 1, maxTimes: 2 },
        serverError: { everyNth: 3, maxTimes: 3 },
        connectionReset: { everyNth: 5, maxTimes: 2 },
        truncatedJson: { everyNth: 7, maxTimes: 2 },
        hostileValues: { fraction: 0.05 },
        timestampOffsets: true,
        bursts: [{ atMs: now - 30 * HOUR_MS, count: 2100 }],
      },
    });
    const result = await runInProcess(['collect', '--once', '--backfill-days', '3'], { env: setup.env });
    expect(result.code, result.stderr).toBe(0);
    const expected = setup.simulator.eventsBetween(now - 3 * 24 * HOUR_MS, now);
    expect(expected.length).toBe(8100);
    expectExactlyOnce(await storedRawRecords(setup.env), expected);
    const statuses = setup.simulator.stats.byStatus;
    for (const status of [429, 200]) expect(statuses[status] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(statuses).some((status) => Number(status) >= 500)).toBe(true);
  }, 120_000);

  it('picks up events that become visible minutes after their created_at', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector({
      seed: 5,
      clock,
      traffic: { kind: 'fixed', fromMs: start - 6 * HOUR_MS, toMs: start + 30 * MINUTE_MS, count: 3000 },
      faults: { lateEvents: { fraction: 0.2, delayMs: 3 * MINUTE_MS } },
    });
    const run = async (): Promise<void> => {
      const result = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup!.env, clock });
      expect(result.code, result.stderr).toBe(0);
    };
    for (let minutes = 0; minutes <= 40; minutes += 2) {
      await run();
      clock.advance(2 * MINUTE_MS);
    }
    await run();
    const expected = setup.simulator.eventsBetween(start - 24 * HOUR_MS, start + 30 * MINUTE_MS);
    expectExactlyOnce(await storedRawRecords(setup.env), expected);
  }, 120_000);

  it('explains a missing permission and an unknown account, and changes nothing', async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 3,
        traffic: { kind: 'fixed', fromMs: now - HOUR_MS, toMs: now, count: 10 },
        tokens: [{ value: 'zt-sim-token-without-audit-logs-permission-0001', permissions: ['Zero Trust Read'] }],
      },
      false,
    );
    const env = { ...setup.env, CF_TOKEN: 'zt-sim-token-without-audit-logs-permission-0001' };
    const add = await runInProcess(
      ['source', 'add', '--name', 'No logs', '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(add.code).not.toBe(0);
    expect(add.stderr).toContain('Access: Audit Logs Read');
    const wrongAccount = await runInProcess(
      [
        'source',
        'add',
        '--name',
        'Other',
        '--account-id',
        'ffffffffffffffffffffffffffffffff',
        '--token-env',
        'CF_TOKEN',
      ],
      { env },
    );
    expect(wrongAccount.code).not.toBe(0);
    expect(wrongAccount.stderr).toMatch(/Account ID/);
    const list = await runInProcess(['source', 'list', '--format', 'json'], { env });
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('keeps collecting the healthy source when another one fails, and says which failed', async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 9,
      traffic: { kind: 'fixed', fromMs: now - 5 * HOUR_MS, toMs: now - HOUR_MS, count: 1500 },
    });
    const broken = await runInProcess(
      ['source', 'add', '--name', 'Broken', '--account-id', setup.simulator.accountId, '--token-stdin', '--no-verify'],
      { env: setup.env, input: 'zt-sim-a-token-cloudflare-never-issued-000' },
    );
    expect(broken.code, broken.stderr).toBe(0);
    const result = await runInProcess(['collect', '--once'], { env: setup.env });
    expect(result.code).toBe(1);
    // Datasets refused in the same words share a line: at least the two that need the same permission.
    expect(result.stderr).toMatch(
      /error\[COLLECT_FAILED\][\s\S]*Broken: access_requests, access_users(, \w+)*: error\[SOURCE_AUTH_FAILED\]/,
    );
    expect(result.stderr).not.toMatch(/Test Zero Trust\/access_requests: error/);
    // Every dataset of the source fails alike; their shared hint is given once.
    const hintLines = result.stderr
      .split('\n')
      .filter((line) => !line.startsWith('{') && line.includes('Give the new token the three read permissions'));
    expect(hintLines).toHaveLength(1);
    expectExactlyOnce(await storedRawRecords(setup.env), setup.simulator.eventsBetween(now - 8 * 24 * HOUR_MS, now));
    const list = JSON.parse(
      (await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env })).stdout,
    ) as {
      name: string;
      datasets: { state: string; last_error_code: string | null }[];
    }[];
    expect(list.find((source) => source.name === 'Broken')?.datasets[0]).toMatchObject({
      state: 'failed',
      last_error_code: 'SOURCE_AUTH_FAILED',
    });
    expect(list.find((source) => source.name !== 'Broken')?.datasets[0]).toMatchObject({
      state: 'ok',
      last_error_code: null,
    });
  });

  it('stays within its share of the token rate limit, so the API never has to say 429', async () => {
    const now = Date.now();
    // A token of its own: budgets are per token, and this one must start empty under the limit below.
    const token = 'zt-sim-rate-share-token-000000000000000001';
    setup = await setUpCollector(
      {
        seed: 12,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 2400 },
        tokens: [{ value: token }],
        // The account's real limit: 20 requests per 2 seconds for this token, shared with "other tools".
        rateLimit: { requests: 20, windowSecs: 2 },
      },
      false,
    );
    const env = {
      ...setup.env,
      CF_TOKEN: token,
      ZEROTRAIL_CF_RATE_LIMIT: '20/2',
      ZEROTRAIL_CF_RATE_SHARE: '0.5',
      ZEROTRAIL_CLOUDFLARE__PAGE_SIZE: '100',
    };
    const started = Date.now();
    const added = await runInProcess(
      ['source', 'add', '--name', 'Shared token', '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(added.code, added.stderr).toBe(0);
    const result = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env });
    const elapsedMs = Date.now() - started;
    expect(result.code, result.stderr).toBe(0);
    const requests = setup.simulator.stats.requests;
    expect(requests).toBeGreaterThanOrEqual(25);
    // At most 10 requests in any 2 s window: request n+1 cannot start before floor(n / 10) * 2 s.
    expect(elapsedMs).toBeGreaterThanOrEqual(Math.floor((requests - 1) / 10) * 2000 - 100);
    expect(setup.simulator.stats.byStatus[429] ?? 0).toBe(0);
    expectExactlyOnce(await storedRawRecords(env), setup.simulator.eventsBetween(now - 2 * 24 * HOUR_MS, now));
  }, 60_000);
});
