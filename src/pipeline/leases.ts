import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/retry.js';
import type { HeldLease, LeaseFence, LeaseStore } from '../store/lease-store.js';
import type { Store } from '../store/store.js';

export interface LeaseKeeperOptions {
  /** Unique per process; a restarted process is a new node. */
  readonly nodeId: string;
  /** A lease (and a node) not renewed within this is given up and may be claimed by another node. */
  readonly ttlMs: number;
  /** Time between two renewals and balancing passes; a third of the TTL unless given. */
  readonly renewEveryMs?: number;
}

/** A node id that names the machine and process, so an operator can tell who holds a lease. */
export function newNodeId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/**
 * Holds this node's share of the dataset leases. Each pass it heartbeats, renews what it holds, and moves
 * towards an even share of the jobs among the live nodes: it claims free or expired leases up to
 * ceil(jobs / live nodes) and releases any above that, so a node that joins receives work and the leases of
 * a node that died are taken over once they run out. A job runs only while its lease is held, and every
 * append carries the lease's fence, so a node that lost a lease without noticing cannot store after the
 * next holder started.
 */
export class LeaseKeeper {
  readonly #store: LeaseStore;
  readonly #jobIds: readonly string[];
  readonly #options: LeaseKeeperOptions;
  readonly #logger: Logger;
  readonly #held = new Map<string, number>();

  constructor(store: LeaseStore, jobIds: readonly string[], options: LeaseKeeperOptions, logger: Logger) {
    this.#store = store;
    this.#jobIds = jobIds;
    this.#options = options;
    this.#logger = logger.child({ component: 'leases', nodeId: options.nodeId });
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  get renewEveryMs(): number {
    return this.#options.renewEveryMs ?? Math.max(100, Math.floor(this.#options.ttlMs / 3));
  }

  /** The fence of a held lease; undefined while another node (or none) holds it. */
  fence(jobId: string): LeaseFence | undefined {
    const epoch = this.#held.get(jobId);
    return epoch === undefined ? undefined : { nodeId: this.#options.nodeId, epoch };
  }

  /** Forgets a lease the store said was lost; the next pass may claim it again. */
  lost(jobId: string): void {
    this.#held.delete(jobId);
  }

  heldIds(): readonly string[] {
    return [...this.#held.keys()].sort();
  }

  /** One heartbeat, renewal and balancing pass. */
  async tick(): Promise<void> {
    const { nodeId, ttlMs } = this.#options;
    await this.#store.heartbeatNode(nodeId, ttlMs);
    const renewed = await this.#store.renewLeases(nodeId, [...this.#held.keys()], ttlMs);
    const before = new Set(this.#held.keys());
    this.#held.clear();
    for (const lease of renewed) this.#held.set(lease.id, lease.epoch);
    for (const id of before) if (!this.#held.has(id)) this.#logger.warn({ jobId: id }, 'Lease lost');

    const live = Math.max(1, (await this.#store.liveNodes()).length);
    const share = Math.ceil(this.#jobIds.length / live);
    if (this.#held.size > share) {
      const surplus = this.heldIds().slice(share);
      for (const id of surplus) this.#held.delete(id);
      await this.#store.releaseLeases(nodeId, surplus);
      this.#logger.info({ released: surplus, share, live }, 'Leases released to balance the nodes');
    } else if (this.#held.size < share) {
      // Every node walks the jobs from a different place, so nodes starting together rarely race for one row.
      const free = rotate(
        this.#jobIds.filter((id) => !this.#held.has(id)),
        nodeId,
      );
      const claimed: readonly HeldLease[] = await this.#store.claimLeases(nodeId, free, share - this.#held.size, ttlMs);
      for (const lease of claimed) this.#held.set(lease.id, lease.epoch);
      if (claimed.length > 0) {
        this.#logger.info({ claimed: claimed.map((lease) => lease.id), share, live }, 'Leases claimed');
      }
    }
  }

  /**
   * Runs passes until `signal` aborts, then releases every lease and leaves, so the other nodes take over at
   * once instead of after the TTL. A failed pass is logged and tried again at the next one.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (error) {
        this.#logger.warn({ err: error }, 'Lease pass failed; retried at the next one');
      }
      await sleep(this.renewEveryMs, signal).catch(() => undefined);
    }
  }

  /** The first pass, before any job starts, so the jobs this node may run start at once. */
  async begin(): Promise<void> {
    try {
      await this.tick();
    } catch (error) {
      this.#logger.warn({ err: error }, 'Lease pass failed; retried at the next one');
    }
  }

  /** Gives every lease back (a clean shutdown); the jobs must have stopped first. */
  async leave(): Promise<void> {
    this.#held.clear();
    await this.#store.leaveCluster(this.#options.nodeId);
  }
}

/**
 * The store as one run of a job sees it: every append and inventory snapshot carries the fence the run started with. A run that
 * started under an older lease never stores with a newer one, so a reclaimed dataset cannot take a stale cursor.
 */
export function fencedStore(store: Store, fence: LeaseFence): Store {
  return new Proxy(store, {
    get(target, property): unknown {
      if (property === 'append') {
        const append: Store['append'] = (events, cursor) => target.append(events, { ...cursor, fence });
        return append;
      }
      if (property === 'saveInventorySnapshot') {
        const save: Store['saveInventorySnapshot'] = (snapshot, changes) =>
          target.saveInventorySnapshot(snapshot, changes, fence);
        return save;
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function rotate(ids: readonly string[], seed: string): readonly string[] {
  if (ids.length === 0) return ids;
  let hash = 0;
  for (const char of seed) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const start = hash % ids.length;
  return [...ids.slice(start), ...ids.slice(0, start)];
}
