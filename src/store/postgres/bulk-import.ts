import type pg from 'pg';
import type { CopiedColumn, CopiedTable, PgColumnType } from '../migrate/tables.js';
import type { ExportedEvent, SqliteValue } from '../sqlite/bulk-export.js';
import { flatString } from '../../normalize/schema.js';
import { DASHBOARD_CLASS_UID } from '../dashboard-summary.js';
import { addToSummary } from './auth-summary.js';
import { SQL } from './queries.js';
import { wellFormed } from './queries.js';
import { monthPartition } from './store.js';

/**
 * Bulk writes for `zerotrail store migrate`: whole chunks of rows copied from a SQLite installation, as multi-row
 * parameterised INSERTs. They run inside the caller's transaction, so the caller commits a chunk together with the
 * record of how far the copy got.
 */

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// Rows per INSERT statement times columns; PostgreSQL takes at most 65,535 parameters per statement.
const MAX_PARAMS = 10_000;
const STORED_EVENT_COLUMNS = `id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip,
  ip_key, country, app, app_uid, idp, ray_id, ocsf, raw`;
// The values of one copied event, in the order `eventValues` lists them.
const EVENT_COLUMNS = `seq, ${STORED_EVENT_COLUMNS}`;
const EVENT_TYPES: readonly PgColumnType[] = [
  'bigint',
  'text',
  'bigint',
  ...Array<PgColumnType>(3).fill('text'),
  'integer',
  ...Array<PgColumnType>(12).fill('text'),
];

const IMPORT_SQL = {
  // Numbering continues after every seq copied and every evaluator's offset, as SQLite's next append would.
  continueEventSeq: `SELECT setval('event_seq', greatest(
      (SELECT coalesce(max(seq), 0) FROM event_ids), (SELECT coalesce(max(seq), 0) FROM detection_offsets)) + 1, false)`,
  continueNotifySeq: `SELECT setval('notify_seq', greatest(
      (SELECT coalesce(max(seq), 0) FROM notify_queue), (SELECT coalesce(max(seq), 0) FROM notify_offsets),
      (SELECT coalesce(max(seq), 0) FROM notify_failures)) + 1, false)`,
  identitySequence: 'SELECT pg_get_serial_sequence($1, $2) AS name',
  continueIdentity: 'SELECT setval($1::regclass, $2::bigint)',
  countEventIds: 'SELECT count(*)::bigint AS n FROM event_ids',
} as const;

/**
 * Refreshes the planner's statistics of the copied tables, which autovacuum would get to only later: without them
 * the first searches on the new database pick slow plans (see the store's own analyze after appends).
 */
export async function analyzeTables(client: pg.PoolClient | pg.Pool, tables: readonly string[]): Promise<void> {
  for (const table of tables) await client.query(`ANALYZE ${identifier(table)}`);
}

/** Inserts copied rows of `table`; a row whose key is already there is skipped. Returns how many went in. */
export async function importRows(
  client: pg.PoolClient,
  table: CopiedTable,
  rows: readonly (readonly SqliteValue[])[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const name = identifier(table.name);
  const head = `INSERT INTO ${name} (${table.columns.map((column) => identifier(column.name)).join(', ')})${
    table.identity === undefined ? '' : ' OVERRIDING SYSTEM VALUE'
  }`;
  const values = rows.map((row) => table.columns.map((column, index) => toPg(column, row[index] ?? null)));
  const types = table.columns.map((column) => column.type);
  const quiet = table.quietTrigger === undefined ? undefined : identifier(table.quietTrigger);
  // ALTER TABLE is transactional: the trigger is off for these inserts only, and back on should the chunk fail.
  if (quiet !== undefined) await client.query(`ALTER TABLE ${name} DISABLE TRIGGER ${quiet}`);
  let inserted = 0;
  for (const statement of valuesStatements(rows.length, types)) {
    const result = await client.query(
      `${head} ${statement.values} ON CONFLICT DO NOTHING`,
      values.slice(statement.from, statement.to).flat(),
    );
    inserted += result.rowCount ?? 0;
  }
  if (quiet !== undefined) await client.query(`ALTER TABLE ${name} ENABLE TRIGGER ${quiet}`);
  return inserted;
}

/**
 * Copies events in their own month partitions, with the seq they had in SQLite so that detection and
 * notification offsets keep their meaning. Each statement claims its events' ids and inserts only the events
 * whose id it claimed, so an event already there is skipped. Partitions known to exist are remembered.
 */
export class EventImport {
  #partitions: Set<string> | undefined;

  /** Resolves how many events went in. */
  async write(client: pg.PoolClient, events: readonly ExportedEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    this.#partitions ??= new Set(
      (await client.query<{ name: string }>(SQL.listPartitions)).rows.map((row) => row.name),
    );
    const missing = new Map<string, readonly [number, number]>();
    for (const event of events) {
      const month = monthPartition(event.time);
      if (!this.#partitions.has(month.name)) missing.set(month.name, month.bounds);
    }
    if (missing.size > 0) {
      // One creator at a time, as in the store's own appends; name and bounds are derived from numbers only.
      await client.query(SQL.lockPartitions);
      for (const [name, [from, to]] of missing) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF events FOR VALUES FROM (${from}) TO (${to})`,
        );
        // A chunk that fails ends the copy, so a partition its rollback removed is never counted on.
        this.#partitions.add(name);
      }
    }
    const rows = events.map(eventValues);
    const inserted = new Set<string>();
    for (const statement of valuesStatements(rows.length, EVENT_TYPES)) {
      const result = await client.query<{ id: string }>(
        `WITH batch (${EVENT_COLUMNS}) AS (${statement.values}),
          claimed AS (INSERT INTO event_ids (id, time, seq) SELECT id, time, seq FROM batch
            ON CONFLICT (id) DO NOTHING RETURNING id)
          INSERT INTO events (${STORED_EVENT_COLUMNS}) SELECT ${STORED_EVENT_COLUMNS} FROM batch
            WHERE id IN (SELECT id FROM claimed) RETURNING id`,
        rows.slice(statement.from, statement.to).flat(),
      );
      for (const row of result.rows) inserted.add(row.id);
    }
    // The summary counts the copied authentications as stored, in the chunk's transaction (migration 0012).
    await addToSummary(
      client,
      events
        .filter((event) => event.classUid === DASHBOARD_CLASS_UID && inserted.has(event.id))
        .map((event) => ({
          time: event.time,
          source: wellFormed(event.source),
          outcome: wellFormed(event.outcome),
          user: flatOrNull(event.userName),
          app: flatOrNull(event.app),
          country: flatOrNull(event.country),
          idp: flatOrNull(event.idp),
          activity: wellFormed(event.activity),
        })),
    );
    return inserted.size;
  }
}

/**
 * Moves the event and notice numbering and the identity columns of `tables` past every copied value, and past
 * `usedIds` (the largest id the source gave out, by table), so the first row a node adds after the copy gets a
 * fresh number. Safe to repeat.
 */
export async function continueSequences(
  client: pg.PoolClient,
  tables: readonly CopiedTable[],
  usedIds: ReadonlyMap<string, number> = new Map(),
): Promise<void> {
  await client.query(IMPORT_SQL.continueEventSeq);
  await client.query(IMPORT_SQL.continueNotifySeq);
  for (const table of tables) {
    if (table.identity === undefined) continue;
    const sequence = (
      await client.query<{ name: string | null }>(IMPORT_SQL.identitySequence, [table.name, table.identity])
    ).rows[0]?.name;
    const max = (
      await client.query<{ n: number | null }>(
        `SELECT max(${identifier(table.identity)}) AS n FROM ${identifier(table.name)}`,
      )
    ).rows[0]?.n;
    const used = usedIds.get(table.name);
    const last = Math.max(Number(max ?? 0), used ?? 0);
    if (sequence !== null && sequence !== undefined && last > 0) {
      await client.query(IMPORT_SQL.continueIdentity, [sequence, last]);
    }
  }
}

export async function countRows(client: pg.PoolClient | pg.Pool, table: string): Promise<number> {
  const row = (await client.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${identifier(table)}`)).rows[0];
  return row?.n ?? 0;
}

export async function countEventIds(client: pg.PoolClient | pg.Pool): Promise<number> {
  return (await client.query<{ n: number }>(IMPORT_SQL.countEventIds)).rows[0]?.n ?? 0;
}

/** The tables among `tables` that hold at least one row. */
export async function tablesWithRows(client: pg.PoolClient | pg.Pool, tables: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const table of tables) {
    const sql = `SELECT EXISTS (SELECT 1 FROM ${identifier(table)}) AS present`;
    if ((await client.query<{ present: boolean }>(sql)).rows[0]?.present === true) found.push(table);
  }
  return found;
}

/**
 * Multi-row VALUES lists of at most MAX_PARAMS parameters each, every parameter cast to its column's type. Each
 * value travels as it is; an array parameter would have to escape every quote of the JSON bodies, which measured
 * several times slower than the whole rest of the copy.
 */
function valuesStatements(
  rowCount: number,
  types: readonly PgColumnType[],
): { readonly from: number; readonly to: number; readonly values: string }[] {
  const width = types.length;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / width));
  const statements = [];
  for (let from = 0; from < rowCount; from += perStatement) {
    const to = Math.min(rowCount, from + perStatement);
    const tuples = [];
    for (let row = 0; row < to - from; row++) {
      tuples.push(`(${types.map((type, column) => `$${row * width + column + 1}::${type}`).join(', ')})`);
    }
    statements.push({ from, to, values: `VALUES ${tuples.join(', ')}` });
  }
  return statements;
}

const textOrNull = (value: string | null): string | null => (value === null ? null : wellFormed(value));
// An indexed flat column; see CopiedColumn.flat.
const flatOrNull = (value: string | null): string | null => (value === null ? null : flatString(value));

function eventValues(event: ExportedEvent): readonly unknown[] {
  return [
    event.seq,
    event.id,
    event.time,
    wellFormed(event.source),
    wellFormed(event.accountId),
    wellFormed(event.dataset),
    event.classUid,
    wellFormed(event.activity),
    wellFormed(event.outcome),
    flatOrNull(event.userName),
    textOrNull(event.srcIp),
    event.ipKey,
    flatOrNull(event.country),
    flatOrNull(event.app),
    flatOrNull(event.appUid),
    flatOrNull(event.idp),
    flatOrNull(event.rayId),
    event.ocsf,
    event.raw,
  ];
}

function toPg(column: CopiedColumn, value: SqliteValue): SqliteValue | boolean {
  if (value === null) return null;
  if (column.type === 'boolean') return value === 1 || value === '1';
  // PostgreSQL text holds neither NUL nor lone surrogates, which a SQLite column may.
  if (column.type === 'text' && typeof value === 'string') return column.flat ? flatString(value) : wellFormed(value);
  return value;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL name: ${name}`);
  return name;
}
