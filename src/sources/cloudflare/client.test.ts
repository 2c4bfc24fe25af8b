import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock, systemClock } from '../../core/clock.js';
import { SourceError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import {
  envelope,
  failure,
  startFixtureServer,
  type FixtureServer,
  type RecordedRequest,
} from '../../../test/helpers/fixture-server.js';
import {
  CloudflareClient,
  isAccountDenied,
  isPermissionMissing,
  isRouteMissing,
  parseRetryAfter,
  tokenFingerprint,
  type CloudflareClientOptions,
} from './client.js';
import { RateBudget } from './rate-budget.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'tok-SENSITIVE-0123456789abcdefghijklmnop';
const PERMISSION = 'Access: Audit Logs Read';
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 };
const itemsSchema = z.array(z.looseObject({ id: z.string() }));

interface Harness {
  readonly server: FixtureServer;
  readonly client: CloudflareClient;
  readonly metrics: Metrics;
  readonly logs: string[];
  readonly budget: RateBudget;
}

let servers: FixtureServer[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function harness(overrides: Partial<CloudflareClientOptions> = {}, prefix = '/client/v4'): Promise<Harness> {
  const server = await startFixtureServer();
  servers.push(server);
  const logs: string[] = [];
  const metrics = new Metrics();
  const budget = new RateBudget({ requests: 10_000, windowSecs: 1, share: 1, clock: systemClock });
  const client = new CloudflareClient({
    baseUrl: `${server.url}${prefix}`,
    accountId: ACCOUNT_ID,
    token: new Secret(TOKEN),
    timeoutMs: 2000,
    rateBudget: budget,
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => logs.push(line) } }),
    metrics,
    clock: systemClock,
    retryPolicy: FAST_RETRY,
    ...overrides,
  });
  return { server, client, metrics, logs, budget };
}

async function caught(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

function get(h: Harness, signal = new AbortController().signal): Promise<unknown> {
  return h.client.get(h.client.accountPath('/things'), { limit: 5 }, itemsSchema, signal, { permission: PERMISSION });
}

describe('CloudflareClient', () => {
  it('sends a bearer token under the configured path prefix and parses the envelope', async () => {
    const h = await harness({ userAgent: 'zerotrail-test' }, '/proxy/cf/client/v4');
    h.server.enqueue({
      body: envelope([{ id: 'a', extra: 1 }], {
        result_info: { page: 2, per_page: 1, count: 1, total_count: 9, vendor_new: true },
      }),
      headers: { 'x-custom': 'yes' },
    });
    const response = await h.client.get(
      h.client.accountPath('/things'),
      { limit: 5, direction: 'asc', skipped: undefined },
      itemsSchema,
      new AbortController().signal,
    );
    expect(response.result).toEqual([{ id: 'a', extra: 1 }]);
    expect(response.resultInfo).toEqual({ page: 2, perPage: 1, count: 1, totalCount: 9 });
    expect(response.headers.get('x-custom')).toBe('yes');
    const [request] = h.server.requests;
    expect(request?.path).toBe(`/proxy/cf/client/v4/accounts/${ACCOUNT_ID}/things`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ limit: '5', direction: 'asc' });
    expect(request?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers['user-agent']).toBe('zerotrail-test');
    expect(h.metrics.value('source_requests_total', { status: '200' })).toBe(1);
  });

  it('sends an array as the same key repeated, in order, and leaves an empty array out', async () => {
    const h = await harness();
    h.server.enqueue({ body: envelope([]) });
    await h.client.get(
      h.client.accountPath('/access/logs/scim/updates'),
      { idp_id: ['idp-a', 'idp-b'], status: [], per_page: 10 },
      itemsSchema,
      new AbortController().signal,
    );
    const query = h.server.requests[0]?.query;
    expect(query?.getAll('idp_id')).toEqual(['idp-a', 'idp-b']);
    expect(query?.has('status')).toBe(false);
    expect(h.server.requests[0]?.url).toContain('idp_id=idp-a&idp_id=idp-b&per_page=10');
  });

  it('exposes the cursor of cursor-paged result_info, with a string count and a null total_count', async () => {
    const h = await harness();
    h.server.enqueue(
      { body: envelope([{ id: 'a' }], { result_info: { count: '1', cursor: 'Y3Vyc29yLTI=' } }) },
      { body: envelope([{ id: 'b' }], { result_info: { count: 1, cursor: '', per_page: 1, total_count: null } }) },
    );
    const first = await get(h);
    expect(first).toMatchObject({ resultInfo: { count: 1, cursor: 'Y3Vyc29yLTI=' } });
    const last = await get(h);
    expect((last as { resultInfo: unknown }).resultInfo).toEqual({ count: 1, cursor: '', perPage: 1 });
  });

  it('tells a missing route, an account the token cannot reach and a missing permission apart', async () => {
    const h = await harness();
    h.server.enqueue(
      { status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) },
      { status: 403, body: failure([{ code: 9109, message: 'Unauthorized to access requested resource' }]) },
      { status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) },
    );
    const missing = await caught(get(h));
    const foreign = await caught(get(h));
    const lacking = await caught(get(h));
    expect(
      [missing, foreign, lacking].map((e) => [isRouteMissing(e), isAccountDenied(e), isPermissionMissing(e)]),
    ).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ]);
    expect(isRouteMissing(new Error('not ours'))).toBe(false);
  });

  it('accepts a base URL with a trailing slash', async () => {
    const h = await harness({}, '/client/v4/');
    h.server.enqueue({ body: envelope([]) });
    await get(h);
    expect(h.server.requests[0]?.path).toBe(`/client/v4/accounts/${ACCOUNT_ID}/things`);
  });

  it('joins the path to a base URL with a query or fragment after its own path, not inside them', async () => {
    for (const prefix of ['/client/v4?x=1', '/client/v4/?x=1#top', '/client/v4#top', '/client/v4?']) {
      const h = await harness({}, prefix);
      h.server.enqueue({ body: envelope([{ id: 'a' }]) });
      await expect(get(h), prefix).resolves.toMatchObject({ result: [{ id: 'a' }] });
      const [request] = h.server.requests;
      expect(request?.path, prefix).toBe(`/client/v4/accounts/${ACCOUNT_ID}/things`);
      const query = Object.fromEntries(request?.query ?? []);
      expect(query, prefix).toEqual(prefix.includes('x=1') ? { x: '1', limit: '5' } : { limit: '5' });
    }
  });

  const permanent: readonly {
    readonly name: string;
    readonly status: number;
    readonly body: string;
    readonly code: string;
    readonly mentions: readonly string[];
  }[] = [
    {
      name: '10000 Authentication error',
      status: 403,
      body: failure([{ code: 10000, message: 'Authentication error' }]),
      code: 'SOURCE_PERMISSION_DENIED',
      mentions: [PERMISSION, ACCOUNT_ID],
    },
    {
      name: '9109 Unauthorized to access requested resource',
      status: 403,
      body: failure([{ code: 9109, message: 'Unauthorized to access requested resource' }]),
      code: 'SOURCE_PERMISSION_DENIED',
      mentions: [PERMISSION, ACCOUNT_ID],
    },
    {
      name: '9109 Invalid access token',
      status: 403,
      body: failure([{ code: 9109, message: 'Invalid access token' }]),
      code: 'SOURCE_AUTH_FAILED',
      mentions: ['invalid, expired or revoked', 'not a missing permission', 'Create a new token', PERMISSION],
    },
    {
      name: 'a 401',
      status: 401,
      body: failure([{ code: 1000, message: 'Invalid API Token' }]),
      code: 'SOURCE_AUTH_FAILED',
      mentions: ['Create a new token', 'expired'],
    },
    {
      name: '7003 No route for the URI',
      status: 400,
      body: failure([{ code: 7003, message: 'No route for the URI' }]),
      code: 'SOURCE_ACCOUNT_NOT_FOUND',
      mentions: ['Account ID', '32-character id in the dashboard URL', ACCOUNT_ID],
    },
    {
      name: '7000 Could not route',
      status: 400,
      body: failure([
        { code: 7000, message: 'Could not route to /accounts/x, perhaps your object identifier is invalid?' },
      ]),
      code: 'SOURCE_ACCOUNT_NOT_FOUND',
      mentions: ['Account ID'],
    },
    {
      name: '7003 No route',
      status: 404,
      body: failure([{ code: 7003, message: 'Could not route to /accounts/x/things' }]),
      code: 'SOURCE_ACCOUNT_NOT_FOUND',
      mentions: ['32-character id in the dashboard URL'],
    },
    {
      name: '6003 with error_chain 6111',
      status: 400,
      body: JSON.stringify({
        success: false,
        errors: [
          {
            code: 6003,
            message: 'Invalid request headers',
            error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
          },
        ],
        messages: [],
        result: null,
      }),
      code: 'SOURCE_TOKEN_INVALID',
      mentions: ['Authorization header', '6111'],
    },
    {
      name: '9106 Missing headers',
      status: 400,
      body: failure([{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }]),
      code: 'SOURCE_TOKEN_INVALID',
      mentions: ['Paste the token again'],
    },
    {
      name: 'another 4xx',
      status: 400,
      body: failure([{ code: 1001, message: 'Invalid value for since' }]),
      code: 'SOURCE_REQUEST_REJECTED',
      mentions: ['1001', 'Invalid value for since'],
    },
  ];

  for (const scenario of permanent) {
    it(`maps ${scenario.name} to ${scenario.code} without retrying`, async () => {
      const h = await harness();
      h.server.setFallback({ status: scenario.status, body: scenario.body });
      const error = await caught(get(h));
      expect(error.code).toBe(scenario.code);
      expect(error.retryable).toBe(false);
      for (const text of scenario.mentions) expect(error.message).toContain(text);
      expect(h.server.requests).toHaveLength(1);
      expect(error.details['status']).toBe(scenario.status);
    });
  }

  it('blames neither the token nor the account for a refusal that never reached the API, and tries again', async () => {
    const blocks = [
      { status: 403, body: '<html><title>Attention Required! | Cloudflare</title>Error 1020</html>' },
      { status: 401, body: '{"message":"proxy authentication required"}' },
      { status: 404, body: '<html>Not Found</html>' },
    ];
    for (const block of blocks) {
      const h = await harness({ retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
      h.server.setFallback(block);
      const error = await caught(get(h));
      expect(error.code, block.body).toBe('SOURCE_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(`HTTP ${block.status}`);
      expect(error.message).not.toContain(PERMISSION);
      expect(error.hint).toContain('CLOUDFLARE_API_BASE_URL');
      expect(h.server.requests).toHaveLength(2);
    }
  });

  it('asks for a new token with every permission zerotrail needs when Cloudflare refuses the token itself', async () => {
    const h = await harness();
    h.server.setFallback({ status: 403, body: failure([{ code: 9109, message: 'Invalid access token' }]) });
    const base =
      '"Access: Audit Logs Read", "Access: Organizations, Identity Providers, and Groups Read" and "Zero Trust Read"';
    const optional =
      'and for the optional datasets "Access: Apps and Policies Read" (apps, policies), "Access: SCIM Logs Read" (scim_updates) and "Account Settings Read" (audit_logs).';
    // Listing identity providers needs a base permission, but the SCIM logs it serves need one more.
    const forScim = await caught(
      h.client.get(h.client.accountPath('/access/identity_providers'), {}, itemsSchema, new AbortController().signal, {
        permission: 'Access: Organizations, Identity Providers, and Groups Read',
        dataset: 'scim_updates',
      }),
    );
    expect(forScim.code).toBe('SOURCE_AUTH_FAILED');
    expect(forScim.message).toBe(
      `Cloudflare rejected the API token as invalid, expired or revoked (HTTP 403, 9109 Invalid access token); this is not a missing permission. Create a new token for account ${ACCOUNT_ID} with the read permissions zerotrail needs: ${base}, ${optional}`,
    );
    const forGroups = await caught(
      h.client.get(h.client.accountPath('/access/groups'), {}, itemsSchema, new AbortController().signal, {
        permission: 'Access: Organizations, Identity Providers, and Groups Read',
        dataset: 'groups',
      }),
    );
    // The same words for every request, so the datasets that fail on one revoked token are reported together.
    expect(forGroups.message).toBe(forScim.message);
    const forApps = await caught(
      h.client.get(h.client.accountPath('/access/apps'), {}, itemsSchema, new AbortController().signal, {
        permission: 'Access: Apps and Policies Read',
      }),
    );
    expect(forApps.message).toBe(forScim.message);
  });

  it("keeps Cloudflare's error codes and messages in the details of a rejected request", async () => {
    const h = await harness();
    h.server.setFallback({ status: 422, body: failure([{ code: 1002, message: 'per_page too large' }]) });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_REQUEST_REJECTED');
    expect(error.details['errors']).toEqual([{ code: 1002, message: 'per_page too large' }]);
  });

  it('waits the Retry-After of a 429 and then succeeds, logging and counting the retry', async () => {
    const h = await harness();
    h.server.enqueue(
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: failure([{ code: 971, message: 'Please wait and consider throttling your request speed' }]),
      },
      { body: envelope([{ id: 'x' }]) },
    );
    const started = Date.now();
    const response = await h.client.get('/things', {}, itemsSchema, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(response.result).toEqual([{ id: 'x' }]);
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_RATE_LIMITED' })).toBe(1);
    expect(h.metrics.value('source_requests_total', { status: '429' })).toBe(1);
    const retryLine = h.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l['level'] === 40);
    expect(retryLine).toMatchObject({ path: '/things', attempt: 1, delayMs: 1000, code: 'SOURCE_RATE_LIMITED' });
  });

  it('blocks the shared budget on a 429 and throws a retryable error once the attempts run out', async () => {
    const h = await harness({ retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
    h.server.setFallback({
      status: 429,
      headers: { 'retry-after': '0' },
      body: failure([{ code: 971, message: 'slow down' }]),
    });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.details['retryAfterMs']).toBe(0);
    expect(h.server.requests).toHaveLength(2);
    // Still true once the retries are over, and the quota named is the one configured.
    expect(error.message).toMatch(/^Cloudflare rate-limited requests with this token \(.*\) and asked to wait 0 s\.$/);
    expect(error.hint).toBe(
      'Other tools using the same token share its quota of 10000 requests per 1 s; lower rate_share or give this source its own token.',
    );
    expect(new RateBudget({ requests: 1200, windowSecs: 300, share: 0.5, clock: systemClock }).describeLimit()).toBe(
      '1200 requests per 5 minutes',
    );

    const blocked = await harness();
    blocked.server.setFallback({
      status: 429,
      headers: { 'retry-after': '120' },
      body: failure([{ code: 971, message: 'slow down' }]),
    });
    const controller = new AbortController();
    const pending = get(blocked, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(blocked.budget.waitMs()).toBeGreaterThan(100_000);
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    expect(parseRetryAfter('30', clock.now())).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:45 GMT', clock.now())).toBe(45_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', clock.now())).toBe(0);
    expect(parseRetryAfter('soon', clock.now())).toBeUndefined();
    // Decimal seconds from a proxy are seconds; Date.parse would take "1.5" for a date long past, a wait of 0.
    expect(parseRetryAfter('1.5', clock.now())).toBe(1_500);
    expect(parseRetryAfter('0.25', clock.now())).toBe(250);
    expect(parseRetryAfter('1,2', clock.now())).toBeUndefined();
    expect(parseRetryAfter('2026-01-01', clock.now())).toBeUndefined();
    // Cloudflare blocks for five minutes at most; a day-long wait would park the collector silently.
    expect(parseRetryAfter('86400', clock.now())).toBe(300_000);
    expect(parseRetryAfter('Fri, 02 Jan 2026 00:00:00 GMT', clock.now())).toBe(300_000);
    expect(parseRetryAfter(null, clock.now())).toBeUndefined();
  });

  it('feeds the Ratelimit header into the budget', async () => {
    const h = await harness();
    h.server.enqueue({ body: envelope([]), headers: { ratelimit: '"default";r=0;t=30' } });
    await get(h);
    expect(h.budget.waitMs()).toBeGreaterThan(25_000);
  });

  it('retries a 5xx HTML page from the edge, then succeeds', async () => {
    const h = await harness();
    h.server.enqueue(
      { status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' },
      { body: envelope([{ id: 'ok' }]) },
    );
    const response = await h.client.get('/things', {}, itemsSchema, new AbortController().signal);
    expect(response.result).toEqual([{ id: 'ok' }]);
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_UNAVAILABLE' })).toBe(1);
  });

  it('retries a 408 from the edge and a 409, which pass on a repeat, then succeeds', async () => {
    const h = await harness();
    h.server.enqueue(
      { status: 408, headers: { 'content-type': 'text/html' }, body: '<html><body>408 Request Timeout</body></html>' },
      { status: 409, body: failure([{ code: 1009, message: 'Conflict' }]) },
      { body: envelope([{ id: 'ok' }]) },
    );
    const response = await h.client.get('/things', {}, itemsSchema, new AbortController().signal);
    expect(response.result).toEqual([{ id: 'ok' }]);
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_TIMEOUT' })).toBe(1);
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_UNAVAILABLE' })).toBe(1);
  });

  it('gives up on persistent 5xx with a retryable SOURCE_UNAVAILABLE', async () => {
    const h = await harness();
    h.server.setFallback({ status: 503, body: '<html>down</html>' });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('HTTP 503');
    expect(h.server.requests).toHaveLength(FAST_RETRY.maxAttempts);
  });

  it('retries truncated JSON, then succeeds', async () => {
    const h = await harness();
    const whole = envelope([{ id: 'a' }, { id: 'b' }]);
    h.server.enqueue({ body: whole.slice(0, whole.length - 7) }, { body: whole });
    const response = await get(h);
    expect(response).toMatchObject({ result: [{ id: 'a' }, { id: 'b' }] });
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_RESPONSE_INVALID' })).toBe(1);
  });

  it('fails loudly when a field we rely on is missing, without echoing record values', async () => {
    const h = await harness();
    h.server.setFallback({ body: envelope([{ id: 'fine' }, { name: 'secret-customer-value' }]) });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
    expect(error.message).toContain('1.id');
    expect(error.message).not.toContain('secret-customer-value');
  });

  it('rejects a 200 whose body is not an envelope', async () => {
    const h = await harness();
    h.server.setFallback({ body: JSON.stringify({ hello: 'world' }) });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
  });

  it('times out a hung request, retries it, and succeeds', async () => {
    const h = await harness({ timeoutMs: 150 });
    h.server.enqueue({ delayMs: 1000, body: envelope([]) }, { body: envelope([{ id: 'late' }]) });
    const response = await get(h);
    expect(response).toMatchObject({ result: [{ id: 'late' }] });
    expect(h.metrics.value('source_requests_total', { status: 'timeout' })).toBe(1);
  });

  it('reports SOURCE_TIMEOUT when every attempt times out', async () => {
    const h = await harness({ timeoutMs: 100, retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
    h.server.setFallback({ delayMs: 600, body: envelope([]) });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('100 ms');
  });

  it('retries a connection reset, then succeeds', async () => {
    const h = await harness();
    h.server.enqueue({ reset: true }, { body: envelope([{ id: 'after-reset' }]) });
    const response = await get(h);
    expect(response).toMatchObject({ result: [{ id: 'after-reset' }] });
    expect(h.metrics.value('source_requests_retried_total', { code: 'SOURCE_NETWORK_FAILED' })).toBe(1);
  });

  it('maps a refused connection to a retryable SOURCE_NETWORK_FAILED', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const h = await harness({ baseUrl: `http://127.0.0.1:${port}/client/v4` });
    const error = await caught(get(h));
    expect(error.code).toBe('SOURCE_NETWORK_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    // Which place could not be reached, and the setting that chose it.
    expect(error.message).toContain(`The connection to 127.0.0.1:${port} failed`);
    expect(error.hint).toContain(`http://127.0.0.1:${port}`);
    expect(error.hint).toContain('CLOUDFLARE_API_BASE_URL');
  });

  it('stops at once, without retrying, when the caller aborts', async () => {
    const h = await harness();
    h.server.setFallback({ delayMs: 1000, body: envelope([]) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('collector stopping')), 50);
    await expect(get(h, controller.signal)).rejects.toThrow('collector stopping');
    expect(h.server.requests).toHaveLength(1);
  });

  it('never puts the token in an error, a hint, its details or a log line', async () => {
    const h = await harness({ retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 } });
    const scripted = [
      { status: 401, body: failure([{ code: 9109, message: 'Invalid access token' }]) },
      { status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) },
      { status: 400, body: failure([{ code: 6003, message: 'Invalid request headers' }]) },
      { status: 404, body: failure([{ code: 7003, message: 'Could not route' }]) },
      { status: 429, headers: { 'retry-after': '0' }, body: '' },
      { status: 429, headers: { 'retry-after': '0' }, body: '' },
      { status: 500, body: '<html/>' },
      { status: 500, body: '<html/>' },
      { status: 200, body: '{"success":true,' },
      { status: 200, body: '{"success":true,' },
      { reset: true },
      { reset: true },
    ];
    h.server.enqueue(...scripted);
    const errors: SourceError[] = [];
    for (let i = 0; i < 8; i++) errors.push(await caught(get(h)));
    expect(errors.map((e) => e.code)).toEqual([
      'SOURCE_AUTH_FAILED',
      'SOURCE_PERMISSION_DENIED',
      'SOURCE_TOKEN_INVALID',
      'SOURCE_ACCOUNT_NOT_FOUND',
      'SOURCE_RATE_LIMITED',
      'SOURCE_UNAVAILABLE',
      'SOURCE_RESPONSE_INVALID',
      'SOURCE_NETWORK_FAILED',
    ]);
    const texts = errors.flatMap((e) => [e.message, e.hint ?? '', JSON.stringify(e.details), String(e), e.stack ?? '']);
    for (const text of [...texts, ...h.logs]) expect(text).not.toContain(TOKEN);
    expect(h.logs.length).toBeGreaterThan(0);
  });

  it('removes the token from every text of an answer that echoes it, whole, truncated or after Bearer', async () => {
    // Random-looking, so that no 8-character run of it is in the account id or in our own wording.
    const token = 'Q7fZ2mXk9LpR4tVb8NcW1yHd6JsE3uGa5oTi0wKe';
    const h = await harness({
      token: new Secret(token),
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
    });
    const header = (request: RecordedRequest): string => String(request.headers['authorization']);
    const echo = (status: number, errors: readonly Record<string, unknown>[]) => (request: RecordedRequest) => ({
      status,
      body: JSON.stringify({ success: false, errors, messages: [], result: null }).replaceAll(
        'HEADER',
        header(request),
      ),
    });
    h.server.enqueue(
      echo(401, [{ code: 10000, message: 'Authentication error: bad header HEADER' }]),
      echo(400, [
        {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6111, message: `GET ${h.server.url}/client/v4/x?limit=5 Authorization: HEADER` }],
        },
      ]),
      echo(403, [{ code: 10000, message: `Authentication error for token ${token.slice(0, 12)}...` }]),
      echo(404, [{ code: 7003, message: `No route; credential '${token.slice(-10)}'` }]),
      echo(429, [{ code: 971, message: `Too many requests for ${token}` }]),
      echo(503, [{ code: 1200, message: 'upstream refused HEADER' }]),
      echo(422, [{ code: 1002, message: 'x-forwarded-authorization: bearer some-other-credential' }]),
      // A proxy answering 200 with the header as its body: JSON.parse's SyntaxError quotes the body's start.
      (request) => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: header(request).slice(7) }),
    );
    const errors: SourceError[] = [];
    for (let i = 0; i < 8; i++) errors.push(await caught(get(h)));
    expect(errors.map((e) => e.code)).toEqual([
      'SOURCE_AUTH_FAILED',
      'SOURCE_TOKEN_INVALID',
      'SOURCE_PERMISSION_DENIED',
      'SOURCE_ACCOUNT_NOT_FOUND',
      'SOURCE_RATE_LIMITED',
      'SOURCE_UNAVAILABLE',
      'SOURCE_REQUEST_REJECTED',
      'SOURCE_RESPONSE_INVALID',
    ]);
    // What Cloudflare said stays readable around the redaction.
    expect(errors[0]?.message).toContain('10000 Authentication error: bad header Bearer [redacted]');
    expect(errors[1]?.details['errors']).toEqual([
      {
        code: 6003,
        message: 'Invalid request headers',
        chain: [{ code: 6111, message: `GET ${h.server.url}/client/v4/x?limit=5 Authorization: Bearer [redacted]` }],
      },
    ]);
    expect(errors[6]?.message).toContain('bearer [redacted]');
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => h.logs.push(line) } });
    for (const error of errors) logger.error({ err: error }, 'Dataset collection stopped');
    const causes = errors.flatMap((e) => chainOf(e.cause));
    expect(causes.some((cause) => cause.includes('not valid JSON'))).toBe(true);
    const texts = errors.flatMap((e) => [e.message, JSON.stringify(e.details), String(e), e.stack ?? '']);
    for (const text of [...texts, ...causes, ...h.logs]) {
      for (const fragment of fragmentsOf(token)) expect(text).not.toContain(fragment);
      expect(text).not.toContain('some-other-credential');
    }
  });

  it('removes the token cased otherwise or encoded as hex or base64 from an answer and from values it shows', async () => {
    const token = 'Q7fZ2mXk9LpR4tVb8NcW1yHd6JsE3uGa5oTi0wKe';
    const h = await harness({
      token: new Secret(token),
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
    });
    const encodings = [
      token.toUpperCase(),
      token.toLowerCase(),
      Buffer.from(`Bearer ${token}`).toString('base64'),
      Buffer.from(`Basic:${token}`).toString('base64url'),
      Buffer.from(token).toString('base64'),
      Buffer.from(`x${token}`).toString('base64'),
      Buffer.from(token).toString('hex'),
    ];
    h.server.enqueue({
      status: 401,
      body: JSON.stringify({
        success: false,
        errors: [{ code: 10000, message: `Invalid Authorization header (${encodings.join(' ')})` }],
        messages: [],
        result: null,
      }),
    });
    const error = await caught(get(h));
    // What surrounds each echo stays: base64 of `Bearer `, say, and the padding.
    expect(error.message).toContain('Invalid Authorization header ([redacted] [redacted] QmVhcmVyIF[redacted]');
    expect(h.client.redact(`status disabled for ${token}`)).toBe('status disabled for [redacted]');
    const texts = [error.message, JSON.stringify(error.details), h.client.redact(encodings.join(' '))];
    for (const text of texts) {
      for (const encoded of encodings) {
        for (const fragment of fragmentsOf(encoded.slice(4, -4))) expect(text).not.toContain(fragment);
      }
    }
  });

  it('fingerprints a token with a one-way hash', () => {
    const fingerprint = tokenFingerprint(new Secret(TOKEN));
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint).toBe(tokenFingerprint(new Secret(TOKEN)));
    expect(fingerprint).not.toBe(tokenFingerprint(new Secret(`${TOKEN}x`)));
  });
});

/** Every run of 8 characters of `token`: an echo that short is already too much. */
function fragmentsOf(token: string): string[] {
  return Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
}

/** The messages and stacks of an error and its causes, as pino logs them. */
function chainOf(error: unknown): string[] {
  if (!(error instanceof Error)) return error === undefined ? [] : [JSON.stringify(error)];
  return [error.message, error.stack ?? '', ...chainOf(error.cause)];
}
