import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormatsImport from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deniedWithRay as denied } from '../../../test/helpers/events.js';
import { login, startServerFixture, type ServerFixture, type Session } from '../server-fixture.suite.js';
import { ALL_ROUTES } from './all-routes.js';
import { ROUTE_RESPONSES } from './responses.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ajvFormatsImport as unknown as FormatsPlugin;

type Json = Record<string, unknown>;

interface Document {
  readonly paths: Record<string, Record<string, { responses: Record<string, Json>; parameters?: Json[] }>>;
  readonly components: { readonly schemas: { readonly Error: Json }; readonly responses: Record<string, Json> };
}

const MINUTE = 60_000;

let fixture: ServerFixture;
let admin: Session;
let doc: Document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

beforeAll(async () => {
  fixture = await startServerFixture();
  admin = await login(fixture.server, 'admin');
  const now = fixture.clock.now();
  // Twelve denials within six minutes fire the built-in brute-force rule, so the alert routes answer with an alert.
  const events = Array.from({ length: 12 }, (_, n) => denied(n, now - 60 * MINUTE + n * 30_000, 'alice@example.com'));
  await fixture.app.store.append(events, { id: 'cf/access_requests', value: {} });
  await fixture.app.detector.catchUp();
  const res = await fixture.server.inject({
    method: 'GET',
    url: '/api/openapi.json',
    headers: { cookie: admin.cookie },
  });
  doc = res.json<Document>();
});
afterAll(async () => fixture.close());

const asAdmin = (): Record<string, string> => ({ cookie: admin.cookie, 'x-csrf-token': admin.csrfToken });

/** The described answer of `method path` with this status, followed through its $ref. */
function described(method: string, path: string, status: number): Json {
  const operation = doc.paths[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is described`).toBeDefined();
  let response = operation?.responses[String(status)];
  expect(response, `${method} ${path} describes ${status}`).toBeDefined();
  const ref = response?.['$ref'];
  if (typeof ref === 'string') response = doc.components.responses[ref.replace('#/components/responses/', '')];
  return response ?? {};
}

/** Checks a real answer against the description: status, media type and, for JSON, the body's schema. */
function expectDescribed(method: string, path: string, res: LightMyRequestResponse): void {
  const response = described(method, path, res.statusCode);
  const content = (response['content'] ?? {}) as Record<string, { schema?: Json }>;
  const mediaType = (res.headers['content-type'] ?? '').toString().split(';')[0]?.trim() ?? '';
  expect(Object.keys(content), `${method} ${path} ${res.statusCode}`).toContain(mediaType);
  if (mediaType !== 'application/json') return;
  const schema = content[mediaType]?.schema ?? {};
  const resolved = schema['$ref'] === '#/components/schemas/Error' ? doc.components.schemas.Error : schema;
  const validate = ajv.compile(closed(resolved));
  const valid = validate(res.json());
  expect({ answer: `${method} ${path} ${res.statusCode}`, errors: valid ? null : validate.errors }).toEqual({
    answer: `${method} ${path} ${res.statusCode}`,
    errors: null,
  });
  for (const header of Object.keys(response['headers'] ?? {})) {
    expect(res.headers[header.toLowerCase()], `${method} ${path} sends ${header}`).toBeDefined();
  }
}

/**
 * The description leaves answers open to new fields; checked closed here, so a field a handler adds without
 * describing it fails this test.
 */
function closed(schema: unknown): Json {
  if (Array.isArray(schema)) return schema.map(closed) as unknown as Json;
  if (typeof schema !== 'object' || schema === null) return schema as Json;
  const node = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  return 'properties' in node && !('additionalProperties' in node) ? { ...node, additionalProperties: false } : node;
}

describe('/api/openapi.json against real answers', () => {
  it('describes the answers of the main routes as they are', async () => {
    const get = (url: string) => fixture.server.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
    const events = await get('/api/events?limit=5');
    expect(events.json<{ events: unknown[] }>().events).toHaveLength(5);
    expectDescribed('GET', '/api/events', events);
    const eventId = events.json<{ events: { id: string }[] }>().events[0]?.id ?? '';
    expectDescribed('GET', '/api/events/{id}', await get(`/api/events/${eventId}`));
    expectDescribed('GET', '/api/histogram', await get('/api/histogram?from=-2h'));
    expectDescribed('GET', '/api/aggregate', await get('/api/aggregate?groupBy=user&from=-2h'));
    expectDescribed('GET', '/api/fields', await get('/api/fields'));
    expectDescribed('GET', '/api/query/check', await get('/api/query/check?q=outcome:'));

    const alerts = await get('/api/alerts');
    expect(alerts.json<{ alerts: unknown[] }>().alerts.length).toBeGreaterThan(0);
    expectDescribed('GET', '/api/alerts', alerts);
    const alertId = alerts.json<{ alerts: { id: string }[] }>().alerts[0]?.id ?? '';
    expectDescribed('GET', '/api/alerts/{id}', await get(`/api/alerts/${alertId}`));
    const ack = await fixture.server.inject({
      method: 'POST',
      url: `/api/alerts/${alertId}/ack`,
      headers: asAdmin(),
      payload: {},
    });
    expectDescribed('POST', '/api/alerts/{id}/ack', ack);

    expectDescribed('GET', '/api/dashboard', await get('/api/dashboard?from=-2h'));

    const created = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: asAdmin(),
      payload: { user: 'viewer', label: 'SIEM' },
    });
    expectDescribed('POST', '/api/apikeys', created);
    const keys = await get('/api/apikeys');
    expect(keys.json<{ apiKeys: unknown[] }>().apiKeys).toHaveLength(1);
    expectDescribed('GET', '/api/apikeys', keys);
    const id = created.json<{ apiKey: { id: number } }>().apiKey.id;
    const revoke = () => fixture.server.inject({ method: 'DELETE', url: `/api/apikeys/${id}`, headers: asAdmin() });
    expectDescribed('DELETE', '/api/apikeys/{id}', await revoke());
    expectDescribed('DELETE', '/api/apikeys/{id}', await revoke());

    expectDescribed('GET', '/api/me', await get('/api/me'));
    expectDescribed('GET', '/api/users', await get('/api/users'));
    expectDescribed('GET', '/api/audit', await get('/api/audit?limit=3'));
    expectDescribed('GET', '/api/settings/retention', await get('/api/settings/retention'));
    expectDescribed('GET', '/api/health', await get('/api/health'));
  });

  it('describes the export as CSV or NDJSON, not JSON', async () => {
    for (const format of ['csv', 'ndjson']) {
      const res = await fixture.server.inject({
        method: 'GET',
        url: `/api/export?format=${format}&from=-2h`,
        headers: { cookie: admin.cookie },
      });
      expect(res.statusCode).toBe(200);
      expectDescribed('GET', '/api/export', res);
    }
    expect(Object.keys(described('GET', '/api/export', 200)['content'] as Json)).not.toContain('application/json');
  });

  it('describes the errors: the envelope, 400, 401, 403, 404 and the login limit with Retry-After', async () => {
    const anonymous = await fixture.server.inject({ method: 'GET', url: '/api/events' });
    expectDescribed('GET', '/api/events', anonymous);
    const viewer = await login(fixture.server, 'viewer');
    const forbidden = await fixture.server.inject({
      method: 'GET',
      url: '/api/apikeys',
      headers: { cookie: viewer.cookie },
    });
    expectDescribed('GET', '/api/apikeys', forbidden);
    const bad = await fixture.server.inject({
      method: 'GET',
      url: '/api/events?limit=0',
      headers: { cookie: admin.cookie },
    });
    expectDescribed('GET', '/api/events', bad);
    const missing = await fixture.server.inject({
      method: 'GET',
      url: '/api/alerts/no-such-alert',
      headers: { cookie: admin.cookie },
    });
    expectDescribed('GET', '/api/alerts/{id}', missing);

    let limited: LightMyRequestResponse | undefined;
    for (let attempt = 0; attempt < 10 && limited === undefined; attempt++) {
      const res = await fixture.server.inject({
        method: 'POST',
        url: '/api/login',
        payload: { name: 'analyst', password: 'wrong-password-for-sure' },
      });
      if (res.statusCode === 429) limited = res;
      else expectDescribed('POST', '/api/login', res);
    }
    expect(limited?.statusCode).toBe(429);
    if (limited !== undefined) expectDescribed('POST', '/api/login', limited);
  });

  it('states the limits and defaults the routes enforce, from the same schemas', () => {
    const parameter = (path: string, name: string): Json | undefined =>
      doc.paths[path]?.['get']?.parameters?.find((candidate) => candidate['name'] === name)?.['schema'] as
        Json | undefined;
    expect(parameter('/api/events', 'limit')).toEqual({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    expect(parameter('/api/alerts', 'limit')).toEqual({ type: 'integer', minimum: 1, maximum: 500, default: 50 });
    expect(parameter('/api/alerts', 'page')).toEqual({ type: 'integer', minimum: 1, maximum: 1000, default: 1 });
    expect(parameter('/api/audit', 'limit')).toEqual({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    expect(parameter('/api/events', 'order')).toMatchObject({ enum: ['asc', 'desc'], default: 'desc' });
  });

  it('describes the login link as a 303 redirect with Location, and every described route exists', () => {
    const link = described('GET', '/api/login/link', 303);
    expect(Object.keys(link['headers'] as Json)).toEqual(expect.arrayContaining(['Location', 'Set-Cookie']));
    const routes = new Set(ALL_ROUTES.map((route) => `${route.method} ${route.url}`));
    expect(Object.keys(ROUTE_RESPONSES).filter((key) => !routes.has(key))).toEqual([]);
  });
});
