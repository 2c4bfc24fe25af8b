import { Readable } from 'node:stream';
import { z } from 'zod';
import { csvHeader, eventsToCsvRows, eventToRecord } from '../../core/event-export.js';
import { parseTimeExpression } from '../../core/time-expression.js';
import { NotFoundError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { INVENTORY_KINDS } from '../../core/inventory.js';
import { parseQuery } from '../../store/query-language.js';
import { SEARCH_FIELDS, type SearchQuery } from '../../store/search-query.js';
import type { Store } from '../../store/store.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute } from './route.js';

const READERS = ['admin', 'analyst', 'viewer'] as const;
// Exports copy customer data out of zerotrail; viewers only look.
const EXPORTERS = ['admin', 'analyst'] as const;
// One page of the UI's virtualized table; bigger reads go through the export.
const MAX_PAGE = 1000;
// Large enough to amortise each query, small enough to keep memory flat while streaming.
const EXPORT_FETCH = 1000;

const rangeQuery = {
  q: z.string().max(10_000).default(''),
  from: z.string().max(100).optional(),
  to: z.string().max(100).optional(),
};

const searchQuery = z.object({
  ...rangeQuery,
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
  after: z.string().max(1000).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

/** The CLI's query language and time expressions, so a query copied from the terminal works the same here. */
function toSearch(
  input: { readonly q: string; readonly from?: string | undefined; readonly to?: string | undefined },
  nowMs: number,
): Omit<SearchQuery, 'order'> {
  const filter = parseQuery(input.q);
  return {
    filter,
    ...(input.from === undefined ? {} : { fromMs: parseTimeExpression(input.from, nowMs, 'from') }),
    ...(input.to === undefined ? {} : { toMs: parseTimeExpression(input.to, nowMs, 'to') }),
  };
}

export const SEARCH_EVENTS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/events',
  summary: 'Search stored events with the query language; keyset paging through nextPage/after',
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
    limit: z.coerce.number().int().min(1).max(1000).default(10),
  }),
  handler: async ({ query, services }) => {
    const search = toSearch(query, services.app.clock.now());
    const buckets = await services.app.store.aggregate({ ...search, groupBy: query.groupBy, limit: query.limit });
    return { groupBy: query.groupBy, buckets };
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
    const search = { ...toSearch(query, services.app.clock.now()), order: query.order };
    await services.audit({
      actor: caller.name,
      action: 'export',
      target: null,
      outcome: 'success',
      ip: request.ip,
      details: { format: query.format, query: query.q, from: query.from ?? null, to: query.to ?? null },
    });
    const store = services.app.store;
    async function* rows(): AsyncGenerator<string> {
      if (query.format === 'csv') yield csvHeader();
      let after: string | undefined;
      do {
        const page = await store.search(search, { limit: EXPORT_FETCH, ...(after === undefined ? {} : { after }) });
        if (query.format === 'csv') yield eventsToCsvRows(page.events);
        else yield page.events.map((event) => `${JSON.stringify(eventToRecord(event))}\n`).join('');
        after = page.nextPage ?? undefined;
      } while (after !== undefined);
    }
    const extension = query.format === 'csv' ? 'csv' : 'ndjson';
    void reply
      .header('content-type', query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="zerotrail-events.${extension}"`);
    return Readable.from(rows());
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
