import Database from 'better-sqlite3';
import { StoreError } from '../../core/errors.js';
import type { EventRow } from '../rows/event-rows.js';
import { rowToSource, type SourceRow } from '../rows/source-rows.js';
import type { StoredSource } from '../store.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { joinOcsfBody } from './ocsf-body.js';
import { BODY_COLUMNS, BODY_JOINS } from './queries.js';
import { sqliteCode } from './sqlite-code.js';

/** A value as better-sqlite3 reads it from a zerotrail table (no BLOBs are stored). */
export type SqliteValue = string | number | null;

/** One event with every column the PostgreSQL store keeps, the OCSF body joined back whole. */
export interface ExportedEvent {
  readonly seq: number;
  readonly id: string;
  readonly time: number;
  readonly source: string;
  readonly accountId: string;
  readonly dataset: string;
  readonly classUid: number;
  readonly activity: string;
  readonly outcome: string;
  readonly userName: string | null;
  readonly srcIp: string | null;
  readonly ipKey: string | null;
  readonly country: string | null;
  readonly app: string | null;
  readonly appUid: string | null;
  readonly idp: string | null;
  readonly rayId: string | null;
  readonly ocsf: string;
  readonly raw: string;
}

export interface ExportedRow {
  /** The row's key, in the order of the key columns: where the next chunk starts after. */
  readonly key: readonly SqliteValue[];
  readonly values: readonly SqliteValue[];
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const FLAT_COLUMNS = `seq, id, time, source, account_id, dataset, class_uid, activity, outcome, user_name, src_ip,
  ip_key, country, app, app_uid, idp, ray_id`;

const SQL = {
  tables: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  // SQLite's AUTOINCREMENT counters; the table exists once a table with AUTOINCREMENT does.
  identityCounters: 'SELECT name, seq FROM sqlite_sequence',
  versions: 'SELECT version, applied_at FROM schema_migrations ORDER BY version',
  quickCheck: 'PRAGMA quick_check(1)',
  setting: 'SELECT value FROM settings WHERE key = ?',
  sources: 'SELECT * FROM sources ORDER BY name',
  liveNodes: 'SELECT node_id, expires_at FROM collector_nodes WHERE expires_at > ? ORDER BY node_id',
  heldLeases: 'SELECT id, node_id, expires_at FROM leases WHERE node_id IS NOT NULL AND expires_at > ? ORDER BY id',
  countEvents: 'SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM events_recent) AS n',
  // Both tiers share one seq space; each is read along its primary key and only the two heads are merged.
  events: `SELECT page.*, ${BODY_COLUMNS} FROM (
      SELECT * FROM (SELECT ${FLAT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?)
      UNION ALL SELECT * FROM (SELECT ${FLAT_COLUMNS} FROM events_recent WHERE seq > ? ORDER BY seq LIMIT ?)
      ORDER BY seq LIMIT ?) AS page
    JOIN event_bodies AS body ON body.seq = page.seq
    ${BODY_JOINS}
    ORDER BY page.seq`,
} as const;

interface EventExportRow extends EventRow {
  readonly seq: number;
  readonly ip_key: string | null;
  readonly enrichments: string | null;
}

/**
 * Reads a zerotrail SQLite file for copying elsewhere. The connection is read-only, so nothing of the file can
 * change through it: no migration, no merge of the recent tier, no checkpoint into the database file.
 */
export class SqliteExport {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #statements = new Map<string, Database.Statement<unknown[], unknown>>();

  private constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /** The schema version this code writes; the copy reads files at exactly this version. */
  static readonly schemaVersion = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
  /** Every schema version this code applies; a file the copy reads has applied them all. */
  static readonly schemaVersions: readonly number[] = MIGRATIONS.map((migration) => migration.version);

  /**
   * Opens an existing file read-only. A file that is not a readable SQLite database fails with STORE_CORRUPT;
   * with `check`, so does one whose pages fail SQLite's quick check.
   */
  static open(path: string, options: { readonly check: boolean }): SqliteExport {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The database ${path} could not be opened: ${error instanceof Error ? error.message : String(error)}.`,
        hint: 'Check that the file exists and that this user may read it and its directory.',
        details: { path },
        cause: error,
      });
    }
    const exported = new SqliteExport(db, path);
    try {
      exported.#run(() => db.prepare(SQL.tables).all());
      if (options.check) {
        const result = exported.#run(() => db.prepare(SQL.quickCheck).pluck().all() as string[]);
        if (result.length !== 1 || result[0] !== 'ok') throw exported.#corrupt(result.slice(0, 3).join('; '));
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return exported;
  }

  get path(): string {
    return this.#path;
  }

  tableNames(): readonly string[] {
    return this.#run(() => this.#statement(SQL.tables).pluck().all() as string[]);
  }

  /** Applied schema versions with when each was applied; the first one dates the installation. */
  schemaVersions(): readonly { readonly version: number; readonly appliedAt: number }[] {
    const rows = this.#run(() => this.#statement(SQL.versions).all() as { version: number; applied_at: number }[]);
    return rows.map((row) => ({ version: row.version, appliedAt: row.applied_at }));
  }

  setting(key: string): string | undefined {
    return this.#run(() => (this.#statement(SQL.setting).get(key) as { value: string } | undefined)?.value);
  }

  sources(): readonly StoredSource[] {
    return this.#run(() => (this.#statement(SQL.sources).all() as SourceRow[]).map(rowToSource));
  }

  /** Collectors whose heartbeat has not run out at `nowMs`, and the dataset leases still held then. */
  activeCollectors(nowMs: number): {
    readonly nodes: readonly { readonly nodeId: string; readonly expiresAt: number }[];
    readonly leases: readonly { readonly id: string; readonly nodeId: string; readonly expiresAt: number }[];
  } {
    return this.#run(() => ({
      nodes: (this.#statement(SQL.liveNodes).all(nowMs) as { node_id: string; expires_at: number }[]).map((row) => ({
        nodeId: row.node_id,
        expiresAt: row.expires_at,
      })),
      leases: (this.#statement(SQL.heldLeases).all(nowMs) as { id: string; node_id: string; expires_at: number }[]).map(
        (row) => ({ id: row.id, nodeId: row.node_id, expiresAt: row.expires_at }),
      ),
    }));
  }

  /**
   * The largest id each AUTOINCREMENT table ever gave out, by table: a revoked key's or a removed user's id is
   * gone from its table but must not be given out again after the copy.
   */
  identityCounters(): ReadonlyMap<string, number> {
    if (!this.tableNames().includes('sqlite_sequence')) return new Map();
    return this.#run(
      () =>
        new Map(
          (this.#statement(SQL.identityCounters).all() as { name: string; seq: number }[]).map((row) => [
            row.name,
            row.seq,
          ]),
        ),
    );
  }

  countRows(table: string): number {
    return this.#run(
      () => (this.#statement(`SELECT count(*) AS n FROM ${identifier(table)}`).get() as { n: number }).n,
    );
  }

  countEvents(): number {
    return this.#run(() => (this.#statement(SQL.countEvents).get() as { n: number }).n);
  }

  /**
   * Up to `limit` rows of `table` after the row whose key is `after` (from the start when null), in key order.
   * Table and column names come from the fixed list of copied tables, never from input; values are parameters.
   */
  readRows(
    table: string,
    key: readonly string[],
    columns: readonly string[],
    after: readonly SqliteValue[] | null,
    limit: number,
  ): readonly ExportedRow[] {
    const keyList = key.map(identifier).join(', ');
    const where = after === null ? '' : ` WHERE (${keyList}) > (${key.map(() => '?').join(', ')})`;
    const sql = `SELECT ${keyList}, ${columns.map(identifier).join(', ')} FROM ${identifier(table)}${where}
      ORDER BY ${keyList} LIMIT ?`;
    const rows = this.#run(() =>
      this.#statement(sql)
        .raw()
        .all(...(after ?? []), limit),
    ) as SqliteValue[][];
    return rows.map((row) => ({ key: row.slice(0, key.length), values: row.slice(key.length) }));
  }

  /** Up to `limit` events stored after position `afterSeq`, in seq order, with their whole bodies. */
  readEvents(afterSeq: number, limit: number): readonly ExportedEvent[] {
    const rows = this.#run(
      () => this.#statement(SQL.events).all(afterSeq, limit, afterSeq, limit, limit) as EventExportRow[],
    );
    return rows.map((row) => ({
      seq: row.seq,
      id: row.id,
      time: row.time,
      source: row.source,
      accountId: row.account_id,
      dataset: row.dataset,
      classUid: row.class_uid,
      activity: row.activity,
      outcome: row.outcome,
      userName: row.user_name,
      srcIp: row.src_ip,
      ipKey: row.ip_key,
      country: row.country,
      app: row.app,
      appUid: row.app_uid,
      idp: row.idp,
      rayId: row.ray_id,
      ocsf: joinOcsfBody(row.ocsf, row.enrichments),
      raw: row.raw,
    }));
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.open) this.#db.close();
  }

  #statement(sql: string): Database.Statement<unknown[], unknown> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      const code = sqliteCode(error);
      if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT') === true) throw this.#corrupt(code, error);
      if (code?.startsWith('SQLITE_BUSY') === true) {
        throw new StoreError('STORE_BUSY', { message: `${this.#path} is busy; try again.`, cause: error });
      }
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `Reading ${this.#path} failed${code === undefined ? '' : ` (${code})`}: ${error instanceof Error ? error.message : String(error)}.`,
        details: { path: this.#path },
        cause: error,
      });
    }
  }

  #corrupt(reason: string, cause?: unknown): StoreError {
    return new StoreError('STORE_CORRUPT', {
      message: `${this.#path} is not a readable SQLite database or is damaged (${reason}); nothing was copied from it, and it was left untouched.`,
      hint: 'Restore it from a backup, then run the migration again.',
      details: { path: this.#path },
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

// Names are spliced into SQL only from the fixed table list; this keeps any other text from getting there.
function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL name: ${name}`);
  return name;
}
