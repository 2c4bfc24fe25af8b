import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture, type Session } from '../../src/server/server-fixture.suite.js';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';

const TOKEN = 'zt-Server-Secret-Token-71c0ffee5eed4242';
// Everything but the Access audit log permission, which the base datasets need.
const LIMITED_TOKEN = 'zt-Limited-Secret-Token-0badc0de1234567';
const UNKNOWN_TOKEN = 'zt-Unknown-Secret-Token-deadbeef9876543';
const SECOND_TOKEN = 'zt-Second-Secret-Token-5ca1ab1e0ddba11';

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
        { value: SECOND_TOKEN },
        {
          value: LIMITED_TOKEN,
          permissions: ['Zero Trust Read', 'Access: Organizations, Identity Providers, and Groups Read'],
        },
      ],
    });
    // The simulator serves events up to the wall clock, so the server's clock starts there too: the health
    // figures count the last hour and day, and a session signed in now stays valid for the whole file.
    fixture = await startServerFixture({
      startMs: Date.now(),
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
    // Nothing was stored, so there is no source to test later: the form is where to try again.
    expect((refused.body['error'] as { hint?: string }).hint).toMatch(
      /for this account, then test the connection and add the data source again\.$/,
    );
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
    // Pasted into the wrong field, the token would be the name every event and listing shows.
    const tokenAsName = await send('POST', '/api/sources', {
      apiToken: TOKEN,
      accountId: simulator.accountId,
      name: UNKNOWN_TOKEN,
    });
    expect(tokenAsName.status).toBe(400);
    expect(JSON.stringify(tokenAsName.body)).toContain('looks like an API token');
    expect(JSON.stringify(tokenAsName.body)).not.toContain(UNKNOWN_TOKEN);
    // Two names that differ by an invisible character would look like one in every listing.
    const invisible = await send('POST', '/api/sources', {
      apiToken: TOKEN,
      accountId: simulator.accountId,
      name: 'Main\u200baccount',
    });
    expect(invisible.status).toBe(400);
    expect(JSON.stringify(invisible.body)).toContain('invisible');
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

  const sourceNamed = async (name: string): Promise<Record<string, unknown> | undefined> => {
    const listed = await send('GET', '/api/sources');
    return (listed.body['sources'] as Record<string, unknown>[]).find((source) => source['name'] === name);
  };
  const latestAudit = async (count: number): Promise<unknown[][]> => {
    const audit = await send('GET', `/api/audit?limit=${count}`);
    return (audit.body['entries'] as { action: string; target: string | null; outcome: string }[]).map((entry) => [
      entry.action,
      entry.target,
      entry.outcome,
    ]);
  };

  it('tests an API token and Account ID before anything is saved, answering the per-dataset table', async () => {
    const tested = await send('POST', '/api/sources/test', { apiToken: TOKEN, accountId: simulator.accountId });
    expect(tested.status, JSON.stringify(tested.body)).toBe(200);
    const connection = tested.body['connection'] as {
      requiredMissing: boolean;
      datasets: { dataset: string; ok: boolean; permission: string }[];
    };
    expect(connection.requiredMissing).toBe(false);
    expect(connection.datasets.find((row) => row.dataset === 'access_requests')).toMatchObject({
      ok: true,
      permission: 'Access: Audit Logs Read',
    });
    // Nothing was stored: the list is as it was.
    expect((await send('GET', '/api/sources')).body['sources']).toEqual([]);

    // A token that lacks a base permission still gets its table (that is the point of testing first).
    const limited = await send('POST', '/api/sources/test', {
      apiToken: LIMITED_TOKEN,
      accountId: simulator.accountId,
    });
    expect(limited.status).toBe(200);
    const rows = (
      limited.body['connection'] as { requiredMissing: boolean; datasets: { dataset: string; ok: boolean }[] }
    ).datasets;
    expect((limited.body['connection'] as { requiredMissing: boolean }).requiredMissing).toBe(true);
    expect(rows.find((row) => row.dataset === 'access_requests')?.ok).toBe(false);

    const rejected = await send('POST', '/api/sources/test', {
      apiToken: UNKNOWN_TOKEN,
      accountId: simulator.accountId,
    });
    expect(rejected.status).toBe(422);
    expect((rejected.body['error'] as { code: string }).code).toBe('SOURCE_AUTH_FAILED');
    const invalid = await send('POST', '/api/sources/test', { apiToken: TOKEN, accountId: 'nope', name: 'x' });
    expect(invalid.status).toBe(400);
    // A required dataset Cloudflare did not answer for leaves the token unproven: the audit says the test failed.
    simulator.setFaults({ serverError: { routes: ['access-groups'], statuses: [503] } });
    try {
      const unanswered = await send('POST', '/api/sources/test', { apiToken: TOKEN, accountId: simulator.accountId });
      expect(unanswered.status).toBe(200);
      expect((unanswered.body['connection'] as { requiredMissing: boolean }).requiredMissing).toBe(false);
    } finally {
      simulator.setFaults({});
    }
    expect(await latestAudit(4)).toEqual([
      ['source_tested', null, 'failure'],
      ['source_tested', null, 'failure'],
      ['source_tested', null, 'failure'],
      ['source_tested', null, 'success'],
    ]);
  });

  it('pauses and resumes a source, keeping the state in its settings, and a catch-up run skips it while paused', async () => {
    const added = await send('POST', '/api/sources', { apiToken: TOKEN, accountId: simulator.accountId, name: 'Ops' });
    expect(added.status).toBe(201);
    expect(await sourceNamed('Ops')).toMatchObject({ paused: false, pausedAt: null });

    const paused = await send('POST', '/api/sources/Ops/pause');
    expect(paused.status).toBe(200);
    expect(paused.body['source']).toMatchObject({ name: 'Ops', paused: true, pausedBy: 'admin' });
    expect((await fixture.app.store.getSource('Ops'))?.settings['paused']).toBe(true);
    expect(await sourceNamed('Ops')).toMatchObject({ paused: true });
    // Pausing twice changes nothing and says so in the audit trail.
    expect((await send('POST', '/api/sources/Ops/pause')).body['source']).toMatchObject({ paused: true });

    const env = {
      ZEROTRAIL_DATA_DIR: fixture.dataDir,
      CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
      ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
      ZEROTRAIL_CF_RATE_SHARE: '1',
      ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1',
    };
    const skipped = await runInProcess(['collect', '--once'], { env });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('Paused, not collected: Ops.');
    expect(await fixture.app.store.cursor('Ops/access_requests')).toBeUndefined();

    const resumed = await send('POST', '/api/sources/Ops/resume');
    expect(resumed.body['source']).toMatchObject({ paused: false, pausedAt: null, pausedBy: null });
    expect((await fixture.app.store.getSource('Ops'))?.settings['paused']).toBeUndefined();
    const collected = await runInProcess(['collect', '--once'], { env });
    expect(collected.code, collected.stderr).toBe(0);
    expect(collected.stderr).not.toContain('Paused');
    expect(await fixture.app.store.cursor('Ops/access_requests')).toBeDefined();

    expect((await send('POST', '/api/sources/Nothing/pause')).status).toBe(404);
    const audit = await send('GET', '/api/audit?limit=4');
    expect(
      (audit.body['entries'] as { action: string; target: string; details: { changed: boolean } }[]).map((entry) => [
        entry.action,
        entry.target,
        entry.details.changed,
      ]),
    ).toEqual([
      ['source_resumed', 'Ops', true],
      ['source_paused', 'Ops', false],
      ['source_paused', 'Ops', true],
      ['source_added', 'Ops', undefined],
    ]);
  });

  it('shows health, lag, events in the last hour and 24 hours, and last error per dataset', async () => {
    // A minute on, past the server's short health cache, so the figures reflect the collection above.
    fixture.clock.set(Math.max(fixture.clock.now(), Date.now()) + 60_000);
    const ops = await sourceNamed('Ops');
    const rows = ops?.['datasets'] as {
      dataset: string;
      state: string;
      lagSecs: number | null;
      eventsLastHour: number;
      eventsLast24h: number;
      lastError: string | null;
    }[];
    const access = rows.find((row) => row.dataset === 'access_requests');
    expect(access?.state).toBe('ok');
    expect(access?.eventsLast24h).toBeGreaterThan(0);
    expect(access?.eventsLastHour).toBeLessThanOrEqual(access?.eventsLast24h ?? 0);
    expect(access?.lagSecs).not.toBeNull();
    expect(access?.lastError).toBeNull();
    const stored = await fixture.app.store.count({
      filter: {
        kind: 'and',
        left: { kind: 'term', field: 'source', value: 'Ops', wildcard: false },
        right: { kind: 'term', field: 'dataset', value: 'access_requests', wildcard: false },
      },
      fromMs: fixture.clock.now() - 86_400_000,
    });
    expect(access?.eventsLast24h).toBe(stored);
    expect(rows.find((row) => row.dataset === 'groups')?.lagSecs).not.toBeNull();
  });

  it('replaces the token (write-only, last 4 shown) and the Account ID only after re-verifying them', async () => {
    const before = await fixture.app.store.getSource('Ops');
    const refused = await send('POST', '/api/sources/Ops/edit', { apiToken: LIMITED_TOKEN });
    expect(refused.status).toBe(422);
    expect((refused.body['error'] as { code: string }).code).toBe('SOURCE_PERMISSION_DENIED');
    expect((refused.body['error'] as { hint?: string }).hint).toMatch(
      /for this account, then verify and save the new values again\.$/,
    );
    expect((await fixture.app.store.getSource('Ops'))?.tokenCiphertext).toBe(before?.tokenCiphertext);

    const wrongAccount = await send('POST', '/api/sources/Ops/edit', { accountId: 'f'.repeat(32) });
    expect(wrongAccount.status).toBe(422);
    expect((await fixture.app.store.getSource('Ops'))?.accountId).toBe(simulator.accountId);

    expect((await send('POST', '/api/sources/Ops/edit', {})).status).toBe(400);

    const replaced = await send('POST', '/api/sources/Ops/edit', { apiToken: SECOND_TOKEN });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body).toMatchObject({
      source: { name: 'Ops', tokenLast4: SECOND_TOKEN.slice(-4) },
      connection: { requiredMissing: false },
      collectionReset: false,
    });
    const after = await fixture.app.store.getSource('Ops');
    expect(after?.tokenCiphertext).not.toBe(before?.tokenCiphertext);
    expect(fixture.app.secrets.decrypt(after?.tokenCiphertext ?? '').reveal()).toBe(SECOND_TOKEN);
    // The same account: collection goes on from its cursors.
    expect(await fixture.app.store.cursor('Ops/access_requests')).toBeDefined();

    const sameAccount = await send('POST', '/api/sources/Ops/edit', { accountId: simulator.accountId.toUpperCase() });
    expect(sameAccount.body['collectionReset']).toBe(false);
    expect(await latestAudit(4)).toEqual([
      ['source_updated', 'Ops', 'success'],
      ['source_updated', 'Ops', 'success'],
      ['source_updated', 'Ops', 'failure'],
      ['source_updated', 'Ops', 'failure'],
    ]);
    expect((await send('POST', '/api/sources/Nothing/edit', { apiToken: SECOND_TOKEN })).status).toBe(404);
  });

  it('never shows a token in any answer, log line or audit entry', async () => {
    const audit = JSON.stringify(await fixture.auth.listAudit({ limit: 1000 }));
    const logs = fixture.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const token of [TOKEN, LIMITED_TOKEN, UNKNOWN_TOKEN, SECOND_TOKEN]) {
      for (const body of bodies) expect(body).not.toContain(token);
      expect(logs).not.toContain(token);
      expect(audit).not.toContain(token);
      // A fragment longer than the shown last four would be a leak too.
      expect(bodies.join('\n') + logs + audit).not.toContain(token.slice(-8));
    }
  });
});
