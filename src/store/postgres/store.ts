import pg from 'pg';
import { systemClock, type Clock } from '../../core/clock.js';
import { AppError, StoreError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { InventoryKind } from '../../core/inventory.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { SourceCursor } from '../../sources/source.js';
import { ipKey } from '../ip-key.js';
import type { HeldLease, LeaseFence, LeaseStore } from '../lease-store.js';
import { followPage, followUpTo, type FollowBounds } from '../follow-window.js';
import { decodeFollowToken, decodePageToken, encodeFollowToken, encodePageToken } from '../page-token.js';
import { rowToEvent, type EventRow } from '../rows/event-rows.js';
import { rowToEntity, type InventoryRow } from '../rows/inventory-rows.js';
import { rowToSource, rowToStatus, type SourceRow, type StatusRow } from '../rows/source-rows.js';
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
import { DASHBOARD_CLASS_UID, type DashboardSpec, type DashboardSummary } from '../dashboard-summary.js';
import { PostgresDetectionStore } from './detection-store.js';
import { inTransaction } from './in-transaction.js';
import { PG_TYPES } from './pg-types.js';
import { addToSummary, correctSummaryAfterDelete, dropSummaryBefore, type SummaryEvent } from './auth-summary.js';
import { postgresDashboard } from './dashboard.js';
import { checkFence, PostgresLeaseStore } from './lease-store.js';
import { stepPostgresRateBucket } from './rate-buckets.js';
import { holdTokens, takeToken } from '../rate-bucket.js';
import { histogramSql } from './summary-histogram.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { describeTarget, parseDatabaseUrl, type PostgresTarget } from './database-url.js';
import { newerSchema, privilegeHint, readMigrationState } from './migration-state.js';
import {
  aggregateEventsSql,
  countEventsSql,
  EVENT_INSERT_ROWS,
  followEventsSql,
  insertEventsStatement,
  searchEventsSql,
  SQL,
  SqlParams,
  wellFormed,
  wellFormedOrNull,
  whereClause,
} from './queries.js';

export interface PostgresStoreOptions {
  /** `postgres://…`; an optional `schema` query parameter names the schema zerotrail keeps its tables in. */
  readonly url: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Connections kept open at most; every statement borrows one for its own duration. */
  readonly poolSize?: number;
  /** Rows (and ids) deleted per retention statement in the month of the cut-off; small chunks keep each lock short. */
  readonly deleteChunkSize?: number;
}

const DEFAULT_POOL_SIZE = 10;
const FIRST_ANALYZE_ROWS = 1_000;
const MAX_ANALYZE_ROWS = 256_000;
const DEFAULT_DELETE_CHUNK = 10_000;
const MAX_PAGE_LIMIT = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
const SCHEMA_EXISTS_SQL = 'SELECT 1 FROM pg_namespace WHERE nspname = $1';
const PARTITION_NAME = /^events_p(\d{4,6})(\d{2})$/;
/**
 * The store on a PostgreSQL database (the pg driver), shared by every zerotrail node that points at it. All
 * state lives in the database, so any number of instances may open the same schema at once.
 */
export class PostgresStore extends PostgresDetectionStore implements Store {
  readonly #pool: pg.Pool;
  readonly #target: PostgresTarget;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #deleteChunkSize: number;
  // Month partitions known to exist; another node may add or drop some, which the append notices and refreshes.
  #partitions = new Set<string>();
  // Rows this process appended to each month since it last analyzed it, and when it analyzes next.
  readonly #analyzeDue = new Map<string, { pending: number; next: number }>();
  #closed = false;
  readonly #leases: LeaseStore;

  private constructor(pool: pg.Pool, target: PostgresTarget, options: PostgresStoreOptions) {
    super(pool, options.clock ?? systemClock);
    this.#pool = pool;
    this.#target = target;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'store', id: 'postgres' });
    this.#clock = options.clock ?? systemClock;
    this.#deleteChunkSize = options.deleteChunkSize ?? DEFAULT_DELETE_CHUNK;
    this.#leases = new PostgresLeaseStore(() => this.#open());
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

  takeRateToken(key: string, capacity: number, windowMs: number): Promise<number> {
    return this.#transaction(
      (client) => stepPostgresRateBucket(client, key, takeToken(capacity, windowMs)),
      (error) => writeFailed('take from the shared rate budget', error),
    );
  }

  holdRateTokens(key: string, holdMs: number, capacity: number, windowMs: number): Promise<void> {
    return this.#transaction(
      (client) => stepPostgresRateBucket(client, key, holdTokens(holdMs, capacity, windowMs)),
      (error) => writeFailed('hold the shared rate budget', error),
    );
  }

  /** Connects once to prove the server answers; fails with STORE_OPEN_FAILED saying where and why not. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { connectionString, target } = parseDatabaseUrl(options.url);
    const pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types: PG_TYPES,
      ...(target.schema === null ? {} : { options: `-c search_path=${target.schema}` }),
    });
    // An idle connection the server closed must not crash the process; the next query gets a fresh one.
    pool.on('error', (error) => {
      (options.logger ?? silentLogger()).warn({ err: error }, 'Idle database connection lost');
    });
    try {
      const client = await pool.connect();
      try {
        // Looked up first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists,
        // which a role granted only SELECT on the schema's tables does not have.
        if (target.schema !== null && (await client.query(SCHEMA_EXISTS_SQL, [target.schema])).rowCount === 0) {
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${target.schema}`);
        }
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The PostgreSQL database ${describeTarget(target)} could not be opened: ${reasonOf(error)}.`,
        hint:
          pgCode(error) === INSUFFICIENT_PRIVILEGE && target.schema !== null
            ? `The schema ${target.schema} does not exist and this role may not create it: create it once with the ` +
              `database owner's role, or grant this role CREATE on the database ${target.database}.`
            : 'Check that PostgreSQL is running and that the URL names a database this user may write to.',
        details: { host: target.host, database: target.database },
        cause: error,
      });
    }
    return new PostgresStore(pool, target, options);
  }

  async migrate(): Promise<void> {
    const latest = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);
    // Read with SELECT alone, without the lock: a schema already migrated needs no write, so a role granted only
    // SELECT (a read-only search account) can open it.
    const state = await this.#transaction(
      (client) => readMigrationState(client, this.#target, MIGRATIONS),
      (error) => migrationFailed(`Could not read the schema version of ${describeTarget(this.#target)}.`, error),
      { readOnly: true },
    );
    if (MIGRATIONS.every((migration) => state.applied.includes(migration.version))) return;
    const needCreate = (message: string) => (error: unknown) =>
      migrationFailed(message, error, privilegeHint(state, 'create'));
    await this.#transaction(
      async (client) => {
        await client.query(SQL.lockMigrations);
        // Again under the lock, before anything is created: a refused schema is left exactly as it was.
        await readMigrationState(client, this.#target, MIGRATIONS);
        await client.query(SQL.createMigrationsTable);
      },
      needCreate(`Could not prepare the migrations table in ${describeTarget(this.#target)}.`),
    );
    for (const migration of MIGRATIONS) {
      const applied = await this.#transaction(
        async (client): Promise<boolean> => {
          // Under the lock, so two nodes starting together apply each migration once.
          await client.query(SQL.lockMigrations);
          const versions = (await client.query<{ version: number }>(SQL.appliedVersions)).rows.map(
            (row) => row.version,
          );
          const newest = Math.max(0, ...versions);
          if (newest > latest) throw newerSchema(this.#target, newest, latest);
          if (versions.includes(migration.version)) return false;
          await client.query(migration.sql);
          await client.query(SQL.recordMigration, [migration.version, migration.name, this.#clock.now()]);
          return true;
        },
        needCreate(`Migration ${migration.version} (${migration.name}) failed; nothing of it was applied.`),
      );
      if (applied) this.#logger.info({ version: migration.version, name: migration.name }, 'Migration applied');
    }
  }

  async append(given: Iterable<NormalizedEvent>, cursor: CursorUpdate): Promise<AppendResult> {
    // Sent to the server in multi-row statements, so the events are gathered first.
    const events = Array.isArray(given) ? (given as readonly NormalizedEvent[]) : Array.from(given);
    const now = this.#clock.now();
    const { inserted, oldestInsertedMs } = await this.#writeEvents(
      events,
      async (client) => {
        await checkFence(client, cursor.id, cursor.fence);
        await client.query(SQL.upsertCursor, [cursor.id, JSON.stringify(cursor.value), now]);
      },
      (error) => writeFailed('append events', error),
    );
    this.#logger.debug({ inserted, duplicates: events.length - inserted, cursorId: cursor.id }, 'Batch stored');
    return { inserted, duplicates: events.length - inserted, oldestInsertedMs };
  }

  async saveInventorySnapshot(
    snapshot: InventorySnapshot,
    changes: readonly NormalizedEvent[],
    fence?: LeaseFence,
  ): Promise<AppendResult> {
    const { inserted, oldestInsertedMs } = await this.#writeEvents(
      changes,
      async (client) => {
        await checkFence(client, `${snapshot.sourceName}/${snapshot.dataset}`, fence);
        // Two processes catching up without leases (`collect --once` on two nodes) may save the same snapshot at
        // once; the second waits for the first instead of colliding with the entities it inserted.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `inventory:${snapshot.sourceName}/${snapshot.dataset}`,
        ]);
        await client.query(SQL.deleteInventoryEntities, [snapshot.sourceName, snapshot.dataset]);
        await client.query(SQL.insertInventoryEntities, [
          snapshot.sourceName,
          snapshot.dataset,
          snapshot.entities.map((entity) => entity.kind),
          snapshot.entities.map((entity) => wellFormed(entity.id)),
          snapshot.entities.map((entity) => wellFormed(entity.name)),
          snapshot.entities.map((entity) => JSON.stringify(entity.attributes)),
        ]);
        await client.query(SQL.upsertInventorySnapshot, [
          snapshot.sourceName,
          snapshot.dataset,
          snapshot.takenAt,
          snapshot.entities.length,
        ]);
      },
      (error) =>
        pgCode(error) === UNIQUE_VIOLATION
          ? new StoreError('STORE_WRITE_FAILED', {
              message: `The ${snapshot.dataset} snapshot of "${snapshot.sourceName}" lists one entity twice; nothing of it was stored.`,
              retryable: false,
              details: { source: snapshot.sourceName, dataset: snapshot.dataset },
              cause: error,
            })
          : writeFailed('save the inventory snapshot', error),
    );
    return { inserted, duplicates: changes.length - inserted, oldestInsertedMs };
  }

  /**
   * Stores the events whose ids are new, runs `also`, adds the new authentications to the summary and numbers
   * the new events, all in one transaction. The month partitions the events need are created first, in their own
   * short transaction; should another node drop one in between (retention), the write is tried once more after
   * creating it again.
   */
  async #writeEvents(
    events: readonly NormalizedEvent[],
    also: (client: pg.PoolClient) => Promise<void>,
    failed: (error: unknown) => StoreError,
  ): Promise<Pick<AppendResult, 'inserted' | 'oldestInsertedMs'>> {
    const write = async (): Promise<readonly StoredRow[]> => {
      await this.#ensurePartitions(
        events.map((event) => event.time),
        failed,
      );
      return this.#transaction(async (client) => {
        const stored = await insertEvents(client, events);
        await also(client);
        if (stored.length > 0) {
          await addToSummary(client, stored.filter(isAuthentication).map(summaryEventOf));
          await numberEvents(client, stored);
        }
        return stored;
      }, failed);
    };
    let stored: readonly StoredRow[];
    try {
      stored = await write();
    } catch (error) {
      if (!(error instanceof StoreError) || !isNoPartition(error.cause)) throw error;
      this.#partitions.clear();
      stored = await write();
    }
    if (stored.length > 0) await this.#analyzeGrown(events);
    return {
      inserted: stored.length,
      oldestInsertedMs: stored.reduce<number | null>((oldest, row) => Math.min(oldest ?? row[1], row[1]), null),
    };
  }

  /**
   * Refreshes the planner's statistics of months that grew. Without them PostgreSQL guesses that a ray id
   * matches one row in 200 and walks the time index instead of the ray id index (seconds instead of a
   * millisecond at 200k events), and autovacuum, where it runs at all, analyzes a month that fills
   * steadily only now and then. The interval grows fourfold per month up to a cap, so the cost stays small.
   */
  async #analyzeGrown(events: readonly NormalizedEvent[]): Promise<void> {
    for (const event of events) {
      const { name } = monthPartition(event.time);
      const due = this.#analyzeDue.get(name) ?? { pending: 0, next: FIRST_ANALYZE_ROWS };
      due.pending += 1;
      this.#analyzeDue.set(name, due);
    }
    for (const [name, due] of this.#analyzeDue) {
      if (due.pending < due.next) continue;
      this.#analyzeDue.set(name, { pending: 0, next: Math.min(due.next * 4, MAX_ANALYZE_ROWS) });
      try {
        // The name is derived from a date, never taken from input.
        await this.#open().query(`ANALYZE ${name}`);
      } catch (error) {
        // The events are committed; stale statistics only make some searches slower.
        this.#logger.warn({ err: error, partition: name }, 'Event partition analyze failed');
      }
    }
  }

  async #ensurePartitions(times: readonly number[], failed: (error: unknown) => StoreError): Promise<void> {
    const missing = new Map<string, readonly [number, number]>();
    for (const time of times) {
      const month = monthPartition(time);
      if (!this.#partitions.has(month.name)) missing.set(month.name, month.bounds);
    }
    if (missing.size === 0) return;
    await this.#transaction(async (client) => {
      // One creator at a time: CREATE TABLE IF NOT EXISTS alone still races on the catalogue.
      await client.query(SQL.lockPartitions);
      const existing = new Set((await client.query<{ name: string }>(SQL.listPartitions)).rows.map((row) => row.name));
      for (const [name, [from, to]] of missing) {
        if (existing.has(name)) continue;
        // Name and bounds are derived from numbers here, never taken from input.
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF events FOR VALUES FROM (${from}) TO (${to})`,
        );
        this.#logger.info({ partition: name }, 'Event partition created');
      }
      this.#partitions = new Set([...existing, ...missing.keys()]);
    }, failed);
  }

  async inventorySnapshot(sourceName: string, dataset: string): Promise<InventorySnapshot | undefined> {
    // One read-only transaction for both statements: read apart, a save committing in between (another node's)
    // paired the earlier snapshot's time with the later one's entities.
    return this.#transaction(
      async (client) => {
        const head = (await client.query<{ taken_at: number }>(SQL.selectInventorySnapshot, [sourceName, dataset]))
          .rows[0];
        if (head === undefined) return undefined;
        const rows = (await client.query<InventoryRow>(SQL.selectInventoryEntities, [sourceName, dataset])).rows;
        return { sourceName, dataset, takenAt: head.taken_at, entities: rows.map(rowToEntity) };
      },
      (error) => readFailed(this.#target, error),
      { readOnly: true },
    );
  }

  async listInventory(kind: InventoryKind, sourceName?: string): Promise<readonly StoredInventoryEntity[]> {
    const rows = await (sourceName === undefined
      ? this.#rows<InventoryRow & { source: string; dataset: string; taken_at: number }>(SQL.selectInventoryByKind, [
          kind,
        ])
      : this.#rows<InventoryRow & { source: string; dataset: string; taken_at: number }>(
          SQL.selectInventoryByKindAndSource,
          [kind, sourceName],
        ));
    return rows.map((row) => ({
      ...rowToEntity(row),
      sourceName: row.source,
      dataset: row.dataset,
      takenAt: row.taken_at,
    }));
  }

  async cursor(id: string): Promise<SourceCursor | undefined> {
    const row = await this.#one<{ value: string }>(SQL.selectCursor, [id]);
    return row === undefined ? undefined : (JSON.parse(row.value) as SourceCursor);
  }

  async search(query: SearchQuery, page: PageRequest): Promise<SearchPage> {
    const limit = Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.floor(page.limit)));
    const params = new SqlParams();
    const where = whereClause(query, params);
    const direction = query.order === 'asc' ? 'ASC' : 'DESC';
    if (page.after !== undefined) {
      const position = decodePageToken(page.after);
      const [time, id] = [params.add(position.t), params.add(position.i)];
      where.push(query.order === 'asc' ? `(time, id) > (${time}, ${id})` : `(time, id) < (${time}, ${id})`);
    }
    const sql = searchEventsSql(where, direction, params.add(limit + 1));
    const rows = await this.#rows<EventRow>(sql, params.values);
    const hasMore = rows.length > limit;
    const pageRows = hasMore ? rows.slice(0, limit) : rows;
    const last = pageRows[pageRows.length - 1];
    return {
      events: pageRows.map((row) => rowToEvent(row)),
      nextPage: hasMore && last !== undefined ? encodePageToken(last.time, last.id) : null,
    };
  }

  async follow(query: Omit<SearchQuery, 'order'>, page: PageRequest): Promise<FollowPage> {
    const limit = Math.max(1, Math.min(MAX_PAGE_LIMIT, Math.floor(page.limit)));
    const after = page.after === undefined ? 0 : decodeFollowToken(page.after);
    // A statement of its own, before the events: everything numbered up to `last` is committed by the next one.
    const bounds = (await this.#one<FollowBounds>(SQL.followBounds, [after])) ?? { last: null, first: null };
    const upTo = followUpTo(bounds);
    if (upTo === null) return followPage([], limit, after, null, bounds.last);
    const params = new SqlParams();
    const [fromSeq, toSeq] = [params.add(after), params.add(upTo)];
    const where = whereClause(query, params);
    const sql = followEventsSql(where, fromSeq, toSeq, params.add(limit));
    const rows = await this.#rows<EventRow & { seq: number }>(sql, params.values);
    const found = rows.map((row) => ({ seq: row.seq, event: rowToEvent(row) }));
    return followPage(found, limit, after, upTo, bounds.last);
  }

  async followLatest(): Promise<string> {
    const bounds = await this.#one<FollowBounds>(SQL.followBounds, [0]);
    return encodeFollowToken(bounds?.last ?? 0);
  }

  async count(query: Omit<SearchQuery, 'order'>): Promise<number> {
    const params = new SqlParams();
    const where = whereClause(query, params);
    const row = await this.#one<{ n: number }>(countEventsSql(where), params.values);
    return row?.n ?? 0;
  }

  async aggregate(spec: AggregateSpec): Promise<readonly AggregateBucket[]> {
    const params = new SqlParams();
    const where = whereClause(
      {
        filter: spec.filter,
        ...(spec.fromMs === undefined ? {} : { fromMs: spec.fromMs }),
        ...(spec.toMs === undefined ? {} : { toMs: spec.toMs }),
      },
      params,
    );
    const sql = aggregateEventsSql(spec.groupBy, where, params.add(Math.max(1, Math.floor(spec.limit))));
    const rows = await this.#rows<{ key: string | number | null; n: number }>(sql, params.values);
    return rows.map((row) => ({ key: row.key === null ? null : String(row.key), count: row.n }));
  }

  async histogram(spec: HistogramSpec): Promise<readonly HistogramBucket[]> {
    const { sql, params } = histogramSql(spec);
    const rows = await this.#rows<{ start: number; n: number }>(sql, params.values);
    return rows.map((row) => ({ startMs: row.start, count: row.n }));
  }

  async dashboard(spec: DashboardSpec): Promise<DashboardSummary> {
    // One snapshot, so every part of the answer sees the same committed appends.
    return this.#transaction(
      (client) => postgresDashboard(client, spec),
      (error) => readFailed(this.#target, error),
      {
        readOnly: true,
      },
    );
  }

  /**
   * Drops every month partition wholly before `beforeMs`, deletes the older rows of the month it falls in in chunks,
   * then the ids of all of them. Returns how many events went.
   */
  async deleteEventsBefore(beforeMs: number): Promise<number> {
    const failed = (error: unknown): StoreError => writeFailed('delete old events', error);
    let total = await this.#transaction(async (client) => {
      await client.query(SQL.lockPartitions);
      const names = (await client.query<{ name: string }>(SQL.listPartitions)).rows.map((row) => row.name);
      let dropped = 0;
      let droppedTo: number | undefined;
      for (const name of names) {
        const bounds = partitionBounds(name);
        if (bounds === undefined || bounds[1] > beforeMs) continue;
        dropped += (await client.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${name}`)).rows[0]?.n ?? 0;
        await client.query(`DROP TABLE ${name}`);
        droppedTo = Math.max(droppedTo ?? bounds[1], bounds[1]);
        this.#partitions.delete(name);
        this.#logger.info({ partition: name }, 'Event partition dropped');
      }
      if (droppedTo !== undefined) await dropSummaryBefore(client, droppedTo);
      return dropped;
    }, failed);
    for (;;) {
      const deleted = await this.#transaction(
        async (client) =>
          (await client.query(SQL.deleteEventsBelowChunk, [beforeMs, this.#deleteChunkSize])).rowCount ?? 0,
        failed,
      );
      total += deleted;
      if (deleted < this.#deleteChunkSize) break;
    }
    for (;;) {
      const deleted = await this.#transaction(
        async (client) =>
          (await client.query(SQL.deleteEventIdsChunk, [beforeMs, this.#deleteChunkSize])).rowCount ?? 0,
        failed,
      );
      if (deleted < this.#deleteChunkSize) break;
    }
    // Every time, not only when something went: a delete that stopped half-way is corrected by the next one.
    await this.#transaction((client) => correctSummaryAfterDelete(client, beforeMs), failed);
    if (total > 0) this.#logger.info({ deleted: total, beforeMs }, 'Old events deleted');
    return total;
  }

  async saveSource(source: StoredSource): Promise<void> {
    await this.#transaction(
      async (client) => {
        await client.query(SQL.insertSource, [
          source.name,
          source.type,
          source.accountId,
          source.tokenCiphertext,
          source.tokenLastFour,
          source.createdAt,
          JSON.stringify(source.settings),
        ]);
        // A new source starts its own collection (see the SQLite store's saveSource).
        await client.query(SQL.deleteSourceCursors, [source.name]);
        await client.query(SQL.deleteSourceStatuses, [source.name]);
      },
      (error) =>
        pgCode(error) === UNIQUE_VIOLATION
          ? new StoreError('SOURCE_ALREADY_EXISTS', {
              message: `A data source named "${source.name}" already exists.`,
              hint: 'Pick another name, or remove the existing source first.',
              details: { name: source.name },
              cause: error,
            })
          : writeFailed('save the source', error),
    );
  }

  async getSource(name: string): Promise<StoredSource | undefined> {
    const row = await this.#one<SourceRow>(SQL.selectSource, [name]);
    return row === undefined ? undefined : rowToSource(row);
  }

  async listSources(): Promise<readonly StoredSource[]> {
    return (await this.#rows<SourceRow>(SQL.selectSources, [])).map(rowToSource);
  }

  async removeSource(name: string): Promise<boolean> {
    return this.#transaction(
      async (client) => {
        const removed = ((await client.query(SQL.deleteSource, [name])).rowCount ?? 0) > 0;
        if (removed) {
          await client.query(SQL.deleteSourceCursors, [name]);
          await client.query(SQL.deleteSourceStatuses, [name]);
          await client.query(SQL.deleteSourceInventory, [name]);
          await client.query(SQL.deleteSourceInventorySnapshots, [name]);
        }
        return removed;
      },
      (error) => writeFailed('remove the source', error),
    );
  }

  async updateSource(source: StoredSource, options: { readonly resetCollection: boolean }): Promise<boolean> {
    return this.#transaction(
      async (client) => {
        const updated =
          (
            await client.query(SQL.updateSource, [
              source.name,
              source.accountId,
              source.tokenCiphertext,
              source.tokenLastFour,
              JSON.stringify(source.settings),
            ])
          ).rowCount ?? 0;
        if (updated > 0 && options.resetCollection) {
          await client.query(SQL.deleteSourceCursors, [source.name]);
          await client.query(SQL.deleteSourceStatuses, [source.name]);
          await client.query(SQL.deleteSourceInventory, [source.name]);
          await client.query(SQL.deleteSourceInventorySnapshots, [source.name]);
        }
        return updated > 0;
      },
      (error) => writeFailed('update the source', error),
    );
  }

  async setDatasetStatus(status: DatasetStatus): Promise<void> {
    await this.#write('save the dataset status', SQL.upsertStatus, [
      status.id,
      status.state,
      status.lastSuccessAt,
      status.lastErrorAt,
      status.lastErrorCode,
      status.lastErrorMessage === null ? null : wellFormed(status.lastErrorMessage),
      status.updatedAt,
    ]);
  }

  async datasetStatuses(): Promise<readonly DatasetStatus[]> {
    return (await this.#rows<StatusRow>(SQL.selectStatuses, [])).map(rowToStatus);
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.#one<{ value: string }>(SQL.selectSetting, [key]))?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.#write('save the setting', SQL.upsertSetting, [key, value]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** The pool, for the auth store that shares it. */
  get pool(): pg.Pool {
    return this.#open();
  }

  #open(): pg.Pool {
    if (this.#closed) {
      throw new StoreError('STORE_OPEN_FAILED', { message: `The store on ${describeTarget(this.#target)} is closed.` });
    }
    return this.#pool;
  }

  async #rows<T extends object>(sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#open().query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw readFailed(this.#target, error);
    }
  }

  async #one<T extends object>(sql: string, params: readonly unknown[]): Promise<T | undefined> {
    return (await this.#rows<T>(sql, params))[0];
  }

  async #write(action: string, sql: string, params: readonly unknown[]): Promise<void> {
    try {
      await this.#open().query(sql, params as unknown[]);
    } catch (error) {
      throw writeFailed(action, error);
    }
  }

  async #transaction<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    failed: (error: unknown) => Error,
    options: { readonly readOnly?: boolean } = {},
  ): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#open().connect();
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw failed(error);
    }
    try {
      return await inTransaction(
        client,
        work,
        options.readOnly === true ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN',
      );
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw failed(error);
    }
  }
}

/**
 * Numbers the events a transaction stored, in batch order, as its last step before commit. The lock is held
 * until the commit, so numbers become visible in the order they were handed out: a reader of "after seq N"
 * never later finds a smaller number it had not seen.
 */
async function numberEvents(client: pg.PoolClient, rows: readonly StoredRow[]): Promise<void> {
  await client.query(SQL.numberEvents, [rows.map((row) => row[0]), rows.length]);
}

/** An event's values in the order of STORED_EVENT_COLUMNS, as PostgreSQL stores them. */
type StoredRow = readonly [
  id: string,
  time: number,
  source: string,
  accountId: string,
  dataset: string,
  classUid: number,
  activity: string,
  outcome: string,
  user: string | null,
  srcIp: string | null,
  ipKey: string | null,
  country: string | null,
  app: string | null,
  appUid: string | null,
  idp: string | null,
  rayId: string | null,
  ocsf: string,
  raw: string,
];

function storedRow(event: NormalizedEvent): StoredRow {
  return [
    event.id,
    event.time,
    wellFormed(event.sourceName),
    wellFormed(event.accountId),
    wellFormed(event.dataset),
    event.classUid,
    wellFormed(event.activity),
    wellFormed(event.outcome),
    wellFormedOrNull(event.user),
    wellFormedOrNull(event.srcIp),
    event.srcIp === null ? null : ipKey(event.srcIp),
    wellFormedOrNull(event.country),
    wellFormedOrNull(event.app),
    wellFormedOrNull(event.appUid),
    wellFormedOrNull(event.idp),
    wellFormedOrNull(event.rayId),
    JSON.stringify(event.ocsf),
    // JSON.stringify(undefined) is undefined; store the JSON null instead of failing the NOT NULL column.
    JSON.stringify(event.raw) ?? 'null',
  ];
}

const isAuthentication = (row: StoredRow): boolean => row[5] === DASHBOARD_CLASS_UID;

function summaryEventOf(row: StoredRow): SummaryEvent {
  return {
    time: row[1],
    source: row[2],
    outcome: row[7],
    user: row[8],
    app: row[12],
    country: row[11],
    idp: row[14],
    activity: row[6],
  };
}

/**
 * Claims the batch's ids, then inserts the events that were new, a chunk per statement; returns them in batch
 * order. Only the ids travel in the claim: a collector reads the last minutes again on every poll (the lookback),
 * so most events of a steady append are duplicates, whose bodies are never encoded or sent.
 */
async function insertEvents(client: pg.PoolClient, events: readonly NormalizedEvent[]): Promise<StoredRow[]> {
  if (events.length === 0) return [];
  const claimed = await client.query<{ id: string }>(SQL.claimEventIds, [
    events.map((event) => event.id),
    events.map((event) => event.time),
  ]);
  const fresh = new Set(claimed.rows.map((row) => row.id));
  // The first copy of an id in the batch is the one claimed; later copies are duplicates.
  const rows = events.filter((event) => fresh.delete(event.id)).map(storedRow);
  for (let from = 0; from < rows.length; from += EVENT_INSERT_ROWS) {
    const chunk = rows.slice(from, from + EVENT_INSERT_ROWS);
    await client.query({ ...insertEventsStatement(chunk.length), values: chunk.flat() });
  }
  return rows;
}

/** The UTC month partition an event time falls in: its name and [from, to) bounds in epoch ms. */
export function monthPartition(time: number): { readonly name: string; readonly bounds: readonly [number, number] } {
  const date = new Date(time);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    name: `events_p${String(year).padStart(4, '0')}${String(month + 1).padStart(2, '0')}`,
    bounds: [Date.UTC(year, month, 1), Date.UTC(year, month + 1, 1)],
  };
}

function partitionBounds(name: string): readonly [number, number] | undefined {
  const match = PARTITION_NAME.exec(name);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]) - 1;
  return [Date.UTC(year, month, 1), Date.UTC(year, month + 1, 1)];
}

const UNIQUE_VIOLATION = '23505';
const INSUFFICIENT_PRIVILEGE = '42501';

// A row whose month partition is missing fails as a check violation, told apart from others by its message.
function isNoPartition(error: unknown): boolean {
  return pgCode(error) === '23514' && error instanceof Error && error.message.includes('no partition');
}

/** The SQLSTATE of a server error, or the Node code (ECONNREFUSED) of a connection error. */
export function pgCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

function reasonOf(error: unknown): string {
  const code = pgCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}

// Serialization failures, deadlocks and lost or refused connections pass on a later try.
function isTransient(code: string | undefined): boolean {
  if (code === undefined) return false;
  return (
    code === '40001' ||
    code === '40P01' ||
    code === '55P03' ||
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT'
  );
}

const READ_PRIVILEGES_HINT =
  'Grant this role USAGE on the schema and SELECT on its tables, or use the role that owns them.';

function readFailed(target: PostgresTarget, error: unknown): Error {
  if (error instanceof AppError) return error;
  const code = pgCode(error);
  if (isTransient(code) || (error instanceof Error && /timeout|terminated/i.test(error.message))) {
    return new StoreError('STORE_BUSY', {
      message: `The database ${describeTarget(target)} did not answer: ${reasonOf(error)}; try again.`,
      cause: error,
    });
  }
  if (code === INSUFFICIENT_PRIVILEGE) {
    // A role granted rights on some of zerotrail's tables only: say which grant reads them all.
    return new StoreError('STORE_OPEN_FAILED', {
      message: `Could not read from ${describeTarget(target)}: ${reasonOf(error)}. The database role may not read zerotrail's tables.`,
      hint: READ_PRIVILEGES_HINT,
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** `privileges` is the hint for a role that lacks a right (42501); reading the version alone needs SELECT. */
function migrationFailed(message: string, error: unknown, privileges?: string): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError('STORE_MIGRATION_FAILED', {
    message: `${message} ${reasonOf(error)}.`,
    hint:
      pgCode(error) === INSUFFICIENT_PRIVILEGE
        ? (privileges ?? READ_PRIVILEGES_HINT)
        : 'Nothing of a failed migration stays applied; fix the cause above and start zerotrail again.',
    cause: error,
  });
}

function writeFailed(action: string, error: unknown): StoreError {
  const code = pgCode(error);
  if (code === '40001' || code === '40P01' || code === '55P03') {
    return new StoreError('STORE_BUSY', { message: `Could not ${action}: the database is busy.`, cause: error });
  }
  if (code === INSUFFICIENT_PRIVILEGE) {
    // A role granted only SELECT can search a migrated database; a command that must store something says what
    // the role lacks instead of failing on a bare SQLSTATE.
    return new StoreError('STORE_WRITE_FAILED', {
      message: `Could not ${action}: ${reasonOf(error)}. The database role may read but not write there.`,
      hint:
        "Run this command with a role that may write to zerotrail's tables (the one that owns them), or grant " +
        'this role INSERT, UPDATE and DELETE on them.',
      retryable: false,
      cause: error,
    });
  }
  // A constraint violation, a malformed value or a value over one of PostgreSQL's limits will fail the same way
  // again; anything else may pass later.
  const permanent = code !== undefined && ['23', '22', '54'].includes(code.slice(0, 2)) && !isNoPartition(error);
  return new StoreError('STORE_WRITE_FAILED', {
    // PostgreSQL's own words name the table, index or limit; its messages carry no stored values.
    message: `Could not ${action}: ${reasonOf(error)}.`,
    retryable: !permanent,
    cause: error,
  });
}
