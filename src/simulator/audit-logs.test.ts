import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateRequest } from '../../test/helpers/openapi.js';
import { checkedGet, firstError, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import { PERMISSIONS } from './simulator.js';
import type { Simulator } from './simulator.js';

const START = Date.parse('2026-03-12T10:00:00Z');
const DAY = 86_400_000;
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

  it('reads since as inclusive and before as exclusive, in dates or date-times', async () => {
    const sim = await start();
    const all = sim.auditLogsBetween(HISTORY, START + 1, 'v1');
    const pick = String(all[200]?.['when']);
    const at = Date.parse(pick);
    const window = await walkV1(sim, `since=${pick}&before=${iso(at + 3_600_000)}&direction=asc`, 1000);
    expect(window).toEqual(
      all.filter((e) => Date.parse(String(e['when'])) >= at && Date.parse(String(e['when'])) < at + 3_600_000),
    );
    expect(window[0]?.['when']).toBe(pick);
    // A full date is midnight UTC; the spec-2024 schema says date-time, the API reference accepts both.
    const day = pick.slice(0, 10);
    const next = iso(Date.parse(`${day}T00:00:00Z`) + DAY).slice(0, 10);
    const url = v1Path(sim, `since=${day}&before=${next}&per_page=1000&direction=asc`);
    const byDate = resultList(await checkedGet(sim, url, { token: TOKEN, invalidRequest: true }));
    expect(byDate).toEqual(all.filter((e) => String(e['when']).startsWith(day)));
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
