import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateResponse } from '../../test/helpers/openapi.js';
import { trackedSimulators } from '../../test/helpers/simulators.js';
import type { Simulator } from './simulator.js';

const FROM = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const start = trackedSimulators(() => ({
  clock: new ManualClock(FROM + 2 * DAY),
  traffic: { kind: 'fixed', fromMs: FROM, toMs: FROM + DAY, count: 2000 },
}));

function logsUrl(sim: Simulator, query = 'limit=50'): string {
  return `${sim.baseUrl}/accounts/${sim.accountId}/access/logs/access_requests?${query}`;
}

async function fetchLogs(sim: Simulator, query?: string, token = sim.token): Promise<{ res: Response; text: string }> {
  const res = await fetch(logsUrl(sim, query), { headers: { authorization: `Bearer ${token}` } });
  return { res, text: await res.text() };
}

describe('fault injection', () => {
  it('answers every Nth request with 429 and Retry-After', async () => {
    const sim = await start({ faults: { rateLimit: { everyNth: 3, retryAfterSecs: 7 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { res, text } = await fetchLogs(sim);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('7');
        expect(validateResponse('GET', logsUrl(sim), 429, JSON.parse(text))).toEqual([]);
        expect(JSON.parse(text)).toMatchObject({ success: false, result: null });
      }
    }
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429]);
  });

  it('answers 5xx with an HTML body like the Cloudflare edge', async () => {
    const sim = await start({ faults: { serverError: { statuses: [520] } } });
    const { res, text } = await fetchLogs(sim);
    expect(res.status).toBe(520);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(text).toMatch(/^<!DOCTYPE html>/);
    expect(text).toContain('Error code 520');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('picks 5xx statuses with the seeded generator and stops after maxTimes', async () => {
    const sim = await start({ faults: { serverError: { probability: 0.5, maxTimes: 3 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await fetchLogs(sim)).res.status);
    const errors = statuses.filter((s) => s >= 500);
    expect(errors).toHaveLength(3);
    expect(errors.every((s) => [502, 503, 520].includes(s))).toBe(true);
    const again = await start({ faults: { serverError: { probability: 0.5, maxTimes: 3 } } });
    const replay: number[] = [];
    for (let i = 0; i < 20; i++) replay.push((await fetchLogs(again)).res.status);
    expect(replay).toEqual(statuses);
  });

  it('resets the connection mid-response', async () => {
    const sim = await start({ faults: { connectionReset: { everyNth: 2 } } });
    expect((await fetchLogs(sim)).res.status).toBe(200);
    await expect(fetchLogs(sim)).rejects.toThrow();
    expect((await fetchLogs(sim)).res.status).toBe(200);
    expect(sim.requestLog().map((e) => e.status)).toEqual([200, 0, 200]);
  });

  it('delays slow responses', async () => {
    const sim = await start({ faults: { slow: { delayMs: 300 } } });
    const started = performance.now();
    const { res } = await fetchLogs(sim);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('sends truncated JSON with status 200, and setFaults switches it off', async () => {
    const sim = await start({ faults: { truncatedJson: {} } });
    const { res, text } = await fetchLogs(sim);
    expect(res.status).toBe(200);
    expect(text.startsWith('{"success":true')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow();
    sim.setFaults({});
    const healthy = await fetchLogs(sim);
    expect(JSON.parse(healthy.text)).toMatchObject({ success: true });
  });

  it('holds late events back until their delay has passed', async () => {
    const clock = new ManualClock(FROM + 12 * 3_600_000);
    const sim = await start({ clock, faults: { lateEvents: { fraction: 0.3, delayMs: 3_600_000 } } });
    const window = `direction=asc&per_page=1000&since=${new Date(FROM).toISOString()}&until=${new Date(FROM + 12 * 3_600_000).toISOString()}`;
    const all = sim.eventsBetween(FROM, FROM + 12 * 3_600_000 + 1);
    const page = async (): Promise<Record<string, unknown>[]> => {
      const out: Record<string, unknown>[] = [];
      for (let p = 1; ; p++) {
        const body = JSON.parse((await fetchLogs(sim, `${window}&page=${p}`)).text) as {
          result: Record<string, unknown>[];
        };
        out.push(...body.result);
        if (body.result.length < 1000) return out;
      }
    };
    const early = await page();
    const recent = all.filter((e) => Date.parse(String(e['created_at'])) > clock.now() - 3_600_000);
    expect(recent.length).toBeGreaterThan(20);
    const missing = all.filter((e) => !early.some((x) => x['ray_id'] === e['ray_id']));
    expect(missing.length).toBeGreaterThan(recent.length * 0.15);
    expect(missing.length).toBeLessThan(recent.length * 0.45);
    expect(missing.every((e) => recent.includes(e))).toBe(true);
    clock.advance(3_600_000);
    expect(await page()).toEqual(all);
  });

  it('serves hostile field values as valid JSON', async () => {
    const sim = await start({ faults: { hostileValues: { fraction: 1 } } });
    const { res, text } = await fetchLogs(sim, 'limit=1000&direction=asc');
    expect(res.status).toBe(200);
    const body = JSON.parse(text) as { result: Record<string, unknown>[] };
    expect(validateResponse('GET', logsUrl(sim), 200, body)).toEqual([]);
    const values = body.result.flatMap((e) => Object.values(e).map(String));
    expect(values.some((v) => v.includes('<script>'))).toBe(true);
    expect(values.some((v) => v.includes('DROP TABLE'))).toBe(true);
    expect(values.some((v) => v.includes('\u0000'))).toBe(true);
    expect(values.some((v) => v.length >= 100 * 1024)).toBe(true);
    expect(text).toContain('\\ud800');
    expect(body.result).toEqual(sim.eventsBetween(FROM, FROM + DAY).slice(0, 1000));
  });

  it('renders created_at with offsets and microseconds that denote the same instants', async () => {
    const sim = await start({ faults: { timestampOffsets: true } });
    const offset = JSON.parse((await fetchLogs(sim, 'limit=200&direction=asc')).text) as {
      result: Record<string, unknown>[];
    };
    sim.setFaults({});
    const utc = JSON.parse((await fetchLogs(sim, 'limit=200&direction=asc')).text) as {
      result: Record<string, unknown>[];
    };
    expect(validateResponse('GET', logsUrl(sim), 200, offset)).toEqual([]);
    const stamps = offset.result.map((e) => String(e['created_at']));
    expect(stamps.every((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$/.test(s))).toBe(true);
    expect(stamps.some((s) => !s.endsWith('+00:00'))).toBe(true);
    expect(stamps.map((s) => Date.parse(s))).toEqual(utc.result.map((e) => Date.parse(String(e['created_at']))));
  });
});

describe('rate limiting', () => {
  it('counts requests per token, sends Ratelimit headers and, once over, blocks the token for a whole window', async () => {
    const clock = new ManualClock(FROM + 2 * DAY);
    const second = 'secondToken00000000000000000000000000000';
    const sim = await start({
      clock,
      rateLimit: { requests: 3, windowSecs: 60 },
      tokens: [{ value: 'firstToken000000000000000000000000000000' }, { value: second }],
    });
    const seen: [number, string | null, string | null][] = [];
    for (let i = 0; i < 4; i++) {
      const { res } = await fetchLogs(sim);
      seen.push([res.status, res.headers.get('ratelimit'), res.headers.get('retry-after')]);
      expect(res.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
      clock.advance(1000);
    }
    expect(seen).toEqual([
      [200, '"default";r=2;t=60', null],
      [200, '"default";r=1;t=59', null],
      [200, '"default";r=0;t=58', null],
      // Going over blocks for the next window's length from that moment, not for what was left of the window.
      [429, '"default";r=0;t=60', '60'],
    ]);
    const blocked = await fetchLogs(sim);
    expect(validateResponse('GET', logsUrl(sim), 429, JSON.parse(blocked.text))).toEqual([]);
    expect(blocked.res.headers.get('retry-after')).toBe('59');
    expect((await fetchLogs(sim, undefined, second)).res.status).toBe(200);
    // Where the window would have reset: still blocked.
    clock.advance(57_000);
    expect((await fetchLogs(sim)).res.status).toBe(429);
    clock.advance(2_000);
    const after = await fetchLogs(sim);
    expect(after.res.status).toBe(200);
    expect(after.res.headers.get('ratelimit')).toBe('"default";r=2;t=60');
  });
});

describe('fault targeting', () => {
  const READER = 'readsEverything000000000000000000000000';
  const everything = {
    value: READER,
    permissions: [
      'Access: Audit Logs Read',
      'Access: SCIM Logs Read',
      'Account Settings Read',
      'API Tokens Read',
      'Zero Trust Read',
    ],
  };
  const since = new Date(FROM).toISOString();
  const paths = (sim: Simulator): Record<string, string> => ({
    'access-requests': `/accounts/${sim.accountId}/access/logs/access_requests?limit=5`,
    'access-scim-updates': `/accounts/${sim.accountId}/access/logs/scim/updates?idp_id=x`,
    'audit-logs': `/accounts/${sim.accountId}/audit_logs`,
    'audit-logs-v2': `/accounts/${sim.accountId}/logs/audit?since=${since}&before=${since}`,
    'user-token-details': '/user/tokens/00000000000000000000000000000000',
    'gateway-rules': `/accounts/${sim.accountId}/gateway/rules`,
  });
  const fetchRoute = (sim: Simulator, route: string): Promise<Response> =>
    fetch(`${sim.baseUrl}${paths(sim)[route] ?? ''}`, { headers: { authorization: `Bearer ${READER}` } });

  it('fires only on the named routes and counts only their requests', async () => {
    const sim = await start({
      tokens: [everything],
      faults: { rateLimit: { routes: ['audit-logs-v2', 'access-scim-updates'], everyNth: 2, retryAfterSecs: 3 } },
    });
    const seen: [string, number, string | null][] = [];
    for (const route of ['audit-logs-v2', 'access-requests', 'audit-logs-v2', 'audit-logs', 'access-scim-updates']) {
      const res = await fetchRoute(sim, route);
      await res.text();
      seen.push([route, res.status, res.headers.get('retry-after')]);
    }
    expect(seen).toEqual([
      ['audit-logs-v2', 200, null],
      ['access-requests', 200, null],
      ['audit-logs-v2', 429, '3'],
      ['audit-logs', 200, null],
      ['access-scim-updates', 200, null],
    ]);
  });

  it('applies every triggered fault to the new routes as to access requests', async () => {
    const sim = await start({ tokens: [everything] });
    for (const route of ['access-scim-updates', 'audit-logs', 'audit-logs-v2', 'user-token-details', 'gateway-rules']) {
      sim.setFaults({ serverError: { routes: [route], statuses: [503] } });
      const failed = await fetchRoute(sim, route);
      expect({ route, status: failed.status }).toEqual({ route, status: 503 });
      expect(await failed.text()).toContain('Error code 503');
      expect((await fetchRoute(sim, 'access-requests')).status).toBe(200);

      sim.setFaults({ connectionReset: { routes: [route] } });
      await expect(fetchRoute(sim, route).then((r) => r.text())).rejects.toThrow();

      sim.setFaults({ slow: { routes: [route], delayMs: 200 } });
      const started = performance.now();
      await (await fetchRoute(sim, route)).text();
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    }
    // Truncation hits 200 answers only; the token details of an unknown id are a 404.
    for (const route of ['access-scim-updates', 'audit-logs', 'audit-logs-v2', 'gateway-rules']) {
      sim.setFaults({ truncatedJson: { routes: [route] } });
      const res = await fetchRoute(sim, route);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect({ route, parses: canParse(text) }).toEqual({ route, parses: false });
    }
  });

  it('refuses a route name it does not know, at start and in setFaults', async () => {
    await expect(start({ faults: { rateLimit: { routes: ['audit-log-v2'] } } })).rejects.toThrow(
      /faults\.rateLimit\.routes: unknown route audit-log-v2/,
    );
    const sim = await start();
    expect(() => sim.setFaults({ slow: { routes: ['nope'], delayMs: 1 } })).toThrow(/unknown route nope/);
  });
});

function canParse(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
