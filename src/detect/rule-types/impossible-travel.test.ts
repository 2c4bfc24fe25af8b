import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { NormalizedEvent } from '../../core/event.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import { loadBuiltinRules } from '../builtin-rules.js';
import { DETECTION_OFFSET, Detector } from '../detector.js';
import { countryCentroid, distanceKm, isGlobalAddress, locate, locateIp } from '../geolocation.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-travel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const RULE = 'zt-impossible-travel';
// An address the IP dataset places in London, and documentation addresses it holds no place for.
const LONDON_IP = '81.2.69.160';
const DOC_IP = '203.0.113.9';

let seq = 0;
function signIn(
  time: number,
  srcIp: string,
  country: string,
  overrides: Partial<NormalizedEvent> = {},
): NormalizedEvent {
  seq += 1;
  return {
    id: `${String(time).padStart(14, '0')}-${String(seq).padStart(6, '0')}`,
    time,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp,
    country,
    app: 'wiki.example.com',
    appUid: 'app-1',
    idp: 'okta',
    rayId: null,
    ocsf: { message: 'Cloudflare Access logon allowed' },
    raw: {},
    ...overrides,
  };
}

describe('geolocation', () => {
  it('places an address from the IP dataset, and a documentation address nowhere', () => {
    expect(locateIp(LONDON_IP)).toMatchObject({ country: 'GB', by: 'ip_dataset' });
    expect(locateIp('8.8.8.8')).toMatchObject({ country: 'US', by: 'ip_dataset' });
    expect(locateIp(DOC_IP)).toBeNull();
    expect(locateIp('10.1.2.3')).toBeNull();
    expect(locateIp('not an address')).toBeNull();
  });

  it('never looks up private, documentation or reserved addresses, in either family', () => {
    for (const ip of ['10.0.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '127.0.0.1', '169.254.1.1']) {
      expect(isGlobalAddress(ip), ip).toBe(false);
    }
    for (const ip of ['192.0.2.10', '198.51.100.7', '203.0.113.250', '224.0.0.1', '255.255.255.255']) {
      expect(isGlobalAddress(ip), ip).toBe(false);
    }
    for (const ip of ['::1', '2001:db8::7', 'fd00::1', 'fe80::1', 'ff02::1', '3fff::1']) {
      expect(isGlobalAddress(ip), ip).toBe(false);
    }
    for (const ip of ['8.8.8.8', '81.2.69.142', '172.32.0.1', '2606:4700::1111']) {
      expect(isGlobalAddress(ip), ip).toBe(true);
    }
    expect(isGlobalAddress('not an address')).toBe(false);
  });

  it('falls back to the centre of the event country, and knows no place without either', () => {
    expect(locate(DOC_IP, 'jp')).toMatchObject({
      country: 'JP',
      by: 'country_centroid',
      label: 'country centre of JP',
    });
    expect(locate(LONDON_IP, 'JP')).toMatchObject({ country: 'GB', by: 'ip_dataset' });
    expect(locate(DOC_IP, null)).toBeNull();
    expect(locate(null, 'ZZ')).toBeNull();
  });

  it('measures great-circle distances', () => {
    const de = countryCentroid('DE');
    const nl = countryCentroid('NL');
    const au = countryCentroid('AU');
    if (de === null || nl === null || au === null) throw new Error('a centroid is missing');
    expect(distanceKm(de, de)).toBe(0);
    expect(distanceKm(de, nl)).toBeGreaterThan(150);
    expect(distanceKm(de, nl)).toBeLessThan(400);
    expect(distanceKm(de, au)).toBeGreaterThan(13_000);
  });
});

describe('impossible travel', () => {
  let store: SqliteStore;
  let counter = 0;
  const clock = new ManualClock(T0 + 2 * 24 * HOUR);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const run = async (events: readonly NormalizedEvent[]) => {
    await store.append(events, { id: 'cf/access_requests', value: { n: seq } });
    await new Detector(deps(), loadBuiltinRules()).catchUp();
    return await store.listAlerts({ ruleId: RULE, limit: 100 });
  };

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `travel-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('fires on London then Japan an hour later, saying how each side was located', async () => {
    const london = signIn(T0, LONDON_IP, 'GB');
    const tokyo = signIn(T0 + HOUR, DOC_IP, 'JP');
    const [alert, ...rest] = await run([london, tokyo]);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      severity: 'high',
      technique: 'T1078',
      firstEventTime: T0,
      lastEventTime: T0 + HOUR,
      entity: { user: 'alice@example.com' },
    });
    expect(alert?.summary).toMatch(
      /^alice@example\.com signed in from London, GB \(81\.2\.69\.160, located by IP dataset DB-IP Lite \(db-ip\.com\)\) and then from country centre of JP \(203\.0\.113\.9, located by country centroid\), \d{4,5} km apart in 1 hour: \d{4,5} km\/h$/,
    );
    const evidence = await store.alertEvidence(alert?.id ?? '');
    expect(evidence.map((e) => e.eventId)).toEqual([london.id, tokyo.id]);
  });

  it('fires once on a sign-in that arrives late, between two others', async () => {
    await run([signIn(T0, LONDON_IP, 'GB'), signIn(T0 + 3 * HOUR, LONDON_IP, 'GB')]);
    const alerts = await run([signIn(T0 + HOUR, DOC_IP, 'AU')]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.firstEventTime).toBe(T0);
  });

  it('keeps each sign-in as its time, id, address and country, and still reads the longer form stored before', async () => {
    const london = signIn(T0, LONDON_IP, 'GB');
    await run([london]);
    const key = 'alice@example.com';
    const stored = await store.detectionState(RULE, [key]);
    expect(JSON.parse(stored.get(key) ?? 'null')).toEqual([[T0, london.id, LONDON_IP, 'GB']]);

    // The form with coordinates and label in it, as a store written by an earlier version holds it.
    const place = locateIp(LONDON_IP);
    if (place === null) throw new Error('London is not in the IP dataset');
    const legacy = [[T0, london.id, place.latitude, place.longitude, place.by, 'GB', place.label, LONDON_IP]];
    const offset = await store.detectionOffset(DETECTION_OFFSET);
    await store.commitDetections({
      offsetName: DETECTION_OFFSET,
      fromOffset: offset,
      toOffset: offset,
      state: [{ ruleId: RULE, key, value: JSON.stringify(legacy) }],
      firings: [],
    });
    const tokyo = signIn(T0 + HOUR, DOC_IP, 'JP');
    const [alert] = await run([tokyo]);
    expect(alert?.summary).toMatch(/^alice@example\.com signed in from London, GB \(81\.2\.69\.160, located by IP/);
    expect((await store.alertEvidence(alert?.id ?? '')).map((e) => e.eventId)).toEqual([london.id, tokyo.id]);
    expect(JSON.parse((await store.detectionState(RULE, [key])).get(key) ?? 'null')).toEqual([
      [T0, london.id, LONDON_IP, 'GB'],
      [T0 + HOUR, tokyo.id, DOC_IP, 'JP'],
    ]);
  });

  it('does not fire within one city, nor for a centroid against a place in the same country', async () => {
    const alerts = await run([
      signIn(T0, LONDON_IP, 'GB'),
      signIn(T0 + MIN, LONDON_IP, 'GB'),
      signIn(T0 + 2 * MIN, DOC_IP, 'GB'),
      signIn(T0 + 3 * MIN, '198.51.100.4', 'GB'),
    ]);
    expect(alerts).toEqual([]);
  });

  it('does not fire on a short hop under the minimum distance, however fast', async () => {
    // Germany's and the Netherlands' centres are about 300 km apart: a VPN exit next door, not travel.
    const alerts = await run([signIn(T0, DOC_IP, 'DE'), signIn(T0 + MIN, '198.51.100.4', 'NL')]);
    expect(alerts).toEqual([]);
  });

  it('does not fire when enough time passed, nor on denied logins, nor across users', async () => {
    const alerts = await run([
      signIn(T0, LONDON_IP, 'GB'),
      signIn(T0 + 14 * HOUR, DOC_IP, 'JP'),
      signIn(T0 + 14 * HOUR + MIN, '198.51.100.4', 'US', { outcome: 'failure' }),
      signIn(T0 + 14 * HOUR + 2 * MIN, '198.51.100.5', 'BR', { user: 'bob@example.com' }),
    ]);
    expect(alerts).toEqual([]);
  });
});
