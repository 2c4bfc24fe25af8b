import { describe, expect, it } from 'vitest';
import { histogramPieces, summaryFilterPlan, summaryParts } from './auth-summary-plan.js';
import { parseQuery } from './query-language.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 2, 4);

const plan = (text: string): { dim: string; loginsOnly: boolean } | null => {
  const found = summaryFilterPlan(parseQuery(text));
  return found === null ? null : { dim: found.dim, loginsOnly: found.loginsOnly };
};

describe('which searches the authentication summary answers', () => {
  it('answers no query, source and outcome filters, and one of application, country or IdP', () => {
    expect(plan('')).toEqual({ dim: 'total', loginsOnly: false });
    expect(plan('outcome:failure AND NOT source:cf-second')).toEqual({ dim: 'total', loginsOnly: false });
    expect(plan('app:wiki OR app:pay*')).toEqual({ dim: 'app', loginsOnly: false });
    expect(plan('app:wiki AND outcome:failure')).toEqual({ dim: 'app', loginsOnly: false });
    expect(plan('class_uid:3002 AND country:us')).toEqual({ dim: 'country', loginsOnly: true });
    expect(plan('idp:okta AND idp:Okta*')).toEqual({ dim: 'idp', loginsOnly: false });
  });

  it('leaves to the events what a summary row cannot tell', () => {
    // Two columns at once, a negated column (events without an app would match), a bare word, a column it has no
    // rows for, activity (searched with case, summarised without), the user (an index of the events finds those
    // faster), an address and another class.
    for (const text of [
      'country:us AND app:wiki',
      'app:wiki OR outcome:failure',
      'NOT app:wiki',
      'user:alice@example.com',
      'alice',
      'dataset:access_requests',
      'activity:logon',
      'src_ip:192.0.2.0/24',
      'class_uid:6003',
    ]) {
      expect({ text, plan: plan(text) }).toEqual({ text, plan: null });
    }
  });

  it('drops the class restriction from the row filter and keeps the rest', () => {
    const found = summaryFilterPlan(parseQuery('class_uid:3002 AND outcome:failure'));
    expect(found?.rowFilter).toEqual(parseQuery('outcome:failure'));
    expect(summaryFilterPlan(parseQuery('class_uid:3002'))?.rowFilter).toBeNull();
  });
});

describe('how a period splits between the summary and the events', () => {
  it('reads whole days from day rows, whole hours from hour rows and partial hours from events', () => {
    const from = START + 5 * HOUR + 7 * 60_000;
    const to = START + 3 * DAY + 2 * HOUR + 59 * 60_000;
    expect(summaryParts(from, to, true)).toEqual([
      { from, to: START + 6 * HOUR, table: 'events' },
      { from: START + 6 * HOUR, to: START + DAY, table: 'summary_hours' },
      { from: START + DAY, to: START + 3 * DAY, table: 'summary_days' },
      { from: START + 3 * DAY, to: START + 3 * DAY + 2 * HOUR, table: 'summary_hours' },
      { from: START + 3 * DAY + 2 * HOUR, to, table: 'events' },
    ]);
    expect(summaryParts(from, to, false).map((part) => part.table)).toEqual(['events', 'summary_hours', 'events']);
    expect(summaryParts(START + 10 * 60_000, START + 50 * 60_000, true)).toEqual([
      { from: START + 10 * 60_000, to: START + 50 * 60_000, table: 'events' },
    ]);
  });

  it('uses the summary for buckets of whole hours only, and adds the other classes unless the query excludes them', () => {
    const spec = { filter: null, fromMs: START, toMs: START + 180 * DAY };
    expect(histogramPieces({ ...spec, bucketMs: 2 * DAY })).toEqual([
      { table: 'summary_days', from: START, to: START + 180 * DAY, dim: 'total', rowFilter: null },
      { table: 'events', from: START, to: START + 180 * DAY, otherClasses: true },
    ]);
    expect(histogramPieces({ ...spec, filter: parseQuery('class_uid:3002'), bucketMs: 2 * HOUR })).toEqual([
      { table: 'summary_hours', from: START, to: START + 180 * DAY, dim: 'total', rowFilter: null },
    ]);
    expect(histogramPieces({ ...spec, bucketMs: 15 * 60_000 })).toEqual([
      { table: 'events', from: START, to: START + 180 * DAY, otherClasses: false },
    ]);
    expect(histogramPieces({ ...spec, filter: parseQuery('activity:logon'), bucketMs: DAY })).toEqual([
      { table: 'events', from: START, to: START + 180 * DAY, otherClasses: false },
    ]);
  });
});
