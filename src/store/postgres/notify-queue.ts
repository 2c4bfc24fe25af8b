import pg from 'pg';
import { StoreError } from '../../core/errors.js';
import type { Severity } from '../detection-store.js';
import type {
  NotifyFailure,
  NotifyQueue,
  NotifyQueueDepth,
  NotifyTargetStatus,
  QueuedNotice,
} from '../notify-queue.js';
import {
  TARGET_STATUS_COLUMNS,
  targetStatusValues,
  toQueuedNotice,
  toTargetStatus,
  type NoticeRow,
  type TargetStatusRow,
} from '../notify-rows.js';
import { parseDatabaseUrl } from './database-url.js';

// One forwarder reads and writes a handful of rows at a time; two connections cover a read beside a write.
const POOL_SIZE = 2;

const SQL = {
  offset: 'SELECT seq FROM notify_offsets WHERE target = $1',
  startOffset: `INSERT INTO notify_offsets (target, seq, updated_at)
    VALUES ($1, (SELECT coalesce(max(seq), 0) FROM notify_queue), $2) ON CONFLICT (target) DO NOTHING`,
  saveOffset: `INSERT INTO notify_offsets (target, seq, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (target) DO UPDATE SET seq = greatest(notify_offsets.seq, excluded.seq), updated_at = excluded.updated_at`,
  notices: `SELECT q.seq, q.alert_id, q.reason, q.severity AS queued_severity, q.queued_at, a.rule_id, a.title,
      a.severity, a.technique, a.entity_user, a.entity_ip, a.entity_app, a.summary, a.first_event_time,
      a.last_event_time, a.event_count, a.status
    FROM notify_queue q JOIN alerts a ON a.id = q.alert_id WHERE q.seq > $1 ORDER BY q.seq LIMIT $2`,
  insertFailure: `INSERT INTO notify_failures (target, seq, alert_id, code, message, failed_at)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target, seq) DO NOTHING`,
  failures: `SELECT target, seq, alert_id, code, message, failed_at FROM notify_failures
    WHERE ($1::text IS NULL OR target = $1) ORDER BY failed_at, target, seq`,
  pending: `SELECT count(*)::int AS n FROM notify_queue
    WHERE seq > coalesce((SELECT seq FROM notify_offsets WHERE target = $1), 0)`,
  depth: `SELECT (SELECT seq FROM notify_offsets WHERE target = $1) AS offset_seq,
      (SELECT count(*)::int FROM notify_failures WHERE target = $1) AS refused,
      count(q.seq)::int AS n, min(q.queued_at) AS oldest
    FROM notify_queue q
    WHERE q.seq > (SELECT seq FROM notify_offsets WHERE target = $1) AND q.severity = ANY($2::text[])`,
  saveStatus: `INSERT INTO notify_target_status (${TARGET_STATUS_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (target) DO UPDATE SET type = excluded.type, state = excluded.state, delivered = excluded.delivered,
      retries = excluded.retries, attempt = excluded.attempt, last_success_at = excluded.last_success_at,
      last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
      last_error_at = excluded.last_error_at, next_attempt_at = excluded.next_attempt_at, host = excluded.host,
      updated_at = excluded.updated_at`,
  statuses: `SELECT ${TARGET_STATUS_COLUMNS} FROM notify_target_status ORDER BY target`,
} as const;

/** The notification queue in the PostgreSQL database, on a small pool of its own. */
export class PostgresNotifyQueue implements NotifyQueue {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async open(options: { readonly url: string }): Promise<PostgresNotifyQueue> {
    const { connectionString, target } = parseDatabaseUrl(options.url);
    const pool = new pg.Pool({
      connectionString,
      max: POOL_SIZE,
      connectionTimeoutMillis: 10_000,
      ...(target.schema === null ? {} : { options: `-c search_path=${target.schema}` }),
    });
    pool.on('error', () => {
      // An idle connection the server closed is replaced by the next query; nothing is lost.
    });
    try {
      const found = await pool.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'notify_queue'",
      );
      if (found.rowCount === 0) throw new Error('the notify_queue table is missing; run the migrations first');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The notification queue in ${target.host}/${target.database} cannot be opened.`,
        hint: 'Run any zerotrail command once so the database is migrated, then try again.',
        details: { host: target.host, database: target.database },
        cause: error,
      });
    }
    return new PostgresNotifyQueue(pool);
  }

  async openOffset(target: string, now: number): Promise<number> {
    await this.#query('open a notification offset', SQL.startOffset, [target, now]);
    const rows = await this.#query<{ seq: string }>('open a notification offset', SQL.offset, [target]);
    return Number(rows[0]?.seq ?? 0);
  }

  async noticesAfter(afterSeq: number, limit: number): Promise<readonly QueuedNotice[]> {
    const rows = await this.#query<NoticeRow>('read queued notifications', SQL.notices, [
      afterSeq,
      Math.max(1, Math.floor(limit)),
    ]);
    return rows.map(toQueuedNotice);
  }

  async saveOffset(target: string, seq: number, now: number): Promise<void> {
    await this.#query('save a notification offset', SQL.saveOffset, [target, seq, now]);
  }

  async recordFailure(failure: NotifyFailure): Promise<void> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      await client.query(SQL.insertFailure, [
        failure.target,
        failure.seq,
        failure.alertId,
        failure.code,
        failure.message,
        failure.failedAt,
      ]);
      await client.query(SQL.saveOffset, [failure.target, failure.seq, failure.failedAt]);
      await client.query('COMMIT');
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw new StoreError('STORE_WRITE_FAILED', { message: 'Could not record a failed notification.', cause: error });
    } finally {
      client?.release();
    }
  }

  async failures(target?: string): Promise<readonly NotifyFailure[]> {
    const rows = await this.#query<{
      target: string;
      seq: string;
      alert_id: string;
      code: string;
      message: string;
      failed_at: string;
    }>('read failed notifications', SQL.failures, [target ?? null]);
    return rows.map((row) => ({
      target: row.target,
      seq: Number(row.seq),
      alertId: row.alert_id,
      code: row.code,
      message: row.message,
      failedAt: Number(row.failed_at),
    }));
  }

  async pending(target: string): Promise<number> {
    const rows = await this.#query<{ n: number }>('count queued notifications', SQL.pending, [target]);
    return rows[0]?.n ?? 0;
  }

  async queueDepth(target: string, severities: readonly Severity[]): Promise<NotifyQueueDepth> {
    const rows = await this.#query<{
      offset_seq: string | null;
      refused: number;
      n: number;
      oldest: string | null;
    }>('count queued notifications', SQL.depth, [target, severities]);
    const row = rows[0];
    return {
      offset: row?.offset_seq == null ? null : Number(row.offset_seq),
      pending: row?.n ?? 0,
      oldestQueuedAt: row?.oldest == null ? null : Number(row.oldest),
      refused: row?.refused ?? 0,
    };
  }

  async saveTargetStatus(status: NotifyTargetStatus): Promise<void> {
    await this.#query('save a notification target status', SQL.saveStatus, targetStatusValues(status));
  }

  async targetStatuses(): Promise<readonly NotifyTargetStatus[]> {
    const rows = await this.#query<TargetStatusRow>('read notification target statuses', SQL.statuses, []);
    return rows.map(toTargetStatus);
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }

  async #query<T extends object>(what: string, sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw new StoreError('STORE_WRITE_FAILED', { message: `Could not ${what}.`, cause: error });
    }
  }
}
