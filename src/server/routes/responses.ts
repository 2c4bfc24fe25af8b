import { z } from 'zod';
import { ROLES } from '../../store/auth-store.js';

// What the routes answer, for /api/openapi.json. The handlers build plain objects, so these shapes are written
// out here; openapi.test.ts checks real answers of the routes against the description built from them, so a
// handler that changes its answer without this file fails there.

const isoTime = z.string().describe('ISO 8601 time in UTC');
const user = z.object({ name: z.string(), role: z.enum(ROLES) });

const event = z.object({
  id: z.string(),
  time: isoTime,
  source: z.string(),
  account_id: z.string(),
  dataset: z.string(),
  class_uid: z.number().int(),
  activity: z.string(),
  outcome: z.string(),
  user: z.string().nullable(),
  src_ip: z.string().nullable(),
  country: z.string().nullable(),
  app: z.string().nullable(),
  app_uid: z.string().nullable(),
  idp: z.string().nullable(),
  ray_id: z.string().nullable(),
  ocsf: z.record(z.string(), z.unknown()).describe('the event as OCSF'),
  raw: z.unknown().describe("Cloudflare's record as collected"),
});

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
const CLOSE_REASONS = ['true_positive', 'benign', 'false_positive'] as const;

const alert = z.object({
  id: z.string(),
  ruleId: z.string(),
  title: z.string(),
  severity: z.enum(SEVERITIES),
  technique: z.string(),
  entity: z.object({ user: z.string().nullable(), ip: z.string().nullable(), app: z.string().nullable() }),
  firstEventTime: isoTime,
  lastEventTime: isoTime,
  count: z.number().int(),
  summary: z.string(),
  status: z.enum(ALERT_STATUSES),
  closeReason: z.enum(CLOSE_REASONS).nullable(),
  assignee: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

const alertHistory = z.object({
  at: isoTime,
  actor: z.string(),
  action: z.string(),
  details: z.record(z.string(), z.unknown()),
});

const dashboardCount = z.object({
  key: z.string(),
  total: z.number().int(),
  allowed: z.number().int(),
  denied: z.number().int(),
});
const newValues = z.object({
  count: z.number().int(),
  first: z.array(z.object({ key: z.string(), firstSeenMs: z.number().int() })),
});

const apiKey = z.object({
  id: z.number().int(),
  user: z.string().nullable().describe('null when the owner was removed'),
  role: z.enum(ROLES).nullable(),
  label: z.string(),
  prefix: z.string(),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable(),
});

const auditEntry = z.object({
  id: z.number().int(),
  at: isoTime,
  actor: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

const alertChanged: ResponseDoc = { schema: z.object({ alert, history: z.array(alertHistory) }) };

const retention: ResponseDoc = {
  schema: z.object({
    retention: z.object({
      days: z.number().int(),
      origin: z.enum(['settings', 'config']).describe('who chose it: an admin through the API, or the config file'),
      configDays: z.number().int(),
      minDays: z.number().int(),
      maxDays: z.number().int(),
    }),
  }),
};

/** A header an answer carries, as OpenAPI describes it. */
export interface HeaderDoc {
  readonly description: string;
}

/** How one route answers on success, beyond its status. */
export interface ResponseDoc {
  /** The JSON body; without it the body is only said to be a JSON object. */
  readonly schema?: z.ZodType;
  /** Other media types than JSON, each with what it holds (replaces the JSON body). */
  readonly media?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, HeaderDoc>>;
  readonly description?: string;
}

/** By `METHOD /url` as the route is defined. */
export const ROUTE_RESPONSES: Readonly<Record<string, ResponseDoc>> = {
  'GET /api/health': { schema: z.object({ status: z.literal('ok') }) },
  'POST /api/login': {
    schema: z.object({ user, csrfToken: z.string(), expiresAt: isoTime }),
    headers: { 'Set-Cookie': { description: 'the session cookie (zt_session), httpOnly, SameSite=Strict' } },
  },
  'GET /api/login/link': {
    description: 'Signed in: the session cookie is set and the answer redirects to the web UI',
    schema: z.object({ user, location: z.literal('/') }),
    headers: {
      Location: { description: 'the web UI, `/`' },
      'Set-Cookie': { description: 'the session cookie (zt_session), httpOnly, SameSite=Strict' },
    },
  },
  'POST /api/logout': { schema: z.object({ loggedOut: z.literal(true) }) },
  'GET /api/me': {
    schema: z.object({
      user,
      via: z.enum(['session', 'api_key']),
      csrfToken: z.string().nullable().describe('null when signed in with an API key'),
    }),
  },
  'GET /api/events': {
    schema: z.object({
      events: z.array(event),
      nextPage: z.string().nullable().describe('pass as `after` for the next page; null on the last page'),
    }),
  },
  'GET /api/events/:id': { schema: z.object({ event }) },
  'GET /api/aggregate': {
    schema: z.object({
      groupBy: z.string(),
      buckets: z.array(z.object({ key: z.string().nullable(), count: z.number().int() })),
    }),
  },
  'GET /api/histogram': {
    schema: z.object({
      from: isoTime,
      to: isoTime,
      bucketMs: z.number().int(),
      total: z.number().int(),
      buckets: z.array(z.object({ start: isoTime, count: z.number().int() })),
    }),
  },
  'GET /api/fields': {
    schema: z.object({
      fields: z.array(
        z.object({ name: z.string(), type: z.string(), description: z.string(), aliases: z.array(z.string()) }),
      ),
    }),
  },
  'GET /api/query/check': {
    schema: z.object({
      valid: z.boolean(),
      error: z.object({ code: z.string(), message: z.string(), column: z.number().int().nullable() }).nullable(),
    }),
  },
  'GET /api/export': {
    description: 'Every matching event, streamed; the format parameter picks the media type',
    media: {
      'application/x-ndjson': 'one event per line, each a JSON object shaped as in /api/events (format=ndjson)',
      'text/csv': 'a header row, then one row per event (format=csv)',
    },
    headers: { 'Content-Disposition': { description: 'attachment; filename="zerotrail-events.ndjson" or ".csv"' } },
  },
  'GET /api/dashboard': {
    schema: z.object({
      fromMs: z.number().int(),
      toMs: z.number().int(),
      bucketMs: z.number().int(),
      series: z.array(
        z.object({
          startMs: z.number().int(),
          allowed: z.number().int(),
          denied: z.number().int(),
          other: z.number().int(),
        }),
      ),
      totals: z.object({
        total: z.number().int(),
        allowed: z.number().int(),
        denied: z.number().int(),
        other: z.number().int(),
      }),
      users: z.array(dashboardCount),
      apps: z.array(dashboardCount),
      idps: z.array(dashboardCount),
      countries: z.array(dashboardCount),
      denied: z.array(dashboardCount),
      newUsers: newValues,
      newApps: newValues,
      newCountries: newValues,
    }),
  },
  'GET /api/users': {
    schema: z.object({ users: z.array(z.object({ name: z.string(), role: z.enum(ROLES), createdAt: isoTime })) }),
  },
  'POST /api/apikeys': {
    schema: z.object({
      apiKey: z.object({
        id: z.number().int(),
        user: z.string(),
        role: z.enum(ROLES),
        label: z.string(),
        prefix: z.string(),
      }),
      key: z.string().describe('the key itself, in this answer only'),
      notice: z.string(),
    }),
  },
  'GET /api/apikeys': { schema: z.object({ apiKeys: z.array(apiKey) }) },
  'DELETE /api/apikeys/:id': { schema: z.object({ revoked: z.number().int() }) },
  'GET /api/audit': {
    schema: z.object({
      entries: z.array(auditEntry),
      nextBefore: z.number().int().nullable().describe('pass as `before` for older entries; null at the oldest'),
    }),
  },
  'GET /api/alerts': {
    schema: z.object({
      alerts: z.array(alert),
      total: z.number().int(),
      page: z.number().int(),
      limit: z.number().int(),
      totalIsExact: z.boolean().describe('false when more alerts exist than were counted'),
    }),
  },
  'GET /api/alerts/:id': {
    schema: z.object({
      alert: alert.extend({ details: z.record(z.string(), z.unknown()) }),
      evidence: z.array(z.object({ eventId: z.string(), eventTime: isoTime })),
      history: z.array(alertHistory),
    }),
  },
  'POST /api/alerts/:id/ack': alertChanged,
  'POST /api/alerts/:id/close': alertChanged,
  'POST /api/alerts/:id/reopen': alertChanged,
  'POST /api/alerts/:id/assign': alertChanged,
  'POST /api/alerts/:id/comment': alertChanged,
  'GET /api/settings/retention': retention,
  'POST /api/settings/retention': retention,
};
