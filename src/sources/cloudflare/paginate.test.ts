import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../../core/clock.js';
import { SourceError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import { envelope, startFixtureServer, type FixtureServer } from '../../../test/helpers/fixture-server.js';
import { CloudflareClient } from './client.js';
import { listAllCursorPages, listAllPages, parseCursor, timeWindowCursorSchema } from './paginate.js';
import { RateBudget } from './rate-budget.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const itemSchema = z.looseObject({ id: z.string() });

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(): Promise<{ server: FixtureServer; client: CloudflareClient }> {
  const server = await startFixtureServer();
  servers.push(server);
  const client = new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('paginate-test-token'),
    timeoutMs: 2000,
    rateBudget: new RateBudget({ requests: 100_000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: silentLogger(),
    metrics: new Metrics(),
    clock: systemClock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1 },
  });
  return { server, client };
}

const ids = (from: number, count: number): { id: string; name: string }[] =>
  Array.from({ length: count }, (_, i) => ({ id: `item-${from + i}`, name: `Item ${from + i}` }));

const options = (pageSize: number) => ({
  dataset: 'groups',
  permission: 'Access: Organizations, Identity Providers, and Groups Read',
  signal: new AbortController().signal,
  pageSize,
});

function pages(server: FixtureServer): (string | null)[] {
  return server.requests.map((r) => r.query.get('page'));
}

async function failureOf(promise: Promise<unknown>): Promise<SourceError> {
  const error: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (error instanceof SourceError) return error;
  throw error;
}

describe('listAllPages', () => {
  it('follows total_pages to the end, even when the server sends fewer items per page than asked', async () => {
    const { server, client } = await setup();
    const all = ids(0, 7);
    // The server caps per_page at 3 although 5 were asked for.
    server.setFallback((request) => {
      const page = Number(request.query.get('page'));
      const slice = all.slice((page - 1) * 3, page * 3);
      return {
        body: envelope(slice, {
          result_info: { page, per_page: 3, count: slice.length, total_count: all.length, total_pages: 3 },
        }),
      };
    });
    const items = await listAllPages(client, client.accountPath('/access/groups'), itemSchema, options(5));
    expect(items).toEqual(all);
    expect(pages(server)).toEqual(['1', '2', '3']);
    expect(server.requests[0]?.query.get('per_page')).toBe('5');
  });

  it('follows total_count when total_pages is missing', async () => {
    const { server, client } = await setup();
    const all = ids(0, 5);
    server.setFallback((request) => {
      const page = Number(request.query.get('page'));
      const slice = all.slice((page - 1) * 2, page * 2);
      return { body: envelope(slice, { result_info: { page, per_page: 2, count: slice.length, total_count: 5 } }) };
    });
    expect(await listAllPages(client, client.accountPath('/access/groups'), itemSchema, options(2))).toEqual(all);
    expect(pages(server)).toEqual(['1', '2', '3']);
  });

  it('stops at a short page when result_info says nothing about totals', async () => {
    const { server, client } = await setup();
    server.enqueue({ body: envelope(ids(0, 2)) }, { body: envelope(ids(2, 1)) });
    expect(await listAllPages(client, client.accountPath('/access/groups'), itemSchema, options(2))).toEqual(ids(0, 3));
    expect(server.requests).toHaveLength(2);
  });

  it('fails instead of looping when the API ignores page', async () => {
    const { server, client } = await setup();
    server.setFallback({ body: envelope(ids(0, 2)) });
    const error = await failureOf(listAllPages(client, client.accountPath('/access/groups'), itemSchema, options(2)));
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
    expect(error.message).toContain('ignore paging');
    expect(server.requests).toHaveLength(2);
  });

  it('fails instead of returning fewer items than total_count promised', async () => {
    const { server, client } = await setup();
    server.enqueue(
      {
        body: envelope(ids(0, 2), { result_info: { page: 1, per_page: 2, count: 2, total_count: 5, total_pages: 3 } }),
      },
      {
        body: envelope(ids(2, 2), { result_info: { page: 2, per_page: 2, count: 2, total_count: 5, total_pages: 3 } }),
      },
      { body: envelope([], { result_info: { page: 3, per_page: 2, count: 0, total_count: 5, total_pages: 3 } }) },
    );
    const error = await failureOf(listAllPages(client, client.accountPath('/access/groups'), itemSchema, options(2)));
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
    expect(error.message).toContain('4 groups items');
  });
});

describe('listAllCursorPages', () => {
  it('follows result_info.cursor until it is empty', async () => {
    const { server, client } = await setup();
    server.enqueue(
      { body: envelope(ids(0, 2), { result_info: { count: 2, cursor: 'c2', per_page: 2, total_count: null } }) },
      { body: envelope(ids(2, 2), { result_info: { count: 2, cursor: 'c3', per_page: 2, total_count: null } }) },
      { body: envelope(ids(4, 1), { result_info: { count: 1, cursor: '', per_page: 2, total_count: null } }) },
    );
    const items = await listAllCursorPages(client, client.accountPath('/devices/physical-devices'), itemSchema, {
      ...options(2),
      query: { active_registrations: 'include' },
    });
    expect(items).toEqual(ids(0, 5));
    expect(server.requests.map((r) => r.query.get('cursor'))).toEqual([null, 'c2', 'c3']);
    expect(server.requests.every((r) => r.query.get('active_registrations') === 'include')).toBe(true);
  });

  it('fails instead of looping when every new cursor brings back the same items', async () => {
    const { server, client } = await setup();
    let n = 0;
    server.setFallback(() => ({ body: envelope(ids(0, 2), { result_info: { count: 2, cursor: `c${++n}` } }) }));
    const error = await failureOf(
      listAllCursorPages(client, client.accountPath('/devices/physical-devices'), itemSchema, options(2)),
    );
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
    expect(server.requests).toHaveLength(2);
  });

  it('fails instead of looping when the API hands back the cursor it was given', async () => {
    const { server, client } = await setup();
    server.setFallback({ body: envelope(ids(0, 2), { result_info: { count: 2, cursor: 'same' } }) });
    const error = await failureOf(
      listAllCursorPages(client, client.accountPath('/devices/physical-devices'), itemSchema, options(2)),
    );
    expect(error.code).toBe('SOURCE_RESPONSE_INVALID');
    expect(server.requests).toHaveLength(2);
  });
});

describe('parseCursor', () => {
  it('names the dataset whose stored cursor is not valid, with a permanent SOURCE_CURSOR_INVALID', () => {
    let caught: unknown;
    try {
      parseCursor(timeWindowCursorSchema, { since: 'yesterday' }, 'scim_updates');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SourceError);
    expect(caught).toMatchObject({ code: 'SOURCE_CURSOR_INVALID', retryable: false });
    expect(String(caught)).toContain('stored scim_updates cursor is not valid');
  });
});
