import pg from 'pg';
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
import { inTransaction } from './in-transaction.js';
import { PG_TYPES } from './pg-types.js';
import { parseDatabaseUrl } from './database-url.js';
import { wellFormed } from './queries.js';
import { pgCode } from './store.js';
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

export interface PostgresAuthStoreOptions {
  /** The same URL the event store was opened with; its migrations created the auth tables. */
  readonly url: string;
  readonly poolSize?: number;
}

const DEFAULT_POOL_SIZE = 4;

const SQL = {
  insertUser: 'INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
  userByName: 'SELECT * FROM users WHERE lower(name) = lower($1)',
  userById: 'SELECT * FROM users WHERE id = $1',
  listUsers: 'SELECT * FROM users ORDER BY lower(name), name',
  // Two admins demoting each other at once would each count the other; locking the admin rows first makes
  // the second wait and then count again, so one of them is refused.
  lockAdmins: "SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE",
  setUserRole: `UPDATE users SET role = $1 WHERE id = $2
    AND (role <> 'admin' OR $1 = 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)`,
  deleteUser: `DELETE FROM users WHERE id = $1
    AND (role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)`,
  insertSession:
    'INSERT INTO sessions (token_hash, user_id, csrf_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
  session: 'SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = $1',
  pruneSessions: 'DELETE FROM sessions WHERE expires_at <= $1',
  pruneLoginLinks: 'DELETE FROM login_links WHERE expires_at <= $1',
  pruneFailures: 'DELETE FROM login_failures WHERE at < $1',
  insertApiKey: `INSERT INTO api_keys (user_id, label, key_hash, key_prefix, created_at) VALUES ($1, $2, $3, $4, $5)
    RETURNING *`,
  apiKeyByHash: 'SELECT * FROM api_keys WHERE key_hash = $1',
  listApiKeys: 'SELECT * FROM api_keys ORDER BY id',
  listApiKeysOfUser: 'SELECT * FROM api_keys WHERE user_id = $1 ORDER BY id',
  touchApiKey: 'UPDATE api_keys SET last_used_at = $1 WHERE id = $2',
  deleteApiKey: 'DELETE FROM api_keys WHERE id = $1',
  insertLoginLink: 'INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
  redeemLoginLink: `UPDATE login_links SET used_at = $1
    WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id`,
  insertFailure: 'INSERT INTO login_failures (subject, at) VALUES ($1, $2)',
  countFailures: 'SELECT count(*)::bigint AS n FROM login_failures WHERE subject = $1 AND at >= $2',
  failureTimes: 'SELECT at FROM login_failures WHERE subject = $1 AND at >= $2 ORDER BY at',
  clearFailures: 'DELETE FROM login_failures WHERE subject = $1',
  forgetFailure:
    'DELETE FROM login_failures WHERE ctid = (SELECT ctid FROM login_failures WHERE subject = $1 AND at = $2 LIMIT 1)',
  insertAudit:
    'INSERT INTO audit_log (at, actor, action, target, outcome, ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7)',
  listAudit: 'SELECT * FROM audit_log ORDER BY id DESC LIMIT $1',
  listAuditBefore: 'SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2',
} as const;

/** zerotrail's accounts and audit trail in the PostgreSQL database the event store migrated. */
export class PostgresAuthStore implements AuthStore {
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects to the schema the event store migrated; it must already hold the auth tables. */
  static async open(options: PostgresAuthStoreOptions): Promise<PostgresAuthStore> {
    const { connectionString, target } = parseDatabaseUrl(options.url);
    const pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: 10_000,
      types: PG_TYPES,
      ...(target.schema === null ? {} : { options: `-c search_path=${target.schema}` }),
    });
    pool.on('error', () => {
      // An idle connection the server closed is replaced by the next query; nothing is lost.
    });
    try {
      const found = await pool.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'users'",
      );
      if (found.rowCount === 0) throw new Error('the users table is missing; run the migrations first');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StoreError('STORE_OPEN_FAILED', {
        message: `The user and session tables in ${target.host}/${target.database} cannot be opened.`,
        hint: 'Run any zerotrail command once so the database is migrated, then try again.',
        details: { host: target.host, database: target.database },
        cause: error,
      });
    }
    return new PostgresAuthStore(pool);
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    try {
      const result = await this.#pool.query<{ id: number }>(SQL.insertUser, [
        wellFormed(user.name),
        user.role,
        user.passwordHash,
        user.createdAt,
      ]);
      return { id: result.rows[0]?.id ?? 0, ...user };
    } catch (error) {
      if (pgCode(error) === '23505') {
        throw new AuthError('AUTH_USER_EXISTS', { message: `A zerotrail user named "${user.name}" already exists.` });
      }
      throw writeFailed(error);
    }
  }

  async userByName(name: string): Promise<UserRecord | undefined> {
    const row = (await this.#read<UserRow>(SQL.userByName, [wellFormed(name)]))[0];
    return row === undefined ? undefined : rowToUser(row);
  }

  async userById(id: number): Promise<UserRecord | undefined> {
    const row = (await this.#read<UserRow>(SQL.userById, [id]))[0];
    return row === undefined ? undefined : rowToUser(row);
  }

  async listUsers(): Promise<readonly UserRecord[]> {
    return (await this.#read<UserRow>(SQL.listUsers, [])).map(rowToUser);
  }

  async setUserRole(id: number, role: Role): Promise<UserChange> {
    return this.#changeUser(id, async (client) => (await client.query(SQL.setUserRole, [role, id])).rowCount ?? 0);
  }

  async deleteUser(id: number): Promise<UserChange> {
    return this.#changeUser(id, async (client) => (await client.query(SQL.deleteUser, [id])).rowCount ?? 0);
  }

  async createSession(session: SessionRecord): Promise<void> {
    await this.#write(SQL.insertSession, [
      session.tokenHash,
      session.userId,
      session.csrfHash,
      session.createdAt,
      session.expiresAt,
    ]);
  }

  async session(tokenHash: string, nowMs: number): Promise<SessionRecord | undefined> {
    const row = (await this.#read<SessionRow>(SQL.session, [tokenHash, nowMs]))[0];
    return row === undefined ? undefined : rowToSession(row);
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#write(SQL.deleteSession, [tokenHash]);
  }

  async prune(nowMs: number, failuresBeforeMs: number): Promise<number> {
    return this.#transaction(async (client) => {
      const sessions = (await client.query(SQL.pruneSessions, [nowMs])).rowCount ?? 0;
      const links = (await client.query(SQL.pruneLoginLinks, [nowMs])).rowCount ?? 0;
      const failures = (await client.query(SQL.pruneFailures, [failuresBeforeMs])).rowCount ?? 0;
      return sessions + links + failures;
    });
  }

  async createApiKey(key: NewApiKey): Promise<ApiKeyRecord> {
    const rows = await this.#write<ApiKeyRow>(SQL.insertApiKey, [
      key.userId,
      wellFormed(key.label),
      key.keyHash,
      key.keyPrefix,
      key.createdAt,
    ]);
    const row = rows[0];
    if (row === undefined) throw new StoreError('STORE_WRITE_FAILED', { message: 'The API key was not stored.' });
    return rowToApiKey(row);
  }

  async apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.#read<ApiKeyRow>(SQL.apiKeyByHash, [keyHash]))[0];
    return row === undefined ? undefined : rowToApiKey(row);
  }

  async listApiKeys(userId?: number): Promise<readonly ApiKeyRecord[]> {
    const rows =
      userId === undefined
        ? await this.#read<ApiKeyRow>(SQL.listApiKeys, [])
        : await this.#read<ApiKeyRow>(SQL.listApiKeysOfUser, [userId]);
    return rows.map(rowToApiKey);
  }

  async touchApiKey(id: number, nowMs: number): Promise<void> {
    await this.#write(SQL.touchApiKey, [nowMs, id]);
  }

  async deleteApiKey(id: number): Promise<boolean> {
    return this.#transaction(async (client) => ((await client.query(SQL.deleteApiKey, [id])).rowCount ?? 0) > 0);
  }

  async createLoginLink(link: LoginLinkRecord): Promise<void> {
    await this.#write(SQL.insertLoginLink, [link.tokenHash, link.userId, link.createdAt, link.expiresAt]);
  }

  async redeemLoginLink(tokenHash: string, nowMs: number): Promise<number | undefined> {
    return (await this.#write<{ user_id: number }>(SQL.redeemLoginLink, [nowMs, tokenHash]))[0]?.user_id;
  }

  async recordLoginFailure(subject: string, atMs: number): Promise<void> {
    await this.#write(SQL.insertFailure, [wellFormed(subject), atMs]);
  }

  async countLoginFailures(subject: string, sinceMs: number): Promise<number> {
    return (await this.#read<{ n: number }>(SQL.countFailures, [wellFormed(subject), sinceMs]))[0]?.n ?? 0;
  }

  async loginFailureTimes(subject: string, sinceMs: number): Promise<readonly number[]> {
    const rows = await this.#read<{ at: number | string }>(SQL.failureTimes, [wellFormed(subject), sinceMs]);
    return rows.map((row) => Number(row.at));
  }

  async clearLoginFailures(subject: string): Promise<void> {
    await this.#write(SQL.clearFailures, [wellFormed(subject)]);
  }

  async forgetLoginFailure(subject: string, atMs: number): Promise<void> {
    await this.#write(SQL.forgetFailure, [wellFormed(subject), atMs]);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#write(SQL.insertAudit, [
      entry.at,
      entry.actor === null ? null : wellFormed(entry.actor),
      entry.action,
      entry.target === null ? null : wellFormed(entry.target),
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
        ? await this.#read<AuditRow>(SQL.listAudit, [options.limit])
        : await this.#read<AuditRow>(SQL.listAuditBefore, [options.beforeId, options.limit]);
    return rows.map(rowToAuditEntry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** Runs `write` and, when it touched nothing, tells a missing user from the last admin in one transaction. */
  async #changeUser(id: number, write: (client: pg.PoolClient) => Promise<number>): Promise<UserChange> {
    return this.#transaction(async (client): Promise<UserChange> => {
      await client.query(SQL.lockAdmins);
      if ((await write(client)) > 0) return 'done';
      return (await client.query(SQL.userById, [id])).rowCount === 0 ? 'missing' : 'last_admin';
    });
  }

  async #read<T extends object>(sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw readFailed(error);
    }
  }

  async #write<T extends object>(sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw writeFailed(error);
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw writeFailed(error);
    }
    try {
      return await inTransaction(client, work);
    } catch (error) {
      throw writeFailed(error);
    }
  }
}

const BUSY_CODES = new Set(['40001', '40P01', '55P03']);

function readFailed(error: unknown): StoreError {
  if (BUSY_CODES.has(pgCode(error) ?? '')) return new StoreError('STORE_BUSY', { cause: error });
  return new StoreError('STORE_OPEN_FAILED', {
    message: 'The user and session tables could not be read.',
    cause: error,
  });
}

function writeFailed(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (BUSY_CODES.has(pgCode(error) ?? '')) return new StoreError('STORE_BUSY', { cause: error });
  return new StoreError('STORE_WRITE_FAILED', { cause: error });
}
