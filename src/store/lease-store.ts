import { StoreError } from '../core/errors.js';

/**
 * Proof that the writer still holds the lease of a dataset. `epoch` grows each time the dataset is claimed,
 * so a node that lost its lease (paused, cut off) carries an epoch that no longer matches.
 */
export interface LeaseFence {
  readonly nodeId: string;
  readonly epoch: number;
  /**
   * The data source the run collects for, as it was when the run began. A run goes on for a while after its source
   * is removed, or its account changed, and must not write cursors or events under the name then: a source added
   * again under it would resume from them and skip its backfill.
   */
  readonly source?: SourceIdentity;
}

/** What tells one data source from another that later takes its name, or the same one moved to another account. */
export interface SourceIdentity {
  readonly name: string;
  readonly createdAt: number;
  readonly accountId: string;
}

export interface HeldLease {
  /** The dataset job id, `<source name>/<dataset>`. */
  readonly id: string;
  readonly epoch: number;
}

/**
 * Coordination of collecting nodes through the store alone. A node heartbeats its own row and each lease it
 * holds; a node that stops heartbeating drops out of `liveNodes` and its leases become claimable once their
 * time runs out. Expiry is judged by the store's clock (the database server's, on PostgreSQL).
 */
export interface LeaseStore {
  /** Records `nodeId` as alive for `ttlMs` more. */
  heartbeatNode(nodeId: string, ttlMs: number): Promise<void>;
  /** Nodes whose heartbeat has not run out, sorted. */
  liveNodes(): Promise<readonly string[]>;
  /**
   * Claims, in the order given, up to `max` of `ids` that no live lease holds (free, released or expired);
   * each claim raises the lease's epoch. Returns the leases taken by this call.
   */
  claimLeases(nodeId: string, ids: readonly string[], max: number, ttlMs: number): Promise<readonly HeldLease[]>;
  /** Extends the leases `nodeId` still holds among `ids`; returns those, the others were lost. */
  renewLeases(nodeId: string, ids: readonly string[], ttlMs: number): Promise<readonly HeldLease[]>;
  /** Gives up the leases of `nodeId` among `ids` (all of them when `ids` is undefined) so others may claim them. */
  releaseLeases(nodeId: string, ids?: readonly string[]): Promise<void>;
  /** Releases every lease of `nodeId` and removes it from the live nodes: a clean shutdown. */
  leaveCluster(nodeId: string): Promise<void>;
}

/** Thrown by an append whose fence no longer matches the lease: another node collects the dataset now. */
export function leaseLost(id: string, fence: LeaseFence): StoreError {
  return new StoreError('STORE_LEASE_LOST', {
    message: `The lease of ${id} was lost (another node claimed it); nothing of this batch was stored.`,
    retryable: false,
    details: { id, nodeId: fence.nodeId, epoch: fence.epoch },
  });
}

/** Thrown by an append whose run's data source was removed, replaced or moved to another account. */
export function sourceChanged(id: string, source: SourceIdentity): StoreError {
  return new StoreError('STORE_SOURCE_CHANGED', {
    message: `The data source ${source.name} was removed, or its account changed, while ${id} was being collected; nothing of this batch was stored.`,
    details: { id, sourceName: source.name, accountId: source.accountId },
  });
}

export function isSourceChanged(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'STORE_SOURCE_CHANGED';
}

/** A write its fence refused: the lease was lost, or the source changed. Passed on as it is, never as a failure. */
export function isFenceRefusal(error: unknown): error is StoreError {
  return isLeaseLost(error) || isSourceChanged(error);
}

export function isLeaseLost(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'STORE_LEASE_LOST';
}
