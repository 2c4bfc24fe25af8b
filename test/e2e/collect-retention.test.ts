import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS, type Simulator } from '../../src/simulator/simulator.js';
import type { CliResult } from '../helpers/cli.js';
import { collectOnce, LOG_DATASETS, servedBetween, storedRaw, type LogDataset } from '../helpers/log-datasets.js';
import { addTestSource, expectExactlyOnce, setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
// Off the whole second, so that no simulated record sits exactly on a window's end.
const START = Date.parse('2026-11-20T12:00:00.000Z') + 123;
const FULL_TOKEN = 'zt-sim-token-retention-cutoff-every-read1';
const LOG_PATHS: Record<LogDataset, string> = {
  access_requests: '/access/logs/access_requests',
  scim_updates: '/access/logs/scim/updates',
  audit_logs: '/logs/audit',
};

/** The earliest `since` the simulator was asked for of `dataset` after its first `skip` requests. */
function earliestSince(sim: Simulator, dataset: LogDataset, skip: number): number {
  const sinces = sim
    .requestLog()
    .slice(skip)
    .filter((entry) => entry.path.endsWith(LOG_PATHS[dataset]))
    .map((entry) => new URLSearchParams(entry.query).get('since'))
    // `source add` checks the token with a request of its own, without a window.
    .flatMap((since) => (since === null ? [] : [Date.parse(since)]));
  expect(sinces.length, dataset).toBeGreaterThan(0);
  return Math.min(...sinces);
}

function storedCount(result: CliResult): number {
  const match = /Stored (\d+) new events?/.exec(result.stderr);
  expect(match, result.stderr).not.toBeNull();
  return Number(match?.[1]);
}

/** Log datasets only, so that the count of a run's new events can be told from what the simulator served. */
const WITHOUT_INVENTORY_CHANGES = { inventoryChanges: false } as const;

describe('collection and the retention cut-off', () => {
  let setup: CollectorEnv | undefined;
  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  async function start(
    clock: ManualClock,
    traffic: { fromMs: number; toMs: number; count: number },
    admin: { historyDays: number; perDay: number },
    retentionDays?: number,
  ): Promise<CollectorEnv> {
    const env = await setUpCollector(
      {
        seed: 41,
        clock,
        tokens: [
          {
            value: FULL_TOKEN,
            permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs, PERMISSIONS.accountSettings],
          },
        ],
        traffic: { kind: 'fixed', ...traffic },
        adminTraffic: {
          historyDays: admin.historyDays,
          scimUpdatesPerDay: admin.perDay,
          auditEntriesPerDay: admin.perDay,
        },
        ...WITHOUT_INVENTORY_CHANGES,
      },
      false,
    );
    if (retentionDays !== undefined) env.env['ZEROTRAIL_RETENTION__MAX_AGE_DAYS'] = String(retentionDays);
    await addTestSource(env, FULL_TOKEN);
    return env;
  }

  it('holds a backfill longer than the retention to the cut-off, says so, and reads nothing older', async () => {
    const clock = new ManualClock(START);
    setup = await start(
      clock,
      { fromMs: START - 9 * DAY_MS, toMs: START - HOUR_MS, count: 3000 },
      { historyDays: 10, perDay: 40 },
      2,
    );
    const cutoff = START - 2 * DAY_MS;

    const result = await collectOnce(setup, clock, ['--backfill-days', '7']);

    expect(result.stderr).toContain('Backfilling 2 days for');
    expect(result.stderr).toContain(
      'Held to the 2-day retention (retention.max_age_days) instead of the 7 days asked for: older events would be deleted as soon as stored.',
    );
    let served = 0;
    for (const dataset of LOG_DATASETS) {
      // Served before the cut-off too, so the cut-off is what held them back.
      expect(servedBetween(setup.simulator, dataset, START - 7 * DAY_MS, cutoff).length, dataset).toBeGreaterThan(0);
      const expected = servedBetween(setup.simulator, dataset, cutoff, clock.now());
      expect(expected.length, dataset).toBeGreaterThan(0);
      expectExactlyOnce(await storedRaw(setup, clock, dataset, '-1000d'), expected);
      expect(earliestSince(setup.simulator, dataset, 0), dataset).toBeGreaterThanOrEqual(cutoff);
      served += expected.length;
    }
    // Nothing was stored to be deleted at the end of the run.
    expect(storedCount(result)).toBe(served);
  }, 120_000);

  it('holds the audit log backfill to the default 365-day retention where Cloudflare keeps 18 months', async () => {
    const clock = new ManualClock(START);
    setup = await start(
      clock,
      { fromMs: START - 10 * DAY_MS, toMs: START - HOUR_MS, count: 100 },
      { historyDays: 400, perDay: 2 },
    );

    const result = await collectOnce(setup, clock, ['--backfill-days', '548']);

    expect(result.stderr).toContain('Held to the 365-day retention (retention.max_age_days) instead of the 548 days');
    expect(result.stderr).not.toContain('548 days back');
    const cutoff = START - 365 * DAY_MS;
    expect(servedBetween(setup.simulator, 'audit_logs', START - 400 * DAY_MS, cutoff).length).toBeGreaterThan(0);
    expectExactlyOnce(
      await storedRaw(setup, clock, 'audit_logs', '-1000d'),
      servedBetween(setup.simulator, 'audit_logs', cutoff, clock.now()),
    );
    expect(earliestSince(setup.simulator, 'audit_logs', 0)).toBeGreaterThanOrEqual(cutoff);
  }, 120_000);

  it('resumes a collector stopped for longer than the retention at the cut-off, with nothing newer missed', async () => {
    const clock = new ManualClock(START);
    const env = await start(
      clock,
      { fromMs: START - 3 * DAY_MS, toMs: START + 6 * DAY_MS, count: 4000 },
      { historyDays: 4, perDay: 40 },
      2,
    );
    setup = env;
    await collectOnce(env, clock, ['--backfill-days', '1']);

    // Down for five days, three longer than the retention.
    clock.advance(5 * DAY_MS);
    const requestsBefore = setup.simulator.requestLog().length;
    const resumed = await collectOnce(setup, clock);

    const cutoff = clock.now() - 2 * DAY_MS;
    let served = 0;
    for (const dataset of LOG_DATASETS) {
      expect(servedBetween(setup.simulator, dataset, START, cutoff).length, dataset).toBeGreaterThan(0);
      const expected = servedBetween(setup.simulator, dataset, cutoff, clock.now());
      expect(expected.length, dataset).toBeGreaterThan(0);
      // Everything from the cut-off on, once, and nothing older: what retention deleted is not read again.
      expectExactlyOnce(await storedRaw(setup, clock, dataset, '-1000d'), expected);
      expect(earliestSince(setup.simulator, dataset, requestsBefore), dataset).toBeGreaterThanOrEqual(cutoff);
      served += expected.length;
    }
    expect(storedCount(resumed)).toBe(served);

    // The floor is kept: the next run rereads only its lookback, not back to where the cursor stood before.
    clock.advance(HOUR_MS);
    const requestsThen = setup.simulator.requestLog().length;
    const next = await collectOnce(setup, clock);
    expect(earliestSince(setup.simulator, 'access_requests', requestsThen)).toBe(clock.now() - HOUR_MS - 5 * MINUTE_MS);
    expect(storedCount(next)).toBe(
      LOG_DATASETS.reduce(
        (sum, dataset) => sum + servedBetween(env.simulator, dataset, clock.now() - HOUR_MS, clock.now()).length,
        0,
      ),
    );
  }, 120_000);
});
