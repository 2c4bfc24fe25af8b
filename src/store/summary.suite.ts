// The histogram and dashboard over the authentication summaries, part of the store contract (contract.suite.ts runs
// it); the .suite.ts suffix keeps it out of the build. Every count is checked against the events a search returns.
import { beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedEvent, Outcome } from '../core/event.js';
import { parseQuery } from './query-language.js';
import type { HistogramBucket, Store } from './store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Two days before a month ends (a leap February), so the events fill two of PostgreSQL's month partitions.
const START = Date.UTC(2024, 1, 28);
const USERS = ['alice@example.com', 'ALICE@example.com', 'bob@example.com', null, 'Carol@Example.com'];
const APPS = ['Wiki', 'wiki', 'Mail', null];
const COUNTRIES = ['US', 'de', null, 'us', 'FR'];
const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'success', 'unknown'];

function event(index: number): NormalizedEvent {
  // About one event every 17 minutes, so hours and days hold uneven counts and period edges cut through them.
  const time = START + index * 1_033_000;
  const pick = <T>(items: readonly T[], salt: number): T => items[(index * salt + (index >> 3)) % items.length] as T;
  // Every seventh event is an audit entry: not an authentication, so in no summary, yet it matches searches.
  const login = index % 7 !== 5;
  return {
    id: `${time.toString(16).padStart(12, '0')}-sum-${String(index).padStart(6, '0')}`,
    time,
    sourceName: index % 5 === 2 ? 'cf-second' : 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: login ? 'access_requests' : 'audit_logs',
    classUid: login ? 3002 : 6003,
    activity: login ? 'logon' : 'update',
    outcome: pick(OUTCOMES, 3),
    user: pick(USERS, 1),
    srcIp: '192.0.2.10',
    country: pick(COUNTRIES, 7),
    app: pick(APPS, 11),
    appUid: null,
    idp: index % 4 === 0 ? 'Okta' : 'okta',
    rayId: `ray${index}`,
    ocsf: { class_uid: login ? 3002 : 6003 },
    raw: {},
  };
}

const EVENTS: readonly NormalizedEvent[] = Array.from({ length: 460 }, (_, index) => event(index));

// Queries the summary answers (alone or with the events of other classes), and some it must leave to the events.
const QUERIES = [
  '',
  'outcome:failure',
  'outcome:success OR outcome:unknown',
  'user:ALICE@example.com',
  'user:alice@example.com OR user:bob@example.com',
  'app:wik*',
  'country:us AND source:cf-second',
  'idp:OKTA AND NOT outcome:unknown',
  'class_uid:3002',
  'class_uid:3002 AND user:carol@example.com',
  'class_uid:6003',
  'NOT user:alice@example.com',
  'alice@example.com',
  'user:alice@example.com AND app:wiki',
  'activity:logon',
] as const;

// Bucket widths as Explore picks them, a period's edges cutting hours and days, and the UTC day boundaries.
const PERIODS: readonly (readonly [number, number, number])[] = [
  [START, START + 6 * DAY, HOUR],
  [START, START + 6 * DAY, DAY],
  [START - 3 * DAY, START + 9 * DAY, 2 * DAY],
  [START + 5 * HOUR + 7 * MINUTE, START + 3 * DAY + 2 * HOUR + 59 * MINUTE, HOUR],
  [START + 5 * HOUR + 7 * MINUTE, START + 3 * DAY + 2 * HOUR + 59 * MINUTE, 2 * HOUR],
  [START + 5 * HOUR + 7 * MINUTE, START + 3 * DAY + 2 * HOUR + 59 * MINUTE, DAY],
  [START + DAY + 10 * MINUTE, START + DAY + 50 * MINUTE, HOUR],
  [START + DAY + 3 * HOUR + 1, START + DAY + 15 * HOUR - 1, 15 * MINUTE],
];

/** The histogram the stored events give: one search, counted per bucket here. */
async function expectedHistogram(
  store: Store,
  text: string,
  fromMs: number,
  toMs: number,
  bucketMs: number,
): Promise<HistogramBucket[]> {
  const page = await store.search({ filter: parseQuery(text), fromMs, toMs, order: 'asc' }, { limit: 10_000 });
  expect(page.nextPage).toBeNull();
  const counts = new Map<number, number>();
  for (const found of page.events) {
    const start = Math.floor(found.time / bucketMs) * bucketMs;
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a - b).map(([startMs, count]) => ({ startMs, count }));
}

async function expectExactHistograms(store: Store): Promise<void> {
  for (const text of QUERIES) {
    for (const [fromMs, toMs, bucketMs] of PERIODS) {
      const got = await store.histogram({ filter: parseQuery(text), fromMs, toMs, bucketMs });
      expect({ text, fromMs, bucketMs, got }).toEqual({
        text,
        fromMs,
        bucketMs,
        got: await expectedHistogram(store, text, fromMs, toMs, bucketMs),
      });
    }
  }
}

/** The dashboard's totals and series against the stored authentications of the period. */
async function expectExactDashboard(store: Store, fromMs: number, toMs: number): Promise<void> {
  const summary = await store.dashboard({ fromMs, toMs, limit: 10 });
  const logins = await store.search(
    { filter: parseQuery('class_uid:3002'), fromMs, toMs, order: 'asc' },
    { limit: 10_000 },
  );
  const denied = logins.events.filter((found) => found.outcome === 'failure').length;
  const allowed = logins.events.filter((found) => found.outcome === 'success').length;
  const total = logins.events.length;
  expect(summary.totals).toEqual({ total, allowed, denied, other: total - allowed - denied });
  for (const bucket of summary.series) {
    const inside = logins.events.filter(
      (found) => found.time >= bucket.startMs && found.time < bucket.startMs + summary.bucketMs,
    );
    expect(bucket.allowed + bucket.denied + bucket.other).toBe(inside.length);
  }
  const users = new Map<string, number>();
  for (const found of logins.events) {
    if (found.user !== null) users.set(found.user.toLowerCase(), (users.get(found.user.toLowerCase()) ?? 0) + 1);
  }
  expect(new Map(summary.users.map((count) => [count.key.toLowerCase(), count.total]))).toEqual(users);
}

/** Runs inside the store contract's describe, with its fresh, migrated store. */
export function summaryContract(current: () => Store): void {
  describe('summaries behind the histogram and the dashboard', () => {
    beforeEach(async () => {
      // Several appends, as a collector makes them, one of them repeating events already stored.
      for (let at = 0; at < EVENTS.length; at += 40) {
        await current().append(EVENTS.slice(at, at + 40), { id: 'cf-main/access_requests', value: { at } });
      }
      await current().append(EVENTS.slice(100, 180), { id: 'cf-main/access_requests', value: { again: true } });
    });

    it('counts exactly what a search finds, per bucket, whatever the query, period and bucket width', async () => {
      await expectExactHistograms(current());
      await expectExactDashboard(current(), START, START + 6 * DAY);
      await expectExactDashboard(current(), START + 5 * HOUR + 7 * MINUTE, START + 3 * DAY + 2 * HOUR + 59 * MINUTE);
    });

    it('stays exact after retention drops a whole month and cuts an hour and a day in two', async () => {
      const cut = Date.UTC(2024, 2, 1, 5, 17);
      const deleted = await current().deleteEventsBefore(cut);
      expect(deleted).toBe(EVENTS.filter((found) => found.time < cut).length);
      await expectExactHistograms(current());
      await expectExactDashboard(current(), START, START + 6 * DAY);
      await expectExactDashboard(current(), Date.UTC(2024, 2, 1), Date.UTC(2024, 2, 2));
      // Events older than the cut arriving again afterwards are counted again, as stored events.
      await current().append(EVENTS.slice(0, 60), { id: 'cf-main/access_requests', value: { late: true } });
      await expectExactHistograms(current());
      await expectExactDashboard(current(), START, START + 6 * DAY);
    });
  });
}
