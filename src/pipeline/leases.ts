import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';
import { sleep } from '../core/retry.js';
import type { HeldLease, LeaseFence, LeaseStore } from '../store/lease-store.js';
import type { Store } from '../store/store.js';

export interface LeaseKeeperOptions {
  /**
   * Unique per process, from `newNodeId`; a restarted process is a new node. An id made for a catch-up run
   * (`collect --once`) makes the keeper claim every lease it can instead of a fair share and keep what it holds
   * until it leaves; a lease another node keeps renewing is left to that node.
   */
  readonly nodeId: string;
  /** A lease (and a node) not renewed within this is given up and may be claimed by another node. */
  readonly ttlMs: number;
  /** Time between two renewals and balancing passes; a third of the TTL unless given. */
  readonly renewEveryMs?: number;
}

/**
 * A node id that names the machine (or `collect.node_name`) and process, so an operator can tell who holds a
 * lease; a catch-up run's id says so, because the following nodes leave it out when they share the datasets.
 */
export function newNodeId(
  options: { readonly catchUp?: boolean; readonly nodeName?: string | undefined } = {},
): string {
  const mark = options.catchUp === true ? CATCH_UP_MARK : '';
  return `${options.nodeName ?? hostname()}-${process.pid}-${mark}${randomUUID().slice(0, 8)}`;
}

const CATCH_UP_MARK = 'once-';
const NODE_ID = /^(.+)-(\d+)-(once-)?[0-9a-f]{8}$/;

function isCatchUpNode(nodeId: string): boolean {
  return NODE_ID.exec(nodeId)?.[3] !== undefined;
}

/**
 * True for a node id of this node's machine (the same name before the pid) whose process is gone (a crash, a
 * kill -9): its leases may be taken at once instead of after the TTL. Anything else (another machine, a process
 * that still exists, an id of another form) is treated as alive, so at worst a lease waits out its TTL. The
 * fence keeps even a wrong guess safe: a node whose lease was taken can no longer store.
 */
export function isDeadLocalNode(nodeId: string, ownNodeId: string): boolean {
  const match = NODE_ID.exec(nodeId);
  const own = NODE_ID.exec(ownNodeId);
  if (match === null || own === null || nodeId === ownNodeId || match[1] !== own[1]) return false;
  const pid = Number(match[2]);
  // Our own pid under another id: that process has ended and the pid went to us.
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
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
  readonly #dropped = new Set<string>();
  readonly #catchUp: boolean;
  #firstPassAtMs: number | undefined;

  constructor(store: LeaseStore, jobIds: readonly string[], options: LeaseKeeperOptions, logger: Logger) {
    this.#store = store;
    this.#jobIds = jobIds;
    this.#options = options;
    this.#catchUp = isCatchUpNode(options.nodeId);
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

  /**
   * Gives a job up for the rest of this run, its source having been removed or changed: the lease is released at
   * once, so whoever collects the source as it is now need not wait for it to run out, and never claimed again.
   */
  async drop(jobId: string): Promise<void> {
    this.#held.delete(jobId);
    this.#dropped.add(jobId);
    await this.#store.releaseLeases(this.#options.nodeId, [jobId]);
  }

  /** Forgets a lease the store said was lost; the next pass may claim it again. */
  lost(jobId: string): void {
    this.#held.delete(jobId);
  }

  heldIds(): readonly string[] {
    return [...this.#held.keys()].sort();
  }

  /**
   * A catch-up run gives a job up to another node once the job's lease stayed taken for longer than a lease
   * lives: a node that died would have lost it by then, so its holder is alive and renewing it.
   */
  heldElsewhere(jobId: string): boolean {
    if (this.#held.has(jobId) || this.#firstPassAtMs === undefined) return false;
    return performance.now() - this.#firstPassAtMs > this.#options.ttlMs + this.renewEveryMs;
  }

  /** One heartbeat, renewal and balancing pass. */
  async tick(): Promise<void> {
    const { nodeId, ttlMs } = this.#options;
    this.#firstPassAtMs ??= performance.now();
    await this.#store.heartbeatNode(nodeId, ttlMs);
    const liveNodes = await this.#withoutDeadLocalNodes(await this.#store.liveNodes());
    const renewed = await this.#store.renewLeases(nodeId, [...this.#held.keys()], ttlMs);
    const before = new Set(this.#held.keys());
    this.#held.clear();
    for (const lease of renewed) this.#held.set(lease.id, lease.epoch);
    for (const id of before) if (!this.#held.has(id)) this.#logger.warn({ jobId: id }, 'Lease lost');

    // A catch-up run leaves soon; the following nodes neither hand it work nor wait for it to take its share.
    const live = Math.max(1, liveNodes.filter((id) => !isCatchUpNode(id)).length);
    const share = this.#catchUp ? this.#jobIds.length : Math.ceil(this.#jobIds.length / live);
    if (this.#held.size > share) {
      const surplus = this.heldIds().slice(share);
      for (const id of surplus) this.#held.delete(id);
      await this.#store.releaseLeases(nodeId, surplus);
      this.#logger.info({ released: surplus, share, live }, 'Leases released to balance the nodes');
    } else if (this.#held.size < share) {
      // Every node walks the jobs from a different place, so nodes starting together rarely race for one row.
      const free = rotate(
        this.#jobIds.filter((id) => !this.#held.has(id) && !this.#dropped.has(id)),
        nodeId,
      );
      const claimed: readonly HeldLease[] = await this.#store.claimLeases(nodeId, free, share - this.#held.size, ttlMs);
      for (const lease of claimed) this.#held.set(lease.id, lease.epoch);
      if (claimed.length > 0) {
        this.#logger.info({ claimed: claimed.map((lease) => lease.id), share, live }, 'Leases claimed');
      }
    }
  }

  /** A restarted process on the same machine carries on at once from where the one that crashed stopped. */
  async #withoutDeadLocalNodes(liveNodes: readonly string[]): Promise<readonly string[]> {
    const alive = [];
    for (const other of liveNodes) {
      if (isDeadLocalNode(other, this.#options.nodeId)) {
        await this.#store.leaveCluster(other);
        this.#logger.info({ deadNode: other }, 'Leases of a node whose process ended on this machine released');
      } else {
        alive.push(other);
      }
    }
    return alive;
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
