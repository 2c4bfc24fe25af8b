import type pg from 'pg';
import type { BucketStep } from '../rate-bucket.js';

const SQL = {
  // The server's clock, as for leases: nodes whose clocks disagree still refill the bucket alike.
  now: `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
  ensure: `INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
  lock: `SELECT tokens, updated_at FROM rate_buckets WHERE key = $1 FOR UPDATE`,
  update: `UPDATE rate_buckets SET tokens = $2, updated_at = $3 WHERE key = $1`,
} as const;

/** One step on the token bucket `key`, on its locked row, inside the caller's transaction. */
export async function stepPostgresRateBucket<T>(client: pg.PoolClient, key: string, step: BucketStep<T>): Promise<T> {
  // The row is made first so that there is one to lock; a row made here is a bucket no step has seen yet.
  const created = (await client.query(SQL.ensure, [key, 0, 0])).rowCount === 1;
  const row = (await client.query<{ tokens: number; updated_at: string }>(SQL.lock, [key])).rows[0];
  // Read only once the row is locked: a time read before the wait for another node's step would be written back
  // older than that step's, and the next step would refill the waited time a second time. Sixty steps waiting on
  // one token let through twice its budget so.
  const now = Number((await client.query<{ now: string }>(SQL.now)).rows[0]?.now ?? 0);
  const next = step(
    created || row === undefined ? undefined : { tokens: row.tokens, updatedAt: Number(row.updated_at) },
    now,
  );
  await client.query(SQL.update, [key, next.tokens, now]);
  return next.answer;
}
