import type { ApiKeyRecord, Role, SessionRecord, StoredAuditEntry, UserRecord } from '../auth-store.js';

/** A `users` row as both stores read it. */
export interface UserRow {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly password_hash: string;
  readonly created_at: number;
}

export interface SessionRow {
  readonly token_hash: string;
  readonly user_id: number;
  readonly csrf_hash: string;
  readonly created_at: number;
  readonly expires_at: number;
}

export interface ApiKeyRow {
  readonly id: number;
  readonly user_id: number;
  readonly label: string;
  readonly key_hash: string;
  readonly key_prefix: string;
  readonly created_at: number;
  readonly last_used_at: number | null;
}

export interface AuditRow {
  readonly id: number;
  readonly at: number;
  readonly actor: string | null;
  readonly action: StoredAuditEntry['action'];
  readonly target: string | null;
  readonly outcome: StoredAuditEntry['outcome'];
  readonly ip: string | null;
  readonly details: string;
}

export function rowToUser(row: UserRow): UserRecord {
  return { id: row.id, name: row.name, role: row.role, passwordHash: row.password_hash, createdAt: row.created_at };
}

export function rowToSession(row: SessionRow): SessionRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    csrfHash: row.csrf_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function rowToApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    label: row.label,
    keyHash: row.key_hash,
    keyPrefix: row.key_prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export function rowToAuditEntry(row: AuditRow): StoredAuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    ip: row.ip,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
