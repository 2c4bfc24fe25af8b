import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import type { NormalizedEvent, Outcome } from '../core/event.js';
import type { SearchField, SearchFilter } from './search-query.js';
import type { InventoryKind } from '../core/inventory.js';
import type { DatasetStatus, Store, StoredSource } from './store.js';
import { dashboardContract } from './dashboard.suite.js';
import { detectionContract } from './detection.suite.js';
import { leaseContract } from './lease.suite.js';
import { parseQuery } from './query-language.js';
import { summaryContract } from './summary.suite.js';
import { flatString } from '../normalize/schema.js';
import { incompressibleCjk } from '../../test/helpers/wide-text.js';

const BASE_TIME = Date.UTC(2024, 0, 15, 12, 0, 0);

// Builds one event by hand; every field can be overridden. Ids must be unique per test.
function makeEvent(id: string, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id,
    time: BASE_TIME,
    sourceName: 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp: '192.0.2.10',
    country: 'us',
    app: 'Wiki',
    appUid: 'app-0001',
    idp: 'Okta',
    rayId: `ray-${id}`,
    ocsf: { class_uid: 3002, metadata: { uid: id }, user: { email_addr: 'alice@example.com' } },
    raw: { ray_id: `ray-${id}`, email: 'alice@example.com', allowed: true },
    ...overrides,
  };
}

const term = (field: SearchField | null, value: string): SearchFilter => ({
  kind: 'term',
  field,
  value,
  wildcard: value.includes('*'),
});
const not = (operand: SearchFilter): SearchFilter => ({ kind: 'not', operand });
const and = (left: SearchFilter, right: SearchFilter): SearchFilter => ({ kind: 'and', left, right });
const or = (left: SearchFilter, right: SearchFilter): SearchFilter => ({ kind: 'or', left, right });

// A small, varied data set for the filter tests.
const CORPUS: readonly NormalizedEvent[] = [
  makeEvent('e01', { time: BASE_TIME + 1_000 }),
  makeEvent('e02', {
    time: BASE_TIME + 2_000,
    user: 'Bob@Example.com',
    outcome: 'failure',
    srcIp: '10.1.2.3',
    country: 'DE',
    app: 'Payroll',
    appUid: 'app-0002',
    idp: 'Azure AD',
  }),
  makeEvent('e03', {
    time: BASE_TIME + 3_000,
    user: null,
    srcIp: null,
    country: null,
    app: null,
    appUid: null,
    idp: null,
    rayId: null,
    activity: 'policy_eval',
    outcome: 'unknown',
  }),
  makeEvent('e04', {
    time: BASE_TIME + 4_000,
    user: 'carol_x@example.com',
    srcIp: '2001:db8::42',
    country: 'FR',
    dataset: 'gateway_dns',
    classUid: 4003,
    sourceName: 'cf-second',
  }),
  makeEvent('e05', {
    time: BASE_TIME + 5_000,
    user: 'carolAx@example.com',
    srcIp: '10.200.0.1',
    outcome: 'failure',
    app: 'Wiki',
    accountId: 'fedcba9876543210fedcba9876543210',
  }),
  makeEvent('e06', { time: BASE_TIME + 6_000, user: '100%real@example.com', srcIp: '2001:db9::1', app: 'wiki' }),
  makeEvent('e07', {
    time: BASE_TIME + 7_000,
    user: 'alice@example.com',
    srcIp: '192.0.2.200',
    outcome: 'failure',
    app: 'Mail',
  }),
];

// Letters outside ASCII in several spellings, and users, activities and datasets as stored (lower case), for the
// case rules: ASCII letters fold, every other character matches as written, on both stores alike; fields stored
// in lower case take the typed value lower-cased.
const CASE_CORPUS: readonly NormalizedEvent[] = [
  makeEvent('c01', { time: BASE_TIME + 1_000, app: 'ÜBER.example.com' }),
  makeEvent('c02', {
    time: BASE_TIME + 2_000,
    app: 'Über.EXAMPLE.com',
    user: 'bob@example.com',
    activity: 'logoff',
    dataset: 'gateway_dns',
  }),
  makeEvent('c03', {
    time: BASE_TIME + 3_000,
    app: 'über.example.com',
    user: 'bob@example.com',
    activity: 'create',
    dataset: 'audit_logs',
    sourceName: 'cf-audit',
  }),
  makeEvent('c04', { time: BASE_TIME + 4_000, user: 'josé.müller@example.com' }),
];

export interface StoreContractOptions {
  /** Closes and reopens the same database, to prove data is durable; skipped when absent. */
  readonly reopen?: (store: Store) => Promise<Store>;
}

/**
 * The behaviour every `Store` must show. Each implementation calls this with a factory that opens a fresh,
 * empty database per call; the tests migrate it themselves.
 */
export function storeContractSuite(
  name: string,
  openStore: () => Promise<Store>,
  options: StoreContractOptions = {},
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await openStore();
      await store.migrate();
    });

    afterEach(async () => {
      await store.close();
    });

    const ids = async (
      filter: SearchFilter | null,
      extra: { fromMs?: number; toMs?: number } = {},
    ): Promise<string[]> => {
      const page = await store.search({ filter, order: 'asc', ...extra }, { limit: 1000 });
      return page.events.map((event) => event.id);
    };

    describe('migrate and lifecycle', () => {
      it('migrating again keeps the data and changes nothing', async () => {
        await store.append([makeEvent('m1')], { id: 'cf-main/access_requests', value: { since: 1 } });
        await store.migrate();
        await store.migrate();
        expect(await store.count({ filter: null })).toBe(1);
        expect(await store.cursor('cf-main/access_requests')).toEqual({ since: 1 });
      });

      it('close can be called twice', async () => {
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
      });

      if (options.reopen !== undefined) {
        const reopen = options.reopen;
        it('keeps events, cursors and settings across close and reopen', async () => {
          await store.append([makeEvent('r1'), makeEvent('r2')], {
            id: 'cf-main/access_requests',
            value: { page: 'p2' },
          });
          await store.setSetting('key_check', 'v1');
          store = await reopen(store);
          await store.migrate();
          expect(await ids(null)).toEqual(['r1', 'r2']);
          expect(await store.cursor('cf-main/access_requests')).toEqual({ page: 'p2' });
          expect(await store.getSetting('key_check')).toBe('v1');
        });
      }
    });

    describe('append and cursor', () => {
      it('stores events and the cursor together, and returns events as they went in', async () => {
        const events = [makeEvent('a1'), makeEvent('a2', { time: BASE_TIME + 1 })];
        const result = await store.append(events, {
          id: 'cf-main/access_requests',
          value: { since: '2024-01-15T12:00:00Z', n: 2 },
        });
        expect(result).toEqual({ inserted: 2, duplicates: 0, oldestInsertedMs: BASE_TIME });
        expect(await store.cursor('cf-main/access_requests')).toEqual({ since: '2024-01-15T12:00:00Z', n: 2 });
        const page = await store.search({ filter: null, order: 'asc' }, { limit: 10 });
        expect(page.events).toEqual(events);
      });

      it('returns undefined for a cursor never written', async () => {
        expect(await store.cursor('nobody/nothing')).toBeUndefined();
      });

      it('is idempotent on event id and still moves the cursor', async () => {
        const batch = [makeEvent('i1'), makeEvent('i2'), makeEvent('i3')];
        await store.append(batch, { id: 'c', value: { v: 1 } });
        const again = await store.append(batch, { id: 'c', value: { v: 2 } });
        expect(again).toEqual({ inserted: 0, duplicates: 3, oldestInsertedMs: null });
        expect(await store.count({ filter: null })).toBe(3);
        expect(await store.cursor('c')).toEqual({ v: 2 });
      });

      it('takes the events from any iterable, as it writes them, across batches of every size', async () => {
        // Some ids stored before, some repeated within the iterable, spread over more than one write chunk.
        await store.append([makeEvent('it-3'), makeEvent('it-40')], { id: 'c', value: { v: 1 } });
        const wanted = Array.from({ length: 70 }, (_, n) => makeEvent(`it-${n}`, { time: BASE_TIME + n }));
        let yielded = 0;
        const events: Iterable<NormalizedEvent> = {
          *[Symbol.iterator]() {
            for (const event of wanted) {
              yielded += 1;
              yield event;
              if (event.id === 'it-31') yield makeEvent('it-31', { activity: 'again' });
            }
          },
        };
        const result = await store.append(events, { id: 'c', value: { v: 2 } });
        expect(yielded).toBe(70);
        expect(result).toEqual({ inserted: 68, duplicates: 3, oldestInsertedMs: BASE_TIME });
        expect(await store.cursor('c')).toEqual({ v: 2 });
        const page = await store.search({ filter: null, order: 'asc' }, { limit: 100 });
        expect(page.events.map((event) => event.id).sort()).toEqual(wanted.map((event) => event.id).sort());
        expect(page.events.find((event) => event.id === 'it-31')?.activity).not.toBe('again');
      });

      it("stores nothing and rethrows as it was what the events' iterable throws", async () => {
        await store.append([makeEvent('f-0')], { id: 'c', value: { v: 1 } });
        const broken = new TypeError('normalizer bug');
        const events: Iterable<NormalizedEvent> = {
          *[Symbol.iterator]() {
            for (let n = 1; n <= 40; n += 1) yield makeEvent(`f-${n}`);
            throw broken;
          },
        };
        await expect(store.append(events, { id: 'c', value: { v: 2 } })).rejects.toBe(broken);
        expect(await store.count({ filter: null })).toBe(1);
        expect(await store.cursor('c')).toEqual({ v: 1 });
      });

      it('keeps the first copy when one batch repeats an id', async () => {
        const result = await store.append(
          [makeEvent('d1', { activity: 'first' }), makeEvent('d1', { activity: 'second' }), makeEvent('d2')],
          { id: 'c', value: {} },
        );
        expect(result).toEqual({ inserted: 2, duplicates: 1, oldestInsertedMs: BASE_TIME });
        const page = await store.search({ filter: term('id', 'd1'), order: 'asc' }, { limit: 10 });
        expect(page.events.map((event) => event.activity)).toEqual(['first']);
      });

      it('writes nothing, cursor included, when one event of the batch is rejected', async () => {
        await store.append([makeEvent('t0')], { id: 'c', value: { v: 'before' } });
        const bad = makeEvent('t2', { outcome: 'exploded' as Outcome });
        const attempt = store.append([makeEvent('t1'), bad, makeEvent('t3')], { id: 'c', value: { v: 'after' } });
        await expect(attempt).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
        expect(await ids(null)).toEqual(['t0']);
        expect(await store.cursor('c')).toEqual({ v: 'before' });
      });

      it('tells the earliest time among the events that went in, never that of a duplicate', async () => {
        await store.append([makeEvent('o1', { time: BASE_TIME - 100 })], { id: 'c', value: { v: 1 } });
        const result = await store.append(
          [
            makeEvent('o1', { time: BASE_TIME - 100 }),
            makeEvent('o2', { time: BASE_TIME + 7 }),
            makeEvent('o3', { time: BASE_TIME + 3 }),
          ],
          { id: 'c', value: { v: 2 } },
        );
        expect(result).toEqual({ inserted: 2, duplicates: 1, oldestInsertedMs: BASE_TIME + 3 });
      });

      it('accepts an empty batch and still moves the cursor', async () => {
        expect(await store.append([], { id: 'c', value: { v: 9 } })).toEqual({
          inserted: 0,
          duplicates: 0,
          oldestInsertedMs: null,
        });
        expect(await store.cursor('c')).toEqual({ v: 9 });
      });
    });

    describe('search filters', () => {
      beforeEach(async () => {
        await store.append(CORPUS, { id: 'cf-main/access_requests', value: {} });
      });

      it('matches everything without a filter, in time order both ways', async () => {
        expect(await ids(null)).toEqual(['e01', 'e02', 'e03', 'e04', 'e05', 'e06', 'e07']);
        const desc = await store.search({ filter: null, order: 'desc' }, { limit: 100 });
        expect(desc.events.map((event) => event.id)).toEqual(['e07', 'e06', 'e05', 'e04', 'e03', 'e02', 'e01']);
      });

      it('matches users exactly and without regard to case', async () => {
        expect(await ids(term('user', 'alice@example.com'))).toEqual(['e01', 'e07']);
        expect(await ids(term('user', 'BOB@example.COM'))).toEqual(['e02']);
        expect(await ids(term('user', 'alice'))).toEqual([]);
      });

      it('treats * as a wildcard and % and _ as ordinary characters', async () => {
        expect(await ids(term('user', 'carol*'))).toEqual(['e04', 'e05']);
        expect(await ids(term('user', 'carol_*'))).toEqual(['e04']);
        expect(await ids(term('user', '100%*'))).toEqual(['e06']);
        expect(await ids(term('user', '%*'))).toEqual([]);
        expect(await ids(term('user', '*@EXAMPLE.com'))).toEqual(['e01', 'e02', 'e04', 'e05', 'e06', 'e07']);
      });

      it('matches each remaining field', async () => {
        expect(await ids(term('outcome', 'failure'))).toEqual(['e02', 'e05', 'e07']);
        expect(await ids(term('outcome', 'FAILURE'))).toEqual(['e02', 'e05', 'e07']);
        expect(await ids(term('country', 'de'))).toEqual(['e02']);
        expect(await ids(term('app', 'wiki'))).toEqual(['e01', 'e04', 'e05', 'e06']);
        expect(await ids(term('app_uid', 'app-0002'))).toEqual(['e02']);
        expect(await ids(term('idp', 'azure ad'))).toEqual(['e02']);
        expect(await ids(term('ray_id', 'ray-e04'))).toEqual(['e04']);
        expect(await ids(term('activity', 'policy_eval'))).toEqual(['e03']);
        expect(await ids(term('dataset', 'gateway_dns'))).toEqual(['e04']);
        expect(await ids(term('source', 'cf-second'))).toEqual(['e04']);
        expect(await ids(term('account_id', 'fedcba9876543210fedcba9876543210'))).toEqual(['e05']);
        expect(await ids(term('class_uid', '4003'))).toEqual(['e04']);
        expect(await ids(term('id', 'e06'))).toEqual(['e06']);
        expect(await ids(term('src_ip', '10.1.2.3'))).toEqual(['e02']);
        expect(await ids(term('src_ip', '2001:DB8:0::42'))).toEqual(['e04']);
        expect(await ids(term('time', String(BASE_TIME + 3_000)))).toEqual(['e03']);
      });

      it('matches a bare word against the text fields', async () => {
        expect(await ids(term(null, 'payroll'))).toEqual(['e02']);
        expect(await ids(term(null, 'ray-e05'))).toEqual(['e05']);
        expect(await ids(term(null, '10.1.2.3'))).toEqual(['e02']);
        expect(await ids(term(null, 'policy_eval'))).toEqual(['e03']);
        expect(await ids(term(null, 'carol*'))).toEqual(['e04', 'e05']);
        expect(await ids(term(null, 'nothing-here'))).toEqual([]);
      });

      it('includes events with no value when negating a field', async () => {
        expect(await ids(not(term('user', 'alice@example.com')))).toEqual(['e02', 'e03', 'e04', 'e05', 'e06']);
        expect(await ids(not(term('country', 'us')))).toEqual(['e02', 'e03', 'e04']);
        expect(
          await ids(not({ kind: 'cidr', field: 'src_ip', version: 4, start: '10.0.0.0', end: '10.255.255.255' })),
        ).toEqual(['e01', 'e03', 'e04', 'e06', 'e07']);
        expect(await ids(not(not(term('user', 'alice@example.com'))))).toEqual(['e01', 'e07']);
      });

      it('combines with AND and OR', async () => {
        expect(await ids(and(term('user', 'alice@example.com'), term('outcome', 'failure')))).toEqual(['e07']);
        expect(await ids(or(term('country', 'de'), term('country', 'fr')))).toEqual(['e02', 'e04']);
        expect(await ids(and(or(term('app', 'wiki'), term('app', 'mail')), not(term('outcome', 'success'))))).toEqual([
          'e05',
          'e07',
        ]);
      });

      it('matches IPv4 and IPv6 CIDR blocks', async () => {
        expect(
          await ids({ kind: 'cidr', field: 'src_ip', version: 4, start: '10.0.0.0', end: '10.255.255.255' }),
        ).toEqual(['e02', 'e05']);
        expect(
          await ids({ kind: 'cidr', field: 'src_ip', version: 4, start: '192.0.2.0', end: '192.0.2.127' }),
        ).toEqual(['e01']);
        expect(
          await ids({
            kind: 'cidr',
            field: 'src_ip',
            version: 6,
            start: '2001:db8::',
            end: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
          }),
        ).toEqual(['e04']);
        expect(
          await ids({
            kind: 'cidr',
            field: 'src_ip',
            version: 6,
            start: '2001:db8::',
            end: '2001:db9:ffff:ffff:ffff:ffff:ffff:ffff',
          }),
        ).toEqual(['e04', 'e06']);
      });

      it('matches address patterns as it matches addresses: any case, IPv4-mapped addresses as IPv4', async () => {
        await store.append([makeEvent('m1', { time: BASE_TIME + 8_000, srcIp: '::ffff:192.0.2.77' })], {
          id: 'c',
          value: {},
        });
        const found = (text: string): Promise<string[]> => ids(parseQuery(text));
        expect(await found('src_ip:192.0.2.0/24')).toEqual(['e01', 'e07', 'm1']);
        expect(await found('src_ip:192.0.2.*')).toEqual(['e01', 'e07', 'm1']);
        expect(await found('src_ip:192.0.2.7*')).toEqual(['m1']);
        expect(await found('src_ip:2001:DB8*')).toEqual(['e04']);
        expect(await found('src_ip:*:DB9::1')).toEqual(['e06']);
        expect(await found('NOT src_ip:192.0.2.*')).toEqual(['e02', 'e03', 'e04', 'e05', 'e06']);
      });

      it('filters on time ranges and on the query window', async () => {
        const range = (
          min: number | string | null,
          max: number | string | null,
          minInclusive = true,
          maxInclusive = true,
        ): SearchFilter => ({
          kind: 'range',
          field: 'time',
          min,
          max,
          minInclusive,
          maxInclusive,
        });
        expect(await ids(range(BASE_TIME + 2_000, BASE_TIME + 4_000))).toEqual(['e02', 'e03', 'e04']);
        expect(await ids(range(BASE_TIME + 2_000, BASE_TIME + 4_000, false, false))).toEqual(['e03']);
        expect(await ids(range(BASE_TIME + 6_000, null))).toEqual(['e06', 'e07']);
        expect(await ids(range(null, String(BASE_TIME + 1_000)))).toEqual(['e01']);
        expect(await ids(null, { fromMs: BASE_TIME + 2_000, toMs: BASE_TIME + 4_000 })).toEqual(['e02', 'e03']);
      });

      it('counts what a search would return', async () => {
        expect(await store.count({ filter: null })).toBe(7);
        expect(await store.count({ filter: term('outcome', 'failure') })).toBe(3);
        expect(await store.count({ filter: not(term('user', 'alice@example.com')), fromMs: BASE_TIME + 3_000 })).toBe(
          4,
        );
      });

      it('aggregates into buckets sorted by count', async () => {
        const buckets = await store.aggregate({ filter: null, groupBy: 'outcome', limit: 10 });
        expect(buckets).toEqual([
          { key: 'failure', count: 3 },
          { key: 'success', count: 3 },
          { key: 'unknown', count: 1 },
        ]);
        const users = await store.aggregate({ filter: term('outcome', 'failure'), groupBy: 'user', limit: 10 });
        expect(users.map((bucket) => bucket.count).reduce((sum, count) => sum + count, 0)).toBe(3);
        const countries = await store.aggregate({ filter: null, groupBy: 'country', limit: 1 });
        expect(countries).toEqual([{ key: 'us', count: 4 }]);
        const withNull = await store.aggregate({
          filter: null,
          groupBy: 'idp',
          fromMs: BASE_TIME + 2_000,
          toMs: BASE_TIME + 4_000,
          limit: 10,
        });
        // Ties are broken by key, with "no value" first.
        expect(withNull).toEqual([
          { key: null, count: 1 },
          { key: 'Azure AD', count: 1 },
        ]);
      });
    });

    describe('case and bare words', () => {
      beforeEach(async () => {
        await store.append(CASE_CORPUS, { id: 'cf-main/access_requests', value: {} });
      });

      const found = (text: string): Promise<string[]> => ids(parseQuery(text));
      // Enough values for filter-chains to compare them as one list.
      const listOf = (first: string): string =>
        [first, ...Array.from({ length: 8 }, (_, n) => `none-${n}`)].join(' OR ');

      it('folds ASCII letters and matches every other letter as written', async () => {
        expect(await found('app:ÜBER.example.com')).toEqual(['c01', 'c02']);
        expect(await found('app:Über.example.COM')).toEqual(['c01', 'c02']);
        expect(await found('app:über.example.com')).toEqual(['c03']);
        expect(await found('app:*ÜBER*')).toEqual(['c01', 'c02']);
        expect(await found('app:ÜB*')).toEqual(['c01', 'c02']);
        expect(await found('ÜBER.example.com')).toEqual(['c01', 'c02']);
        expect(await found('app:[ÜBER TO ÜBER.z]')).toEqual(['c01', 'c02']);
        expect(await found(`app:(${listOf('ÜBER.EXAMPLE.COM')})`)).toEqual(['c01', 'c02']);
        expect(await found('user:josé.müller@example.com')).toEqual(['c04']);
        expect(await found('user:JOSé.MüLLER@EXAMPLE.COM')).toEqual(['c04']);
        // Users are stored lower-cased, so any spelling of the address as a record may give it finds them.
        expect(await found('user:JOSÉ.MÜLLER@EXAMPLE.COM')).toEqual(['c04']);
        expect(await found('user:José.Müller@example.com')).toEqual(['c04']);
        expect(await found(`user:(${listOf('JOSÉ.MÜLLER@EXAMPLE.COM')})`)).toEqual(['c04']);
        expect(await found('user:JOSÉ.MÜ*')).toEqual(['c04']);
        expect(await found('user:[JOSÉ.MÜ TO JOSÉ.MÜZ]')).toEqual(['c04']);
        expect(await found('"JOSÉ.MÜLLER@EXAMPLE.COM"')).toEqual(['c04']);
      });

      it('finds every stored value by itself, as a field value and as a bare word', async () => {
        for (const event of CASE_CORPUS) {
          for (const [field, value] of [
            ['app', event.app],
            ['user', event.user],
          ] as const) {
            expect(await found(`${field}:"${value ?? ''}"`)).toContain(event.id);
            expect(await found(`"${value ?? ''}"`)).toContain(event.id);
          }
        }
      });

      it('matches activities and dataset names in bare words in any case, as their fields do', async () => {
        expect(await found('Logon')).toEqual(['c01', 'c04']);
        expect(await found('LOGOFF')).toEqual(['c02']);
        expect(await found('logon')).toEqual(await found('activity:Logon'));
        expect(await found('Log*')).toEqual(['c01', 'c02', 'c04']);
        expect(await found(`(${listOf('LOGON')})`)).toEqual(['c01', 'c04']);
        expect(await found('access_requests')).toEqual(['c01', 'c04']);
        expect(await found('GATEWAY_DNS')).toEqual(['c02']);
        expect(await found(`(${listOf('Audit_Logs')})`)).toEqual(['c03']);
      });

      it('matches bare words against event ids, source names and account ids too', async () => {
        expect(await found('c03')).toEqual(['c03']);
        expect(await found('cf-audit')).toEqual(['c03']);
        expect(await found('0123456789abcdef0123456789abcdef')).toEqual(['c01', 'c02', 'c03', 'c04']);
      });
    });

    describe('histogram', () => {
      const MINUTE = 60_000;
      const at = (minutes: number, seconds = 0): number => BASE_TIME + minutes * MINUTE + seconds * 1_000;

      beforeEach(async () => {
        await store.append(
          [
            makeEvent('h01', { time: at(0) }),
            makeEvent('h02', { time: at(0, 59), outcome: 'failure' }),
            makeEvent('h03', { time: at(1) }),
            makeEvent('h04', { time: at(3, 30), outcome: 'failure' }),
            makeEvent('h05', { time: at(3, 31) }),
            makeEvent('h06', { time: at(10) }),
          ],
          { id: 'cf-main/access_requests', value: {} },
        );
      });

      it('counts events per bucket, oldest first, leaving out empty buckets', async () => {
        const buckets = await store.histogram({ filter: null, fromMs: at(0), toMs: at(10), bucketMs: MINUTE });
        expect(buckets).toEqual([
          { startMs: at(0), count: 2 },
          { startMs: at(1), count: 1 },
          { startMs: at(3), count: 2 },
        ]);
      });

      it('applies the filter and the window, with buckets on multiples of their width', async () => {
        const failures = await store.histogram({
          filter: term('outcome', 'failure'),
          fromMs: at(0),
          toMs: at(20),
          bucketMs: 5 * MINUTE,
        });
        expect(failures).toEqual([{ startMs: at(0), count: 2 }]);
        // The window cuts the first bucket: it starts before fromMs but counts only what lies inside.
        const cut = await store.histogram({ filter: null, fromMs: at(0, 30), toMs: at(3, 31), bucketMs: 2 * MINUTE });
        expect(cut).toEqual([
          { startMs: at(0), count: 2 },
          { startMs: at(2), count: 1 },
        ]);
        expect(
          await store.histogram({
            filter: term('user', 'nobody@example.com'),
            fromMs: at(0),
            toMs: at(20),
            bucketMs: MINUTE,
          }),
        ).toEqual([]);
      });

      it('sums to the count of the same search', async () => {
        const buckets = await store.histogram({ filter: null, fromMs: at(0), toMs: at(60), bucketMs: 7_000 });
        expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(
          await store.count({ filter: null, fromMs: at(0), toMs: at(60) }),
        );
        for (const bucket of buckets) expect(bucket.startMs % 7_000).toBe(0);
      });
    });

    dashboardContract(() => store);
    summaryContract(() => store);
    detectionContract(() => store);
    leaseContract(() => store);

    describe('paging', () => {
      it('returns every event exactly once across pages, even when many share a time', async () => {
        const events: NormalizedEvent[] = [];
        for (let index = 0; index < 53; index += 1) {
          // Ten events per millisecond, ids inserted out of order.
          const id = `p${String((index * 37) % 53).padStart(3, '0')}`;
          events.push(makeEvent(id, { time: BASE_TIME + Math.floor(index / 10) }));
        }
        await store.append(events, { id: 'c', value: {} });
        for (const order of ['asc', 'desc'] as const) {
          const seen: NormalizedEvent[] = [];
          let after: string | undefined;
          let pages = 0;
          do {
            const page = await store.search(
              { filter: null, order },
              { limit: 7, ...(after === undefined ? {} : { after }) },
            );
            expect(page.events.length).toBeLessThanOrEqual(7);
            seen.push(...page.events);
            after = page.nextPage ?? undefined;
            pages += 1;
          } while (after !== undefined && pages < 100);
          expect(pages).toBe(8);
          expect(new Set(seen.map((event) => event.id)).size).toBe(53);
          const keys = seen.map((event) => [event.time, event.id] as const);
          const sorted = [...keys].sort(
            (a, b) => (a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)) * (order === 'asc' ? 1 : -1),
          );
          expect(keys).toEqual(sorted);
        }
      });

      it('returns no next page when the last page is exactly full', async () => {
        await store.append([makeEvent('x1'), makeEvent('x2')], { id: 'c', value: {} });
        const page = await store.search({ filter: null, order: 'asc' }, { limit: 2 });
        expect(page.events).toHaveLength(2);
        expect(page.nextPage).toBeNull();
      });

      it('pages within a filter', async () => {
        await store.append(CORPUS, { id: 'c', value: {} });
        const first = await store.search({ filter: term('outcome', 'failure'), order: 'desc' }, { limit: 2 });
        expect(first.events.map((event) => event.id)).toEqual(['e07', 'e05']);
        expect(first.nextPage).not.toBeNull();
        const second = await store.search(
          { filter: term('outcome', 'failure'), order: 'desc' },
          { limit: 2, after: first.nextPage ?? '' },
        );
        expect(second.events.map((event) => event.id)).toEqual(['e02']);
        expect(second.nextPage).toBeNull();
      });

      it('rejects a page token it did not issue', async () => {
        const attempt = store.search({ filter: null, order: 'asc' }, { limit: 2, after: 'not-a-token' });
        await expect(attempt).rejects.toBeInstanceOf(AppError);
        await expect(attempt).rejects.toMatchObject({ code: 'QUERY_VALUE_INVALID' });
      });
    });

    describe('following', () => {
      // Ids are content hashes in production, so they say nothing of the order events were stored in.
      const hashId = (n: number): string => createHash('sha256').update(`follow-${n}`).digest('hex').slice(0, 32);

      interface Followed {
        readonly events: NormalizedEvent[];
        next: string;
      }

      async function readOnce(
        state: Followed,
        filter: SearchFilter | null,
        limit: number,
      ): Promise<{ readonly count: number; readonly more: boolean }> {
        const page = await store.follow({ filter }, { limit, after: state.next });
        expect(page.events.length).toBeLessThanOrEqual(limit);
        state.events.push(...page.events);
        state.next = page.next;
        return { count: page.events.length, more: page.more };
      }

      async function drain(state: Followed, filter: SearchFilter | null, limit: number): Promise<void> {
        for (let reads = 0; reads < 10_000; reads += 1) {
          const { more } = await readOnce(state, filter, limit);
          if (!more) return;
        }
        throw new Error('the follow never caught up');
      }

      it('returns every event exactly once while writers append same-millisecond and late events', async () => {
        const burstTime = BASE_TIME + 60_000;
        const stored: NormalizedEvent[] = [];
        let n = 0;
        // Each batch: a same-millisecond burst at the newest time, and late events up to an hour older than
        // anything a follower may already have read.
        const batch = (): NormalizedEvent[] =>
          Array.from({ length: 12 }, (_, index) => {
            n += 1;
            const time = index < 8 ? burstTime : burstTime - 1 - ((n * 7919) % 3_600_000);
            return makeEvent(hashId(n), { time, outcome: n % 3 === 0 ? 'failure' : 'success' });
          });
        let writing = true;
        const writer = async (name: string): Promise<void> => {
          for (let round = 0; round < 25; round += 1) {
            const events = batch();
            await store.append(events, { id: `cf/${name}`, value: { round } });
            stored.push(...events);
            // Lets the follower read between appends on a store whose calls never wait (SQLite's).
            await new Promise((resolve) => setImmediate(resolve));
          }
        };
        const all: Followed = { events: [], next: await store.followLatest() };
        const failures: Followed = { events: [], next: all.next };
        const failure = term('outcome', 'failure');
        const follower = async (): Promise<void> => {
          while (writing) {
            await readOnce(all, null, 7);
            await readOnce(failures, failure, 3);
            await new Promise((resolve) => setImmediate(resolve));
          }
          seenWhileWriting = all.events.length;
        };
        const reading = follower();
        let seenWhileWriting = 0;
        // Two writers at once: on a store with several connections their transactions interleave and commit in
        // either order.
        await Promise.all([writer('a'), writer('b')]);
        writing = false;
        await reading;
        // The follower read while the writers were still appending, not only once they were done.
        expect(seenWhileWriting).toBeGreaterThan(0);
        expect(seenWhileWriting).toBeLessThan(stored.length);
        await drain(all, null, 7);
        await drain(failures, failure, 3);

        const seen = all.events.map((event) => event.id);
        expect(seen).toHaveLength(stored.length);
        expect(new Set(seen)).toEqual(new Set(stored.map((event) => event.id)));
        const matching = stored.filter((event) => event.outcome === 'failure').map((event) => event.id);
        expect(failures.events.map((event) => event.id)).toHaveLength(matching.length);
        expect(new Set(failures.events.map((event) => event.id))).toEqual(new Set(matching));
        // Whole events come back, not just their ids.
        const first = stored.find((event) => event.id === seen[0]);
        expect(all.events[0]).toMatchObject({ id: first?.id, time: first?.time, outcome: first?.outcome });
      });

      it('hands back a token at the end of the store from which only later events are read', async () => {
        await store.append([makeEvent('f1'), makeEvent('f2', { time: BASE_TIME + 5 })], { id: 'c', value: {} });
        const fromStart = await store.follow({ filter: null }, { limit: 10 });
        expect(fromStart.events.map((event) => event.id)).toEqual(['f1', 'f2']);
        expect(fromStart.more).toBe(false);
        const idle = await store.follow({ filter: null }, { limit: 10, after: fromStart.next });
        expect(idle.events).toEqual([]);
        expect(idle.more).toBe(false);
        expect(idle.next).toBe(fromStart.next);

        const latest = await store.followLatest();
        // Late and same-time events are still new to a follower.
        await store.append([makeEvent('f3', { time: BASE_TIME - 60_000 }), makeEvent('f4')], { id: 'c', value: {} });
        for (const after of [idle.next, latest]) {
          const page = await store.follow({ filter: null }, { limit: 10, after });
          expect(page.events.map((event) => event.id)).toEqual(['f3', 'f4']);
        }
        const partial = await store.follow({ filter: null }, { limit: 1, after: latest });
        expect(partial.events.map((event) => event.id)).toEqual(['f3']);
        expect(partial.more).toBe(true);
      });

      it('applies the query window to event times, not to the storing order', async () => {
        await store.append(
          [makeEvent('w1', { time: BASE_TIME - 10_000 }), makeEvent('w2'), makeEvent('w3', { time: BASE_TIME + 10 })],
          { id: 'c', value: {} },
        );
        const page = await store.follow({ filter: null, fromMs: BASE_TIME, toMs: BASE_TIME + 10 }, { limit: 10 });
        expect(page.events.map((event) => event.id)).toEqual(['w2']);
      });

      it('refuses a token it did not issue, and a browsing page token', async () => {
        await store.append([makeEvent('t1'), makeEvent('t2')], { id: 'c', value: {} });
        const browsing = await store.search({ filter: null, order: 'asc' }, { limit: 1 });
        for (const after of ['not-a-token', browsing.nextPage ?? '']) {
          await expect(store.follow({ filter: null }, { limit: 2, after })).rejects.toMatchObject({
            code: 'QUERY_VALUE_INVALID',
          });
        }
      });
    });

    describe('retention', () => {
      it('deletes only events older than the cut-off and reports how many', async () => {
        const events = Array.from({ length: 25 }, (_, index) =>
          makeEvent(`old${index}`, { time: BASE_TIME - 1_000 - index }),
        );
        await store.append(
          [...events, makeEvent('edge', { time: BASE_TIME }), makeEvent('new', { time: BASE_TIME + 1 })],
          {
            id: 'c',
            value: {},
          },
        );
        expect(await store.deleteEventsBefore(BASE_TIME)).toBe(25);
        expect(await ids(null)).toEqual(['edge', 'new']);
        expect(await store.deleteEventsBefore(BASE_TIME)).toBe(0);
      });
    });

    describe('sources, statuses and settings', () => {
      const source = (name: string): StoredSource => ({
        name,
        type: 'cloudflare_zero_trust',
        accountId: '0123456789abcdef0123456789abcdef',
        tokenCiphertext: `v1:ciphertext-for-${name}`,
        tokenLastFour: 'a1b2',
        createdAt: BASE_TIME,
        settings: { datasets: ['access_requests'], interval_secs: 60 },
      });
      const status = (id: string, state: DatasetStatus['state']): DatasetStatus => ({
        id,
        state,
        lastSuccessAt: BASE_TIME,
        lastErrorAt: state === 'ok' ? null : BASE_TIME + 5,
        lastErrorCode: state === 'ok' ? null : 'SOURCE_RATE_LIMITED',
        lastErrorMessage: state === 'ok' ? null : 'Cloudflare rate-limited the request.',
        updatedAt: BASE_TIME + 10,
      });

      it('saves, reads and lists sources', async () => {
        await store.saveSource(source('zeta'));
        await store.saveSource(source('alpha'));
        expect(await store.getSource('zeta')).toEqual(source('zeta'));
        expect(await store.getSource('missing')).toBeUndefined();
        expect((await store.listSources()).map((item) => item.name)).toEqual(['alpha', 'zeta']);
      });

      it('refuses a second source with the same name', async () => {
        await store.saveSource(source('cf'));
        await expect(store.saveSource({ ...source('cf'), tokenLastFour: 'zzzz' })).rejects.toMatchObject({
          code: 'SOURCE_ALREADY_EXISTS',
        });
        expect((await store.getSource('cf'))?.tokenLastFour).toBe('a1b2');
      });

      it('removes a source with its cursors and statuses, but not its events or other sources', async () => {
        await store.saveSource(source('cf'));
        await store.saveSource(source('cf2'));
        await store.append([makeEvent('s1', { sourceName: 'cf' })], { id: 'cf/access_requests', value: { v: 1 } });
        await store.append([], { id: 'cf2/access_requests', value: { v: 2 } });
        await store.setDatasetStatus(status('cf/access_requests', 'ok'));
        await store.setDatasetStatus(status('cf2/access_requests', 'failed'));
        expect(await store.removeSource('cf')).toBe(true);
        expect(await store.removeSource('cf')).toBe(false);
        expect(await store.getSource('cf')).toBeUndefined();
        expect(await store.cursor('cf/access_requests')).toBeUndefined();
        expect(await store.cursor('cf2/access_requests')).toEqual({ v: 2 });
        expect((await store.datasetStatuses()).map((item) => item.id)).toEqual(['cf2/access_requests']);
        expect(await store.count({ filter: null })).toBe(1);
      });

      it('starts a source added under a name with no collection state, whatever was left under that name', async () => {
        await store.append([], { id: 'cf/access_requests', value: { v: 1 } });
        await store.append([], { id: 'cf2/access_requests', value: { v: 2 } });
        await store.setDatasetStatus(status('cf/access_requests', 'failed'));
        await store.saveSource(source('cf'));
        expect(await store.cursor('cf/access_requests')).toBeUndefined();
        expect(await store.cursor('cf2/access_requests')).toEqual({ v: 2 });
        expect(await store.datasetStatuses()).toEqual([]);
      });

      it('keeps the cursors and statuses of a source whose name begins with the removed one and a slash', async () => {
        await store.saveSource(source('a'));
        await store.saveSource(source('a/b'));
        await store.append([], { id: 'a/access_requests', value: { v: 1 } });
        await store.append([], { id: 'a/b/access_requests', value: { v: 2 } });
        await store.setDatasetStatus(status('a/access_requests', 'ok'));
        await store.setDatasetStatus(status('a/b/access_requests', 'ok'));
        expect(await store.removeSource('a')).toBe(true);
        expect(await store.cursor('a/access_requests')).toBeUndefined();
        expect(await store.cursor('a/b/access_requests')).toEqual({ v: 2 });
        expect((await store.datasetStatuses()).map((item) => item.id)).toEqual(['a/b/access_requests']);
      });

      it('updates a source in place, keeping its collection state unless asked to reset it', async () => {
        await store.saveSource(source('cf'));
        await store.append([makeEvent('u1', { sourceName: 'cf' })], { id: 'cf/access_requests', value: { v: 1 } });
        await store.setDatasetStatus(status('cf/access_requests', 'ok'));
        const paused = {
          ...source('cf'),
          tokenCiphertext: 'v1:new',
          tokenLastFour: 'c3d4',
          settings: { paused: true },
        };
        expect(await store.updateSource(paused, { resetCollection: false })).toBe(true);
        expect(await store.getSource('cf')).toEqual(paused);
        expect(await store.cursor('cf/access_requests')).toEqual({ v: 1 });

        const moved = { ...paused, accountId: 'fedcba9876543210fedcba9876543210' };
        expect(await store.updateSource(moved, { resetCollection: true })).toBe(true);
        expect(await store.getSource('cf')).toEqual(moved);
        expect(await store.cursor('cf/access_requests')).toBeUndefined();
        expect(await store.datasetStatuses()).toEqual([]);
        expect(await store.count({ filter: null })).toBe(1);
        expect(await store.updateSource(source('missing'), { resetCollection: false })).toBe(false);
        expect(await store.getSource('missing')).toBeUndefined();
      });

      it('upserts dataset statuses', async () => {
        await store.setDatasetStatus(status('cf/access_requests', 'ok'));
        await store.setDatasetStatus(status('cf/gateway_dns', 'retrying'));
        await store.setDatasetStatus(status('cf/access_requests', 'failed'));
        expect(await store.datasetStatuses()).toEqual([
          status('cf/access_requests', 'failed'),
          status('cf/gateway_dns', 'retrying'),
        ]);
      });

      it('keeps settings as key/value pairs', async () => {
        expect(await store.getSetting('secret_key_check')).toBeUndefined();
        await store.setSetting('secret_key_check', 'abc');
        await store.setSetting('secret_key_check', 'def');
        await store.setSetting('other', '');
        expect(await store.getSetting('secret_key_check')).toBe('def');
        expect(await store.getSetting('other')).toBe('');
      });
    });

    describe('hostile strings', () => {
      const hostile = [
        '<script>alert(1)</script>',
        "'; DROP TABLE events; --",
        'tab\tnewline\ncr\rbell\u0007esc\u001b[31mdel\u007f',
        '%_\\*?[]',
        'emoji 🛡️ and ümlauts',
        'x'.repeat(100_000),
      ];

      it('stores and returns them exactly, in flat fields and in raw', async () => {
        const events = hostile.map((value, index) =>
          makeEvent(`h${index}`, {
            user: value,
            app: value,
            activity: value,
            rayId: value,
            ocsf: { message: value, nested: [value] },
            raw: { value, list: [value, null, 1.5] },
          }),
        );
        await store.append(events, { id: 'c', value: { note: hostile[0] } });
        const page = await store.search({ filter: null, order: 'asc' }, { limit: 100 });
        expect(page.events).toEqual(events);
        for (const [index, value] of hostile.entries()) {
          expect(await ids({ kind: 'term', field: 'ray_id', value, wildcard: false })).toEqual([`h${index}`]);
        }
        expect(await store.count({ filter: null })).toBe(hostile.length);
      });

      it('indexes the longest flat fields the normalizers make, of characters that do not compress', async () => {
        // PostgreSQL compresses a long index row before it measures it, so only varied multi-byte text reaches
        // its 2,704-byte limit. Every indexed column gets the longest value flatString lets through.
        const [user = '', app = '', idp = '', rayId = '', appUid = ''] = [1, 2, 3, 4, 5].map((offset) =>
          flatString(incompressibleCjk(2000, offset)),
        );
        const fields = { user, app, idp, rayId, appUid, sourceName: 'ソース'.repeat(33) };
        const login = makeEvent('wide-login', fields);
        const change = makeEvent('wide-change', { ...fields, dataset: 'audit_logs', classUid: 6003 });
        await store.append([login, change], { id: 'c', value: {} });
        expect(await ids(term('app', app))).toEqual(['wide-change', 'wide-login']);
        expect(await ids(term('user', user))).toEqual(['wide-change', 'wide-login']);
        expect(await ids(term('ray_id', rayId))).toEqual(['wide-change', 'wide-login']);
        // A value typed whole, longer than the field keeps, finds what the field kept of it.
        expect(await ids(parseQuery(`app:"${incompressibleCjk(2000, 2)}"`))).toEqual(['wide-change', 'wide-login']);
        expect(await ids(parseQuery(`"${incompressibleCjk(2000, 4)}"`))).toEqual(['wide-change', 'wide-login']);
      });

      it('accepts NUL characters; raw and ocsf come back exactly', async () => {
        // PostgreSQL text cannot hold NUL, so a store may alter it in flat fields; the record itself must survive.
        const nul = 'before\u0000after';
        const event = makeEvent('nul', { user: nul, app: nul, raw: { value: nul }, ocsf: { message: nul } });
        expect(await store.append([event], { id: 'c', value: {} })).toMatchObject({ inserted: 1, duplicates: 0 });
        const [stored] = (await store.search({ filter: null, order: 'asc' }, { limit: 1 })).events;
        expect(stored?.raw).toEqual({ value: nul });
        expect(stored?.ocsf).toEqual({ message: nul });
        // A query holding the NUL finds the event, by value and in a list of values, and fails nothing.
        expect(await ids(term('app', nul))).toEqual(['nul']);
        const many = Array.from({ length: 9 }, (_, n) => term('app', `${nul}${n}`)).reduce<SearchFilter>(
          (left, right) => ({ kind: 'or', left, right }),
          term('app', nul),
        );
        expect(await ids(many)).toEqual(['nul']);
      });

      it('survives lone surrogates: raw comes back exactly', async () => {
        const lone = 'a\ud800b\udfffc';
        const event = makeEvent('ls', { user: lone, raw: { value: lone }, ocsf: { message: lone } });
        expect(await store.append([event], { id: 'c', value: {} })).toMatchObject({ inserted: 1, duplicates: 0 });
        const [stored] = (await store.search({ filter: null, order: 'asc' }, { limit: 1 })).events;
        expect(stored?.raw).toEqual({ value: lone });
        expect(stored?.ocsf).toEqual({ message: lone });
        expect(stored?.user).toMatch(/^a.b.c$/u);
      });
    });

    describe('inventory', () => {
      const entity = (kind: InventoryKind, id: string, name: string, attributes: Record<string, unknown> = {}) => ({
        kind,
        id,
        name,
        attributes: { id, name, ...attributes },
      });

      it('has no snapshot before the first one is saved', async () => {
        expect(await store.inventorySnapshot('cf-main', 'groups')).toBeUndefined();
        expect(await store.listInventory('group')).toEqual([]);
      });

      it('replaces the state of one dataset and appends its change events in one step', async () => {
        const first = [
          entity('group', 'g1', 'Admins', { include: [{ email: { email: 'a@example.com' } }] }),
          entity('group', 'g2', 'Staff'),
        ];
        expect(
          await store.saveInventorySnapshot(
            { sourceName: 'cf-main', dataset: 'groups', takenAt: BASE_TIME, entities: first },
            [],
          ),
        ).toEqual({
          inserted: 0,
          duplicates: 0,
          oldestInsertedMs: null,
        });
        const change = makeEvent('chg1', {
          dataset: 'groups',
          classUid: 3004,
          activity: 'update',
          time: BASE_TIME + 60_000,
        });
        const second = [entity('group', 'g1', 'Admins', { include: [] })];
        expect(
          await store.saveInventorySnapshot(
            { sourceName: 'cf-main', dataset: 'groups', takenAt: BASE_TIME + 60_000, entities: second },
            [change],
          ),
        ).toEqual({ inserted: 1, duplicates: 0, oldestInsertedMs: BASE_TIME + 60_000 });

        expect(await store.inventorySnapshot('cf-main', 'groups')).toEqual({
          sourceName: 'cf-main',
          dataset: 'groups',
          takenAt: BASE_TIME + 60_000,
          entities: second,
        });
        const events = await store.search({ filter: term('dataset', 'groups'), order: 'asc' }, { limit: 10 });
        expect(events.events.map((event) => event.id)).toEqual(['chg1']);
        // Saving the same snapshot and changes again stores no second copy of the change event.
        expect(
          await store.saveInventorySnapshot(
            { sourceName: 'cf-main', dataset: 'groups', takenAt: BASE_TIME + 60_000, entities: second },
            [change],
          ),
        ).toEqual({ inserted: 0, duplicates: 1, oldestInsertedMs: null });
      });

      it('keeps datasets and sources apart and lists one kind by source then name', async () => {
        await store.saveInventorySnapshot(
          {
            sourceName: 'cf-b',
            dataset: 'access_users',
            takenAt: BASE_TIME,
            entities: [entity('user', 'u2', 'zoe@example.com'), entity('user', 'u1', 'Al@example.com')],
          },
          [],
        );
        await store.saveInventorySnapshot(
          {
            sourceName: 'cf-a',
            dataset: 'access_users',
            takenAt: BASE_TIME + 5,
            entities: [entity('user', 'u9', 'mia@example.com')],
          },
          [],
        );
        await store.saveInventorySnapshot(
          { sourceName: 'cf-a', dataset: 'groups', takenAt: BASE_TIME, entities: [entity('group', 'g1', 'Admins')] },
          [],
        );

        const users = await store.listInventory('user');
        expect(users.map((user) => `${user.sourceName}:${user.name}`)).toEqual([
          'cf-a:mia@example.com',
          'cf-b:Al@example.com',
          'cf-b:zoe@example.com',
        ]);
        expect(users[0]).toMatchObject({
          dataset: 'access_users',
          takenAt: BASE_TIME + 5,
          id: 'u9',
          attributes: { id: 'u9' },
        });
        expect((await store.listInventory('user', 'cf-b')).map((user) => user.id)).toEqual(['u1', 'u2']);
        expect(await store.listInventory('device')).toEqual([]);
      });

      it('refuses a snapshot listing one entity twice and keeps the previous state', async () => {
        const before = [entity('app', 'a1', 'Wiki')];
        await store.saveInventorySnapshot(
          { sourceName: 'cf-main', dataset: 'apps', takenAt: BASE_TIME, entities: before },
          [],
        );
        const change = makeEvent('dup-change', { dataset: 'apps' });
        await expect(
          store.saveInventorySnapshot(
            {
              sourceName: 'cf-main',
              dataset: 'apps',
              takenAt: BASE_TIME + 1,
              entities: [entity('app', 'a2', 'X'), entity('app', 'a2', 'Y')],
            },
            [change],
          ),
        ).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
        expect((await store.inventorySnapshot('cf-main', 'apps'))?.entities).toEqual(before);
        expect(await store.count({ filter: null })).toBe(0);
      });

      it("forgets a removed source's inventory but keeps its change events", async () => {
        await store.saveSource({
          name: 'cf-gone',
          type: 'cloudflare_zero_trust',
          accountId: '0123456789abcdef0123456789abcdef',
          tokenCiphertext: 'x',
          tokenLastFour: 'abcd',
          createdAt: BASE_TIME,
          settings: {},
        });
        await store.saveInventorySnapshot(
          {
            sourceName: 'cf-gone',
            dataset: 'devices',
            takenAt: BASE_TIME,
            entities: [entity('device', 'd1', 'laptop')],
          },
          [makeEvent('dev-change', { sourceName: 'cf-gone', dataset: 'devices' })],
        );
        expect(await store.removeSource('cf-gone')).toBe(true);
        expect(await store.inventorySnapshot('cf-gone', 'devices')).toBeUndefined();
        expect(await store.listInventory('device')).toEqual([]);
        expect(await store.count({ filter: null })).toBe(1);
      });
    });
  });
}
