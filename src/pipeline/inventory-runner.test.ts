import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadBuiltinRules } from '../detect/builtin-rules.js';
import { Detector } from '../detect/detector.js';
import { ensurePostgres, TestSchemas } from '../../test/helpers/postgres.js';
import { waitFor } from '../../test/helpers/wait.js';
import { incompressibleCjk } from '../../test/helpers/wide-text.js';
import { FLAT_FIELD_MAX_BYTES } from '../normalize/schema.js';
import { PostgresStore } from '../store/postgres/store.js';
import type { Store } from '../store/store.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { takeSnapshot, type InventoryJob } from './inventory-runner.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';

// A job for one inventory dataset of source "cf", whose snapshot is whatever `served` gives at the time.
function inventoryJob(dataset: string, kind: InventoryKind, served: () => InventoryEntity[]): InventoryJob {
  return {
    kind: 'inventory',
    id: `cf/${dataset}`,
    sourceName: 'cf',
    accountId: ACCOUNT_ID,
    required: false,
    source: {
      dataset,
      kinds: [kind],
      start: () => Promise.resolve(),
      stop: () => Promise.resolve(),
      snapshot: () => Promise.resolve(served()),
    },
  };
}

function nested(depth: number, core: unknown): unknown {
  let value = core;
  for (let n = 0; n < depth; n++) value = { inner: value };
  return value;
}

describe('an inventory snapshot', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  const schemas = new TestSchemas('inventory_runner');
  const stores = {
    SQLite: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'zerotrail-inventory-'));
      const store = await SqliteStore.open({ path: join(dir, 'zerotrail.db') });
      cleanups.push(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
    PostgreSQL: async () => {
      await ensurePostgres();
      const store = await PostgresStore.open({ url: schemas.url() });
      cleanups.push(async () => {
        await store.close();
        await schemas.dropAll();
      });
      return store;
    },
  } satisfies Record<string, () => Promise<Store>>;

  it('keeps an entity nested deeper than anything can write as its JSON text, and still sees its changes', async () => {
    const store = await stores.SQLite();
    await store.migrate();
    let served: InventoryEntity[] = [];
    const job = inventoryJob('policies', 'policy', () => served);
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    const deps = { store, clock, logger: silentLogger(), metrics: new Metrics() };
    const plain = { kind: 'policy', id: 'p1', name: 'plain', attributes: { id: 'p1', name: 'plain' } } as const;
    const deep = (core: string): InventoryEntity => ({
      kind: 'policy',
      id: 'p2',
      name: 'deep',
      attributes: { id: 'p2', rules: nested(20_000, core) },
    });
    served = [plain, deep('first')];
    await takeSnapshot(job, deps, { signal: new AbortController().signal });
    const stored = await store.inventorySnapshot('cf', 'policies');
    const kept = stored?.entities.find((entity) => entity.id === 'p2')?.attributes;
    expect(Object.keys(kept ?? {})).toEqual(['json_text']);
    expect(String(kept?.['json_text'])).toMatch(/^\{"id":"p2","rules":\{"inner":\{"inner":/);
    expect(stored?.entities.find((entity) => entity.id === 'p1')?.attributes).toEqual(plain.attributes);

    clock.advance(60_000);
    served = [plain, deep('second')];
    const totals = await takeSnapshot(job, deps, { signal: new AbortController().signal });
    expect(totals.inserted).toBe(1);
  });

  it('has its change events evaluated while no log event comes', async () => {
    const store = await stores.SQLite();
    await store.migrate();
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    const deps = { store, clock, logger: silentLogger(), metrics: new Metrics() };
    const detector = new Detector(deps, loadBuiltinRules(), { minIntervalMs: 0 });
    cleanups.unshift(() => detector.close());
    const okta: InventoryEntity = {
      kind: 'identity_provider',
      id: 'idp1',
      name: 'Okta',
      attributes: { id: 'idp1', type: 'okta' },
    };
    const rogue: InventoryEntity = {
      kind: 'identity_provider',
      id: 'idp2',
      name: 'Rogue',
      attributes: { id: 'idp2', type: 'saml' },
    };
    let served: InventoryEntity[] = [okta];
    const job = inventoryJob('identity_providers', 'identity_provider', () => served);
    await takeSnapshot(job, { ...deps, detector }, { signal: new AbortController().signal });
    clock.advance(15 * 60_000);
    served = [okta, rogue];
    expect((await takeSnapshot(job, { ...deps, detector }, { signal: new AbortController().signal })).inserted).toBe(1);
    await waitFor(
      'the identity provider added to raise its alert',
      async () => (await store.listAlerts({ ruleId: 'zt-config-tampering', limit: 10 })).length === 1,
      { timeoutMs: 5_000 },
    );
  });

  for (const [storeName, open] of Object.entries(stores)) {
    it(`keeps an entity whose name is longer than an index holds, in ${storeName}, and sees no change next time`, async () => {
      const store = await open();
      await store.migrate();
      // Varied CJK text: PostgreSQL compresses a repetitive one below its 2,704-byte index row limit.
      const name = incompressibleCjk(3000);
      const served: InventoryEntity[] = [{ kind: 'group', id: 'g1', name, attributes: { id: 'g1', name } }];
      const job = inventoryJob('groups', 'group', () => served);
      const clock = new ManualClock(Date.UTC(2026, 2, 1));
      const deps = { store, clock, logger: silentLogger(), metrics: new Metrics() };
      await takeSnapshot(job, deps, { signal: new AbortController().signal });
      const [stored] = (await store.inventorySnapshot('cf', 'groups'))?.entities ?? [];
      expect(Buffer.byteLength(stored?.name ?? '')).toBeLessThanOrEqual(FLAT_FIELD_MAX_BYTES);
      expect(name.startsWith(stored?.name ?? 'none')).toBe(true);
      expect(stored?.attributes).toEqual({ id: 'g1', name });
      clock.advance(60_000);
      const again = await takeSnapshot(job, deps, { signal: new AbortController().signal });
      expect(again.inserted).toBe(0);
    });
  }
});
