import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';
import { serve } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Settings, the API and `source remove` promise an hourly retention run; it must happen where nothing collects
 * too: a node serving the API only, one told not to collect, one with no data source left to collect from, and a
 * scheduled collect run that finds no source.
 */
describe('retention where nothing collects', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 7,
      traffic: { kind: 'fixed', fromMs: now - 12 * DAY_MS, toMs: now - HOUR_MS, count: 600 },
      inventoryChanges: false,
    });
    const collected = await runInProcess(['collect', '--once', '--backfill-days', '14'], { env: setup.env });
    expect(collected.code, collected.stderr).toBe(0);
  }, 60_000);
  afterAll(() => setup.cleanup());

  /** Stored access_requests events between `fromDays` and `toDays` days ago. */
  async function stored(fromDays: number, toDays: number): Promise<number> {
    const result = await runInProcess(
      [
        'search',
        'dataset:access_requests',
        '--from',
        `-${fromDays}d`,
        '--to',
        `-${toDays}d`,
        '--format',
        'ndjson',
        '--limit',
        '100000',
      ],
      { env: setup.env },
    );
    expect(result.code, result.stderr).toBe(0);
    return result.stdout.split('\n').filter((line) => line !== '').length;
  }

  async function serveWithRetention(args: readonly string[], days: number): Promise<void> {
    expect(await stored(30, days)).toBeGreaterThan(0);
    const served = serve(['--port', '0', ...args], { ...setup.env, ZEROTRAIL_RETENTION__MAX_AGE_DAYS: String(days) });
    try {
      expect(await served.url, served.stderr()).toMatch(/^http/);
      await waitFor(
        `events older than ${days} days to be deleted by serve ${args.join(' ')}`,
        async () => {
          return (await stored(30, days)) === 0;
        },
        { timeoutMs: 15_000, pollMs: 200 },
      );
    } finally {
      served.stop();
      expect(await served.exit, served.stderr()).toBe(0);
    }
    // Only what is older than the retention went.
    expect(await stored(days - 1, 0)).toBeGreaterThan(0);
  }

  it('runs with --no-collect', async () => {
    await serveWithRetention(['--no-collect'], 9);
  }, 30_000);

  it('runs with --role api', async () => {
    await serveWithRetention(['--role', 'api'], 7);
  }, 30_000);

  it('runs on a node that would collect but has no data source left', async () => {
    const removed = await runInProcess(['source', 'remove', TEST_SOURCE], { env: setup.env });
    expect(removed.code, removed.stderr).toBe(0);
    await serveWithRetention([], 5);
  }, 30_000);

  it('runs in a collect run refused for want of a data source', async () => {
    expect(await stored(30, 3)).toBeGreaterThan(0);
    const refused = await runInProcess(['collect', '--once'], {
      env: { ...setup.env, ZEROTRAIL_RETENTION__MAX_AGE_DAYS: '3' },
    });
    expect(refused.stderr).toContain('There is no data source to collect from.');
    expect(refused.code).not.toBe(0);
    expect(await stored(30, 3)).toBe(0);
    expect(await stored(2, 0)).toBeGreaterThan(0);
  });
});
