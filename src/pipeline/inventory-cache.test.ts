import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isRejected, type NormalizedEvent } from '../core/event.js';
import type { InventoryEntity } from '../core/inventory.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { normalizeAccessRequest } from '../normalize/cloudflare/access-requests.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { InventorySnapshot } from '../store/store.js';
import { InventoryCache } from './inventory-cache.js';

const FIXTURE = JSON.parse(
  readFileSync(join(import.meta.dirname, '../normalize/fixtures/enrich/inventory.json'), 'utf8'),
) as { dataset: string; takenAt: number; entities: InventoryEntity[] }[];
const META = { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' };
const T1 = Date.UTC(2026, 10, 20, 9, 0);
const MIN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-inventory-cache-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// The fixture's inventory as a refresh at `takenAt` stores it, each entity a fresh copy as a new fetch gives;
// `change` may alter an entity's copy (return it) or drop the entity (return null).
function refresh(
  takenAt: number,
  change: (entity: InventoryEntity) => InventoryEntity | null = (entity) => entity,
): InventorySnapshot[] {
  return FIXTURE.map((snapshot) => ({
    sourceName: META.sourceName,
    dataset: snapshot.dataset,
    takenAt,
    entities: snapshot.entities
      .map((entity) => change(structuredClone(entity)))
      .filter((entity): entity is InventoryEntity => entity !== null),
  }));
}

let rayNumber = 0;
function aliceLogin(): NormalizedEvent {
  rayNumber += 1;
  const result = normalizeAccessRequest(
    {
      action: 'login',
      allowed: true,
      app_domain: 'wiki.example.com',
      app_uid: '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
      connection: 'okta',
      created_at: '2026-11-20T09:15:02Z',
      ip_address: '192.0.2.10',
      ray_id: `8e1f2a3b4c5d${String(rayNumber).padStart(4, '0')}`,
      user_email: 'alice.example@example.com',
    },
    META,
  );
  if (isRejected(result)) throw new Error(result.reason);
  return result;
}

interface Enrichment {
  readonly type: string;
  readonly created_time?: number;
  readonly data: { readonly snapshot: { readonly taken_at: string } };
}

function enrichmentsOf(event: NormalizedEvent): Enrichment[] {
  return (event.ocsf['enrichments'] ?? []) as Enrichment[];
}

// The snapshot time each enrichment names, by its type; created_time must agree with it.
function namedTimes(event: NormalizedEvent): Record<string, string> {
  const times: Record<string, string> = {};
  for (const enrichment of enrichmentsOf(event)) {
    expect(enrichment.created_time === undefined ? undefined : iso(enrichment.created_time)).toBe(
      enrichment.data.snapshot.taken_at,
    );
    times[enrichment.type] = enrichment.data.snapshot.taken_at;
  }
  return times;
}

function cacheWith(...refreshes: InventorySnapshot[][]): InventoryCache {
  const cache = new InventoryCache({ logger: silentLogger(), metrics: new Metrics() });
  for (const snapshots of refreshes) for (const snapshot of snapshots) cache.update(snapshot);
  return cache;
}

const renamed =
  (id: string, name: string) =>
  (entity: InventoryEntity): InventoryEntity =>
    entity.id === id ? { ...entity, name, attributes: { ...entity.attributes, name } } : entity;
const ALICE = '8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f';
const CONTRACTORS = '1b2c3d4e-5f6a-4b7c-8d8e-9f0a1b2c3d4e';
const WIKI = '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';

describe('InventoryCache naming the snapshots an enrichment comes from', () => {
  it('keeps the text of an enrichment while a refresh changes nothing but volatile fields', () => {
    const cache = cacheWith(refresh(T1));
    const first = cache.enrich(META.sourceName, aliceLogin());
    expect(Object.keys(namedTimes(first)).sort()).toEqual([
      'application',
      'group_membership',
      'identity_provider',
      'user',
    ]);
    // Alice logs in between the refreshes: her last login moves, nothing an enrichment shows does.
    for (const takenAt of [T1 + 15 * MIN, T1 + 30 * MIN]) {
      for (const snapshot of refresh(takenAt, (entity) =>
        entity.id === ALICE
          ? { ...entity, attributes: { ...entity.attributes, last_successful_login: iso(takenAt) } }
          : entity,
      )) {
        cache.update(snapshot);
      }
    }
    const later = cache.enrich(META.sourceName, aliceLogin());
    expect(JSON.stringify(later.ocsf['enrichments'])).toBe(JSON.stringify(first.ocsf['enrichments']));
    expect(Object.values(namedTimes(later))).toEqual(Array(4).fill(iso(T1)));
  });

  it('names the refresh that changed an entity for that entity alone, and for every group membership at once', () => {
    const cache = cacheWith(
      refresh(T1),
      refresh(T1 + 15 * MIN, renamed(ALICE, 'Alice Renamed')),
      refresh(T1 + 30 * MIN, renamed(ALICE, 'Alice Renamed')),
    );
    expect(namedTimes(cache.enrich(META.sourceName, aliceLogin()))).toEqual({
      application: iso(T1),
      identity_provider: iso(T1),
      user: iso(T1 + 15 * MIN),
      group_membership: iso(T1),
    });
    // Alice is not a contractor, but a change to any group's rules may change whom the others take in.
    for (const snapshot of refresh(T1 + 45 * MIN, (entity) =>
      renamed(CONTRACTORS, 'Vendors')(renamed(ALICE, 'Alice Renamed')(entity) ?? entity),
    )) {
      cache.update(snapshot);
    }
    expect(namedTimes(cache.enrich(META.sourceName, aliceLogin()))).toEqual({
      application: iso(T1),
      identity_provider: iso(T1),
      user: iso(T1 + 15 * MIN),
      group_membership: iso(T1 + 45 * MIN),
    });
  });

  it('starts again for an entity that was gone from a refresh, and for a snapshot older than the one it holds', () => {
    const cache = cacheWith(
      refresh(T1),
      refresh(T1 + 15 * MIN, (entity) => (entity.id === WIKI ? null : entity)),
    );
    expect(namedTimes(cache.enrich(META.sourceName, aliceLogin()))['application']).toBeUndefined();
    for (const snapshot of refresh(T1 + 30 * MIN)) cache.update(snapshot);
    expect(namedTimes(cache.enrich(META.sourceName, aliceLogin()))['application']).toBe(iso(T1 + 30 * MIN));
    for (const snapshot of refresh(T1 + 5 * MIN)) cache.update(snapshot);
    expect(namedTimes(cache.enrich(META.sourceName, aliceLogin()))['application']).toBe(iso(T1 + 5 * MIN));
  });

  it('lets the store keep one copy of the enrichments however often an unchanged inventory is refreshed', async () => {
    const path = join(dir, 'refreshes.db');
    const store = await SqliteStore.open({ path });
    await store.migrate();
    const cache = cacheWith();
    for (let n = 0; n < 4; n += 1) {
      for (const snapshot of refresh(T1 + n * 15 * MIN)) cache.update(snapshot);
      await store.append([cache.enrich(META.sourceName, aliceLogin())], { id: 'c', value: { n } });
    }
    const page = await store.search({ filter: null, order: 'asc' }, { limit: 10 });
    await store.close();
    expect(page.events).toHaveLength(4);
    const db = new Database(path, { readonly: true });
    const fragments = db.prepare('SELECT count(*) FROM event_fragments').pluck().get();
    db.close();
    // The head of Alice's logins and her one enrichments text.
    expect(fragments).toBe(2);
  });
});
