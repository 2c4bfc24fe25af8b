import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { ManualClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { PostgresStore } from '../store/postgres/store.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/store.js';
import { deniedAccess } from '../../test/helpers/events.js';
import { ensurePostgres, TestSchemas } from '../../test/helpers/postgres.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { applyRetention, keepRetention, RETENTION_SETTING } from './retention.js';

const NOW = Date.parse('2026-03-15T12:00:00.000Z');
const DAY_MS = 86_400_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One event a day for `days` days back from NOW, the newest an hour old. */
async function storeDailyEvents(store: Store, days: number): Promise<void> {
  const events = Array.from({ length: days }, (_, i) => deniedAccess({ time: NOW - 3_600_000 - i * DAY_MS }, i));
  await store.append(events, { id: 'cf/access_requests', value: {} });
}

const eventsOlderThan = (store: Store, days: number): Promise<number> =>
  store.count({ filter: null, fromMs: 0, toMs: NOW - days * DAY_MS });

async function sqliteApp(maxAgeDays: number) {
  const dir = makeTempDir('zerotrail-retention-');
  cleanups.push(() => dir.remove());
  const clock = new ManualClock(NOW);
  const store = await SqliteStore.open({ path: join(dir.path, 'zerotrail.db'), clock });
  cleanups.push(() => store.close());
  await store.migrate();
  const config = loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_RETENTION__MAX_AGE_DAYS: String(maxAgeDays) } });
  return { store, clock, config, logger: silentLogger(), metrics: new Metrics() };
}

describe('the retention run kept by a long-running process', () => {
  it('deletes at once, then applies a retention an admin shortens at its next run, without anything collecting', async () => {
    const app = await sqliteApp(30);
    await storeDailyEvents(app.store, 40);
    const stop = new AbortController();
    const running = keepRetention(app, stop.signal, 50);
    try {
      await waitFor('the first run', async () => (await eventsOlderThan(app.store, 30)) === 0, { timeoutMs: 5_000 });
      expect(await app.store.count({ filter: null, fromMs: 0, toMs: NOW })).toBe(30);

      // What POST /api/settings/retention stores.
      await app.store.setSetting(RETENTION_SETTING, '10');
      await waitFor('the setting applied', async () => (await eventsOlderThan(app.store, 10)) === 0, {
        timeoutMs: 5_000,
      });
      expect(await app.store.count({ filter: null, fromMs: 0, toMs: NOW })).toBe(10);

      // The cut-off follows the clock from one run to the next.
      app.clock.advance(3 * DAY_MS);
      await waitFor(
        'the later cut-off',
        async () => (await app.store.count({ filter: null, fromMs: 0, toMs: NOW })) === 7,
        {
          timeoutMs: 5_000,
        },
      );
    } finally {
      stop.abort();
    }
    await running;
  });
});

describe('retention runs of several processes on one PostgreSQL store', () => {
  const schemas = new TestSchemas('retention');
  afterAll(() => schemas.dropAll());

  it('overlap without an error, and delete every old event once', async () => {
    await ensurePostgres();
    const url = schemas.url();
    const clock = new ManualClock(NOW);
    // Small chunks, so that the overlapping runs take turns over many deletes in the month the cut-off falls in.
    const open = () => PostgresStore.open({ url, clock, logger: silentLogger(), deleteChunkSize: 50 });
    // One after another: the first creates the schema, which processes starting together would race to do.
    const first = await open();
    const stores = [first, await open(), await open()];
    cleanups.push(async () => {
      for (const store of stores) await store.close();
    });
    await first.migrate();
    // 4,000 events over the last 100 days: whole months to drop, and many rows of the cut-off's month to delete.
    const events = Array.from({ length: 4_000 }, (_, i) =>
      deniedAccess({ time: NOW - 3_600_000 - i * 36 * 60_000 }, i),
    );
    await first.append(events, { id: 'cf/access_requests', value: {} });
    const dir = makeTempDir('zerotrail-retention-');
    cleanups.push(() => dir.remove());
    const config = loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_RETENTION__MAX_AGE_DAYS: '10' } });
    const runs = stores.flatMap((store) =>
      [0, 1].map(() => applyRetention({ store, clock, config, logger: silentLogger() })),
    );
    await Promise.all(runs);
    expect(await eventsOlderThan(first, 10)).toBe(0);
    expect(await first.count({ filter: null, fromMs: 0, toMs: NOW })).toBe(
      events.filter((event) => event.time >= NOW - 10 * DAY_MS).length,
    );
  }, 60_000);
});
