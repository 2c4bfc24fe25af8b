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
import { Detector } from '../detector.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-first-seen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Addresses the shipped IP dataset places in London (two networks) and in Moscow, and a documentation address.
const LONDON_IP = '81.2.69.160';
const LONDON_OTHER_IP = '77.68.8.10';
const MOSCOW_IP = '2.92.216.10';
const DOC_IP = '203.0.113.9';

let seq = 0;
// A successful Access login as the API reports it: no country, so rules place it by its address.
function signIn(time: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
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
    srcIp: LONDON_IP,
    country: null,
    app: 'wiki.example.com',
    appUid: 'app-1',
    idp: 'okta',
    rayId: null,
    ocsf: { message: 'Cloudflare Access logon allowed' },
    raw: {},
    ...overrides,
  };
}

/** `count` sign-ins spread evenly over `days` days from `from`. */
function history(count: number, from: number, days: number, overrides: Partial<NormalizedEvent> = {}) {
  return Array.from({ length: count }, (_, i) => signIn(from + Math.floor((i * days * DAY) / count), overrides));
}

describe('first-seen rules on Access logins that carry no country', () => {
  let store: SqliteStore;
  let counter = 0;
  const clock = new ManualClock(T0 + 40 * DAY);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const run = async (ruleId: string, events: readonly NormalizedEvent[]) => {
    await store.append(events, { id: 'cf/access_requests', value: { n: seq } });
    await new Detector(deps(), loadBuiltinRules()).catchUp();
    return await store.listAlerts({ ruleId, limit: 100 });
  };

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `first-seen-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('reports a new country found by the IP dataset, and names it in the summary', async () => {
    await run('zt-new-country', history(30, T0, 15));
    const abroad = signIn(T0 + 16 * DAY, { srcIp: MOSCOW_IP });
    const [alert, ...rest] = await run('zt-new-country', [abroad]);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      severity: 'medium',
      entity: { user: 'alice@example.com', ip: MOSCOW_IP },
      firstEventTime: abroad.time,
      summary: `alice@example.com signed in from RU for the first time (seen before: GB), from ${MOSCOW_IP} to wiki.example.com`,
    });
  });

  it('does not report another address in a known country, an address the dataset lacks, or during learning', async () => {
    await run('zt-new-country', history(30, T0, 15));
    const alerts = await run('zt-new-country', [
      signIn(T0 + 16 * DAY, { srcIp: LONDON_OTHER_IP }),
      signIn(T0 + 16 * DAY + HOUR, { srcIp: DOC_IP }),
      // Bob's history is shorter than the learning period.
      ...history(5, T0 + 10 * DAY, 5, { user: 'bob@example.com' }),
      signIn(T0 + 16 * DAY, { user: 'bob@example.com', srcIp: MOSCOW_IP }),
    ]);
    expect(alerts).toEqual([]);
  });

  it('prefers the country Cloudflare reported, and honours a country on the allow-list', async () => {
    await run('zt-new-country', history(30, T0, 15));
    // Reported as GB although the dataset places the address in Russia: the report wins.
    expect(await run('zt-new-country', [signIn(T0 + 16 * DAY, { srcIp: MOSCOW_IP, country: 'gb' })])).toEqual([]);
    await store.saveRuleSetting({
      ruleId: 'zt-new-country',
      enabled: null,
      overrides: {},
      allow: { users: [], ips: [], apps: [], countries: ['RU'] },
      updatedAt: T0,
      updatedBy: 'test',
    });
    expect(await run('zt-new-country', [signIn(T0 + 17 * DAY, { srcIp: MOSCOW_IP })])).toEqual([]);
  });
});

describe('unusual identity provider needs enough history of the user and the organisation', () => {
  let store: SqliteStore;
  let counter = 0;
  const clock = new ManualClock(T0 + 40 * DAY);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const RULE = 'zt-unusual-idp';
  const run = async (events: readonly NormalizedEvent[]) => {
    await store.append(events, { id: 'cf/access_requests', value: { n: seq } });
    await new Detector(deps(), loadBuiltinRules()).catchUp();
    return await store.listAlerts({ ruleId: RULE, limit: 100 });
  };

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `idp-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('stays quiet for a user with weeks but few logins, and fires once the user has 50', async () => {
    // A quiet user: 20 logins over 20 days, then a one-time PIN. Not enough to know the user's habits.
    const quiet = await run([
      ...history(20, T0, 20, { user: 'quiet@example.com' }),
      signIn(T0 + 21 * DAY, { user: 'quiet@example.com', idp: 'onetimepin' }),
    ]);
    expect(quiet).toEqual([]);
    // A busy user with 60 logins over 20 days, all through Okta; the organisation has used the PIN (above).
    const busy = await run([...history(60, T0, 20), signIn(T0 + 21 * DAY, { idp: 'onetimepin' })]);
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({
      severity: 'medium',
      entity: { user: 'alice@example.com' },
      summary: `alice@example.com signed in through onetimepin for the first time (used before: okta), to wiki.example.com from ${LONDON_IP} (GB)`,
    });
  });

  it('raises to high only when no one in the organisation had used the connection', async () => {
    const alerts = await run([
      ...history(60, T0, 20),
      ...history(60, T0, 20, { user: 'bob@example.com' }),
      signIn(T0 + 21 * DAY, { idp: 'github' }),
      signIn(T0 + 21 * DAY + HOUR, { user: 'bob@example.com', idp: 'github' }),
    ]);
    const byUser = new Map(alerts.map((alert) => [alert.entity.user, alert.severity]));
    expect(byUser).toEqual(
      new Map([
        ['alice@example.com', 'high'],
        ['bob@example.com', 'medium'],
      ]),
    );
  });
});
