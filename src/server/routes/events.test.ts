import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import { SEARCH_FIELDS } from '../../store/search-query.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';
import { bucketWidthFor } from './events.js';

// The fixture's clock reads 2026-11-25T12:00:00Z.
const NOW = Date.UTC(2026, 10, 25, 12);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function access(n: number, time: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
    time,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'alice@example.com',
    srcIp: '192.0.2.10',
    country: 'us',
    app: 'Wiki',
    appUid: 'app-1',
    idp: 'okta',
    rayId: `ray${n}`,
    ocsf: {},
    raw: {},
    ...overrides,
  };
}

interface Histogram {
  readonly from: string;
  readonly to: string;
  readonly bucketMs: number;
  readonly total: number;
  readonly buckets: readonly { readonly start: string; readonly count: number }[];
}

describe('Explore routes: histogram, fields and query check', () => {
  let fixture: ServerFixture;
  let cookie: string;

  beforeAll(async () => {
    fixture = await startServerFixture();
    await fixture.app.store.append(
      [
        access(1, NOW - 23 * HOUR - 5 * MINUTE),
        access(2, NOW - 2 * HOUR - 10 * MINUTE, { outcome: 'failure' }),
        access(3, NOW - 2 * HOUR - 1 * MINUTE, { outcome: 'failure' }),
        access(4, NOW - 30 * MINUTE),
        // Outside the default 24 hours.
        access(5, NOW - 30 * HOUR),
      ],
      { id: 'cf/access_requests', value: {} },
    );
    cookie = (await login(fixture.server, 'viewer')).cookie;
  });
  afterAll(async () => fixture.close());

  async function get<T>(url: string, expectedStatus = 200): Promise<T> {
    const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie } });
    expect(res.statusCode, res.body).toBe(expectedStatus);
    return res.json<T>();
  }

  it('counts the last 24 hours in 15-minute buckets by default, with empty buckets as zero', async () => {
    const body = await get<Histogram>('/api/histogram');
    expect(body.bucketMs).toBe(15 * MINUTE);
    expect(body.from).toBe(new Date(NOW - 24 * HOUR).toISOString());
    expect(body.to).toBe(new Date(NOW).toISOString());
    expect(body.total).toBe(4);
    expect(body.buckets).toHaveLength(96);
    expect(body.buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(4);
    const nonEmpty = body.buckets.filter((bucket) => bucket.count > 0);
    expect(nonEmpty).toEqual([
      { start: new Date(NOW - 23 * HOUR - 15 * MINUTE).toISOString(), count: 1 },
      { start: new Date(NOW - 2 * HOUR - 15 * MINUTE).toISOString(), count: 2 },
      { start: new Date(NOW - 30 * MINUTE).toISOString(), count: 1 },
    ]);
  });

  it('applies the query and an absolute range, and refuses a range that ends before it starts', async () => {
    const from = new Date(NOW - 3 * HOUR).toISOString();
    const to = new Date(NOW - HOUR).toISOString();
    const body = await get<Histogram>(
      `/api/histogram?q=${encodeURIComponent('outcome:failure')}&from=${from}&to=${to}`,
    );
    expect(body.bucketMs).toBe(MINUTE);
    expect(body.buckets).toHaveLength(120);
    expect(body.total).toBe(2);
    expect(body.buckets.filter((bucket) => bucket.count > 0).map((bucket) => bucket.start)).toEqual([
      new Date(NOW - 2 * HOUR - 10 * MINUTE).toISOString(),
      new Date(NOW - 2 * HOUR - MINUTE).toISOString(),
    ]);

    const backwards = await get<{ error: { code: string } }>(`/api/histogram?from=${to}&to=${from}`, 400);
    expect(backwards.error.code).toBe('TIME_INVALID');
    const backwardsSearch = await get<{ error: { code: string; message: string } }>(
      `/api/events?from=${to}&to=${from}`,
      400,
    );
    expect(backwardsSearch.error).toMatchObject({
      code: 'TIME_INVALID',
      message: expect.stringMatching(/^The period is empty: from/) as string,
    });
    const repeated = await get<{ error: { code: string; message: string } }>(`/api/events?limit=1&limit=2`, 400);
    expect(repeated.error.message).toBe('The request is invalid: query.limit: given more than once; give it once.');
    // Number() would read these as 16, 100, 3 and 0.
    for (const [limit, shown] of [
      ['0x10', '"0x10"'],
      ['1e2', '"1e2"'],
      ['%203', '" 3"'],
      ['', 'empty text'],
    ] as const) {
      const odd = await get<{ error: { code: string; message: string } }>(`/api/events?limit=${limit}`, 400);
      expect(odd.error.message, limit).toBe(
        `The request is invalid: query.limit: not a number: expected a whole number written in digits, got ${shown}.`,
      );
    }
    // A relative time beyond the years a date holds once failed the histogram with a 500.
    for (const far of ['from=-200000000d', 'to=%2B200000000d']) {
      const tooFar = await get<{ error: { code: string; message: string } }>(`/api/histogram?${far}`, 400);
      expect(tooFar.error.code, far).toBe('TIME_INVALID');
    }
    const bad = await get<{ error: { code: string; details: { column: number } } }>(
      `/api/histogram?q=${encodeURIComponent('outcome:failure AND (')}`,
      400,
    );
    expect(bad.error.code).toBe('QUERY_SYNTAX');
  });

  it('chooses round bucket widths that keep a range to at most 120 bars', () => {
    expect(bucketWidthFor(15 * MINUTE)).toBe(10_000);
    expect(bucketWidthFor(HOUR)).toBe(30_000);
    expect(bucketWidthFor(7 * 24 * HOUR)).toBe(2 * HOUR);
    expect(bucketWidthFor(180 * 24 * HOUR)).toBe(2 * 24 * HOUR);
    expect(bucketWidthFor(100 * 365 * 24 * HOUR) / (24 * HOUR)).toBe(305);
    for (const span of [1, 999, 61_000, 5 * HOUR, 40 * 24 * HOUR, 10_000 * 24 * HOUR]) {
      expect(Math.ceil(span / bucketWidthFor(span))).toBeLessThanOrEqual(120);
    }
  });

  it('lists every field of the query language with a description, a type and its aliases', async () => {
    const body = await get<{ fields: { name: string; type: string; description: string; aliases: string[] }[] }>(
      '/api/fields',
    );
    expect(body.fields.map((field) => field.name).sort()).toEqual([...SEARCH_FIELDS].sort());
    for (const field of body.fields) expect(field.description.length).toBeGreaterThan(10);
    expect(body.fields.find((field) => field.name === 'src_ip')).toMatchObject({ type: 'ip' });
    expect(body.fields.find((field) => field.name === 'user')?.aliases).toContain('email');
  });

  it('checks a query and points at the column of its first problem', async () => {
    expect(await get(`/api/query/check?q=${encodeURIComponent('user:alice* AND outcome:failure')}`)).toEqual({
      valid: true,
      error: null,
    });
    expect(await get('/api/query/check?q=')).toEqual({ valid: true, error: null });
    const unknown = await get<{ valid: boolean; error: { code: string; column: number; message: string } }>(
      `/api/query/check?q=${encodeURIComponent('outcome:failure AND colour:red')}`,
    );
    expect(unknown).toMatchObject({ valid: false, error: { code: 'QUERY_FIELD_UNKNOWN', column: 21 } });
    expect(unknown.error.message).toContain('colour');
    const unclosed = await get<{ valid: boolean; error: { code: string; column: number } }>(
      `/api/query/check?q=${encodeURIComponent('(user:a')}`,
    );
    expect(unclosed).toMatchObject({ valid: false, error: { code: 'QUERY_SYNTAX' } });
  });
});

describe('a period with a start and no end ends now, on every route that reads one', () => {
  let fixture: ServerFixture;
  let viewer: string;
  let admin: string;

  beforeAll(async () => {
    fixture = await startServerFixture();
    await fixture.app.store.append(
      [
        access(1, NOW - HOUR),
        // Stamped ahead of this clock, as an event from a clock running fast is.
        access(2, NOW + 10 * MINUTE),
      ],
      { id: 'cf/access_requests', value: {} },
    );
    viewer = (await login(fixture.server, 'viewer')).cookie;
    admin = (await login(fixture.server, 'admin')).cookie;
  });
  afterAll(async () => fixture.close());

  async function get<T>(url: string, cookie: string, expectedStatus: number): Promise<T> {
    const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie } });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(expectedStatus);
    return res.json<T>();
  }

  it.each(['%2B1d', 'now', '2026-11-26T00:00:00Z'])(
    'refuses from=%s without to as an empty period, on search, counts, histogram, dashboard and export',
    async (from) => {
      const fromIso = new Date(from === 'now' ? NOW : from === '%2B1d' ? NOW + 24 * HOUR : Date.parse(from));
      const expected = {
        code: 'TIME_INVALID',
        message: `The period is empty: from (${fromIso.toISOString()}) is not before now (${new Date(NOW).toISOString()}), where it ends when to is not given.`,
      };
      for (const url of [
        `/api/events?from=${from}`,
        `/api/aggregate?groupBy=user&from=${from}`,
        `/api/export?from=${from}`,
      ]) {
        const refused = await get<{ error: unknown }>(url, admin, 400);
        expect(refused.error, url).toMatchObject(expected);
      }
      // These two give `to` its default of now themselves; the period is refused all the same.
      for (const url of [`/api/histogram?from=${from}`, `/api/dashboard?from=${from}`]) {
        const refused = await get<{ error: { code: string } }>(url, admin, 400);
        expect(refused.error.code, url).toBe('TIME_INVALID');
      }
      // A refused export copies nothing out, so it is not in the audit trail either.
      const audit = await get<{ entries: { action: string }[] }>('/api/audit', admin, 200);
      expect(audit.entries.filter((entry) => entry.action === 'export')).toEqual([]);
    },
  );

  it('searches from a start to now when to is not given, and every stored event when neither is', async () => {
    type Found = { events: { id: string }[] };
    const ids = async (query: string): Promise<string[]> =>
      (await get<Found>(`/api/events?${query}`, viewer, 200)).events.map((event) => event.id);
    const past = access(1, NOW - HOUR).id;
    const ahead = access(2, NOW + 10 * MINUTE).id;
    expect(await ids('from=-1d')).toEqual([past]);
    expect(await ids('from=-1d')).toEqual(await ids('from=-1d&to=now'));
    expect(await ids('from=-1d&to=%2B1h')).toEqual([ahead, past]);
    // No period asked for: an event stamped ahead of the clock is still found, by id too.
    expect(await ids('')).toEqual([ahead, past]);
    expect(await ids(`q=${encodeURIComponent(`id:${ahead}`)}`)).toEqual([ahead]);
    const counted = await get<{ buckets: { key: string; count: number }[] }>(
      '/api/aggregate?groupBy=user&from=-1d',
      viewer,
      200,
    );
    expect(counted.buckets).toEqual([{ key: 'alice@example.com', count: 1 }]);
  });
});

describe('following new events over HTTP', () => {
  let fixture: ServerFixture;
  let cookie: string;

  beforeAll(async () => {
    fixture = await startServerFixture();
    cookie = (await login(fixture.server, 'viewer')).cookie;
  });
  afterAll(async () => fixture.close());

  interface Followed {
    readonly events: readonly { readonly id: string }[];
    readonly next: string | null;
    readonly more: boolean;
  }

  async function follow(query: string): Promise<Followed> {
    const res = await fixture.server.inject({ method: 'GET', url: `/api/events/follow?${query}`, headers: { cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Followed>();
  }

  async function browse(after: string | null): Promise<{ events: { id: string }[]; nextPage: string | null }> {
    const url = `/api/events?order=asc&limit=4${after === null ? '' : `&after=${after}`}`;
    const res = await fixture.server.inject({ method: 'GET', url, headers: { cookie } });
    return res.json<{ events: { id: string }[]; nextPage: string | null }>();
  }

  it('gives a poller every event once while same-millisecond bursts and late events are stored', async () => {
    let n = 100;
    const stored: string[] = [];
    // Ids out of storing order, as content hashes are: a burst at one millisecond, and events an hour late.
    const append = async (): Promise<void> => {
      const events = Array.from({ length: 9 }, (_, index) => {
        n += 1;
        const time = index < 6 ? NOW : NOW - HOUR + n;
        return access(n, time, { id: `${String((n * 7919) % 100_003).padStart(6, '0')}-${n}` });
      });
      await fixture.app.store.append(events, { id: 'cf/access_requests', value: {} });
      stored.push(...events.map((event) => event.id));
    };
    await append();
    const seen: string[] = [];
    let token = '';
    // A time-ordered reader beside it, as scripts used to follow, to show what that loses.
    const paged: string[] = [];
    let page: string | null = null;
    for (let round = 0; round < 12; round += 1) {
      const read = await follow(`limit=4${token === '' ? '' : `&after=${token}`}`);
      expect(read.next).not.toBeNull();
      seen.push(...read.events.map((event) => event.id));
      token = read.next ?? '';
      const browsed = await browse(page);
      page = browsed.nextPage ?? page;
      await append();
    }
    for (let read = await follow(`limit=1000&after=${token}`); ; read = await follow(`limit=1000&after=${token}`)) {
      seen.push(...read.events.map((event) => event.id));
      token = read.next ?? '';
      if (!read.more) break;
    }
    expect(seen).toHaveLength(stored.length);
    expect(new Set(seen)).toEqual(new Set(stored));
    expect(new Set(paged).size).toBeLessThan(stored.length);
    // Caught up: the token still resumes, and picks up what is stored next.
    const idle = await follow(`after=${token}`);
    expect(idle).toEqual({ events: [], next: token, more: false });
    await append();
    expect((await follow(`after=${token}`)).events.map((event) => event.id)).toEqual(stored.slice(-9));
  });

  it('filters with the query language and starts at the end of the store with start=latest', async () => {
    const latest = await follow('start=latest');
    expect(latest.events).toEqual([]);
    await fixture.app.store.append(
      [access(900, NOW - 5 * MINUTE, { outcome: 'failure' }), access(901, NOW - 4 * MINUTE)],
      { id: 'cf/access_requests', value: {} },
    );
    const failures = await follow(`q=outcome%3Afailure&after=${latest.next ?? ''}`);
    expect(failures.events.map((event) => event.id)).toEqual([access(900, NOW - 5 * MINUTE).id]);
    const refused = await fixture.server.inject({
      method: 'GET',
      url: '/api/events/follow?after=bm90LWEtdG9rZW4',
      headers: { cookie },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('QUERY_VALUE_INVALID');
  });
});

describe('an export in progress', () => {
  let fixture: ServerFixture;
  let admin: { cookie: string; csrfToken: string };
  const TOTAL = 6_000;

  beforeAll(async () => {
    fixture = await startServerFixture();
    const events = Array.from({ length: TOTAL }, (_, index) => access(index, NOW - HOUR + index));
    await fixture.app.store.append(events, { id: 'cf/access_requests', value: {} });
    admin = await login(fixture.server, 'admin');
  });
  afterAll(async () => fixture.close());

  const asAdmin = (): Record<string, string> => ({ cookie: admin.cookie, 'x-csrf-token': admin.csrfToken });

  async function exportAudit(): Promise<{ outcome: string; details: Readonly<Record<string, unknown>> }[]> {
    const entries = await fixture.auth.listAudit({ limit: 100 });
    return entries.filter((entry) => entry.action === 'export').reverse();
  }

  // Reads the first chunk of a streamed export, runs `revoke`, lets the clock pass the re-check interval, then
  // reads on; returns the lines received and whether the download ended cut off.
  async function slowExport(
    headers: Record<string, string>,
    revoke: () => Promise<void>,
  ): Promise<{ lines: number; cutOff: boolean }> {
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/export?format=ndjson',
      headers,
      payloadAsStream: true,
    });
    expect(res.statusCode).toBe(200);
    let text = '';
    let cutOff = false;
    let revoked = false;
    try {
      for await (const chunk of res.stream()) {
        text += String(chunk);
        if (!revoked) {
          revoked = true;
          await revoke();
          fixture.clock.advance(2_000);
        }
      }
    } catch {
      cutOff = true;
    }
    return { lines: text.split('\n').filter((line) => line !== '').length, cutOff };
  }

  it('stops streaming once its API key is revoked, and records the stop', async () => {
    const created = await fixture.server.inject({
      method: 'POST',
      url: '/api/apikeys',
      headers: asAdmin(),
      payload: { user: 'analyst', label: 'export script' },
    });
    const { key, apiKey } = created.json<{ key: string; apiKey: { id: number } }>();
    const bearer = { authorization: `Bearer ${key}` };
    const whole = await slowExport(bearer, () => Promise.resolve());
    expect(whole).toEqual({ lines: TOTAL, cutOff: false });

    const cut = await slowExport(bearer, async () => {
      const res = await fixture.server.inject({
        method: 'DELETE',
        url: `/api/apikeys/${apiKey.id}`,
        headers: asAdmin(),
      });
      expect(res.statusCode).toBe(200);
    });
    expect(cut.cutOff).toBe(true);
    // The chunk read, one waiting in the response and one read ahead went out already; nothing after the check.
    expect(cut.lines).toBeLessThanOrEqual(3 * 1000);
    const last = (await exportAudit()).at(-1);
    expect(last).toMatchObject({ outcome: 'failure', details: { stopped: 'AUTH_REQUIRED', format: 'ndjson' } });
  });

  it("stops streaming once the user's role no longer exports", async () => {
    const analyst = await login(fixture.server, 'analyst');
    const cut = await slowExport({ cookie: analyst.cookie }, async () => {
      const res = await fixture.server.inject({
        method: 'POST',
        url: '/api/users/analyst/role',
        headers: asAdmin(),
        payload: { role: 'viewer' },
      });
      expect(res.statusCode).toBe(200);
    });
    expect(cut.cutOff).toBe(true);
    expect(cut.lines).toBeLessThanOrEqual(3 * 1000);
    expect((await exportAudit()).at(-1)).toMatchObject({ outcome: 'failure', details: { stopped: 'AUTH_FORBIDDEN' } });
  });

  it('answers HEAD without reading events or recording an export', async () => {
    const before = (await exportAudit()).length;
    const res = await fixture.server.inject({ method: 'HEAD', url: '/api/export?format=csv', headers: asAdmin() });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.body).toBe('');
    expect(await exportAudit()).toHaveLength(before);
  });
});
