import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../../../test/helpers/postgres.js';
import { storeContractSuite } from '../contract.suite.js';
import type { Store } from '../store.js';
import { PostgresStore } from './store.js';

const schemas = new TestSchemas('store');
const urlOf = new WeakMap<object, string>();

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
});

storeContractSuite(
  'PostgresStore',
  async () => {
    const url = schemas.url();
    const store = await PostgresStore.open({ url, poolSize: 4, deleteChunkSize: 7 });
    urlOf.set(store, url);
    return store;
  },
  {
    reopen: async (store) => {
      const url = urlOf.get(store);
      if (url === undefined) throw new Error('store opened outside the suite');
      await store.close();
      return PostgresStore.open({ url });
    },
  },
);

const JAN = Date.UTC(2024, 0, 15);
const MAR = Date.UTC(2024, 2, 10);
const MAY = Date.UTC(2024, 4, 2);

function event(id: string, time: number): NormalizedEvent {
  return {
    id,
    time,
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
    ocsf: { class_uid: 3002 },
    raw: { id },
  };
}

async function partitions(url: string): Promise<string[]> {
  const schema = new URL(url).searchParams.get('schema');
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query<{ name: string }>(
      `SELECT child.relname AS name FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        JOIN pg_namespace ns ON ns.oid = parent.relnamespace
        WHERE parent.relname = 'events' AND ns.nspname = $1 ORDER BY 1`,
      [schema],
    );
    return result.rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe('PostgresStore on PostgreSQL', () => {
  const opened: Store[] = [];
  const open = async (url: string): Promise<PostgresStore> => {
    const store = await PostgresStore.open({ url, deleteChunkSize: 2 });
    opened.push(store);
    return store;
  };

  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  it('keeps events in one partition per UTC month, created by the append that needs it', async () => {
    const url = schemas.url();
    const store = await open(url);
    await store.migrate();
    expect(await partitions(url)).toEqual([]);
    await store.append([event('j1', JAN), event('m1', MAR), event('m2', MAR + 1)], { id: 'c', value: {} });
    expect(await partitions(url)).toEqual(['events_p202401', 'events_p202403']);
  });

  it('drops whole months for retention and deletes rows only in the month of the cut-off', async () => {
    const url = schemas.url();
    const store = await open(url);
    await store.migrate();
    await store.append(
      [event('j1', JAN), event('j2', JAN + 1), event('m1', MAR), event('m2', MAR + 5), event('y1', MAY)],
      { id: 'c', value: {} },
    );
    expect(await store.deleteEventsBefore(MAR + 1)).toBe(3);
    expect(await partitions(url)).toEqual(['events_p202403', 'events_p202405']);
    const left = await store.search({ filter: null, order: 'asc' }, { limit: 10 });
    expect(left.events.map((item) => item.id)).toEqual(['m2', 'y1']);
    // The ids went with their events, so the same events can be stored again.
    expect(await store.append([event('j1', JAN)], { id: 'c', value: {} })).toMatchObject({ inserted: 1, duplicates: 0 });
  });

  it('never stores one id twice, even with another time in another month', async () => {
    const url = schemas.url();
    const store = await open(url);
    await store.migrate();
    await store.append([event('same', JAN)], { id: 'c', value: {} });
    expect(await store.append([event('same', MAY)], { id: 'c', value: {} })).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await store.count({ filter: null })).toBe(1);
  });

  it('stores each event once when two nodes append overlapping batches at the same time', async () => {
    const url = schemas.url();
    const first = await open(url);
    const second = await open(url);
    await Promise.all([first.migrate(), second.migrate()]);
    const batch = Array.from({ length: 200 }, (_, index) => event(`c${index}`, JAN + index * 86_400_000));
    const results = await Promise.all([
      first.append(batch, { id: 'c', value: { node: 1 } }),
      second.append([...batch].reverse(), { id: 'c', value: { node: 2 } }),
    ]);
    expect(results.reduce((sum, result) => sum + result.inserted, 0)).toBe(200);
    expect(await first.count({ filter: null })).toBe(200);
    // Each stored event got one number, both nodes' events in one sequence.
    const numbered = await second.eventsAfter(0, 1_000);
    expect(numbered).toHaveLength(200);
    expect(new Set(numbered.map((row) => row.seq)).size).toBe(200);
    expect(new Set(numbered.map((row) => row.event.id)).size).toBe(200);
  });

  it('keeps planner statistics of a month that grew, so a ray id is found through its index', async () => {
    const url = schemas.url();
    const store = await open(url);
    await store.migrate();
    const batch = Array.from({ length: 1_500 }, (_, index) => event(`s${index}`, JAN + index));
    await store.append(batch, { id: 'c', value: {} });
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      // ANALYZE writes the row estimate into the catalogue; before it, a new partition has none (-1).
      const stats = await client.query<{ reltuples: number }>(
        `SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = 'events_p202401'`,
        [new URL(url).searchParams.get('schema')],
      );
      expect(stats.rows[0]?.reltuples).toBeGreaterThan(1_000);
    } finally {
      await client.end();
    }
  });

  it('says where and why when the server cannot be reached', async () => {
    const attempt = PostgresStore.open({ url: 'postgres://postgres:hunter2@127.0.0.1:1/test' });
    await expect(attempt).rejects.toMatchObject({ code: 'STORE_OPEN_FAILED' });
    await expect(attempt).rejects.toThrow(/127\.0\.0\.1:1\/test/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });
});
