import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
// The inventory lists access events are enriched from (see ENRICHING_DATASETS in pipeline/inventory-cache.ts).
const ENRICHING_ROUTES = ['access-users', 'access-groups', 'access-apps', 'access-identity-providers'];

/**
 * A source's first collection, its inventory slow to answer: the first pages of the backfill would be stored before
 * any snapshot, without the enrichment every later event gets. They wait for the first snapshots instead.
 */
describe('the first collection of a source', () => {
  const now = Date.now();
  let setup: CollectorEnv;

  beforeAll(async () => {
    setup = await setUpCollector({
      seed: 31,
      traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 3000 },
      faults: { slow: { routes: ENRICHING_ROUTES, delayMs: 1500 } },
    });
  }, 120_000);
  afterAll(async () => {
    await setup.cleanup();
  });

  it('enriches its first Access events too, though the inventory answers slowly', async () => {
    const collected = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env });
    expect(collected.code, collected.stderr).toBe(0);
    const search = await runInProcess(
      [
        'search',
        'dataset:access_requests',
        '--from',
        '-1d',
        '--format',
        'ndjson',
        '--limit',
        '10000',
        '--order',
        'asc',
      ],
      { env: setup.env },
    );
    expect(search.code, search.stderr).toBe(0);
    const events = search.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ocsf: { enrichments?: unknown[] } });
    expect(events).toHaveLength(3000);
    const bare = events.filter((event) => (event.ocsf.enrichments ?? []).length === 0);
    expect(bare).toHaveLength(0);
  }, 120_000);
});
