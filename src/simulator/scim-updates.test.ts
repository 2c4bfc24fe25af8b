import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateRequest } from '../../test/helpers/openapi.js';
import { checkedGet, firstError, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import { NEW_USER, PERMISSIONS } from './simulator.js';
import type { Simulator } from './simulator.js';

const START = Date.parse('2026-03-12T10:00:00Z');
const DAY = 86_400_000;
const TOKEN = 'scimLogsReader00000000000000000000000000';
let clock = new ManualClock(START);
const start = trackedSimulators(() => {
  clock = new ManualClock(START);
  return {
    clock,
    tokens: [{ value: TOKEN, permissions: [PERMISSIONS.accessScimLogs, PERMISSIONS.accessOrganizations] }],
  };
});

const FIELDS = [
  'cf_resource_id',
  'error_description',
  'idp_id',
  'idp_resource_id',
  'logged_at',
  'request_body',
  'request_method',
  'resource_group_name',
  'resource_type',
  'resource_user_email',
  'status',
];

async function scimIdps(sim: Simulator): Promise<string[]> {
  const idps = resultList(
    await checkedGet(sim, `/accounts/${sim.accountId}/access/identity_providers`, { token: TOKEN }),
  );
  return idps
    .filter((p) => (p['scim_config'] as Record<string, unknown>)['enabled'] === true)
    .map((p) => String(p['id']));
}

function updatesPath(sim: Simulator, query: string): string {
  return `/accounts/${sim.accountId}/access/logs/scim/updates?${query}`;
}

async function updates(sim: Simulator, query: string): Promise<Record<string, unknown>[]> {
  return resultList(await checkedGet(sim, updatesPath(sim, query), { token: TOKEN }));
}

function idpQuery(ids: readonly string[]): string {
  return ids.map((id) => `idp_id=${id}`).join('&');
}

async function walk(sim: Simulator, query: string, perPage: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let page = 1; ; page++) {
    const reply = await checkedGet(sim, updatesPath(sim, `${query}&per_page=${perPage}&page=${page}`), {
      token: TOKEN,
    });
    const items = resultList(reply);
    const info = reply.body['result_info'] as Record<string, number>;
    expect(info).toEqual({
      page,
      per_page: perPage,
      count: items.length,
      total_count: info['total_count'],
      total_pages: Math.ceil(Number(info['total_count']) / perPage),
    });
    out.push(...items);
    if (page >= Number(info['total_pages'])) return out;
  }
}

describe('SCIM update logs', () => {
  it('renders every documented field for updates from the SCIM-enabled providers', async () => {
    const sim = await start();
    const idps = await scimIdps(sim);
    expect(idps.length).toBeGreaterThanOrEqual(1);
    const all = sim.scimUpdatesBetween(START - 30 * DAY, START);
    // 60 a weekday, fewer at weekends, for 30 days.
    expect(all.length).toBeGreaterThan(800);
    expect(all.length).toBeLessThan(2400);
    for (const record of all) {
      expect(Object.keys(record).sort()).toEqual(FIELDS);
      expect(idps).toContain(record['idp_id']);
      const body = String(record['request_body']);
      if (record['request_method'] === 'DELETE') expect(body).toBe('');
      else expect(JSON.parse(body)).toHaveProperty('schemas');
      expect(record['error_description'] === '').toBe(record['status'] === 'SUCCESS');
      expect(record['resource_group_name'] === '').toBe(record['resource_type'] === 'USER');
    }
    const distinct = (field: string): string[] => [...new Set(all.map((r) => String(r[field])))].sort();
    expect(distinct('request_method')).toEqual(['DELETE', 'PATCH', 'POST', 'PUT']);
    expect(distinct('resource_type')).toEqual(['GROUP', 'USER']);
    expect(distinct('status')).toEqual(['FAILURE', 'SUCCESS']);
    expect(distinct('idp_id')).toEqual([...idps].sort());
    const bodies = all.map((r) => String(r['request_body']));
    expect(bodies.some((b) => b.includes('"active":false'))).toBe(true);
    expect(bodies.some((b) => b.includes('"op":"add","path":"members"'))).toBe(true);
    expect(bodies.some((b) => b.includes('urn:ietf:params:scim:schemas:core:2.0:Group'))).toBe(true);
  });

  it('requires idp_id, answering 400 with the failure envelope', async () => {
    const sim = await start();
    const url = `${sim.baseUrl}${updatesPath(sim, 'limit=5')}`;
    expect(validateRequest('GET', url)).toEqual(['missing required query parameter idp_id']);
    const reply = await checkedGet(sim, updatesPath(sim, 'limit=5'), { token: TOKEN, invalidRequest: true });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ success: false, messages: [], result: null });
    expect(firstError(reply)).toMatchObject({ code: 1001, message: expect.stringContaining('idp_id') as unknown });
  });

  it('takes repeated idp_id keys and pages through everything the providers pushed, in both directions', async () => {
    const sim = await start({ maxPageSize: 100 });
    const idps = await scimIdps(sim);
    const expected = sim.scimUpdatesBetween(START - 30 * DAY, START + 1);
    const asc = await walk(sim, `${idpQuery(idps)}&direction=asc`, 100);
    expect(asc.length).toBeGreaterThan(500);
    expect(asc).toEqual(expected);
    const desc = await walk(sim, idpQuery(idps), 100);
    expect(desc).toEqual([...expected].reverse());
    const first = await walk(sim, `idp_id=${idps[0] ?? ''}&direction=asc`, 100);
    expect(first).toEqual(expected.filter((r) => r['idp_id'] === idps[0]));
    expect(first.length).toBeLessThan(expected.length);
    expect(await updates(sim, 'idp_id=00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  it('applies the limit, default page size and the per_page maximum', async () => {
    const sim = await start();
    const idps = idpQuery(await scimIdps(sim));
    expect(await updates(sim, idps)).toHaveLength(25);
    expect(await updates(sim, `${idps}&limit=7`)).toHaveLength(7);
    const tooMany = await checkedGet(sim, updatesPath(sim, `${idps}&per_page=1001`), {
      token: TOKEN,
      invalidRequest: true,
    });
    expect(tooMany.status).toBe(400);
    expect(validateRequest('GET', `${sim.baseUrl}${updatesPath(sim, `${idps}&per_page=1001`)}`)).not.toEqual([]);
  });

  it('filters by every documented field filter and rejects unknown enum values', async () => {
    const sim = await start();
    const idps = await scimIdps(sim);
    const all = sim.scimUpdatesBetween(START - 30 * DAY, START + 1);
    const sample = all.find((r) => r['resource_type'] === 'GROUP' && r['status'] === 'FAILURE') ?? {};
    const cases: [string, (r: Record<string, unknown>) => boolean][] = [
      ['status=FAILURE', (r) => r['status'] === 'FAILURE'],
      ['resource_type=GROUP', (r) => r['resource_type'] === 'GROUP'],
      ['request_method=PATCH&request_method=POST', (r) => ['PATCH', 'POST'].includes(String(r['request_method']))],
      [
        `resource_user_email=${encodeURIComponent(String(sample['resource_user_email']))}`,
        (r) => r['resource_user_email'] === sample['resource_user_email'],
      ],
      [`cf_resource_id=${String(sample['cf_resource_id'])}`, (r) => r['cf_resource_id'] === sample['cf_resource_id']],
      [
        `idp_resource_id=${String(sample['idp_resource_id'])}`,
        (r) => r['idp_resource_id'] === sample['idp_resource_id'],
      ],
      [
        `resource_group_name=${encodeURIComponent(String(sample['resource_group_name']))}`,
        (r) => r['resource_group_name'] === sample['resource_group_name'],
      ],
      ['status=FAILURE&resource_type=USER', (r) => r['status'] === 'FAILURE' && r['resource_type'] === 'USER'],
    ];
    for (const [query, keep] of cases) {
      const got = await walk(sim, `${idpQuery(idps)}&direction=asc&${query}`, 1000);
      const want = all.filter(keep);
      expect({ query, count: got.length }).toEqual({ query, count: want.length });
      expect(got).toEqual(want);
      expect(want.length).toBeGreaterThan(0);
    }
    for (const bad of [
      'status=BROKEN',
      'resource_type=DEVICE',
      'request_method=GET',
      'direction=up',
      'since=yesterday',
    ]) {
      const reply = await checkedGet(sim, updatesPath(sim, `${idpQuery(idps)}&${bad}`), {
        token: TOKEN,
        invalidRequest: true,
      });
      expect({ bad, status: reply.status }).toEqual({ bad, status: 400 });
    }
  });

  it('treats since and until as inclusive and serves nothing after the clock', async () => {
    const sim = await start();
    const idps = idpQuery(await scimIdps(sim));
    const all = sim.scimUpdatesBetween(START - 30 * DAY, START);
    const pick = all[300] ?? {};
    const at = String(pick['logged_at']);
    const exact = await updates(sim, `${idps}&since=${at}&until=${at}`);
    expect(exact).toEqual(all.filter((r) => r['logged_at'] === at).reverse());
    expect(exact.length).toBeGreaterThan(0);

    // The scheduled new hire arrives through Okta one minute after the start.
    const hire = sim.inventoryChanges().find((c) => c.kind === 'user_added');
    const window = `${idps}&since=${new Date(START).toISOString()}&until=${new Date(START + DAY).toISOString()}`;
    expect((await updates(sim, window)).map((r) => r['resource_user_email'])).not.toContain(NEW_USER.email);
    clock.set(hire?.atMs ?? NaN);
    const arrived = (await updates(sim, window)).find((r) => r['resource_user_email'] === NEW_USER.email);
    expect(arrived).toMatchObject({
      cf_resource_id: hire?.resourceId,
      request_method: 'POST',
      resource_type: 'USER',
      status: 'SUCCESS',
      logged_at: new Date(hire?.atMs ?? NaN).toISOString(),
    });
    clock.advance(DAY);
    const later = await updates(sim, `${window}&per_page=1000&direction=asc`);
    expect(later).toEqual(sim.scimUpdatesBetween(START, START + DAY + 1));
  });

  it('makes the volume adjustable and the records the same for the same seed', async () => {
    const busy = await start({ adminTraffic: { scimUpdatesPerDay: 2000, historyDays: 1 } });
    const busyAll = busy.scimUpdatesBetween(START - 2 * DAY, START);
    expect(busyAll.length).toBeGreaterThan(1000);
    expect(Date.parse(String(busyAll[0]?.['logged_at']))).toBeGreaterThanOrEqual(START - DAY);
    const again = await start({ adminTraffic: { scimUpdatesPerDay: 2000, historyDays: 1 } });
    expect(again.scimUpdatesBetween(START - 2 * DAY, START)).toEqual(busyAll);
    const other = await start({ seed: 2, adminTraffic: { scimUpdatesPerDay: 2000, historyDays: 1 } });
    expect(other.scimUpdatesBetween(START - 2 * DAY, START)).not.toEqual(busyAll);
  });
});
