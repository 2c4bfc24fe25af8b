import { describe, expect, it } from 'vitest';
import { distanceKm, locateIp, type Place } from '../detect/geolocation.js';
import { ATTACKER_HOSTS, countryOfAddress, simulatorAddresses, STAFF_COUNTRIES, staffAddress } from './addresses.js';
import { planAttacks, ATTACK_SCENARIO_KINDS } from './attack-scenarios.js';
import { buildOrganisation } from './organisation.js';
import { EventRenderer } from './event-renderer.js';

const START = Date.parse('2026-05-20T12:00:00Z');
const DAY = 86_400_000;

function place(ip: string): Place {
  const found = locateIp(ip);
  if (found === null) throw new Error(`${ip} is not in the IP dataset`);
  return found;
}

describe("the simulator's public addresses", () => {
  it('all lie, by the shipped IP dataset, in the country the simulator means', () => {
    const addresses = simulatorAddresses();
    expect(addresses.length).toBeGreaterThan(800);
    const wrong = addresses
      .map(({ ip, country }) => ({ ip, country, found: locateIp(ip)?.country ?? 'not found' }))
      .filter(({ country, found }) => found !== country);
    expect(wrong, 'run scripts/pick-simulator-addresses.mjs after a dataset update').toEqual([]);
    expect(new Set(addresses.map((entry) => entry.ip)).size).toBe(addresses.length);
  });

  it("place a country's staff within 500 km of each other, and every attacker further than that from all of them", () => {
    const addresses = simulatorAddresses();
    const staff = addresses.filter((entry) => (STAFF_COUNTRIES as readonly string[]).includes(entry.country));
    const attackers = addresses.filter((entry) => !(STAFF_COUNTRIES as readonly string[]).includes(entry.country));
    expect(attackers.length).toBeGreaterThan(200 * ATTACKER_HOSTS);
    for (const country of STAFF_COUNTRIES) {
      const places = staff.filter((entry) => entry.country === country).map((entry) => place(entry.ip));
      for (const a of places) for (const b of places) expect(distanceKm(a, b)).toBeLessThan(500);
    }
    const staffPlaces = staff.map((entry) => place(entry.ip));
    for (const attacker of attackers) {
      const at = place(attacker.ip);
      expect(Math.min(...staffPlaces.map((p) => distanceKm(p, at))), attacker.ip).toBeGreaterThan(500);
    }
  });

  it('give every user addresses of the home country, and each attack the country it names', () => {
    for (const seed of [1, 7, 11]) {
      const org = buildOrganisation(seed);
      for (const user of org.users) {
        expect(user.ips.length).toBeGreaterThan(0);
        for (const ip of user.ips) expect(countryOfAddress(ip), `${user.email} ${ip}`).toBe(user.country);
      }
      const plan = planAttacks(seed, org, START, { fromMs: START - 14 * DAY, toMs: START + DAY, perKind: 3 });
      expect(new Set(plan.scenarios.map((s) => s.kind))).toEqual(new Set(ATTACK_SCENARIO_KINDS));
      for (const event of plan.access) expect(countryOfAddress(event.ip), event.ip).toBeDefined();
      for (const action of plan.adminActions) expect(countryOfAddress(action.ip), action.ip).toBeDefined();
      for (const enrollment of plan.enrollments) expect(countryOfAddress(enrollment.publicIp)).toBeDefined();
      for (const scenario of plan.scenarios) {
        const ip = scenario.entity.ip;
        if (scenario.country === null || ip === null || ip.includes('/')) continue;
        expect(countryOfAddress(ip), scenario.id).toBe(scenario.country);
      }
      // The attacks meant to come from abroad do; the ones by the user's own session do not.
      for (const scenario of plan.scenarios) {
        const abroad = !['first_sensitive_app', 'deprovisioned_login', 'denied_burst'].includes(scenario.kind);
        if (abroad) expect(STAFF_COUNTRIES as readonly (string | null)[], scenario.id).not.toContain(scenario.country);
        const victim = org.users.find((user) => user.email === scenario.entity.user);
        if (!abroad && victim !== undefined) expect(scenario.country).toBe(victim.country);
      }
    }
  });

  it('serve logins only from the table, from the user home country, without looking anything up', () => {
    const org = buildOrganisation(7);
    const renderer = new EventRenderer(7, org);
    const mode = { hostileFraction: 0, timestampOffsets: false };
    const byEmail = new Map(org.users.map((user) => [user.email, user]));
    let travelled = 0;
    for (let serial = 0; serial < 20_000; serial++) {
      const record = renderer.object(START, serial, mode);
      const ip = String(record['ip_address']);
      const user = byEmail.get(String(record['user_email']));
      expect(countryOfAddress(ip), ip).toBe(user?.country);
      if (user !== undefined && !user.ips.includes(ip)) travelled++;
    }
    // About 3% of logins come from elsewhere in the user's home area.
    expect(travelled).toBeGreaterThan(300);
    expect(travelled).toBeLessThan(900);
    expect(staffAddress('PL', 1)).toBe(staffAddress('PL', 1));
  });
});
