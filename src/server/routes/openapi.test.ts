import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../store/auth-store.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';

interface Operation {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly url: string;
  readonly roles: readonly Role[];
  readonly csrf: boolean;
}

// Path parameters get a value of the right shape so a request reaches authorization, not routing.
const SAMPLE_PARAMS: Readonly<Record<string, string>> = { name: 'no-such-source', id: 'no-such-event', kind: 'user' };
// The one-time login link is its own credential, so like the login form it answers without a session.
const PUBLIC_PATHS = new Set(['POST /api/login', 'GET /api/health', 'GET /api/login/link']);

/**
 * The route list comes from the server's own /api/openapi.json, so a route added later is checked here
 * without anyone remembering to add it.
 */
describe('every route in /api/openapi.json', () => {
  let fixture: ServerFixture;
  let operations: readonly Operation[];

  beforeAll(async () => {
    fixture = await startServerFixture();
    const admin = await login(fixture.server, 'admin');
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/openapi.json',
      headers: { cookie: admin.cookie },
    });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ paths: Record<string, Record<string, { 'x-roles': Role[]; 'x-csrf': boolean }>> }>();
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase() as Operation['method'],
        path,
        url: path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE_PARAMS[name] ?? 'x'),
        roles: operation['x-roles'],
        csrf: operation['x-csrf'],
      })),
    );
  });
  afterAll(async () => fixture.close());

  const protectedOperations = (): readonly Operation[] =>
    operations.filter((operation) => !PUBLIC_PATHS.has(`${operation.method} ${operation.path}`));

  it('lists every route the server answers, and only the login, login link and health routes are public', () => {
    expect(operations.length).toBeGreaterThanOrEqual(19);
    for (const operation of operations) {
      expect(
        fixture.server.hasRoute({ method: operation.method, url: operation.path.replace(/\{(\w+)\}/g, ':$1') }),
      ).toBe(true);
      const isPublic = PUBLIC_PATHS.has(`${operation.method} ${operation.path}`);
      expect({ route: `${operation.method} ${operation.path}`, public: operation.roles.length === 0 }).toEqual({
        route: `${operation.method} ${operation.path}`,
        public: isPublic,
      });
    }
    expect(
      operations
        .filter((operation) => operation.method !== 'GET')
        .every((operation) => operation.csrf || PUBLIC_PATHS.has(`${operation.method} ${operation.path}`)),
    ).toBe(true);
  });

  it('refuses an unauthenticated request with 401, and a made-up API key or cookie too', async () => {
    for (const operation of protectedOperations()) {
      const attempts: readonly Record<string, string>[] = [
        {},
        { authorization: 'Bearer ztk_not-a-real-key' },
        { cookie: 'zt_session=forged' },
      ];
      for (const headers of attempts) {
        const res = await fixture.server.inject({
          method: operation.method,
          url: operation.url,
          headers,
          ...(operation.method === 'GET' ? {} : { payload: {} }),
        });
        expect({
          route: `${operation.method} ${operation.url}`,
          status: res.statusCode,
          code: res.json<{ error: { code: string } }>().error.code,
        }).toEqual({
          route: `${operation.method} ${operation.url}`,
          status: 401,
          code: 'AUTH_REQUIRED',
        });
      }
    }
  });

  it('refuses a role that is too low with 403, even with a valid CSRF token', async () => {
    let checked = 0;
    for (const operation of protectedOperations()) {
      for (const role of ROLES.filter((candidate) => !operation.roles.includes(candidate))) {
        const session = await login(fixture.server, role);
        const res = await fixture.server.inject({
          method: operation.method,
          url: operation.url,
          headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
          ...(operation.method === 'GET' ? {} : { payload: {} }),
        });
        expect({
          route: `${operation.method} ${operation.url}`,
          role,
          status: res.statusCode,
          code: res.json<{ error: { code: string } }>().error.code,
        }).toEqual({
          route: `${operation.method} ${operation.url}`,
          role,
          status: 403,
          code: 'AUTH_FORBIDDEN',
        });
        checked++;
      }
    }
    // Admin-only routes alone give more than this; a list that lost its roles would check nothing.
    expect(checked).toBeGreaterThan(10);
  });

  it('refuses a state-changing request from a session without the CSRF token or with a wrong one', async () => {
    const changing = protectedOperations().filter((operation) => operation.method !== 'GET');
    expect(changing.length).toBeGreaterThanOrEqual(6);
    for (const operation of changing) {
      const role = operation.roles[0] ?? 'admin';
      for (const csrf of [undefined, 'wrong-token', '']) {
        const session = await login(fixture.server, role);
        const res = await fixture.server.inject({
          method: operation.method,
          url: operation.url,
          headers: { cookie: session.cookie, ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) },
          payload: {},
        });
        expect({
          route: `${operation.method} ${operation.url}`,
          status: res.statusCode,
          code: res.json<{ error: { code: string } }>().error.code,
        }).toEqual({
          route: `${operation.method} ${operation.url}`,
          status: 403,
          code: 'AUTH_CSRF_INVALID',
        });
      }
    }
  });

  it('lets an allowed role through to the route itself', async () => {
    for (const operation of protectedOperations()) {
      const role = operation.roles[0] ?? 'admin';
      const session = await login(fixture.server, role);
      const res = await fixture.server.inject({
        method: operation.method,
        url: operation.url,
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
        ...(operation.method === 'GET' ? {} : { payload: {} }),
      });
      // Sample input may be refused (400, 404), but never for authentication or role.
      expect({ route: `${operation.method} ${operation.url}`, refused: [401, 403].includes(res.statusCode) }).toEqual({
        route: `${operation.method} ${operation.url}`,
        refused: false,
      });
    }
  });

  it('answers the public routes without authentication', async () => {
    expect((await fixture.server.inject({ method: 'GET', url: '/api/health' })).json()).toEqual({ status: 'ok' });
    const badLogin = await fixture.server.inject({ method: 'POST', url: '/api/login', payload: {} });
    expect(badLogin.statusCode).toBe(400);
    const unknownLink = await fixture.server.inject({
      method: 'GET',
      url: `/api/login/link?token=${'A'.repeat(43)}`,
    });
    expect(unknownLink.statusCode).toBe(401);
    expect(unknownLink.json<{ error: { code: string } }>().error.code).toBe('AUTH_LOGIN_LINK_INVALID');
    expect(unknownLink.headers['set-cookie']).toBeUndefined();
  });
});
