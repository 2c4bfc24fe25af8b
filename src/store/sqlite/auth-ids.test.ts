import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteAuthStore } from './auth-store.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-auth-ids-'));
let counter = 0;
const freshPath = (): string => join(dir, `store-${counter++}.db`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

async function migrated(path: string): Promise<SqliteAuthStore> {
  const store = await SqliteStore.open({ path });
  await store.migrate();
  await store.close();
  return SqliteAuthStore.open({ path });
}

const newKey = (userId: number, n: number) => ({
  userId,
  label: `key ${n}`,
  keyHash: `hash-${n}`,
  keyPrefix: `zt_${n}`,
  createdAt: T0,
});

/** A database as the migrations before 16 left it, written with the rows an installation of that time had. */
function legacyDatabase(path: string, fill: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const migration of MIGRATIONS.filter((m) => m.version < 16)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        T0,
      );
    }
    fill(db);
  } finally {
    db.close();
  }
}

describe('SQLite user and API key ids', () => {
  it('never gives a revoked key id to a new key, and a second revoke of it finds nothing', async () => {
    const auth = await migrated(freshPath());
    try {
      const ada = await auth.createUser({ name: 'ada', role: 'admin', passwordHash: 'x', createdAt: T0 });
      const first = await auth.createApiKey(newKey(ada.id, 1));
      expect(await auth.deleteApiKey(first.id)).toBe(true);
      const second = await auth.createApiKey(newKey(ada.id, 2));
      expect(second.id).toBeGreaterThan(first.id);
      expect(await auth.deleteApiKey(first.id)).toBe(false);
      expect(await auth.apiKeyByHash('hash-2')).toMatchObject({ id: second.id });
    } finally {
      await auth.close();
    }
  });

  it('never gives a removed user id to a new user', async () => {
    const auth = await migrated(freshPath());
    try {
      await auth.createUser({ name: 'ada', role: 'admin', passwordHash: 'x', createdAt: T0 });
      const bob = await auth.createUser({ name: 'bob', role: 'viewer', passwordHash: 'x', createdAt: T0 });
      expect(await auth.deleteUser(bob.id)).toBe('done');
      const carol = await auth.createUser({ name: 'carol', role: 'viewer', passwordHash: 'x', createdAt: T0 });
      expect(carol.id).toBeGreaterThan(bob.id);
    } finally {
      await auth.close();
    }
  });

  it('upgrades an existing database: keys, sessions and links keep working, and ids continue past any ever used', async () => {
    const path = freshPath();
    legacyDatabase(path, (db) => {
      db.exec(`
        INSERT INTO users (id, name, role, password_hash, created_at) VALUES (1, 'ada', 'admin', 'h', ${T0});
        INSERT INTO users (id, name, role, password_hash, created_at) VALUES (2, 'bob', 'viewer', 'h', ${T0});
        INSERT INTO api_keys (id, user_id, label, key_hash, key_prefix, created_at, last_used_at)
          VALUES (3, 2, 'ci', 'hash-3', 'zt_3', ${T0}, ${T0 + 1});
        INSERT INTO sessions (token_hash, user_id, csrf_hash, created_at, expires_at)
          VALUES ('session-bob', 2, 'csrf-bob', ${T0}, ${T0 + HOUR});
        INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES ('link-bob', 2, ${T0}, ${T0 + HOUR});
        -- Key 9 was created and revoked: its row is gone, only the audit trail remembers its id.
        INSERT INTO audit_log (at, actor, action, target, outcome, ip, details)
          VALUES (${T0}, 'ada', 'apikey_created', 'bob', 'success', NULL, '{"keyId":9,"label":"old","prefix":"zt_9"}');
        INSERT INTO audit_log (at, actor, action, target, outcome, ip, details)
          VALUES (${T0}, 'ada', 'apikey_revoked', 'bob', 'success', NULL, '{"keyId":9,"label":"old","prefix":"zt_9"}');
      `);
    });
    const auth = await migrated(path);
    try {
      expect(await auth.apiKeyByHash('hash-3')).toMatchObject({ id: 3, userId: 2, label: 'ci', lastUsedAt: T0 + 1 });
      expect(await auth.session('session-bob', T0)).toMatchObject({ userId: 2, csrfHash: 'csrf-bob' });
      const next = await auth.createApiKey(newKey(1, 10));
      expect(next.id).toBe(10);
      const carol = await auth.createUser({ name: 'carol', role: 'viewer', passwordHash: 'x', createdAt: T0 });
      expect(carol.id).toBe(3);
      // The rebuilt tables still cascade: removing bob takes his key, session and link with him.
      expect(await auth.deleteUser(2)).toBe('done');
      expect(await auth.apiKeyByHash('hash-3')).toBeUndefined();
      expect(await auth.session('session-bob', T0)).toBeUndefined();
      expect(await auth.redeemLoginLink('link-bob', T0)).toBeUndefined();
      expect(await auth.userByName('ADA')).toMatchObject({ id: 1 });
    } finally {
      await auth.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });

  it('upgrades a database that never had a user', async () => {
    const path = freshPath();
    legacyDatabase(path, () => undefined);
    const auth = await migrated(path);
    try {
      const ada = await auth.createUser({ name: 'ada', role: 'admin', passwordHash: 'x', createdAt: T0 });
      expect(ada.id).toBe(1);
      expect((await auth.createApiKey(newKey(ada.id, 1))).id).toBe(1);
    } finally {
      await auth.close();
    }
  });
});
