import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture, type Session } from '../../src/server/server-fixture.suite.js';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';

const TOKEN = 'zt-Server-Secret-Token-71c0ffee5eed4242';
// Everything but the Access audit log permission, which the base datasets need.
const LIMITED_TOKEN = 'zt-Limited-Secret-Token-0badc0de1234567';
const UNKNOWN_TOKEN = 'zt-Unknown-Secret-Token-deadbeef9876543';

describe('data sources through the API', () => {
  let simulator: Simulator;
  let fixture: ServerFixture;
  let admin: Session;
  const bodies: string[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      tokens: [
        { value: TOKEN },
        {
          value: LIMITED_TOKEN,
          permissions: ['Zero Trust Read', 'Access: Organizations, Identity Providers, and Groups Read'],
        },
      ],
    });
    fixture = await startServerFixture({
      env: {
        CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
        ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
        ZEROTRAIL_CF_RATE_SHARE: '1',
      },
    });
    admin = await login(fixture.server, 'admin');
  });
  afterAll(async () => {
    await fixture.close();
    await simulator.stop();
  });

  const send = async (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: Record<string, unknown>,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fixture.server.inject({
      method,
      url,
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
      ...(payload === undefined ? {} : { payload }),
    });
    bodies.push(res.body);
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  it('adds a source after testing its connection, and lists it with per-dataset health and only the last 4 characters of the token', async () => {
    const added = await send('POST', '/api/sources', {
      apiToken: TOKEN,
      accountId: simulator.accountId.toUpperCase(),
      name: 'Main account',
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({
      source: { name: 'Main account', accountId: simulator.accountId, tokenLast4: TOKEN.slice(-4) },
      connection: { requiredMissing: false },
    });

    const listed = await send('GET', '/api/sources');
    const sources = listed.body['sources'] as { name: string; datasets: { dataset: string; state: string }[] }[];
    expect(sources.map((source) => source.name)).toEqual(['Main account']);
    expect(sources[0]?.datasets.map((row) => row.dataset)).toContain('access_requests');
    expect(sources[0]?.datasets.every((row) => row.state === 'not_collected')).toBe(true);

    const duplicate = await send('POST', '/api/sources', {
      apiToken: TOKEN,
      accountId: simulator.accountId,
      name: 'Main account',
    });
    expect(duplicate.status).toBe(409);
  });

  it('tests a stored source on demand', async () => {
    const tested = await send('POST', '/api/sources/Main%20account/test');
    expect(tested.status).toBe(200);
    const datasets = (tested.body['connection'] as { datasets: { dataset: string; ok: boolean }[] }).datasets;
    expect(datasets.find((row) => row.dataset === 'access_requests')?.ok).toBe(true);
    expect((await send('POST', '/api/sources/Nothing/test')).status).toBe(404);
  });

  it('refuses a token that lacks a base permission, with the per-dataset table in the error', async () => {
    const refused = await send('POST', '/api/sources', {
      apiToken: LIMITED_TOKEN,
      accountId: simulator.accountId,
      name: 'Limited',
    });
    expect(refused.status).toBe(422);
    const error = refused.body['error'] as {
      code: string;
      message: string;
      details: { datasets: { dataset: string; ok: boolean; permission: string }[] };
    };
    expect(error.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(error.message).toContain('Access: Audit Logs Read');
    expect(error.details.datasets.find((row) => row.dataset === 'access_requests')).toMatchObject({
      ok: false,
      permission: 'Access: Audit Logs Read',
    });
    expect(error.details.datasets.find((row) => row.dataset === 'gateway')?.ok).toBe(true);
  });

  it('refuses a token Cloudflare rejects without signing the caller out (422, not 401), and a malformed one at validation', async () => {
    const rejected = await send('POST', '/api/sources', {
      apiToken: UNKNOWN_TOKEN,
      accountId: simulator.accountId,
      name: 'Rejected',
    });
    expect(rejected.status).toBe(422);
    expect((rejected.body['error'] as { code: string }).code).toBe('SOURCE_AUTH_FAILED');
    const malformed = await send('POST', '/api/sources', {
      apiToken: `${TOKEN} with spaces`,
      accountId: simulator.accountId,
      name: 'Malformed',
    });
    expect(malformed.status).toBe(400);
    expect((malformed.body['error'] as { code: string }).code).toBe('HTTP_REQUEST_INVALID');
    const badAccount = await send('POST', '/api/sources', { apiToken: TOKEN, accountId: 'nope', name: 'Bad' });
    expect(badAccount.status).toBe(400);
  });

  it('removes a source, keeping its events, and records every change in the audit trail', async () => {
    const removed = await send('DELETE', '/api/sources/Main%20account');
    expect(removed).toEqual({ status: 200, body: { removed: 'Main account', eventsKept: true } });
    expect((await send('DELETE', '/api/sources/Main%20account')).status).toBe(404);
    const audit = await send('GET', '/api/audit');
    const entries = audit.body['entries'] as { action: string; target: string; outcome: string }[];
    expect(
      entries
        .filter((entry) => entry.action.startsWith('source_'))
        .map((entry) => [entry.action, entry.target, entry.outcome]),
    ).toEqual([
      ['source_removed', 'Main account', 'success'],
      ['source_added', 'Rejected', 'failure'],
      ['source_added', 'Limited', 'failure'],
      ['source_tested', 'Main account', 'success'],
      ['source_added', 'Main account', 'failure'],
      ['source_added', 'Main account', 'success'],
    ]);
  });

  it('never shows a token in any answer, log line or audit entry', async () => {
    const audit = JSON.stringify(await fixture.auth.listAudit({ limit: 1000 }));
    const logs = fixture.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const token of [TOKEN, LIMITED_TOKEN, UNKNOWN_TOKEN]) {
      for (const body of bodies) expect(body).not.toContain(token);
      expect(logs).not.toContain(token);
      expect(audit).not.toContain(token);
      // A fragment longer than the shown last four would be a leak too.
      expect(bodies.join('\n') + logs + audit).not.toContain(token.slice(-8));
    }
  });
});
