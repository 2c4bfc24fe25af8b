import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import type { InventoryEntity } from '../../core/inventory.js';
import { diffInventory } from '../../normalize/inventory-changes.js';
import { FLAT_FIELD_MAX_BYTES, flatString } from '../../normalize/schema.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';

const T0 = Date.UTC(2026, 10, 20, 8);
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const APP_UID = 'aaaaaaaa-0000-4000-8000-000000000001';
const DEVICE_ID = 'dddddddd-0000-4000-8000-000000000001';

function access(n: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `${(T0 + n * 60_000).toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
    time: T0 + n * 60_000,
    sourceName: 'cf',
    accountId: ACCOUNT,
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp: '192.0.2.10',
    country: 'us',
    app: 'Wiki',
    appUid: APP_UID,
    idp: 'okta',
    rayId: `ray${n}`,
    ocsf: {},
    raw: {},
    ...overrides,
  };
}

const user = (attributes: Record<string, unknown>): InventoryEntity => ({
  kind: 'user',
  id: 'u-1',
  name: 'alice@example.com',
  attributes: { id: 'u-1', email: 'alice@example.com', ...attributes },
});
const device = (name: string): InventoryEntity => ({
  kind: 'device',
  id: DEVICE_ID,
  name,
  attributes: { id: DEVICE_ID, name, last_seen_user: { email: 'Alice@example.com' } },
});

interface Timeline {
  readonly device: { id: string; name: string; user: string | null } | null;
  readonly summary: {
    firstSeen: string | null;
    lastSeen: string | null;
    events: number;
    allowed: number;
    denied: number;
    countries: { value: string; count: number }[];
    idps: { value: string; count: number }[];
    apps: { value: string; count: number }[];
  };
  readonly changes: { dataset: string; activity: string; user: string | null }[];
  readonly events: { ray_id: string | null; time: string }[];
  readonly nextPage: string | null;
}

describe('GET /api/timeline/:kind/:value', () => {
  let fixture: ServerFixture;

  beforeAll(async () => {
    fixture = await startServerFixture();
    const store = fixture.app.store;
    await store.append(
      [
        access(0),
        access(1, { outcome: 'failure', country: 'de', srcIp: '192.0.2.20' }),
        access(2, { idp: 'github' }),
        access(3),
        access(4, { user: 'bob@example.com', srcIp: '192.0.2.20', app: 'Mail', appUid: 'other-app' }),
        access(5, { user: 'carol/ops%1@example.com', srcIp: '192.0.2.30', app: 'Docs/100%', appUid: 'docs-app' }),
      ],
      { id: 'cf/access_requests', value: {} },
    );
    // Two snapshots per dataset so the second yields real change events, as the collector stores them.
    for (const [dataset, before, after] of [
      ['access_users', [user({ seat: false })], [user({ seat: true })]],
      ['devices', [device('alice-laptop')], [device('alice-macbook')]],
    ] as const) {
      const at = (minutes: number): number => T0 + minutes * 60_000;
      await store.saveInventorySnapshot({ sourceName: 'cf', dataset, takenAt: at(10), entities: before }, []);
      const changes = diffInventory(before, after, {
        sourceName: 'cf',
        accountId: ACCOUNT,
        dataset,
        takenAt: at(20),
        previousTakenAt: at(10),
      });
      expect(changes).toHaveLength(1);
      await store.saveInventorySnapshot({ sourceName: 'cf', dataset, takenAt: at(20), entities: after }, changes);
    }
  });
  afterAll(async () => fixture.close());

  async function timeline(url: string, role: 'admin' | 'analyst' | 'viewer' = 'viewer'): Promise<Timeline> {
    const session = await login(fixture.server, role);
    const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Timeline>();
  }

  it("summarises a user's activity and lists the changes to the user apart from it", async () => {
    const body = await timeline('/api/timeline/user/alice%40example.com');
    expect(body.summary).toEqual({
      firstSeen: new Date(T0).toISOString(),
      lastSeen: new Date(T0 + 3 * 60_000).toISOString(),
      events: 4,
      allowed: 3,
      denied: 1,
      countries: [
        { value: 'us', count: 3 },
        { value: 'de', count: 1 },
      ],
      idps: [
        { value: 'okta', count: 3 },
        { value: 'github', count: 1 },
      ],
      apps: [{ value: 'Wiki', count: 4 }],
    });
    expect(body.changes).toEqual([expect.objectContaining({ dataset: 'access_users', activity: 'update' })]);
    expect(body.events.map((e) => e.ray_id)).toEqual(['ray0', 'ray1', 'ray2', 'ray3']);
  });

  it('pages the events in time order with the page token', async () => {
    const first = await timeline('/api/timeline/user/alice@example.com?limit=3', 'analyst');
    expect(first.events.map((e) => e.ray_id)).toEqual(['ray0', 'ray1', 'ray2']);
    expect(first.nextPage).not.toBeNull();
    const second = await timeline(
      `/api/timeline/user/alice@example.com?limit=3&after=${encodeURIComponent(first.nextPage ?? '')}`,
      'admin',
    );
    expect(second.events.map((e) => e.ray_id)).toEqual(['ray3']);
    expect(second.nextPage).toBeNull();
    expect({ summary: second.summary, changes: second.changes }).toEqual({ summary: null, changes: null });
    const newest = await timeline('/api/timeline/user/alice@example.com?limit=1&order=desc');
    expect(newest.events.map((e) => e.ray_id)).toEqual(['ray3']);
  });

  it('finds an IP by address and an application by id or name', async () => {
    const ip = await timeline('/api/timeline/ip/192.0.2.20');
    expect(ip.events.map((e) => e.ray_id)).toEqual(['ray1', 'ray4']);
    expect(ip.summary.denied).toBe(1);
    expect(ip.changes).toEqual([]);
    const byId = await timeline(`/api/timeline/app/${APP_UID}`);
    expect(byId.summary.events).toBe(4);
    const byName = await timeline('/api/timeline/app/Mail');
    expect(byName.events.map((e) => e.ray_id)).toEqual(['ray4']);
  });

  it("shows a device by name or id with its user's activity and the changes to the device", async () => {
    for (const value of ['ALICE-MACBOOK', DEVICE_ID]) {
      const body = await timeline(`/api/timeline/device/${value}`);
      expect(body.device).toEqual({ id: DEVICE_ID, name: 'alice-macbook', user: 'alice@example.com' });
      expect(body.summary.events).toBe(4);
      expect(body.changes).toEqual([expect.objectContaining({ dataset: 'devices', activity: 'update' })]);
    }
    const unknown = await timeline('/api/timeline/device/nothing-like-it');
    expect(unknown.device).toBeNull();
    expect(unknown.summary).toMatchObject({ events: 0, firstSeen: null });
    expect(unknown.events).toEqual([]);
  });

  it('takes a value with a slash or a percent sign as one encoded path segment', async () => {
    const byUser = await timeline(`/api/timeline/user/${encodeURIComponent('carol/ops%1@example.com')}`);
    expect(byUser.events.map((e) => e.ray_id)).toEqual(['ray5']);
    const byApp = await timeline(`/api/timeline/app/${encodeURIComponent('Docs/100%')}`);
    expect(byApp.events.map((e) => e.ray_id)).toEqual(['ray5']);
  });

  it('answers an entity without events with an empty timeline', async () => {
    const body = await timeline('/api/timeline/user/nobody@example.com');
    expect(body.summary).toMatchObject({ events: 0, firstSeen: null, lastSeen: null, countries: [] });
    expect(body.events).toEqual([]);
  });

  it('refuses an unknown kind, an over-long value and a bad limit', async () => {
    const session = await login(fixture.server, 'viewer');
    // Any value a flat field can hold is taken, also percent-encoded; the route's schema refuses a longer one, and
    // past the server's path parameter limit Fastify answers before any route runs.
    const widest = encodeURIComponent(flatString('名'.repeat(2000)));
    for (const [url, status] of [
      ['/api/timeline/printer/x', 400],
      [`/api/timeline/user/${'a'.repeat(300)}@example.com`, 200],
      [`/api/timeline/user/${'a'.repeat(FLAT_FIELD_MAX_BYTES)}`, 200],
      [`/api/timeline/app/${widest}`, 200],
      [`/api/timeline/user/${'a'.repeat(FLAT_FIELD_MAX_BYTES + 1)}`, 400],
      [`/api/timeline/user/${'a'.repeat(5000)}`, 414],
      ['/api/timeline/user/alice@example.com?limit=0', 400],
    ] as const) {
      const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie: session.cookie } });
      expect({ url, status: res.statusCode }).toEqual({ url, status });
    }
  });

  it('refuses a request without a session, or with a forged one, and reveals nothing', async () => {
    for (const headers of [{}, { cookie: 'zt_session=forged' }, { authorization: 'Bearer ztk_not-a-real-key' }]) {
      const res = await fixture.server.inject({
        method: 'GET',
        url: '/api/timeline/user/alice@example.com',
        headers,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_REQUIRED');
      expect(res.body).not.toContain('alice');
    }
  });
});
