import type pg from 'pg';
import { StoreError } from '../../core/errors.js';
import { leaseLost, sourceChanged, type HeldLease, type LeaseFence, type LeaseStore } from '../lease-store.js';

// The database server's clock in epoch ms: nodes whose own clocks disagree still agree on expiry.
const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

const SQL = {
  heartbeatNode: `INSERT INTO collector_nodes (node_id, expires_at, started_at) VALUES ($1, ${NOW_MS} + $2, ${NOW_MS})
    ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at`,
  liveNodes: `SELECT node_id FROM collector_nodes WHERE expires_at > ${NOW_MS} ORDER BY node_id`,
  claimLease: `INSERT INTO leases (id, node_id, epoch, expires_at) VALUES ($1, $2, 1, ${NOW_MS} + $3)
    ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, epoch = leases.epoch + 1, expires_at = excluded.expires_at
    WHERE leases.node_id IS NULL OR leases.expires_at <= ${NOW_MS}
    RETURNING id, epoch`,
  renewLeases: `UPDATE leases SET expires_at = ${NOW_MS} + $3 WHERE id = ANY($1::text[]) AND node_id = $2
    RETURNING id, epoch`,
  releaseLeases: `UPDATE leases SET node_id = NULL, expires_at = 0 WHERE id = ANY($1::text[]) AND node_id = $2`,
  releaseAll: `UPDATE leases SET node_id = NULL, expires_at = 0 WHERE node_id = $1`,
  removeNode: `DELETE FROM collector_nodes WHERE node_id = $1`,
  // FOR SHARE holds off a claim of this lease until the append commits, so the new holder reads its cursor.
  fenceHolds: `SELECT 1 FROM leases WHERE id = $1 AND node_id = $2 AND epoch = $3 FOR SHARE`,
  // FOR SHARE: a removal waits for the append that saw the source to commit, and an append after it finds none.
  sourceHolds: `SELECT 1 FROM sources WHERE name = $1 AND created_at = $2 AND account_id = $3 FOR SHARE`,
} as const;

interface LeaseRow {
  readonly id: string;
  readonly epoch: string;
}

/** Leases shared by every node on one PostgreSQL database; each claim is one atomic upsert. */
export class PostgresLeaseStore implements LeaseStore {
  readonly #pool: () => pg.Pool;

  constructor(pool: () => pg.Pool) {
    this.#pool = pool;
  }

  async heartbeatNode(nodeId: string, ttlMs: number): Promise<void> {
    await this.#query('record the node heartbeat', SQL.heartbeatNode, [nodeId, ttlMs]);
  }

  async liveNodes(): Promise<readonly string[]> {
    const rows = await this.#query<{ node_id: string }>('list the live nodes', SQL.liveNodes, []);
    return rows.map((row) => row.node_id);
  }

  async claimLeases(nodeId: string, ids: readonly string[], max: number, ttlMs: number): Promise<readonly HeldLease[]> {
    const taken: HeldLease[] = [];
    for (const id of ids) {
      if (taken.length >= max) break;
      const rows = await this.#query<LeaseRow>('claim a lease', SQL.claimLease, [id, nodeId, ttlMs]);
      for (const row of rows) taken.push({ id: row.id, epoch: Number(row.epoch) });
    }
    return taken;
  }

  async renewLeases(nodeId: string, ids: readonly string[], ttlMs: number): Promise<readonly HeldLease[]> {
    if (ids.length === 0) return [];
    const rows = await this.#query<LeaseRow>('renew the leases', SQL.renewLeases, [ids, nodeId, ttlMs]);
    return rows.map((row) => ({ id: row.id, epoch: Number(row.epoch) }));
  }

  async releaseLeases(nodeId: string, ids?: readonly string[]): Promise<void> {
    if (ids === undefined) await this.#query('release the leases', SQL.releaseAll, [nodeId]);
    else if (ids.length > 0) await this.#query('release the leases', SQL.releaseLeases, [ids, nodeId]);
  }

  async leaveCluster(nodeId: string): Promise<void> {
    await this.#query('release the leases', SQL.releaseAll, [nodeId]);
    await this.#query('remove the node', SQL.removeNode, [nodeId]);
  }

  async #query<T extends object>(action: string, sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#pool().query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw new StoreError('STORE_WRITE_FAILED', {
        message: `Could not ${action}: ${error instanceof Error ? error.message : String(error)}.`,
        retryable: true,
        cause: error,
      });
    }
  }
}

/** Inside an append's transaction: refuses the batch unless `fence` still holds the dataset's lease. */
export async function checkFence(client: pg.PoolClient, id: string, fence: LeaseFence | undefined): Promise<void> {
  if (fence === undefined) return;
  const held = await client.query(SQL.fenceHolds, [id, fence.nodeId, fence.epoch]);
  if (held.rowCount === 0) throw leaseLost(id, fence);
  const { source } = fence;
  if (source === undefined) return;
  const exists = await client.query(SQL.sourceHolds, [source.name, source.createdAt, source.accountId]);
  if (exists.rowCount === 0) throw sourceChanged(id, source);
}
