import { afterEach, describe, expect, it } from 'vitest';
import { datasetStatus } from '../../core/dataset-status.js';
import { ManualClock, systemClock } from '../../core/clock.js';
import { SourceError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS } from '../../simulator/simulator.js';
import {
  envelope,
  failure,
  startFixtureServer,
  type FixtureResponse,
  type FixtureServer,
  type RecordedRequest,
} from '../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { trackedSimulators } from '../../../test/helpers/simulators.js';
import { CloudflareClient } from './client.js';
import { failUnlessRequiredReadable, testConnection, type ConnectionReport } from './connection-test.js';
import { CLOUDFLARE_DATASET_IDS, CLOUDFLARE_PERMISSIONS } from './datasets/catalogue.js';
import { RateBudget } from './rate-budget.js';

const ACCOUNT_ID = 'abcdefabcdefabcdefabcdefabcdef12';
const TOKEN_ID = 'ed17574386854bf78a67040be0a770b0';
const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const IDP_ID = 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415';

const FORBIDDEN: FixtureResponse = { status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) };
const NO_ROUTE: FixtureResponse = { status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) };
const FOREIGN: FixtureResponse = {
  status: 403,
  body: failure([{ code: 9109, message: 'Unauthorized to access requested resource' }]),
};

const page = (items: readonly unknown[]): FixtureResponse => ({
  body: envelope(items, {
    result_info: { page: 1, per_page: 1, count: items.length, total_count: items.length, total_pages: 1 },
  }),
});

function tokenDetails(...policies: readonly { effect: string; names: readonly string[] }[]): FixtureResponse {
  return {
    body: envelope({
      id: TOKEN_ID,
      name: 'zerotrail',
      status: 'active',
      policies: policies.map((p, i) => ({
        id: `${i}`.padStart(32, '0'),
        effect: p.effect,
        resources: { [`com.cloudflare.api.account.${ACCOUNT_ID}`]: '*' },
        permission_groups: p.names.map((name, j) => ({ id: `${i}${j}`.padStart(32, '0'), name })),
      })),
    }),
  };
}

// Recorded answers of every endpoint the connection test calls, in the documented shapes; each test overrides some.
const BASE_ROUTES: Readonly<Record<string, FixtureResponse>> = {
  '/user/tokens/verify': { body: envelope({ id: TOKEN_ID, status: 'active', expires_on: '2027-01-01T00:00:00Z' }) },
  [`/user/tokens/${TOKEN_ID}`]: tokenDetails({
    effect: 'allow',
    names: [...DEFAULT_PERMISSIONS, CLOUDFLARE_PERMISSIONS.accessAppsAndPolicies, 'API Tokens Read'],
  }),
  '/access/logs/access_requests': {
    body: envelope([{ created_at: '2026-05-31T23:00:00Z', ray_id: '7d0000000000000a' }]),
  },
  '/access/users': page([{ id: 'f3b12456-e5e3-4e3f-a3bd-6a8a5c5b0e11', email: 'ana@example.com' }]),
  '/access/organizations': { body: envelope({ name: 'Example Corp', auth_domain: 'example.cloudflareaccess.com' }) },
  '/access/identity_providers': page([{ id: IDP_ID, name: 'Okta', type: 'okta', config: {} }]),
  '/access/groups': page([{ id: '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09', name: 'Engineering' }]),
  '/gateway': {
    body: envelope({ id: ACCOUNT_ID, gateway_tag: 'f174e90afafe4643bbbc4a0ed4fc8415', provider_name: 'Cloudflare' }),
  },
  '/devices/physical-devices': {
    body: envelope([{ id: 'dev-1', name: 'laptop', active_registrations: 1, created_at: '2026-01-01T00:00:00Z' }], {
      result_info: { count: 1, cursor: 'next', per_page: 1, total_count: null },
    }),
  },
  '/devices': page([{ id: 'reg-1', name: 'laptop' }]),
  '/access/apps': page([{ id: '6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d', name: 'Wiki', domain: 'wiki.example.com' }]),
  '/access/policies': page([{ id: '1a2b3c4d-2e1f-4a0b-9c8d-7e6f5a4b3c2d', name: 'Employees', decision: 'allow' }]),
  '/access/logs/scim/updates': page([{ logged_at: '2026-05-31T22:00:00Z', idp_id: IDP_ID, status: 'SUCCESS' }]),
  '/logs/audit': { body: envelope([], { result_info: { count: '0' } }) },
  '/audit_logs': page([]),
};

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function relativePath(request: RecordedRequest): string {
  return request.path.replace('/client/v4', '').replace(`/accounts/${ACCOUNT_ID}`, '');
}

async function setup(overrides: Readonly<Record<string, FixtureResponse>> = {}) {
  const server = await startFixtureServer();
  servers.push(server);
  const routes = { ...BASE_ROUTES, ...overrides };
  server.setFallback((request) => routes[relativePath(request)] ?? NO_ROUTE);
  const logs: Record<string, unknown>[] = [];
  const client = new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('connection-test-token'),
    timeoutMs: 2000,
    rateBudget: new RateBudget({ requests: 100_000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    metrics: new Metrics(),
    clock: systemClock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
  });
  return { server, client, logs };
}

const run = (client: CloudflareClient, nowMs = NOW): Promise<ConnectionReport> =>
  testConnection(client, { signal: AbortSignal.timeout(10_000), nowMs });

describe('a connection test Cloudflare does not finish answering', () => {
  it('ends in SOURCE_TIMEOUT when its deadline passes during the dataset checks, never as an internal failure', async () => {
    const { client } = await setup({
      '/access/logs/access_requests': { delayMs: 5_000, body: envelope([]) },
    });
    const error = await testConnection(client, { signal: AbortSignal.timeout(600), nowMs: NOW }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'SOURCE_TIMEOUT', retryable: true });
    expect((error as Error).message).toBe('Cloudflare did not answer every check of the connection test in time.');
  });
});

function row(report: ConnectionReport, dataset: string) {
  const found = report.datasets.find((d) => d.dataset === dataset);
  if (found === undefined) throw new Error(`no row for ${dataset}`);
  return found;
}

// spec-2024 documents no query parameters on the page-based Access lists; `page` and `per_page` come from the
// current API reference (API-NOTES §2.5), so only those two may be reported as unknown there.
const UNDOCUMENTED_IN_SPEC_2024 = /^unknown query parameter (page|per_page)$/;

function expectValidRequests(requests: readonly { method: string; url: string }[]): void {
  for (const request of requests) {
    const problems = validateRequest(request.method, request.url).filter((p) => !UNDOCUMENTED_IN_SPEC_2024.test(p));
    expect({ url: request.url, problems }).toEqual({ url: request.url, problems: [] });
  }
}

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const error: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (error instanceof SourceError) return error;
  throw error;
}

describe('testConnection', () => {
  it('verifies the token, probes every dataset once with a one-item request, and finds all readable', async () => {
    const { server, client } = await setup({
      [`/user/tokens/${TOKEN_ID}`]: tokenDetails({
        effect: 'allow',
        names: Object.values(CLOUDFLARE_PERMISSIONS),
      }),
    });
    const report = await run(client);
    expect(report.token).toEqual({ id: TOKEN_ID, status: 'active', expiresOn: '2027-01-01T00:00:00Z', owner: 'user' });
    expect(report.warnings).toEqual([]);
    expect(report.requiredMissing).toBe(false);
    expect(report.datasets.map((d) => d.dataset)).toEqual([...CLOUDFLARE_DATASET_IDS]);
    expect(report.datasets.every((d) => d.ok)).toBe(true);
    expect(row(report, 'apps')).toMatchObject({ required: false, permission: 'Access: Apps and Policies Read' });
    expect(row(report, 'access_requests')).toMatchObject({ required: true, permission: 'Access: Audit Logs Read' });

    const byPath = new Map(server.requests.map((r) => [relativePath(r), Object.fromEntries(r.query)]));
    expect(byPath.get('/access/logs/access_requests')).toEqual({ limit: '1', direction: 'desc' });
    for (const path of [
      '/access/users',
      '/access/identity_providers',
      '/access/groups',
      '/access/apps',
      '/access/policies',
    ]) {
      expect(byPath.get(path), path).toEqual({ per_page: '1' });
    }
    expect(byPath.get('/devices/physical-devices')).toEqual({ per_page: '1' });
    expect(byPath.get('/access/logs/scim/updates')).toEqual({ idp_id: IDP_ID, per_page: '1' });
    expect(byPath.get('/logs/audit')).toEqual({
      since: '2026-05-31T00:00:00.000Z',
      before: '2026-06-01T00:00:00.000Z',
      limit: '1',
    });
    // verify, one probe per dataset, and the token's own details; no fallback endpoint was needed.
    expect(server.requests).toHaveLength(1 + CLOUDFLARE_DATASET_IDS.length + 1);
    expect(byPath.has('/devices')).toBe(false);
    expect(byPath.has('/audit_logs')).toBe(false);
    expectValidRequests(server.requests);
  });

  it('warns when the token expires within 14 days, not before', async () => {
    const soon = await setup({
      '/user/tokens/verify': { body: envelope({ id: TOKEN_ID, status: 'active', expires_on: '2026-06-11T00:00:00Z' }) },
    });
    expect((await run(soon.client)).warnings).toEqual([
      'the token expires on 2026-06-11T00:00:00Z; create a new one before then or collection stops.',
    ]);
    const later = await setup({
      '/user/tokens/verify': { body: envelope({ id: TOKEN_ID, status: 'active', expires_on: '2026-06-20T00:00:00Z' }) },
    });
    expect((await run(later.client)).warnings).toEqual([]);
  });

  it('refuses an expired token', async () => {
    const { client } = await setup({
      '/user/tokens/verify': {
        body: envelope({ id: TOKEN_ID, status: 'expired', expires_on: '2026-05-01T00:00:00Z' }),
      },
    });
    const error = await rejection(run(client));
    expect(error.code).toBe('SOURCE_AUTH_FAILED');
    expect(error.message).toContain('expired');
  });

  it('names the exact permission to add, where, and what is lost, for each dataset the token cannot read', async () => {
    const { client } = await setup({
      '/access/apps': FORBIDDEN,
      '/access/policies': FORBIDDEN,
      '/access/logs/scim/updates': FORBIDDEN,
      '/logs/audit': FORBIDDEN,
    });
    const report = await run(client);
    expect(report.requiredMissing).toBe(false);
    expect(report.datasets.filter((d) => !d.ok).map((d) => d.dataset)).toEqual([
      'apps',
      'policies',
      'scim_updates',
      'audit_logs',
    ]);
    expect(row(report, 'apps').message).toBe(
      `The token lacks "Access: Apps and Policies Read". Add it in the Cloudflare dashboard: My Profile → API Tokens → edit the token → add "Access: Apps and Policies Read" for account ${ACCOUNT_ID}. Without it changes to Access applications go unrecorded and events name applications only by id.`,
    );
    expect(row(report, 'scim_updates').message).toContain('add "Access: SCIM Logs Read" for account');
    expect(row(report, 'audit_logs').message).toContain('add "Account Settings Read" for account');
    expect(row(report, 'audit_logs').message).toContain('administrator changes');
  });

  it('flags a missing base permission as requiredMissing', async () => {
    const { client } = await setup({ '/access/logs/access_requests': FORBIDDEN, '/access/users': FORBIDDEN });
    const report = await run(client);
    expect(report.requiredMissing).toBe(true);
    expect(row(report, 'access_requests')).toMatchObject({ ok: false, required: true, state: 'permission_missing' });
    expect(datasetStatus(row(report, 'access_requests'), 'MISSING')).toBe('MISSING');
    expect(row(report, 'access_requests').message).toContain('add "Access: Audit Logs Read"');
    expect(row(report, 'organization').ok).toBe(true);
  });

  it('reports a rate limit or an outage as such, not as a missing permission', async () => {
    const { client } = await setup({
      '/access/groups': {
        status: 429,
        headers: { 'retry-after': '0' },
        body: failure([{ code: 971, message: 'slow down' }]),
      },
      '/gateway': { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>502 Bad Gateway</html>' },
    });
    const report = await run(client);
    expect(report.requiredMissing).toBe(false);
    expect(row(report, 'groups')).toMatchObject({ ok: false, required: true, state: 'unchecked' });
    // Shown as not checked, never as missing, in the CLI's table and the web UI's alike.
    expect(datasetStatus(row(report, 'groups'), 'MISSING')).toBe('not checked');
    expect(datasetStatus(row(report, 'organization'), 'MISSING')).toBe('collected');
    expect(row(report, 'groups').message).toContain('not a permission problem');
    expect(row(report, 'groups').message).toContain('rate-limited');
    expect(row(report, 'gateway').message).toContain('HTTP 502');
    expect(row(report, 'gateway').message).not.toContain('lacks');
    // Nothing is proven about the token: the commands fail with a retryable error, not a missing permission.
    const refused = refusal(report);
    expect(refused).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    expect(refused?.message).toMatch(
      /^Could not check whether the token reads groups, gateway: the checks failed for a reason other than a permission/,
    );
  });

  it('names only the permissions a token lacks when other required checks failed for another reason', async () => {
    const { client } = await setup({
      '/access/logs/access_requests': FORBIDDEN,
      '/gateway': { status: 503, headers: { 'content-type': 'text/html' }, body: '<html>503</html>' },
    });
    const report = await run(client);
    expect(row(report, 'gateway')).toMatchObject({ ok: false, required: true, state: 'unchecked' });
    const refused = refusal(report);
    expect(refused?.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(refused?.message).toBe('The token cannot read access_requests: it lacks Access: Audit Logs Read.');
    expect(refused?.hint).not.toContain('Zero Trust Read');
  });

  it('falls back to the deprecated device list and to Audit Logs v1 where the newer endpoints have no route', async () => {
    const { server, client } = await setup({ '/devices/physical-devices': NO_ROUTE, '/logs/audit': NO_ROUTE });
    const report = await run(client);
    expect(row(report, 'devices')).toMatchObject({ ok: true });
    expect(row(report, 'devices').message).toContain('deprecated');
    expect(row(report, 'audit_logs')).toMatchObject({ ok: true });
    expect(row(report, 'audit_logs').message).toContain('v1');
    const audit = server.requests.find((r) => relativePath(r) === '/audit_logs');
    expect(Object.fromEntries(audit?.query ?? [])).toEqual({ per_page: '1' });
    expectValidRequests(server.requests);
  });

  it('does not probe SCIM logs without an identity provider, and says why', async () => {
    const { server, client } = await setup({ '/access/identity_providers': page([]) });
    const report = await run(client);
    expect(row(report, 'scim_updates').ok).toBe(true);
    expect(row(report, 'scim_updates').message).toContain('no identity provider');
    expect(server.requests.some((r) => relativePath(r) === '/access/logs/scim/updates')).toBe(false);
  });

  it('cannot check SCIM logs when identity providers cannot be listed', async () => {
    const { client } = await setup({ '/access/identity_providers': FORBIDDEN });
    const report = await run(client);
    expect(row(report, 'identity_providers').ok).toBe(false);
    expect(row(report, 'scim_updates').ok).toBe(false);
    expect(row(report, 'scim_updates').message).toContain(
      'listing those needs "Access: Organizations, Identity Providers, and Groups Read"',
    );
    expect(report.requiredMissing).toBe(true);
  });

  it('throws when the token cannot reach the account at all', async () => {
    const foreign = await setup(
      Object.fromEntries(
        Object.keys(BASE_ROUTES)
          .filter((p) => !p.startsWith('/user/'))
          .map((p) => [p, FOREIGN]),
      ),
    );
    const denied = await rejection(run(foreign.client));
    expect(denied.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(denied.message).toContain(`cannot access account ${ACCOUNT_ID}`);

    const unknown = await setup(
      Object.fromEntries(
        Object.keys(BASE_ROUTES)
          .filter((p) => !p.startsWith('/user/'))
          .map((p) => [p, NO_ROUTE]),
      ),
    );
    expect((await rejection(run(unknown.client))).code).toBe('SOURCE_ACCOUNT_NOT_FOUND');
  });

  it('says to check the account when the token reads nothing at all', async () => {
    const { client } = await setup(
      Object.fromEntries(
        Object.keys(BASE_ROUTES)
          .filter((p) => !p.startsWith('/user/'))
          .map((p) => [p, FORBIDDEN]),
      ),
    );
    const report = await run(client);
    expect(report.requiredMissing).toBe(true);
    expect(report.warnings).toContainEqual(
      expect.stringContaining(`includes account ${ACCOUNT_ID} under Account Resources`),
    );
  });

  it('warns that zerotrail only needs read access when the token can change the account', async () => {
    const { client } = await setup({
      [`/user/tokens/${TOKEN_ID}`]: tokenDetails(
        { effect: 'allow', names: [...DEFAULT_PERMISSIONS, 'Access: Apps and Policies Write', 'Zero Trust Edit'] },
        // A deny policy takes permissions away; it grants nothing.
        { effect: 'deny', names: ['Account Settings Write'] },
      ),
    });
    const report = await run(client);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain('zerotrail only needs read access');
    expect(report.warnings[0]).toContain('Access: Apps and Policies Write, Zero Trust Edit');
    expect(report.warnings[0]).not.toContain('Account Settings Write');
  });

  it('skips the write check silently when the token may not read its own details', async () => {
    const { server, client, logs } = await setup({ [`/user/tokens/${TOKEN_ID}`]: FORBIDDEN });
    const report = await run(client);
    expect(report.warnings).toEqual([]);
    expect(report.datasets.every((d) => d.ok)).toBe(true);
    expect(server.requests.filter((r) => relativePath(r) === `/user/tokens/${TOKEN_ID}`)).toHaveLength(1);
    expect(logs.some((l) => l['level'] === 20 && String(l['msg']).includes('write access not checked'))).toBe(true);
    expect(logs.some((l) => Number(l['level']) >= 40)).toBe(false);
    expectValidRequests(server.requests);
  });

  it('handles an account-owned token: verified on the account, edited under Manage Account, no user token lookup', async () => {
    const { server, client } = await setup({
      '/user/tokens/verify': { status: 401, body: failure([{ code: 1000, message: 'Invalid API Token' }]) },
      '/tokens/verify': { body: envelope({ id: TOKEN_ID, status: 'active' }) },
      '/access/apps': FORBIDDEN,
    });
    const report = await run(client);
    expect(report.token.owner).toBe('account');
    expect(row(report, 'apps').message).toContain('Manage Account → Account API Tokens → edit the token');
    expect(server.requests.some((r) => relativePath(r) === `/user/tokens/${TOKEN_ID}`)).toBe(false);
    expectValidRequests(server.requests);
  });
});

describe('testConnection against the simulator', () => {
  const start = trackedSimulators(() => ({
    clock: new ManualClock(NOW),
    traffic: { kind: 'fixed', fromMs: NOW - DAY, toMs: NOW, count: 20 },
    tokens: [
      { value: 'baseReadToken0000000000000000000000000' },
      { value: 'otherAccountToken000000000000000000000', accountIds: ['99999999999999999999999999999999'] },
      {
        value: 'writerToken00000000000000000000000000000',
        permissions: [
          ...DEFAULT_PERMISSIONS,
          'Access: Apps and Policies Write',
          PERMISSIONS.accessScimLogs,
          PERMISSIONS.accountSettings,
          PERMISSIONS.apiTokens,
        ],
      },
    ],
  }));

  async function simClient(token: string) {
    const sim = await start();
    const clock = new ManualClock(NOW);
    const client = new CloudflareClient({
      baseUrl: sim.baseUrl,
      accountId: sim.accountId,
      token: new Secret(token),
      timeoutMs: 5000,
      rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock }),
      logger: createLogger({ level: 'silent' }),
      metrics: new Metrics(),
      clock,
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
    });
    return { sim, client };
  }

  it('finds every required dataset readable with the three base permissions, and names what apps need', async () => {
    const { sim, client } = await simClient('baseReadToken0000000000000000000000000');
    const report = await run(client);
    expect(report.requiredMissing).toBe(false);
    for (const check of report.datasets.filter((d) => d.required))
      expect(check, check.dataset).toMatchObject({ ok: true });
    expect(row(report, 'apps')).toMatchObject({ ok: false, required: false });
    expect(row(report, 'apps').message).toContain('add "Access: Apps and Policies Read"');
    expectValidRequests(sim.requestLog().map((e) => ({ method: e.method, url: `${e.path}?${e.query}` })));
  });

  it('reads every dataset with a token that can also write, and warns that read access is enough', async () => {
    const { sim, client } = await simClient('writerToken00000000000000000000000000000');
    const report = await run(client);
    expect(report.datasets.filter((d) => !d.ok)).toEqual([]);
    expect(report.warnings).toEqual([expect.stringContaining('zerotrail only needs read access')]);
    expect(report.warnings[0]).toContain('(Access: Apps and Policies Write)');
    expect(sim.requestLog().some((e) => e.path.endsWith(`/user/tokens/${report.token.id}`) && e.status === 200)).toBe(
      true,
    );
    expectValidRequests(sim.requestLog().map((e) => ({ method: e.method, url: `${e.path}?${e.query}` })));
  });

  it('throws when the token belongs to another account', async () => {
    const { client } = await simClient('otherAccountToken000000000000000000000');
    const error = await rejection(run(client));
    expect(error.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(error.message).toContain('Account ID');
  });
});

function refusal(report: ConnectionReport): SourceError | undefined {
  try {
    failUnlessRequiredReadable(report, 'run the same zerotrail source add again');
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  return undefined;
}
