import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import type { DashboardSummary } from '../../store/dashboard-summary.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function access(n: number, time: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
    time,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp: '192.0.2.10',
    country: 'US',
    app: 'Wiki',
    appUid: null,
    idp: 'okta',
    rayId: `ray${n}`,
    ocsf: {},
    raw: {},
    ...overrides,
  };
}

describe('GET /api/dashboard', () => {
  let fixture: ServerFixture;
  let now: number;

  beforeAll(async () => {
    fixture = await startServerFixture();
    now = fixture.clock.now();
    await fixture.app.store.append(
      [
        // Ten days ago: outside the default week, so bob is not new in it.
        access(0, now - 10 * DAY, { user: 'bob@example.com', country: 'DE' }),
        access(1, now - 3 * DAY - 17 * 60_000),
        access(2, now - 2 * DAY, { outcome: 'failure', user: 'bob@example.com', country: 'DE' }),
        access(3, now - 5 * HOUR, { outcome: 'failure', user: 'mallory@example.com', country: 'KP', app: 'Vault' }),
        access(4, now - 30 * 60_000, { sourceName: 'other', idp: 'azureAD' }),
      ],
      { id: 'cf/access_requests', value: {} },
    );
  });
  afterAll(async () => fixture.close());

  async function get(url: string, role: 'admin' | 'analyst' | 'viewer' = 'viewer'): Promise<DashboardSummary> {
    const session = await login(fixture.server, role);
    const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<DashboardSummary>();
  }

  it('summarises the last 7 days by default, for a viewer and an analyst alike', async () => {
    const body = await get('/api/dashboard');
    expect(body.toMs).toBe(now);
    expect(body.fromMs).toBe(now - 7 * DAY);
    expect(body.bucketMs).toBe(HOUR);
    expect(body.totals).toEqual({ total: 4, allowed: 2, denied: 2, other: 0 });
    expect(body.users).toEqual([
      { key: 'alice@example.com', total: 2, allowed: 2, denied: 0 },
      { key: 'bob@example.com', total: 1, allowed: 0, denied: 1 },
      { key: 'mallory@example.com', total: 1, allowed: 0, denied: 1 },
    ]);
    expect(body.countries.map((c) => [c.key, c.total])).toEqual([
      ['US', 2],
      ['DE', 1],
      ['KP', 1],
    ]);
    expect(body.denied).toEqual([{ key: 'logon', total: 4, allowed: 2, denied: 2 }]);
    expect(body.newUsers).toEqual({
      count: 2,
      first: [
        { key: 'alice@example.com', firstSeenMs: now - 3 * DAY - 17 * 60_000 },
        { key: 'mallory@example.com', firstSeenMs: now - 5 * HOUR },
      ],
    });
    expect(body.newCountries.first.map((c) => c.key)).toEqual(['US', 'KP']);
    expect(body.series.reduce((sum, b) => sum + b.denied, 0)).toBe(2);
    expect(await get('/api/dashboard', 'analyst')).toEqual(body);
  });

  it('takes a period, a source and a list length', async () => {
    const day = await get('/api/dashboard?from=-1d&to=now&limit=1', 'admin');
    expect(day.totals.total).toBe(2);
    expect(day.bucketMs).toBe(HOUR);
    expect(day.users).toHaveLength(1);
    const other = await get('/api/dashboard?from=-30d&source=other');
    expect(other.totals.total).toBe(1);
    expect(other.idps).toEqual([{ key: 'azureAD', total: 1, allowed: 1, denied: 0 }]);
    const absolute = await get(
      `/api/dashboard?from=${new Date(now - 11 * DAY).toISOString()}&to=${new Date(now - 9 * DAY).toISOString()}`,
    );
    expect(absolute.users.map((u) => u.key)).toEqual(['bob@example.com']);
  });

  it('refuses an empty or backwards period and a bad time with words a person understands', async () => {
    const session = await login(fixture.server, 'viewer');
    for (const [url, code] of [
      ['/api/dashboard?from=now&to=-1d', 'TIME_INVALID'],
      ['/api/dashboard?from=yesterday', 'TIME_INVALID'],
      // Beyond the years a date holds: once an answer of 200 with a start of -8.64e+28.
      ['/api/dashboard?from=-1000000000000000000000d', 'TIME_INVALID'],
      ['/api/dashboard?limit=0', 'HTTP_REQUEST_INVALID'],
    ] as const) {
      const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe(code);
    }
  });

  it('is listed in the OpenAPI description for every role', async () => {
    const session = await login(fixture.server, 'viewer');
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/openapi.json',
      headers: { cookie: session.cookie },
    });
    const spec = res.json<{ paths: Record<string, { get?: { 'x-roles'?: string[] } }> }>();
    expect(spec.paths['/api/dashboard']?.get?.['x-roles']).toEqual(['admin', 'analyst', 'viewer']);
  });
});
