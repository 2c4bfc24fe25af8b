import type pg from 'pg';

/** One import of a SQLite installation into this database (migration 0009). */
export interface StoreImport {
  /** A fingerprint of the SQLite installation. */
  readonly installation: string;
  readonly sourcePath: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

/** How far one table of an import got. `position` is the JSON key of the last row copied, null before any. */
export interface ImportPosition {
  readonly position: string | null;
  readonly copied: number;
  readonly done: boolean;
}

const SQL = {
  // Session-level: held while the copy runs, and gone with the connection should the process be killed.
  tryLock: "SELECT pg_try_advisory_lock(hashtext(current_schema() || '/zerotrail-store-import')) AS locked",
  unlock: "SELECT pg_advisory_unlock(hashtext(current_schema() || '/zerotrail-store-import'))",
  imports: 'SELECT * FROM store_imports ORDER BY started_at',
  start: `INSERT INTO store_imports (installation, source_path, started_at, finished_at) VALUES ($1, $2, $3, NULL)
    ON CONFLICT (installation) DO NOTHING`,
  finish: 'UPDATE store_imports SET finished_at = coalesce(finished_at, $2) WHERE installation = $1',
  unfinished: `SELECT installation, source_path, started_at,
      (SELECT count(*) FROM store_import_progress p WHERE p.installation = i.installation AND p.done)::bigint AS done,
      (SELECT max(updated_at) FROM store_import_progress p WHERE p.installation = i.installation) AS progressed_at
    FROM store_imports i WHERE finished_at IS NULL ORDER BY started_at`,
  positions: 'SELECT table_name, position, copied, done FROM store_import_progress WHERE installation = $1',
  savePosition: `INSERT INTO store_import_progress (installation, table_name, position, copied, done, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (installation, table_name) DO UPDATE SET position = excluded.position, copied = excluded.copied,
      done = excluded.done, updated_at = excluded.updated_at`,
} as const;

/** Takes the import lock on a connection the caller keeps; false when another import holds it. */
export async function tryLockImport(client: pg.PoolClient): Promise<boolean> {
  return (await client.query<{ locked: boolean }>(SQL.tryLock)).rows[0]?.locked === true;
}

export async function unlockImport(client: pg.PoolClient): Promise<void> {
  await client.query(SQL.unlock);
}

export async function listImports(client: pg.PoolClient | pg.Pool): Promise<readonly StoreImport[]> {
  const rows = (
    await client.query<{ installation: string; source_path: string; started_at: number; finished_at: number | null }>(
      SQL.imports,
    )
  ).rows;
  return rows.map((row) => ({
    installation: row.installation,
    sourcePath: row.source_path,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }));
}

/** An import not finished yet: how many tables it copied completely, and when it last committed a chunk. */
export interface UnfinishedImport extends StoreImport {
  readonly tablesDone: number;
  readonly progressedAt: number | null;
}

export async function unfinishedImports(client: pg.PoolClient | pg.Pool): Promise<readonly UnfinishedImport[]> {
  const rows = (
    await client.query<{
      installation: string;
      source_path: string;
      started_at: number;
      done: number;
      progressed_at: number | null;
    }>(SQL.unfinished)
  ).rows;
  return rows.map((row) => ({
    installation: row.installation,
    sourcePath: row.source_path,
    startedAt: row.started_at,
    finishedAt: null,
    tablesDone: row.done,
    progressedAt: row.progressed_at,
  }));
}

export async function startImport(
  client: pg.PoolClient | pg.Pool,
  installation: string,
  sourcePath: string,
  nowMs: number,
): Promise<void> {
  await client.query(SQL.start, [installation, sourcePath, nowMs]);
}

export async function finishImport(
  client: pg.PoolClient | pg.Pool,
  installation: string,
  nowMs: number,
): Promise<void> {
  await client.query(SQL.finish, [installation, nowMs]);
}

export async function importPositions(
  client: pg.PoolClient | pg.Pool,
  installation: string,
): Promise<ReadonlyMap<string, ImportPosition>> {
  const rows = (
    await client.query<{ table_name: string; position: string | null; copied: number; done: boolean }>(SQL.positions, [
      installation,
    ])
  ).rows;
  return new Map(rows.map((row) => [row.table_name, { position: row.position, copied: row.copied, done: row.done }]));
}

/** Records a table's position; run it in the transaction that copied the rows up to it. */
export async function saveImportPosition(
  client: pg.PoolClient,
  installation: string,
  table: string,
  position: ImportPosition,
  nowMs: number,
): Promise<void> {
  await client.query(SQL.savePosition, [installation, table, position.position, position.copied, position.done, nowMs]);
}
