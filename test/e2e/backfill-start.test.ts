import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { collectOnce, LOG_DATASETS, servedBetween, storedRaw, type LogDataset } from '../helpers/log-datasets.js';
import {
  addTestSource,
  expectExactlyOnce,
  setUpCollector,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
// Off the whole second, so that no simulated record sits exactly on a window's end.
const START = Date.parse('2026-11-20T12:00:00.000Z') + 123;
const FULL_TOKEN = 'zt-sim-token-backfill-start-every-read-0001';

function timeOf(dataset: LogDataset, raw: Record<string, unknown>): number {
  if (dataset === 'access_requests') return Date.parse(String(raw['created_at']));
  if (dataset === 'scim_updates') return Date.parse(String(raw['logged_at']));
  return Date.parse(String((raw['action'] as Record<string, unknown>)['time']));
}

/** The `since` of every access_requests request the simulator answered after the first `skip` requests. */
function accessRequestSinces(sim: Simulator, skip: number): string[] {
  return sim
    .requestLog()
    .slice(skip)
    .filter((entry) => entry.path.endsWith('/access/logs/access_requests'))
    .map((entry) => new URLSearchParams(entry.query).get('since') ?? '');
}

describe('the backfill start chosen on the first run', () => {
  let setup: CollectorEnv | undefined;
  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('is kept when the first runs find nothing, and a run that found nothing is resumed from where it got to', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector(
      {
        seed: 31,
        clock,
        tokens: [{ value: FULL_TOKEN, permissions: [...DEFAULT_PERMISSIONS] }],
        // Nothing happens from an hour before the start on.
        traffic: { kind: 'fixed', fromMs: START - 3 * DAY_MS, toMs: START - HOUR_MS, count: 2000 },
        inventoryChanges: false,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);

    await collectOnce(setup, clock, ['--backfill-days', '0']);
    clock.advance(HOUR_MS);
    await collectOnce(setup, clock, ['--backfill-days', '0']);
    clock.advance(HOUR_MS);
    const requestsBefore = setup.simulator.requestLog().length;
    const third = await collectOnce(setup, clock);

    expect(third.stderr).not.toContain('Backfilling');
    expect(await storedRaw(setup, clock, 'access_requests')).toEqual([]);
    // The second run read up to its own now; the third rereads only the lookback before that.
    expect(accessRequestSinces(setup.simulator, requestsBefore)[0]).toBe(
      new Date(START + HOUR_MS - 5 * MINUTE_MS).toISOString(),
    );
  });

  it('is kept when the first run stops before its first page', async () => {
    const clock = new ManualClock(START);
    const revoked = 'zt-sim-token-backfill-start-revoked-00002';
    setup = await setUpCollector(
      {
        seed: 33,
        clock,
        tokens: [
          { value: FULL_TOKEN, permissions: [...DEFAULT_PERMISSIONS] },
          { value: revoked, status: 'disabled' },
        ],
        traffic: { kind: 'fixed', fromMs: START - 3 * DAY_MS, toMs: START - HOUR_MS, count: 2000 },
        inventoryChanges: false,
      },
      false,
    );
    const env = setup.env;
    await addTestSource(setup, revoked, ['--no-verify']);
    // Refused at its first request: no page, and so no cursor but the start this run chose.
    const refused = await runInProcess(['collect', '--once', '--backfill-days', '0'], { env, clock });
    expect(refused.code, refused.stderr).toBe(1);
    const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-env', 'T'], {
      env: { ...env, T: FULL_TOKEN },
      clock,
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    clock.advance(HOUR_MS);

    const next = await collectOnce(setup, clock);
    expect(next.stderr).not.toContain('Backfilling');
    expect(await storedRaw(setup, clock, 'access_requests')).toEqual([]);
  });

  it('is never reread before, however soon after it the next runs come', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector(
      {
        seed: 32,
        clock,
        tokens: [
          {
            value: FULL_TOKEN,
            permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs, PERMISSIONS.accountSettings],
          },
        ],
        traffic: { kind: 'fixed', fromMs: START - DAY_MS, toMs: START + DAY_MS, count: 6000 },
        adminTraffic: { historyDays: 2, scimUpdatesPerDay: 6000, auditEntriesPerDay: 6000 },
        inventoryChanges: false,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);

    await collectOnce(setup, clock, ['--backfill-days', '0']);
    clock.advance(2 * MINUTE_MS);
    await collectOnce(setup, clock, ['--backfill-days', '0']);
    // One lookback before the last run's end lies three minutes before the start.
    clock.advance(2 * MINUTE_MS + 194);
    await collectOnce(setup, clock);

    for (const dataset of LOG_DATASETS) {
      const stored = await storedRaw(setup, clock, dataset);
      const expected = servedBetween(setup.simulator, dataset, START, clock.now());
      expect(servedBetween(setup.simulator, dataset, START - 5 * MINUTE_MS, START).length, dataset).toBeGreaterThan(0);
      expect(expected.length, dataset).toBeGreaterThan(0);
      expect(stored.filter((raw) => timeOf(dataset, raw) < START).length, dataset).toBe(0);
      expectExactlyOnce(stored, expected);
    }
  });

  it('reaches back as far as Cloudflare keeps each dataset: audit logs 18 months, Access and SCIM logs 180 days', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector(
      {
        seed: 33,
        clock,
        tokens: [
          {
            value: FULL_TOKEN,
            permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs, PERMISSIONS.accountSettings],
          },
        ],
        traffic: { kind: 'fixed', fromMs: START - 300 * DAY_MS, toMs: START - HOUR_MS, count: 600 },
        adminTraffic: { historyDays: 400, scimUpdatesPerDay: 2, auditEntriesPerDay: 2 },
        inventoryChanges: false,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);

    const result = await collectOnce(setup, clock, ['--backfill-days', '365']);
    expect(result.stderr).toContain(
      'notice: Access and SCIM logs start at most 180 days back, the longest Cloudflare keeps them (Enterprise plans); ' +
        'audit logs, kept 18 months, start the 365 days back asked for.',
    );
    for (const [dataset, days] of [
      ['access_requests', 180],
      ['scim_updates', 180],
      ['audit_logs', 365],
    ] as const) {
      const stored = await storedRaw(setup, clock, dataset, '-1000d');
      // Served before the start too, so the start is what cut them.
      expect(
        servedBetween(setup.simulator, dataset, START - 400 * DAY_MS, START - days * DAY_MS).length,
        dataset,
      ).toBeGreaterThan(0);
      expectExactlyOnce(stored, servedBetween(setup.simulator, dataset, START - days * DAY_MS, clock.now()));
    }
  }, 120_000);
});
