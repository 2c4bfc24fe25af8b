import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateRequest, validateResponse } from '../../test/helpers/openapi.js';
import { trackedSimulators } from '../../test/helpers/simulators.js';
import { DEFAULT_PERMISSIONS, DEFAULT_TOKEN } from './simulator.js';
import type { Simulator } from './simulator.js';

const FROM = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const FULL_TOKEN = 'fullInventoryToken0000000000000000000000';
const ZT_ONLY_TOKEN = 'zeroTrustOnlyToken0000000000000000000000';
const OTHER_ACCOUNT = 'ffffffffffffffffffffffffffffffff';
const APPS_PERMISSION = 'Access: Apps and Policies Read';
const start = trackedSimulators(() => ({
  clock: new ManualClock(FROM + 10 * DAY),
  traffic: { kind: 'fixed', fromMs: FROM, toMs: FROM + DAY, count: 2000 },
  tokens: [{ value: DEFAULT_TOKEN }, { value: FULL_TOKEN, permissions: [...DEFAULT_PERMISSIONS, APPS_PERMISSION] }],
}));

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

// spec-2024 documents no query parameters on the page-based inventory lists; `page` and `per_page` come from the
// current API reference (API-NOTES.md §2.5), so only those two may be reported as unknown.
const UNDOCUMENTED_IN_SPEC_2024 = /^unknown query parameter (page|per_page)$/;

async function get(sim: Simulator, path: string, token = FULL_TOKEN, accountId = sim.accountId): Promise<Reply> {
  const url = `${sim.baseUrl}/accounts/${accountId}${path}`;
  expect(validateRequest('GET', url).filter((p) => !UNDOCUMENTED_IN_SPEC_2024.test(p))).toEqual([]);
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  expect({ path, problems: validateResponse('GET', url, res.status, body) }).toEqual({ path, problems: [] });
  return { status: res.status, text, body };
}

function list(reply: Reply): Record<string, unknown>[] {
  expect(reply.status).toBe(200);
  return reply.body['result'] as Record<string, unknown>[];
}

function info(reply: Reply): Record<string, unknown> {
  return reply.body['result_info'] as Record<string, unknown>;
}

const PAGE_BASED = [
  '/access/users',
  '/access/identity_providers',
  '/access/groups',
  '/access/apps',
  '/access/policies',
];
const SINGLE = ['/access/organizations', '/gateway', '/gateway/configuration'];
const ALL = [...PAGE_BASED, ...SINGLE, '/gateway/rules', '/devices', '/devices/physical-devices'];

describe('inventory endpoints', () => {
  it('answer every endpoint with a spec-valid success envelope', async () => {
    const sim = await start();
    for (const path of ALL) {
      const reply = await get(sim, path);
      expect({ path, status: reply.status }).toEqual({ path, status: 200 });
      expect(reply.body).toMatchObject({ success: true, errors: [], messages: [] });
    }
    const org = (await get(sim, '/access/organizations')).body['result'];
    expect(org).toMatchObject({ auth_domain: 'example.cloudflareaccess.com', name: 'Example Corp' });
    const gateway = (await get(sim, '/gateway')).body['result'];
    expect(gateway).toMatchObject({ id: sim.accountId, provider_name: 'Cloudflare' });
    const rules = await get(sim, '/gateway/rules');
    expect(info(rules)).toEqual({ page: 1, per_page: 10, count: 10, total_count: 10, total_pages: 1 });
    const devices = await get(sim, '/devices');
    expect(info(devices)['total_count']).toBe(list(devices).length);
  });

  it('uses the default permissions: 403 10000 on apps and policies, answers on the rest', async () => {
    const sim = await start();
    for (const path of ALL) {
      const reply = await get(sim, path, DEFAULT_TOKEN);
      const needsApps = path === '/access/apps' || path === '/access/policies';
      expect({ path, status: reply.status }).toEqual({ path, status: needsApps ? 403 : 200 });
      if (needsApps)
        expect(reply.body).toEqual({
          success: false,
          errors: [{ code: 10000, message: 'Authentication error' }],
          messages: [],
          result: null,
        });
    }
  });

  it('requires the documented permission group per endpoint', async () => {
    const sim = await start({
      tokens: [{ value: ZT_ONLY_TOKEN, permissions: ['Zero Trust Read'] }],
    });
    const expected: Record<string, number> = {
      '/access/users': 403,
      '/access/organizations': 403,
      '/access/identity_providers': 403,
      '/access/groups': 403,
      '/access/apps': 403,
      '/access/policies': 403,
      '/gateway': 200,
      '/gateway/configuration': 200,
      '/gateway/rules': 200,
      '/devices': 200,
      '/devices/physical-devices': 200,
    };
    for (const [path, status] of Object.entries(expected)) {
      const reply = await get(sim, path, ZT_ONLY_TOKEN);
      expect({ path, status: reply.status }).toEqual({ path, status });
      if (status === 403) expect((reply.body['errors'] as unknown[])[0]).toMatchObject({ code: 10000 });
    }
  });

  it('pages every page-based list to the end with exactly total_count items', async () => {
    const sim = await start();
    for (const path of PAGE_BASED) {
      const perPage = path === '/access/users' ? 7 : 2;
      const seen: string[] = [];
      let total = -1;
      for (let page = 1; ; page++) {
        const reply = await get(sim, `${path}?page=${page}&per_page=${perPage}`);
        const items = list(reply);
        const meta = info(reply);
        total = Number(meta['total_count']);
        expect(meta).toEqual({
          page,
          per_page: perPage,
          count: items.length,
          total_count: total,
          total_pages: Math.ceil(total / perPage),
        });
        seen.push(...items.map((item) => String(item['id'])));
        if (page >= Number(meta['total_pages'])) break;
        expect(items).toHaveLength(perPage);
      }
      expect({ path, count: seen.length }).toEqual({ path, count: total });
      expect(new Set(seen).size).toBe(total);
      const beyond = await get(sim, `${path}?page=${Math.ceil(total / perPage) + 1}&per_page=${perPage}`);
      expect(list(beyond)).toEqual([]);
    }
    const users = await get(sim, '/access/users?per_page=1000');
    expect(info(users)).toMatchObject({ count: 200, total_count: 200, total_pages: 1 });
  });

  it('walks physical devices by cursor to an empty cursor with exactly total_count devices', async () => {
    const sim = await start();
    const seen: string[] = [];
    let cursor = '';
    let total = -1;
    for (let pages = 0; pages < 100; pages++) {
      const reply = await get(
        sim,
        `/devices/physical-devices?per_page=17${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      const items = list(reply);
      const meta = info(reply);
      total = Number(meta['total_count']);
      expect(meta).toMatchObject({ count: items.length, per_page: 17 });
      seen.push(...items.map((d) => String(d['id'])));
      for (const d of items) expect(d['active_registrations']).toBeGreaterThan(0);
      cursor = String(meta['cursor']);
      if (cursor === '') break;
      expect(items).toHaveLength(17);
    }
    expect(cursor).toBe('');
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(total).toBeGreaterThan(17 * 3);

    // active_registrations defaults to `only`; `include` adds the revoked devices the deprecated list also shows.
    const included = await get(sim, '/devices/physical-devices?active_registrations=include&per_page=1000');
    const legacy = await get(sim, '/devices');
    expect(info(included)['total_count']).toBe(list(legacy).length);
    expect(Number(info(included)['total_count'])).toBeGreaterThan(total);
    const excluded = await get(sim, '/devices/physical-devices?active_registrations=exclude&per_page=1000');
    expect(Number(info(excluded)['total_count'])).toBe(Number(info(included)['total_count']) - total);
    expect(list(legacy).filter((d) => 'revoked_at' in d)).toHaveLength(Number(info(excluded)['total_count']));
  });

  it('filters physical devices by user and sorts them', async () => {
    const sim = await start();
    const all = list(await get(sim, '/devices/physical-devices?per_page=1000&sort_by=last_seen_at&sort_order=desc'));
    const seenAt = all.map((d) => String(d['last_seen_at']));
    expect(seenAt).toEqual([...seenAt].sort().reverse());
    const first = all[0]?.['last_seen_user'] as Record<string, unknown>;
    const email = String(first['email']);
    const mine = list(
      await get(
        sim,
        `/devices/physical-devices?last_seen_user.email=${encodeURIComponent(email)}&include=last_seen_registration.policy`,
      ),
    );
    expect(mine.length).toBeGreaterThan(0);
    for (const d of mine) {
      expect(d['last_seen_user']).toMatchObject({ email });
      expect(d['last_seen_registration']).toMatchObject({ policy: { default: true, name: 'Default' } });
    }
  });

  it('describes the same organisation the access logs report', async () => {
    const sim = await start();
    const events = sim.eventsBetween(FROM, FROM + DAY);
    expect(events.length).toBe(2000);
    const idps = list(await get(sim, '/access/identity_providers?per_page=1000'));
    const apps = list(await get(sim, '/access/apps?per_page=1000'));
    const users = list(await get(sim, '/access/users?per_page=1000'));
    const idpTypes = new Set(idps.map((p) => p['type']));
    const appsById = new Map(apps.map((a) => [a['id'], a['domain']]));
    const emails = new Set(users.map((u) => u['email']));
    for (const event of events) {
      expect(idpTypes.has(event['connection'])).toBe(true);
      expect(appsById.get(event['app_uid'])).toBe(event['app_domain']);
      expect(emails.has(event['user_email'])).toBe(true);
    }
    // Every provider and application shows up in a day of logs, so the inventory holds nothing the logs never use.
    expect(new Set(events.map((e) => e['connection'])).size).toBe(idps.length);
    expect(new Set(events.map((e) => e['app_uid'])).size).toBe(apps.length);
    expect(idps.map((p) => p['type'])).toEqual(['okta', 'azureAD', 'saml', 'github', 'onetimepin']);
    expect(idps.find((p) => p['type'] === 'okta')?.['config']).toMatchObject({
      okta_account: 'https://example.okta.com',
    });
  });

  it('renders the same bytes for the same seed and different users for another seed', async () => {
    const a = await start({ seed: 7 });
    const b = await start({ seed: 7 });
    const c = await start({ seed: 8 });
    for (const path of ALL) {
      const query = path === '/devices/physical-devices' ? '?per_page=1000' : '';
      const [ra, rb] = [await get(a, `${path}${query}`), await get(b, `${path}${query}`)];
      expect({ path, same: ra.text === rb.text }).toEqual({ path, same: true });
    }
    const usersA = await get(a, '/access/users?per_page=1000');
    const usersC = await get(c, '/access/users?per_page=1000');
    expect(usersA.text).not.toBe(usersC.text);
  });

  it('rejects out-of-range paging parameters and foreign cursors with 400', async () => {
    const sim = await start();
    for (const path of [
      '/access/users?per_page=1001',
      '/access/groups?page=0',
      '/access/identity_providers?per_page=ten',
      '/devices/physical-devices?cursor=bm90LWEtY3Vyc29y',
      '/devices/physical-devices?sort_by=colour',
    ]) {
      const url = `${sim.baseUrl}/accounts/${sim.accountId}${path}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${FULL_TOKEN}` } });
      const body = (await res.json()) as Record<string, unknown>;
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(validateResponse('GET', url, res.status, body)).toEqual([]);
      expect((body['errors'] as Record<string, unknown>[])[0]?.['code']).toBe(1001);
    }
  });

  it('shows an empty inventory for another account the token may read', async () => {
    const sim = await start({
      tokens: [{ value: FULL_TOKEN, permissions: [...DEFAULT_PERMISSIONS, APPS_PERMISSION], accountIds: [] }],
    });
    const other = await start({
      tokens: [
        {
          value: FULL_TOKEN,
          permissions: [...DEFAULT_PERMISSIONS, APPS_PERMISSION],
          accountIds: [sim.accountId, OTHER_ACCOUNT],
        },
      ],
    });
    expect((await get(sim, '/access/users')).status).toBe(403);
    const users = await get(other, '/access/users', FULL_TOKEN, OTHER_ACCOUNT);
    expect(list(users)).toEqual([]);
    expect(info(users)).toMatchObject({ count: 0, total_count: 0 });
    const devices = await get(other, '/devices/physical-devices', FULL_TOKEN, OTHER_ACCOUNT);
    expect(info(devices)).toEqual({ count: 0, cursor: '', per_page: 25, total_count: 0 });
    expect((await get(other, '/gateway', FULL_TOKEN, OTHER_ACCOUNT)).status).toBe(404);
  });

  it('is held to the spec: a provider without its required config fails validation', async () => {
    const sim = await start();
    const url = `${sim.baseUrl}/accounts/${sim.accountId}/access/identity_providers`;
    const reply = await get(sim, '/access/identity_providers');
    const broken = {
      ...reply.body,
      result: list(reply).map((idp) => Object.fromEntries(Object.entries(idp).filter(([k]) => k !== 'config'))),
    };
    expect(validateResponse('GET', url, 200, broken)).not.toEqual([]);
  });
});
