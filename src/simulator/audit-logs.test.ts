import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateRequest } from '../../test/helpers/openapi.js';
import { checkedGet, firstError, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import { PERMISSIONS } from './simulator.js';
import type { Simulator } from './simulator.js';

const START = Date.parse('2026-03-12T10:00:00Z');
const DAY = 86_400_000;
const MINUTE = 60_000;
const TOKEN = 'accountSettingsReader0000000000000000000';
const HISTORY = START - 30 * DAY;
let clock = new ManualClock(START);
const start = trackedSimulators(() => {
  clock = new ManualClock(START);
  return { clock, tokens: [{ value: TOKEN, permissions: [PERMISSIONS.accountSettings] }] };
});

type Json = Record<string, unknown>;
const iso = (ms: number): string => new Date(ms).toISOString();

function v1Path(sim: Simulator, query: string): string {
  return `/accounts/${sim.accountId}/audit_logs?${query}`;
}

function v2Path(sim: Simulator, query: string): string {
  return `/accounts/${sim.accountId}/logs/audit?${query}`;
}

async function walkV1(sim: Simulator, query: string, perPage: number): Promise<Json[]> {
  const out: Json[] = [];
  for (let page = 1; ; page++) {
    const reply = await checkedGet(sim, v1Path(sim, `${query}&per_page=${perPage}&page=${page}`), { token: TOKEN });
    const items = resultList(reply);
    const info = reply.body['result_info'] as Record<string, number>;
    expect(info).toMatchObject({ page, per_page: perPage, count: items.length });
    out.push(...items);
    if (page >= Number(info['total_pages'])) {
      expect(out).toHaveLength(Number(info['total_count']));
      return out;
    }
  }
}

async function walkV2(sim: Simulator, query: string, limit: number, between?: () => void): Promise<Json[]> {
  const out: Json[] = [];
  let cursor = '';
  for (let pages = 0; pages < 1000; pages++) {
    const reply = await checkedGet(
      sim,
      v2Path(sim, `${query}&limit=${limit}${cursor === '' ? '' : `&cursor=${cursor}`}`),
      { token: TOKEN },
    );
    const items = resultList(reply);
    const info = reply.body['result_info'] as Json;
    expect(info['count']).toBe(String(items.length));
    out.push(...items);
    cursor = String(info['cursor']);
    if (cursor === '') return out;
    expect(items).toHaveLength(limit);
    between?.();
  }
  throw new Error('cursor never ended');
}

describe('audit logs, version 1', () => {
  it('pages every entry newest first by default, matching auditLogsBetween', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    expect(all.length).toBeGreaterThan(500);
    const first = await checkedGet(sim, v1Path(sim, `since=${iso(HISTORY)}`), { token: TOKEN });
    expect(first.body['result_info']).toEqual({
      page: 1,
      per_page: 100,
      count: 100,
      total_count: all.length,
      total_pages: Math.ceil(all.length / 100),
    });
    expect(resultList(first)).toEqual([...all].reverse().slice(0, 100));
    expect(await walkV1(sim, `since=${iso(HISTORY)}&direction=asc`, 250)).toEqual(all);
    const ids = all.map((e) => e['id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('records logins, views and the configuration changes with their old and new values', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    const types = new Set(all.map((e) => (e['action'] as Json)['type']));
    expect([...types].sort()).toEqual(['login', 'update', 'view']);
    expect(all.some((e) => (e['action'] as Json)['result'] === false)).toBe(true);
    const updates = all.filter((e) => (e['action'] as Json)['type'] === 'update');
    expect(updates).toHaveLength(sim.inventoryChanges().filter((c) => c.atMs <= START).length);
    for (const entry of updates) {
      expect(JSON.parse(String(entry['newValue']))).toBeTypeOf('object');
      expect(entry['owner']).toEqual({ id: sim.accountId });
    }
    expect(all.every((e) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(String(e['when'])))).toBe(true);
  });

  it('filters by the spec-2024 parameters', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    const sample = all.find((e) => (e['actor'] as Json)['email'] !== undefined) ?? {};
    const actor = sample['actor'] as Json;
    const ip = String(actor['ip']);
    const cidr = ip.includes(':') ? `${ip}/128` : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
    const inCidr = (e: Json): boolean => {
      const other = String((e['actor'] as Json)['ip']);
      return ip.includes(':') ? other === ip : other.startsWith(`${ip.split('.').slice(0, 3).join('.')}.`);
    };
    const cases: [string, (e: Json) => boolean][] = [
      ['action.type=login', (e) => (e['action'] as Json)['type'] === 'login'],
      [
        `actor.email=${encodeURIComponent(String(actor['email']))}`,
        (e) => (e['actor'] as Json)['email'] === actor['email'],
      ],
      [`actor.ip=${encodeURIComponent(cidr)}`, inCidr],
      [`id=${String(sample['id'])}`, (e) => e['id'] === sample['id']],
      ['hide_user_logs=true', (e) => (e['action'] as Json)['type'] !== 'login'],
      ['zone.name=example.com', () => false],
    ];
    for (const [query, keep] of cases) {
      const got = await walkV1(sim, `since=${iso(HISTORY)}&direction=asc&${query}`, 1000);
      expect({ query, got: got.length }).toEqual({ query, got: all.filter(keep).length });
      expect(got).toEqual(all.filter(keep));
    }
  });

  it('reads since as "newer than" and before as "older than" (both exclusive), in dates or date-times', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    const pick = String(all[200]?.['when']);
    const at = Date.parse(pick);
    const end = Date.parse(String(all[260]?.['when']));
    const window = await walkV1(sim, `since=${pick}&before=${iso(end)}&direction=asc`, 1000);
    expect(window.length).toBeGreaterThan(0);
    expect(window).toEqual(
      all.filter((e) => Date.parse(String(e['when'])) > at && Date.parse(String(e['when'])) < end),
    );
    expect(window.some((e) => e['when'] === pick)).toBe(false);
    // A millisecond earlier brings the entry at `pick` back first.
    const from = await walkV1(sim, `since=${iso(at - 1)}&before=${iso(at + 1)}&direction=asc`, 1000);
    expect(from[0]?.['when']).toBe(pick);
    // A full date is midnight UTC; the spec-2024 schema says date-time, the API reference accepts both.
    const day = pick.slice(0, 10);
    const next = iso(Date.parse(`${day}T00:00:00Z`) + DAY).slice(0, 10);
    const url = v1Path(sim, `since=${day}&before=${next}&per_page=1000&direction=asc`);
    const byDate = resultList(await checkedGet(sim, url, { token: TOKEN, invalidRequest: true }));
    const midnight = Date.parse(`${day}T00:00:00Z`);
    expect(byDate).toEqual(
      all.filter((e) => String(e['when']).startsWith(day) && Date.parse(String(e['when'])) > midnight),
    );
  });

  it('rejects out-of-range paging and malformed values with 400', async () => {
    const sim = await start();
    for (const query of [
      'per_page=0',
      'per_page=1001',
      'page=0',
      'direction=up',
      'since=yesterday',
      'actor.ip=300.1.1.1',
      'hide_user_logs=maybe',
    ]) {
      const reply = await checkedGet(sim, v1Path(sim, query), { token: TOKEN, invalidRequest: true });
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
      expect(firstError(reply)['code']).toBe(1001);
    }
    expect(validateRequest('GET', `${sim.baseUrl}${v1Path(sim, 'per_page=1001')}`)).not.toEqual([]);
  });
});

describe('audit logs, version 2', () => {
  it('requires since and before', async () => {
    const sim = await start();
    for (const query of [`since=${iso(HISTORY)}`, `before=${iso(START)}`, 'limit=5']) {
      expect(validateRequest('GET', `${sim.baseUrl}${v2Path(sim, query)}`).join()).toMatch(/missing required/);
      const reply = await checkedGet(sim, v2Path(sim, query), { token: TOKEN, invalidRequest: true });
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
      expect(firstError(reply)['message']).toMatch(/since and before are required/);
    }
  });

  it('walks by cursor to an empty cursor in both directions, matching auditLogsBetween', async () => {
    const sim = await start({ maxPageSize: 1000 });
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v2');
    const window = `since=${iso(HISTORY)}&before=${iso(START + DAY)}`;
    expect(await walkV2(sim, `${window}&direction=asc`, 97)).toEqual(all);
    expect(await walkV2(sim, window, 200)).toEqual([...all].reverse());
    const ids = all.map((e) => String(e['id']));
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('neither repeats nor skips entries that arrive while a newest-first walk is under way', async () => {
    const sim = await start();
    const window = `since=${iso(HISTORY)}&before=${iso(START + DAY)}`;
    const seen = await walkV2(sim, window, 50, () => clock.advance(10 * MINUTE));
    const ids = seen.map((e) => e['id']);
    expect(new Set(ids).size).toBe(ids.length);
    // Entries did arrive meanwhile (the scheduled changes at least), which would shift offset-based pages.
    expect(sim.auditLogsBetween(START + 1, clock.now(), 'v2').length).toBeGreaterThanOrEqual(4);
    // Everything up to the start came through; entries that arrived meanwhile are newer than the first page.
    expect(seen.filter((e) => Date.parse(String((e['action'] as Json)['time'])) <= START)).toEqual(
      [...sim.auditLogsBetween(HISTORY, START + 1, 'v2')].reverse(),
    );
  });

  it('renders the same entries as version 1', async () => {
    const sim = await start();
    const v1 = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    const v2 = sim.auditLogsBetween(HISTORY, START + 1, 'v2');
    expect(v2).toHaveLength(v1.length);
    v1.forEach((one, i) => {
      const two = v2[i] ?? {};
      expect(two['id']).toBe(String(one['id']).replace(/-/g, ''));
      expect((two['action'] as Json)['time']).toBe(one['when']);
      expect((two['actor'] as Json)['email']).toBe((one['actor'] as Json)['email']);
      expect((two['resource'] as Json)['id']).toBe((one['resource'] as Json)['id']);
      expect((two['account'] as Json)['id']).toBe(sim.accountId);
    });
    const contexts = new Set(v2.map((e) => (e['actor'] as Json)['context']));
    expect([...contexts].sort()).toEqual(['api_token', 'dash']);
    expect(new Set(v2.map((e) => (e['action'] as Json)['type']))).toEqual(new Set(['create', 'update', 'view']));
  });

  it('accepts dates and applies the exclusion filters and product categories', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v2');
    const window = `since=${iso(HISTORY).slice(0, 10)}&before=${iso(START + DAY).slice(0, 10)}&direction=asc`;
    const actor = (all[0]?.['actor'] ?? {}) as Json;
    const cases: [string, (e: Json) => boolean][] = [
      ['action_type.not=view', (e) => (e['action'] as Json)['type'] !== 'view'],
      ['action_type.not=view&action_type.not=create', (e) => (e['action'] as Json)['type'] === 'update'],
      ['actor_context.not=dash', (e) => (e['actor'] as Json)['context'] !== 'dash'],
      [
        `actor_email.not=${encodeURIComponent(String(actor['email']))}`,
        (e) => (e['actor'] as Json)['email'] !== actor['email'],
      ],
      ['action_result.not=success', (e) => (e['action'] as Json)['result'] === 'failure'],
      ['resource_scope.not=user', (e) => (e['resource'] as Json)['scope'] !== 'user'],
      ['raw_status_code.not=200', (e) => (e['raw'] as Json)['status_code'] !== 200],
      ['product_category=gateway', (e) => (e['resource'] as Json)['product'] === 'gateway'],
    ];
    for (const [query, keep] of cases) {
      const got = await walkV2(sim, `${window}&${query}`, 1000);
      expect({ query, got: got.length }).toEqual({ query, got: all.filter(keep).length });
      expect(got).toEqual(all.filter(keep));
    }
  });

  it('rejects bad limits, unknown categories, malformed dates and foreign cursors with 400', async () => {
    const sim = await start();
    const window = `since=${iso(HISTORY)}&before=${iso(START)}`;
    for (const query of [
      `${window}&limit=0`,
      `${window}&limit=1001`,
      `${window}&product_category=zones`,
      `${window}&cursor=bm90LWEtY3Vyc29y`,
      `${window}&action_type.not=login`,
      `since=2026-3-1&before=${iso(START)}`,
    ]) {
      const reply = await checkedGet(sim, v2Path(sim, query), { token: TOKEN, invalidRequest: true });
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
      expect(firstError(reply)['code']).toBe(1001);
    }
  });

  it('serves the changes after the start, SCIM provisioning included, once the clock reaches them', async () => {
    const sim = await start({ adminTraffic: { auditEntriesPerDay: 0 } });
    const window = `since=${iso(START)}&direction=asc`;
    expect(resultList(await checkedGet(sim, v1Path(sim, window), { token: TOKEN }))).toEqual([]);
    clock.advance(10 * MINUTE);
    const v1 = resultList(await checkedGet(sim, v1Path(sim, window), { token: TOKEN }));
    const v2 = resultList(await checkedGet(sim, v2Path(sim, `${window}&before=${iso(clock.now())}`), { token: TOKEN }));
    const later = sim.inventoryChanges().filter((c) => c.atMs > START);
    expect(v1.map((e) => (e['resource'] as Json)['id'])).toEqual(later.map((c) => c.resourceId));
    expect(v2.map((e) => (e['action'] as Json)['description'])).toEqual(later.map((c) => c.description));
    const provisioned = v2.find((e) => (e['resource'] as Json)['type'] === 'access_user') ?? {};
    expect(provisioned['actor']).toMatchObject({ type: 'system', context: 'api' });
    expect(v1.find((e) => (e['resource'] as Json)['type'] === 'access_user')).toMatchObject({
      action: { type: 'create', result: true },
      actor: { type: 'Cloudflare' },
      oldValue: '',
    });
  });

  it('answers an empty list for another account the token may read', async () => {
    const other = 'ffffffffffffffffffffffffffffffff';
    const sim = await start({
      tokens: [{ value: TOKEN, permissions: [PERMISSIONS.accountSettings], accountIds: [other] }],
    });
    const reply = await checkedGet(sim, `/accounts/${other}/logs/audit?since=${iso(HISTORY)}&before=${iso(START)}`, {
      token: TOKEN,
    });
    expect(reply.body).toMatchObject({ result: [], result_info: { count: '0', cursor: '' } });
    const v1 = await checkedGet(sim, `/accounts/${other}/audit_logs`, { token: TOKEN });
    expect(v1.body).toMatchObject({ result: [], result_info: { total_count: 0 } });
  });
});
