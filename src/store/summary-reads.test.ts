// Which rows the histogram reads, on both stores: the summary rows are altered behind the store's back, and the
// answers show where each stretch of a period was counted from.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePostgres, TestSchemas } from '../../test/helpers/postgres.js';
import type { NormalizedEvent } from '../core/event.js';
import { PostgresStore } from './postgres/store.js';
import { parseQuery } from './query-language.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2024, 2, 4);

function event(index: number, time: number, classUid = 3002): NormalizedEvent {
  return {
    id: `${time.toString(16).padStart(12, '0')}-reads-${index}`,
    time,
    sourceName: 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: classUid === 3002 ? 'access_requests' : 'audit_logs',
    classUid,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp: '192.0.2.10',
    country: 'us',
    app: 'Wiki',
    appUid: null,
    idp: 'okta',
    rayId: null,
    ocsf: {},
    raw: {},
  };
}

// A login in a whole hour of a whole day, one in the partial hour the period starts in, and an audit entry.
const EVENTS = [
  event(1, START + DAY + 3 * HOUR + 5 * MINUTE),
  event(2, START + 20 * MINUTE),
  event(3, START + DAY + 4 * HOUR, 6003),
];
const FROM = START + 10 * MINUTE;
const TO = START + 3 * DAY;

interface Subject {
  readonly store: Store;
  /** Runs SQL on the store's database through a connection of its own. */
  readonly alter: (sql: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-summary-reads-'));
const schemas = new TestSchemas('summary_reads');

const SUBJECTS: readonly (readonly [string, () => Promise<Subject>])[] = [
  [
    'SQLite',
    async () => {
      const path = join(dir, `${String(Date.now())}.db`);
      const store = await SqliteStore.open({ path });
      return {
        store,
        alter: async (sql) => {
          const db = new Database(path);
          db.exec(sql);
          db.close();
          await Promise.resolve();
        },
        close: () => store.close(),
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const url = schemas.url();
      const store = await PostgresStore.open({ url });
      return {
        store,
        alter: async (sql) => {
          const client = new pg.Client({ connectionString: url.replace(/\?schema=.*$/, '') });
          await client.connect();
          try {
            await client.query(`SET search_path = ${new URL(url).searchParams.get('schema') ?? 'public'}`);
            await client.query(sql);
          } finally {
            await client.end();
          }
        },
        close: () => store.close(),
      };
    },
  ],
];

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(SUBJECTS)('the histogram on %s', (_name, open) => {
  it('reads whole days and hours of logins from the summary, the rest from the events', async () => {
    const { store, alter, close } = await open();
    try {
      await store.migrate();
      await store.append(EVENTS, { id: 'cf-main/access_requests', value: {} });
      const histogram = (text: string, bucketMs: number): Promise<unknown> =>
        store.histogram({ filter: parseQuery(text), fromMs: FROM, toMs: TO, bucketMs });
      // Exact before anything is altered.
      expect(await histogram('', DAY)).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY, count: 2 },
      ]);
      await alter(`UPDATE summary_days SET n = n + 100 WHERE dim = 'total';
        UPDATE summary_hours SET n = n + 10 WHERE dim = 'total';
        UPDATE summary_days SET n = n + 1000 WHERE dim = 'app'`);
      // Days of whole-day buckets from day rows, the partial hour from the events, the audit entry from the events.
      expect(await histogram('', DAY)).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY, count: 102 },
      ]);
      // Hour buckets from hour rows; the login of the partial first hour is not read from its hour row.
      expect(await histogram('', HOUR)).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY + 3 * HOUR, count: 11 },
        { startMs: START + DAY + 4 * HOUR, count: 1 },
      ]);
      // Buckets under an hour, and queries the summary cannot answer, count the events alone.
      expect(await histogram('', 15 * MINUTE)).toHaveLength(3);
      expect((await histogram('activity:logon', DAY)) as unknown[]).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY, count: 2 },
      ]);
      // An application filter reads that application's rows, not the totals.
      expect(await histogram('class_uid:3002 AND app:WIKI', DAY)).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY, count: 1001 },
      ]);
      // A user filter counts the user's events, which an index of the events finds.
      expect(await histogram('user:ALICE@example.com', DAY)).toEqual([
        { startMs: START, count: 1 },
        { startMs: START + DAY, count: 2 },
      ]);
    } finally {
      await close();
    }
  });

  it('keeps exact counts while several appends add to the same hours, users and apps at once', async () => {
    const { store, close } = await open();
    try {
      await store.migrate();
      // Four writers, each with its own events in the same few hours, in an order of their own.
      const writers = [0, 1, 2, 3].map((writer) =>
        Array.from({ length: 300 }, (_, index) => {
          const spread = (index * 7919 + writer * 104_729) % 300;
          return {
            ...event(writer * 1000 + index, START + DAY + spread * 37_000),
            user: `user${String(spread % 9)}@example.com`,
            app: spread % 2 === 0 ? 'Wiki' : 'wiki',
          };
        }),
      );
      await Promise.all(
        writers.map(async (events, writer) => {
          for (let at = 0; at < events.length; at += 25) {
            await store.append(events.slice(at, at + 25), { id: `cf-main/w${String(writer)}`, value: { at } });
          }
        }),
      );
      const histogram = await store.histogram({ filter: null, fromMs: START, toMs: START + 3 * DAY, bucketMs: DAY });
      expect(histogram).toEqual([{ startMs: START + DAY, count: 1200 }]);
      const dashboard = await store.dashboard({ fromMs: START, toMs: START + 3 * DAY, limit: 10 });
      expect(dashboard.totals.total).toBe(1200);
      expect(dashboard.apps.map((count) => [count.key.toLowerCase(), count.total])).toEqual([['wiki', 1200]]);
      expect(dashboard.users.reduce((sum, count) => sum + count.total, 0)).toBe(1200);
    } finally {
      await close();
    }
  });
});
