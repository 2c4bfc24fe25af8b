import { z } from 'zod';

// The web UI talks to the server only through these shapes. They are checked on arrival, so a server change
// that breaks the UI shows up as one clear error instead of an undefined deep inside a component.

export const ROLES = ['admin', 'analyst', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const userSchema = z.object({ name: z.string(), role: z.enum(ROLES) });
export type SignedInUser = z.infer<typeof userSchema>;

const loginSchema = z.object({ user: userSchema, csrfToken: z.string() });
const meSchema = z.object({ user: userSchema, csrfToken: z.string().nullable() });

const datasetHealthSchema = z.object({
  dataset: z.string(),
  kind: z.string(),
  required: z.boolean(),
  state: z.string(),
  lastSuccessAt: z.string().nullable(),
  lagSecs: z.number().nullable(),
  eventsLastHour: z.number(),
  eventsLast24h: z.number(),
  lastErrorCode: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type DatasetHealth = z.infer<typeof datasetHealthSchema>;

const sourceSchema = z.object({
  name: z.string(),
  type: z.string(),
  accountId: z.string(),
  tokenLast4: z.string().nullable(),
  createdAt: z.string(),
  paused: z.boolean(),
  pausedAt: z.string().nullable(),
  pausedBy: z.string().nullable(),
  datasets: z.array(datasetHealthSchema),
});
export type DataSource = z.infer<typeof sourceSchema>;

const datasetCheckSchema = z.object({
  dataset: z.string(),
  ok: z.boolean(),
  state: z.enum(['readable', 'permission_missing', 'unchecked']),
  required: z.boolean(),
  permission: z.string(),
  message: z.string(),
});
export type DatasetCheck = z.infer<typeof datasetCheckSchema>;

/** The per-dataset table a refused "add data source" carries in its error details, if it carries one. */
export function datasetChecksIn(details: Readonly<Record<string, unknown>>): readonly DatasetCheck[] | null {
  const parsed = z.array(datasetCheckSchema).safeParse(details['datasets']);
  return parsed.success ? parsed.data : null;
}

const connectionSchema = z.object({
  token: z.object({ status: z.string(), expiresOn: z.string().nullable() }),
  warnings: z.array(z.string()),
  requiredMissing: z.boolean(),
  datasets: z.array(datasetCheckSchema),
});
export type ConnectionReport = z.infer<typeof connectionSchema>;

/** An event as the API returns it; a timeline returns some of these fields (see timeline-page.tsx). */
export const eventSchema = z.object({
  id: z.string(),
  time: z.string(),
  source: z.string(),
  account_id: z.string(),
  dataset: z.string(),
  class_uid: z.number(),
  activity: z.string(),
  outcome: z.string(),
  user: z.string().nullable(),
  src_ip: z.string().nullable(),
  country: z.string().nullable(),
  app: z.string().nullable(),
  app_uid: z.string().nullable(),
  idp: z.string().nullable(),
  ray_id: z.string().nullable(),
  ocsf: z.record(z.string(), z.unknown()),
  raw: z.unknown(),
});
export type EventRecord = z.infer<typeof eventSchema>;

const eventPageSchema = z.object({ events: z.array(eventSchema), nextPage: z.string().nullable() });
export type EventPage = z.infer<typeof eventPageSchema>;

const histogramSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucketMs: z.number(),
  total: z.number(),
  buckets: z.array(z.object({ start: z.string(), count: z.number() })),
});
export type Histogram = z.infer<typeof histogramSchema>;

const fieldInfoSchema = z.object({
  name: z.string(),
  type: z.string(),
  description: z.string(),
  aliases: z.array(z.string()),
});
export type FieldInfo = z.infer<typeof fieldInfoSchema>;

const queryCheckSchema = z.object({
  valid: z.boolean(),
  error: z.object({ code: z.string(), message: z.string(), column: z.number().nullable() }).nullable(),
});
export type QueryCheck = z.infer<typeof queryCheckSchema>;

const aggregateSchema = z.object({
  buckets: z.array(z.object({ key: z.string().nullable(), count: z.number() })),
});

/** Where the browser downloads every match of a search from: a plain link, streamed by the server. */
export function exportUrl(search: Omit<EventSearch, 'limit' | 'after'>, format: 'csv' | 'ndjson'): string {
  const params = new URLSearchParams({ q: search.q, format });
  if (search.from !== '') params.set('from', search.from);
  if (search.to !== '') params.set('to', search.to);
  return `/api/export?${params.toString()}`;
}

const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
    hint: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** An answer other than success, in the words the server chose for people; `status` 0 means no answer at all. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: string;
  readonly status: number;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;
  readonly requestId: string | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: {
      hint?: string | undefined;
      details?: Record<string, unknown> | undefined;
      requestId?: string | undefined;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = extra.hint;
    this.details = extra.details ?? {};
    this.requestId = extra.requestId;
  }
}

/**
 * What a failure says to a person: the server's message and its hint when it has a one-line one (a hint over
 * several lines is written for the CLI). `fallback` speaks for anything that is not an answer of the API.
 */
export function errorText(failure: unknown, fallback: string): string {
  if (!(failure instanceof ApiError)) return fallback;
  const hint = failure.hint === undefined || failure.hint.includes('\n') ? '' : ` ${failure.hint}`;
  return `${failure.message}${hint}`;
}

export interface EventSearch {
  readonly q: string;
  readonly from: string;
  readonly to: string;
  readonly limit: number;
  readonly after?: string | undefined;
}

const dashboardCountSchema = z.object({
  key: z.string(),
  total: z.number(),
  allowed: z.number(),
  denied: z.number(),
});
export type DashboardCount = z.infer<typeof dashboardCountSchema>;
const newValuesSchema = z.object({
  count: z.number(),
  first: z.array(z.object({ key: z.string(), firstSeenMs: z.number() })),
});
const dashboardSchema = z.object({
  fromMs: z.number(),
  toMs: z.number(),
  bucketMs: z.number(),
  series: z.array(z.object({ startMs: z.number(), allowed: z.number(), denied: z.number(), other: z.number() })),
  totals: z.object({ total: z.number(), allowed: z.number(), denied: z.number(), other: z.number() }),
  users: z.array(dashboardCountSchema),
  apps: z.array(dashboardCountSchema),
  idps: z.array(dashboardCountSchema),
  countries: z.array(dashboardCountSchema),
  denied: z.array(dashboardCountSchema),
  newUsers: newValuesSchema,
  newApps: newValuesSchema,
  newCountries: newValuesSchema,
});
export type Dashboard = z.infer<typeof dashboardSchema>;

const CSRF_HEADER = 'x-csrf-token';

/**
 * The HTTP API as the UI uses it. Keeps the session's CSRF token in memory only (the session cookie itself is
 * httpOnly), and tells `onSignedOut` when the server no longer knows the session.
 */
export class ApiClient {
  #csrfToken: string | null = null;
  readonly #onSignedOut: (message: string) => void;

  constructor(onSignedOut: (message: string) => void) {
    this.#onSignedOut = onSignedOut;
  }

  /** The signed-in user of the current cookie, or null when nobody is signed in. */
  async currentUser(): Promise<SignedInUser | null> {
    try {
      const me = await this.request('GET', '/api/me', meSchema, undefined, { quietSignOut: true });
      this.#csrfToken = me.csrfToken;
      return me.user;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
  }

  async login(name: string, password: string): Promise<SignedInUser> {
    const answer = await this.request('POST', '/api/login', loginSchema, { name, password }, { quietSignOut: true });
    this.#csrfToken = answer.csrfToken;
    return answer.user;
  }

  async logout(): Promise<void> {
    try {
      await this.request('POST', '/api/logout', z.unknown(), undefined, { quietSignOut: true });
    } finally {
      this.#csrfToken = null;
    }
  }

  async listSources(): Promise<readonly DataSource[]> {
    return (await this.sourcesOverview()).sources;
  }

  /** The sources, and how many collectors are alive: none means nothing collects them (an API-only server). */
  async sourcesOverview(): Promise<{ readonly sources: readonly DataSource[]; readonly collectors: number }> {
    return this.request(
      'GET',
      '/api/sources',
      z.object({ sources: z.array(sourceSchema), collectors: z.number().int().min(0) }),
    );
  }

  async addSource(input: {
    readonly apiToken: string;
    readonly accountId: string;
    readonly name: string;
  }): Promise<{ readonly source: DataSource | null; readonly connection: ConnectionReport }> {
    return this.request(
      'POST',
      '/api/sources',
      z.object({ source: sourceSchema.nullable(), connection: connectionSchema }),
      input,
    );
  }

  async testSource(name: string): Promise<ConnectionReport> {
    const path = `/api/sources/${encodeURIComponent(name)}/test`;
    return (await this.request('POST', path, z.object({ connection: connectionSchema }))).connection;
  }

  /** The connection test of a token and Account ID that are not saved yet. */
  async testNewSource(input: { readonly apiToken: string; readonly accountId: string }): Promise<ConnectionReport> {
    return (await this.request('POST', '/api/sources/test', z.object({ connection: connectionSchema }), input))
      .connection;
  }

  async setSourcePaused(name: string, paused: boolean): Promise<DataSource | null> {
    const path = `/api/sources/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`;
    return (await this.request('POST', path, z.object({ source: sourceSchema.nullable() }))).source;
  }

  /** Replaces the token and/or the Account ID; the server tests them first and refuses what does not work. */
  async editSource(
    name: string,
    input: { readonly apiToken?: string; readonly accountId?: string },
  ): Promise<{
    readonly source: DataSource | null;
    readonly connection: ConnectionReport;
    readonly collectionReset: boolean;
  }> {
    return this.request(
      'POST',
      `/api/sources/${encodeURIComponent(name)}/edit`,
      z.object({ source: sourceSchema.nullable(), connection: connectionSchema, collectionReset: z.boolean() }),
      input,
    );
  }

  async removeSource(name: string): Promise<void> {
    await this.request('DELETE', `/api/sources/${encodeURIComponent(name)}`, z.unknown());
  }

  async searchEvents(search: EventSearch): Promise<EventPage> {
    const params = new URLSearchParams({ q: search.q, limit: String(search.limit) });
    if (search.from !== '') params.set('from', search.from);
    if (search.to !== '') params.set('to', search.to);
    if (search.after !== undefined) params.set('after', search.after);
    return this.request('GET', `/api/events?${params.toString()}`, eventPageSchema);
  }

  async getEvent(id: string): Promise<EventRecord> {
    return (await this.request('GET', `/api/events/${encodeURIComponent(id)}`, z.object({ event: eventSchema }))).event;
  }

  async histogram(search: Omit<EventSearch, 'limit' | 'after'>): Promise<Histogram> {
    const params = new URLSearchParams({ q: search.q });
    if (search.from !== '') params.set('from', search.from);
    if (search.to !== '') params.set('to', search.to);
    return this.request('GET', `/api/histogram?${params.toString()}`, histogramSchema);
  }

  async fields(): Promise<readonly FieldInfo[]> {
    return (await this.request('GET', '/api/fields', z.object({ fields: z.array(fieldInfoSchema) }))).fields;
  }

  async checkQuery(q: string): Promise<QueryCheck> {
    return this.request('GET', `/api/query/check?${new URLSearchParams({ q }).toString()}`, queryCheckSchema);
  }

  /** The most frequent values of one field in a time range, most frequent first. */
  async topValues(
    field: string,
    range: { readonly from: string; readonly to: string },
    limit: number,
  ): Promise<readonly { readonly key: string | null; readonly count: number }[]> {
    const params = new URLSearchParams({ groupBy: field, limit: String(limit) });
    if (range.from !== '') params.set('from', range.from);
    if (range.to !== '') params.set('to', range.to);
    return (await this.request('GET', `/api/aggregate?${params.toString()}`, aggregateSchema)).buckets;
  }

  /** Authentications over a period (API time expressions), of every source or of one. */
  async dashboard(range: {
    readonly from: string;
    readonly to: string;
    readonly source: string | null;
  }): Promise<Dashboard> {
    const params = new URLSearchParams({ from: range.from, to: range.to });
    if (range.source !== null) params.set('source', range.source);
    return this.request('GET', `/api/dashboard?${params.toString()}`, dashboardSchema);
  }

  /**
   * One call to the API: the CSRF token on state-changing requests, errors as ApiError in plain words, the
   * answer checked with `schema`, and an ended session reported to `onSignedOut`. Every page calls through it.
   */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    options: { readonly quietSignOut?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.#csrfToken !== null) headers[CSRF_HEADER] = this.#csrfToken;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'NETWORK',
        'zerotrail cannot be reached. Check that the server is running, then try again.',
        {
          details: { cause: String(error) },
        },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = errorBodySchema.safeParse(json);
      const error = parsed.success
        ? new ApiError(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error)
        : new ApiError(response.status, 'HTTP_ERROR', `The server answered with status ${response.status}.`);
      if (error.status === 401 && error.code === 'AUTH_REQUIRED' && options.quietSignOut !== true) {
        this.#csrfToken = null;
        this.#onSignedOut('Your session has ended. Sign in again to continue.');
      }
      throw error;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(
        response.status,
        'UI_RESPONSE_UNEXPECTED',
        'The server sent an answer this page does not understand; reload the page.',
      );
    }
    return parsed.data;
  }
}
