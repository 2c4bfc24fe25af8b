/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 is synchronous; the methods stay async so that
   every failure reaches the caller as a rejected promise, as the AuthStore contract promises. */
import Database from 'better-sqlite3';
import { AuthError, StoreError } from '../../core/errors.js';
import type {
  ApiKeyRecord,
  AuditEntry,
  AuthStore,
  LoginLinkRecord,
  NewApiKey,
  NewUser,
  Role,
  SessionRecord,
  StoredAuditEntry,
  UserChange,
  UserRecord,
} from '../auth-store.js';
import {
  rowToApiKey,
  rowToAuditEntry,
  rowToSession,
  rowToUser,
  type ApiKeyRow,
  type AuditRow,
  type SessionRow,
  type UserRow,
} from '../rows/auth-rows.js';
import { writeTransaction } from './write-transaction.js';

export interface SqliteAuthStoreOptions {
  /** The database file the event store created and migrated. */
  readonly path: string;
  readonly busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

const SQL = {
  insertUser: 'INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)',
  userByName: 'SELECT * FROM users WHERE name = ?',
  userById: 'SELECT * FROM users WHERE id = ?',
  listUsers: 'SELECT * FROM users ORDER BY name',
  // Each write keeps at least one admin: it touches the row only when the user is not an admin, stays one,
  // or another admin remains.
  setUserRole: `UPDATE users SET role = ? WHERE id = ?
    AND (role <> 'admin' OR ? = 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)`,
  deleteUser: `DELETE FROM users WHERE id = ?
    AND (role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)`,
  insertSession: 'INSERT INTO sessions (token_hash, user_id, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  session: 'SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = ?',
  pruneSessions: 'DELETE FROM sessions WHERE expires_at <= ?',
  pruneFailures: 'DELETE FROM login_failures WHERE at < ?',
  insertApiKey: 'INSERT INTO api_keys (user_id, label, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)',
  apiKeyByHash: 'SELECT * FROM api_keys WHERE key_hash = ?',
  apiKeyById: 'SELECT * FROM api_keys WHERE id = ?',
  listApiKeys: 'SELECT * FROM api_keys ORDER BY id',
  listApiKeysOfUser: 'SELECT * FROM api_keys WHERE user_id = ? ORDER BY id',
  touchApiKey: 'UPDATE api_keys SET last_used_at = ? WHERE id = ?',
  deleteApiKey: 'DELETE FROM api_keys WHERE id = ?',
  insertLoginLink: 'INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  redeemLoginLink: `UPDATE login_links SET used_at = ?
    WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
  pruneLoginLinks: 'DELETE FROM login_links WHERE expires_at <= ?',
  insertFailure: 'INSERT INTO login_failures (subject, at) VALUES (?, ?)',
  countFailures: 'SELECT count(*) AS n FROM login_failures WHERE subject = ? AND at >= ?',
  failureTimes: 'SELECT at FROM login_failures WHERE subject = ? AND at >= ? ORDER BY at',
  clearFailures: 'DELETE FROM login_failures WHERE subject = ?',
  forgetFailure:
    'DELETE FROM login_failures WHERE rowid = (SELECT rowid FROM login_failures WHERE subject = ? AND at = ? LIMIT 1)',
  insertAudit: 'INSERT INTO audit_log (at, actor, action, target, outcome, ip, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
  listAudit: 'SELECT * FROM audit_log ORDER BY id DESC LIMIT ?',
  listAuditBefore: 'SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?',
} as const;

/**
 * The auth tables on their own better-sqlite3 connection to the event database: WAL lets it read and write
 * beside the event store's connection, and keeping it separate leaves the event store's code untouched.
 */
export class SqliteAuthStore implements AuthStore {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement<unknown[], unknown>>();
  #closed = false;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens the file the event store migrated; it must already hold the auth tables (migration 4). */
  static async open(options: SqliteAuthStoreOptions): Promise<SqliteAuthStore> {
    let db: Database.Database;
    try {
      db = new Database(options.path, {
        fileMustExist: true,
        timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      });
      db.pragma('foreign_keys = ON');
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users'").get() === undefined) {
        db.close();
        throw new Error('the users table is missing; run the migrations first');
      }
    } catch (error) {
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The user and session tables in ${options.path} cannot be opened.`,
        hint: 'Run any zerotrail command once so the database is migrated, then try again.',
        details: { path: options.path },
        cause: error,
      });
    }
    return new SqliteAuthStore(db);
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    try {
      const result = this.#statement(SQL.insertUser).run(user.name, user.role, user.passwordHash, user.createdAt);
      return { id: Number(result.lastInsertRowid), ...user };
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new AuthError('AUTH_USER_EXISTS', { message: `A zerotrail user named "${user.name}" already exists.` });
      }
      throw writeFailed(error);
    }
  }

  async userByName(name: string): Promise<UserRecord | undefined> {
    const row = this.#get(SQL.userByName, [name]) as UserRow | undefined;
    return row === undefined ? undefined : rowToUser(row);
  }

  async userById(id: number): Promise<UserRecord | undefined> {
    const row = this.#get(SQL.userById, [id]) as UserRow | undefined;
    return row === undefined ? undefined : rowToUser(row);
  }

  async listUsers(): Promise<readonly UserRecord[]> {
    return (this.#all(SQL.listUsers, []) as UserRow[]).map(rowToUser);
  }

  async setUserRole(id: number, role: Role): Promise<UserChange> {
    return this.#changeUser(id, () => this.#statement(SQL.setUserRole).run(role, id, role).changes);
  }

  async deleteUser(id: number): Promise<UserChange> {
    return this.#changeUser(id, () => this.#statement(SQL.deleteUser).run(id).changes);
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.#write(SQL.insertSession, [
      session.tokenHash,
      session.userId,
      session.csrfHash,
      session.createdAt,
      session.expiresAt,
    ]);
  }

  async session(tokenHash: string, nowMs: number): Promise<SessionRecord | undefined> {
    const row = this.#get(SQL.session, [tokenHash, nowMs]) as SessionRow | undefined;
    return row === undefined ? undefined : rowToSession(row);
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.#write(SQL.deleteSession, [tokenHash]);
  }

  async prune(nowMs: number, failuresBeforeMs: number): Promise<number> {
    try {
      return writeTransaction(
        this.#db,
        () =>
          this.#statement(SQL.pruneSessions).run(nowMs).changes +
          this.#statement(SQL.pruneLoginLinks).run(nowMs).changes +
          this.#statement(SQL.pruneFailures).run(failuresBeforeMs).changes,
      );
    } catch (error) {
      throw writeFailed(error);
    }
  }

  async createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const result = this.#write(SQL.insertApiKey, [key.userId, key.label, key.keyHash, key.keyPrefix, key.createdAt]);
    return rowToApiKey(this.#get(SQL.apiKeyById, [Number(result.lastInsertRowid)]) as ApiKeyRow);
  }

  async apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#get(SQL.apiKeyByHash, [keyHash]) as ApiKeyRow | undefined;
    return row === undefined ? undefined : rowToApiKey(row);
  }

  async listApiKeys(userId?: number): Promise<readonly ApiKeyRecord[]> {
    const rows = userId === undefined ? this.#all(SQL.listApiKeys, []) : this.#all(SQL.listApiKeysOfUser, [userId]);
    return (rows as ApiKeyRow[]).map(rowToApiKey);
  }

  async touchApiKey(id: number, nowMs: number): Promise<void> {
    this.#write(SQL.touchApiKey, [nowMs, id]);
  }

  async deleteApiKey(id: number): Promise<boolean> {
    return this.#write(SQL.deleteApiKey, [id]).changes > 0;
  }

  async createLoginLink(link: LoginLinkRecord): Promise<void> {
    this.#write(SQL.insertLoginLink, [link.tokenHash, link.userId, link.createdAt, link.expiresAt]);
  }

  async redeemLoginLink(tokenHash: string, nowMs: number): Promise<number | undefined> {
    try {
      const row = this.#statement(SQL.redeemLoginLink).get(nowMs, tokenHash, nowMs) as { user_id: number } | undefined;
      return row?.user_id;
    } catch (error) {
      throw writeFailed(error);
    }
  }

  async recordLoginFailure(subject: string, atMs: number): Promise<void> {
    this.#write(SQL.insertFailure, [subject, atMs]);
  }

  async countLoginFailures(subject: string, sinceMs: number): Promise<number> {
    return (this.#get(SQL.countFailures, [subject, sinceMs]) as { n: number }).n;
  }

  async loginFailureTimes(subject: string, sinceMs: number): Promise<readonly number[]> {
    return (this.#all(SQL.failureTimes, [subject, sinceMs]) as { at: number }[]).map((row) => row.at);
  }

  async clearLoginFailures(subject: string): Promise<void> {
    this.#write(SQL.clearFailures, [subject]);
  }

  async forgetLoginFailure(subject: string, atMs: number): Promise<void> {
    this.#write(SQL.forgetFailure, [subject, atMs]);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.#write(SQL.insertAudit, [
      entry.at,
      entry.actor,
      entry.action,
      entry.target,
      entry.outcome,
      entry.ip,
      JSON.stringify(entry.details),
    ]);
  }

  async listAudit(options: {
    readonly limit: number;
    readonly beforeId?: number;
  }): Promise<readonly StoredAuditEntry[]> {
    const rows =
      options.beforeId === undefined
        ? this.#all(SQL.listAudit, [options.limit])
        : this.#all(SQL.listAuditBefore, [options.beforeId, options.limit]);
    return (rows as AuditRow[]).map(rowToAuditEntry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  /** Runs `write` and, when it touched nothing, tells a missing user from the last admin in one transaction. */
  #changeUser(id: number, write: () => number): UserChange {
    try {
      return writeTransaction(this.#db, (): UserChange => {
        if (write() > 0) return 'done';
        return this.#statement(SQL.userById).get(id) === undefined ? 'missing' : 'last_admin';
      });
    } catch (error) {
      throw writeFailed(error);
    }
  }

  #statement(sql: string): Database.Statement<unknown[], unknown> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get(sql: string, params: readonly unknown[]): unknown {
    try {
      return this.#statement(sql).get(...params);
    } catch (error) {
      throw readFailed(error);
    }
  }

  #all(sql: string, params: readonly unknown[]): unknown[] {
    try {
      return this.#statement(sql).all(...params);
    } catch (error) {
      throw readFailed(error);
    }
  }

  #write(sql: string, params: readonly unknown[]): Database.RunResult {
    try {
      return this.#statement(sql).run(...params);
    } catch (error) {
      throw writeFailed(error);
    }
  }
}

function readFailed(error: unknown): StoreError {
  if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return new StoreError('STORE_BUSY', { cause: error });
  return new StoreError('STORE_OPEN_FAILED', {
    message: 'The user and session tables could not be read.',
    cause: error,
  });
}

function writeFailed(error: unknown): StoreError {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_BUSY') return new StoreError('STORE_BUSY', { cause: error });
  return new StoreError('STORE_WRITE_FAILED', { cause: error });
}
