import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateRequest, validateResponse } from '../../test/helpers/openapi.js';
import { trackedSimulators } from '../../test/helpers/simulators.js';
import { countryOfAddress } from './addresses.js';
import { DEFAULT_TOKEN } from './simulator.js';
import type { Simulator } from './simulator.js';

const FROM = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const HOUR = 3_600_000;
const DAY = 86_400_000;
const start = trackedSimulators(() => ({
  clock: new ManualClock(FROM + 10 * DAY),
  traffic: { kind: 'fixed', fromMs: FROM, toMs: FROM + DAY, count: 3000 },
}));

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

// Every request the tests make is one zerotrail could make, so both sides are checked against the published spec.
async function get(
  sim: Simulator,
  path: string,
  authorization: string | null = `Bearer ${sim.token}`,
  checkRequest = true,
): Promise<Reply> {
  const url = `${sim.baseUrl}${path}`;
  if (checkRequest) expect(validateRequest('GET', url)).toEqual([]);
  const res = await fetch(url, { headers: authorization === null ? {} : { authorization } });
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(validateResponse('GET', url, res.status, body)).toEqual([]);
  return { status: res.status, headers: res.headers, text, body };
}

function logsPath(sim: Simulator, query = ''): string {
  return `/accounts/${sim.accountId}/access/logs/access_requests${query === '' ? '' : `?${query}`}`;
}

function results(reply: Reply): Record<string, unknown>[] {
  expect(reply.status).toBe(200);
  return reply.body['result'] as Record<string, unknown>[];
}

function firstError(reply: Reply): Record<string, unknown> {
  return (reply.body['errors'] as Record<string, unknown>[])[0] ?? {};
}

describe('token verification', () => {
  it('answers both verify endpoints for the default token', async () => {
    const sim = await start();
    expect(sim.token).toBe(DEFAULT_TOKEN);
    expect(sim.token).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(sim.accountId).toMatch(/^[0-9a-f]{32}$/);
    for (const path of ['/user/tokens/verify', `/accounts/${sim.accountId}/tokens/verify`]) {
      const reply = await get(sim, path);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ success: true, errors: [], messages: [], result: { status: 'active' } });
      expect((reply.body['result'] as Record<string, unknown>)['id']).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('reports disabled and expired tokens', async () => {
    const sim = await start({
      tokens: [
        { value: 'tokenDisabled0000000000000000000000000000', status: 'disabled' },
        { value: 'tokenExpired00000000000000000000000000000', expiresOn: '2026-03-05T00:00:00Z' },
      ],
    });
    const disabled = await get(sim, '/user/tokens/verify', 'Bearer tokenDisabled0000000000000000000000000000');
    expect(disabled.body['result']).toMatchObject({ status: 'disabled' });
    const expired = await get(
      sim,
      `/accounts/${sim.accountId}/tokens/verify`,
      'Bearer tokenExpired00000000000000000000000000000',
    );
    expect(expired.body['result']).toMatchObject({ status: 'expired', expires_on: '2026-03-05T00:00:00Z' });
    const logs = await get(sim, logsPath(sim), 'Bearer tokenDisabled0000000000000000000000000000');
    expect(logs.status).toBe(403);
    expect(firstError(logs)).toEqual({ code: 9109, message: 'Invalid access token' });
  });
});

describe('authentication and routing errors', () => {
  it('answers each failure with the documented envelope and code', async () => {
    const other = 'ffffffffffffffffffffffffffffffff';
    const sim = await start({
      tokens: [
        { value: DEFAULT_TOKEN },
        { value: 'noPermission0000000000000000000000000000', permissions: ['Zero Trust Read'] },
        { value: 'otherAccount0000000000000000000000000000', accountIds: [other] },
      ],
    });
    const cases: [string, string | null, number, Record<string, unknown>][] = [
      [logsPath(sim), null, 400, { code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }],
      [logsPath(sim), `Bearer "${sim.token}"`, 400, { code: 6003 }],
      [logsPath(sim), `Bearer ${sim.token.slice(0, 10)} ${sim.token.slice(10)}`, 400, { code: 6003 }],
      [logsPath(sim), `Bearer Bearer ${sim.token}`, 400, { code: 6003 }],
      [
        logsPath(sim),
        'Bearer unknownToken000000000000000000000000000',
        403,
        { code: 9109, message: 'Invalid access token' },
      ],
      [
        '/user/tokens/verify',
        'Bearer unknownToken000000000000000000000000000',
        403,
        { code: 9109, message: 'Invalid access token' },
      ],
      [
        logsPath(sim),
        'Bearer noPermission0000000000000000000000000000',
        403,
        { code: 10000, message: 'Authentication error' },
      ],
      [
        logsPath(sim),
        'Bearer otherAccount0000000000000000000000000000',
        403,
        { code: 9109, message: 'Unauthorized to access requested resource' },
      ],
      [
        `/accounts/${other}/tokens/verify`,
        `Bearer ${sim.token}`,
        403,
        { code: 9109, message: 'Unauthorized to access requested resource' },
      ],
    ];
    for (const [path, authorization, status, error] of cases) {
      const reply = await get(sim, path, authorization);
      expect({ path, authorization, status: reply.status }).toEqual({ path, authorization, status });
      expect(reply.body).toMatchObject({ success: false, messages: [], result: null });
      expect(firstError(reply)).toMatchObject(error);
    }
    const malformed = await get(sim, logsPath(sim), `Bearer "${sim.token}"`);
    expect(firstError(malformed)['error_chain']).toEqual([
      { code: 6111, message: 'Invalid format for Authorization header' },
    ]);
    const permitted = await get(
      sim,
      `/accounts/${sim.accountId}/tokens/verify`,
      'Bearer noPermission0000000000000000000000000000',
    );
    expect(permitted.status).toBe(200);
  });

  it('rejects an account id that is not 32 hex characters with 7003', async () => {
    const sim = await start();
    const reply = await get(sim, '/accounts/not-an-account/access/logs/access_requests');
    expect(reply.status).toBe(400);
    expect(firstError(reply)).toEqual({
      code: 7003,
      message:
        'Could not route to /accounts/not-an-account/access/logs/access_requests, perhaps your object identifier is invalid?',
    });
  });

  it('answers unknown paths with 404 and the "No route" body', async () => {
    const sim = await start();
    for (const path of ['/accounts/x/nothing', '/zones', '/']) {
      const res = await fetch(`${sim.baseUrl}${path}`, { headers: { authorization: `Bearer ${sim.token}` } });
      expect(res.status).toBe(404);
      expect(await res.text()).toBe(
        '{"success":false,"errors":[{"code":7003,"message":"No route for the URI"}],"messages":[],"result":null}',
      );
    }
    const outside = await fetch(sim.baseUrl.replace('/client/v4', '/other'));
    expect(outside.status).toBe(404);
  });

  it('rejects invalid parameters with 400', async () => {
    const sim = await start();
    // The spec rejects the first group too; the second is schema-valid (no minimum is documented) but meaningless.
    const specInvalid = [
      'since=yesterday',
      'until=2026-13-45',
      'direction=sideways',
      'limit=ten',
      'emailOp=like',
      'allowedOp=maybe',
    ];
    for (const query of [...specInvalid, 'limit=0', 'per_page=-1', 'page=1.5']) {
      const reply = await get(sim, logsPath(sim, query), `Bearer ${sim.token}`, false);
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
      expect(firstError(reply)['code']).toBeGreaterThanOrEqual(1000);
      if (specInvalid.includes(query))
        expect(validateRequest('GET', `${sim.baseUrl}${logsPath(sim, query)}`)).not.toEqual([]);
    }
  });
});

describe('access requests', () => {
  it('returns records with exactly the documented fields and realistic values', async () => {
    const sim = await start({ traffic: { kind: 'fixed', fromMs: FROM, toMs: FROM + 7 * DAY, count: 20_000 } });
    const events = sim.eventsBetween(FROM, FROM + 7 * DAY);
    expect(events).toHaveLength(20_000);
    const keys = [
      'action',
      'allowed',
      'app_domain',
      'app_uid',
      'connection',
      'created_at',
      'ip_address',
      'ray_id',
      'user_email',
    ];
    for (const e of events.slice(0, 50)) expect(Object.keys(e).sort()).toEqual(keys);
    const denied = events.filter((e) => e['allowed'] === false).length / events.length;
    expect(denied).toBeGreaterThan(0.04);
    expect(denied).toBeLessThan(0.11);
    const actions = new Set(events.map((e) => e['action']));
    expect([...actions].sort()).toEqual(['', 'login', 'logout', 'warpEnrollment']);
    expect(new Set(events.map((e) => e['user_email'])).size).toBeGreaterThan(150);
    expect(new Set(events.map((e) => e['app_uid'])).size).toBe(15);
    expect([...new Set(events.map((e) => e['connection']))].sort()).toEqual([
      'azureAD',
      'github',
      'okta',
      'onetimepin',
      'saml',
    ]);
    for (const e of events) {
      expect(e['user_email']).toMatch(/^[a-z0-9.]+@example\.com$/);
      expect(e['ray_id']).toMatch(/^[0-9a-f]{16}$/);
      // Public addresses the IP dataset places in the user's home country (see addresses.test.ts).
      expect(countryOfAddress(String(e['ip_address']))).toBeDefined();
      expect(e['created_at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(new Set(events.map((e) => e['ray_id'])).size).toBe(events.length);
    const hourOf = (e: Record<string, unknown>): number => new Date(String(e['created_at'])).getUTCHours();
    const working = events.filter((e) => hourOf(e) >= 9 && hourOf(e) < 17).length;
    const night = events.filter((e) => hourOf(e) >= 0 && hourOf(e) < 8).length;
    expect(working).toBeGreaterThan(night * 3);
    const weekendStart = FROM + 5 * DAY;
    const weekend = events.filter((e) => Date.parse(String(e['created_at'])) >= weekendStart).length;
    expect(weekend / 2).toBeLessThan(((events.length - weekend) / 5) * 0.5);
  });

  it('pages through a window with page and per_page in both directions, matching eventsBetween', async () => {
    const sim = await start();
    const all = sim.eventsBetween(FROM, FROM + DAY);
    expect(all).toHaveLength(3000);
    const asc: Record<string, unknown>[] = [];
    for (let page = 1; page <= 4; page++)
      asc.push(...results(await get(sim, logsPath(sim, `direction=asc&per_page=1000&page=${page}`))));
    expect(asc).toEqual(all);
    const desc: Record<string, unknown>[] = [];
    for (let page = 1; page <= 13; page++)
      desc.push(...results(await get(sim, logsPath(sim, `per_page=250&page=${page}`))));
    expect(desc).toEqual([...all].reverse());
    const times = asc.map((e) => Date.parse(String(e['created_at'])));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('applies the default size, limit, per_page and the page size cap', async () => {
    const sim = await start({ maxPageSize: 100 });
    expect(results(await get(sim, logsPath(sim)))).toHaveLength(25);
    expect(results(await get(sim, logsPath(sim, 'limit=7')))).toHaveLength(7);
    expect(results(await get(sim, logsPath(sim, 'limit=7&per_page=9')))).toHaveLength(9);
    expect(results(await get(sim, logsPath(sim, 'limit=5000')))).toHaveLength(100);
    expect(results(await get(sim, logsPath(sim, 'per_page=100&page=31')))).toEqual([]);
    expect(await get(sim, logsPath(sim))).not.toHaveProperty('body.result_info');
  });

  it('treats since and until as inclusive', async () => {
    const sim = await start();
    const all = sim.eventsBetween(FROM, FROM + DAY);
    const pick = all[1234] ?? {};
    const at = String(pick['created_at']);
    const sameMs = all.filter((e) => e['created_at'] === at);
    const exact = results(await get(sim, logsPath(sim, `since=${at}&until=${at}&limit=1000`)));
    expect(exact).toEqual([...sameMs].reverse());
    const t = Date.parse(at);
    const window = results(
      await get(sim, logsPath(sim, `direction=asc&limit=1000&since=${new Date(t - HOUR).toISOString()}&until=${at}`)),
    );
    expect(window).toEqual(
      all.filter((e) => Date.parse(String(e['created_at'])) >= t - HOUR && Date.parse(String(e['created_at'])) <= t),
    );
    const offsetForm = results(
      await get(
        sim,
        logsPath(
          sim,
          `since=${encodeURIComponent(new Date(t).toISOString().replace('Z', '+00:00'))}&until=${at}&limit=1000`,
        ),
      ),
    );
    expect(offsetForm).toEqual(exact);
  });

  it('serves a same-timestamp burst larger than a page completely and exactly once', async () => {
    const atMs = FROM + 12 * HOUR + 345;
    const sim = await start({ faults: { bursts: [{ atMs, count: 2500 }] } });
    const at = new Date(atMs).toISOString();
    const seen: Record<string, unknown>[] = [];
    for (let page = 1; page <= 4; page++)
      seen.push(
        ...results(await get(sim, logsPath(sim, `direction=asc&since=${at}&until=${at}&per_page=1000&page=${page}`))),
      );
    expect(seen.length).toBeGreaterThanOrEqual(2500);
    expect(new Set(seen.map((e) => e['ray_id'])).size).toBe(seen.length);
    expect(seen.every((e) => e['created_at'] === at)).toBe(true);
    const all = sim.eventsBetween(FROM, FROM + DAY);
    expect(all).toHaveLength(3000 + 2500);
    const paged: Record<string, unknown>[] = [];
    for (let page = 1; page <= 6; page++)
      paged.push(...results(await get(sim, logsPath(sim, `direction=asc&per_page=1000&page=${page}`))));
    expect(paged).toEqual(all);
  });

  it('filters by email and returns only the requested fields', async () => {
    const sim = await start();
    const all = sim.eventsBetween(FROM, FROM + DAY);
    const email = String(all[0]?.['user_email']);
    const exact = results(
      await get(sim, logsPath(sim, `direction=asc&limit=1000&email=${encodeURIComponent(email)}&emailOp=eq`)),
    );
    expect(exact).toEqual(all.filter((e) => e['user_email'] === email).slice(0, 1000));
    expect(exact.length).toBeGreaterThan(0);
    const viaExact = results(
      await get(sim, logsPath(sim, `direction=asc&limit=1000&email=${encodeURIComponent(email)}&email_exact=true`)),
    );
    expect(viaExact).toEqual(exact);
    const domain = results(
      await get(sim, logsPath(sim, `limit=1000&page=2&email=${encodeURIComponent('x@example.com')}`)),
    );
    expect(domain.every((e) => String(e['user_email']).includes('x@example.com'))).toBe(true);
    const neq = results(await get(sim, logsPath(sim, `limit=1000&email=${encodeURIComponent(email)}&emailOp=neq`)));
    expect(neq.some((e) => e['user_email'] === email)).toBe(false);
    const slim = results(await get(sim, logsPath(sim, 'limit=3&fields=ray_id,created_at')));
    expect(slim.map((e) => Object.keys(e).sort())).toEqual([
      ['created_at', 'ray_id'],
      ['created_at', 'ray_id'],
      ['created_at', 'ray_id'],
    ]);
    const ignored = results(await get(sim, logsPath(sim, 'limit=3&allowedOp=neq&idpOp=eq&user_idOp=eq')));
    expect(ignored).toEqual(results(await get(sim, logsPath(sim, 'limit=3'))));
  });

  it('returns an empty list for another account the token may read', async () => {
    const other = 'abcdefabcdefabcdefabcdefabcdefab';
    const sim = await start({
      tokens: [{ value: DEFAULT_TOKEN, accountIds: [other] }],
      accountId: '0123456789abcdef0123456789abcdef',
    });
    expect(results(await get(sim, `/accounts/${other}/access/logs/access_requests`))).toEqual([]);
  });
});

describe('traffic', () => {
  it('is deterministic for a seed and differs between seeds', async () => {
    const a = await start({ seed: 7 });
    const b = await start({ seed: 7 });
    const c = await start({ seed: 8 });
    const pa = results(await get(a, logsPath(a, 'limit=200&direction=asc')));
    expect(results(await get(b, logsPath(b, 'limit=200&direction=asc')))).toEqual(pa);
    expect(results(await get(c, logsPath(c, 'limit=200&direction=asc')))).not.toEqual(pa);
  });

  it('lets organic events appear live as the clock advances, within the history window', async () => {
    const clock = new ManualClock(Date.parse('2026-03-04T15:00:00Z'));
    const sim = await start({ clock, traffic: { kind: 'organic', eventsPerDay: 4000, historyDays: 3 } });
    const now = clock.now();
    const history = sim.eventsBetween(now - 4 * DAY, now);
    expect(history.length).toBeGreaterThan(3 * 4000 * 0.6);
    expect(history.length).toBeLessThan(3 * 4000 * 1.6);
    expect(Date.parse(String(history[0]?.['created_at']))).toBeGreaterThanOrEqual(now - 3 * DAY);
    const newest = results(await get(sim, logsPath(sim, 'limit=1')))[0] ?? {};
    expect(newest).toEqual(history[history.length - 1]);
    const since = new Date(now + 1).toISOString();
    expect(results(await get(sim, logsPath(sim, `since=${since}&direction=asc&limit=1000`)))).toEqual([]);
    clock.advance(HOUR);
    const fresh = results(await get(sim, logsPath(sim, `since=${since}&direction=asc&limit=1000`)));
    expect(fresh.length).toBeGreaterThan(50);
    expect(fresh).toEqual(sim.eventsBetween(now + 1, now + HOUR + 1));
    const fixedNow = await start({ clock: new ManualClock(FROM + 12 * HOUR) });
    const visible = results(await get(fixedNow, logsPath(fixedNow, 'limit=1000&page=1')));
    expect(visible.every((e) => Date.parse(String(e['created_at'])) <= FROM + 12 * HOUR)).toBe(true);
  });

  it('keeps the request log and counters', async () => {
    const sim = await start();
    await get(sim, '/user/tokens/verify');
    await get(sim, logsPath(sim, 'limit=2'), null);
    expect(sim.stats.requests).toBe(2);
    expect(sim.stats.byStatus).toEqual({ 200: 1, 400: 1 });
    expect(sim.requestLog()).toEqual([
      { method: 'GET', path: '/client/v4/user/tokens/verify', query: '', status: 200 },
      { method: 'GET', path: `/client/v4${logsPath(sim)}`, query: 'limit=2', status: 400 },
    ]);
  });

  it('keeps only the most recent requests in the log', async () => {
    const sim = await start({ requestLogSize: 3 });
    for (const limit of [1, 2, 3, 4, 5]) await get(sim, logsPath(sim, `limit=${limit}`));
    expect(sim.requestLog().map((e) => e.query)).toEqual(['limit=3', 'limit=4', 'limit=5']);
    expect(sim.stats.requests).toBe(5);
  });

  it('stops idempotently and refuses connections afterwards', async () => {
    const sim = await start();
    await Promise.all([sim.stop(), sim.stop()]);
    await sim.stop();
    await expect(fetch(`${sim.baseUrl}/user/tokens/verify`)).rejects.toThrow();
  });

  it('serves under a custom path prefix', async () => {
    const sim = await start({ pathPrefix: '/api/v4/' });
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v4$/);
    expect((await get(sim, '/user/tokens/verify')).status).toBe(200);
  });
});
