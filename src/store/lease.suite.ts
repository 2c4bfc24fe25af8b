// The lease part of the store contract (contract.suite.ts runs it); the .suite.ts suffix keeps it out of the build.
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../core/event.js';
import { isAppError } from '../core/errors.js';
import type { Store, StoredSource } from './store.js';

const LONG_MS = 60_000;
// Long enough to claim and check within it, short enough to wait out in a test.
const SHORT_MS = 150;

function event(id: string): NormalizedEvent {
  return {
    id,
    time: Date.UTC(2024, 2, 1, 9, 0, 0),
    sourceName: 'cf-lease',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'dana@example.com',
    srcIp: '198.51.100.4',
    country: 'NL',
    app: 'Wiki',
    appUid: 'app-1',
    idp: 'okta',
    rayId: null,
    ocsf: { class_uid: 3002 },
    raw: { id },
  };
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function leaseContract(current: () => Store): void {
  describe('leases', () => {
    it('gives each dataset to one node at a time, up to the number asked for', async () => {
      const store = current();
      const ids = ['a/x', 'b/x', 'c/x'];
      expect(await store.claimLeases('node-1', ids, 2, LONG_MS)).toEqual([
        { id: 'a/x', epoch: 1 },
        { id: 'b/x', epoch: 1 },
      ]);
      expect(await store.claimLeases('node-2', ids, 5, LONG_MS)).toEqual([{ id: 'c/x', epoch: 1 }]);
      expect(await store.claimLeases('node-1', ids, 5, LONG_MS)).toEqual([]);
      expect(await store.renewLeases('node-1', ids, LONG_MS)).toEqual(
        expect.arrayContaining([
          { id: 'a/x', epoch: 1 },
          { id: 'b/x', epoch: 1 },
        ]),
      );
      expect(await store.renewLeases('node-2', ['a/x'], LONG_MS)).toEqual([]);
    });

    it('lets another node take over a lease that ran out or was released, with a higher epoch', async () => {
      const store = current();
      await store.claimLeases('node-1', ['a/x', 'b/x'], 2, SHORT_MS);
      await store.renewLeases('node-1', ['b/x'], LONG_MS);
      await wait(SHORT_MS * 2);
      expect(await store.claimLeases('node-2', ['a/x', 'b/x'], 2, LONG_MS)).toEqual([{ id: 'a/x', epoch: 2 }]);
      expect(await store.renewLeases('node-1', ['a/x', 'b/x'], LONG_MS)).toEqual([{ id: 'b/x', epoch: 1 }]);
      await store.releaseLeases('node-1', ['b/x']);
      expect(await store.claimLeases('node-2', ['b/x'], 1, LONG_MS)).toEqual([{ id: 'b/x', epoch: 2 }]);
      await store.leaveCluster('node-2');
      expect(await store.claimLeases('node-3', ['a/x', 'b/x'], 2, LONG_MS)).toEqual([
        { id: 'a/x', epoch: 3 },
        { id: 'b/x', epoch: 3 },
      ]);
    });

    it('lists the nodes whose heartbeat has not run out', async () => {
      const store = current();
      await store.heartbeatNode('node-b', LONG_MS);
      await store.heartbeatNode('node-a', LONG_MS);
      await store.heartbeatNode('node-c', SHORT_MS);
      expect(await store.liveNodes()).toEqual(['node-a', 'node-b', 'node-c']);
      await wait(SHORT_MS * 2);
      expect(await store.liveNodes()).toEqual(['node-a', 'node-b']);
      await store.leaveCluster('node-a');
      expect(await store.liveNodes()).toEqual(['node-b']);
    });

    it('refuses an append fenced by a lease that another node took over, and stores nothing of it', async () => {
      const store = current();
      const [held] = await store.claimLeases('node-1', ['cf-lease/access_requests'], 1, SHORT_MS);
      if (held === undefined) throw new Error('the lease was not claimed');
      const fence = { nodeId: 'node-1', epoch: held.epoch };
      await store.append([event('l1')], { id: held.id, value: { since: 1 }, fence });
      await wait(SHORT_MS * 2);
      const [taken] = await store.claimLeases('node-2', [held.id], 1, LONG_MS);
      expect(taken?.epoch).toBe(held.epoch + 1);

      const refused = await store.append([event('l2')], { id: held.id, value: { since: 2 }, fence }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isAppError(refused) && refused.code).toBe('STORE_LEASE_LOST');
      expect(await store.cursor(held.id)).toEqual({ since: 1 });
      expect(await store.count({ filter: null })).toBe(1);

      await store.append([event('l2')], {
        id: held.id,
        value: { since: 2 },
        fence: { nodeId: 'node-2', epoch: taken?.epoch ?? 0 },
      });
      expect(await store.cursor(held.id)).toEqual({ since: 2 });
      expect(await store.count({ filter: null })).toBe(2);
    });

    it('refuses a fenced append once its source was removed, added again or moved, and stores nothing of it', async () => {
      const store = current();
      const account = '0123456789abcdef0123456789abcdef';
      const stored: StoredSource = {
        name: 'cf-lease',
        type: 'cloudflare_zero_trust',
        accountId: account,
        tokenCiphertext: 'v1:ciphertext',
        tokenLastFour: 'a1b2',
        createdAt: 1_000,
        settings: {},
      };
      await store.saveSource(stored);
      const claimed = await store.claimLeases('node-1', ['cf-lease/access_requests', 'cf-lease/users'], 2, LONG_MS);
      const held = claimed.find((lease) => lease.id === 'cf-lease/access_requests');
      const users = claimed.find((lease) => lease.id === 'cf-lease/users');
      if (held === undefined || users === undefined) throw new Error('the leases were not claimed');
      const identity = { name: 'cf-lease', createdAt: 1_000, accountId: account };
      const fence = { nodeId: 'node-1', epoch: held.epoch, source: identity };
      await store.append([event('s1')], { id: held.id, value: { since: 1 }, fence });
      const refusal = (write: Promise<unknown>): Promise<unknown> =>
        write.then(
          () => null,
          (error: unknown) => (isAppError(error) ? error.code : error),
        );

      // Moved to another account: the run that began before the move stores nothing more.
      const moved = { ...stored, accountId: 'fedcba9876543210fedcba9876543210' };
      expect(await store.updateSource(moved, { resetCollection: true })).toBe(true);
      const afterMove = store.append([event('s2')], { id: held.id, value: { since: 2 }, fence });
      expect(await refusal(afterMove)).toBe('STORE_SOURCE_CHANGED');
      // Removed, then added again under the same name: neither the old run's cursor nor its events come back.
      await store.removeSource('cf-lease');
      await store.saveSource({ ...stored, createdAt: 2_000 });
      expect(await refusal(store.append([event('s3')], { id: held.id, value: { since: 3 }, fence }))).toBe(
        'STORE_SOURCE_CHANGED',
      );
      const snapshot = { sourceName: 'cf-lease', dataset: 'users', takenAt: 1_000, entities: [] };
      expect(await refusal(store.saveInventorySnapshot(snapshot, [], { ...fence, epoch: users.epoch }))).toBe(
        'STORE_SOURCE_CHANGED',
      );
      expect(await store.inventorySnapshot('cf-lease', 'users')).toBeUndefined();
      expect(await store.cursor(held.id)).toBeUndefined();
      expect(await store.count({ filter: null })).toBe(1);
      // The source as it is now is written for by a run that knows it.
      const renewed = { ...fence, source: { ...identity, createdAt: 2_000 } };
      await store.append([event('s4')], { id: held.id, value: { since: 4 }, fence: renewed });
      expect(await store.cursor(held.id)).toEqual({ since: 4 });
      await store.saveInventorySnapshot(snapshot, [], { ...renewed, epoch: users.epoch });
      expect((await store.inventorySnapshot('cf-lease', 'users'))?.takenAt).toBe(1_000);
    });

    it('refuses an inventory snapshot fenced by a lease another node took over', async () => {
      const store = current();
      const [held] = await store.claimLeases('node-1', ['cf-lease/users'], 1, SHORT_MS);
      if (held === undefined) throw new Error('the lease was not claimed');
      await wait(SHORT_MS * 2);
      await store.claimLeases('node-2', [held.id], 1, LONG_MS);
      const snapshot = { sourceName: 'cf-lease', dataset: 'users', takenAt: 1_000, entities: [] };
      const refused = await store.saveInventorySnapshot(snapshot, [], { nodeId: 'node-1', epoch: held.epoch }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isAppError(refused) && refused.code).toBe('STORE_LEASE_LOST');
      expect(await store.inventorySnapshot('cf-lease', 'users')).toBeUndefined();
      await store.saveInventorySnapshot(snapshot, [], { nodeId: 'node-2', epoch: held.epoch + 1 });
      expect((await store.inventorySnapshot('cf-lease', 'users'))?.takenAt).toBe(1_000);
    });

    it('keeps one request budget per key for every process, refilled evenly over the window', async () => {
      const store = current();
      const windowMs = 600;
      // Of 3 per window, 1 at once and 2 refilled over the window (see refillAndTake).
      expect(await store.takeRateToken('token-a', 3, windowMs)).toBe(0);
      const waitMs = await store.takeRateToken('token-a', 3, windowMs);
      expect(waitMs).toBeGreaterThan(0);
      expect(waitMs).toBeLessThanOrEqual(windowMs / 2);
      expect(await store.takeRateToken('token-b', 3, windowMs)).toBe(0);
      await wait(waitMs + 50);
      expect(await store.takeRateToken('token-a', 3, windowMs)).toBe(0);
    });

    it('holds a request budget for every process until a 429 hold ends', async () => {
      const store = current();
      const windowMs = 60_000;
      expect(await store.takeRateToken('token-held', 100, windowMs)).toBe(0);
      await store.holdRateTokens('token-held', 30_000, 100, windowMs);
      const waitMs = await store.takeRateToken('token-held', 100, windowMs);
      expect(waitMs).toBeGreaterThan(29_000);
      expect(waitMs).toBeLessThanOrEqual(30_000);
      // A bucket no request has touched yet is held all the same, and other tokens are not.
      await store.holdRateTokens('token-new', 30_000, 100, windowMs);
      expect(await store.takeRateToken('token-new', 100, windowMs)).toBeGreaterThan(29_000);
      expect(await store.takeRateToken('token-other', 100, windowMs)).toBe(0);
    });

    it('refuses a fenced append of a dataset the node never claimed', async () => {
      const refused = await current()
        .append([event('l3')], { id: 'cf-lease/gateway_dns', value: { since: 1 }, fence: { nodeId: 'n', epoch: 1 } })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(isAppError(refused) && refused.code).toBe('STORE_LEASE_LOST');
    });
  });
}
