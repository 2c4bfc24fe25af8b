import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../../../test/helpers/postgres.js';
import { PostgresStore } from './store.js';

const schemas = new TestSchemas('rate_buckets');
let url: string;
let store: PostgresStore;
let other: pg.Client;

beforeAll(async () => {
  await ensurePostgres();
  url = schemas.url();
  store = await PostgresStore.open({ url });
  await store.migrate();
  other = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await other.connect();
  await other.query(`SET search_path TO ${new URL(url).searchParams.get('schema') ?? ''}`);
});

afterAll(async () => {
  await other.end();
  await store.close();
  await schemas.dropAll();
});

const updatedAt = async (key: string): Promise<number> =>
  Number(
    (await other.query<{ updated_at: string }>('SELECT updated_at FROM rate_buckets WHERE key = $1', [key])).rows[0]
      ?.updated_at,
  );

describe('the shared rate bucket on PostgreSQL', () => {
  it('times a step that waited for another node by when it got the row, never rewinding the bucket', async () => {
    const key = 'fingerprint-wait';
    await store.takeRateToken(key, 10, 60_000);
    // Another node's step holds the row for a second.
    await other.query('BEGIN');
    await other.query('SELECT tokens FROM rate_buckets WHERE key = $1 FOR UPDATE', [key]);
    const waiting = store.takeRateToken(key, 10, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stepped = Number(
      (
        await other.query<{ now: string }>(
          `UPDATE rate_buckets SET updated_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
           WHERE key = $1 RETURNING updated_at AS now`,
          [key],
        )
      ).rows[0]?.now,
    );
    await other.query('COMMIT');
    await waiting;
    // A time read before the wait would be written back a second older than the other node's step, and the next
    // step would refill that second again: sixty nodes' jobs waiting on one token let through twice its budget.
    expect(await updatedAt(key)).toBeGreaterThanOrEqual(stepped);
  });
});
