import { withoutNul } from '../../core/flat-text.js';
import { checkFilterSize, compileChain } from '../filter-chains.js';
import { ipKey } from '../ip-key.js';
import {
  BARE_TERM_FIELDS,
  comparedForm,
  invalidQueryValue,
  SEARCH_COLUMNS,
  toInteger,
  toLikePattern,
} from '../search-columns.js';
import type { SearchField, SearchFilter, SearchQuery } from '../search-query.js';

/**
 * Every SQL text the PostgreSQL store runs. Values always travel as numbered parameters; the only text
 * assembled at run time comes from the fixed column map of search-columns.ts, operators, and partition names
 * the store derives from dates, never from input.
 */
export const SQL = {
  createMigrationsTable:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
  appliedVersions: 'SELECT version FROM schema_migrations ORDER BY version',
  recordMigration: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
  // Two nodes starting at once must not both run a migration; the lock is released at commit.
  lockMigrations: "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/zerotrail-migrations'))",
  lockPartitions: "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/zerotrail-partitions'))",
  // The event partitions in the current schema, by name (events_pYYYYMM).
  listPartitions: `SELECT child.relname AS name FROM pg_inherits
    JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
    JOIN pg_class child ON child.oid = pg_inherits.inhrelid
    JOIN pg_namespace ns ON ns.oid = parent.relnamespace
    WHERE parent.relname = 'events' AND ns.nspname = current_schema()`,

  // Claims the ids of a batch; only the ids returned are new. Within one statement the first of two equal
  // ids wins and the second is skipped, so a batch that repeats an id keeps its first copy. Claiming in id
  // order makes two nodes appending overlapping batches wait on each other instead of deadlocking.
  claimEventIds: `INSERT INTO event_ids (id, time)
    SELECT id, time FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS batch (id, time, position)
    ORDER BY id, position
    ON CONFLICT (id) DO NOTHING RETURNING id`,
  // Takes the event numbering lock, reserves a block of $2 numbers and gives them to the ids $1 in their order, in
  // one round trip. Each step reads the one before it, so the lock is held before a number is taken, and
  // MATERIALIZED evaluates each exactly once. The lock is released at commit.
  numberEvents: `WITH locked AS MATERIALIZED (
      SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/zerotrail-event-seq'))
    ),
    reserved AS MATERIALIZED (SELECT setval('event_seq', nextval('event_seq') + $2::bigint - 1) AS last FROM locked)
    UPDATE event_ids SET seq = reserved.last - $2::bigint + numbered.position
    FROM reserved, unnest($1::text[]) WITH ORDINALITY AS numbered (id, position)
    WHERE event_ids.id = numbered.id`,
  // Where a follow read may go: the largest seq in use and the first one after the follower's. Seqs become visible
  // in the order they were handed out (see numberEvents), so once the largest is seen every smaller one is too.
  followBounds: `SELECT (SELECT max(seq) FROM event_ids) AS last,
    (SELECT min(seq) FROM event_ids WHERE seq > $1) AS first`,
  // Rows of the month the cut-off falls in, a chunk at a time; (tableoid, ctid) names a row across partitions.
  deleteEventsBelowChunk: `DELETE FROM events WHERE (tableoid, ctid) IN
    (SELECT tableoid, ctid FROM events WHERE time < $1 LIMIT $2)`,
  // Ids follow their events out in chunks, after the events are gone: a crash between leaves ids of deleted
  // events behind, which only stops the same old events from being stored again, never stores one twice.
  deleteEventIdsChunk: 'DELETE FROM event_ids WHERE id IN (SELECT id FROM event_ids WHERE time < $1 LIMIT $2)',

  upsertCursor: `INSERT INTO cursors (id, value, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  selectCursor: 'SELECT value FROM cursors WHERE id = $1',

  insertSource: `INSERT INTO sources (name, type, account_id, token_ciphertext, token_last_four, created_at, settings)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  selectSource: 'SELECT * FROM sources WHERE name = $1',
  selectSources: 'SELECT * FROM sources ORDER BY name',
  deleteSource: 'DELETE FROM sources WHERE name = $1',
  updateSource: `UPDATE sources SET account_id = $2, token_ciphertext = $3, token_last_four = $4, settings = $5
    WHERE name = $1`,
  // Cursor and status ids are `<source name>/<dataset>`; comparing a prefix avoids LIKE and its wildcards.
  // A dataset name holds no '/', so the rest of the id must hold none: source "a" must not take "a/b"'s rows.
  deleteSourceCursors:
    "DELETE FROM cursors WHERE left(id, length($1) + 1) = $1 || '/' AND strpos(substr(id, length($1) + 2), '/') = 0",
  deleteSourceStatuses:
    "DELETE FROM dataset_statuses WHERE left(id, length($1) + 1) = $1 || '/' AND strpos(substr(id, length($1) + 2), '/') = 0",

  upsertStatus: `INSERT INTO dataset_statuses (id, state, last_success_at, last_error_at, last_error_code,
      last_error_message, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_success_at = excluded.last_success_at,
      last_error_at = excluded.last_error_at, last_error_code = excluded.last_error_code,
      last_error_message = excluded.last_error_message, updated_at = excluded.updated_at`,
  selectStatuses: 'SELECT * FROM dataset_statuses ORDER BY id',

  upsertInventorySnapshot: `INSERT INTO inventory_snapshots (source, dataset, taken_at, entity_count) VALUES ($1, $2, $3, $4)
    ON CONFLICT (source, dataset) DO UPDATE SET taken_at = excluded.taken_at, entity_count = excluded.entity_count`,
  selectInventorySnapshot: 'SELECT taken_at FROM inventory_snapshots WHERE source = $1 AND dataset = $2',
  deleteInventoryEntities: 'DELETE FROM inventory_entities WHERE source = $1 AND dataset = $2',
  insertInventoryEntities: `INSERT INTO inventory_entities (source, dataset, kind, entity_id, name, attributes)
    SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])`,
  selectInventoryEntities:
    'SELECT kind, entity_id, name, attributes FROM inventory_entities WHERE source = $1 AND dataset = $2 ORDER BY kind, entity_id',
  selectInventoryByKind: `SELECT e.source, e.dataset, e.kind, e.entity_id, e.name, e.attributes, s.taken_at
    FROM inventory_entities e JOIN inventory_snapshots s ON s.source = e.source AND s.dataset = e.dataset
    WHERE e.kind = $1 ORDER BY e.source, lower(e.name), e.entity_id`,
  selectInventoryByKindAndSource: `SELECT e.source, e.dataset, e.kind, e.entity_id, e.name, e.attributes, s.taken_at
    FROM inventory_entities e JOIN inventory_snapshots s ON s.source = e.source AND s.dataset = e.dataset
    WHERE e.kind = $1 AND e.source = $2 ORDER BY lower(e.name), e.entity_id`,
  deleteSourceInventory: 'DELETE FROM inventory_entities WHERE source = $1',
  deleteSourceInventorySnapshots: 'DELETE FROM inventory_snapshots WHERE source = $1',

  selectSetting: 'SELECT value FROM settings WHERE key = $1',
  upsertSetting:
    'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
} as const;

/** The columns an append writes, in the order of its parameters. */
const STORED_EVENT_COLUMNS = [
  'id',
  'time',
  'source',
  'account_id',
  'dataset',
  'class_uid',
  'activity',
  'outcome',
  'user_name',
  'src_ip',
  'ip_key',
  'country',
  'app',
  'app_uid',
  'idp',
  'ray_id',
  'ocsf',
  'raw',
] as const;
/**
 * Events per INSERT statement. PostgreSQL's time per row grows with the statement beyond a few hundred rows of
 * these (18 values, JSON bodies of a few kB): 1,000 rows measured three times the server time of 4 x 250.
 */
export const EVENT_INSERT_ROWS = 250;

function insertEventsText(rows: number): string {
  const width = STORED_EVENT_COLUMNS.length;
  const tuples: string[] = [];
  for (let row = 0; row < rows; row++) {
    const first = row * width;
    tuples.push(`(${STORED_EVENT_COLUMNS.map((_, column) => `$${first + column + 1}`).join(', ')})`);
  }
  return `INSERT INTO events (${STORED_EVENT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
}
const FULL_INSERT = { name: 'zerotrail_insert_events', text: insertEventsText(EVENT_INSERT_ROWS) } as const;

/**
 * A multi-row INSERT of `rows` events (at most EVENT_INSERT_ROWS), 18 values each. Every value is a parameter of
 * its own: array parameters would make the driver escape every quote of the JSON bodies, which cost more than the
 * rest of the append. Each parameter takes the type of the column it goes in. A full chunk is a named statement,
 * parsed once per connection, which saves the server a quarter of its time on it; a shorter one is parsed each time.
 */
export function insertEventsStatement(rows: number): { readonly name?: string; readonly text: string } {
  return rows === EVENT_INSERT_ROWS ? FULL_INSERT : { text: insertEventsText(rows) };
}

/** The columns a search returns, in the order the store reads them. */
export const EVENT_COLUMNS =
  'id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip, country, app, app_uid, idp, ray_id, ocsf, raw';

/** Collects parameter values and hands out their `$n` placeholders. */
// PostgreSQL text holds neither NUL nor lone UTF-16 surrogates; both become U+FFFD in the flat columns.
// The JSON bodies need no guard: JSON.stringify writes both as \u escapes.
/** `value` as PostgreSQL can store it in a text column. */
export function wellFormed(value: string): string {
  return withoutNul(value.toWellFormed());
}

export function wellFormedOrNull(value: string | null): string | null {
  return value === null ? null : wellFormed(value);
}

/** Numbered parameters; a text one as PostgreSQL can take it, as stored text is (see wellFormed). */
export class SqlParams {
  readonly values: (string | number)[] = [];

  add(value: string | number): string {
    // A NUL in a query value would fail the whole query; stored text has U+FFFD in its place, so that matches.
    this.values.push(typeof value === 'string' ? wellFormed(value) : value);
    return `$${this.values.length}`;
  }
}

/** The WHERE clause of a search, count or aggregate: the query window, then the filter. */
export function whereClause(query: Omit<SearchQuery, 'order'>, params: SqlParams): string[] {
  const where: string[] = [];
  if (query.fromMs !== undefined) where.push(`time >= ${params.add(query.fromMs)}`);
  if (query.toMs !== undefined) where.push(`time < ${params.add(query.toMs)}`);
  if (query.filter !== null) where.push(compileFilter(query.filter, params));
  return where;
}

export function whereSql(where: readonly string[]): string {
  return where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
}

/** One page in (time, id) order; the caller adds the keyset condition to `where`. */
export function searchEventsSql(where: readonly string[], direction: 'ASC' | 'DESC', limit: string): string {
  return `SELECT ${EVENT_COLUMNS} FROM events${whereSql(where)} ORDER BY time ${direction}, id ${direction} LIMIT ${limit}`;
}

/**
 * One follow read in seq order. The seq lives with the id that claimed the event (migration 5), so the stretch is
 * read from `event_ids` and each of its events looked up by (time, id), then filtered; `where` may name any events
 * column and `seq`. The LIMIT 1 keeps the lookup a subquery of its own: flattened into a join, the planner scanned a
 * whole month's partition for a common filter value and hashed the stretch against it.
 */
export function followEventsSql(where: readonly string[], fromSeq: string, toSeq: string, limit: string): string {
  return `SELECT seq, ${EVENT_COLUMNS} FROM (SELECT ids.seq, e.*
      FROM (SELECT id, time, seq FROM event_ids WHERE seq > ${fromSeq} AND seq <= ${toSeq}) AS ids
      CROSS JOIN LATERAL (SELECT * FROM events WHERE events.time = ids.time AND events.id = ids.id LIMIT 1) AS e
    ) AS followed${whereSql(where)}
    ORDER BY seq LIMIT ${limit}`;
}

export function countEventsSql(where: readonly string[]): string {
  return `SELECT count(*)::bigint AS n FROM events${whereSql(where)}`;
}

/**
 * Buckets sorted by count, ties by key with "no value" first. Fields matched without regard to case group
 * that way too, as SQLite's NOCASE columns do, and show one of the spellings found.
 */
export function aggregateEventsSql(field: SearchField, where: readonly string[], limit: string): string {
  const info = SEARCH_COLUMNS[field];
  const group = info.nocase ? `lower(${info.column})` : info.column;
  const key = info.nocase ? `min(${info.column})` : info.column;
  return `SELECT ${key} AS key, count(*)::bigint AS n FROM events${whereSql(where)} GROUP BY ${group}
    ORDER BY n DESC, ${group} ASC NULLS FIRST LIMIT ${limit}`;
}

/** The SQL a search field is read through: its column, or another table's equivalent (a summary's `key`). */
export type ColumnOf = (field: SearchField) => string;

const eventColumn: ColumnOf = (field) => SEARCH_COLUMNS[field].column;

/**
 * Compiles a filter of the query model to a WHERE fragment with numbered parameters. Every leaf is guarded
 * with `IS NOT NULL` so it is always true or false, never NULL: `NOT user:x` then keeps events with no user,
 * exactly as on SQLite. `columns` reads the fields from elsewhere than the events table. A filter larger than
 * the SQLite store could run is refused with QUERY_SYNTAX here too, so a query runs on both stores or neither.
 */
export function compileFilter(filter: SearchFilter, params: SqlParams, columns: ColumnOf = eventColumn): string {
  const before = params.values.length;
  const sql = compileNode(filter, params, columns);
  checkFilterSize(sql, params.values.length - before);
  return sql;
}

function compileNode(filter: SearchFilter, params: SqlParams, columns: ColumnOf): string {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return compileChain(filter, {
        node: (operand) => compileNode(operand, params, columns),
        term: (field, value) => compileTerm(field, value, false, params, columns),
        valueList: (field, values) => compileValueList(field, values, params, columns),
      });
    case 'not':
      return `(NOT ${compileNode(filter.operand, params, columns)})`;
    case 'term':
      if (filter.field === null) {
        const parts = BARE_TERM_FIELDS.map((field) =>
          compileTerm(field, filter.value, filter.wildcard, params, columns),
        );
        return `(${parts.join(' OR ')})`;
      }
      return compileTerm(filter.field, filter.value, filter.wildcard, params, columns);
    case 'cidr': {
      const start = ipKey(filter.start);
      const end = ipKey(filter.end);
      if (start === null || end === null)
        throw invalidQueryValue(`"${filter.start}".."${filter.end}" is not an address range.`);
      return `(ip_key IS NOT NULL AND ip_key BETWEEN ${params.add(start)} AND ${params.add(end)})`;
    }
    case 'range':
      return compileRange(filter, params, columns);
  }
}

// As an OR of compileTerm over `values`, for exact values.
function compileValueList(field: SearchField, values: readonly string[], params: SqlParams, columns: ColumnOf): string {
  const info = SEARCH_COLUMNS[field];
  const column = columns(field);
  const elements = (list: readonly (string | number)[], as = 'value'): string =>
    `ARRAY(SELECT ${as} FROM json_array_elements_text(${params.add(JSON.stringify(list.map((item) => (typeof item === 'string' ? wellFormed(item) : item))))}::json) AS value)`;
  if (info.kind === 'integer') {
    const numbers = values.map((value) => toInteger(field, value)).filter((number) => number !== null);
    if (numbers.length === 0) return 'false';
    return `(${column} = ANY (${elements(numbers, 'value::bigint')}))`;
  }
  const keys = info.kind === 'ip' ? values.map((value) => ipKey(value)).filter((key) => key !== null) : [];
  const texts = info.kind === 'ip' ? values.filter((value) => ipKey(value) === null) : values;
  const parts: string[] = [];
  if (keys.length > 0) parts.push(`(ip_key IS NOT NULL AND ip_key = ANY (${elements(keys)}))`);
  if (texts.length > 0) {
    parts.push(
      `(${column} IS NOT NULL AND ${info.nocase ? `lower(${column})` : column} = ANY (${elements(texts.map((text) => comparedForm(field, text)))}))`,
    );
  }
  return parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(' OR ')})`;
}

function compileTerm(
  field: SearchField,
  value: string,
  wildcard: boolean,
  params: SqlParams,
  columns: ColumnOf,
): string {
  const info = SEARCH_COLUMNS[field];
  const column = columns(field);
  if (info.kind === 'integer' && !wildcard) {
    const number = toInteger(field, value);
    // A bare word that is not a number simply cannot match an integer column.
    if (number === null) return 'false';
    return `(${column} = ${params.add(number)})`;
  }
  if (info.kind === 'ip' && !wildcard) {
    const key = ipKey(value);
    if (key !== null) return `(ip_key IS NOT NULL AND ip_key = ${params.add(key)})`;
  }
  const text = info.kind === 'integer' ? `${column}::text` : column;
  // The value is folded here rather than by lower() in SQL: a parameter takes the database's collation, under
  // which lower() folds Ü to ü too, while the column's "C" leaves it, and the exact stored value would miss.
  const typed = comparedForm(field, value);
  const compared = info.nocase ? `lower(${text})` : text;
  if (!wildcard) return `(${text} IS NOT NULL AND ${compared} = ${params.add(typed)})`;
  return `(${text} IS NOT NULL AND ${compared} LIKE ${params.add(toLikePattern(typed))} ESCAPE '\\')`;
}

function compileRange(filter: Extract<SearchFilter, { kind: 'range' }>, params: SqlParams, columns: ColumnOf): string {
  const info = SEARCH_COLUMNS[filter.field];
  const column =
    info.kind === 'ip' ? 'ip_key' : info.nocase ? `lower(${columns(filter.field)})` : columns(filter.field);
  const bound = (value: string | number): string => {
    if (info.kind === 'integer') {
      const number = typeof value === 'number' ? value : toInteger(filter.field, value);
      if (number === null) throw invalidQueryValue(`"${String(value)}" is not a valid bound for ${filter.field}.`);
      return params.add(number);
    }
    if (info.kind === 'ip') {
      const key = ipKey(String(value));
      if (key === null) throw invalidQueryValue(`"${String(value)}" is not an IP address.`);
      return params.add(key);
    }
    return params.add(comparedForm(filter.field, String(value)));
  };
  const parts = [`${column} IS NOT NULL`];
  if (filter.min !== null) parts.push(`${column} ${filter.minInclusive ? '>=' : '>'} ${bound(filter.min)}`);
  if (filter.max !== null) parts.push(`${column} ${filter.maxInclusive ? '<=' : '<'} ${bound(filter.max)}`);
  return `(${parts.join(' AND ')})`;
}
