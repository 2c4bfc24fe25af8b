import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture, type Session } from './server-fixture.suite.js';

let fixture: ServerFixture;
let admin: Session;

beforeEach(async () => {
  fixture = await startServerFixture();
  admin = await login(fixture.server, 'admin');
});
afterEach(async () => {
  await fixture.close();
});

interface ErrorAnswer {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string };
}

const asAdmin = (): Record<string, string> => ({ cookie: admin.cookie, 'x-csrf-token': admin.csrfToken });

describe('unknown query parameters and body fields', () => {
  it('refuses a mistyped query parameter by name and lists the known ones, instead of answering every event', async () => {
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/events?query=outcome:failure',
      headers: { cookie: admin.cookie },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<ErrorAnswer>();
    expect(error.code).toBe('HTTP_REQUEST_INVALID');
    expect(error.message).toBe(
      'The request is invalid: query.query: unknown parameter; the known parameters are q, from, to, limit, after, order.',
    );
  });

  it('refuses an unknown body field with the known ones, and changes nothing', async () => {
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/settings/retention',
      headers: asAdmin(),
      payload: { days: 30, extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorAnswer>().error.message).toBe(
      'The request is invalid: body.extra: unknown field; the known fields are days.',
    );
    const after = await fixture.server.inject({
      method: 'GET',
      url: '/api/settings/retention',
      headers: { cookie: admin.cookie },
    });
    expect(after.json<{ retention: { days: number } }>().retention.days).not.toBe(30);
  });

  it('names unknown fields inside nested objects too, together with the other problems', async () => {
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/rules/impossible_travel/settings',
      headers: asAdmin(),
      payload: { overrides: {}, allow: { users: [], ips: [], apps: [], countries: [], hosts: [] }, limit: 'x' },
    });
    expect(res.statusCode).toBe(400);
    const { message } = res.json<ErrorAnswer>().error;
    expect(message).toContain('body.allow.hosts: unknown field; the known fields are users, ips, apps, countries');
    expect(message).toContain('body.limit: unknown field; the known fields are overrides, allow');
  });

  it('refuses a parameter or field on a route that takes none', async () => {
    const query = await fixture.server.inject({
      method: 'GET',
      url: '/api/users?all=1',
      headers: { cookie: admin.cookie },
    });
    expect(query.statusCode).toBe(400);
    expect(query.json<ErrorAnswer>().error.message).toBe(
      'The request is invalid: query.all: unknown parameter; this takes no parameters.',
    );
    const body = await fixture.server.inject({
      method: 'POST',
      url: '/api/logout',
      headers: asAdmin(),
      payload: { everywhere: true },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json<ErrorAnswer>().error.message).toBe(
      'The request is invalid: body.everywhere: unknown field; this takes no fields.',
    );
  });

  it('still takes every declared parameter, and an empty body where none is declared', async () => {
    const events = await fixture.server.inject({
      method: 'GET',
      url: '/api/events?q=outcome:failure&limit=5&order=asc&from=-1h&to=now',
      headers: { cookie: admin.cookie },
    });
    expect(events.statusCode).toBe(200);
    const key = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: asAdmin(),
      payload: { user: 'viewer', label: 'ci' },
    });
    expect(key.statusCode).toBe(201);
    const logout = await fixture.server.inject({ method: 'POST', url: '/api/logout', headers: asAdmin(), payload: {} });
    expect(logout.statusCode).toBe(200);
  });
});

describe('a path asked with a method it does not answer', () => {
  it('answers 405 with Allow and the error body, PUT on the retention setting included', async () => {
    const res = await fixture.server.inject({
      method: 'PUT',
      url: '/api/settings/retention',
      headers: asAdmin(),
      payload: { days: 30 },
    });
    expect(res.statusCode).toBe(405);
    expect(res.headers['allow']).toBe('GET, HEAD, POST');
    const { error } = res.json<ErrorAnswer>();
    expect(error).toMatchObject({
      code: 'HTTP_METHOD_NOT_ALLOWED',
      message: 'This path does not answer PUT; it answers GET, HEAD, POST.',
      requestId: res.headers['x-request-id'],
    });
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('answers OPTIONS the same way, with no CORS headers, on static and parameterised paths', async () => {
    const cases: readonly (readonly [string, string])[] = [
      ['/api/events', 'GET, HEAD'],
      ['/api/apikeys/9?x=1', 'DELETE'],
      ['/api/sources/test', 'POST, DELETE'],
      ['/api/users/someone', 'DELETE'],
    ];
    for (const [url, allow] of cases) {
      const res = await fixture.server.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://elsewhere.example.com', 'access-control-request-method': 'GET' },
      });
      expect({ url, status: res.statusCode, allow: res.headers['allow'] }).toEqual({ url, status: 405, allow });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('still answers 404 for a path no route has', async () => {
    for (const method of ['GET', 'PUT', 'OPTIONS'] as const) {
      const res = await fixture.server.inject({ method, url: '/api/settings/retention/extra' });
      expect(res.statusCode).toBe(404);
      expect(res.headers['allow']).toBeUndefined();
      expect(res.json<ErrorAnswer>().error.code).toBe('HTTP_NOT_FOUND');
    }
  });
});
