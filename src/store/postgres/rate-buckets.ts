import type pg from 'pg';
import { refillAndTake } from '../rate-bucket.js';

const SQL = {
  // The server's clock, as for leases: nodes whose clocks disagree still refill the bucket alike.
  now: `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
  ensure: `INSERT INTO rate_buckets (key, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
  lock: `SELECT tokens, updated_at FROM rate_buckets WHERE key = $1 FOR UPDATE`,
  update: `UPDATE rate_buckets SET tokens = $2, updated_at = $3 WHERE key = $1`,
} as const;

/** One token bucket step on the bucket's locked row, inside the caller's transaction. */
export async function takePostgresRateToken(
  client: pg.PoolClient,
  key: string,
  capacity: number,
  windowMs: number,
): Promise<number> {
  const now = Number((await client.query<{ now: string }>(SQL.now)).rows[0]?.now ?? 0);
  await client.query(SQL.ensure, [key, capacity, now]);
  const row = (await client.query<{ tokens: number; updated_at: string }>(SQL.lock, [key])).rows[0];
  const next = refillAndTake(
    row === undefined ? undefined : { tokens: row.tokens, updatedAt: Number(row.updated_at) },
    now,
    capacity,
    windowMs,
  );
  await client.query(SQL.update, [key, next.tokens, now]);
  return next.waitMs;
}
