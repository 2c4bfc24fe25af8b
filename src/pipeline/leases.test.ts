import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '../core/errors.js';
import type { NormalizedEvent } from '../core/event.js';
import { silentLogger } from '../core/logger.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { fencedStore, isDeadLocalNode, LeaseKeeper, newNodeId } from './leases.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-leases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOBS = ['a/access_requests', 'b/access_requests', 'c/access_requests', 'd/access_requests', 'e/access_requests'];
const TTL_MS = 300;
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function event(id: string): NormalizedEvent {
  return {
    id,
    time: Date.UTC(2024, 2, 1, 9, 0, 0),
    sourceName: 'a',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: null,
    srcIp: null,
    country: null,
    app: null,
    appUid: null,
    idp: null,
    rayId: null,
    ocsf: { class_uid: 3002 },
    raw: {},
  };
}

async function openShared(name: string): Promise<[SqliteStore, SqliteStore, SqliteStore]> {
  const path = join(dir, name);
  const first = await SqliteStore.open({ path });
  await first.migrate();
  return [first, await SqliteStore.open({ path }), await SqliteStore.open({ path })];
}

describe('LeaseKeeper', () => {
  it('spreads the jobs over the live nodes, and a dead node’s jobs move to the others after the TTL', async () => {
    const stores = await openShared('spread.db');
    const keepers = stores.map(
      (store, n) => new LeaseKeeper(store, JOBS, { nodeId: `node-${n}`, ttlMs: TTL_MS }, silentLogger()),
    );
    // Each heartbeats first, then the passes settle: ceil(5 / 3) = 2 each at most.
    for (const store of stores) await store.heartbeatNode(`node-${stores.indexOf(store)}`, TTL_MS);
    for (let pass = 0; pass < 2; pass++) for (const keeper of keepers) await keeper.tick();
    const held = keepers.map((keeper) => keeper.heldIds());
    expect(held.map((ids) => ids.length).sort()).toEqual([1, 2, 2]);
    expect(new Set(held.flat()).size).toBe(JOBS.length);

    // node-0 dies: no more passes. After its TTL the two others share everything.
    const [dead, ...alive] = keepers;
    const orphaned = dead?.heldIds() ?? [];
    await wait(TTL_MS * 2);
    for (let pass = 0; pass < 2; pass++) for (const keeper of alive) await keeper.tick();
    const after = alive.map((keeper) => keeper.heldIds());
    expect(after.flat().sort()).toEqual([...JOBS].sort());
    expect(after.map((ids) => ids.length).sort()).toEqual([2, 3]);

    // The dead node, should it wake up, cannot store anything of what it held.
    const stale = dead?.fence(orphaned[0] ?? '');
    if (stale === undefined || stores[0] === undefined) throw new Error('node-0 held nothing');
    const refused = await fencedStore(stores[0], stale)
      .append([event('stale-1')], { id: orphaned[0] ?? '', value: { since: 9 } })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(isAppError(refused) && refused.code).toBe('STORE_LEASE_LOST');
    expect(await stores[1]?.count({ filter: null })).toBe(0);
    for (const store of stores) await store.close();
  });

  it('gives its leases back on leaving, so a new node takes them at once and a joining node gets its share', async () => {
    const [one, two] = await openShared('leave.db');
    const first = new LeaseKeeper(one, JOBS, { nodeId: 'first', ttlMs: 60_000 }, silentLogger());
    await first.tick();
    expect(first.heldIds()).toEqual([...JOBS].sort());

    const second = new LeaseKeeper(two, JOBS, { nodeId: 'second', ttlMs: 60_000 }, silentLogger());
    await second.tick();
    // first releases its surplus on its next pass, and second claims it on its own.
    await first.tick();
    await second.tick();
    expect(first.heldIds()).toHaveLength(3);
    expect(second.heldIds()).toHaveLength(2);

    await first.leave();
    await second.tick();
    expect(second.heldIds()).toEqual([...JOBS].sort());
    await one.close();
    await two.close();
  });

  it('releases a dropped job at once for another node to take, and never claims it again itself', async () => {
    const [one, two] = await openShared('drop.db');
    const first = new LeaseKeeper(one, JOBS, { nodeId: 'first', ttlMs: 60_000 }, silentLogger());
    await first.tick();
    const [dropped] = JOBS;
    if (dropped === undefined) throw new Error('no job');
    await first.drop(dropped);
    await first.tick();
    expect(first.heldIds()).not.toContain(dropped);
    expect(first.fence(dropped)).toBeUndefined();
    const second = new LeaseKeeper(two, [dropped], { nodeId: 'second', ttlMs: 60_000 }, silentLogger());
    await second.tick();
    expect(second.heldIds()).toEqual([dropped]);
    await one.close();
    await two.close();
  });

  it('in a catch-up run claims every free lease, and leaves a lease to the live node that keeps renewing it', async () => {
    const [one, two] = await openShared('catch-up.db');
    const follower = new LeaseKeeper(one, JOBS.slice(0, 2), { nodeId: 'follower', ttlMs: TTL_MS }, silentLogger());
    await follower.tick();
    expect(follower.heldIds()).toEqual(JOBS.slice(0, 2));

    const catchUp = new LeaseKeeper(
      two,
      JOBS,
      { nodeId: newNodeId({ catchUp: true }), ttlMs: TTL_MS, renewEveryMs: 100 },
      silentLogger(),
    );
    await catchUp.tick();
    // A catch-up run takes every free lease, not a fair share of them, and the follower hands it nothing.
    expect(catchUp.heldIds()).toEqual(JOBS.slice(2));
    expect(catchUp.heldElsewhere(JOBS[0] ?? '')).toBe(false);

    // The follower keeps renewing; once a lease has outlived its TTL while taken, its holder must be alive.
    const started = performance.now();
    while (performance.now() - started < TTL_MS + 150) {
      await wait(50);
      await follower.tick();
      await catchUp.tick();
    }
    expect(catchUp.heldIds()).toEqual(JOBS.slice(2));
    expect(catchUp.heldElsewhere(JOBS[0] ?? '')).toBe(true);
    expect(catchUp.heldElsewhere(JOBS[2] ?? '')).toBe(false);
    expect(follower.heldIds()).toEqual(JOBS.slice(0, 2));
    await one.close();
    await two.close();
  });

  it('takes over at once the leases of a node whose process ended on this machine', async () => {
    const [one, two] = await openShared('crashed.db');
    // A process that has ended: its pid is free, as after a kill -9.
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const crashedNode = `${hostname()}-${ended.stdout}-0badc0de`;
    const remoteNode = `some-other-host-${ended.stdout}-0badc0de`;
    await one.heartbeatNode(crashedNode, 60_000);
    await one.heartbeatNode(remoteNode, 60_000);
    expect(await one.claimLeases(crashedNode, JOBS.slice(0, 2), 2, 60_000)).toHaveLength(2);
    expect(await one.claimLeases(remoteNode, JOBS.slice(2, 3), 1, 60_000)).toHaveLength(1);

    const restarted = new LeaseKeeper(
      two,
      JOBS,
      { nodeId: newNodeId({ catchUp: true }), ttlMs: 60_000 },
      silentLogger(),
    );
    await restarted.tick();
    // The crashed node's leases are free again; the other machine's node may be alive and keeps its lease.
    expect(restarted.heldIds()).toEqual([...JOBS.slice(0, 2), ...JOBS.slice(3)]);
    expect(await two.liveNodes()).not.toContain(crashedNode);
    expect(await two.liveNodes()).toContain(remoteNode);
    await one.close();
    await two.close();
  });
});

describe('isDeadLocalNode', () => {
  it('is true only for an id of this machine whose process is gone', () => {
    const own = newNodeId();
    expect(isDeadLocalNode(own, own)).toBe(false);
    // This process under another id: alive. The parent of this process: alive.
    expect(isDeadLocalNode(`${hostname()}-${process.ppid}-12345678`, own)).toBe(false);
    // An earlier process whose pid is now ours has ended.
    expect(isDeadLocalNode(`${hostname()}-${process.pid}-12345678`, own)).toBe(true);
    expect(isDeadLocalNode(`${hostname()}-${process.pid}-once-12345678`, own)).toBe(true);
    expect(isDeadLocalNode(`elsewhere-${process.pid}-12345678`, own)).toBe(false);
    expect(isDeadLocalNode('node-1', own)).toBe(false);
    // A node name set in the config stands for the machine.
    const named = newNodeId({ nodeName: 'collector-a' });
    expect(isDeadLocalNode(`collector-a-${process.pid}-12345678`, named)).toBe(true);
    expect(isDeadLocalNode(`${hostname()}-${process.pid}-12345678`, named)).toBe(false);
    expect(isDeadLocalNode(`collector-b-${process.pid}-12345678`, named)).toBe(false);
  });
});
