import { describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../store/store.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { normalizeAccessRequest } from '../normalize/cloudflare/access-requests.js';
import { FirstSnapshots } from './first-snapshots.js';
import { InventoryCache } from './inventory-cache.js';
import type { InventoryJob } from './inventory-runner.js';
import type { DatasetJob } from './runner.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const idle = { start: () => Promise.resolve(), stop: () => Promise.resolve() };

function inventory(sourceName: string, dataset: string): InventoryJob {
  return {
    kind: 'inventory',
    id: `${sourceName}/${dataset}`,
    sourceName,
    accountId: ACCOUNT_ID,
    required: true,
    source: { ...idle, dataset, kinds: ['group'], snapshot: () => Promise.resolve([]) },
  };
}

function logs(sourceName: string, enriched: boolean): DatasetJob {
  return {
    kind: 'log',
    id: `${sourceName}/access_requests`,
    sourceName,
    accountId: ACCOUNT_ID,
    required: true,
    source: {
      ...idle,
      dataset: 'access_requests',
      initialCursor: () => ({}),
      pull: async function* () {},
    },
    normalize: normalizeAccessRequest,
    ...(enriched ? { enrich: (event) => event } : {}),
  };
}

// Settles to the label of whichever happens first: `promise` or a turn of the event loop after `afterMs`.
async function first(promise: Promise<void>, afterMs = 20): Promise<'released' | 'waiting'> {
  return Promise.race([
    promise.then(() => 'released' as const),
    new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), afterMs)),
  ]);
}

describe('the wait for a new source’s first inventory snapshots', () => {
  const cache = (): InventoryCache => new InventoryCache({ logger: silentLogger(), metrics: new Metrics() });
  const signal = new AbortController().signal;

  it('holds enriched logs until every enriching snapshot of their source was tried, and nothing else', async () => {
    const groups = inventory('cf', 'groups');
    const users = inventory('cf', 'access_users');
    const gate = new FirstSnapshots([groups, users, inventory('cf', 'devices'), inventory('other', 'groups')], cache());
    const held = gate.before(logs('cf', true), signal);
    expect(await first(gate.before(logs('cf', false), signal))).toBe('released');
    expect(await first(held)).toBe('waiting');
    gate.tried(groups);
    expect(await first(held)).toBe('waiting');
    gate.tried(users);
    expect(await first(held)).toBe('released');
    // Once released, a later job of the source does not wait either.
    expect(await first(gate.before(logs('cf', true), signal))).toBe('released');
  });

  it('does not hold a source whose inventory is known, and gives up waiting after a while or when stopped', async () => {
    const known = cache();
    const snapshot: InventorySnapshot = { sourceName: 'cf', dataset: 'groups', takenAt: 1, entities: [] };
    known.update(snapshot);
    expect(await first(new FirstSnapshots([inventory('cf', 'groups')], known).before(logs('cf', true), signal))).toBe(
      'released',
    );
    const gate = new FirstSnapshots([inventory('cf', 'groups')], cache());
    expect(await first(gate.before(logs('cf', true), signal, 5), 50)).toBe('released');
    const stop = new AbortController();
    const stopped = gate.before(logs('cf', true), stop.signal);
    stop.abort();
    expect(await first(stopped)).toBe('released');
  });
});
