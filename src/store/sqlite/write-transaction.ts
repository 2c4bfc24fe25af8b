import type Database from 'better-sqlite3';
import { sqliteCode } from './sqlite-code.js';

interface TransactionStatements {
  readonly begin: Database.Statement;
  readonly commit: Database.Statement;
  readonly rollback: Database.Statement;
  readonly busyTimeoutMs: number;
}

const statementsByConnection = new WeakMap<Database.Database, TransactionStatements>();
// SQLite's own busy handler climbs to pauses of 100 ms; shorter ones here, since the lock is usually free by then.
const RETRY_PAUSES_MS = [1, 2, 5, 10, 20, 50] as const;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `work` in a BEGIN IMMEDIATE transaction and commits it, waiting up to `waitMs` (by default the
 * connection's busy timeout) for another connection's write lock. SQLite may answer BEGIN with SQLITE_BUSY long
 * before its busy timeout, since it does not always call its busy handler: while the collector and the detection
 * thread shared a file under a 1,000,000-event backfill, BEGIN IMMEDIATE failed after 64–82 ms of a 5 s timeout,
 * right after the other connection's large commit, and succeeded when tried again within a second. Only the
 * BEGIN is tried again, so `work` runs at most once; any failure after it rolls the whole transaction back.
 * Waiting blocks the thread, as SQLite's own busy handler does.
 */
export function writeTransaction<T>(db: Database.Database, work: () => T, waitMs?: number): T {
  const statements = statementsOf(db);
  begin(statements, waitMs ?? statements.busyTimeoutMs);
  try {
    const result = work();
    statements.commit.run();
    return result;
  } catch (error) {
    if (db.inTransaction) statements.rollback.run();
    throw error;
  }
}

function begin(statements: TransactionStatements, waitMs: number): void {
  const deadline = performance.now() + waitMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      statements.begin.run();
      return;
    } catch (error) {
      const left = deadline - performance.now();
      if (sqliteCode(error) !== 'SQLITE_BUSY' || left <= 0) throw error;
      const pauseMs = RETRY_PAUSES_MS[Math.min(attempt, RETRY_PAUSES_MS.length - 1)] ?? 1;
      Atomics.wait(pauseCell, 0, 0, Math.min(pauseMs, left));
    }
  }
}

function statementsOf(db: Database.Database): TransactionStatements {
  let statements = statementsByConnection.get(db);
  if (statements === undefined) {
    statements = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      busyTimeoutMs: busyTimeoutMs(db),
    };
    statementsByConnection.set(db, statements);
  }
  return statements;
}

function busyTimeoutMs(db: Database.Database): number {
  const timeout: unknown = db.pragma('busy_timeout', { simple: true });
  return typeof timeout === 'number' ? timeout : 0;
}
