import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../core/clock.js';
import { createLogger } from '../../../core/logger.js';
import { Metrics } from '../../../core/metrics.js';
import { Secret } from '../../../core/secret.js';
import {
  envelope,
  failure,
  startFixtureServer,
  type FixtureHandler,
  type FixtureServer,
} from '../../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../../test/helpers/openapi.js';
import type { RawPage, SourceCursor } from '../../source.js';
import { CloudflareClient } from '../client.js';
import { parseTimestamp } from '../parse-timestamp.js';
import { RateBudget } from '../rate-budget.js';
import { AuditLogsSource, type AuditLogsCursor } from './audit-logs.js';

const ACCOUNT_ID = 'fedcba9876543210fedcba9876543210';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let serial = 0;
function nextId(): string {
  serial++;
  return serial.toString(16).padStart(32, '0');
}

/** An Audit Logs v2 record in the documented shape (additions file, AuditLogV2). */
function v2Record(timeMs: number): Record<string, unknown> & { id: string } {
  return {
    id: nextId(),
    account: { id: ACCOUNT_ID, name: 'Example Corp' },
    action: {
      description: 'Update Access application',
      result: 'success',
      time: new Date(timeMs).toISOString(),
      type: 'update',
    },
    actor: { id: 'a1b2c3', context: 'dash', email: 'admin@example.com', ip_address: '192.0.2.10', type: 'user' },
    raw: { cf_ray_id: '8e8b2a1c3d4e5f60', method: 'PUT', status_code: 200, uri: '/accounts/x/access/apps/y' },
    resource: { id: 'app-1', product: 'access', scope: 'accounts', type: 'application' },
  };
}

/** An Audit Logs v1 record in the spec-2024 shape. */
function v1Record(timeMs: number): Record<string, unknown> & { id: string } {
  return {
    id: nextId(),
    action: { result: true, type: 'update' },
    actor: { id: 'a1b2c3', email: 'admin@example.com', ip: '192.0.2.10', type: 'user' },
    interface: 'UI',
    metadata: {},
    newValue: '',
    oldValue: '',
    owner: { id: ACCOUNT_ID },
    resource: { id: 'app-1', type: 'access_application' },
    when: new Date(timeMs).toISOString(),
  };
}

const timeOfV2 = (r: Record<string, unknown>): number =>
  parseTimestamp(String((r['action'] as Record<string, unknown>)['time'])) ?? 0;

/**
 * Answers like the documented v2 endpoint: records with action.time in [since, before), ascending, `limit` per
 * page, an opaque `result_info.cursor` (base64 of an offset) and `count` as a string; no cursor on the last page.
 */
function v2Api(
  records: readonly (Record<string, unknown> & { id: string })[],
  visible: (record: Record<string, unknown>) => boolean = () => true,
  // Where the next page's cursor goes: the API reference's `cursor`, or the SDK's `cursors.after`.
  cursorAt: 'cursor' | 'cursors.after' = 'cursor',
): FixtureHandler {
  return (request) => {
    if (!request.path.endsWith('/logs/audit')) return { status: 599, body: 'unexpected' };
    const since = parseTimestamp(request.query.get('since') ?? '');
    const before = parseTimestamp(request.query.get('before') ?? '');
    if (since === undefined || before === undefined) {
      return { status: 400, body: failure([{ code: 1001, message: 'since and before are required' }]) };
    }
    const limit = Number(request.query.get('limit') ?? '100');
    const raw = request.query.get('cursor');
    const offset = raw === null ? 0 : Number(Buffer.from(raw, 'base64').toString('utf8').replace('offset:', ''));
    const matching = records
      .filter((r) => timeOfV2(r) >= since && timeOfV2(r) < before && visible(r))
      .sort((a, b) => timeOfV2(a) - timeOfV2(b));
    const slice = matching.slice(offset, offset + limit);
    const more = offset + limit < matching.length;
    const info: Record<string, unknown> = { count: String(slice.length) };
    const next = Buffer.from(`offset:${offset + limit}`).toString('base64');
    if (more) info[cursorAt === 'cursor' ? 'cursor' : 'cursors'] = cursorAt === 'cursor' ? next : { after: next };
    return { body: envelope(slice, { result_info: info }) };
  };
}

/** The v1 endpoint: `when` in [since, before), ascending, page/per_page. */
function v1Api(records: readonly (Record<string, unknown> & { id: string })[]): FixtureHandler {
  return (request) => {
    const since = parseTimestamp(request.query.get('since') ?? '') ?? 0;
    const before = parseTimestamp(request.query.get('before') ?? '') ?? Number.MAX_SAFE_INTEGER;
    const perPage = Number(request.query.get('per_page') ?? '100');
    const page = Number(request.query.get('page') ?? '1');
    const time = (r: Record<string, unknown>): number => parseTimestamp(String(r['when'])) ?? 0;
    // spec-2024: `since` is "newer than" and `before` "older than", both exclusive.
    const matching = records.filter((r) => time(r) > since && time(r) < before).sort((a, b) => time(a) - time(b));
    const slice = matching.slice((page - 1) * perPage, page * perPage);
    return {
      body: envelope(slice, {
        result_info: { page, per_page: perPage, count: slice.length, total_count: matching.length },
      }),
    };
  };
}

const NO_ROUTE = { status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) };

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(options: { pageSize?: number; lookbackMs?: number; clock?: ManualClock } = {}) {
  const server = await startFixtureServer();
  servers.push(server);
  const clock = options.clock ?? new ManualClock(NOW);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const client = new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('test-token-for-audit-logs'),
    timeoutMs: 5000,
    rateBudget: new RateBudget({ requests: 100_000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics(),
    clock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
  });
  const source = new AuditLogsSource({
    client,
    clock,
    logger,
    pageSize: options.pageSize ?? 3,
    lookbackMs: options.lookbackMs ?? 5 * MINUTE,
  });
  return { server, clock, source, logs };
}

async function collect(pages: AsyncIterable<RawPage>): Promise<RawPage[]> {
  const out: RawPage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

const idsOf = (pages: readonly RawPage[]): string[] =>
  pages.flatMap((p) => p.records.map((r) => (r as { id: string }).id));
const relative = (server: FixtureServer): string[] =>
  server.requests.map((r) => r.path.replace(`/client/v4/accounts/${ACCOUNT_ID}`, ''));

function expectValidRequests(server: FixtureServer): void {
  for (const request of server.requests) expect(validateRequest(request.method, request.url)).toEqual([]);
}

const signal = (): AbortSignal => new AbortController().signal;

describe('AuditLogsSource on Audit Logs v2', () => {
  it('starts a backfill on v2 at the requested time', async () => {
    const { source } = await setup();
    expect(source.dataset).toBe('audit_logs');
    expect(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE })).toEqual({
      api: 'v2',
      since: '2026-03-01T11:00:00.000Z',
      seen: [],
      scannedAt: '2026-03-01T11:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
  });

  it('follows result_info.cursors.after, where the SDK looks, when the API sends no result_info.cursor', async () => {
    const { server, source } = await setup({ pageSize: 3, lookbackMs: 0 });
    const records = Array.from({ length: 7 }, (_, i) => v2Record(NOW - 50 * MINUTE + i * 1000));
    server.setFallback(v2Api(records, () => true, 'cursors.after'));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(idsOf(pages)).toEqual(records.map((r) => r.id));
    expect(server.requests.map((r) => r.query.get('cursor'))).toEqual([
      null,
      Buffer.from('offset:3').toString('base64'),
      Buffer.from('offset:6').toString('base64'),
    ]);
  });

  it('follows result_info.cursor through one window and keeps the window and the API cursor in each cursor', async () => {
    const { server, source } = await setup({ pageSize: 3, lookbackMs: 0 });
    const records = Array.from({ length: 7 }, (_, i) => v2Record(NOW - 50 * MINUTE + i * 1000));
    server.setFallback(v2Api(records));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(idsOf(pages)).toEqual(records.map((r) => r.id));
    expect(pages.map((p) => p.records.length)).toEqual([3, 3, 1]);
    const query = Object.fromEntries(server.requests[0]?.query ?? []);
    expect(query).toEqual({
      since: '2026-03-01T11:00:00.000Z',
      before: '2026-03-01T12:00:00.000Z',
      direction: 'asc',
      limit: '3',
    });
    expect(server.requests.map((r) => r.query.get('cursor'))).toEqual([
      null,
      Buffer.from('offset:3').toString('base64'),
      Buffer.from('offset:6').toString('base64'),
    ]);
    expect(pages[0]?.nextCursor).toEqual({
      api: 'v2',
      since: '2026-03-01T11:00:00.000Z',
      before: '2026-03-01T12:00:00.000Z',
      cursor: Buffer.from('offset:3').toString('base64'),
      seen: [],
      scannedAt: '2026-03-01T12:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
    // Every cursor keeps the backfill start, so no later lookback reaches before it.
    expect(pages.at(-1)?.nextCursor).toEqual({
      api: 'v2',
      since: '2026-03-01T12:00:00.000Z',
      seen: [],
      scannedAt: '2026-03-01T12:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
    expectValidRequests(server);
  });

  it('resumes the very page after a crash, with the same window, even when the clock has moved on', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 5 * MINUTE, clock });
    const records = Array.from({ length: 7 }, (_, i) => v2Record(NOW - 50 * MINUTE + i * 1000));
    server.setFallback(v2Api(records));
    const seen: string[] = [];
    let committed: SourceCursor | undefined;
    let count = 0;
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal())) {
      seen.push(...idsOf([page]));
      committed = page.nextCursor;
      if (++count === 2) break;
    }
    clock.advance(10 * MINUTE);
    const before = server.requests.length;
    const rest = await collect(source.pull(committed ?? {}, signal()));
    seen.push(...idsOf(rest));
    expect(seen).toEqual(records.map((r) => r.id));
    // The first window starts at the backfill point: the lookback never reaches before it.
    expect(Object.fromEntries(server.requests[before]?.query ?? [])).toMatchObject({
      since: '2026-03-01T11:00:00.000Z',
      before: '2026-03-01T12:00:00.000Z',
      cursor: Buffer.from('offset:4').toString('base64'),
    });
    // The window is closed at its own end, then the same pull takes the ten minutes since.
    expect(rest.map((p) => p.nextCursor)).toContainEqual({
      api: 'v2',
      since: '2026-03-01T12:00:00.000Z',
      seen: [],
      scannedAt: '2026-03-01T12:00:00.000Z',
      floor: '2026-03-01T11:00:00.000Z',
    });
    expect(rest.at(-1)?.nextCursor).toMatchObject({
      since: '2026-03-01T12:10:00.000Z',
      scannedAt: '2026-03-01T12:10:00.000Z',
    });
    expect((rest.at(-1)?.nextCursor as AuditLogsCursor).api).toBe('v2');
  });

  it('held to a floor after a window read part-way before it, reads every record from the floor on, once', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 5 * MINUTE, clock });
    const records = Array.from({ length: 12 }, (_, i) => v2Record(NOW - 60 * MINUTE + i * 5 * MINUTE));
    server.setFallback(v2Api(records));
    let committed: SourceCursor | undefined;
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 61 * MINUTE }), signal())) {
      committed = page.nextCursor;
      break;
    }
    expect(committed).toMatchObject({ before: '2026-03-01T12:00:00.000Z' });
    // Stopped mid-window for a day; what the retention keeps now starts half an hour into that window.
    clock.advance(DAY);
    const floorMs = NOW - 30 * MINUTE;
    const held = source.withFloor(committed ?? {}, floorMs);
    const before = server.requests.length;
    const pages = await collect(source.pull(held, signal()));
    const fromFloor = records.filter((r) => timeOfV2(r) >= floorMs).map((r) => r.id);
    expect(idsOf(pages)).toEqual(fromFloor);
    // A new window from the floor, without the API cursor of the window begun before it.
    expect(Object.fromEntries(server.requests[before]?.query ?? [])).toEqual(
      expect.objectContaining({ since: '2026-03-01T11:30:00.000Z', before: '2026-03-02T12:00:00.000Z' }),
    );
    expect(server.requests[before]?.query.get('cursor')).toBeNull();
    expect(pages.at(-1)?.nextCursor).toMatchObject({ floor: '2026-03-01T11:30:00.000Z' });
    // A cursor already past the floor is left as it was.
    const later = pages.at(-1)?.nextCursor ?? {};
    expect(source.withFloor(later, floorMs - HOUR)).toEqual(later);
  });

  it('after finishing a window interrupted days ago, reads on to now in the same pull, each record once', async () => {
    const clock = new ManualClock(NOW - 2 * DAY);
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 5 * MINUTE, clock });
    const inWindow = Array.from({ length: 7 }, (_, i) => v2Record(NOW - 3 * DAY + 10 * MINUTE + i * 1000));
    const afterWindow = Array.from({ length: 6 }, (_, i) => v2Record(NOW - 2 * DAY + (i + 1) * 7 * HOUR));
    const records = [...inWindow, ...afterWindow];
    server.setFallback(v2Api(records));
    const handedOut: string[] = [];
    let committed: SourceCursor | undefined;
    let count = 0;
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 3 * DAY }), signal())) {
      handedOut.push(...idsOf([page]));
      committed = page.nextCursor;
      if (++count === 2) break;
    }
    expect(committed).toMatchObject({ before: '2026-02-27T12:00:00.000Z', cursor: expect.any(String) as string });

    clock.set(NOW);
    const requestsBefore = server.requests.length;
    const rest = await collect(source.pull(committed ?? {}, signal()));
    handedOut.push(...idsOf(rest));
    expect(handedOut).toEqual(records.map((r) => r.id));
    expect(rest.at(-1)?.nextCursor).toEqual({
      api: 'v2',
      since: '2026-03-01T12:00:00.000Z',
      seen: [],
      scannedAt: '2026-03-01T12:00:00.000Z',
      floor: '2026-02-26T12:00:00.000Z',
    });
    // Past the interrupted window the pull goes on as a fresh one would, lookback included.
    const onward = server.requests.slice(requestsBefore).find((r) => r.query.get('cursor') === null);
    expect(Object.fromEntries(onward?.query ?? [])).toMatchObject({
      since: '2026-02-27T11:55:00.000Z',
      before: '2026-03-01T12:00:00.000Z',
    });
    expectValidRequests(server);
  });

  it('hands out each record once when the pull that resumes a window is itself cut short after any page', async () => {
    const clock = new ManualClock(NOW - 2 * DAY);
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 5 * MINUTE, clock });
    const inWindow = Array.from({ length: 5 }, (_, i) => v2Record(NOW - 3 * DAY + 10 * MINUTE + i * 1000));
    const afterWindow = Array.from({ length: 5 }, (_, i) => v2Record(NOW - 2 * DAY + (i + 1) * 8 * HOUR));
    server.setFallback(v2Api([...inWindow, ...afterWindow]));
    const firstPages: RawPage[] = [];
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 3 * DAY }), signal())) {
      firstPages.push(page);
      break;
    }
    const midWindow = firstPages[0]?.nextCursor ?? {};
    const remaining = [...inWindow.slice(2), ...afterWindow].map((r) => r.id);
    clock.set(NOW);

    const uninterrupted = await collect(source.pull(midWindow, signal()));
    expect(idsOf(uninterrupted)).toEqual(remaining);
    for (let stopAfter = 1; stopAfter < uninterrupted.length; stopAfter++) {
      const handedOut: string[] = [];
      let committed: SourceCursor = midWindow;
      let count = 0;
      for await (const page of source.pull(midWindow, signal())) {
        handedOut.push(...idsOf([page]));
        committed = page.nextCursor;
        if (++count === stopAfter) break;
      }
      const rest = await collect(source.pull(committed, signal()));
      handedOut.push(...idsOf(rest));
      expect(handedOut, `stopped after page ${stopAfter}`).toEqual(remaining);
      expect(rest.at(-1)?.nextCursor).toMatchObject({ since: '2026-03-01T12:00:00.000Z' });
    }
  });

  it('commits the end of a resumed window even when its last page is empty', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 0 });
    server.setFallback({ body: envelope([], { result_info: { count: '0' } }) });
    const cursor: AuditLogsCursor = {
      api: 'v2',
      since: '2026-03-01T11:00:00.000Z',
      before: '2026-03-01T11:30:00.000Z',
      cursor: 'b2Zmc2V0OjQ=',
      seen: [],
      scannedAt: '2026-03-01T11:30:00.000Z',
    };
    const pages = await collect(source.pull(cursor, signal()));
    expect(pages).toEqual([
      {
        records: [],
        nextCursor: { api: 'v2', since: '2026-03-01T11:30:00.000Z', seen: [], scannedAt: '2026-03-01T11:30:00.000Z' },
      },
      {
        records: [],
        nextCursor: { api: 'v2', since: '2026-03-01T12:00:00.000Z', seen: [], scannedAt: '2026-03-01T12:00:00.000Z' },
      },
    ]);
    expect(server.requests.map((r) => Object.fromEntries(r.query))).toMatchObject([
      { since: '2026-03-01T11:00:00.000Z', before: '2026-03-01T11:30:00.000Z', cursor: 'b2Zmc2V0OjQ=' },
      { since: '2026-03-01T11:30:00.000Z', before: '2026-03-01T12:00:00.000Z' },
    ]);
  });

  it('rereads the lookback on the next pull, so late events are picked up', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 5 * MINUTE, clock });
    const onTime = v2Record(NOW - 10 * MINUTE);
    const late = v2Record(NOW - 2 * MINUTE);
    let lateVisible = false;
    server.setFallback(v2Api([onTime, late], (r) => r !== late || lateVisible));
    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 30 * MINUTE }), signal()));
    expect(idsOf(first)).toEqual([onTime.id]);
    lateVisible = true;
    clock.advance(MINUTE);
    const second = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    expect(Object.fromEntries(server.requests.at(-1)?.query ?? [])).toMatchObject({
      since: '2026-03-01T11:55:00.000Z',
      before: '2026-03-01T12:01:00.000Z',
    });
    expect(idsOf(second)).toEqual([late.id]);
  });

  it('does not hand out again the records at the boundary when the API counts before as inclusive', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 0, clock });
    const atBoundary = v2Record(NOW);
    const later = v2Record(NOW + 30_000);
    // This API treats both since and before as inclusive.
    server.setFallback((request) => {
      const since = parseTimestamp(request.query.get('since') ?? '') ?? 0;
      const before = parseTimestamp(request.query.get('before') ?? '') ?? 0;
      const result = [atBoundary, later].filter((r) => timeOfV2(r) >= since && timeOfV2(r) <= before);
      return { body: envelope(result, { result_info: { count: String(result.length) } }) };
    });
    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 30 * MINUTE }), signal()));
    expect(idsOf(first)).toEqual([atBoundary.id]);
    expect((first.at(-1)?.nextCursor as AuditLogsCursor).seen).toEqual([atBoundary.id]);
    clock.advance(MINUTE);
    const second = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    expect(idsOf(second)).toEqual([later.id]);
  });

  it('commits the end of a window that held nothing, keeping the backfill start', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ lookbackMs: 5 * MINUTE, clock });
    server.setFallback(v2Api([]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal()));
    expect(pages).toEqual([
      {
        records: [],
        nextCursor: {
          api: 'v2',
          since: '2026-03-01T12:00:00.000Z',
          seen: [],
          scannedAt: '2026-03-01T12:00:00.000Z',
          floor: '2026-03-01T11:59:00.000Z',
        },
      },
    ]);
    expect(server.requests).toHaveLength(1);
    // The next pull starts one lookback before the window's end, but not before the backfill start.
    clock.advance(10 * MINUTE);
    const second = await collect(source.pull(pages[0]?.nextCursor ?? {}, signal()));
    expect(Object.fromEntries(server.requests[1]?.query ?? [])).toMatchObject({
      since: '2026-03-01T11:59:00.000Z',
      before: '2026-03-01T12:10:00.000Z',
    });
    clock.advance(10 * MINUTE);
    const third = await collect(source.pull(second.at(-1)?.nextCursor ?? {}, signal()));
    expect(Object.fromEntries(server.requests[2]?.query ?? [])).toMatchObject({
      since: '2026-03-01T12:05:00.000Z',
      before: '2026-03-01T12:20:00.000Z',
    });
    expect(third.at(-1)?.nextCursor).toMatchObject({
      since: '2026-03-01T12:20:00.000Z',
      floor: '2026-03-01T11:59:00.000Z',
    });
  });

  it('rereads the window from its start when the API rejects a stored cursor', async () => {
    const { server, source, logs } = await setup({ pageSize: 10, lookbackMs: 0 });
    const records = [v2Record(NOW - 40 * MINUTE), v2Record(NOW - 20 * MINUTE)];
    server.enqueue({ status: 400, body: failure([{ code: 1001, message: 'invalid cursor' }]) });
    server.setFallback(v2Api(records));
    const cursor: AuditLogsCursor = {
      api: 'v2',
      since: '2026-03-01T11:00:00.000Z',
      before: '2026-03-01T11:50:00.000Z',
      cursor: 'ZXhwaXJlZA==',
      seen: [],
      scannedAt: '2026-03-01T11:50:00.000Z',
    };
    const pages = await collect(source.pull(cursor, signal()));
    expect(idsOf(pages)).toEqual(records.map((r) => r.id));
    expect(server.requests.map((r) => r.query.get('cursor'))).toEqual(['ZXhwaXJlZA==', null, null]);
    expect(pages.map((p) => (p.nextCursor as AuditLogsCursor).since)).toEqual([
      '2026-03-01T11:50:00.000Z',
      '2026-03-01T12:00:00.000Z',
    ]);
    expect(logs.some((line) => line['level'] === 40 && String(line['msg']).includes('cursor rejected'))).toBe(true);
  });

  it('fails instead of looping when the API hands back the cursor it was given', async () => {
    const { server, source } = await setup({ pageSize: 1, lookbackMs: 0 });
    const record = v2Record(NOW - 10 * MINUTE);
    server.setFallback({ body: envelope([record], { result_info: { count: '1', cursor: 'c2FtZQ==' } }) });
    const error = await collect(
      source.pull(source.initialCursor({ backfillFromMs: NOW - 30 * MINUTE }), signal()),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SOURCE_RESPONSE_INVALID' });
    expect(server.requests).toHaveLength(2);
  });

  it('names the permission when the token may not read audit logs', async () => {
    const { server, source } = await setup();
    server.setFallback({ status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) });
    const error = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal())).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'SOURCE_PERMISSION_DENIED' });
    expect(String(error)).toContain('Account Settings Read');
    expect(server.requests).toHaveLength(1);
  });
});

describe('AuditLogsSource falling back to Audit Logs v1', () => {
  it('keeps every entry of a timestamp that a page boundary splits, though v1 reads since as "newer than"', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 0 });
    const at = NOW - 50 * MINUTE;
    const records = [at, at + 1000, at + 1000, at + 1000, at + 2000].map((time) => v1Record(time));
    const v1 = v1Api(records);
    server.setFallback((request) => (request.path.endsWith('/logs/audit') ? NO_ROUTE : v1(request)));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(idsOf(pages)).toEqual(records.map((r) => r.id));
  });

  it('reads v1 when v2 has no route, records it in the cursor and warns once', async () => {
    const clock = new ManualClock(NOW);
    const { server, source, logs } = await setup({ pageSize: 2, lookbackMs: 0, clock });
    const records = Array.from({ length: 5 }, (_, i) => v1Record(NOW - 50 * MINUTE + i * 1000));
    const v1 = v1Api(records);
    server.setFallback((request) => (request.path.endsWith('/logs/audit') ? NO_ROUTE : v1(request)));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(idsOf(pages)).toEqual(records.map((r) => r.id));
    for (const page of pages) expect((page.nextCursor as AuditLogsCursor).api).toBe('v1');
    expect(relative(server)[0]).toBe('/logs/audit');
    expect(
      relative(server)
        .slice(1)
        .every((path) => path === '/audit_logs'),
    ).toBe(true);
    expect(Object.fromEntries(server.requests[1]?.query ?? [])).toEqual({
      since: '2026-03-01T10:59:59.999Z',
      before: '2026-03-01T12:00:00.000Z',
      direction: 'asc',
      page: '1',
      per_page: '2',
    });

    // The next pull reads v1 straight away.
    clock.advance(MINUTE);
    const count = server.requests.length;
    const later = [v1Record(NOW + 30_000)];
    server.setFallback((request) =>
      request.path.endsWith('/logs/audit') ? NO_ROUTE : v1Api([...records, ...later])(request),
    );
    const second = await collect(source.pull(pages.at(-1)?.nextCursor ?? {}, signal()));
    expect(idsOf(second)).toEqual(later.map((r) => r.id));
    expect(
      relative(server)
        .slice(count)
        .every((path) => path === '/audit_logs'),
    ).toBe(true);
    expect(logs.filter((line) => line['level'] === 40)).toHaveLength(1);
    expectValidRequests(server);
  });

  it('reads on to now from a v1 cursor written days ago part-way through a backfill', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 5 * MINUTE });
    const handedOut = v1Record(NOW - 3 * DAY + 10 * MINUTE);
    const sameTime = v1Record(NOW - 3 * DAY + 10 * MINUTE);
    const later = Array.from({ length: 5 }, (_, i) => v1Record(NOW - 3 * DAY + (i + 1) * 12 * HOUR));
    const v1 = v1Api([handedOut, sameTime, ...later]);
    server.setFallback((request) => (request.path.endsWith('/logs/audit') ? NO_ROUTE : v1(request)));
    const cursor: AuditLogsCursor = {
      api: 'v1',
      since: new Date(NOW - 3 * DAY + 10 * MINUTE).toISOString(),
      page: 1,
      seen: [handedOut.id],
      scannedAt: new Date(NOW - 2 * DAY).toISOString(),
      floor: new Date(NOW - 3 * DAY).toISOString(),
    };
    const pages = await collect(source.pull(cursor, signal()));
    expect(idsOf(pages)).toEqual([sameTime, ...later].map((r) => r.id));
    expect(pages.at(-1)?.nextCursor).toMatchObject({ api: 'v1', since: '2026-03-01T12:00:00.000Z' });
    expect(relative(server).every((path) => path === '/audit_logs')).toBe(true);
  });

  it('held to a floor, reads a v1 cursor from the floor on and keeps reading v1', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 50, lookbackMs: 5 * MINUTE, clock });
    const records = Array.from({ length: 10 }, (_, i) => v1Record(NOW - 10 * HOUR + i * HOUR + 1000));
    server.setFallback(v1Api(records));
    const stale: AuditLogsCursor = {
      api: 'v1',
      since: '2026-03-01T01:00:00.000Z',
      page: 1,
      seen: [],
      scannedAt: '2026-03-01T01:00:00.000Z',
      floor: '2026-03-01T01:00:00.000Z',
    };
    const floorMs = NOW - 4 * HOUR;
    const pages = await collect(source.pull(source.withFloor(stale, floorMs), signal()));
    expect(idsOf(pages)).toEqual(records.filter((r) => parseTimestamp(String(r['when']))! >= floorMs).map((r) => r.id));
    expect(relative(server).every((path) => path === '/audit_logs')).toBe(true);
    expect(pages.at(-1)?.nextCursor).toMatchObject({ api: 'v1', floor: '2026-03-01T08:00:00.000Z' });
  });

  it('reports the v1 failure when neither API answers', async () => {
    const { server, source } = await setup();
    server.setFallback(NO_ROUTE);
    await expect(
      collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal())),
    ).rejects.toMatchObject({ code: 'SOURCE_ACCOUNT_NOT_FOUND' });
    expect(relative(server)).toEqual(['/logs/audit', '/audit_logs']);
  });

  it('rejects a cursor it did not write', async () => {
    const { source } = await setup();
    await expect(collect(source.pull({ api: 'v3', since: 'x' }, signal()))).rejects.toThrow('cursor is not valid');
  });
});
