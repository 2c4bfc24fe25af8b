// The dashboard part of the store contract (contract.suite.ts runs it); the .suite.ts suffix keeps it out of the build.
import { beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedEvent, Outcome } from '../core/event.js';
import type { DashboardCount, DashboardSummary } from './dashboard-summary.js';
import type { Store } from './store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A Monday 00:00 UTC; the events spread over four days from here.
const START = Date.UTC(2024, 2, 4);
const USERS = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'Erin@Example.com'];
const APPS = ['Wiki', 'Payroll', 'wiki', 'Mail', null];
const COUNTRIES = ['US', 'DE', 'fr', 'JP', null];
const IDPS = ['okta', 'azureAD', 'Okta'];
const OUTCOMES: readonly Outcome[] = ['success', 'success', 'success', 'failure', 'unknown'];
const ACTIVITIES = ['logon', 'logon', 'logoff', 'other'];

function event(index: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  // About one event every 17 minutes and 13 seconds, so hours and days hold uneven counts and edges cut through.
  const time = START + index * 1_033_000;
  const pick = <T>(items: readonly T[], salt: number): T => items[(index * salt + (index >> 3)) % items.length] as T;
  return {
    id: `${time.toString(16).padStart(12, '0')}-dash-${String(index).padStart(6, '0')}`,
    time,
    sourceName: index % 7 === 3 ? 'cf-second' : 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: pick(ACTIVITIES, 5),
    outcome: pick(OUTCOMES, 3),
    // Dave appears only from the third day on, so he is new in a period starting then.
    user: index < 200 && pick(USERS, 1) === 'dave@example.com' ? 'alice@example.com' : pick(USERS, 1),
    srcIp: '192.0.2.10',
    country: pick(COUNTRIES, 7),
    app: pick(APPS, 11),
    appUid: null,
    idp: pick(IDPS, 13),
    rayId: `ray${index}`,
    ocsf: { class_uid: 3002 },
    raw: {},
    ...overrides,
  };
}

const EVENTS: readonly NormalizedEvent[] = Array.from({ length: 330 }, (_, index) => event(index));
// Not authentications: never counted by the dashboard.
const OTHERS: readonly NormalizedEvent[] = [
  event(1000, { time: START + DAY + 5 * HOUR, classUid: 6003, dataset: 'audit_logs', user: 'mallory@example.com' }),
  event(1001, { time: START + DAY + 6 * HOUR, classUid: 3004, dataset: 'access_users', country: 'KP' }),
];

// The reference: counts straight from the event list, folding case as the store's NOCASE columns do.
function expected(
  events: readonly NormalizedEvent[],
  fromMs: number,
  toMs: number,
  source?: string,
): {
  totals: DashboardSummary['totals'];
  lists: Record<'users' | 'apps' | 'idps' | 'countries', DashboardCount[]>;
  denied: DashboardCount[];
} {
  const inside = events.filter(
    (e) =>
      e.classUid === 3002 && e.time >= fromMs && e.time < toMs && (source === undefined || e.sourceName === source),
  );
  const count = (value: (e: NormalizedEvent) => string | null, by: 'total' | 'denied'): DashboardCount[] => {
    const map = new Map<string, { key: string; total: number; allowed: number; denied: number }>();
    for (const e of inside) {
      const key = value(e);
      if (key === null) continue;
      const entry = map.get(key.toLowerCase()) ?? { key, total: 0, allowed: 0, denied: 0 };
      entry.total += 1;
      if (e.outcome === 'success') entry.allowed += 1;
      if (e.outcome === 'failure') entry.denied += 1;
      map.set(key.toLowerCase(), entry);
    }
    return [...map.values()]
      .filter((entry) => entry[by] > 0)
      .sort((a, b) => b[by] - a[by] || a.key.localeCompare(b.key));
  };
  const allowed = inside.filter((e) => e.outcome === 'success').length;
  const denied = inside.filter((e) => e.outcome === 'failure').length;
  return {
    totals: { total: inside.length, allowed, denied, other: inside.length - allowed - denied },
    lists: {
      users: count((e) => e.user, 'total'),
      apps: count((e) => e.app, 'total'),
      idps: count((e) => e.idp, 'total'),
      countries: count((e) => e.country, 'total'),
    },
    denied: count((e) => e.activity, 'denied'),
  };
}

// Keys compare without regard to case (the first spelling stored wins), so compare them folded.
const folded = (counts: readonly DashboardCount[]): DashboardCount[] =>
  counts.map((count) => ({ ...count, key: count.key.toLowerCase() }));

function expectMatches(
  summary: DashboardSummary,
  events: readonly NormalizedEvent[],
  fromMs: number,
  toMs: number,
  source?: string,
): void {
  const want = expected(events, fromMs, toMs, source);
  expect(summary.totals).toEqual(want.totals);
  // Counts must agree exactly; the order among equal counts is the store's own (by key), so sort both by count.
  const byCount = (counts: readonly DashboardCount[]): DashboardCount[] =>
    folded(counts).sort((a, b) => b.total - a.total || b.denied - a.denied || a.key.localeCompare(b.key));
  expect(byCount(summary.users)).toEqual(byCount(want.lists.users.slice(0, 10)));
  expect(byCount(summary.apps)).toEqual(byCount(want.lists.apps));
  expect(byCount(summary.idps)).toEqual(byCount(want.lists.idps));
  expect(byCount(summary.countries)).toEqual(byCount(want.lists.countries));
  expect(byCount(summary.denied)).toEqual(byCount(want.denied));
  const series = summary.series.reduce(
    (sum, bucket) => ({
      allowed: sum.allowed + bucket.allowed,
      denied: sum.denied + bucket.denied,
      other: sum.other + bucket.other,
    }),
    { allowed: 0, denied: 0, other: 0 },
  );
  expect(series).toEqual({ allowed: want.totals.allowed, denied: want.totals.denied, other: want.totals.other });
}

/** Runs inside the store contract's describe, with its fresh, migrated store. */
export function dashboardContract(current: () => Store): void {
  describe('dashboard summary', () => {
    beforeEach(async () => {
      // Several appends, as a collector makes them, each with the others mixed in.
      for (let at = 0; at < EVENTS.length; at += 50) {
        await current().append([...EVENTS.slice(at, at + 50), ...(at === 100 ? OTHERS : [])], {
          id: 'cf-main/access_requests',
          value: { at },
        });
      }
    });

    it('counts exactly what the events say over periods that cut hours and days', async () => {
      const periods: [number, number][] = [
        [START, START + 4 * DAY],
        // Partial hours and partial days at both ends, whole days in between.
        [START + 5 * HOUR + 7 * 60_000, START + 3 * DAY + 2 * HOUR + 59 * 60_000],
        // Inside one hour, and across one hour boundary only.
        [START + DAY + 10 * 60_000, START + DAY + 50 * 60_000],
        [START + DAY + 30 * 60_000, START + DAY + 2 * HOUR + 30 * 60_000],
        // Twelve hours: buckets narrower than an hour.
        [START + 2 * DAY + 3 * HOUR + 1, START + 2 * DAY + 15 * HOUR - 1],
      ];
      for (const [fromMs, toMs] of periods) {
        const summary = await current().dashboard({ fromMs, toMs, limit: 10 });
        expectMatches(summary, EVENTS, fromMs, toMs);
      }
    });

    it('filters by source', async () => {
      const summary = await current().dashboard({
        fromMs: START + 3 * HOUR,
        toMs: START + 3 * DAY,
        source: 'cf-second',
        limit: 10,
      });
      expect(summary.totals.total).toBeGreaterThan(0);
      expectMatches(summary, EVENTS, START + 3 * HOUR, START + 3 * DAY, 'cf-second');
    });

    it('picks a bucket width for the period and returns every bucket, empty ones too', async () => {
      const week = await current().dashboard({ fromMs: START, toMs: START + 7 * DAY, limit: 10 });
      expect(week.bucketMs).toBe(HOUR);
      expect(week.series).toHaveLength(7 * 24);
      expect(week.series[0]?.startMs).toBe(START);
      expect(week.series.slice(4 * 24).every((b) => b.allowed + b.denied + b.other === 0)).toBe(true);
      const long = await current().dashboard({ fromMs: START - 170 * DAY, toMs: START + 10 * DAY, limit: 10 });
      expect(long.bucketMs).toBe(DAY);
      expect(long.series).toHaveLength(180);
      const perDay = long.series.filter((b) => b.startMs >= START && b.startMs < START + 4 * DAY);
      for (const bucket of perDay) {
        const want = expected(EVENTS, bucket.startMs, bucket.startMs + DAY).totals;
        expect(bucket).toEqual({
          startMs: bucket.startMs,
          allowed: want.allowed,
          denied: want.denied,
          other: want.other,
        });
      }
    });

    it('does not count an event twice when it is appended again', async () => {
      await current().append(EVENTS.slice(40, 200), { id: 'cf-main/access_requests', value: { again: true } });
      await current().append([EVENTS[5] as NormalizedEvent, EVENTS[5] as NormalizedEvent], {
        id: 'cf-main/access_requests',
        value: { twice: true },
      });
      const summary = await current().dashboard({ fromMs: START, toMs: START + 4 * DAY, limit: 10 });
      expectMatches(summary, EVENTS, START, START + 4 * DAY);
    });

    it('follows retention: deleted events leave every count, also in the hour and day cut in two', async () => {
      const cut = START + DAY + 7 * HOUR + 25 * 60_000;
      const deleted = await current().deleteEventsBefore(cut);
      expect(deleted).toBe(EVENTS.filter((e) => e.time < cut).length + OTHERS.filter((e) => e.time < cut).length);
      const kept = EVENTS.filter((e) => e.time >= cut);
      for (const [fromMs, toMs] of [
        [START, START + 4 * DAY],
        [START + DAY, START + 2 * DAY],
        [START + DAY + 7 * HOUR, START + DAY + 8 * HOUR],
      ] as const) {
        expectMatches(await current().dashboard({ fromMs, toMs, limit: 10 }), kept, fromMs, toMs);
      }
      // Deleting again with nothing left to delete changes nothing.
      expect(await current().deleteEventsBefore(cut)).toBe(0);
      expectMatches(
        await current().dashboard({ fromMs: START, toMs: START + 4 * DAY, limit: 10 }),
        kept,
        START,
        START + 4 * DAY,
      );
    });

    it('names users, applications and countries first seen in the period', async () => {
      const firstSeen = (key: (e: NormalizedEvent) => string | null): Map<string, number> => {
        const first = new Map<string, number>();
        for (const e of EVENTS) {
          const value = key(e)?.toLowerCase();
          if (value !== undefined && !first.has(value)) first.set(value, e.time);
        }
        return first;
      };
      const fromMs = START + 2 * DAY;
      const toMs = START + 4 * DAY;
      const summary = await current().dashboard({ fromMs, toMs, limit: 10 });
      const users = [...firstSeen((e) => e.user)].filter(([, time]) => time >= fromMs && time < toMs);
      expect(users.length).toBeGreaterThan(0);
      expect(summary.newUsers.count).toBe(users.length);
      expect(summary.newUsers.first.map((v) => [v.key.toLowerCase(), v.firstSeenMs])).toEqual(users);
      // Everything is new over the whole span, nothing over a later empty one.
      const all = await current().dashboard({ fromMs: START, toMs: START + 4 * DAY, limit: 2 });
      expect(all.newApps.count).toBe(firstSeen((e) => e.app).size);
      expect(all.newApps.first).toHaveLength(2);
      expect(all.newCountries.count).toBe(firstSeen((e) => e.country).size);
      const later = await current().dashboard({ fromMs: START + 5 * DAY, toMs: START + 6 * DAY, limit: 10 });
      expect(later.newUsers).toEqual({ count: 0, first: [] });
      expect(later.totals.total).toBe(0);
    });
  });
}
