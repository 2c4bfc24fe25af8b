import type pg from 'pg';
import type { CopiedTable, PgColumnType } from '../migrate/tables.js';
import type { ExportedEvent, SqliteValue } from '../sqlite/bulk-export.js';
import { SQL } from './queries.js';
import { monthPartition, wellFormed } from './store.js';

/**
 * Bulk writes for `zerotrail store migrate`: whole chunks of rows copied from a SQLite installation, each chunk
 * one multi-row INSERT with one typed array parameter per column. They run inside the caller's transaction, so
 * the caller commits a chunk together with the record of how far the copy got.
 */

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// Rows per INSERT statement times columns; PostgreSQL takes at most 65,535 parameters per statement.
const MAX_PARAMS = 10_000;
const EVENT_COLUMNS = `id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip, ip_key,
  country, app, app_uid, idp, ray_id, ocsf, raw`;

const IMPORT_SQL = {
  // Ids claimed with the seq they had in SQLite, so detection and notification offsets keep their meaning.
  claimEventIds: `INSERT INTO event_ids (id, time, seq)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ON CONFLICT (id) DO NOTHING RETURNING id`,
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
  const values = rows.map((row) => table.columns.map((column, index) => toPg(column.type, row[index] ?? null)));
  const quiet = table.quietTrigger === undefined ? undefined : identifier(table.quietTrigger);
  // ALTER TABLE is transactional: the trigger is off for this insert only, and back on should the chunk fail.
  if (quiet !== undefined) await client.query(`ALTER TABLE ${name} DISABLE TRIGGER ${quiet}`);
  const inserted = await insertValues(client, head, values, 'ON CONFLICT DO NOTHING');
  if (quiet !== undefined) await client.query(`ALTER TABLE ${name} ENABLE TRIGGER ${quiet}`);
  return inserted;
}

/**
 * Inserts copied events with the seq they had, creating the month partitions they need first; an event whose id
 * is already claimed is skipped. Returns how many went in.
 */
export async function importEvents(client: pg.PoolClient, events: readonly ExportedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  await ensurePartitions(
    client,
    events.map((event) => event.time),
  );
  const claimed = await client.query<{ id: string }>(IMPORT_SQL.claimEventIds, [
    events.map((event) => event.id),
    events.map((event) => event.time),
    events.map((event) => event.seq),
  ]);
  const fresh = new Set(claimed.rows.map((row) => row.id));
  const rows = events.filter((event) => fresh.delete(event.id));
  if (rows.length === 0) return 0;
  const textOrNull = (value: string | null): string | null => (value === null ? null : wellFormed(value));
  await insertValues(
    client,
    `INSERT INTO events (${EVENT_COLUMNS})`,
    rows.map((event) => [
      event.id,
      event.time,
      wellFormed(event.source),
      wellFormed(event.accountId),
      wellFormed(event.dataset),
      event.classUid,
      wellFormed(event.activity),
      wellFormed(event.outcome),
      textOrNull(event.userName),
      textOrNull(event.srcIp),
      event.ipKey,
      textOrNull(event.country),
      textOrNull(event.app),
      textOrNull(event.appUid),
      textOrNull(event.idp),
      textOrNull(event.rayId),
      event.ocsf,
      event.raw,
    ]),
    '',
  );
  return rows.length;
}

/**
 * Moves the event and notice numbering and the identity columns of `tables` past every copied value, so the
 * first row a node adds after the copy gets a fresh number. Safe to repeat.
 */
export async function continueSequences(client: pg.PoolClient, tables: readonly CopiedTable[]): Promise<void> {
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
    if (sequence !== null && sequence !== undefined && max !== null && max !== undefined) {
      await client.query(IMPORT_SQL.continueIdentity, [sequence, max]);
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
 * Multi-row INSERT ... VALUES with one parameter per value, in statements of at most MAX_PARAMS parameters. Each
 * value travels as it is; an array parameter would have to escape every quote of the JSON bodies, which measured
 * several times slower than the whole rest of the copy.
 */
async function insertValues(
  client: pg.PoolClient,
  head: string,
  rows: readonly (readonly unknown[])[],
  tail: string,
): Promise<number> {
  const width = rows[0]?.length ?? 0;
  if (width === 0) return 0;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / width));
  let inserted = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement);
    const tuples = batch.map(
      (_, row) => `(${Array.from({ length: width }, (_unused, column) => `$${row * width + column + 1}`).join(', ')})`,
    );
    const result = await client.query(`${head} VALUES ${tuples.join(', ')} ${tail}`, batch.flat());
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

async function ensurePartitions(client: pg.PoolClient, times: readonly number[]): Promise<void> {
  const needed = new Map<string, readonly [number, number]>();
  for (const time of times) {
    const month = monthPartition(time);
    needed.set(month.name, month.bounds);
  }
  await client.query(SQL.lockPartitions);
  const existing = new Set((await client.query<{ name: string }>(SQL.listPartitions)).rows.map((row) => row.name));
  for (const [name, [from, to]] of needed) {
    if (existing.has(name)) continue;
    // Name and bounds are derived from numbers, never taken from input.
    await client.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF events FOR VALUES FROM (${from}) TO (${to})`);
  }
}

function toPg(type: PgColumnType, value: SqliteValue): SqliteValue | boolean {
  if (value === null) return null;
  if (type === 'boolean') return value === 1 || value === '1';
  // PostgreSQL text holds neither NUL nor lone surrogates, which a SQLite column may.
  if (type === 'text' && typeof value === 'string') return wellFormed(value);
  return value;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL name: ${name}`);
  return name;
}
