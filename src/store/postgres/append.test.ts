import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent, Outcome } from '../../core/event.js';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../../../test/helpers/postgres.js';
import { EventImport } from './bulk-import.js';
import { EVENT_INSERT_ROWS } from './queries.js';
import { PostgresStore } from './store.js';

const schemas = new TestSchemas('append');
const START = Date.UTC(2024, 4, 30, 22);
const USERS = ['alice@example.com', 'ALICE@example.com', 'bob@example.com', null, 'Zoë@example.com'];
const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'unknown', 'success'];

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
});

function event(index: number, prefix = 'e'): NormalizedEvent {
  // About one event every seven minutes across a month's end, so the batch spans hours, days and two partitions.
  const time = START + index * 421_000;
  const login = index % 6 !== 4;
  return {
    id: `${prefix}-${String(index).padStart(5, '0')}`,
    time,
    sourceName: index % 3 === 0 ? 'cf-second' : 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: login ? 'access_requests' : 'audit_logs',
    classUid: login ? 3002 : 6003,
    activity: login ? 'logon' : 'update',
    outcome: OUTCOMES[index % OUTCOMES.length] ?? 'unknown',
    user: USERS[index % USERS.length] ?? null,
    srcIp: '192.0.2.10',
    country: index % 4 === 0 ? null : index % 2 === 0 ? 'US' : 'us',
    app: index % 5 === 0 ? 'Wiki' : 'wiki',
    appUid: null,
    idp: index % 7 === 0 ? null : 'Okta',
    rayId: `ray${index}`,
    // Quotes, backslashes and a NUL: the bodies travel as parameters of their own and must come back exactly.
    ocsf: { class_uid: login ? 3002 : 6003, note: `say "hi" \\ ${index}\u0000` },
    raw: { index, path: 'C:\\temp\\"x"' },
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const schema = new URL(url).searchParams.get('schema') ?? 'public';
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DIMS = `(VALUES ('total', ''::text COLLATE "C"), ('user', user_name), ('app', app), ('country', country),
  ('idp', idp), ('activity', activity)) AS dims (dim, key)`;

/** Each summary table next to the same rows counted again from the stored events. */
async function summaryAgainstEvents(url: string): Promise<{ stored: unknown[]; counted: unknown[] }[]> {
  return withClient(url, async (client) => {
    const compared = [];
    for (const [table, ms] of [
      ['summary_hours', HOUR],
      ['summary_days', DAY],
    ] as const) {
      const stored = await client.query(
        `SELECT dim, period, source, key, outcome, n FROM ${table} ORDER BY dim, period, source, lower(key), outcome`,
      );
      const counted = await client.query(
        `SELECT dim, time - ((time % ${ms}) + ${ms}) % ${ms} AS period, source, min(dims.key) AS key,
            lower(outcome) AS outcome, count(*)::bigint AS n
          FROM events CROSS JOIN LATERAL ${DIMS}
          WHERE class_uid = 3002 AND dims.key IS NOT NULL
          GROUP BY dim, 2, source, lower(dims.key), lower(outcome) ORDER BY dim, 2, source, lower(min(dims.key)), 5`,
      );
      compared.push({ stored: stored.rows, counted: counted.rows });
    }
    const seen = await client.query(
      'SELECT dim, source, key, first_ms FROM summary_first_seen ORDER BY dim, source, lower(key)',
    );
    const first = await client.query(
      `SELECT dim, source, min(dims.key) AS key, min(time) AS first_ms FROM events CROSS JOIN LATERAL ${DIMS}
        WHERE class_uid = 3002 AND dims.key IS NOT NULL AND dim IN ('user', 'app', 'country')
        GROUP BY dim, source, lower(dims.key) ORDER BY dim, source, lower(min(dims.key))`,
    );
    compared.push({ stored: seen.rows, counted: first.rows });
    return compared;
  });
}

describe('PostgreSQL append path', () => {
  const opened: PostgresStore[] = [];
  const open = async (url: string): Promise<PostgresStore> => {
    const store = await PostgresStore.open({ url });
    opened.push(store);
    await store.migrate();
    return store;
  };

  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  it('stores a batch of several INSERT chunks once each, in batch order, with exact summaries', async () => {
    const url = schemas.url();
    const store = await open(url);
    const size = 2 * EVENT_INSERT_ROWS + 37;
    const batch = Array.from({ length: size }, (_, index) => event(index));
    // Some events are already stored, and the batch repeats some of its own ids with other bodies.
    await store.append(batch.slice(100, 130), { id: 'cf-main/access_requests', value: { at: 0 } });
    const repeated = batch.slice(200, 210).map((item) => ({ ...item, raw: { copy: true } }));
    const result = await store.append([...batch, ...repeated], { id: 'cf-main/access_requests', value: { at: 1 } });
    expect(result).toMatchObject({ inserted: size - 30, duplicates: 40 });
    expect(await store.cursor('cf-main/access_requests')).toEqual({ at: 1 });

    const page = await store.search({ filter: null, order: 'asc' }, { limit: 10_000 });
    expect(page.events).toEqual(batch);
    // Numbers follow the batch: the 30 stored first, then the others in the order they came.
    const numbered = await store.eventsAfter(0, 10_000);
    expect(numbered.map((row) => row.event.id)).toEqual([
      ...batch.slice(100, 130).map((item) => item.id),
      ...batch.filter((_, index) => index < 100 || index >= 130).map((item) => item.id),
    ]);
    expect(numbered.map((row) => row.seq)).toEqual(numbered.map((_, index) => (numbered[0]?.seq ?? 0) + index));

    // The named statement of a full chunk is parsed once per connection and serves the next appends too.
    const more = Array.from({ length: EVENT_INSERT_ROWS + 1 }, (_, index) => event(index, 'm'));
    expect(await store.append(more, { id: 'cf-main/access_requests', value: { at: 2 } })).toMatchObject({
      inserted: more.length,
      duplicates: 0,
    });
    for (const { stored, counted } of await summaryAgainstEvents(url)) expect(stored).toEqual(counted);
  });

  it('keeps summaries exact when two nodes append overlapping batches at the same time', async () => {
    const url = schemas.url();
    const [first, second] = [await open(url), await open(url)];
    const batch = Array.from({ length: EVENT_INSERT_ROWS + 120 }, (_, index) => event(index));
    const results = await Promise.all([
      first.append(batch, { id: 'a', value: {} }),
      second.append([...batch].reverse(), { id: 'b', value: {} }),
      first.append(batch.slice(50, 400), { id: 'c', value: {} }),
    ]);
    expect(results.reduce((sum, item) => sum + item.inserted, 0)).toBe(batch.length);
    expect(await second.count({ filter: null })).toBe(batch.length);
    for (const { stored, counted } of await summaryAgainstEvents(url)) expect(stored).toEqual(counted);
  });

  it('counts the events a store migrate chunk copies into the summaries, once', async () => {
    const url = schemas.url();
    const store = await open(url);
    const copied = Array.from({ length: 300 }, (_, index) => event(index, 'i')).map((item, index) => ({
      seq: index + 1,
      id: item.id,
      time: item.time,
      source: item.sourceName,
      accountId: item.accountId,
      dataset: item.dataset,
      classUid: item.classUid,
      activity: item.activity,
      outcome: item.outcome,
      userName: item.user,
      srcIp: item.srcIp,
      ipKey: null,
      country: item.country,
      app: item.app,
      appUid: item.appUid,
      idp: item.idp,
      rayId: item.rayId,
      ocsf: JSON.stringify(item.ocsf),
      raw: JSON.stringify(item.raw),
    }));
    const client = await store.pool.connect();
    try {
      const writer = new EventImport();
      await client.query('BEGIN');
      expect(await writer.write(client, copied.slice(0, 200))).toBe(200);
      // A resumed chunk overlapping the last one adds only what it stored.
      expect(await writer.write(client, copied.slice(150))).toBe(100);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    for (const { stored, counted } of await summaryAgainstEvents(url)) expect(stored).toEqual(counted);
  });

  it('keeps no trigger on the events table', async () => {
    const url = schemas.url();
    await open(url);
    const triggers = await withClient(url, async (client) =>
      client.query(
        `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND (tgrelid = 'events'::regclass
          OR tgrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass))`,
      ),
    );
    expect(triggers.rows).toEqual([]);
  });
});
