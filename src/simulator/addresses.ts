import { hash32 } from './prng.js';
import { ATTACKER_ADDRESSES_TEXT, STAFF_ADDRESSES_TEXT } from './public-addresses.js';

/** The countries the organisation's staff live in. */
export type StaffCountry = keyof typeof STAFF_ADDRESSES_TEXT;
export const STAFF_COUNTRIES = Object.keys(STAFF_ADDRESSES_TEXT) as readonly StaffCountry[];

/** A public address and the country the shipped IP dataset places it in. */
export interface PlacedAddress {
  readonly ip: string;
  readonly country: string;
}

/** How many neighbouring hosts (the address and the next ones in its /24) an attacker network uses. */
export const ATTACKER_HOSTS = 3;

function words(text: string): string[] {
  return text.trim().split(/\s+/);
}

const STAFF: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(STAFF_ADDRESSES_TEXT).map(([country, text]) => [country, words(text)]),
);

// Interleaved by country, so consecutive networks (one per attack) come from different countries.
const ATTACKERS: readonly PlacedAddress[] = (() => {
  const lists = Object.entries(ATTACKER_ADDRESSES_TEXT).map(([country, text]) =>
    words(text).map((ip) => ({ ip, country })),
  );
  const out: PlacedAddress[] = [];
  for (let i = 0; out.length < lists.reduce((sum, list) => sum + list.length, 0); i++) {
    for (const list of lists) {
      const entry = list[i];
      if (entry !== undefined) out.push(entry);
    }
  }
  return out;
})();

/** How many distinct attacker networks there are; attacks that need more reuse them. */
export const ATTACKER_NETWORKS = ATTACKERS.length;

/** One of the public addresses of the metro area staff in `country` sign in from, picked by `key`. */
export function staffAddress(country: string, key: number): string {
  const list = STAFF[country] ?? STAFF['US'] ?? [];
  return list[hash32(0x51a, key, 0x1b) % list.length] ?? '';
}

function withHost(ip: string, host: number): string {
  const at = ip.lastIndexOf('.');
  return `${ip.slice(0, at + 1)}${Number(ip.slice(at + 1)) + (host % ATTACKER_HOSTS)}`;
}

/**
 * An attacker's address abroad: network `net` (one /24 in a country none of the staff lives in) and one of its
 * first ATTACKER_HOSTS hosts.
 */
export function attackerAddress(net: number, host = 0): PlacedAddress {
  const network = ATTACKERS[((net % ATTACKERS.length) + ATTACKERS.length) % ATTACKERS.length] ?? ATTACKERS[0];
  return { ip: withHost(network?.ip ?? '', host), country: network?.country ?? '' };
}

/** The /24 of an IPv4 address as alerts name a network (`src_net`). */
export function networkOfAddress(ip: string): string {
  return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
}

/** Every address the simulator puts in a log, with the country it stands for. */
export function simulatorAddresses(): readonly PlacedAddress[] {
  const out: PlacedAddress[] = [];
  for (const [country, list] of Object.entries(STAFF)) for (const ip of list) out.push({ ip, country });
  for (let net = 0; net < ATTACKERS.length; net++)
    for (let host = 0; host < ATTACKER_HOSTS; host++) out.push(attackerAddress(net, host));
  return out;
}

let byAddress: ReadonlyMap<string, string> | undefined;

/** The country an address of the simulator stands for, from the table (no lookup in the IP dataset). */
export function countryOfAddress(ip: string): string | undefined {
  byAddress ??= new Map(simulatorAddresses().map((entry) => [entry.ip, entry.country]));
  return byAddress.get(ip);
}
