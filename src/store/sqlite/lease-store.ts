/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 is synchronous; the methods stay async so that
   every failure reaches the caller as a rejected promise. */
import type Database from 'better-sqlite3';
import type { Clock } from '../../core/clock.js';
import { leaseLost, sourceChanged, type HeldLease, type LeaseFence, type LeaseStore } from '../lease-store.js';
import { writeTransaction } from './write-transaction.js';

const SQL = {
  heartbeatNode: `INSERT INTO collector_nodes (node_id, expires_at, started_at) VALUES (?, ?, ?)
    ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at`,
  liveNodes: `SELECT node_id FROM collector_nodes WHERE expires_at > ? ORDER BY node_id`,
  claimLease: `INSERT INTO leases (id, node_id, epoch, expires_at) VALUES (?, ?, 1, ?)
    ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, epoch = leases.epoch + 1, expires_at = excluded.expires_at
    WHERE leases.node_id IS NULL OR leases.expires_at <= ?
    RETURNING id, epoch`,
  renewLease: `UPDATE leases SET expires_at = ? WHERE id = ? AND node_id = ? RETURNING id, epoch`,
  releaseLease: `UPDATE leases SET node_id = NULL, expires_at = 0 WHERE id = ? AND node_id = ?`,
  releaseAll: `UPDATE leases SET node_id = NULL, expires_at = 0 WHERE node_id = ?`,
  removeNode: `DELETE FROM collector_nodes WHERE node_id = ?`,
  fenceHolds: `SELECT 1 FROM leases WHERE id = ? AND node_id = ? AND epoch = ?`,
  sourceHolds: `SELECT 1 FROM sources WHERE name = ? AND created_at = ? AND account_id = ?`,
} as const;

/**
 * Leases on one SQLite file. Usually one process holds them all; they matter when a second process is started
 * on the same data directory, which then waits for datasets instead of collecting them twice. Every statement
 * runs in an IMMEDIATE transaction, so two processes cannot claim the same lease.
 */
export class SqliteLeaseStore implements LeaseStore {
  readonly #db: () => Database.Database;
  readonly #clock: Clock;

  constructor(db: () => Database.Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async heartbeatNode(nodeId: string, ttlMs: number): Promise<void> {
    const now = this.#clock.now();
    const db = this.#db();
    writeTransaction(db, () => db.prepare(SQL.heartbeatNode).run(nodeId, now + ttlMs, now));
  }

  async liveNodes(): Promise<readonly string[]> {
    const rows = this.#db().prepare(SQL.liveNodes).pluck().all(this.#clock.now()) as string[];
    return rows;
  }

  async claimLeases(nodeId: string, ids: readonly string[], max: number, ttlMs: number): Promise<readonly HeldLease[]> {
    const db = this.#db();
    const claim = db.prepare(SQL.claimLease);
    const now = this.#clock.now();
    return writeTransaction(db, (): HeldLease[] => {
      const taken: HeldLease[] = [];
      for (const id of ids) {
        if (taken.length >= max) break;
        const row = claim.get(id, nodeId, now + ttlMs, now) as { id: string; epoch: number } | undefined;
        if (row !== undefined) taken.push({ id: row.id, epoch: row.epoch });
      }
      return taken;
    });
  }

  async renewLeases(nodeId: string, ids: readonly string[], ttlMs: number): Promise<readonly HeldLease[]> {
    const db = this.#db();
    const renew = db.prepare(SQL.renewLease);
    const expiresAt = this.#clock.now() + ttlMs;
    return writeTransaction(db, (): HeldLease[] => {
      const held: HeldLease[] = [];
      for (const id of ids) {
        const row = renew.get(expiresAt, id, nodeId) as { id: string; epoch: number } | undefined;
        if (row !== undefined) held.push({ id: row.id, epoch: row.epoch });
      }
      return held;
    });
  }

  async releaseLeases(nodeId: string, ids?: readonly string[]): Promise<void> {
    const db = this.#db();
    if (ids === undefined) {
      writeTransaction(db, () => db.prepare(SQL.releaseAll).run(nodeId));
      return;
    }
    const release = db.prepare(SQL.releaseLease);
    writeTransaction(db, () => {
      for (const id of ids) release.run(id, nodeId);
    });
  }

  async leaveCluster(nodeId: string): Promise<void> {
    const db = this.#db();
    writeTransaction(db, () => {
      db.prepare(SQL.releaseAll).run(nodeId);
      db.prepare(SQL.removeNode).run(nodeId);
    });
  }
}

/**
 * Inside an append's write transaction: refuses the batch unless `fence` still holds the dataset's lease. The
 * transaction is IMMEDIATE, so no claim can slip in between this check and the commit.
 */
export function checkFence(db: Database.Database, id: string, fence: LeaseFence | undefined): void {
  if (fence === undefined) return;
  if (db.prepare(SQL.fenceHolds).get(id, fence.nodeId, fence.epoch) === undefined) throw leaseLost(id, fence);
  const { source } = fence;
  if (
    source !== undefined &&
    db.prepare(SQL.sourceHolds).get(source.name, source.createdAt, source.accountId) === undefined
  ) {
    throw sourceChanged(id, source);
  }
}
