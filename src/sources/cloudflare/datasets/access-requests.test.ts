import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import { silentLogger } from '../../../core/logger.js';
import { Metrics } from '../../../core/metrics.js';
import { Secret } from '../../../core/secret.js';
import type { RawPage, SourceCursor } from '../../source.js';
import {
  envelope,
  failure,
  startFixtureServer,
  type FixtureHandler,
  type FixtureServer,
} from '../../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../../test/helpers/openapi.js';
import { CloudflareClient } from '../client.js';
import { parseTimestamp } from '../parse-timestamp.js';
import { RateBudget } from '../rate-budget.js';
import { normalizeAccessRequest } from '../../../normalize/cloudflare/access-requests.js';
import { NormalizedPage } from '../../../pipeline/normalized-page.js';
import { SqliteStore } from '../../../store/sqlite/store.js';
import { AccessRequestsSource, type AccessRequestsCursor } from './access-requests.js';

const ACCOUNT_ID = 'fedcba9876543210fedcba9876543210';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;

interface LogRecord {
  readonly created_at: string;
  readonly ray_id: string;
  readonly action: string;
  readonly allowed: boolean;
  readonly app_uid: string;
  readonly user_email: string;
  readonly [vendor: string]: unknown;
}

let serial = 0;
function record(createdMs: number, extra: Readonly<Record<string, unknown>> = {}): LogRecord {
  serial++;
  return {
    created_at: new Date(createdMs).toISOString(),
    ray_id: `7d${serial.toString(16).padStart(14, '0')}`,
    action: 'login',
    allowed: true,
    app_uid: '11111111-2222-4333-8444-555555555555',
    user_email: `user${serial}@example.com`,
    ...extra,
  };
}

/**
 * Answers like the documented endpoint: created_at within [since, until] (both inclusive), ascending and stable
 * within a timestamp, `page`/`per_page` offset paging, `limit` capping the page. `visible` decides which records
 * the API shows at a given moment (late arrivals).
 */
function accessLogApi(
  records: readonly LogRecord[],
  visible: (r: LogRecord) => boolean = () => true,
  serverCap = Number.MAX_SAFE_INTEGER,
): FixtureHandler {
  return (request) => {
    const since = parseTimestamp(request.query.get('since') ?? '') ?? 0;
    const until = parseTimestamp(request.query.get('until') ?? '') ?? Number.MAX_SAFE_INTEGER;
    const perPage = Number(request.query.get('per_page') ?? '25');
    const limit = Number(request.query.get('limit') ?? '25');
    const page = Number(request.query.get('page') ?? '1');
    const matching = records
      .map((r, index) => ({ r, index, ms: parseTimestamp(r.created_at) ?? 0 }))
      .filter(({ r, ms }) => ms >= since && ms <= until && visible(r))
      .sort((a, b) => a.ms - b.ms || a.index - b.index)
      .map(({ r }) => r);
    const size = Math.min(perPage, limit, serverCap);
    return { body: envelope(matching.slice((page - 1) * size, page * size)) };
  };
}

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(
  options: { pageSize?: number; lookbackMs?: number; clock?: ManualClock; maxAttempts?: number } = {},
) {
  const server = await startFixtureServer();
  servers.push(server);
  const clock = options.clock ?? new ManualClock(NOW);
  const client = new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('test-token-for-access-requests'),
    timeoutMs: 5000,
    rateBudget: new RateBudget({ requests: 100_000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: silentLogger(),
    metrics: new Metrics(),
    clock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: options.maxAttempts ?? 1 },
  });
  const source = new AccessRequestsSource({
    client,
    clock,
    logger: silentLogger(),
    pageSize: options.pageSize ?? 3,
    lookbackMs: options.lookbackMs ?? 5 * MINUTE,
  });
  return { server, clock, source };
}

async function collect(pages: AsyncIterable<RawPage>): Promise<RawPage[]> {
  const out: RawPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

function rayIds(pages: readonly RawPage[]): string[] {
  return pages.flatMap((p) => p.records.map((r) => (r as LogRecord).ray_id));
}

function queries(server: FixtureServer): Record<string, string>[] {
  return server.requests.map((r) => Object.fromEntries(r.query));
}

function expectValidRequests(server: FixtureServer): void {
  for (const request of server.requests) expect(validateRequest(request.method, request.url)).toEqual([]);
}

const signal = (): AbortSignal => new AbortController().signal;

describe('AccessRequestsSource', () => {
  it('starts a backfill at the requested time', async () => {
    const { source } = await setup();
    expect(source.dataset).toBe('access_requests');
    expect(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE })).toEqual({
      since: '2026-03-01T11:00:00.000Z',
      page: 1,
      seen: [],
      scannedAt: '2026-03-01T11:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
  });

  it('sends the documented parameters in ascending time order', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0 });
    server.setFallback(accessLogApi([record(NOW - 30 * MINUTE)]));
    await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(server.requests[0]?.path).toBe(`/client/v4/accounts/${ACCOUNT_ID}/access/logs/access_requests`);
    expect(queries(server)[0]).toEqual({
      direction: 'asc',
      since: '2026-03-01T11:00:00.000Z',
      until: '2026-03-01T12:00:00.000Z',
      limit: '1000',
      page: '1',
      per_page: '1000',
    });
    expectValidRequests(server);
  });

  it('moves since to the last record of each full page and hands out every record once', async () => {
    const { server, source } = await setup({ pageSize: 3, lookbackMs: 0 });
    const records = Array.from({ length: 7 }, (_, i) => record(NOW - 50 * MINUTE + i * 1000));
    server.setFallback(accessLogApi(records));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(rayIds(pages)).toEqual(records.map((r) => r.ray_id));
    expect(queries(server).map((q) => [q['since'], q['page']])).toEqual([
      ['2026-03-01T11:00:00.000Z', '1'],
      [records[2]?.created_at, '1'],
      [records[4]?.created_at, '1'],
      [records[6]?.created_at, '1'],
    ]);
    // The last request returned only the boundary record: its page is yielded empty because the cursor moved.
    expect(pages.map((p) => p.records.length)).toEqual([3, 2, 2, 0]);
    expect(pages[1]?.nextCursor).toMatchObject({
      since: records[4]?.created_at,
      page: 1,
      scannedAt: '2026-03-01T12:00:00.000Z',
    });
    expect((pages[1]?.nextCursor as AccessRequestsCursor).seen).toHaveLength(1);
    // Every cursor keeps the backfill start, so no later lookback reaches before it.
    expect(pages.at(-1)?.nextCursor).toEqual({
      since: '2026-03-01T12:00:00.000Z',
      page: 1,
      seen: [],
      scannedAt: '2026-03-01T12:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
    expectValidRequests(server);
  });

  it('pages through a 2,500-record burst at one timestamp and hands out each record exactly once', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0 });
    const burstAt = NOW - 20 * MINUTE;
    const records = [
      record(burstAt - 1000),
      ...Array.from({ length: 2500 }, () => record(burstAt)),
      record(burstAt + 1000),
      record(burstAt + 2000),
    ];
    server.setFallback(accessLogApi(records));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    const ids = rayIds(pages);
    expect(ids).toHaveLength(records.length);
    expect(new Set(ids).size).toBe(records.length);
    expect(new Set(ids)).toEqual(new Set(records.map((r) => r.ray_id)));
    const burst = new Date(burstAt).toISOString();
    expect(queries(server).map((q) => [q['since'], q['page']])).toEqual([
      ['2026-03-01T11:00:00.000Z', '1'],
      [burst, '1'],
      [burst, '2'],
      [burst, '3'],
      // The last page was short of the 1000 asked: one more request from its last record confirms the end.
      [new Date(burstAt + 2000).toISOString(), '1'],
    ]);
    expectValidRequests(server);
  });

  it('resumes mid-burst from a committed cursor without losing or repeating records', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 5 * MINUTE });
    const burstAt = NOW - 20 * MINUTE;
    const records = [...Array.from({ length: 2500 }, () => record(burstAt)), record(burstAt + 5)];
    server.setFallback(accessLogApi(records));
    const first = source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal());
    const seen: string[] = [];
    let committed: SourceCursor | undefined;
    let count = 0;
    // Crash after the third page is stored.
    for await (const page of first) {
      seen.push(...page.records.map((r) => (r as LogRecord).ray_id));
      committed = page.nextCursor;
      if (++count === 3) break;
    }
    expect(committed).toMatchObject({ since: new Date(burstAt).toISOString(), page: 3 });
    const before = server.requests.length;
    const rest = await collect(source.pull(committed ?? {}, signal()));
    seen.push(...rayIds(rest));
    expect(seen.sort()).toEqual(records.map((r) => r.ray_id).sort());
    expect(queries(server)[before]).toMatchObject({ since: new Date(burstAt).toISOString(), page: '3' });
  });

  it('reads everything from an API that serves fewer records per page than asked', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0 });
    const records = Array.from({ length: 250 }, (_, i) => record(NOW - 50 * MINUTE + i * 1000));
    server.setFallback(accessLogApi(records, () => true, 100));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(rayIds(pages).sort()).toEqual(records.map((r) => r.ray_id).sort());
    expect(server.requests.length).toBeLessThanOrEqual(4);
  });

  it('asks for smaller pages when the API refuses as many as configured, and keeps to them on later pulls', async () => {
    const { server, source, clock } = await setup({ pageSize: 1000, lookbackMs: 0 });
    const records = Array.from({ length: 250 }, (_, i) => record(NOW - 50 * MINUTE + i * 1000));
    const api = accessLogApi(records);
    // A maximum Cloudflare does not document: anything above 100 is refused as a bad request.
    server.setFallback((request) =>
      Number(request.query.get('limit')) > 100
        ? { status: 400, body: failure([{ code: 1001, message: 'limit must be at most 100' }]) }
        : api(request),
    );
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(rayIds(pages)).toEqual(records.map((r) => r.ray_id));
    expect(server.requests.map((r) => r.query.get('limit'))).toEqual(['1000', '100', '100', '100', '100']);
    const requestsBefore = server.requests.length;
    clock.advance(MINUTE);
    await collect(source.pull(pages.at(-1)?.nextCursor ?? {}, signal()));
    expect(server.requests.slice(requestsBefore).map((r) => r.query.get('per_page'))).toEqual(['100']);
  });

  it('gives up with the refusal of the API when even the smallest page is refused', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0 });
    server.setFallback({ status: 400, body: failure([{ code: 1001, message: 'since is invalid' }]) });
    const error = await collect(
      source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SOURCE_REQUEST_REJECTED' });
    expect(server.requests.map((r) => r.query.get('limit'))).toEqual(['1000', '100', '25']);
  });

  it('ends the window at a short page and remembers the records at until', async () => {
    const { server, source, clock } = await setup({ pageSize: 10, lookbackMs: 0 });
    const atUntil = record(NOW);
    server.setFallback(accessLogApi([record(NOW - MINUTE), atUntil]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(pages).toHaveLength(1);
    // The page was short of the 10 asked, which an API with a smaller cap would also answer: one more request
    // from the last record finds nothing new and ends the pull.
    expect(server.requests).toHaveLength(2);
    const cursor = pages[0]?.nextCursor as AccessRequestsCursor;
    expect(cursor.since).toBe('2026-03-01T12:00:00.000Z');
    expect(cursor.seen).toHaveLength(1);

    // The next pull with no lookback starts at until and does not hand the record at until out again.
    clock.advance(MINUTE);
    const later = await collect(source.pull(cursor, signal()));
    expect(server.requests).toHaveLength(3);
    expect(queries(server)[2]).toMatchObject({ since: '2026-03-01T12:00:00.000Z', page: '1' });
    expect(rayIds(later)).toEqual([]);
    expect(later.at(-1)?.nextCursor).toMatchObject({ since: '2026-03-01T12:01:00.000Z' });
  });

  it('moves the cursor to until over a window that held nothing, so the next pull rereads only the lookback', async () => {
    const { server, source, clock } = await setup({ pageSize: 10, lookbackMs: 5 * MINUTE });
    server.setFallback(accessLogApi([]));
    const cursor = { since: '2026-03-01T11:00:00.000Z', page: 1, seen: [], scannedAt: '2026-03-01T11:00:00.000Z' };
    clock.set(NOW);
    const pages = await collect(source.pull(cursor, signal()));
    expect(pages).toEqual([
      {
        records: [],
        nextCursor: { since: '2026-03-01T12:00:00.000Z', page: 1, seen: [], scannedAt: '2026-03-01T12:00:00.000Z' },
        // The five minutes before 11:00 were read by the pull that ended there: what is new in them came late.
        reread: { readBeforeMs: NOW - 60 * MINUTE, readAtMs: NOW - 60 * MINUTE, lookbackMs: 5 * MINUTE },
      },
    ]);
    expect(server.requests).toHaveLength(1);

    clock.advance(MINUTE);
    expect(await collect(source.pull(pages[0]?.nextCursor ?? {}, signal()))).toHaveLength(1);
    expect(queries(server)[1]).toMatchObject({ since: '2026-03-01T11:55:00.000Z', until: '2026-03-01T12:01:00.000Z' });
  });

  it('never rereads before the backfill start, however soon after it the pulls come', async () => {
    const { server, source, clock } = await setup({ pageSize: 10, lookbackMs: 5 * MINUTE });
    const before = record(NOW - 2 * MINUTE);
    const after = [record(NOW + 30_000), record(NOW + 90_000)];
    server.setFallback(accessLogApi([before, ...after]));
    clock.set(NOW + MINUTE);
    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW }), signal()));
    expect(rayIds(first)).toEqual([after[0]?.ray_id]);
    clock.advance(MINUTE);
    const sent = server.requests.length;
    const second = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    // One lookback before the last scan would be NOW - 4 minutes; the backfill start comes first.
    expect(queries(server)[sent]).toMatchObject({ since: '2026-03-01T12:00:00.000Z' });
    expect(rayIds(second)).not.toContain(before.ray_id);
    // The lookback hands the first one out again (the store keeps it once); nothing from before the start.
    expect([...new Set(rayIds([...first, ...second]))].sort()).toEqual(after.map((r) => r.ray_id).sort());
    expect(second.at(-1)?.nextCursor).toMatchObject({ floor: '2026-03-01T12:00:00.000Z' });
  });

  it('rereads the lookback window so that late events are picked up', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 5 * MINUTE, clock });
    const onTime = record(NOW - 10 * MINUTE);
    const late = record(NOW - 2 * MINUTE, { late: true });
    const tooLate = record(NOW - 8 * MINUTE, { late: true });
    let lateVisible = false;
    server.setFallback(accessLogApi([onTime, late, tooLate], (r) => r['late'] !== true || lateVisible));

    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 30 * MINUTE }), signal()));
    expect(rayIds(first)).toEqual([onTime.ray_id]);

    // The late events become visible; the next pull, a minute later, rereads from 5 minutes before the last scan.
    lateVisible = true;
    clock.advance(MINUTE);
    const requestsBefore = server.requests.length;
    const second = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    expect(queries(server)[requestsBefore]).toMatchObject({
      since: '2026-03-01T11:55:00.000Z',
      until: '2026-03-01T12:01:00.000Z',
    });
    expect(rayIds(second)).toEqual([late.ray_id]);
    expectValidRequests(server);
  });

  it('compares timestamps with any offset and sub-millisecond digits in UTC', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 0 });
    // 11:30:00.123456789Z written with a +02:00 offset, twice (same instant), then one a microsecond later.
    const a = { ...record(0), created_at: '2026-03-01T13:30:00.123456789+02:00' };
    const b = { ...record(0), created_at: '2026-03-01T11:30:00.123000Z' };
    const c = { ...record(0), created_at: '2026-03-01T11:30:00.123001Z' };
    const d = { ...record(0), created_at: '2026-03-01T06:30:01-05:00' };
    server.setFallback(accessLogApi([a, b, c, d]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(new Set(rayIds(pages))).toEqual(new Set([a.ray_id, b.ray_id, c.ray_id, d.ray_id]));
    expect(rayIds(pages)).toHaveLength(4);
    expect(queries(server)[1]).toMatchObject({ since: '2026-03-01T11:30:00.123Z', page: '1' });
  });

  it('keeps unknown vendor fields untouched', async () => {
    const { server, source } = await setup({ pageSize: 10, lookbackMs: 0 });
    const r = record(NOW - MINUTE, {
      purpose_justification_response: 'on call',
      nested: { country: 'NL' },
      user_email: null,
    });
    server.setFallback(accessLogApi([r]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(pages[0]?.records).toEqual([r]);
  });

  it('hands out records without the fields the description leaves optional, or with them of another type', async () => {
    const { server, source } = await setup({ pageSize: 10, lookbackMs: 0 });
    const sparse: Record<string, unknown> = { ...record(NOW - 3 * MINUTE) };
    for (const key of ['ray_id', 'action', 'user_email', 'app_uid', 'allowed']) delete sparse[key];
    const oddTypes = record(NOW - 2 * MINUTE, { ray_id: 12345, action: ['login'], user_email: { a: 1 }, app_uid: 7 });
    const plain = record(NOW - MINUTE);
    server.setFallback(accessLogApi([sparse as unknown as LogRecord, oddTypes, plain]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(pages.flatMap((page) => page.records)).toEqual([sparse, oddTypes, plain]);
  });

  it('fails the page loudly when a record has no created_at', async () => {
    const { server, source } = await setup({ pageSize: 10, lookbackMs: 0 });
    const broken: Record<string, unknown> = { ...record(NOW - MINUTE) };
    delete broken['created_at'];
    server.setFallback({ body: envelope([record(NOW - 2 * MINUTE), broken]) });
    const error = await collect(
      source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('SOURCE_RESPONSE_INVALID');
    expect((error as SourceError).message).toContain('1.created_at: Invalid input: expected string');
    // A complete answer of the wrong shape is no proxy's doing; the hint says why the dataset waits there.
    expect((error as SourceError).hint).toContain('stays at this page rather than skip a record');

    server.setFallback({ body: envelope([record(NOW - 2 * MINUTE), { ...broken, created_at: 'yesterday' }]) });
    const unreadable = await collect(
      source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()),
    ).catch((e: unknown) => e);
    expect((unreadable as SourceError).message).toContain('1.created_at: expected an RFC 3339 date-time');
    expect((unreadable as SourceError).message).not.toContain('yesterday');
  });

  it('refuses a full page of repeats past page 1 instead of looping', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 0 });
    const t = NOW - 10 * MINUTE;
    const same = [record(t), record(t)];
    // An API that ignores `page` keeps answering with the same two records.
    server.setFallback({ body: envelope(same) });
    const cursor = { since: new Date(t).toISOString(), page: 1, seen: [], scannedAt: new Date(NOW).toISOString() };
    const error = await collect(source.pull(cursor, signal())).catch((e: unknown) => e);
    expect((error as SourceError).code).toBe('SOURCE_RESPONSE_INVALID');
    expect(server.requests).toHaveLength(2);
  });

  it('rejects a cursor it did not write', async () => {
    const { source } = await setup();
    await expect(collect(source.pull({ since: 'yesterday' }, signal()))).rejects.toThrow('cursor is not valid');
  });

  it('stops a pull in flight; stop is idempotent and safe before start', async () => {
    const { server, source } = await setup({ pageSize: 10, lookbackMs: 0 });
    await source.stop();
    await source.stop();
    await expect(
      collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal())),
    ).rejects.toThrow('stopped');
    expect(server.requests).toHaveLength(0);
    // Started again, it pulls as before.
    await source.start();
    server.setFallback(accessLogApi([record(NOW - 30_000)]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal()));
    expect(pages.flatMap((p) => p.records)).toHaveLength(1);

    const fresh = await setup({ pageSize: 10, lookbackMs: 0 });
    await fresh.source.start();
    fresh.server.setFallback({ delayMs: 2000, body: envelope([]) });
    const pending = collect(fresh.source.pull(fresh.source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal()));
    setTimeout(() => void fresh.source.stop(), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow('stopped');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(fresh.server.requests).toHaveLength(1);
  });
});

describe('an Access record with numbers a double cannot hold', () => {
  it('is stored with the exact text Cloudflare sent as its raw record', async () => {
    const { server, source } = await setup({ pageSize: 10 });
    const plain = record(NOW - 2 * MINUTE);
    const big = record(NOW - MINUTE);
    const bigText = JSON.stringify(big).replace(/}$/, ',"session_id":9007199254740993,"score":1e400}');
    // As the endpoint answers: the records at or after `since`, written by hand as a JSON encoder could not.
    server.setFallback((request) => {
      const since = parseTimestamp(request.query.get('since') ?? '') ?? 0;
      const texts = [
        [plain.created_at, JSON.stringify(plain)],
        [big.created_at, bigText],
      ].filter(([createdAt]) => (parseTimestamp(createdAt ?? '') ?? 0) >= since);
      return {
        body: `{"success":true,"errors":[],"messages":[],"result":[${texts.map(([, text]) => text).join(',')}]}`,
      };
    });
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 10 * MINUTE }), signal()));
    const dir = mkdtempSync(join(tmpdir(), 'zerotrail-exact-'));
    const store = await SqliteStore.open({ path: join(dir, 'zerotrail.db') });
    try {
      await store.migrate();
      const meta = { sourceName: 'cf', accountId: ACCOUNT_ID, dataset: 'access_requests' };
      for (const page of pages) {
        await store.append(new NormalizedPage(page.records, normalizeAccessRequest, meta), {
          id: 'cf/access_requests',
          value: page.nextCursor,
        });
      }
      const stored = (await store.search({ filter: null, order: 'asc' }, { limit: 10 })).events;
      expect(stored.map((event) => event.rayId)).toEqual([plain.ray_id, big.ray_id]);
      expect(stored[0]?.raw).toEqual(plain);
      expect(stored[1]?.raw).toBe(bigText);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
