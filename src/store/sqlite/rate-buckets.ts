import type Database from 'better-sqlite3';
import type { BucketRow, BucketStep } from '../rate-bucket.js';
import { writeTransaction } from './write-transaction.js';

const SELECT_BUCKET = `SELECT tokens, updated_at AS updatedAt FROM rate_buckets WHERE key = ?`;
const UPSERT_BUCKET = `INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`;

/**
 * One step on the token bucket `key` in an IMMEDIATE transaction, so two processes on the file never take the same
 * token. `statement` prepares SQL on `db`, or hands back the statement it prepared before: a collector takes a
 * token for every request.
 */
export function stepSqliteRateBucket<T>(
  db: Database.Database,
  statement: (sql: string) => Database.Statement,
  clock: () => number,
  key: string,
  step: BucketStep<T>,
): T {
  return writeTransaction(db, (): T => {
    // Read once the write lock is held: a time read before waiting for another process's step would be written
    // back older than that step's, and the next step would refill the waited time a second time.
    const nowMs = clock();
    const row = statement(SELECT_BUCKET).get(key) as BucketRow | undefined;
    const next = step(row, nowMs);
    statement(UPSERT_BUCKET).run(key, next.tokens, nowMs);
    return next.answer;
  });
}
