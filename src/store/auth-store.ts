/** What each role may do; the server checks it on every route. */
export const ROLES = ['admin', 'analyst', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** An argon2id PHC string; never leaves the server. */
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface NewUser {
  readonly name: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface SessionRecord {
  /** SHA-256 of the cookie value; the value itself is never stored. */
  readonly tokenHash: string;
  readonly userId: number;
  /** SHA-256 of the CSRF token bound to this session. */
  readonly csrfHash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface ApiKeyRecord {
  readonly id: number;
  readonly userId: number;
  readonly label: string;
  /** SHA-256 of the key; the key is shown once, when created. */
  readonly keyHash: string;
  /** The first characters of the key, so a person can tell keys apart without the secret. */
  readonly keyPrefix: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

export type NewApiKey = Omit<ApiKeyRecord, 'id' | 'lastUsedAt'>;

/** A one-time login link (the demo prints one): it signs `userId` in once, before `expiresAt`. */
export interface LoginLinkRecord {
  /** SHA-256 of the link's token; the token itself is only in the printed link. */
  readonly tokenHash: string;
  readonly userId: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'logout',
  'source_added',
  'source_removed',
  'source_tested',
  'source_paused',
  'source_resumed',
  'source_updated',
  'retention_changed',
  'user_added',
  'user_role_changed',
  'user_removed',
  'apikey_created',
  'apikey_revoked',
  'export',
  'alert_acknowledged',
  'alert_closed',
  'alert_reopened',
  'alert_assigned',
  'alert_commented',
  'rule_enabled',
  'rule_disabled',
  'rule_settings_changed',
  'rule_added',
  'rule_removed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type UserChange = 'done' | 'missing' | 'last_admin';

export interface AuditEntry {
  readonly at: number;
  /** The user name that acted, or null when nobody authenticated (a failed login for an unknown name). */
  readonly actor: string | null;
  readonly action: AuditAction;
  readonly target: string | null;
  readonly outcome: 'success' | 'failure';
  readonly ip: string | null;
  /** Safe facts only: never a password, token, key or event payload. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface StoredAuditEntry extends AuditEntry {
  readonly id: number;
}

/**
 * zerotrail's own accounts and audit trail, kept beside the events in the same database. The schema comes
 * with the event store's migrations; this contract only reads and writes it.
 */
export interface AuthStore {
  /** Fails with AUTH_USER_EXISTS when the name is taken (names compare case-insensitively). */
  createUser(user: NewUser): Promise<UserRecord>;
  userByName(name: string): Promise<UserRecord | undefined>;
  userById(id: number): Promise<UserRecord | undefined>;
  listUsers(): Promise<readonly UserRecord[]>;
  /**
   * Changes a user's role, or removes the user with their sessions and API keys. Both refuse (`last_admin`) when
   * the change would leave no admin; the check and the write are one statement, so two admins demoting each
   * other at once cannot both succeed.
   */
  setUserRole(id: number, role: Role): Promise<UserChange>;
  deleteUser(id: number): Promise<UserChange>;

  createSession(session: SessionRecord): Promise<void>;
  /** The session with that token hash, if it exists and has not expired at `nowMs`. */
  session(tokenHash: string, nowMs: number): Promise<SessionRecord | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Removes sessions, login links and login failures that can no longer matter; returns how many rows went. */
  prune(nowMs: number, failuresBeforeMs: number): Promise<number>;

  createApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(userId?: number): Promise<readonly ApiKeyRecord[]>;
  touchApiKey(id: number, nowMs: number): Promise<void>;
  /** Deletes the key so it no longer authenticates; false when no key has that id. */
  deleteApiKey(id: number): Promise<boolean>;

  createLoginLink(link: LoginLinkRecord): Promise<void>;
  /**
   * Marks the link used and returns its user id, when it exists, is unused and has not expired at `nowMs`; the
   * check and the mark are one statement, so two requests with the same link cannot both get the user.
   */
  redeemLoginLink(tokenHash: string, nowMs: number): Promise<number | undefined>;

  recordLoginFailure(subject: string, atMs: number): Promise<void>;
  countLoginFailures(subject: string, sinceMs: number): Promise<number>;
  /** When each failure of `subject` since `sinceMs` was recorded, oldest first. */
  loginFailureTimes(subject: string, sinceMs: number): Promise<readonly number[]>;
  clearLoginFailures(subject: string): Promise<void>;
  /** Removes one failure of `subject` recorded at `atMs` (an attempt that turned out not to be one). */
  forgetLoginFailure(subject: string, atMs: number): Promise<void>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; `beforeId` pages back. */
  listAudit(options: { readonly limit: number; readonly beforeId?: number }): Promise<readonly StoredAuditEntry[]>;

  close(): Promise<void>;
}
