import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/app.js';
import { runInProcess, startCli } from '../helpers/cli.js';
import { addTestSource, setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const OTHER = 'Other Zero Trust';

// The cursors stored under a source name, read straight from the database file.
function cursorIds(dataDir: string, sourceName: string): string[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const rows = db.prepare('SELECT id FROM cursors').pluck().all() as string[];
    return rows.filter((id) => id.startsWith(`${sourceName}/`));
  } finally {
    db.close();
  }
}

describe('a source removed while a collector follows it', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      { seed: 43, traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now + HOUR_MS, count: 400 } },
      false,
    );
    await addTestSource(setup, setup.simulator.token);
    // A second source keeps the collector running once the first is gone.
    const other = await runInProcess(
      ['source', 'add', '--name', OTHER, '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env: setup.env },
    );
    expect(other.code, other.stderr).toBe(0);
  });
  afterAll(async () => setup.cleanup());

  it('leaves no cursor behind, so the source added again under its name backfills from the start', async () => {
    const collector = startCli(['collect', '--backfill-days', '1'], {
      ...setup.env,
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
    });
    const stderr = collector.stderr;
    try {
      await waitFor('the first pull', () => cursorIds(setup.dataDir, TEST_SOURCE).length > 0, { timeoutMs: 30_000 });
      const removed = await runInProcess(['source', 'remove', TEST_SOURCE], { env: setup.env });
      expect(removed.code, removed.stderr).toBe(0);
      // The running collector pulls every second until it reads the sources again (within 15 s): none of those
      // pulls may write a cursor under the removed name.
      await waitFor('the collector to read the sources again', () => stderr().includes('The data sources changed'), {
        timeoutMs: 40_000,
      });
      expect(cursorIds(setup.dataDir, TEST_SOURCE)).toEqual([]);
      expect(cursorIds(setup.dataDir, OTHER).length).toBeGreaterThan(0);
    } finally {
      expect(await collector.stop(), stderr()).toBe(0);
    }

    await addTestSource(setup, setup.simulator.token);
    const again = await runInProcess(['collect', '--once', '--backfill-days', '1', '--source', TEST_SOURCE], {
      env: setup.env,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`Backfilling 1 day for ${TEST_SOURCE}/access_requests`));
  }, 120_000);

  it('keeps following when the last source is removed, and collects the next one added', async () => {
    const removedOther = await runInProcess(['source', 'remove', OTHER], { env: setup.env });
    expect(removedOther.code, removedOther.stderr).toBe(0);
    const collector = startCli(['collect', '--backfill-days', '1'], {
      ...setup.env,
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
    });
    const stderr = collector.stderr;
    try {
      await waitFor('the first pull', () => stderr().includes(`${TEST_SOURCE}/access_requests: caught up`), {
        timeoutMs: 30_000,
      });
      const removed = await runInProcess(['source', 'remove', TEST_SOURCE], { env: setup.env });
      expect(removed.code, removed.stderr).toBe(0);
      await waitFor('the wait for a source', () => stderr().includes('No data source is left to collect from'), {
        timeoutMs: 40_000,
      });
      expect(collector.child.exitCode, 'the collector keeps running').toBeNull();
      await addTestSource(setup, setup.simulator.token);
      await waitFor('collection of the source added', () => cursorIds(setup.dataDir, TEST_SOURCE).length > 0, {
        timeoutMs: 40_000,
      });
      expect(stderr()).toContain('The data sources changed');
    } finally {
      expect(await collector.stop(), stderr()).toBe(0);
    }
  }, 120_000);
});
