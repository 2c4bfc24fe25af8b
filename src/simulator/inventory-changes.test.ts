import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { checkedGet, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import { INVENTORY_CHANGE_KINDS, INVENTORY_CHANGE_OFFSETS_MS, NEW_USER, PERMISSIONS } from './simulator.js';
import type { Simulator } from './simulator.js';

const START = Date.parse('2026-03-12T10:00:00.250Z');
const START_S = Date.parse('2026-03-12T10:00:00Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const TOKEN = 'inventoryChangesToken0000000000000000000';
let clock = new ManualClock(START);
const start = trackedSimulators(() => {
  clock = new ManualClock(START);
  return {
    clock,
    tokens: [{ value: TOKEN, permissions: [...Object.values(PERMISSIONS)] }],
    // Routine activity stays out of the way of the checks on the scheduled entries.
    adminTraffic: { auditEntriesPerDay: 0, scimUpdatesPerDay: 0 },
  };
});

// spec-2024 documents no query parameters on the page-based inventory lists (API-NOTES.md §2.5), so these tests
// fetch them without any and rely on the default page holding everything they look at.
async function list(sim: Simulator, path: string): Promise<Record<string, unknown>[]> {
  return resultList(await checkedGet(sim, `/accounts/${sim.accountId}${path}`, { token: TOKEN }));
}

async function single(sim: Simulator, path: string): Promise<Record<string, unknown>> {
  const reply = await checkedGet(sim, `/accounts/${sim.accountId}${path}`, { token: TOKEN });
  expect(reply.status).toBe(200);
  return reply.body['result'] as Record<string, unknown>;
}

async function allUsers(sim: Simulator): Promise<Record<string, unknown>[]> {
  const url = `${sim.baseUrl}/accounts/${sim.accountId}/access/users?per_page=1000`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await res.json()) as { result: Record<string, unknown>[] }).result;
}

function named(items: readonly Record<string, unknown>[], name: string): Record<string, unknown> {
  const found = items.find((item) => item['name'] === name);
  expect(found, name).toBeDefined();
  return found ?? {};
}

// The audit entries as Audit Logs v2 renders them; audit-logs.test.ts checks that the endpoint serves the same.
function auditV2(sim: Simulator): readonly Record<string, unknown>[] {
  return sim.auditLogsBetween(START - 30 * DAY, clock.now() + 1, 'v2');
}

describe('scheduled inventory changes', () => {
  it('schedules every kind of change at its offset from the start, four in the past and four to come', async () => {
    const sim = await start();
    const changes = sim.inventoryChanges();
    expect(changes.map((c) => c.kind).sort()).toEqual([...INVENTORY_CHANGE_KINDS].sort());
    for (const change of changes) expect(change.atMs).toBe(START_S + INVENTORY_CHANGE_OFFSETS_MS[change.kind]);
    expect(changes.map((c) => c.atMs)).toEqual([...changes.map((c) => c.atMs)].sort((a, b) => a - b));
    expect(changes.filter((c) => c.atMs < START)).toHaveLength(4);
    expect(changes.filter((c) => c.atMs > START && c.atMs <= START + 10 * MINUTE)).toHaveLength(4);
  });

  it('shows past changes at the start and the state before them earlier', async () => {
    const sim = await start();
    const at = (kind: string): number => sim.inventoryChanges().find((c) => c.kind === kind)?.atMs ?? NaN;

    const rule = named(await list(sim, '/gateway/rules'), 'Block remote desktop');
    expect(rule).toMatchObject({
      enabled: false,
      updated_at: new Date(at('gateway_rule_disabled')).toISOString().replace('.000', ''),
    });
    expect(named(sim.inventory(at('gateway_rule_disabled') - 1).gatewayRules, 'Block remote desktop')['enabled']).toBe(
      true,
    );

    const contractors = named(await list(sim, '/access/groups'), 'Contractors');
    expect(contractors['include']).toHaveLength(2);
    expect(named(sim.inventory(at('group_include_widened') - 1).groups, 'Contractors')['include']).toHaveLength(1);

    expect((await single(sim, '/access/organizations'))['session_duration']).toBe('24h');
    expect(sim.inventory(at('organization_session_lengthened') - 1).organization['session_duration']).toBe('12h');

    const before = sim.inventory(at('policy_changed') - 1);
    expect(named(before.policies, 'Allow administrators')['require']).toEqual([]);
    const policy = named(await list(sim, '/access/policies'), 'Allow administrators');
    expect(policy['require']).toEqual([{ geo: { country_code: 'US' } }]);
    // Applications embed the reusable policy, so they show the change too.
    const admin = named(await list(sim, '/access/apps'), 'Admin console');
    const embedded = (admin['policies'] as Record<string, unknown>[]).find((p) => p['id'] === policy['id']);
    expect(embedded?.['require']).toEqual([{ geo: { country_code: 'US' } }]);
  });

  it('applies the changes to come as the clock reaches them, in every route', async () => {
    const sim = await start();
    const changes = sim.inventoryChanges();
    const at = (kind: string): number => changes.find((c) => c.kind === kind)?.atMs ?? NaN;
    const device = changes.find((c) => c.kind === 'device_revoked')?.resourceId;
    const usersBefore = await allUsers(sim);
    expect(usersBefore).toHaveLength(200);
    const physical = async (): Promise<string[]> =>
      resultList(
        await checkedGet(sim, `/accounts/${sim.accountId}/devices/physical-devices?per_page=1000`, { token: TOKEN }),
      ).map((d) => String(d['id']));
    expect(await physical()).toContain(device);

    clock.set(at('user_added') - 1);
    expect(await allUsers(sim)).toHaveLength(200);
    clock.set(at('user_added'));
    const users = await allUsers(sim);
    expect(users).toHaveLength(201);
    expect(users.at(-1)).toMatchObject({ email: NEW_USER.email, name: NEW_USER.name, access_seat: false });

    clock.set(at('device_revoked'));
    expect(await physical()).not.toContain(device);
    const legacy = await list(sim, '/devices');
    const revoked = legacy.find((d) => d['id'] === device) ?? {};
    expect(revoked['revoked_at']).toBe(new Date(at('device_revoked')).toISOString().replace('.000', ''));
    const owner = (await allUsers(sim)).find((u) => u['id'] === (revoked['user'] as Record<string, unknown>)['id']);
    const ownerBefore = usersBefore.find((u) => u['id'] === owner?.['id']);
    expect(owner?.['active_device_count']).toBe(Number(ownerBefore?.['active_device_count']) - 1);

    clock.set(at('identity_provider_added'));
    const idps = await list(sim, '/access/identity_providers');
    expect(idps.map((p) => p['type'])).toEqual(['okta', 'azureAD', 'saml', 'github', 'onetimepin', 'google-apps']);

    expect(named(await list(sim, '/access/apps'), 'Admin console')['session_duration']).toBe('24h');
    clock.set(at('app_changed'));
    expect(named(await list(sim, '/access/apps'), 'Admin console')['session_duration']).toBe('8h');
  });

  it('writes one audit entry per change, at its time, naming the changed object', async () => {
    const sim = await start();
    clock.advance(10 * MINUTE);
    const entries = auditV2(sim);
    const changes = sim.inventoryChanges();
    expect(entries).toHaveLength(changes.length);
    for (const [i, change] of changes.entries()) {
      const entry = entries[i] ?? {};
      expect(entry['action']).toMatchObject({
        time: new Date(change.atMs).toISOString().replace('.000', ''),
        description: change.description,
        result: 'success',
      });
      expect(entry['resource']).toMatchObject({ id: change.resourceId });
    }
    const v1 = sim.auditLogsBetween(START - 30 * DAY, clock.now(), 'v1');
    const disabled = v1.find((e) => (e['metadata'] as Record<string, unknown>)['name'] === 'Block remote desktop');
    expect(disabled).toMatchObject({
      action: { result: true, type: 'update' },
      oldValue: '{"enabled":true}',
      newValue: '{"enabled":false}',
    });
  });

  it('stays as built with inventoryChanges: false', async () => {
    const sim = await start({ inventoryChanges: false });
    expect(sim.inventoryChanges()).toEqual([]);
    clock.advance(DAY);
    expect(await allUsers(sim)).toHaveLength(200);
    expect(auditV2(sim)).toEqual([]);
  });
});

describe('updateInventory', () => {
  it('changes what every inventory route answers, for each kind of object', async () => {
    const sim = await start();
    sim.updateInventory((inv) => ({
      ...inv,
      users: inv.users.slice(1),
      organization: { ...inv.organization, session_duration: '1h' },
      identityProviders: inv.identityProviders.filter((p) => p['type'] !== 'github'),
      groups: inv.groups.map((g) => (g['name'] === 'Finance' ? { ...g, name: 'Finance team' } : g)),
      policies: inv.policies.filter((p) => p['decision'] !== 'bypass'),
      apps: inv.apps.map((a) => (a['name'] === 'Wiki' ? { ...a, session_duration: '2h' } : a)),
      gatewayAccount: { ...inv.gatewayAccount, gateway_tag: 'f'.repeat(32) },
      gatewayConfiguration: { ...inv.gatewayConfiguration, updated_at: '2026-03-12T09:00:00Z' },
      gatewayRules: inv.gatewayRules.map((r) => ({ ...r, enabled: false })),
      devices: inv.devices.slice(0, 3),
    }));
    expect(await allUsers(sim)).toHaveLength(199);
    expect((await single(sim, '/access/organizations'))['session_duration']).toBe('1h');
    expect((await list(sim, '/access/identity_providers')).map((p) => p['type'])).not.toContain('github');
    expect((await list(sim, '/access/groups')).map((g) => g['name'])).toContain('Finance team');
    expect((await list(sim, '/access/policies')).map((p) => p['decision'])).not.toContain('bypass');
    expect(named(await list(sim, '/access/apps'), 'Wiki')['session_duration']).toBe('2h');
    expect((await single(sim, '/gateway'))['gateway_tag']).toBe('f'.repeat(32));
    expect((await single(sim, '/gateway/configuration'))['updated_at']).toBe('2026-03-12T09:00:00Z');
    expect((await list(sim, '/gateway/rules')).every((r) => r['enabled'] === false)).toBe(true);
    expect(await list(sim, '/devices')).toHaveLength(3);
    expect(sim.inventory().devices).toHaveLength(3);
  });

  it('keeps test updates over later scheduled changes and drops an update that throws', async () => {
    const sim = await start();
    sim.updateInventory((inv) => ({
      ...inv,
      users: inv.users.filter((u) => u['email'] !== NEW_USER.email).slice(0, 10),
    }));
    expect(() =>
      sim.updateInventory(() => {
        throw new Error('broken update');
      }),
    ).toThrow('broken update');
    clock.advance(10 * MINUTE);
    const inventory = sim.inventory();
    // The scheduled user arrives after the update, so it is added on top of the ten users the update kept.
    expect(inventory.users.map((u) => u['email'])).toContain(NEW_USER.email);
    expect(inventory.users).toHaveLength(11);
    expect(inventory.identityProviders.map((p) => p['type'])).toContain('google-apps');
  });
});
