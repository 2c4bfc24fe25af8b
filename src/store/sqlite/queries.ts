import { checkFilterSize, compileChain } from '../filter-chains.js';
import { ipKey } from '../ip-key.js';
import {
  BARE_TERM_FIELDS,
  invalidQueryValue,
  SEARCH_COLUMNS,
  storedForm,
  toInteger,
  toLikePattern,
} from '../search-columns.js';
import type { SearchField, SearchFilter } from '../search-query.js';

/**
 * Every SQL text the SQLite store runs. Values always travel as parameters; the only text assembled at
 * run time comes from the fixed column map of search-columns.ts and from operators, never from user input.
 */
export const SQL = {
  // Pragma bodies, for better-sqlite3's db.pragma().
  pragmaJournalWal: 'journal_mode = WAL',
  // NORMAL in WAL mode syncs at checkpoints, not at every commit: a committed transaction survives a killed
  // process (the WAL is in the OS page cache), and only a power loss can roll back the last commits.
  // https://www.sqlite.org/pragma.html#pragma_synchronous
  pragmaSynchronousNormal: 'synchronous = NORMAL',
  pragmaForeignKeys: 'foreign_keys = ON',
  pragmaForeignKeysOff: 'foreign_keys = OFF',
  // Only a new, empty file takes it; an existing database keeps the page size it was created with. With the
  // JSON bodies in their own table, most of the cost left is the move's inserts into the ray id and address
  // indexes of `events`, which land on random pages; a cache miss there reads and writes a whole page, so
  // small pages win: at 1M events 4 KiB pages stored about a fifth more events per second than 16 KiB ones.
  pragmaPageSize: 'page_size = 4096',
  // Sorts and temporary b-trees of searches over the recent tier stay in memory.
  pragmaTempStoreMemory: 'temp_store = MEMORY',
  // Only while the recent tier merges (see SqliteStore): its statement journal goes to a temporary file.
  pragmaTempStoreFile: 'temp_store = FILE',
  // Checkpoint every 16384 pages (64 MiB of WAL at 4 KiB pages) instead of the default 1000: fewer fsyncs.
  pragmaWalAutocheckpoint: 'wal_autocheckpoint = 16384',
  pragmaJournalSizeLimit: 'journal_size_limit = 67108864',
  probeSchema: 'SELECT count(*) AS n FROM sqlite_master',
  userTables:
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
  migrationsColumns: "SELECT name FROM pragma_table_info('schema_migrations') ORDER BY cid",

  createMigrationsTable:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  appliedVersions: 'SELECT version FROM schema_migrations ORDER BY version',
  recordMigration: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',

  upsertCursor: `INSERT INTO cursors (id, value, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  selectCursor: 'SELECT value FROM cursors WHERE id = ?',

  insertSource: `INSERT INTO sources (name, type, account_id, token_ciphertext, token_last_four, created_at, settings)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  selectSource: 'SELECT * FROM sources WHERE name = ?',
  selectSources: 'SELECT * FROM sources ORDER BY name',
  deleteSource: 'DELETE FROM sources WHERE name = ?',
  updateSource: `UPDATE sources SET account_id = ?, token_ciphertext = ?, token_last_four = ?, settings = ?
    WHERE name = ?`,
  // Cursor and status ids are `<source name>/<dataset>`; comparing a prefix avoids LIKE, whose wildcards
  // could appear in a source name.
  // A dataset name holds no '/', so the rest of the id must hold none: source "a" must not take "a/b"'s rows.
  deleteSourceCursors:
    "DELETE FROM cursors WHERE substr(id, 1, length(:source) + 1) = :source || '/' AND instr(substr(id, length(:source) + 2), '/') = 0",
  deleteSourceStatuses:
    "DELETE FROM dataset_statuses WHERE substr(id, 1, length(:source) + 1) = :source || '/' AND instr(substr(id, length(:source) + 2), '/') = 0",

  upsertStatus: `INSERT INTO dataset_statuses (id, state, last_success_at, last_error_at, last_error_code,
      last_error_message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_success_at = excluded.last_success_at,
      last_error_at = excluded.last_error_at, last_error_code = excluded.last_error_code,
      last_error_message = excluded.last_error_message, updated_at = excluded.updated_at`,
  selectStatuses: 'SELECT * FROM dataset_statuses ORDER BY id',

  upsertInventorySnapshot: `INSERT INTO inventory_snapshots (source, dataset, taken_at, entity_count) VALUES (?, ?, ?, ?)
    ON CONFLICT (source, dataset) DO UPDATE SET taken_at = excluded.taken_at, entity_count = excluded.entity_count`,
  selectInventorySnapshot: 'SELECT taken_at FROM inventory_snapshots WHERE source = ? AND dataset = ?',
  deleteInventoryEntities: 'DELETE FROM inventory_entities WHERE source = ? AND dataset = ?',
  insertInventoryEntity: `INSERT INTO inventory_entities (source, dataset, kind, entity_id, name, attributes)
    VALUES (?, ?, ?, ?, ?, ?)`,
  selectInventoryEntities:
    'SELECT kind, entity_id, name, attributes FROM inventory_entities WHERE source = ? AND dataset = ? ORDER BY kind, entity_id',
  selectInventoryByKind: `SELECT e.source, e.dataset, e.kind, e.entity_id, e.name, e.attributes, s.taken_at
    FROM inventory_entities e JOIN inventory_snapshots s ON s.source = e.source AND s.dataset = e.dataset
    WHERE e.kind = ? ORDER BY e.source, e.name, e.entity_id`,
  selectInventoryByKindAndSource: `SELECT e.source, e.dataset, e.kind, e.entity_id, e.name, e.attributes, s.taken_at
    FROM inventory_entities e JOIN inventory_snapshots s ON s.source = e.source AND s.dataset = e.dataset
    WHERE e.kind = ? AND e.source = ? ORDER BY e.name, e.entity_id`,
  deleteSourceInventory: 'DELETE FROM inventory_entities WHERE source = ?',
  deleteSourceInventorySnapshots: 'DELETE FROM inventory_snapshots WHERE source = ?',

  selectSetting: 'SELECT value FROM settings WHERE key = ?',
  upsertSetting:
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
} as const;

// Every column of a tier row, ip_key included, in the order `bindEvent` fills its parameters.
const STORED_COLUMNS = `seq, id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip,
  ip_key, country, app, app_uid, idp, ray_id`;
export const INSERT_EVENT_PARAMS = 17;

/** The tier columns a search returns (everything but the derived ip_key); the body is joined in by `seq`. */
export const EVENT_COLUMNS =
  'seq, id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip, country, app, app_uid, idp, ray_id';

/**
 * A body as reads take it, from `event_bodies AS body` and BODY_JOINS: `ocsf` its JSON with the shared head put
 * back in front (migration 0014), `raw`, and `enrichments` the shared enrichments text or NULL (migration 0005),
 * which joinOcsfBody appends.
 */
export const BODY_COLUMNS = "coalesce(head.text, '') || body.ocsf AS ocsf, body.raw, fragment.text AS enrichments";
export const BODY_JOINS = `LEFT JOIN event_fragments AS head ON head.id = body.head_id
    LEFT JOIN event_fragments AS fragment ON fragment.id = body.enrichments_id`;

// The two tiers every read covers; an event is in exactly one of them (migration 0002).
const EVENT_TABLES = ['events', 'events_recent'] as const;

/**
 * SQL of the two-tier write path. An append adds an event to `events_recent` only when its id is in neither
 * table: a lookup in `events` first (one range read per batch), then an insert that skips ids already recent, and only when
 * that inserted a row, its body. One `INSERT ... SELECT ... WHERE NOT EXISTS` statement doing both lookups
 * measured about twice as slow per event.
 */
export const EVENT_SQL = {
  eventIdMerged: 'SELECT 1 FROM events WHERE id = ?',
  // Ids are time-prefixed, so the ids of one batch span a short range of the id index: one range read finds
  // which of them are merged already. Parameters: the smallest and largest id, and a row limit.
  mergedIdsBetween: 'SELECT id FROM events WHERE id BETWEEN ? AND ? LIMIT ?',
  // Bodies are written with the seq of their row, so the largest body seq bounds every seq in use. Retention
  // may delete every body; the detection offsets still remember how far numbering went, and a seq at or below
  // one of them would never be evaluated.
  lastSeq: `SELECT max(
    (SELECT coalesce(max(seq), 0) FROM event_bodies),
    (SELECT coalesce(max(seq), 0) FROM detection_offsets)) AS n`,
  insertRecentEvent: `INSERT INTO events_recent (${STORED_COLUMNS})
    VALUES (${new Array<string>(INSERT_EVENT_PARAMS).fill('?').join(', ')}) ON CONFLICT (id) DO NOTHING`,
  insertBody: 'INSERT INTO event_bodies (seq, ocsf, raw, enrichments_id, head_id) VALUES (?, ?, ?, ?, ?)',
  // Heads and enrichment texts shared by many bodies (migrations 0005, 0014); a text another connection stored
  // first is reused. Each keeps the bound of its events' times that retention goes by (migration 0015), and a
  // bound is only ever raised. Parameters: the text, or the id, and the new bound.
  storeFragment: `INSERT INTO event_fragments (text, referenced_until) VALUES (?, ?)
    ON CONFLICT (text) DO UPDATE SET referenced_until = max(referenced_until, excluded.referenced_until)
    RETURNING id, referenced_until AS referencedUntil`,
  extendFragment: `UPDATE event_fragments SET referenced_until = max(referenced_until, ?) WHERE id = ?
    RETURNING referenced_until AS referencedUntil`,
  fragmentSweeps: 'SELECT sweeps FROM fragment_sweeps WHERE id = 1',
  deleteFragmentsBefore: 'DELETE FROM event_fragments WHERE referenced_until < ?',
  countFragmentSweep: 'UPDATE fragment_sweeps SET sweeps = sweeps + 1 WHERE id = 1',
  countRecentEvents: 'SELECT count(*) AS n FROM events_recent',
  // Ids are time-prefixed, so id order is (time, id) order and the unique id index of events_recent hands
  // the rows over already sorted: the (time, id) and id indexes of events then grow at their end, and no
  // sorter has to hold the whole tier. With ids of another shape the move stays correct, only less local.
  // The seq travels with the row, so its body stays where it is.
  moveRecentEvents: `INSERT INTO events (${STORED_COLUMNS}) SELECT ${STORED_COLUMNS} FROM events_recent ORDER BY id`,
  clearRecentEvents: 'DELETE FROM events_recent',
  deleteEventsChunk: 'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE time < ? LIMIT ?) RETURNING seq',
  deleteRecentEventsChunk:
    'DELETE FROM events_recent WHERE seq IN (SELECT seq FROM events_recent WHERE time < ? LIMIT ?) RETURNING seq',
  // Where a follow read may go: the largest seq in use and the first one after the follower's. Every event has a
  // body under its seq, in either tier, and seqs are handed out inside the write transaction, so every seq up to
  // the largest committed one is final. Parameter: the follower's seq.
  followBounds: `SELECT (SELECT max(seq) FROM event_bodies) AS last,
    (SELECT min(seq) FROM event_bodies WHERE seq > ?) AS first`,
  // Parameter: the deleted rows' seqs as one JSON array, so a whole chunk is one statement.
  deleteBodies: 'DELETE FROM event_bodies WHERE seq IN (SELECT value FROM json_each(?))',
} as const;

function whereSql(where: readonly string[]): string {
  return where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
}

/**
 * One page over both tiers. Each tier is ordered and limited on its own, so `events` keeps using its indexes
 * for the filter and the order, and only the two short heads are merged; the bodies are looked up for the
 * rows of the page alone. Parameters: `params` and the limit, twice (once per tier), then the limit for the
 * merge.
 */
export function searchEventsSql(where: readonly string[], direction: 'ASC' | 'DESC'): string {
  const order = `ORDER BY time ${direction}, id ${direction}`;
  const tiers = EVENT_TABLES.map(
    (table) => `SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM ${table}${whereSql(where)} ${order} LIMIT ?)`,
  );
  return `SELECT page.*, ${BODY_COLUMNS}
    FROM (${tiers.join(' UNION ALL ')} ${order} LIMIT ?) AS page
    JOIN event_bodies AS body ON body.seq = page.seq
    ${BODY_JOINS}
    ORDER BY page.time ${direction}, page.id ${direction}`;
}

/**
 * One follow read over both tiers, in seq order; `where` holds the seq stretch and the filter. Parameters:
 * `params` and the limit, twice (once per tier), then the limit for the merge.
 */
export function followEventsSql(where: readonly string[]): string {
  const tiers = EVENT_TABLES.map(
    // NOT INDEXED keeps the seq (rowid) range, which bounds the scan: an index on a filtered field (a user's
    // events, say) would read every match the store holds before the seq condition is checked.
    (table) =>
      `SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM ${table} NOT INDEXED${whereSql(where)} ORDER BY seq LIMIT ?)`,
  );
  return `SELECT page.*, ${BODY_COLUMNS}
    FROM (${tiers.join(' UNION ALL ')} ORDER BY seq LIMIT ?) AS page
    JOIN event_bodies AS body ON body.seq = page.seq
    ${BODY_JOINS}
    ORDER BY page.seq`;
}

/** Parameters: `params` twice. */
export function countEventsSql(where: readonly string[]): string {
  const tiers = EVENT_TABLES.map((table) => `(SELECT count(*) FROM ${table}${whereSql(where)})`);
  return `SELECT ${tiers.join(' + ')} AS n`;
}

/**
 * Buckets over both tiers. The compound column keeps the collation of `events`, so NOCASE fields group
 * without regard to case as before. Parameters: `params` twice, then the limit.
 */
export function aggregateEventsSql(column: string, where: readonly string[]): string {
  const tiers = EVENT_TABLES.map((table) => `SELECT ${column} AS key FROM ${table}${whereSql(where)}`);
  return `SELECT key, count(*) AS n FROM (${tiers.join(' UNION ALL ')}) GROUP BY key ORDER BY n DESC, key ASC LIMIT ?`;
}

export interface CompiledSql {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

/** The SQL a search field is read through: its column, or another table's equivalent (a summary's `key`). */
export type ColumnOf = (field: SearchField) => string;

const eventColumn: ColumnOf = (field) => SEARCH_COLUMNS[field].column;

/**
 * Compiles a filter to a WHERE fragment. Every leaf is guarded with `IS NOT NULL` so it is always true or
 * false, never NULL: that keeps `NOT user:x` true for events that have no user, as an analyst expects.
 * `columns` reads the fields from elsewhere than the events table; it must compare as their columns do.
 * A filter too large for SQLite to run is refused with QUERY_SYNTAX.
 */
export function compileFilter(filter: SearchFilter, columns: ColumnOf = eventColumn): CompiledSql {
  const params: (string | number)[] = [];
  const sql = compileNode(filter, params, columns);
  checkFilterSize(sql, params.length);
  return { sql, params };
}

function compileNode(filter: SearchFilter, params: (string | number)[], columns: ColumnOf): string {
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
      params.push(start, end);
      return '(ip_key IS NOT NULL AND ip_key BETWEEN ? AND ?)';
    }
    case 'range':
      return compileRange(filter, params, columns);
  }
}

// As an OR of compileTerm over `values`, for exact values.
function compileValueList(
  field: SearchField,
  values: readonly string[],
  params: (string | number)[],
  columns: ColumnOf,
): string {
  const info = SEARCH_COLUMNS[field];
  const column = columns(field);
  if (info.kind === 'integer') {
    const numbers = values.map((value) => toInteger(field, value)).filter((number) => number !== null);
    if (numbers.length === 0) return '0';
    params.push(JSON.stringify(numbers));
    return `(${column} IN (SELECT value FROM json_each(?)))`;
  }
  const keys = info.kind === 'ip' ? values.map((value) => ipKey(value)).filter((key) => key !== null) : [];
  const texts = info.kind === 'ip' ? values.filter((value) => ipKey(value) === null) : values;
  const parts: string[] = [];
  if (keys.length > 0) {
    params.push(JSON.stringify(keys));
    parts.push('(ip_key IS NOT NULL AND ip_key IN (SELECT value FROM json_each(?)))');
  }
  if (texts.length > 0) {
    params.push(JSON.stringify(texts.map((text) => storedForm(field, text))));
    parts.push(`(${column} IS NOT NULL AND ${column} IN (SELECT value FROM json_each(?)))`);
  }
  return parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(' OR ')})`;
}

function compileTerm(
  field: SearchField,
  value: string,
  wildcard: boolean,
  params: (string | number)[],
  columns: ColumnOf,
): string {
  const info = SEARCH_COLUMNS[field];
  const column = columns(field);
  if (info.kind === 'integer' && !wildcard) {
    const number = toInteger(field, value);
    // A bare word that is not a number simply cannot match an integer column.
    if (number === null) return '0';
    params.push(number);
    return `(${column} = ?)`;
  }
  if (info.kind === 'ip' && !wildcard) {
    const key = ipKey(value);
    if (key !== null) {
      params.push(key);
      return '(ip_key IS NOT NULL AND ip_key = ?)';
    }
  }
  // NOCASE columns and LIKE fold ASCII letters themselves, exactly as foldAscii does.
  const typed = storedForm(field, value);
  if (!wildcard) {
    params.push(typed);
    return `(${column} IS NOT NULL AND ${column} = ?)`;
  }
  if (info.nocase) {
    params.push(toLikePattern(typed));
    return `(${column} IS NOT NULL AND ${column} LIKE ? ESCAPE '\\')`;
  }
  params.push(toGlobPattern(typed));
  return `(${column} IS NOT NULL AND CAST(${column} AS TEXT) GLOB ?)`;
}

function compileRange(
  filter: Extract<SearchFilter, { kind: 'range' }>,
  params: (string | number)[],
  columns: ColumnOf,
): string {
  const info = SEARCH_COLUMNS[filter.field];
  const column = info.kind === 'ip' ? 'ip_key' : columns(filter.field);
  const bound = (value: string | number): string | number => {
    if (info.kind === 'integer') {
      const number = typeof value === 'number' ? value : toInteger(filter.field, value);
      if (number === null) throw invalidQueryValue(`"${String(value)}" is not a valid bound for ${filter.field}.`);
      return number;
    }
    if (info.kind === 'ip') {
      const key = ipKey(String(value));
      if (key === null) throw invalidQueryValue(`"${String(value)}" is not an IP address.`);
      return key;
    }
    return storedForm(filter.field, String(value));
  };
  const parts = [`${column} IS NOT NULL`];
  if (filter.min !== null) {
    params.push(bound(filter.min));
    parts.push(`${column} ${filter.minInclusive ? '>=' : '>'} ?`);
  }
  if (filter.max !== null) {
    params.push(bound(filter.max));
    parts.push(`${column} ${filter.maxInclusive ? '<=' : '<'} ?`);
  }
  return `(${parts.join(' AND ')})`;
}

// GLOB has no escape character; a literal metacharacter is written as a one-character class.
function toGlobPattern(value: string): string {
  return value.replace(/[?[\]]/g, (char) => `[${char}]`);
}
