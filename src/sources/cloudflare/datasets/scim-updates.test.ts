import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../core/clock.js';
import { silentLogger } from '../../../core/logger.js';
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
import { ScimUpdatesSource } from './scim-updates.js';

const ACCOUNT_ID = 'fedcba9876543210fedcba9876543210';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const IDP_A = 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415';
const IDP_B = '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09';
const IDP_C = '6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d';

interface ScimRecord {
  readonly logged_at: string;
  readonly idp_id: string;
  readonly cf_resource_id: string;
  readonly idp_resource_id: string;
  readonly request_method: string;
  readonly request_body: string;
  readonly resource_type: string;
  readonly resource_user_email: string;
  readonly status: string;
}

let serial = 0;
function record(loggedMs: number, idpId = IDP_A): ScimRecord {
  serial++;
  return {
    logged_at: new Date(loggedMs).toISOString(),
    idp_id: idpId,
    cf_resource_id: `00000000-0000-4000-8000-${serial.toString(16).padStart(12, '0')}`,
    idp_resource_id: `okta-${serial}`,
    request_method: 'PATCH',
    request_body: JSON.stringify({ Operations: [{ op: 'replace', path: 'active', value: serial % 2 === 0 }] }),
    resource_type: 'USER',
    resource_user_email: `user${serial}@example.com`,
    status: 'SUCCESS',
  };
}

const identityProviders = [
  { id: IDP_A, name: 'Okta', type: 'okta', config: {}, scim_config: { enabled: true } },
  { id: IDP_B, name: 'One-time PIN', type: 'onetimepin', config: {} },
  { id: IDP_C, name: 'Azure AD', type: 'azureAD', config: {}, scim_config: { enabled: true } },
];

/**
 * Answers like the documented endpoints: identity providers page by page (`result_info` page-based), and SCIM
 * updates of the requested `idp_id`s with logged_at within [since, until] (both inclusive), ascending and stable
 * within a timestamp, `page`/`per_page` offset paging.
 */
function scimApi(
  records: readonly ScimRecord[],
  idps: readonly Record<string, unknown>[] = identityProviders,
  idpPageSize = 2,
): FixtureHandler {
  return (request) => {
    if (request.path.endsWith('/access/identity_providers')) {
      const page = Number(request.query.get('page') ?? '1');
      const perPage = Math.min(idpPageSize, Number(request.query.get('per_page') ?? '25'));
      const slice = idps.slice((page - 1) * perPage, page * perPage);
      return {
        body: envelope(slice, {
          result_info: {
            page,
            per_page: perPage,
            count: slice.length,
            total_count: idps.length,
            total_pages: Math.ceil(idps.length / perPage),
          },
        }),
      };
    }
    const wanted = new Set(request.query.getAll('idp_id'));
    if (wanted.size === 0) return { status: 400, body: failure([{ code: 1001, message: 'idp_id is required' }]) };
    const since = parseTimestamp(request.query.get('since') ?? '') ?? 0;
    const until = parseTimestamp(request.query.get('until') ?? '') ?? Number.MAX_SAFE_INTEGER;
    const perPage = Number(request.query.get('per_page') ?? '25');
    const page = Number(request.query.get('page') ?? '1');
    const matching = records
      .map((r, index) => ({ r, index, ms: parseTimestamp(r.logged_at) ?? 0 }))
      .filter(({ r, ms }) => ms >= since && ms <= until && wanted.has(r.idp_id))
      .sort((a, b) => a.ms - b.ms || a.index - b.index)
      .map(({ r }) => r);
    const slice = matching.slice((page - 1) * perPage, page * perPage);
    return {
      body: envelope(slice, {
        result_info: {
          page,
          per_page: perPage,
          count: slice.length,
          total_count: matching.length,
          total_pages: Math.ceil(matching.length / perPage),
        },
      }),
    };
  };
}

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(options: { pageSize?: number; lookbackMs?: number; clock?: ManualClock } = {}) {
  const server = await startFixtureServer();
  servers.push(server);
  const clock = options.clock ?? new ManualClock(NOW);
  const client = new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('test-token-for-scim-updates'),
    timeoutMs: 5000,
    rateBudget: new RateBudget({ requests: 100_000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: silentLogger(),
    metrics: new Metrics(),
    clock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
  });
  const source = new ScimUpdatesSource({
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

const resourceIds = (pages: readonly RawPage[]): string[] =>
  pages.flatMap((p) => p.records.map((r) => (r as ScimRecord).cf_resource_id));

const scimRequests = (server: FixtureServer) => server.requests.filter((r) => r.path.endsWith('/scim/updates'));

// spec-2024 documents no query parameters on the identity provider list; `page` and `per_page` come from the
// current API reference (API-NOTES §2.5), so only those two may be reported as unknown there.
const UNDOCUMENTED_IN_SPEC_2024 = /^unknown query parameter (page|per_page)$/;

function expectValidRequests(server: FixtureServer): void {
  for (const request of server.requests) {
    expect(validateRequest(request.method, request.url).filter((p) => !UNDOCUMENTED_IN_SPEC_2024.test(p))).toEqual([]);
  }
  for (const request of scimRequests(server)) expect(validateRequest(request.method, request.url)).toEqual([]);
}

const signal = (): AbortSignal => new AbortController().signal;

describe('ScimUpdatesSource', () => {
  it('lists every identity provider, then asks for all of them as repeated idp_id in ascending time', async () => {
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0 });
    server.setFallback(scimApi([record(NOW - 30 * MINUTE, IDP_C)]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(source.dataset).toBe('scim_updates');
    expect(resourceIds(pages)).toHaveLength(1);
    // Three identity providers, two per page: two list requests, then the logs (a page shorter than asked is
    // confirmed by reading on from its last record).
    const paths = server.requests.map((r) => r.path.replace(`/client/v4/accounts/${ACCOUNT_ID}`, ''));
    expect(paths.slice(0, 3)).toEqual([
      '/access/identity_providers',
      '/access/identity_providers',
      '/access/logs/scim/updates',
    ]);
    expect(paths.slice(3).every((path) => path === '/access/logs/scim/updates')).toBe(true);
    const [request] = scimRequests(server);
    expect(request?.query.getAll('idp_id')).toEqual([IDP_A, IDP_B, IDP_C]);
    expect(Object.fromEntries([...(request?.query.entries() ?? [])].filter(([key]) => key !== 'idp_id'))).toEqual({
      since: '2026-03-01T11:00:00.000Z',
      until: '2026-03-01T12:00:00.000Z',
      direction: 'asc',
      page: '1',
      per_page: '1000',
    });
    expectValidRequests(server);
  });

  it('hands out every record once across full pages and a burst at one timestamp, keyed by logged_at', async () => {
    const { server, source } = await setup({ pageSize: 3, lookbackMs: 0 });
    const burstAt = NOW - 20 * MINUTE;
    const records = [
      record(NOW - 50 * MINUTE),
      record(NOW - 40 * MINUTE, IDP_C),
      ...Array.from({ length: 8 }, (_, i) => record(burstAt, i % 2 === 0 ? IDP_A : IDP_C)),
      record(NOW - 10 * MINUTE),
      record(NOW - 5 * MINUTE, IDP_C),
    ];
    server.setFallback(scimApi(records));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    const ids = resourceIds(pages);
    expect(ids.sort()).toEqual(records.map((r) => r.cf_resource_id).sort());
    const burst = new Date(burstAt).toISOString();
    expect(scimRequests(server).map((r) => [r.query.get('since'), r.query.get('page')])).toContainEqual([burst, '3']);
    expect(pages.at(-1)?.nextCursor).toMatchObject({
      streams: [{ idpIds: [IDP_A, IDP_B, IDP_C], window: { since: '2026-03-01T12:00:00.000Z', page: 1 } }],
    });
    expectValidRequests(server);
  });

  it('hands out records without the fields the description leaves optional, or with them of another type', async () => {
    const { server, source } = await setup({ pageSize: 10, lookbackMs: 0 });
    const sparse = { logged_at: new Date(NOW - 30 * MINUTE).toISOString(), idp_id: IDP_A };
    const oddTypes = { ...record(NOW - 20 * MINUTE), cf_resource_id: 7, request_method: null, status: ['x'] };
    const plain = record(NOW - 10 * MINUTE);
    server.setFallback(scimApi([sparse, oddTypes, plain] as unknown as ScimRecord[]));
    const pages = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    expect(pages.flatMap((page) => page.records)).toEqual([sparse, oddTypes, plain]);
  });

  it('resumes from a committed cursor without losing or repeating records', async () => {
    const { server, source } = await setup({ pageSize: 2, lookbackMs: 0 });
    const records = Array.from({ length: 9 }, (_, i) =>
      record(NOW - 50 * MINUTE + i * 1000, i % 3 === 0 ? IDP_C : IDP_A),
    );
    server.setFallback(scimApi(records));
    const seen: string[] = [];
    let committed: SourceCursor | undefined;
    let count = 0;
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal())) {
      seen.push(...resourceIds([page]));
      committed = page.nextCursor;
      if (++count === 2) break;
    }
    const rest = await collect(source.pull(committed ?? {}, signal()));
    seen.push(...resourceIds(rest));
    expect(seen).toEqual(records.map((r) => r.cf_resource_id));
  });

  it('pulls nothing, and keeps its cursor, while the account has no identity provider', async () => {
    const { server, source } = await setup();
    server.setFallback(scimApi([record(NOW - MINUTE)], []));
    expect(await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()))).toEqual(
      [],
    );
    expect(scimRequests(server)).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
  });

  it('resumes a cursor written before identity providers were remembered', async () => {
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 0 });
    const before = record(NOW - 40 * MINUTE, IDP_C);
    const after = record(NOW - 10 * MINUTE, IDP_C);
    server.setFallback(scimApi([before, after]));
    const since = '2026-03-01T11:30:00.000Z';
    const legacy = { since, page: 1, seen: [], scannedAt: since, floor: '2026-03-01T11:00:00.000Z' };
    const pages = await collect(source.pull(legacy, signal()));
    expect(resourceIds(pages)).toEqual([after.cf_resource_id]);
    expect(scimRequests(server)[0]?.query.get('since')).toBe(since);
    expect(pages.at(-1)?.nextCursor).toMatchObject({
      streams: [{ idpIds: [IDP_A, IDP_B, IDP_C], window: { since: '2026-03-01T12:00:00.000Z', floor: legacy.floor } }],
      delisted: {},
    });
  });

  it('keeps asking for a provider listed only by a pull that found nothing new, once it is gone', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 5 * MINUTE, clock });
    // The first pull ran when only IDP_A existed.
    server.setFallback(scimApi([], [identityProviders[0] ?? {}]));
    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()));
    // IDP_C appears and is listed by a pull at the same instant, which has no window to read.
    server.setFallback(scimApi([]));
    const quiet = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    expect(quiet).toEqual([{ records: [], nextCursor: expect.objectContaining({ delisted: {} }) as unknown }]);
    // IDP_C is deleted; what it sent before shows up in the API only now.
    const late = record(NOW - MINUTE, IDP_C);
    server.setFallback(scimApi([late], [identityProviders[0] ?? {}]));
    clock.advance(MINUTE);
    const next = await collect(source.pull(quiet.at(-1)?.nextCursor ?? {}, signal()));
    expect(resourceIds(next)).toEqual([late.cf_resource_id]);
    expect(next.at(-1)?.nextCursor).toMatchObject({ delisted: { [IDP_C]: '2026-03-01T12:01:00.000Z' } });
  });

  it('splits many identity providers over requests of bounded length, each asked for once per window', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 1000, lookbackMs: 0, clock });
    const ids = Array.from({ length: 200 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    const idps = ids.map((id) => ({ id, name: id, type: 'okta', config: {}, scim_config: { enabled: true } }));
    const records = Array.from({ length: 40 }, (_, i) => record(NOW - (50 - i) * MINUTE, ids[(i * 7) % ids.length]));
    server.setFallback(scimApi(records, idps, 100));

    const seen: string[] = [];
    let committed: SourceCursor | undefined;
    // The collector stops after the first stream's page and starts again.
    for await (const page of source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal())) {
      seen.push(...resourceIds([page]));
      committed = page.nextCursor;
      break;
    }
    const rest = await collect(source.pull(committed ?? {}, signal()));
    seen.push(...resourceIds(rest));
    expect(seen.sort()).toEqual(records.map((r) => r.cf_resource_id).sort());

    for (const request of scimRequests(server)) expect(request.url.length).toBeLessThan(4096 + 300);
    // A stream may read on past a short page (see paginate.ts), so the same set can be asked for twice in a row.
    const asked = [...new Set(scimRequests(server).map((r) => r.query.getAll('idp_id').join(',')))].map((set) =>
      set.split(','),
    );
    expect(asked.length).toBe(3);
    expect(asked.flat().sort()).toEqual([...ids].sort());
    expectValidRequests(server);

    // Once every stream has read to the same point, a pull costs one request per stream.
    clock.advance(MINUTE);
    const before = scimRequests(server).length;
    await collect(source.pull(rest.at(-1)?.nextCursor ?? {}, signal()));
    expect(
      scimRequests(server)
        .slice(before)
        .map((r) => r.query.getAll('idp_id').length),
    ).toEqual(asked.map((a) => a.length));
  });

  it('rereads the lookback window so that late records are picked up', async () => {
    const clock = new ManualClock(NOW);
    const { server, source } = await setup({ pageSize: 100, lookbackMs: 5 * MINUTE, clock });
    const onTime = record(NOW - 10 * MINUTE);
    const late = record(NOW - 2 * MINUTE, IDP_C);
    let lateVisible = false;
    const api = scimApi([onTime, late]);
    server.setFallback(async (request) => {
      const answer = await api(request);
      if (lateVisible || !request.path.endsWith('/scim/updates')) return answer;
      return scimApi([onTime])(request);
    });
    const first = await collect(source.pull(source.initialCursor({ backfillFromMs: NOW - 30 * MINUTE }), signal()));
    expect(resourceIds(first)).toEqual([onTime.cf_resource_id]);
    lateVisible = true;
    clock.advance(MINUTE);
    const requestsBefore = scimRequests(server).length;
    const second = await collect(source.pull(first.at(-1)?.nextCursor ?? {}, signal()));
    expect(scimRequests(server)[requestsBefore]?.query.get('since')).toBe('2026-03-01T11:55:00.000Z');
    expect(resourceIds(second)).toEqual([late.cf_resource_id]);
  });

  it('names the permission when the token may not read SCIM logs', async () => {
    const { server, source } = await setup();
    server.setFallback((request) =>
      request.path.endsWith('/scim/updates')
        ? { status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) }
        : scimApi([])(request),
    );
    const error = await collect(
      source.pull(source.initialCursor({ backfillFromMs: NOW - 60 * MINUTE }), signal()),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SOURCE_PERMISSION_DENIED' });
    expect(String(error)).toContain('Access: SCIM Logs Read');
  });

  it('stops a pull in flight; stop is idempotent and safe before start', async () => {
    const { server, source } = await setup();
    await source.stop();
    await source.stop();
    await expect(
      collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal())),
    ).rejects.toThrow('stopped');
    expect(server.requests).toHaveLength(0);
    await source.start();
    server.setFallback({ delayMs: 2000, body: envelope([]) });
    const pending = collect(source.pull(source.initialCursor({ backfillFromMs: NOW - MINUTE }), signal()));
    setTimeout(() => void source.stop(), 50);
    await expect(pending).rejects.toThrow('stopped');
  });
});
