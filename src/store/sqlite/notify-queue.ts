/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 is synchronous; the methods stay async so that
   every failure reaches the caller as a rejected promise, as the NotifyQueue contract promises. */
import Database from 'better-sqlite3';
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
import { writeTransaction } from './write-transaction.js';

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

const SQL = {
  offset: 'SELECT seq FROM notify_offsets WHERE target = ?',
  startOffset: `INSERT INTO notify_offsets (target, seq, updated_at)
    VALUES (?, (SELECT coalesce(max(seq), 0) FROM notify_queue), ?) ON CONFLICT (target) DO NOTHING`,
  saveOffset: `INSERT INTO notify_offsets (target, seq, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (target) DO UPDATE SET seq = max(notify_offsets.seq, excluded.seq), updated_at = excluded.updated_at`,
  notices: `SELECT q.seq, q.alert_id, q.reason, q.severity AS queued_severity, q.queued_at, a.rule_id, a.title,
      a.severity, a.technique, a.entity_user, a.entity_ip, a.entity_app, a.summary, a.first_event_time,
      a.last_event_time, a.event_count, a.status
    FROM notify_queue q JOIN alerts a ON a.id = q.alert_id WHERE q.seq > ? ORDER BY q.seq LIMIT ?`,
  insertFailure: `INSERT INTO notify_failures (target, seq, alert_id, code, message, failed_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, seq) DO NOTHING`,
  failures: `SELECT target, seq, alert_id, code, message, failed_at FROM notify_failures
    WHERE (? IS NULL OR target = ?) ORDER BY failed_at, target, seq`,
  pending: `SELECT count(*) AS n FROM notify_queue
    WHERE seq > coalesce((SELECT seq FROM notify_offsets WHERE target = ?), 0)`,
  depth: `SELECT count(*) AS n, min(queued_at) AS oldest FROM notify_queue
    WHERE seq > (SELECT seq FROM notify_offsets WHERE target = ?) AND severity IN (SELECT value FROM json_each(?))`,
  refused: 'SELECT count(*) AS n FROM notify_failures WHERE target = ?',
  saveStatus: `INSERT INTO notify_target_status (${TARGET_STATUS_COLUMNS})
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (target) DO UPDATE SET type = excluded.type, state = excluded.state, delivered = excluded.delivered,
      retries = excluded.retries, attempt = excluded.attempt, last_success_at = excluded.last_success_at,
      last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
      last_error_at = excluded.last_error_at, next_attempt_at = excluded.next_attempt_at, host = excluded.host,
      updated_at = excluded.updated_at`,
  statuses: `SELECT ${TARGET_STATUS_COLUMNS} FROM notify_target_status ORDER BY target`,
} as const;

/** The notification queue in the SQLite file, on its own connection beside the event store's. */
export class SqliteNotifyQueue implements NotifyQueue {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens the file the event store migrated; it must already hold the queue (migration 9). */
  static async open(options: { readonly path: string; readonly busyTimeoutMs?: number }): Promise<SqliteNotifyQueue> {
    let db: Database.Database | undefined;
    try {
      db = new Database(options.path, {
        fileMustExist: true,
        timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      });
      if (
        db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notify_queue'").get() === undefined
      ) {
        throw new Error('the notify_queue table is missing; run the migrations first');
      }
    } catch (error) {
      db?.close();
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The notification queue in ${options.path} cannot be opened.`,
        hint: 'Run any zerotrail command once so the database is migrated, then try again.',
        details: { path: options.path },
        cause: error,
      });
    }
    return new SqliteNotifyQueue(db);
  }

  async openOffset(target: string, now: number): Promise<number> {
    return this.#run('open a notification offset', () => {
      this.#db.prepare(SQL.startOffset).run(target, now);
      return (this.#db.prepare(SQL.offset).get(target) as { seq: number }).seq;
    });
  }

  async noticesAfter(afterSeq: number, limit: number): Promise<readonly QueuedNotice[]> {
    const rows = this.#run('read queued notifications', () =>
      this.#db.prepare(SQL.notices).all(afterSeq, Math.max(1, Math.floor(limit))),
    ) as NoticeRow[];
    return rows.map(toQueuedNotice);
  }

  async saveOffset(target: string, seq: number, now: number): Promise<void> {
    this.#run('save a notification offset', () => this.#db.prepare(SQL.saveOffset).run(target, seq, now));
  }

  async recordFailure(failure: NotifyFailure): Promise<void> {
    const write = (): void => {
      this.#db
        .prepare(SQL.insertFailure)
        .run(failure.target, failure.seq, failure.alertId, failure.code, failure.message, failure.failedAt);
      this.#db.prepare(SQL.saveOffset).run(failure.target, failure.seq, failure.failedAt);
    };
    this.#run('record a failed notification', () => writeTransaction(this.#db, write));
  }

  async failures(target?: string): Promise<readonly NotifyFailure[]> {
    const rows = this.#run('read failed notifications', () =>
      this.#db.prepare(SQL.failures).all(target ?? null, target ?? null),
    ) as { target: string; seq: number; alert_id: string; code: string; message: string; failed_at: number }[];
    return rows.map((row) => ({
      target: row.target,
      seq: row.seq,
      alertId: row.alert_id,
      code: row.code,
      message: row.message,
      failedAt: row.failed_at,
    }));
  }

  async pending(target: string): Promise<number> {
    return (this.#run('count queued notifications', () => this.#db.prepare(SQL.pending).get(target)) as { n: number })
      .n;
  }

  async queueDepth(target: string, severities: readonly Severity[]): Promise<NotifyQueueDepth> {
    return this.#run('count queued notifications', () => {
      const offset = this.#db.prepare(SQL.offset).get(target) as { seq: number } | undefined;
      const depth = this.#db.prepare(SQL.depth).get(target, JSON.stringify(severities)) as {
        n: number;
        oldest: number | null;
      };
      const refused = this.#db.prepare(SQL.refused).get(target) as { n: number };
      return { offset: offset?.seq ?? null, pending: depth.n, oldestQueuedAt: depth.oldest, refused: refused.n };
    });
  }

  async saveTargetStatus(status: NotifyTargetStatus): Promise<void> {
    this.#run('save a notification target status', () =>
      this.#db.prepare(SQL.saveStatus).run(...targetStatusValues(status)),
    );
  }

  async targetStatuses(): Promise<readonly NotifyTargetStatus[]> {
    const rows = this.#run('read notification target statuses', () =>
      this.#db.prepare(SQL.statuses).all(),
    ) as TargetStatusRow[];
    return rows.map(toTargetStatus);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #run<T>(what: string, operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const busy = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
      throw new StoreError(busy ? 'STORE_BUSY' : 'STORE_WRITE_FAILED', {
        message: `Could not ${what}: ${busy ? 'the database is busy' : (error as Error).message}.`,
        cause: error,
      });
    }
  }
}
