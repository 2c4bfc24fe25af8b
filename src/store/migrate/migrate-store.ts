import type pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { AppError, StoreError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  analyzeTables,
  continueSequences,
  countEventIds,
  countRows,
  EventImport,
  importRows,
  tablesWithRows,
} from '../postgres/bulk-import.js';
import {
  finishImport,
  importPositions,
  listImports,
  saveImportPosition,
  startImport,
  tryLockImport,
  unlockImport,
  type ImportPosition,
  type StoreImport,
} from '../postgres/import-progress.js';
import { inTransaction } from '../postgres/in-transaction.js';
import { describeTarget, parseDatabaseUrl, type PostgresTarget } from '../postgres/database-url.js';
import { pgCode, PostgresStore } from '../postgres/store.js';
import type { SqliteExport, SqliteValue } from '../sqlite/bulk-export.js';
import type { MigrationSource } from './migration-source.js';
import { MIGRATED_TABLES, type CopiedTable, type MigratedTable } from './tables.js';

/** What a table holds in each store after the copy. */
export interface TableCount {
  readonly table: string;
  readonly source: number;
  readonly target: number;
}

/** Told about the copy as it goes, to show progress. */
export interface MigrateProgress {
  /** The copy goes on from an earlier run's position (`startedAt` is when that run began). */
  resumed(startedAt: number): void;
  tableStarted(table: string, copied: number, total: number): void;
  chunkCopied(table: string, copied: number, total: number): void;
  tableDone(table: string, copiedNow: number, total: number, elapsedMs: number): void;
}

export interface MigrateStoreOptions {
  readonly source: MigrationSource;
  readonly targetUrl: string;
  /** Rows per transaction. */
  readonly chunkRows: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Checked between chunks: an abort stops after the chunk in flight commits. */
  readonly signal: AbortSignal;
  readonly progress: MigrateProgress;
}

export interface MigrateResult {
  readonly target: PostgresTarget;
  readonly counts: readonly TableCount[];
  /** Rows this run copied (a resumed run copies only what earlier runs had not). */
  readonly copiedRows: number;
  readonly copyMs: number;
  readonly copiedEvents: number;
  readonly eventsMs: number;
  /** Every table was copied by earlier runs already; this one only checked the counts. */
  readonly alreadyComplete: boolean;
}

/**
 * Copies a SQLite installation into a PostgreSQL database, a chunk of one table per transaction, each committed
 * with the table's new position (migration 0009): killed at any moment, the same call again resumes after the
 * last committed chunk and neither loses nor repeats a row. It refuses a database that holds anything not
 * copied from this installation, and ends by counting every table in both stores.
 */
export async function migrateStore(options: MigrateStoreOptions): Promise<MigrateResult> {
  const { target } = parseDatabaseUrl(options.targetUrl);
  const store = await PostgresStore.open({ url: options.targetUrl, logger: options.logger, poolSize: 3 });
  try {
    await store.migrate();
    const lock = await connect(store.pool, target);
    try {
      if (!(await tryLockImport(lock))) {
        throw new StoreError('STORE_BUSY', {
          message: `Another zerotrail store migrate is copying into ${describeTarget(target)} right now.`,
          hint: 'Wait for it to finish, or stop it; then run this command again to resume the same copy.',
        });
      }
      try {
        return await copyAll(store.pool, target, options);
      } finally {
        await unlockImport(lock).catch((error: unknown) => {
          options.logger.warn({ err: error }, 'Import lock release failed');
        });
      }
    } finally {
      lock.release();
    }
  } finally {
    await store.close();
  }
}

/** Throws STORE_MIGRATE_COUNT_MISMATCH naming every table whose counts differ. */
export function checkCounts(counts: readonly TableCount[]): void {
  const differing = counts.filter((count) => count.source !== count.target);
  if (differing.length === 0) return;
  throw new StoreError('STORE_MIGRATE_COUNT_MISMATCH', {
    message: `${differing.length} table${differing.length === 1 ? '' : 's'} differ after the copy: ${differing
      .map((count) => `${count.table} has ${count.source} rows in SQLite and ${count.target} in PostgreSQL`)
      .join('; ')}.`,
    hint:
      'Something wrote to one of the stores during or after the copy (a collector on the SQLite data directory, ' +
      'or a node already started on PostgreSQL). Stop it, then migrate again into an empty database or a new ?schema=.',
    details: { tables: differing.map((count) => count.table) },
  });
}

async function copyAll(pool: pg.Pool, target: PostgresTarget, options: MigrateStoreOptions): Promise<MigrateResult> {
  const { source, clock } = options;
  const reader = source.reader;
  const imports = await run(target, 'read the import record', () => listImports(pool));
  const mine = await claimTarget(pool, target, source, imports, clock.now());
  if (mine !== undefined) options.progress.resumed(mine.startedAt);
  const positions = await run(target, 'read the import positions', () => importPositions(pool, source.installation));
  const alreadyComplete = mine?.finishedAt != null;

  const started = clock.now();
  let copiedRows = 0;
  let copiedEvents = 0;
  let eventsMs = 0;
  for (const table of MIGRATED_TABLES) {
    const saved = positions.get(table.name);
    if (saved?.done === true) continue;
    const total = table.kind === 'events' ? reader.countEvents() : reader.countRows(table.name);
    const tableStart = clock.now();
    options.progress.tableStarted(table.name, saved?.copied ?? 0, total);
    const copied = await copyTable(pool, target, options, table, saved, total);
    const elapsed = clock.now() - tableStart;
    copiedRows += copied;
    if (table.kind === 'events') {
      copiedEvents = copied;
      eventsMs = elapsed;
    }
    options.progress.tableDone(table.name, copied, total, elapsed);
  }
  const copyMs = clock.now() - started;
  await transaction(pool, target, 'continue the numbering after the copied rows', async (client) => {
    await continueSequences(
      client,
      MIGRATED_TABLES.filter((table): table is CopiedTable => table.kind === 'rows'),
      source.reader.identityCounters(),
    );
    await finishImport(client, source.installation, clock.now());
  });
  if (copiedRows > 0) {
    await run(target, 'analyze the copied tables', () =>
      analyzeTables(pool, [...MIGRATED_TABLES.map((table) => table.name), 'event_ids']),
    );
  }
  const counts = await countBoth(pool, target, reader);
  return { target, counts, copiedRows, copyMs, copiedEvents, eventsMs, alreadyComplete };
}

/**
 * Decides whether this run may write into the target: a copy of this installation goes on, an empty database
 * starts one, and anything else is refused before a row is written. Returns the earlier import to resume, if any.
 */
async function claimTarget(
  pool: pg.Pool,
  target: PostgresTarget,
  source: MigrationSource,
  imports: readonly StoreImport[],
  nowMs: number,
): Promise<StoreImport | undefined> {
  const other = imports.find((entry) => entry.installation !== source.installation);
  if (other !== undefined) {
    throw new StoreError('STORE_MIGRATE_TARGET_NOT_EMPTY', {
      message:
        `${describeTarget(target)} already holds a migration of another SQLite installation (from ${other.sourcePath}, ` +
        `started ${new Date(other.startedAt).toISOString()}). Nothing was written.`,
      hint: 'Migrate into an empty database, or name a new schema with ?schema=NAME in the --to URL.',
      details: { sourcePath: other.sourcePath },
    });
  }
  const mine = imports.find((entry) => entry.installation === source.installation);
  if (mine !== undefined) return mine;
  const names = MIGRATED_TABLES.map((table) => table.name);
  const holding = await run(target, 'check that the database is empty', () =>
    tablesWithRows(pool, [...names, 'event_ids']),
  );
  if (holding.length > 0) {
    throw new StoreError('STORE_MIGRATE_TARGET_NOT_EMPTY', {
      message:
        `${describeTarget(target)} is not empty: ${holding.join(', ')} already hold rows that were not copied from ` +
        `${source.dataDir}. Nothing was written.`,
      hint: 'Migrate into an empty database, or name a new schema with ?schema=NAME in the --to URL.',
      details: { tables: holding },
    });
  }
  await run(target, 'record the import', () => startImport(pool, source.installation, source.dataDir, nowMs));
  return undefined;
}

/** Copies the rest of one table; returns how many rows this run copied. */
async function copyTable(
  pool: pg.Pool,
  target: PostgresTarget,
  options: MigrateStoreOptions,
  table: MigratedTable,
  saved: ImportPosition | undefined,
  total: number,
): Promise<number> {
  const { reader, installation } = options.source;
  const limit = options.chunkRows;
  const events = new EventImport();
  let position: readonly SqliteValue[] | null =
    saved?.position == null ? null : (JSON.parse(saved.position) as SqliteValue[]);
  let copied = saved?.copied ?? 0;
  let copiedNow = 0;
  let chunk = readChunk(reader, table, position, limit, events);
  for (;;) {
    if (options.signal.aborted) {
      throw new StoreError('STORE_MIGRATE_STOPPED', {
        message: `The migration was stopped while copying ${table.name} (${copied} of ${total} rows); every chunk copied so far is kept.`,
        hint: 'Run the same command again to resume where it stopped.',
      });
    }
    const next = chunk.last ?? position;
    const done = chunk.count < limit;
    const record: ImportPosition = {
      position: next === null ? null : JSON.stringify(next),
      copied: copied + chunk.count,
      done,
    };
    const current = chunk;
    await transaction(pool, target, `copy ${table.name}`, async (client) => {
      await current.write(client);
      await saveImportPosition(client, installation, table.name, record, options.clock.now());
    });
    copied += chunk.count;
    copiedNow += chunk.count;
    position = next;
    options.progress.chunkCopied(table.name, copied, total);
    if (done) return copiedNow;
    chunk = readChunk(reader, table, position, limit, events);
  }
}

interface Chunk {
  readonly count: number;
  /** The key of the chunk's last row; null when it is empty. */
  readonly last: readonly SqliteValue[] | null;
  /** Writes the chunk inside the caller's transaction. */
  write(client: pg.PoolClient): Promise<unknown>;
}

function readChunk(
  reader: SqliteExport,
  table: MigratedTable,
  position: readonly SqliteValue[] | null,
  limit: number,
  events: EventImport,
): Chunk {
  if (table.kind === 'events') {
    const afterSeq = typeof position?.[0] === 'number' ? position[0] : 0;
    const rows = reader.readEvents(afterSeq, limit);
    const last = rows[rows.length - 1];
    return {
      count: rows.length,
      last: last === undefined ? null : [last.seq],
      write: (client) => events.write(client, rows),
    };
  }
  const rows = reader.readRows(
    table.name,
    table.key,
    table.columns.map((column) => column.name),
    position,
    limit,
  );
  return {
    count: rows.length,
    last: rows[rows.length - 1]?.key ?? null,
    write: (client) =>
      importRows(
        client,
        table,
        rows.map((row) => row.values),
      ),
  };
}

async function countBoth(pool: pg.Pool, target: PostgresTarget, reader: SqliteExport): Promise<readonly TableCount[]> {
  const counts: TableCount[] = [];
  for (const table of MIGRATED_TABLES) {
    const sourceRows = table.kind === 'events' ? reader.countEvents() : reader.countRows(table.name);
    const targetRows = await run(target, `count ${table.name}`, () => countRows(pool, table.name));
    counts.push({ table: table.name, source: sourceRows, target: targetRows });
    if (table.kind === 'events') {
      // Every event has exactly one id claim; an id without its event would stop that event being stored again.
      const ids = await run(target, 'count event ids', () => countEventIds(pool));
      counts.push({ table: 'event_ids', source: sourceRows, target: ids });
    }
  }
  return counts;
}

async function connect(pool: pg.Pool, target: PostgresTarget): Promise<pg.PoolClient> {
  return run(target, 'connect', () => pool.connect());
}

async function transaction(
  pool: pg.Pool,
  target: PostgresTarget,
  action: string,
  work: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  const client = await connect(pool, target);
  await run(target, action, () => inTransaction(client, work));
}

async function run<T>(target: PostgresTarget, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = pgCode(error);
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_WRITE_FAILED', {
      message: `Could not ${action} in ${describeTarget(target)}${code === undefined ? '' : ` (${code})`}: ${reason}.`,
      hint: 'Everything committed so far is kept; run the same command again to resume once the cause is fixed.',
      cause: error,
    });
  }
}
