import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { ensurePostgres, TestSchemas } from '../../../test/helpers/postgres.js';
import { PostgresAuthStore } from './auth-store.js';
import { PostgresStore } from './store.js';

const T0 = Date.UTC(2024, 0, 15, 12);
const schemas = new TestSchemas('auth');

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
});

describe('PostgresAuthStore', () => {
  let store: PostgresStore;
  let auth: PostgresAuthStore;

  beforeEach(async () => {
    const url = schemas.url();
    store = await PostgresStore.open({ url });
    await store.migrate();
    auth = await PostgresAuthStore.open({ url });
  });

  afterEach(async () => {
    await auth.close();
    await store.close();
  });

  const user = (name: string, role: 'admin' | 'analyst' | 'viewer' = 'admin') =>
    auth.createUser({ name, role, passwordHash: `$argon2id$${name}`, createdAt: T0 });

  it('refuses to open a schema that was never migrated', async () => {
    await expect(PostgresAuthStore.open({ url: schemas.url() })).rejects.toMatchObject({ code: 'STORE_OPEN_FAILED' });
  });

  it('keeps users with names unique without regard to case', async () => {
    const ada = await user('Ada@example.com');
    await user('bob@example.com', 'viewer');
    await expect(user('ADA@example.com')).rejects.toMatchObject({ code: 'AUTH_USER_EXISTS' });
    expect(await auth.userByName('ada@EXAMPLE.com')).toEqual(ada);
    expect(await auth.userById(ada.id)).toEqual(ada);
    expect((await auth.listUsers()).map((item) => item.name)).toEqual(['Ada@example.com', 'bob@example.com']);
  });

  it('never leaves zero admins, even when two admins demote each other at once', async () => {
    const first = await user('first@example.com');
    const second = await user('second@example.com');
    const results = await Promise.all([auth.setUserRole(first.id, 'viewer'), auth.setUserRole(second.id, 'viewer')]);
    expect([...results].sort()).toEqual(['done', 'last_admin']);
    expect((await auth.listUsers()).filter((item) => item.role === 'admin')).toHaveLength(1);
    const admin = (await auth.listUsers()).find((item) => item.role === 'admin');
    expect(await auth.deleteUser(admin?.id ?? 0)).toBe('last_admin');
    expect(await auth.deleteUser(9_999)).toBe('missing');
  });

  it('never gives a revoked key id or a removed user id out again', async () => {
    const admin = await user('admin@example.com');
    const newKey = (n: number) =>
      auth.createApiKey({ userId: admin.id, label: '', keyHash: `k${n}`, keyPrefix: `zt_k${n}`, createdAt: T0 });
    const first = await newKey(1);
    expect(await auth.deleteApiKey(first.id)).toBe(true);
    expect((await newKey(2)).id).toBeGreaterThan(first.id);
    expect(await auth.deleteApiKey(first.id)).toBe(false);
    const viewer = await user('viewer@example.com', 'viewer');
    expect(await auth.deleteUser(viewer.id)).toBe('done');
    expect((await user('other@example.com', 'viewer')).id).toBeGreaterThan(viewer.id);
  });

  it('removes a user with their sessions and keys', async () => {
    await user('admin@example.com');
    const viewer = await user('viewer@example.com', 'viewer');
    await auth.createSession({ tokenHash: 's1', userId: viewer.id, csrfHash: 'c1', createdAt: T0, expiresAt: T0 + 10 });
    const key = await auth.createApiKey({
      userId: viewer.id,
      label: 'ci',
      keyHash: 'k1',
      keyPrefix: 'zt_k1',
      createdAt: T0,
    });
    expect(key).toMatchObject({ userId: viewer.id, label: 'ci', lastUsedAt: null });
    expect(await auth.deleteUser(viewer.id)).toBe('done');
    expect(await auth.session('s1', T0)).toBeUndefined();
    expect(await auth.apiKeyByHash('k1')).toBeUndefined();
  });

  it('finds sessions until they expire and prunes them with old login failures and links', async () => {
    const ada = await user('ada@example.com');
    await auth.createSession({ tokenHash: 's1', userId: ada.id, csrfHash: 'c1', createdAt: T0, expiresAt: T0 + 10 });
    expect(await auth.session('s1', T0 + 9)).toMatchObject({ userId: ada.id, csrfHash: 'c1' });
    expect(await auth.session('s1', T0 + 10)).toBeUndefined();
    await auth.recordLoginFailure('ada@example.com', T0 - 100);
    await auth.recordLoginFailure('ada@example.com', T0);
    expect(await auth.countLoginFailures('ada@example.com', T0 - 50)).toBe(1);
    await auth.createLoginLink({ tokenHash: 'l1', userId: ada.id, createdAt: T0, expiresAt: T0 + 5 });
    expect(await auth.prune(T0 + 10, T0 - 50)).toBe(3);
    expect(await auth.countLoginFailures('ada@example.com', 0)).toBe(1);
    await auth.clearLoginFailures('ada@example.com');
    expect(await auth.countLoginFailures('ada@example.com', 0)).toBe(0);
    // Forgetting one failure removes one of two recorded at the same moment, and only of that subject.
    await auth.recordLoginFailure('ada@example.com', T0);
    await auth.recordLoginFailure('ada@example.com', T0);
    await auth.recordLoginFailure('bob@example.com', T0);
    await auth.forgetLoginFailure('ada@example.com', T0);
    expect(await auth.countLoginFailures('ada@example.com', 0)).toBe(1);
    expect(await auth.countLoginFailures('bob@example.com', 0)).toBe(1);
    // Times come back as numbers, oldest first, from `since` on.
    await auth.recordLoginFailure('ada@example.com', T0 + 20);
    await auth.recordLoginFailure('ada@example.com', T0 - 20);
    expect(await auth.loginFailureTimes('ada@example.com', T0 - 10)).toEqual([T0, T0 + 20]);
  });

  it('redeems a login link once, before it expires', async () => {
    const ada = await user('ada@example.com');
    await auth.createLoginLink({ tokenHash: 'l1', userId: ada.id, createdAt: T0, expiresAt: T0 + 60_000 });
    await auth.createLoginLink({ tokenHash: 'l2', userId: ada.id, createdAt: T0, expiresAt: T0 + 60_000 });
    const twice = await Promise.all([auth.redeemLoginLink('l1', T0 + 1), auth.redeemLoginLink('l1', T0 + 1)]);
    expect(twice.filter((id) => id === ada.id)).toHaveLength(1);
    expect(await auth.redeemLoginLink('l2', T0 + 60_000)).toBeUndefined();
  });

  it('lists, touches and deletes API keys', async () => {
    const ada = await user('ada@example.com');
    const bob = await user('bob@example.com', 'analyst');
    const first = await auth.createApiKey({
      userId: ada.id,
      label: 'a',
      keyHash: 'h1',
      keyPrefix: 'p1',
      createdAt: T0,
    });
    const second = await auth.createApiKey({
      userId: bob.id,
      label: 'b',
      keyHash: 'h2',
      keyPrefix: 'p2',
      createdAt: T0,
    });
    await auth.touchApiKey(first.id, T0 + 5);
    expect((await auth.apiKeyByHash('h1'))?.lastUsedAt).toBe(T0 + 5);
    expect((await auth.listApiKeys()).map((key) => key.id)).toEqual([first.id, second.id]);
    expect((await auth.listApiKeys(bob.id)).map((key) => key.id)).toEqual([second.id]);
    expect(await auth.deleteApiKey(second.id)).toBe(true);
    expect(await auth.deleteApiKey(second.id)).toBe(false);
  });

  it('pages the audit trail newest first', async () => {
    for (let index = 0; index < 5; index += 1) {
      await auth.appendAudit({
        at: T0 + index,
        actor: 'ada@example.com',
        action: 'login',
        target: null,
        outcome: 'success',
        ip: '192.0.2.1',
        details: { n: index },
      });
    }
    const first = await auth.listAudit({ limit: 2 });
    expect(first.map((entry) => entry.details)).toEqual([{ n: 4 }, { n: 3 }]);
    const next = await auth.listAudit({ limit: 10, beforeId: first[1]?.id ?? 0 });
    expect(next.map((entry) => entry.at)).toEqual([T0 + 2, T0 + 1, T0]);
  });
});
