import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { InventoryEntity } from '../../core/inventory.js';
import { diffInventory } from '../../normalize/inventory-changes.js';
import { ensurePostgres, TestSchemas } from '../../../test/helpers/postgres.js';
import type { AppendResult, InventorySnapshot } from '../store.js';
import { PostgresStore } from './store.js';

// Several collector nodes sharing one database, each with its own pool, saving snapshots of the same
// inventory dataset at once. Every save must land whole and alone, as if the saves had run one after another.

const schemas = new TestSchemas('inventory_race');
const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const START = Date.UTC(2024, 5, 3, 9);
const ROUNDS = 30;
// Nodes that save; one more only reads.
const WRITERS = 4;
const nodes: PostgresStore[] = [];

beforeAll(async () => {
  await ensurePostgres();
  const url = schemas.url();
  for (let i = 0; i <= WRITERS; i += 1) nodes.push(await PostgresStore.open({ url, poolSize: 3 }));
  await node(0).migrate();
});

afterAll(async () => {
  await Promise.all(nodes.map((store) => store.close()));
  await schemas.dropAll();
});

function node(index: number): PostgresStore {
  const store = nodes[index];
  if (store === undefined) throw new Error(`node ${index} was not opened`);
  return store;
}

function group(id: string, round: number, variant: string): InventoryEntity {
  return { kind: 'group', id, name: `Group ${id}`, attributes: { id, name: `Group ${id}`, round, variant } };
}

type Variant = 'x' | 'y' | 'z';
const VARIANTS: readonly Variant[] = ['x', 'y', 'z'];

/**
 * One snapshot of the round. x holds five of eight groups, a window that moves every round so groups come and
 * go, and each kept group's attributes name the round so it changes too. y's window starts two later and adds
 * a group of its own, so x and y share some ids and not others; z shares none. Unserialised saves collide on
 * the primary key where ids are shared and mix where they are not.
 */
function snapshot(sourceName: string, dataset: string, round: number, variant: Variant): InventorySnapshot {
  const window = (offset: number) => [0, 1, 2, 3, 4].map((k) => `g${(round + k + offset) % 8}`);
  const ids =
    variant === 'x'
      ? window(0)
      : variant === 'y'
        ? [...window(2), `gy${round % 3}`]
        : [0, 1, 2].map((k) => `gz${(round + k) % 4}`);
  return {
    sourceName,
    dataset,
    // The inventory runner stamps each snapshot with the time it was read; y and z were read a little later.
    takenAt: START + round * 60_000 + VARIANTS.indexOf(variant),
    // In the order the store lists them: by kind, then id.
    entities: ids.sort().map((id) => group(id, round, variant)),
  };
}

function changesBetween(before: InventorySnapshot, after: InventorySnapshot): NormalizedEvent[] {
  return diffInventory(before.entities, after.entities, {
    sourceName: after.sourceName,
    accountId: ACCOUNT_ID,
    dataset: after.dataset,
    takenAt: after.takenAt,
    previousTakenAt: before.takenAt,
  });
}

async function stored(store: PostgresStore, sourceName: string, dataset: string): Promise<InventorySnapshot> {
  const found = await store.inventorySnapshot(sourceName, dataset);
  if (found === undefined) throw new Error(`no ${dataset} snapshot of ${sourceName} is stored`);
  return found;
}

async function storedEventIds(store = node(0)): Promise<Set<string>> {
  return new Set((await store.eventsAfter(0, 100_000)).map((sequenced) => sequenced.event.id));
}

/** A save's outcome as a plain value, so a failed save shows its code and message in the assertion. */
async function settle(save: Promise<AppendResult>): Promise<AppendResult | string> {
  return save.catch((error: unknown) => (isAppError(error) ? `${error.code}: ${error.message}` : String(error)));
}

function succeeded(outcomes: readonly (AppendResult | string)[]): AppendResult[] {
  expect(outcomes.filter((value) => typeof value === 'string')).toEqual([]);
  return outcomes.filter((value) => typeof value !== 'string');
}

describe('PostgresStore inventory snapshots saved by several nodes at once', () => {
  it('stores each concurrent save whole, as one serial order of them would, and each change event once', async () => {
    const [source, dataset] = ['cf-race', 'groups'];
    let before = snapshot(source, dataset, 0, 'x');
    await node(0).saveInventorySnapshot(before, []);
    const expectedIds = new Set<string>();

    for (let round = 1; round <= ROUNDS; round += 1) {
      const [x, y, z] = VARIANTS.map((variant) => snapshot(source, dataset, round, variant));
      if (x === undefined || y === undefined || z === undefined) throw new Error('a variant is missing');
      // Each node compares what it read with what was stored before the round, as the inventory runner does.
      const [xChanges, yChanges, zChanges] = [x, y, z].map((taken) => changesBetween(before, taken));
      if (xChanges === undefined || yChanges === undefined || zChanges === undefined) throw new Error('no changes');
      for (const changes of [xChanges, yChanges, zChanges]) {
        expect(changes.length).toBeGreaterThan(0);
        for (const change of changes) expectedIds.add(change.id);
      }

      // Two nodes save the same snapshot (two collectors catching up at once), two others one each; which node
      // saves which rotates. A fifth node reads while they write.
      const writer = (k: number) => node((round + k) % WRITERS);
      let saving = true;
      const reads: InventorySnapshot[] = [];
      const [outcomes] = await Promise.all([
        Promise.all([
          settle(writer(0).saveInventorySnapshot(x, xChanges)),
          settle(writer(1).saveInventorySnapshot(y, yChanges)),
          settle(writer(2).saveInventorySnapshot(x, xChanges)),
          settle(writer(3).saveInventorySnapshot(z, zChanges)),
        ]).finally(() => {
          saving = false;
        }),
        (async () => {
          while (saving) reads.push(await stored(node(WRITERS), source, dataset));
        })(),
      ]);

      const [xa, ya, xb, za] = succeeded(outcomes);
      // Whichever of the two identical saves ran second found its change events stored already.
      expect([(xa?.inserted ?? 0) + (xb?.inserted ?? 0), (xa?.duplicates ?? 0) + (xb?.duplicates ?? 0)]).toEqual([
        xChanges.length,
        xChanges.length,
      ]);
      expect(ya).toMatchObject({ inserted: yChanges.length, duplicates: 0 });
      expect(za).toMatchObject({ inserted: zChanges.length, duplicates: 0 });

      // The save that ran last decides the state: all of one snapshot of the round, never a mix of two.
      const after = await stored(node(round % WRITERS), source, dataset);
      expect(after).toEqual([x, y, z].find((taken) => taken.takenAt === after.takenAt));
      const listed = await node(WRITERS).listInventory('group', source);
      expect(listed).toEqual(
        after.entities.map((entity) => ({ ...entity, sourceName: source, dataset, takenAt: after.takenAt })),
      );
      // A reader sees the state before the round or one of the saves, never one half-replaced.
      for (const read of reads) expect([before, x, y, z]).toContainEqual(read);
      before = after;
    }

    // Every save of a round was computed against the state before it and each is kept, each change once: the
    // store takes the changes it is given. (Nodes that compare against the same stored state each report their
    // own transition from it; the lease a collector node holds per dataset is what keeps that to one node.)
    const ids = (await node(0).eventsAfter(0, 100_000)).map((sequenced) => sequenced.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expectedIds].sort());
  });

  it('refuses every save fenced by a lease given up, however it interleaves with the next holder', async () => {
    // Another dataset than the test above: change event ids leave the source name out (one account added twice
    // under two names yields one set of events), so the same groups at the same time would share ids.
    const [source, dataset] = ['cf-fence', 'access_groups'];
    const leaseId = `${source}/${dataset}`;
    const [holder, next] = [node(0), node(1)];
    let before = snapshot(source, dataset, 0, 'x');
    await holder.saveInventorySnapshot(before, []);

    for (let round = 1; round <= ROUNDS / 3; round += 1) {
      const [held] = await holder.claimLeases('node-1', [leaseId], 1, 60_000);
      if (held === undefined) throw new Error('node-1 could not claim the free lease');
      const staleFence = { nodeId: 'node-1', epoch: held.epoch };

      // Three saves under node-1's fence, from three connections, race with node-1 handing the lease over and
      // node-2 then doing what the inventory runner does once it holds the lease: reading the stored state and
      // saving a snapshot with the changes from it.
      const stale = [holder, node(2), node(3)].map((store, k) => {
        const taken = snapshot(source, dataset, round * 10 + k, 'x');
        return { store, taken, changes: changesBetween(before, taken) };
      });
      const fresh = snapshot(source, dataset, round * 10 + 5, 'y');
      const handOver = async () => {
        await holder.releaseLeases('node-1', [leaseId]);
        const [taken] = await next.claimLeases('node-2', [leaseId], 1, 60_000);
        if (taken === undefined) throw new Error('node-2 could not claim the released lease');
        expect(taken.epoch).toBe(held.epoch + 1);
        const seen = await stored(next, source, dataset);
        const seenIds = await storedEventIds(next);
        const freshChanges = changesBetween(seen, fresh);
        const result = await next.saveInventorySnapshot(fresh, freshChanges, { nodeId: 'node-2', epoch: taken.epoch });
        return { seen, seenIds, freshChanges, result };
      };
      const [handedOver, staleSaves] = await Promise.all([
        handOver(),
        Promise.all(
          stale.map(async (save) => ({
            ...save,
            outcome: await settle(save.store.saveInventorySnapshot(save.taken, save.changes, staleFence)),
          })),
        ),
      ]);
      const { seen, seenIds, freshChanges, result } = handedOver;
      expect(result).toMatchObject({ inserted: freshChanges.length, duplicates: 0 });

      const ids = await storedEventIds();
      const saved: InventorySnapshot[] = [];
      for (const { taken, changes, outcome } of staleSaves) {
        if (typeof outcome === 'string') {
          expect(outcome).toMatch(/^STORE_LEASE_LOST: /);
          expect(changes.filter((change) => ids.has(change.id))).toEqual([]);
        } else {
          // Saved while node-1 still held the lease, and committed before node-2 could claim it: what node-2
          // read after claiming already held it.
          expect(outcome).toMatchObject({ inserted: changes.length, duplicates: 0 });
          expect(changes.filter((change) => !seenIds.has(change.id))).toEqual([]);
          saved.push(taken);
        }
      }
      expect([before, ...saved]).toContainEqual(seen);
      // Whatever node-1 managed to save came before node-2's save, never after it.
      expect(await stored(node(WRITERS), source, dataset)).toEqual(fresh);

      // A stale save after the hand-over is refused outright and changes nothing.
      const late = snapshot(source, dataset, round * 10 + 9, 'x');
      const lateChanges = changesBetween(fresh, late);
      const refused = await holder.saveInventorySnapshot(late, lateChanges, staleFence).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isAppError(refused) && refused.code).toBe('STORE_LEASE_LOST');
      expect(await stored(node(WRITERS), source, dataset)).toEqual(fresh);
      const afterRefusal = await storedEventIds();
      expect(lateChanges.filter((change) => afterRefusal.has(change.id))).toEqual([]);

      await next.releaseLeases('node-2', [leaseId]);
      before = fresh;
    }
  });
});
