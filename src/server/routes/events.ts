import { Readable } from 'node:stream';
import { z } from 'zod';
import { wholeNumberText } from '../../core/number-text.js';
import { csvHeader, eventsToCsvRows, eventToRecord } from '../../core/event-export.js';
import { parseTimeRange } from '../../core/time-expression.js';
import { AppError, AuthError, NotFoundError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { INVENTORY_KINDS } from '../../core/inventory.js';
import { FIELD_CATALOG } from '../../store/field-catalog.js';
import { parseQuery } from '../../store/query-language.js';
import { SEARCH_FIELDS, type SearchQuery } from '../../store/search-query.js';
import type { Store } from '../../store/store.js';
import { authenticate, requireRole, signedIn } from '../auth/authenticate.js';
import { defineRoute } from './route.js';

const READERS = ['admin', 'analyst', 'viewer'] as const;
// Exports copy customer data out of zerotrail; viewers only look.
const EXPORTERS = ['admin', 'analyst'] as const;
// One page of the UI's virtualized table; bigger reads go through the export.
const MAX_PAGE = 1000;
// Large enough to amortise each query, small enough to keep memory flat while streaming.
const EXPORT_FETCH = 1000;
// How long an export may go on streaming on the credential it started with: a revoked key, an ended session or
// a role that no longer exports stops the download within about this long, at the next chunk.
const EXPORT_RECHECK_MS = 1000;
// Enough bars to see the shape of a range and to aim a drag at, few enough to stay a few pixels wide each.
const HISTOGRAM_MAX_BUCKETS = 120;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Bucket widths that read as round times on the axis; the smallest that keeps the bucket count in bounds wins.
const BUCKET_WIDTHS = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
] as const;

const rangeQuery = {
  q: z.string().max(10_000).default(''),
  from: z.string().max(100).optional(),
  to: z.string().max(100).optional(),
};

const searchQuery = z.object({
  ...rangeQuery,
  limit: wholeNumberText((n) => n.min(1).max(MAX_PAGE)).default(100),
  after: z.string().max(1000).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

/** The CLI's query language and time expressions, so a query copied from the terminal works the same here. */
function toSearch(
  input: { readonly q: string; readonly from?: string | undefined; readonly to?: string | undefined },
  nowMs: number,
): Omit<SearchQuery, 'order'> {
  const filter = parseQuery(input.q, nowMs);
  return { filter, ...parseTimeRange(input.from, input.to, nowMs, { from: 'from', to: 'to' }) };
}

export const SEARCH_EVENTS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/events',
  summary:
    'Browse stored events of a period in time order with the query language (paging through nextPage/after); events stored later with earlier times fall behind the pages, so to poll for new events use /api/events/follow',
  access: READERS,
  query: searchQuery,
  handler: async ({ query, services }) => {
    const search = toSearch(query, services.app.clock.now());
    const page = await services.app.store.search(
      { ...search, order: query.order },
      { limit: query.limit, ...(query.after === undefined ? {} : { after: query.after }) },
    );
    return { events: page.events.map(eventToRecord), nextPage: page.nextPage };
  },
});

const followQuery = z.object({
  ...rangeQuery,
  limit: wholeNumberText((n) => n.min(1).max(MAX_PAGE)).default(100),
  after: z.string().max(1000).optional(),
  // Without a token: from the oldest stored event, or only what is stored from now on.
  start: z.enum(['oldest', 'latest']).default('oldest'),
});

export const FOLLOW_EVENTS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/events/follow',
  summary:
    'Follow new events in the order they were stored, each matching event exactly once, late ones included; pass next back as after (it is never null), and read again at once while more is true',
  access: READERS,
  query: followQuery,
  handler: async ({ query, services }) => {
    const store = services.app.store;
    const search = toSearch(query, services.app.clock.now());
    const after = query.after ?? (query.start === 'latest' ? await store.followLatest() : undefined);
    const page = await store.follow(search, { limit: query.limit, ...(after === undefined ? {} : { after }) });
    return { events: page.events.map(eventToRecord), next: page.next, more: page.more };
  },
});

export const GET_EVENT_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/events/:id',
  summary: 'One stored event with its normalized fields, OCSF and raw Cloudflare record',
  access: READERS,
  params: z.object({ id: z.string().min(1).max(200) }),
  handler: async ({ params, services }) => {
    const event = await eventById(services.app.store, params.id);
    if (event === undefined) {
      throw new NotFoundError('EVENT_NOT_FOUND', {
        message: 'No stored event has that id; retention may have deleted it.',
      });
    }
    return { event: eventToRecord(event) };
  },
});

export const AGGREGATE_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/aggregate',
  summary: 'Count matching events grouped by one field (top values), for dashboards',
  access: READERS,
  query: z.object({
    ...rangeQuery,
    groupBy: z.enum(SEARCH_FIELDS),
    limit: wholeNumberText((n) => n.min(1).max(1000)).default(10),
  }),
  handler: async ({ query, services }) => {
    const search = toSearch(query, services.app.clock.now());
    const buckets = await services.app.store.aggregate({ ...search, groupBy: query.groupBy, limit: query.limit });
    return { groupBy: query.groupBy, buckets };
  },
});

/** The bucket width for a range: the first round width that keeps the buckets to HISTOGRAM_MAX_BUCKETS. */
export function bucketWidthFor(spanMs: number): number {
  const fits = BUCKET_WIDTHS.find((width) => Math.ceil(spanMs / width) <= HISTOGRAM_MAX_BUCKETS);
  return fits ?? Math.ceil(spanMs / HISTOGRAM_MAX_BUCKETS / DAY) * DAY;
}

export const HISTOGRAM_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/histogram',
  summary: 'Matching events counted per time bucket over a range (default the last 24 hours); empty buckets included',
  access: READERS,
  query: z.object({
    q: rangeQuery.q,
    from: z.string().max(100).default('-24h'),
    to: z.string().max(100).default('now'),
  }),
  handler: async ({ query, services }) => {
    const search = toSearch(query, services.app.clock.now());
    // Both ends have defaults, and toSearch refused a period with no time in it.
    const fromMs = search.fromMs ?? 0;
    const toMs = search.toMs ?? 0;
    const bucketMs = bucketWidthFor(toMs - fromMs);
    const found = await services.app.store.histogram({ filter: search.filter, fromMs, toMs, bucketMs });
    const counts = new Map(found.map((bucket) => [bucket.startMs, bucket.count]));
    const buckets: { start: string; count: number }[] = [];
    for (let start = fromMs - (fromMs % bucketMs); start < toMs; start += bucketMs) {
      buckets.push({ start: new Date(start).toISOString(), count: counts.get(start) ?? 0 });
    }
    return {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      bucketMs,
      total: found.reduce((sum, bucket) => sum + bucket.count, 0),
      buckets,
    };
  },
});

export const FIELDS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/fields',
  summary: 'The fields of the query language with their type, a short description and their aliases',
  access: READERS,
  query: z.object({}),
  handler: () => Promise.resolve({ fields: FIELD_CATALOG }),
});

export const CHECK_QUERY_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/query/check',
  summary: 'Whether a query parses; if not, what is wrong and at which column (for checking while typing)',
  access: READERS,
  query: z.object({ q: rangeQuery.q }),
  handler: ({ query, services }) => {
    try {
      parseQuery(query.q, services.app.clock.now());
      return Promise.resolve({ valid: true, error: null });
    } catch (error) {
      if (!(error instanceof AppError) || !error.code.startsWith('QUERY_')) throw error;
      const column = error.details['column'];
      return Promise.resolve({
        valid: false,
        error: { code: error.code, message: error.message, column: typeof column === 'number' ? column : null },
      });
    }
  },
});

export const EXPORT_EVENTS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/export',
  summary: 'Stream every matching event as CSV or NDJSON (recorded in the audit trail)',
  access: EXPORTERS,
  query: z.object({
    ...rangeQuery,
    format: z.enum(['csv', 'ndjson']).default('ndjson'),
    order: z.enum(['asc', 'desc']).default('desc'),
  }),
  handler: async ({ query, principal, request, reply, services }) => {
    const caller = signedIn(principal);
    const clock = services.app.clock;
    const search = { ...toSearch(query, clock.now()), order: query.order };
    const extension = query.format === 'csv' ? 'csv' : 'ndjson';
    void reply
      .header('content-type', query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="zerotrail-events.${extension}"`);
    // Fastify answers HEAD through this handler too; no event leaves the server, so it is neither read nor audited.
    if (request.method === 'HEAD') return '';
    // The range as typed (-24h) says what was asked; as resolved, what went out, which the trail must tell later.
    const details = {
      format: query.format,
      query: query.q,
      from: query.from ?? null,
      to: query.to ?? null,
      fromTime: search.fromMs === undefined ? null : new Date(search.fromMs).toISOString(),
      toTime: search.toMs === undefined ? null : new Date(search.toMs).toISOString(),
    };
    const audit = (outcome: 'success' | 'failure', more: Readonly<Record<string, unknown>> = {}): Promise<void> =>
      services.audit({
        actor: caller.name,
        action: 'export',
        target: null,
        outcome,
        ip: request.ip,
        details: { ...details, ...more },
      });
    await audit('success');
    const store = services.app.store;
    let checkedAt = clock.now();
    let sent = 0;
    // The caller was authorized when the download began; a slow reader may keep it open for hours, so before each
    // chunk the key or session and the role are checked again, as a new request would be.
    async function stillAllowed(): Promise<void> {
      const now = clock.now();
      if (now - checkedAt < EXPORT_RECHECK_MS) return;
      try {
        requireRole(await authenticate(request, services.auth, now), EXPORTERS);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        // The download ends cut off, so the client sees it incomplete rather than as a finished file.
        await audit('failure', { stopped: error.code, eventsSent: sent });
        throw error;
      }
      checkedAt = now;
    }
    async function* rows(): AsyncGenerator<string> {
      if (query.format === 'csv') yield csvHeader();
      let after: string | undefined;
      do {
        const page = await store.search(search, { limit: EXPORT_FETCH, ...(after === undefined ? {} : { after }) });
        await stillAllowed();
        if (query.format === 'csv') yield eventsToCsvRows(page.events);
        else yield page.events.map((event) => `${JSON.stringify(eventToRecord(event))}\n`).join('');
        sent += page.events.length;
        after = page.nextPage ?? undefined;
      } while (after !== undefined);
    }
    // One chunk read ahead at most, so a revoked caller gets little beyond what was on its way already.
    return Readable.from(rows(), { highWaterMark: 1 });
  },
});

export const INVENTORY_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/inventory/:kind',
  summary: 'Current Zero Trust inventory of one kind (users, apps, devices, ...) across sources or for one',
  access: READERS,
  params: z.object({ kind: z.enum(INVENTORY_KINDS) }),
  query: z.object({ source: z.string().min(1).max(100).optional() }),
  handler: async ({ params, query, services }) => {
    const entities = await services.app.store.listInventory(params.kind, query.source);
    return {
      kind: params.kind,
      entities: entities.map((entity) => ({ ...entity, takenAt: new Date(entity.takenAt).toISOString() })),
    };
  },
});

async function eventById(store: Store, id: string): Promise<NormalizedEvent | undefined> {
  const page = await store.search(
    { filter: { kind: 'term', field: 'id', value: id, wildcard: false }, order: 'desc' },
    { limit: 1 },
  );
  return page.events[0];
}
