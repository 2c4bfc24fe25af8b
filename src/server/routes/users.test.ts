import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture, type Session } from '../server-fixture.suite.js';

interface AuditLine {
  readonly actor: string | null;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly details: Record<string, unknown>;
}

let fixture: ServerFixture;
let admin: Session;

beforeEach(async () => {
  fixture = await startServerFixture();
  admin = await login(fixture.server, 'admin');
});
afterEach(async () => fixture.close());

function asAdmin(): Record<string, string> {
  return { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
}

async function auditTrail(): Promise<readonly AuditLine[]> {
  const res = await fixture.server.inject({ method: 'GET', url: '/api/audit', headers: { cookie: admin.cookie } });
  return res.json<{ entries: AuditLine[] }>().entries;
}

describe('changing a role', () => {
  it('changes the role, takes effect on the next request of that user, and is audited', async () => {
    const viewer = await login(fixture.server, 'viewer');
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/viewer/role',
      headers: asAdmin(),
      payload: { role: 'analyst' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { name: 'viewer', role: 'analyst' } });
    const me = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: viewer.cookie } });
    expect(me.json()).toMatchObject({ user: { name: 'viewer', role: 'analyst' } });
    expect((await auditTrail())[0]).toMatchObject({
      actor: 'admin',
      action: 'user_role_changed',
      target: 'viewer',
      outcome: 'success',
      details: { from: 'viewer', to: 'analyst' },
    });
  });

  it('refuses to demote the last admin, says why, and audits the refusal', async () => {
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/admin/role',
      headers: asAdmin(),
      payload: { role: 'viewer' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'AUTH_LAST_ADMIN' });
    expect(res.json<{ error: { message: string } }>().error.message).toContain('last admin');
    const me = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: admin.cookie } });
    expect(me.json()).toMatchObject({ user: { role: 'admin' } });
    expect((await auditTrail())[0]).toMatchObject({
      action: 'user_role_changed',
      target: 'admin',
      outcome: 'failure',
      details: { reason: 'last_admin' },
    });
  });

  it('lets an admin step down once another admin exists', async () => {
    const promoted = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/analyst/role',
      headers: asAdmin(),
      payload: { role: 'admin' },
    });
    expect(promoted.statusCode).toBe(200);
    const stepDown = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/admin/role',
      headers: asAdmin(),
      payload: { role: 'viewer' },
    });
    expect(stepDown.statusCode).toBe(200);
    const again = await fixture.server.inject({
      method: 'GET',
      url: '/api/users',
      headers: { cookie: admin.cookie },
    });
    expect(again.statusCode).toBe(403);
  });

  it('answers 404 for an unknown user and 400 for an unknown role', async () => {
    const unknown = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/nobody/role',
      headers: asAdmin(),
      payload: { role: 'viewer' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { message: string } }>().error.message).toContain('nobody');
    const badRole = await fixture.server.inject({
      method: 'POST',
      url: '/api/users/viewer/role',
      headers: asAdmin(),
      payload: { role: 'root' },
    });
    expect(badRole.statusCode).toBe(400);
  });
});

describe('removing a user', () => {
  it('removes the user, ends their sessions and API keys, and is audited', async () => {
    const analyst = await login(fixture.server, 'analyst');
    const created = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: asAdmin(),
      payload: { user: 'analyst', label: 'script' },
    });
    const { key } = created.json<{ key: string }>();
    const res = await fixture.server.inject({ method: 'DELETE', url: '/api/users/analyst', headers: asAdmin() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ removed: 'analyst' });
    for (const headers of [{ cookie: analyst.cookie }, { authorization: `Bearer ${key}` }]) {
      const me = await fixture.server.inject({ method: 'GET', url: '/api/me', headers });
      expect(me.statusCode).toBe(401);
    }
    const users = await fixture.server.inject({ method: 'GET', url: '/api/users', headers: { cookie: admin.cookie } });
    expect(users.json<{ users: { name: string }[] }>().users.map((user) => user.name)).toEqual(['admin', 'viewer']);
    expect((await auditTrail())[0]).toMatchObject({
      actor: 'admin',
      action: 'user_removed',
      target: 'analyst',
      outcome: 'success',
      details: { role: 'analyst' },
    });
  });

  it('refuses to remove the last admin and says so', async () => {
    const res = await fixture.server.inject({ method: 'DELETE', url: '/api/users/admin', headers: asAdmin() });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'AUTH_LAST_ADMIN' });
    expect(res.json<{ error: { message: string } }>().error.message).toContain('last admin');
    const me = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: admin.cookie } });
    expect(me.statusCode).toBe(200);
    expect((await auditTrail())[0]).toMatchObject({ action: 'user_removed', target: 'admin', outcome: 'failure' });
  });

  it('answers 404 for an unknown user', async () => {
    const res = await fixture.server.inject({ method: 'DELETE', url: '/api/users/nobody', headers: asAdmin() });
    expect(res.statusCode).toBe(404);
  });
});

describe('revoking an API key', () => {
  it('stops the key at once, drops it from the list and audits it without the key', async () => {
    const created = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: asAdmin(),
      payload: { user: 'viewer', label: 'SIEM pull' },
    });
    const { key, apiKey } = created.json<{ key: string; apiKey: { id: number; prefix: string } }>();
    const before = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(before.statusCode).toBe(200);

    const res = await fixture.server.inject({ method: 'DELETE', url: `/api/apikeys/${apiKey.id}`, headers: asAdmin() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: apiKey.id });
    const after = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(after.statusCode).toBe(401);
    const listed = await fixture.server.inject({
      method: 'GET',
      url: '/api/apikeys',
      headers: { cookie: admin.cookie },
    });
    expect(listed.json()).toEqual({ apiKeys: [] });
    const trail = await auditTrail();
    expect(trail[0]).toMatchObject({
      actor: 'admin',
      action: 'apikey_revoked',
      target: 'viewer',
      outcome: 'success',
      details: { keyId: apiKey.id, label: 'SIEM pull', prefix: apiKey.prefix },
    });
    expect(JSON.stringify(trail)).not.toContain(key);

    const twice = await fixture.server.inject({
      method: 'DELETE',
      url: `/api/apikeys/${apiKey.id}`,
      headers: asAdmin(),
    });
    expect(twice.statusCode).toBe(404);
    expect(twice.json<{ error: { message: string } }>().error.message).toContain('revoked already');
  });

  it('never gives a revoked key id to a new key: a retried revoke leaves the new key working', async () => {
    const create = async (label: string): Promise<{ key: string; apiKey: { id: number } }> => {
      const res = await fixture.server.inject({
        method: 'POST',
        url: '/api/apikeys',
        headers: asAdmin(),
        payload: { user: 'viewer', label },
      });
      expect(res.statusCode).toBe(201);
      return res.json();
    };
    const first = await create('first');
    const revoke = () =>
      fixture.server.inject({ method: 'DELETE', url: `/api/apikeys/${first.apiKey.id}`, headers: asAdmin() });
    expect((await revoke()).statusCode).toBe(200);
    const second = await create('second');
    expect(second.apiKey.id).not.toBe(first.apiKey.id);

    expect((await revoke()).statusCode).toBe(404);
    const withNewKey = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      headers: { authorization: `Bearer ${second.key}` },
    });
    expect(withNewKey.statusCode).toBe(200);
    const keyIds = (await auditTrail())
      .filter((line) => line.action.startsWith('apikey_'))
      .map((line) => line.details['keyId']);
    expect(keyIds).toEqual([second.apiKey.id, first.apiKey.id, first.apiKey.id]);
  });

  it('refuses a request without the CSRF token and an id that is not a number', async () => {
    const noCsrf = await fixture.server.inject({
      method: 'DELETE',
      url: '/api/apikeys/1',
      headers: { cookie: admin.cookie },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json<{ error: { code: string } }>().error.code).toBe('AUTH_CSRF_INVALID');
    const bad = await fixture.server.inject({ method: 'DELETE', url: '/api/apikeys/abc', headers: asAdmin() });
    expect(bad.statusCode).toBe(400);
  });
});
