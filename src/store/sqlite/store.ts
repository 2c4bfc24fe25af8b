/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 is synchronous; the methods stay async so that
   every failure reaches the caller as a rejected promise, as the Store contract promises. */
import { accessSync, chmodSync, closeSync, constants as fsConstants, fchmodSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../../core/clock.js';
import { AppError, StoreError } from '../../core/errors.js';
import type { NormalizedEvent, SharedText } from '../../core/event.js';
import type { InventoryKind } from '../../core/inventory.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { SourceCursor } from '../../sources/source.js';
import { ipKey } from '../ip-key.js';
import { isFenceRefusal, type HeldLease, type LeaseFence, type LeaseStore } from '../lease-store.js';
import { followPage, followUpTo, type FollowBounds } from '../follow-window.js';
import { decodeFollowToken, decodePageToken, encodeFollowToken, encodePageToken } from '../page-token.js';
import { rowToEvent, rowToLazyEvent, type EventRow } from '../rows/event-rows.js';
import { rowToEntity, type InventoryRow } from '../rows/inventory-rows.js';
import { rowToSource, rowToStatus, type SourceRow, type StatusRow } from '../rows/source-rows.js';
import { columnFor } from '../search-columns.js';
import type { PageRequest, SearchQuery } from '../search-query.js';
import type {
  AggregateBucket,
  AggregateSpec,
  AppendResult,
  CursorUpdate,
  DatasetStatus,
  FollowPage,
  HistogramBucket,
  HistogramSpec,
  InventorySnapshot,
  SearchPage,
  Store,
  StoredInventoryEntity,
  StoredSource,
} from '../store.js';
import { SqliteDetectionStore } from './detection-store.js';
import type { SequencedEvent } from '../detection-store.js';
import { DASHBOARD_CLASS_UID, type DashboardSpec, type DashboardSummary } from '../dashboard-summary.js';
import { HourlySummary, type SummaryEventRow } from './hourly-summary.js';
import { checkFence, SqliteLeaseStore } from './lease-store.js';
import { stepSqliteRateBucket } from './rate-buckets.js';
import { holdTokens, takeToken, type BucketStep } from '../rate-bucket.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { joinOcsfBody, ocsfBody, type OcsfBody } from './ocsf-body.js';
import {
  aggregateEventsSql,
  compileFilter,
  countEventsSql,
  EVENT_SQL,
  followEventsSql,
  INSERT_EVENT_PARAMS,
  searchEventsSql,
  SQL,
} from './queries.js';
import { sqliteHistogram } from './summary-histogram.js';
import { sqliteCode } from './sqlite-code.js';
import { writeTransaction } from './write-transaction.js';

export interface SqliteStoreOptions {
  readonly path: string;
  readonly logger?: Logger;
  /** How long a statement waits for another connection's write lock before failing with STORE_BUSY. */
  readonly busyTimeoutMs?: number;
  readonly clock?: Clock;
  /** Rows per retention delete; small chunks keep each write lock short. */
  readonly deleteChunkSize?: number;
  /**
   * Appended events wait in a small table until it holds more than this many, then move into the indexed
   * table in one transaction. Larger is faster to append and slower to search among the newest events.
   */
  readonly mergeThreshold?: number;
  /**
   * Whether this connection keeps what it appended for a detector reading through it. False when the detector
   * runs on a connection of its own (another thread), which would never read them.
   */
  readonly keepAppended?: boolean;
  /** Page cache of this connection, in KiB. */
  readonly cacheKib?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const OWNER_ONLY = 0o600;
const SIDE_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const;
const DEFAULT_DELETE_CHUNK = 5_000;
const DEFAULT_MERGE_THRESHOLD = 50_000;
// 16 MiB for the connection that appends. A merge spills to the WAL with a cache this small, but the collector
// must stay well under 250 MB resident: measured at 1M events, 256 MiB gave 16.2k events/s at 505 MB peak RSS,
// 32 MiB about 16.9k at 280 MB, and 16 MiB 13.8k at 208 MB.
const DEFAULT_CACHE_KIB = 16_384;
const MAX_PAGE_LIMIT = 10_000;
// A batch's id range is read whole while it holds at most this many stored rows per event of the batch.
const MERGED_RANGE_FACTOR = 4;
// Events taken from an append's iterable before they are written. The collector's page of 1,000 events, built
// whole, outlived its 2 MB young generation and was collected again from the old one; built and written a few at
// a time, each event's objects die young. bench/ingest at 300,000 events: 105 CPU s per million with 25, 109 with
// 100, 116 with 400 and 115-117 with the whole page.
const WRITE_CHUNK = 25;
// A fragment's bound is raised this far past the event that needed it, so the events that follow in time seldom
// raise it again; retention then keeps an unused fragment up to a day longer.
const FRAGMENT_BOUND_MARGIN_MS = 86_400_000;

type Statement = Database.Statement<unknown[], unknown>;

/** A stored fragment and the bound of the times of the events that may refer to it, as far as this connection knows. */
interface KnownFragment {
  readonly id: number;
  readonly referencedUntil: number;
}

// A row of either tier: its place in the shared sequence, and the enrichments kept apart from the OCSF body.
interface TieredEventRow extends EventRow {
  readonly seq: number;
  readonly enrichments: string | null;
}

/** The store on one SQLite file (better-sqlite3, WAL). One instance owns one connection. */
export class SqliteStore extends SqliteDetectionStore implements Store {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #deleteChunkSize: number;
  readonly #mergeThreshold: number;
  readonly #statements = new Map<string, Statement>();
  // Fragments known to be committed, and those the open write transaction stored or raised the bound of (kept
  // only if it commits). Weakly held: a text nothing refers to any more is looked up again if it comes back.
  // Forgotten whenever retention deleted fragments (migration 0015), counted by `#fragmentSweeps`.
  #fragments = new WeakMap<SharedText, KnownFragment>();
  readonly #newFragments = new Map<SharedText, KnownFragment>();
  #fragmentSweeps: number | undefined;
  // Rows in events_recent as this connection last knew them; undefined until the first append asks.
  #recentRows: number | undefined;
  // What the write transaction in progress appended, as stored: for the detector and the dashboard summary.
  #appended: SequencedEvent[] = [];
  #appendedSummary: SummaryEventRow[] = [];
  readonly #keepAppended: boolean;
  readonly #summary = new HourlySummary((sql) => this.#statement(sql));
  // Whether merges keep their statement journal in a temporary file; false once one could not be created.
  #mergeJournalOnDisk = true;
  readonly #leases: LeaseStore;
  #closed = false;

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    super(db, options.clock ?? systemClock);
    this.#db = db;
    this.#path = options.path;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'store', id: 'sqlite' });
    this.#clock = options.clock ?? systemClock;
    this.#deleteChunkSize = options.deleteChunkSize ?? DEFAULT_DELETE_CHUNK;
    this.#mergeThreshold = options.mergeThreshold ?? DEFAULT_MERGE_THRESHOLD;
    this.#keepAppended = options.keepAppended ?? true;
    this.#leases = new SqliteLeaseStore(() => this.#open(), this.#clock);
  }

  heartbeatNode(nodeId: string, ttlMs: number): Promise<void> {
    return this.#leases.heartbeatNode(nodeId, ttlMs);
  }

  liveNodes(): Promise<readonly string[]> {
    return this.#leases.liveNodes();
  }

  claimLeases(nodeId: string, ids: readonly string[], max: number, ttlMs: number): Promise<readonly HeldLease[]> {
    return this.#leases.claimLeases(nodeId, ids, max, ttlMs);
  }

  renewLeases(nodeId: string, ids: readonly string[], ttlMs: number): Promise<readonly HeldLease[]> {
    return this.#leases.renewLeases(nodeId, ids, ttlMs);
  }

  releaseLeases(nodeId: string, ids?: readonly string[]): Promise<void> {
    return this.#leases.releaseLeases(nodeId, ids);
  }

  leaveCluster(nodeId: string): Promise<void> {
    return this.#leases.leaveCluster(nodeId);
  }

  async takeRateToken(key: string, capacity: number, windowMs: number): Promise<number> {
    return this.#stepRateBucket(key, takeToken(capacity, windowMs), 'take from the shared rate budget');
  }

  async holdRateTokens(key: string, holdMs: number, capacity: number, windowMs: number): Promise<void> {
    this.#stepRateBucket(key, holdTokens(holdMs, capacity, windowMs), 'hold the shared rate budget');
  }

  #stepRateBucket<T>(key: string, step: BucketStep<T>, action: string): T {
    try {
      return stepSqliteRateBucket(
        this.#open(),
        (sql) => this.#statement(sql),
        () => this.#clock.now(),
        key,
        step,
      );
    } catch (error) {
      throw writeFailed(action, error);
    }
  }

  /**
   * Opens (or creates) the database file. A file that is not a SQLite database fails with STORE_CORRUPT and
   * is left exactly as it was; a path the process cannot use fails with STORE_OPEN_FAILED.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const { path } = options;
    checkPathUsable(path);
    if (!createOwnerOnly(path)) refuseEmptyFile(path);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    } catch (error) {
      throw openFailed(path, error);
    }
    try {
      // Read the header before any pragma that writes, so a foreign file is never touched.
      db.prepare(SQL.probeSchema).get();
      refuseForeignSchema(db, path);
      // The page size must be set before WAL mode, which fixes it for a new file.
      db.pragma(SQL.pragmaPageSize);
      db.pragma(SQL.pragmaJournalWal);
      db.pragma(SQL.pragmaSynchronousNormal);
      db.pragma(SQL.pragmaForeignKeys);
      // Negative: a size in KiB rather than in pages.
      db.pragma(`cache_size = -${Math.max(1, Math.trunc(options.cacheKib ?? DEFAULT_CACHE_KIB))}`);
      db.pragma(SQL.pragmaTempStoreMemory);
      db.pragma(SQL.pragmaWalAutocheckpoint);
      db.pragma(SQL.pragmaJournalSizeLimit);
    } catch (error) {
      db.close();
      if (error instanceof StoreError) throw error;
      const code = sqliteCode(error);
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new StoreError('STORE_CORRUPT', {
          message: `${path} is not a readable SQLite database (it may be corrupt or another kind of file). It was left untouched.`,
          hint: 'Restore it from a backup, or point zerotrail at a different database file.',
          details: { path },
          cause: error,
        });
      }
      throw openFailed(path, error);
    }
    // Only once the file proved to be a database: a foreign file is left exactly as it was.
    tightenExisting(path, (options.logger ?? silentLogger()).child({ component: 'store', id: 'sqlite' }));
    return new SqliteStore(db, options);
  }

  async migrate(): Promise<void> {
    const db = this.#open();
    try {
      db.exec(SQL.createMigrationsTable);
    } catch (error) {
      throw migrationFailed(`Could not prepare the migrations table in ${this.#path}.`, error);
    }
    const applied = new Set((db.prepare(SQL.appliedVersions).all() as { version: number }[]).map((row) => row.version));
    const latest = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
    const newest = Math.max(0, ...applied);
    if (newest > latest) {
      throw new StoreError('STORE_MIGRATION_FAILED', {
        message: `${this.#path} is at schema version ${newest}, newer than this zerotrail understands (${latest}).`,
        hint: 'Upgrade zerotrail to the version that wrote this database; migrations only go forward.',
        details: { path: this.#path, databaseVersion: newest, codeVersion: latest },
      });
    }
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      try {
        writeTransaction(db, () => {
          db.exec(migration.sql);
          db.prepare(SQL.recordMigration).run(migration.version, migration.name, this.#clock.now());
        });
      } catch (error) {
        throw migrationFailed(
          `Migration ${migration.version} (${migration.name}) failed; nothing of it was applied.`,
          error,
        );
      }
      this.#logger.info({ version: migration.version, name: migration.name }, 'Migration applied');
    }
  }

  async append(events: Iterable<NormalizedEvent>, cursor: CursorUpdate): Promise<AppendResult> {
    const upsertCursor = this.#statement(SQL.upsertCursor);
    const now = this.#clock.now();
    const cursorJson = JSON.stringify(cursor.value);
    let given = 0;
    let oldestInsertedMs: number | null = null;
    const write = (): number => {
      checkFence(this.#open(), cursor.id, cursor.fence);
      const written = this.#insertEvents(events);
      given = written.taken;
      oldestInsertedMs = written.oldestInsertedMs;
      upsertCursor.run(cursor.id, cursorJson, now);
      return written.inserted;
    };
    const inserted = this.#commitEvents(write, (error) =>
      isFenceRefusal(error) ? error : writeFailed('append events', error),
    );
    this.#logger.debug({ inserted, duplicates: given - inserted, cursorId: cursor.id }, 'Batch stored');
    return { inserted, duplicates: given - inserted, oldestInsertedMs };
  }

  /**
   * Commits a write transaction that appends events, keeping count of the recent tier and merging it into the
   * indexed table once it is full. `failed` turns a failure of the transaction into the caller's StoreError.
   */
  #commitEvents(write: () => number, failed: (error: unknown) => StoreError): number {
    let inserted: number;
    try {
      this.#recentRows ??= (this.#statement(EVENT_SQL.countRecentEvents).get() as { n: number }).n;
      // The dashboard's summary takes the batch's new rows in the same transaction.
      const summarised = (): number => {
        const count = write();
        if (this.#appendedSummary.length > 0) this.#summary.addAppended(this.#appendedSummary);
        return count;
      };
      inserted = this.#writeEvents(summarised);
      this.rememberAppended(this.#appended);
    } catch (error) {
      // What the events' iterable threw is the caller's failure, not the store's; the transaction rolled back.
      if (error instanceof EventsIterationFailed) throw error.cause;
      throw failed(error);
    } finally {
      // Empty for the next write whether this one committed or not.
      this.#appended = [];
      this.#appendedSummary = [];
    }
    this.#recentRows += inserted;
    if (this.#recentRows > this.#mergeThreshold) this.#mergeRecent();
    return inserted;
  }

  // Runs inside the caller's write transaction: how many events went in (the rest were stored before), of how
  // many taken from `events`.
  #insertEvents(events: Iterable<NormalizedEvent>): {
    inserted: number;
    taken: number;
    oldestInsertedMs: number | null;
  } {
    let inserted = 0;
    let taken = 0;
    let oldestInsertedMs = Infinity;
    // One prepared single-row insert per event measured faster than multi-row VALUES statements.
    const merged = this.#statement(EVENT_SQL.eventIdMerged);
    const insert = this.#statement(EVENT_SQL.insertRecentEvent);
    const insertBody = this.#statement(EVENT_SQL.insertBody);
    // Read inside the write transaction, so another connection's appends cannot take the same seqs.
    let seq = (this.#statement(EVENT_SQL.lastSeq).get() as { n: number }).n;
    const params = new Array<string | number | null>(INSERT_EVENT_PARAMS);
    const chunk: NormalizedEvent[] = [];
    const writeChunk = (): void => {
      const mergedIds = this.#mergedIds(chunk);
      for (const event of chunk) {
        if (mergedIds === undefined ? merged.get(event.id) !== undefined : mergedIds.has(event.id)) continue;
        bindEvent(params, seq + 1, event);
        // The body follows only a row that went in, so a duplicate costs no JSON and leaves no body behind.
        if (insert.run(params).changes === 0) continue;
        seq += 1;
        const body = ocsfBody(event.ocsf, event.ocsfHead);
        const headId = body.head === null ? null : this.#fragmentId(body.head, event.time);
        const enrichmentsId = body.enrichments === null ? null : this.#fragmentId(body.enrichments, event.time);
        // JSON.stringify(undefined) is undefined; store the JSON null instead of failing the NOT NULL column.
        const rawJson = JSON.stringify(event.raw) ?? 'null';
        insertBody.run(seq, body.text, rawJson, enrichmentsId, headId);
        inserted += 1;
        if (event.time < oldestInsertedMs) oldestInsertedMs = event.time;
        if (this.#keepAppended) this.#appended.push({ seq, event: storedEventOf(params, body, rawJson) });
        if (event.classUid === DASHBOARD_CLASS_UID) this.#appendedSummary.push(summaryRowOf(params));
      }
      chunk.length = 0;
    };
    // By hand rather than for-of, to tell the iterable's failures from the store's.
    const iterator = events[Symbol.iterator]();
    try {
      for (;;) {
        let next: IteratorResult<NormalizedEvent>;
        try {
          next = iterator.next();
        } catch (error) {
          throw new EventsIterationFailed(error);
        }
        if (next.done === true) break;
        taken += 1;
        chunk.push(next.value);
        if (chunk.length === WRITE_CHUNK) writeChunk();
      }
    } catch (error) {
      // A write that failed part-way lets the iterable release what it holds, as for-of would.
      if (!(error instanceof EventsIterationFailed)) iterator.return?.();
      throw error;
    }
    writeChunk();
    return { inserted, taken, oldestInsertedMs: inserted === 0 ? null : oldestInsertedMs };
  }

  /**
   * The ids among `events` that the indexed table holds already, read in one range scan between the batch's
   * smallest and largest id instead of one lookup per event. Undefined when that range holds many more rows
   * than the batch (ids that are not time-ordered, or other sources' events of the same period): then each
   * event is looked up on its own.
   */
  #mergedIds(events: readonly NormalizedEvent[]): ReadonlySet<string> | undefined {
    const first = events[0];
    if (first === undefined) return new Set();
    let low = first.id;
    let high = first.id;
    for (const event of events) {
      if (event.id < low) low = event.id;
      else if (event.id > high) high = event.id;
    }
    const limit = events.length * MERGED_RANGE_FACTOR;
    const ids = this.#statement(EVENT_SQL.mergedIdsBetween)
      .pluck()
      .all(low, high, limit + 1) as string[];
    return ids.length > limit ? undefined : new Set(ids);
  }

  // Runs an IMMEDIATE write transaction that may add fragments; what it learnt of them is kept only once committed.
  #writeEvents(write: () => number): number {
    this.#newFragments.clear();
    try {
      const inserted = writeTransaction(this.#open(), () => {
        // Read inside the transaction: no sweep can come between this check and the bodies that use the ids.
        const sweeps = this.#statement(EVENT_SQL.fragmentSweeps).pluck().get() as number;
        if (sweeps !== this.#fragmentSweeps) {
          this.#fragments = new WeakMap();
          this.#fragmentSweeps = sweeps;
        }
        return write();
      });
      for (const [text, known] of this.#newFragments) this.#fragments.set(text, known);
      return inserted;
    } finally {
      this.#newFragments.clear();
    }
  }

  /**
   * Inside the write transaction: the id of the stored text for a body of an event at `timeMs`, stored now if no
   * body used it before, its bound raised first if the event falls past it, so retention cannot take it while
   * the event is kept.
   */
  #fragmentId(fragment: SharedText, timeMs: number): number {
    const known = this.#newFragments.get(fragment) ?? this.#fragments.get(fragment);
    if (known !== undefined && timeMs <= known.referencedUntil) return known.id;
    const until = timeMs + FRAGMENT_BOUND_MARGIN_MS;
    const extended =
      known === undefined
        ? undefined
        : (this.#statement(EVENT_SQL.extendFragment).get(until, known.id) as { referencedUntil: number } | undefined);
    const stored =
      known !== undefined && extended !== undefined
        ? { id: known.id, referencedUntil: extended.referencedUntil }
        : (this.#statement(EVENT_SQL.storeFragment).get(fragment.text, until) as KnownFragment);
    this.#newFragments.set(fragment, stored);
    return stored.id;
  }

  async saveInventorySnapshot(
    snapshot: InventorySnapshot,
    changes: readonly NormalizedEvent[],
    fence?: LeaseFence,
  ): Promise<AppendResult> {
    let oldestInsertedMs: number | null = null;
    const write = (): number => {
      checkFence(this.#open(), `${snapshot.sourceName}/${snapshot.dataset}`, fence);
      const written = this.#insertEvents(changes);
      oldestInsertedMs = written.oldestInsertedMs;
      this.#statement(SQL.deleteInventoryEntities).run(snapshot.sourceName, snapshot.dataset);
      const insertEntity = this.#statement(SQL.insertInventoryEntity);
      for (const entity of snapshot.entities) {
        insertEntity.run(
          snapshot.sourceName,
          snapshot.dataset,
          entity.kind,
          wellFormed(entity.id),
          wellFormed(entity.name),
          JSON.stringify(entity.attributes),
        );
      }
      this.#statement(SQL.upsertInventorySnapshot).run(
        snapshot.sourceName,
        snapshot.dataset,
        snapshot.takenAt,
        snapshot.entities.length,
      );
      return written.inserted;
    };
    const inserted = this.#commitEvents(write, (error) =>
      sqliteCode(error) === 'SQLITE_CONSTRAINT_PRIMARYKEY'
        ? new StoreError('STORE_WRITE_FAILED', {
            message: `The ${snapshot.dataset} snapshot of "${snapshot.sourceName}" lists one entity twice; nothing of it was stored.`,
            retryable: false,
            details: { source: snapshot.sourceName, dataset: snapshot.dataset },
            cause: error,
          })
        : isFenceRefusal(error)
          ? error
          : writeFailed('save the inventory snapshot', error),
    );
    return { inserted, duplicates: changes.length - inserted, oldestInsertedMs };
  }

  async inventorySnapshot(sourceName: string, dataset: string): Promise<InventorySnapshot | undefined> {
    return this.#read(() => {
      const head = this.#statement(SQL.selectInventorySnapshot).get(sourceName, dataset) as
        { taken_at: number } | undefined;
      if (head === undefined) return undefined;
      const rows = this.#statement(SQL.selectInventoryEntities).all(sourceName, dataset) as InventoryRow[];
      return { sourceName, dataset, takenAt: head.taken_at, entities: rows.map(rowToEntity) };
    });
  }

  async listInventory(kind: InventoryKind, sourceName?: string): Promise<readonly StoredInventoryEntity[]> {
    return this.#read(() => {
      const rows = (
        sourceName === undefined
          ? this.#statement(SQL.selectInventoryByKind).all(kind)
          : this.#statement(SQL.selectInventoryByKindAndSource).all(kind, sourceName)
      ) as (InventoryRow & { source: string; dataset: string; taken_at: number })[];
      return rows.map((row) => ({
        ...rowToEntity(row),
        sourceName: row.source,
        dataset: row.dataset,
        takenAt: row.taken_at,
      }));
    });
  }

  /**
   * Moves every recent event into the indexed table in one transaction, so an event is always in exactly one
   * of them. The batch that triggered it is already committed; a failed move loses nothing and is simply
   * tried again after a later append.
   */
  #mergeRecent(): void {
    try {
      const moved = this.#moveRecentTierWithFallback(this.#open());
      this.#recentRows = 0;
      this.#logger.debug({ moved }, 'Recent events merged');
    } catch (error) {
      const failure = writeFailed('merge recent events', error);
      // A damaged file is not a merge to try again later: the write that set it off fails with it, and collection
      // stops writing to the file instead of carrying on as if it were healthy.
      if (failure.code === 'STORE_CORRUPT') throw failure;
      this.#logger.warn({ err: failure }, 'Recent events merge failed');
    }
  }

  // With the statement journal on disk while that works; once SQLite cannot create its temporary file, in memory.
  #moveRecentTierWithFallback(db: Database.Database): number {
    try {
      return this.#moveRecentTier(db, this.#mergeJournalOnDisk);
    } catch (error) {
      if (!this.#mergeJournalOnDisk || !isTemporaryFileFailure(error)) throw error;
      this.#mergeJournalOnDisk = false;
      this.#logger.warn(
        { err: error },
        'SQLite could not create a temporary file for merging recent events, so merges keep their undo copy in memory (tens of MB on a large store); set SQLITE_TMPDIR to a writable directory',
      );
      return this.#moveRecentTier(db, false);
    }
  }

  // The move rewrites pages all over the indexes of `events`, and SQLite keeps the statement's undo copy of every
  // page it changes (its statement journal) in memory while temp_store is MEMORY, until the statement ends: 30 MB
  // of the collector's native peak at 1,000,000 events under heaptrack, and more as the table grows. With FILE it
  // goes to a temporary file once past 64 KiB. The setting is the connection's, so it is put back for the searches.
  #moveRecentTier(db: Database.Database, journalOnDisk: boolean): number {
    if (journalOnDisk) db.pragma(SQL.pragmaTempStoreFile);
    try {
      const move = this.#statement(EVENT_SQL.moveRecentEvents);
      const clear = this.#statement(EVENT_SQL.clearRecentEvents);
      return writeTransaction(db, (): number => {
        const count = move.run().changes;
        clear.run();
        return count;
      });
    } finally {
      if (journalOnDisk) db.pragma(SQL.pragmaTempStoreMemory);
    }
  }

  async cursor(id: string): Promise<SourceCursor | undefined> {
    const row = this.#statement(SQL.selectCursor).get(id) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as SourceCursor);
  }

  async search(query: SearchQuery, page: PageRequest): Promise<SearchPage> {
    const limit = Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.floor(page.limit)));
    const { where, params } = whereClause(query);
    const direction = query.order === 'asc' ? 'ASC' : 'DESC';
    if (page.after !== undefined) {
      const position = decodePageToken(page.after);
      where.push(query.order === 'asc' ? '(time, id) > (?, ?)' : '(time, id) < (?, ?)');
      params.push(position.t, position.i);
    }
    const sql = searchEventsSql(where, direction);
    const rows = this.#read(
      () => this.#statement(sql).all(...params, limit + 1, ...params, limit + 1, limit + 1) as TieredEventRow[],
    );
    const hasMore = rows.length > limit;
    const pageRows = hasMore ? rows.slice(0, limit) : rows;
    const last = pageRows[pageRows.length - 1];
    return {
      events: pageRows.map((row) => rowToEvent(row, joinOcsfBody(row.ocsf, row.enrichments))),
      nextPage: hasMore && last !== undefined ? encodePageToken(last.time, last.id) : null,
    };
  }

  async follow(query: Omit<SearchQuery, 'order'>, page: PageRequest): Promise<FollowPage> {
    const limit = Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.floor(page.limit)));
    const after = page.after === undefined ? 0 : decodeFollowToken(page.after);
    // Read before the events, so every seq up to `last` is committed by the time they are read.
    const bounds = this.#read(() => this.#statement(EVENT_SQL.followBounds).get(after) as FollowBounds);
    const upTo = followUpTo(bounds);
    if (upTo === null) return followPage([], limit, after, null, bounds.last);
    const { where, params } = whereClause(query);
    where.unshift('seq > ?', 'seq <= ?');
    params.unshift(after, upTo);
    const rows = this.#read(
      () => this.#statement(followEventsSql(where)).all(...params, limit, ...params, limit, limit) as TieredEventRow[],
    );
    const found = rows.map((row) => ({
      seq: row.seq,
      event: rowToEvent(row, joinOcsfBody(row.ocsf, row.enrichments)),
    }));
    return followPage(found, limit, after, upTo, bounds.last);
  }

  async followLatest(): Promise<string> {
    const bounds = this.#read(() => this.#statement(EVENT_SQL.followBounds).get(0) as FollowBounds);
    return encodeFollowToken(bounds.last ?? 0);
  }

  async count(query: Omit<SearchQuery, 'order'>): Promise<number> {
    const { where, params } = whereClause(query);
    const row = this.#read(() => this.#statement(countEventsSql(where)).get(...params, ...params) as { n: number });
    return row.n;
  }

  async aggregate(spec: AggregateSpec): Promise<readonly AggregateBucket[]> {
    const column = columnFor(spec.groupBy);
    const { where, params } = whereClause({
      filter: spec.filter,
      ...(spec.fromMs === undefined ? {} : { fromMs: spec.fromMs }),
      ...(spec.toMs === undefined ? {} : { toMs: spec.toMs }),
    });
    const sql = aggregateEventsSql(column, where);
    const limit = Math.max(1, Math.floor(spec.limit));
    const rows = this.#read(
      () => this.#statement(sql).all(...params, ...params, limit) as { key: string | number | null; n: number }[],
    );
    return rows.map((row) => ({ key: row.key === null ? null : String(row.key), count: row.n }));
  }

  async histogram(spec: HistogramSpec): Promise<readonly HistogramBucket[]> {
    return this.#read(() => sqliteHistogram(spec, (sql) => this.#statement(sql)));
  }

  async dashboard(spec: DashboardSpec): Promise<DashboardSummary> {
    // One read transaction, so every part of the answer sees the same committed appends.
    return this.#read(() =>
      this.#open()
        .transaction(() => this.#summary.dashboard(spec))
        .deferred(),
    );
  }

  async deleteEventsBefore(beforeMs: number): Promise<number> {
    // Most rows then sit in the indexed table, where the chunks find them through the time index.
    if (this.#recentRows !== 0) this.#mergeRecent();
    this.forgetAppended();
    let total = 0;
    const db = this.#open();
    for (const sql of [EVENT_SQL.deleteEventsChunk, EVENT_SQL.deleteRecentEventsChunk]) {
      for (;;) {
        let changes: number;
        try {
          // Rows and their bodies go in one transaction, so no body outlives its row and no row its body.
          changes = writeTransaction(db, () => this.#deleteEventsChunk(sql, beforeMs));
        } catch (error) {
          throw writeFailed('delete old events', error);
        }
        total += changes;
        if (changes < this.#deleteChunkSize) break;
        // Give other work on this process a turn between chunks; each chunk is its own short transaction.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    total += this.#deleteFragmentsBefore(beforeMs);
    // An append between two chunks may have remembered an event a later chunk deleted.
    this.forgetAppended();
    if (total > 0) {
      try {
        writeTransaction(this.#open(), () => this.#summary.afterDelete(beforeMs));
      } catch (error) {
        throw writeFailed('correct the dashboard summary', error);
      }
      this.#logger.info({ deleted: total, beforeMs }, 'Old events deleted');
    }
    return total;
  }

  /**
   * Deletes the fragments no event at or after `beforeMs` refers to, with the events before it appended since
   * the chunks of deleteEventsBefore ran (an old event refers to fragments whatever their bound), in one
   * transaction so that no append comes between. How many events it deleted.
   */
  #deleteFragmentsBefore(beforeMs: number): number {
    const db = this.#open();
    const deleteLateEvents = (): number => {
      let deleted = 0;
      for (const sql of [EVENT_SQL.deleteEventsChunk, EVENT_SQL.deleteRecentEventsChunk]) {
        for (;;) {
          const changes = this.#deleteEventsChunk(sql, beforeMs);
          deleted += changes;
          if (changes < this.#deleteChunkSize) break;
        }
      }
      return deleted;
    };
    // With foreign keys on, SQLite looks for the bodies that refer to each deleted fragment by reading every
    // body (no index on head_id or enrichments_id, which each append would pay for): 20 fragments took 1.3 s
    // against 100,000 bodies. None refers to these. The pragma cannot change inside a transaction.
    db.pragma(SQL.pragmaForeignKeysOff);
    try {
      return writeTransaction(db, () => {
        const deleted = deleteLateEvents();
        if (this.#statement(EVENT_SQL.deleteFragmentsBefore).run(beforeMs).changes > 0) {
          this.#statement(EVENT_SQL.countFragmentSweep).run();
        }
        return deleted;
      });
    } catch (error) {
      throw writeFailed('delete unused heads and enrichments', error);
    } finally {
      db.pragma(SQL.pragmaForeignKeys);
    }
  }

  // Inside a write transaction: one chunk of the rows of one tier (`sql`) older than `beforeMs`, with their bodies.
  #deleteEventsChunk(sql: string, beforeMs: number): number {
    const seqs = this.#statement(sql).pluck().all(beforeMs, this.#deleteChunkSize) as number[];
    if (seqs.length > 0) this.#statement(EVENT_SQL.deleteBodies).run(JSON.stringify(seqs));
    return seqs.length;
  }

  async saveSource(source: StoredSource): Promise<void> {
    const save = (): void => {
      this.#statement(SQL.insertSource).run(
        source.name,
        source.type,
        source.accountId,
        source.tokenCiphertext,
        source.tokenLastFour,
        source.createdAt,
        JSON.stringify(source.settings),
      );
      // A new source starts its own collection: whatever a collector of a removed source of that name wrote after
      // the removal goes (see STORE_SOURCE_CHANGED; installations from before that check may hold such rows).
      this.#statement(SQL.deleteSourceCursors).run({ source: source.name });
      this.#statement(SQL.deleteSourceStatuses).run({ source: source.name });
    };
    try {
      writeTransaction(this.#open(), save);
    } catch (error) {
      if (sqliteCode(error) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StoreError('SOURCE_ALREADY_EXISTS', {
          message: `A data source named "${source.name}" already exists.`,
          hint: 'Pick another name, or remove the existing source first.',
          details: { name: source.name },
          cause: error,
        });
      }
      throw writeFailed('save the source', error);
    }
  }

  async getSource(name: string): Promise<StoredSource | undefined> {
    const row = this.#statement(SQL.selectSource).get(name) as SourceRow | undefined;
    return row === undefined ? undefined : rowToSource(row);
  }

  async listSources(): Promise<readonly StoredSource[]> {
    return (this.#statement(SQL.selectSources).all() as SourceRow[]).map(rowToSource);
  }

  async removeSource(name: string): Promise<boolean> {
    const remove = (): boolean => {
      const removed = this.#statement(SQL.deleteSource).run(name).changes > 0;
      if (removed) {
        this.#statement(SQL.deleteSourceCursors).run({ source: name });
        this.#statement(SQL.deleteSourceStatuses).run({ source: name });
        this.#statement(SQL.deleteSourceInventory).run(name);
        this.#statement(SQL.deleteSourceInventorySnapshots).run(name);
      }
      return removed;
    };
    try {
      return writeTransaction(this.#open(), remove);
    } catch (error) {
      throw writeFailed('remove the source', error);
    }
  }

  async updateSource(source: StoredSource, options: { readonly resetCollection: boolean }): Promise<boolean> {
    const update = (): boolean => {
      const updated =
        this.#statement(SQL.updateSource).run(
          source.accountId,
          source.tokenCiphertext,
          source.tokenLastFour,
          JSON.stringify(source.settings),
          source.name,
        ).changes > 0;
      if (updated && options.resetCollection) {
        this.#statement(SQL.deleteSourceCursors).run({ source: source.name });
        this.#statement(SQL.deleteSourceStatuses).run({ source: source.name });
        this.#statement(SQL.deleteSourceInventory).run(source.name);
        this.#statement(SQL.deleteSourceInventorySnapshots).run(source.name);
      }
      return updated;
    };
    try {
      return writeTransaction(this.#open(), update);
    } catch (error) {
      throw writeFailed('update the source', error);
    }
  }

  async setDatasetStatus(status: DatasetStatus): Promise<void> {
    try {
      this.#statement(SQL.upsertStatus).run(
        status.id,
        status.state,
        status.lastSuccessAt,
        status.lastErrorAt,
        status.lastErrorCode,
        status.lastErrorMessage,
        status.updatedAt,
      );
    } catch (error) {
      throw writeFailed('save the dataset status', error);
    }
  }

  async datasetStatuses(): Promise<readonly DatasetStatus[]> {
    return (this.#statement(SQL.selectStatuses).all() as StatusRow[]).map(rowToStatus);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.#statement(SQL.selectSetting).get(key) as { value: string } | undefined;
    return row?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    try {
      this.#statement(SQL.upsertSetting).run(key, value);
    } catch (error) {
      throw writeFailed('save the setting', error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Only a connection that appended merges on the way out; one that never did may predate migration 0002.
    try {
      if (this.#recentRows !== undefined && this.#recentRows > 0) this.#mergeRecent();
    } catch (error) {
      // The events stay in the recent tier, where every read finds them; closing still lets the file go.
      this.#logger.warn({ err: error }, 'Recent events merge failed');
    }
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  #open(): Database.Database {
    if (this.#closed) throw new StoreError('STORE_OPEN_FAILED', { message: `The store on ${this.#path} is closed.` });
    return this.#db;
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#open().prepare(sql);
      // Filters produce many distinct texts; a bounded cache keeps memory flat under ad-hoc searches.
      if (this.#statements.size >= 500) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #read<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof AppError) throw error;
      const code = sqliteCode(error);
      if (code?.startsWith('SQLITE_BUSY') === true) {
        throw new StoreError('STORE_BUSY', { message: `${this.#path} is busy; try again.`, cause: error });
      }
      if (code?.startsWith('SQLITE_CORRUPT') === true || code === 'SQLITE_NOTADB') {
        throw new StoreError('STORE_CORRUPT', {
          message: `${this.#path} is damaged (${code}); reads of it cannot be trusted.`,
          hint: 'Stop zerotrail, keep a copy of the file, and restore it from a backup.',
          cause: error,
        });
      }
      throw error;
    }
  }
}

function bindEvent(params: (string | number | null)[], seq: number, event: NormalizedEvent): void {
  params[0] = seq;
  params[1] = event.id;
  params[2] = event.time;
  params[3] = event.sourceName;
  params[4] = event.accountId;
  params[5] = event.dataset;
  params[6] = event.classUid;
  params[7] = wellFormed(event.activity);
  params[8] = event.outcome;
  params[9] = wellFormedOrNull(event.user);
  params[10] = wellFormedOrNull(event.srcIp);
  params[11] = event.srcIp === null ? null : cachedIpKey(event.srcIp);
  params[12] = wellFormedOrNull(event.country);
  params[13] = wellFormedOrNull(event.app);
  params[14] = wellFormedOrNull(event.appUid);
  params[15] = wellFormedOrNull(event.idp);
  params[16] = wellFormedOrNull(event.rayId);
}

// The event as its row and body now hold it, from the values bound to the insert (see bindEvent).
function storedEventOf(params: readonly (string | number | null)[], body: OcsfBody, rawJson: string): NormalizedEvent {
  const row = {
    id: params[1] as string,
    time: params[2] as number,
    source: params[3] as string,
    account_id: params[4] as string,
    dataset: params[5] as string,
    class_uid: params[6] as number,
    activity: params[7] as string,
    outcome: params[8] as string,
    user_name: params[9] as string | null,
    src_ip: params[10] as string | null,
    country: params[12] as string | null,
    app: params[13] as string | null,
    app_uid: params[14] as string | null,
    idp: params[15] as string | null,
    ray_id: params[16] as string | null,
  };
  return rowToLazyEvent(
    row,
    () => joinOcsfBody(`${body.head?.text ?? ''}${body.text}`, body.enrichments?.text ?? null),
    rawJson,
  );
}

// The columns the dashboard summary counts, in its order (see SummaryEventRow).
function summaryRowOf(params: readonly (string | number | null)[]): SummaryEventRow {
  return [
    params[2] as number,
    params[3] as string,
    params[8] as string,
    params[9] as string | null,
    params[13] as string | null,
    params[12] as string | null,
    params[15] as string | null,
    params[7] as string,
  ];
}

// Addresses repeat from event to event; the map is emptied when full, so it stays small.
const IP_KEYS = new Map<string, string | null>();
const MAX_CACHED_IP_KEYS = 10_000;

function cachedIpKey(address: string): string | null {
  let key = IP_KEYS.get(address);
  if (key === undefined) {
    key = ipKey(address);
    if (IP_KEYS.size >= MAX_CACHED_IP_KEYS) IP_KEYS.clear();
    IP_KEYS.set(address, key);
  }
  return key;
}

function whereClause(query: Omit<SearchQuery, 'order'>): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.fromMs !== undefined) {
    where.push('time >= ?');
    params.push(query.fromMs);
  }
  if (query.toMs !== undefined) {
    where.push('time < ?');
    params.push(query.toMs);
  }
  if (query.filter !== null) {
    const compiled = compileFilter(query.filter);
    where.push(compiled.sql);
    params.push(...compiled.params);
  }
  return { where, params };
}

// Lone UTF-16 surrogates cannot be encoded as UTF-8; replacing them keeps the flat columns valid text.
// JSON columns need no guard: JSON.stringify writes lone surrogates as \u escapes.
const LONE_SURROGATE = /\p{Surrogate}/u;
const LONE_SURROGATES = /\p{Surrogate}/gu;

function wellFormed(value: string): string {
  return LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATES, '\uFFFD') : value;
}

function wellFormedOrNull(value: string | null): string | null {
  return value === null ? null : wellFormed(value);
}

// SQLite reports only "unable to open database file"; the OS reason comes from asking the file system.
function checkPathUsable(path: string): void {
  if (path === ':memory:') return;
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) {
      accessSync(dirname(path), fsConstants.W_OK | fsConstants.X_OK);
      return;
    }
    if (stat.isDirectory()) {
      throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    }
    accessSync(path, fsConstants.R_OK | fsConstants.W_OK);
  } catch (error) {
    throw openFailed(path, error);
  }
}

/**
 * The database holds events, password hashes and encrypted tokens, so it is made readable by its owner only, as
 * secret.key is, whatever the umask. SQLite gives the -wal, -shm and -journal files it makes the mode of the
 * database file, so they follow.
 */
/** Creates the file for a new database, owner-only; false when it was there already (or is in memory). */
function createOwnerOnly(path: string): boolean {
  if (isInMemory(path)) return false;
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, OWNER_ONLY);
  } catch (error) {
    // Made by an earlier run or, a moment ago, by another process: tightenExisting sees to it.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw openFailed(path, error);
  }
  try {
    // A umask that takes owner bits away would leave a file SQLite cannot open.
    fchmodSync(fd, OWNER_ONLY);
  } finally {
    closeSync(fd);
  }
  return true;
}

// A new database gets its first page within a millisecond of its file being made, so an empty file older than
// this is not another process creating it.
const EMPTY_FILE_GRACE_MS = 10_000;

/**
 * SQLite takes an empty file for a new, empty database and would write a fresh installation over it. An empty
 * zerotrail.db is a database cut short (a failed copy, a full disk): it is refused and left as it is.
 */
function refuseEmptyFile(path: string): void {
  if (isInMemory(path)) return;
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return;
  }
  if (!stats.isFile() || stats.size > 0 || Date.now() - stats.mtimeMs < EMPTY_FILE_GRACE_MS) return;
  throw new StoreError('STORE_CORRUPT', {
    message: `${path} is empty (0 bytes), so it holds no zerotrail database: it may have been cut short by a failed copy or a full disk. It was left untouched.`,
    hint:
      'Restore it from a backup, or point zerotrail at a different data directory. If it is left from a first start ' +
      'that was stopped at once, delete it to start afresh.',
    details: { path },
  });
}

/**
 * Takes group and other access away from a database an earlier version made under a permissive umask, and from
 * its side files, saying so. Never adds a permission; a file this user may not change is only reported.
 */
function tightenExisting(path: string, logger: Logger): void {
  if (isInMemory(path)) return;
  for (const file of SIDE_FILE_SUFFIXES.map((suffix) => `${path}${suffix}`)) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (stat === undefined || (stat.mode & 0o077) === 0) continue;
    const mode = octal(stat.mode);
    const tightened = stat.mode & 0o700;
    try {
      chmodSync(file, tightened);
      logger.warn({ path: file, mode, newMode: octal(tightened) }, 'Database file made private to its owner');
    } catch (error) {
      logger.warn({ path: file, mode, err: error }, 'Database file readable by other users; mode not changed');
    }
  }
}

function isInMemory(path: string): boolean {
  // An empty path is a private temporary database that SQLite deletes on close.
  return path === ':memory:' || path === '';
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

function openFailed(path: string, error: unknown): StoreError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError('STORE_OPEN_FAILED', {
    message: `The database ${path} could not be opened: ${reason}.`,
    hint: 'Check that the directory exists and that zerotrail may read and write the file.',
    details: { path },
    cause: error,
  });
}

/**
 * Refuses a SQLite database that holds tables but not zerotrail's migrations table, or one of another shape: another
 * application's file under zerotrail's name, which migrating would fill with zerotrail's tables (or fail half-way
 * through, after switching its journal to WAL), and which even a search would migrate. Reads only.
 */
function refuseForeignSchema(db: Database.Database, path: string): void {
  const tables = (db.prepare(SQL.userTables).all() as { name: string }[]).map((row) => row.name);
  if (tables.length === 0) return;
  const columns = (db.prepare(SQL.migrationsColumns).all() as { name: string }[]).map((row) => row.name);
  if (columns.join(',') === MIGRATIONS_COLUMNS) return;
  const why =
    columns.length === 0
      ? `holds tables zerotrail did not make (${namedFew(tables)}) and none of its own`
      : `holds a schema_migrations table whose columns (${columns.join(', ')}) are not the ones zerotrail keeps`;
  throw new StoreError('STORE_MIGRATION_FAILED', {
    message: `${path} is another application's SQLite database: it ${why}. Nothing in it was changed.`,
    hint: 'Move that file out of the data directory, or give zerotrail a directory of its own with --data-dir or ZEROTRAIL_DATA_DIR.',
    details: { path, tables: tables.slice(0, FOREIGN_TABLES_NAMED) },
  });
}

const MIGRATIONS_COLUMNS = 'version,name,applied_at';
const FOREIGN_TABLES_NAMED = 3;

function namedFew(names: readonly string[]): string {
  const shown = names.slice(0, FOREIGN_TABLES_NAMED).join(', ');
  return names.length > FOREIGN_TABLES_NAMED ? `${shown} and ${names.length - FOREIGN_TABLES_NAMED} more` : shown;
}

function migrationFailed(message: string, error: unknown): StoreError {
  return new StoreError('STORE_MIGRATION_FAILED', { message, cause: error });
}

// Carries what an append's iterable threw out of the write transaction, to be rethrown as it was.
class EventsIterationFailed extends Error {
  override readonly cause: unknown;

  constructor(cause: unknown) {
    super('The events to append could not be produced.');
    this.name = 'EventsIterationFailed';
    this.cause = cause;
  }
}

function writeFailed(action: string, error: unknown): StoreError {
  const code = sqliteCode(error);
  if (code?.startsWith('SQLITE_BUSY') === true) {
    return new StoreError('STORE_BUSY', { message: `Could not ${action}: the database is busy.`, cause: error });
  }
  if (code?.startsWith('SQLITE_CORRUPT') === true || code === 'SQLITE_NOTADB') {
    return new StoreError('STORE_CORRUPT', {
      message: `Could not ${action}: the database file is damaged (${code}).`,
      hint: 'Stop every zerotrail process that uses it and restore it from a backup; writing more to it can only lose more.',
      cause: error,
    });
  }
  // A constraint violation will fail the same way again; anything else (disk full, I/O) may pass later.
  const permanent = code?.startsWith('SQLITE_CONSTRAINT') === true;
  return new StoreError('STORE_WRITE_FAILED', {
    message: `Could not ${action}${code === undefined ? '' : ` (${code})`}.`,
    retryable: !permanent,
    cause: error,
  });
}

// The database is open already, so a file SQLite cannot open now is a temporary one (no writable directory).
function isTemporaryFileFailure(error: unknown): boolean {
  return sqliteCode(error) === 'SQLITE_CANTOPEN';
}
