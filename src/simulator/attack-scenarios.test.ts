import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { checkedGet, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import { ATTACK_SCENARIO_KINDS, DEFAULT_PERMISSIONS, PERMISSIONS } from './simulator.js';

const START = Date.parse('2026-05-20T12:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TOKEN = 'attackScenarioReader000000000000000000000';
const start = trackedSimulators(() => ({
  clock: new ManualClock(START),
  tokens: [
    {
      value: TOKEN,
      permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs, PERMISSIONS.accountSettings],
    },
  ],
}));
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('injected attack scenarios', () => {
  it('labels one attack of each kind, the same for the same seed, and none without the option', async () => {
    const attacks = { fromMs: START - 5 * DAY, toMs: START - DAY };
    const sim = await start({ seed: 3, attacks });
    const scenarios = sim.attackScenarios();
    expect(scenarios.map((s) => s.kind).sort()).toEqual([...ATTACK_SCENARIO_KINDS].sort());
    for (const s of scenarios) {
      expect(s.ruleId).toMatch(/^zt-/);
      expect(s.fromMs).toBeGreaterThanOrEqual(attacks.fromMs);
      expect(s.toMs).toBeLessThan(attacks.toMs);
      expect(new Set(s.rayIds).size).toBe(s.rayIds.length);
    }
    expect((await start({ seed: 3, attacks })).attackScenarios()).toEqual(scenarios);
    expect((await start({ seed: 4, attacks })).attackScenarios()).not.toEqual(scenarios);
    expect((await start({ seed: 3 })).attackScenarios()).toEqual([]);
  });

  it('serves the attacks through the API among normal traffic, valid against the OpenAPI description', async () => {
    const sim = await start({ seed: 5, attacks: { fromMs: START - 2 * DAY, toMs: START - HOUR } });
    const scenarios = sim.attackScenarios();
    const brute = scenarios.find((s) => s.kind === 'brute_force');
    if (brute === undefined) throw new Error('no brute force scenario');
    const since = iso(brute.fromMs - 60_000);
    const until = iso(brute.toMs + 60_000);
    const served = resultList(
      await checkedGet(
        sim,
        `/accounts/${sim.accountId}/access/logs/access_requests?since=${since}&until=${until}&limit=1000`,
        { token: TOKEN },
      ),
    );
    const attack = served.filter((e) => brute.rayIds.includes(String(e['ray_id'])));
    expect(attack).toHaveLength(brute.rayIds.length);
    expect(attack.every((e) => e['allowed'] === false && e['user_email'] === brute.entity.user)).toBe(true);
    // Normal traffic goes on around the attack, and no label leaks into a response.
    expect(served.length).toBeGreaterThan(attack.length);
    expect(JSON.stringify(served)).not.toMatch(/brute_force|scenario/);

    const deprovisioned = scenarios.find((s) => s.kind === 'deprovisioned_login');
    const idps = resultList(
      await checkedGet(sim, `/accounts/${sim.accountId}/access/identity_providers`, { token: TOKEN }),
    );
    const scimIdps = idps.filter((p) => (p['scim_config'] as Record<string, unknown>)['enabled'] === true);
    const scim = resultList(
      await checkedGet(
        sim,
        `/accounts/${sim.accountId}/access/logs/scim/updates?${scimIdps.map((p) => `idp_id=${String(p['id'])}`).join('&')}` +
          `&since=${iso(START - 2 * DAY)}&until=${iso(START)}&limit=1000`,
        { token: TOKEN },
      ),
    );
    expect(
      scim.some(
        (r) =>
          r['resource_user_email'] === deprovisioned?.entity.user &&
          r['request_method'] === 'PATCH' &&
          String(r['request_body']).includes('"active":false') &&
          r['status'] === 'SUCCESS',
      ),
    ).toBe(true);

    const audit = resultList(
      await checkedGet(
        sim,
        `/accounts/${sim.accountId}/logs/audit?since=${iso(START - 2 * DAY)}&before=${iso(START)}&limit=1000`,
        { token: TOKEN },
      ),
    );
    const tampering = scenarios.find((s) => s.kind === 'config_tampering');
    const created = audit.filter(
      (e) =>
        (e['resource'] as Record<string, unknown>)['type'] === 'api_token' &&
        (e['action'] as Record<string, unknown>)['type'] === 'create',
    );
    expect(created).toHaveLength(1);
    expect((created[0]?.['actor'] as Record<string, unknown>)['ip_address']).toBe(tampering?.entity.ip);
  });

  it('enrols the attacker device in the inventory only from its time on', async () => {
    const clock = new ManualClock(START);
    const sim = await start({ seed: 9, clock, attacks: { fromMs: START - DAY, toMs: START + 6 * HOUR } });
    const warp = sim.attackScenarios().find((s) => s.kind === 'warp_enrollment');
    if (warp === undefined) throw new Error('no enrolment scenario');
    expect(warp.fromMs).toBeGreaterThan(START);
    const attackerDevice = (atMs: number) => sim.inventory(atMs).devices.filter((d) => d.publicIp === warp.entity.ip);
    expect(attackerDevice(warp.fromMs - 1)).toHaveLength(0);
    expect(attackerDevice(warp.fromMs)).toHaveLength(1);
    clock.advance(warp.fromMs - START);
    const devices = resultList(
      await checkedGet(
        sim,
        `/accounts/${sim.accountId}/devices/physical-devices?last_seen_user.email=${warp.entity.user ?? ''}`,
        { token: TOKEN },
      ),
    );
    expect(devices.some((d) => JSON.stringify(d).includes(warp.entity.ip ?? 'none'))).toBe(true);
  });
});
