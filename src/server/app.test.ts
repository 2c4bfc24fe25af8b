import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../app.js';
import type { NormalizedEvent } from '../core/event.js';
import { login, PASSWORDS, startServerFixture, type ServerFixture } from './server-fixture.suite.js';

let fixture: ServerFixture;
beforeEach(async () => {
  fixture = await startServerFixture();
});
afterEach(async () => {
  await fixture.close();
});

const T0 = Date.UTC(2026, 10, 25, 10);
function event(n: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `${T0.toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
    time: T0 + n * 1000,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: n % 2 === 0 ? 'success' : 'failure',
    user: `user${n % 3}@example.com`,
    srcIp: `192.0.2.${n}`,
    country: 'us',
    app: 'Wiki',
    appUid: null,
    idp: 'okta',
    rayId: `ray${n}`,
    ocsf: { n },
    raw: { n },
    ...overrides,
  };
}

describe('security headers and errors', () => {
  it('sends the security headers on every answer, errors and unknown routes included', async () => {
    for (const url of ['/api/health', '/api/events', '/nope']) {
      const res = await fixture.server.inject({ method: 'GET', url });
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('answers a request Node.js refuses before routing (a 20 kB URL) with the error body and the security headers', async () => {
    const address = await fixture.server.listen({ host: '127.0.0.1', port: 0 });
    const answer = await fetch(`${address}/api/events?q=${'a'.repeat(20_000)}`);
    expect(answer.status).toBe(431);
    expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await answer.json()).toMatchObject({
      error: { code: 'HTTP_REQUEST_INVALID', message: expect.stringContaining('too large') as string },
    });
  });

  it('answers an unknown route and bad input with the error body and a request id', async () => {
    const missing = await fixture.server.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(missing.statusCode).toBe(404);
    const body = missing.json<{ error: { code: string; message: string; requestId: string } }>();
    expect(body.error.code).toBe('HTTP_NOT_FOUND');
    expect(body.error.requestId).toBe(missing.headers['x-request-id']);

    const postLogin = (contentType: string, payload: string) =>
      fixture.server.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': contentType }, payload });
    const notJson = await postLogin('application/json', '{"name": ');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json<{ error: { code: string } }>().error.code).toBe('HTTP_REQUEST_INVALID');
    // A JSON null is refused as a body that is not an object, not as one missing each field.
    const nullBody = await postLogin('application/json', 'null');
    expect(nullBody.statusCode).toBe(400);
    expect(nullBody.json<{ error: { message: string } }>().error.message).toMatch(
      /^The request is invalid: body: .*expected object, received null/,
    );

    const formPost = await postLogin('application/x-www-form-urlencoded', 'name=admin&password=x');
    expect(formPost.statusCode).toBe(415);
    const textPost = await postLogin('text/plain', JSON.stringify({ name: 'admin', password: PASSWORDS.admin }));
    expect(textPost.statusCode).toBe(415);
    expect(textPost.json<{ error: { code: string } }>().error.code).toBe('HTTP_REQUEST_INVALID');
  });

  it('answers an unexpected failure with a plain 500 and keeps the detail in the log only', async () => {
    const admin = await login(fixture.server, 'admin');
    // An audit row no zerotrail wrote: reading it fails in a way no route expects.
    const db = new Database(join(fixture.dataDir, DATABASE_FILE));
    db.prepare(
      "INSERT INTO audit_log (at, actor, action, target, outcome, ip, details) VALUES (0, NULL, 'login', NULL, 'success', NULL, '{broken')",
    ).run();
    db.close();
    const res = await fixture.server.inject({ method: 'GET', url: '/api/audit', headers: { cookie: admin.cookie } });
    expect(res.statusCode).toBe(500);
    const body = res.json<{ error: { code: string; message: string; requestId: string } }>();
    expect(body.error).toEqual({
      code: 'INTERNAL',
      message: 'An internal error occurred.',
      requestId: expect.any(String) as string,
    });
    expect(res.body).not.toContain('JSON');
    const logged = fixture.logs();
    expect(logged).toContain(body.error.requestId);
    expect(logged).toContain('SyntaxError');
  });

  it('answers a database fault with its code, not a stack trace', async () => {
    const session = await login(fixture.server, 'viewer');
    await fixture.auth.close();
    const res = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: session.cookie } });
    expect(res.statusCode).toBe(500);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('STORE_OPEN_FAILED');
    expect(res.body).not.toContain('at ');
  });
});

describe('login, sessions and CSRF', () => {
  it('sets an httpOnly SameSite=Strict session cookie and refuses a wrong password without saying which part was wrong', async () => {
    const ok = await fixture.server.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'admin', password: PASSWORDS.admin },
    });
    expect(ok.statusCode).toBe(200);
    const cookie = ok.cookies.find((entry) => entry.name === 'zt_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.secure).toBeFalsy();
    expect(ok.json()).toMatchObject({
      user: { name: 'admin', role: 'admin' },
      csrfToken: expect.any(String) as string,
    });

    const wrong = await fixture.server.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'admin', password: 'not-the-password' },
    });
    const unknown = await fixture.server.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'nobody', password: 'not-the-password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json<{ error: { message: string } }>().error.message).toBe(
      unknown.json<{ error: { message: string } }>().error.message,
    );
  });

  it('stores only hashes of the session cookie and the CSRF token', async () => {
    const session = await login(fixture.server, 'analyst');
    const rows = JSON.stringify(
      await fixture.auth.session(
        (await import('./auth/tokens.js')).sha256(session.cookie.slice('zt_session='.length)),
        fixture.clock.now(),
      ),
    );
    expect(rows).not.toContain(session.cookie.slice('zt_session='.length));
    expect(rows).not.toContain(session.csrfToken);
  });

  it('gives the CSRF token back from /api/me, ends the session at logout and after it expires', async () => {
    const session = await login(fixture.server, 'viewer');
    const me = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: session.cookie } });
    expect(me.json()).toEqual({
      user: { name: 'viewer', role: 'viewer' },
      via: 'session',
      csrfToken: session.csrfToken,
    });

    const noCsrf = await fixture.server.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie: session.cookie },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json<{ error: { code: string } }>().error.code).toBe('AUTH_CSRF_INVALID');

    const out = await fixture.server.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(out.statusCode).toBe(200);
    const after = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: session.cookie } });
    expect(after.statusCode).toBe(401);

    const second = await login(fixture.server, 'viewer');
    fixture.clock.advance(12 * 3_600_000 + 1);
    const expired = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: second.cookie } });
    expect(expired.statusCode).toBe(401);
    // The next sign-in sweeps the expired session rows away.
    const sessions = (): number => {
      const db = new Database(join(fixture.dataDir, DATABASE_FILE), { readonly: true });
      const n = (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
      db.close();
      return n;
    };
    expect(sessions()).toBe(1);
    await login(fixture.server, 'viewer');
    expect(sessions()).toBe(1);
  });

  it("refuses another session's CSRF token", async () => {
    const admin = await login(fixture.server, 'admin');
    const other = await login(fixture.server, 'admin');
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie: admin.cookie, 'x-csrf-token': other.csrfToken },
      payload: { name: 'carol', role: 'viewer', password: 'carol-long-enough-pass' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_CSRF_INVALID');
  });
});

describe('login rate limiting', () => {
  const attemptLogin = (name: string, password: string, remoteAddress?: string) =>
    fixture.server.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name, password },
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    });

  it('refuses an account after five failures in the window, even with the right password, and lets it in after the window', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await attemptLogin('analyst', 'wrong-password-x');
      expect(res.statusCode).toBe(401);
    }
    const limited = await attemptLogin('analyst', PASSWORDS.analyst);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('900');
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('AUTH_RATE_LIMITED');
    // Another account from the same address is still fine: the address budget is larger.
    expect((await attemptLogin('viewer', PASSWORDS.viewer)).statusCode).toBe(200);

    fixture.clock.advance(15 * 60_000 + 1);
    const later = await attemptLogin('analyst', PASSWORDS.analyst);
    expect(later.statusCode).toBe(200);
  });

  it('checks at most the budget of guesses that arrive at once, then refuses the rest', async () => {
    const guesses = Array.from({ length: 30 }, () => 'wrong-password-x');
    const answers = await Promise.all(
      [...guesses, PASSWORDS.analyst].map((password) =>
        fixture.server.inject({ method: 'POST', url: '/api/login', payload: { name: 'analyst', password } }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    // Five passwords are checked at most (the account's budget), whatever their order; every other attempt is refused.
    expect(statuses.filter((status) => status !== 429).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(26);
  });

  it('does not count signing in, nor refused attempts, against the budgets', async () => {
    for (let n = 0; n < 25; n++) {
      const res = await attemptLogin('viewer', PASSWORDS.viewer);
      expect(res.statusCode).toBe(200);
    }
    for (let n = 0; n < 5; n++) {
      await attemptLogin('analyst', 'wrong-password-x');
    }
    fixture.clock.advance(10 * 60_000);
    // Hammering the locked account for the rest of the window does not stretch the lock past it, and each refusal
    // says how long is left of it.
    for (let n = 0; n < 10; n++) {
      const refused = await attemptLogin('analyst', 'wrong-password-x');
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('300');
      expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/try again in 5 minutes\.$/);
    }
    fixture.clock.advance(5 * 60_000 + 1);
    const after = await attemptLogin('analyst', PASSWORDS.analyst);
    expect(after.statusCode).toBe(200);
  });

  it('refuses an address that sprays many accounts', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      await attemptLogin(`guess${attempt}`, 'wrong-password-x');
    }
    const res = await attemptLogin('admin', PASSWORDS.admin);
    expect(res.statusCode).toBe(429);
    const fromElsewhere = await attemptLogin('admin', PASSWORDS.admin, '198.51.100.7');
    expect(fromElsewhere.statusCode).toBe(200);
  });
});

describe('API keys', () => {
  it('creates a key shown once that authenticates as Bearer with the owner role, needs no CSRF token, and lists without the key', async () => {
    const admin = await login(fixture.server, 'admin');
    const created = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
      payload: { user: 'viewer', label: 'SIEM pull' },
    });
    expect(created.statusCode).toBe(201);
    const { key } = created.json<{ key: string }>();
    expect(key).toMatch(/^ztk_[A-Za-z0-9_-]{43}$/);

    const me = await fixture.server.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(me.json()).toEqual({ user: { name: 'viewer', role: 'viewer' }, via: 'api_key', csrfToken: null });
    const forbidden = await fixture.server.inject({
      method: 'GET',
      url: '/api/users',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(forbidden.statusCode).toBe(403);
    // Logout ends sessions, not keys: it says so instead of answering as if the key were ended.
    const logout = await fixture.server.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(logout.statusCode).toBe(400);
    expect(logout.json<{ error: { message: string } }>().error.message).toMatch(/^There is no session to end/);
    // With the key, a session cookie sent along is the session ended.
    const browser = await login(fixture.server, 'analyst');
    const both = await fixture.server.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { authorization: `Bearer ${key}`, cookie: browser.cookie },
    });
    expect(both.statusCode).toBe(200);
    const ended = await fixture.server.inject({ method: 'GET', url: '/api/me', headers: { cookie: browser.cookie } });
    expect(ended.statusCode).toBe(401);
    const stillValid = await fixture.server.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(stillValid.statusCode).toBe(200);

    const wrong = await fixture.server.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${key}x` },
    });
    expect(wrong.statusCode).toBe(401);
    // A bad Authorization header never falls back to the cookie that came with it.
    const mixed = await fixture.server.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: 'Bearer nonsense', cookie: admin.cookie },
    });
    expect(mixed.statusCode).toBe(401);

    const listed = await fixture.server.inject({
      method: 'GET',
      url: '/api/apikeys',
      headers: { cookie: admin.cookie },
    });
    expect(listed.json<{ apiKeys: { lastUsedAt: string | null }[] }>().apiKeys[0]?.lastUsedAt).toBe(
      new Date(fixture.clock.now()).toISOString(),
    );
    expect(listed.json()).toMatchObject({
      apiKeys: [{ user: 'viewer', role: 'viewer', label: 'SIEM pull', prefix: key.slice(0, 10) }],
    });
    expect(listed.body).not.toContain(key);
    expect(fixture.logs()).not.toContain(key);
    const audit = await fixture.server.inject({ method: 'GET', url: '/api/audit', headers: { cookie: admin.cookie } });
    expect(audit.body).toContain('apikey_created');
    expect(audit.body).not.toContain(key);
  });
});

describe('users and audit', () => {
  it('adds a user with an enforced password length, records logins, failures and changes for admins only', async () => {
    const admin = await login(fixture.server, 'admin');
    const headers = { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
    const weak = await fixture.server.inject({
      method: 'POST',
      url: '/api/users',
      headers,
      payload: { name: 'dave', role: 'analyst', password: 'short' },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json<{ error: { code: string } }>().error.code).toBe('AUTH_PASSWORD_WEAK');
    const added = await fixture.server.inject({
      method: 'POST',
      url: '/api/users',
      headers,
      payload: { name: 'dave', role: 'analyst', password: 'dave-long-enough-pass' },
    });
    expect(added.statusCode).toBe(201);
    const dup = await fixture.server.inject({
      method: 'POST',
      url: '/api/users',
      headers,
      payload: { name: 'DAVE', role: 'viewer', password: 'dave-long-enough-pass' },
    });
    expect(dup.statusCode).toBe(409);
    await fixture.server.inject({
      method: 'POST',
      url: '/api/login',
      payload: { name: 'dave', password: 'wrong-password-x' },
    });

    const users = await fixture.server.inject({ method: 'GET', url: '/api/users', headers: { cookie: admin.cookie } });
    expect(users.json<{ users: { name: string }[] }>().users.map((user) => user.name)).toEqual([
      'admin',
      'analyst',
      'dave',
      'viewer',
    ]);
    expect(users.body).not.toContain('argon2');

    const audit = await fixture.server.inject({ method: 'GET', url: '/api/audit', headers: { cookie: admin.cookie } });
    const entries = audit.json<{
      entries: { action: string; actor: string | null; target: string; outcome: string }[];
    }>().entries;
    expect(entries.slice(0, 3).map((entry) => [entry.action, entry.actor, entry.target, entry.outcome])).toEqual([
      ['login_failed', null, 'dave', 'failure'],
      ['user_added', 'admin', 'dave', 'success'],
      ['login', 'admin', 'admin', 'success'],
    ]);
    expect(audit.body).not.toContain('dave-long-enough-pass');
    expect(audit.body).not.toContain('wrong-password-x');
  });
});

describe('search', () => {
  beforeEach(async () => {
    await fixture.app.store.append(
      [0, 1, 2, 3, 4, 5].map((n) => event(n)),
      { id: 'cf/access_requests', value: { n: 6 } },
    );
  });

  it('pages through matching events with the query language and a time range', async () => {
    const viewer = await login(fixture.server, 'viewer');
    const first = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      query: { q: 'outcome:failure', from: '2026-11-25T00:00:00Z', to: 'now', limit: '2' },
      headers: { cookie: viewer.cookie },
    });
    expect(first.statusCode).toBe(200);
    const page = first.json<{ events: { ray_id: string }[]; nextPage: string | null }>();
    expect(page.events.map((e) => e.ray_id)).toEqual(['ray5', 'ray3']);
    const second = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      query: { q: 'outcome:failure', limit: '2', after: page.nextPage ?? '' },
      headers: { cookie: viewer.cookie },
    });
    expect(second.json<{ events: { ray_id: string }[] }>().events.map((e) => e.ray_id)).toEqual(['ray1']);

    const one = await fixture.server.inject({
      method: 'GET',
      url: `/api/events/${event(3).id}`,
      headers: { cookie: viewer.cookie },
    });
    expect(one.json()).toMatchObject({ event: { id: event(3).id, ray_id: 'ray3', raw: { n: 3 } } });
    const none = await fixture.server.inject({
      method: 'GET',
      url: '/api/events/nope',
      headers: { cookie: viewer.cookie },
    });
    expect(none.statusCode).toBe(404);
    expect(none.json<{ error: { code: string } }>().error.code).toBe('EVENT_NOT_FOUND');
  });

  it('answers a query syntax error with 400, its code and the position in the message', async () => {
    const viewer = await login(fixture.server, 'viewer');
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      query: { q: 'user:alice AND' },
      headers: { cookie: viewer.cookie },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('QUERY_SYNTAX');
    expect(body.error.message).toMatch(/column \d+/);
    const badField = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      query: { q: 'colour:red' },
      headers: { cookie: viewer.cookie },
    });
    expect(badField.json<{ error: { code: string } }>().error.code).toBe('QUERY_FIELD_UNKNOWN');
    const badLimit = await fixture.server.inject({
      method: 'GET',
      url: '/api/events',
      query: { limit: '0' },
      headers: { cookie: viewer.cookie },
    });
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.json<{ error: { code: string; message: string } }>().error.message).toContain('query.limit');
  });

  it('aggregates by a field and exports as streamed CSV and NDJSON, recording the export', async () => {
    const analyst = await login(fixture.server, 'analyst');
    const agg = await fixture.server.inject({
      method: 'GET',
      url: '/api/aggregate',
      query: { groupBy: 'user', q: 'outcome:success' },
      headers: { cookie: analyst.cookie },
    });
    expect(agg.json()).toEqual({
      groupBy: 'user',
      buckets: expect.arrayContaining([
        { key: 'user0@example.com', count: 1 },
        { key: 'user2@example.com', count: 1 },
        { key: 'user1@example.com', count: 1 },
      ]) as unknown,
    });
    const csv = await fixture.server.inject({
      method: 'GET',
      url: '/api/export',
      query: { format: 'csv' },
      headers: { cookie: analyst.cookie },
    });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.trim().split('\n')).toHaveLength(7);
    const ndjson = await fixture.server.inject({
      method: 'GET',
      url: '/api/export',
      query: { q: 'outcome:failure', from: '-30d' },
      headers: { cookie: analyst.cookie },
    });
    expect(
      ndjson.body
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { ray_id: string }).ray_id),
    ).toEqual(['ray5', 'ray3', 'ray1']);
    const exports = await fixture.auth.listAudit({ limit: 10 });
    expect(exports.filter((entry) => entry.action === 'export').map((entry) => entry.actor)).toEqual([
      'analyst',
      'analyst',
    ]);
    // The trail keeps the period as resolved, not only as typed: "-30d" alone would not say which days went out.
    const nowMs = fixture.clock.now();
    expect(exports.find((entry) => entry.action === 'export')?.details).toEqual({
      format: 'ndjson',
      query: 'outcome:failure',
      from: '-30d',
      to: null,
      fromTime: new Date(nowMs - 30 * 86_400_000).toISOString(),
      toTime: new Date(nowMs).toISOString(),
    });
  });

  it('returns a hostile event field as JSON-escaped data, never as HTML', async () => {
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    await fixture.app.store.append([event(9, { user: hostile, app: 'javascript:alert(3)', raw: { html: hostile } })], {
      id: 'cf/access_requests',
      value: { n: 10 },
    });
    const viewer = await login(fixture.server, 'viewer');
    for (const url of ['/api/events?q=ray_id:ray9', `/api/events/${event(9).id}`, '/api/aggregate?groupBy=user']) {
      const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie: viewer.cookie } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).toContain('<script>alert(1)</script>');
      expect(JSON.stringify(res.json())).toContain(JSON.stringify(hostile).slice(1, -1));
    }
  });
});

describe('inventory', () => {
  it('lists one kind and refuses an unknown kind', async () => {
    const viewer = await login(fixture.server, 'viewer');
    const users = await fixture.server.inject({
      method: 'GET',
      url: '/api/inventory/user',
      headers: { cookie: viewer.cookie },
    });
    expect(users.statusCode).toBe(200);
    expect(users.json()).toEqual({ kind: 'user', entities: [] });
    const bad = await fixture.server.inject({
      method: 'GET',
      url: '/api/inventory/planets',
      headers: { cookie: viewer.cookie },
    });
    expect(bad.statusCode).toBe(400);
  });
});
