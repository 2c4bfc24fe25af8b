import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { StoredSource } from '../store/store.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { sourceHealth } from './source-health.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

describe('source health', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('shows a dataset whose first backfill began but never caught up as backfilling, not as never collected', async () => {
    const dir = makeTempDir('zerotrail-health-');
    cleanups.push(() => dir.remove());
    const clock = new ManualClock(NOW);
    const store = await SqliteStore.open({ path: join(dir.path, 'zerotrail.db'), logger: silentLogger(), clock });
    cleanups.push(() => store.close());
    await store.migrate();
    const stored: StoredSource = {
      name: 'cf',
      type: 'cloudflare_zero_trust',
      accountId: '0123456789abcdef0123456789abcdef',
      tokenCiphertext: 'sealed',
      tokenLastFour: 'abcd',
      createdAt: NOW,
      settings: {},
    };
    await store.saveSource(stored);
    // What a first backfill stopped after its first request leaves: a committed cursor, no status row yet.
    await store.append([], { id: 'cf/access_requests', value: { since: '2026-02-22T12:00:00.000Z' } });

    const rows = await sourceHealth({ store, clock }, stored);
    const stateOf = (dataset: string) => rows.find((row) => row.dataset === dataset)?.state;
    expect(stateOf('access_requests')).toBe('backfilling');
    expect(stateOf('audit_logs')).toBe('not_collected');

    await store.setDatasetStatus({
      id: 'cf/access_requests',
      state: 'ok',
      lastSuccessAt: NOW,
      lastErrorAt: null,
      lastErrorCode: null,
      lastErrorMessage: null,
      updatedAt: NOW,
    });
    expect((await sourceHealth({ store, clock }, stored)).find((row) => row.dataset === 'access_requests')?.state).toBe(
      'ok',
    );
  });
});
