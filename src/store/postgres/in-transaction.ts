import type pg from 'pg';

/**
 * Runs `work` between `begin` and COMMIT on a connection the caller took from the pool, and always gives the
 * connection back. On failure it rolls back and rethrows the error as it came, for the caller to classify.
 */
export async function inTransaction<T>(
  client: pg.PoolClient,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    // A connection whose rollback fails is broken; releasing it with the error makes the pool drop it.
    const rollback = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackError: unknown) => rollbackError,
    );
    client.release(rollback instanceof Error ? rollback : undefined);
    throw error;
  }
}
