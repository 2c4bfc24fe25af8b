import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import {
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  INVENTORY_CHANGE_OFFSETS_MS,
  NEW_USER,
  PERMISSIONS,
  startSimulator,
  type Simulator,
  type SimulatorOptions,
} from '../../simulator/simulator.js';
import { startFixtureServer, type FixtureServer } from '../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { CloudflareClient } from './client.js';
import { RateBudget } from './rate-budget.js';
import { fetchUserDetails, USER_DETAILS_PERMISSION, type UserDetailPart, type UserDetails } from './user-details.js';

type Json = Record<string, unknown>;

const NOW = Date.parse('2026-03-11T15:20:00Z');
const DAY = 86_400_000;
const NO_AUDIT_TOKEN = 'noAuditLogsToken000000000000000000000000';
const ACCOUNT_ID = '5e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b';
const USER_ID = '57171132-e453-4ee8-b2a5-8cbaad333207';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({
    clock: new ManualClock(NOW),
    seed: 11,
    tokens: [
      { value: DEFAULT_TOKEN },
      { value: NO_AUDIT_TOKEN, permissions: DEFAULT_PERMISSIONS.filter((p) => p !== PERMISSIONS.accessAuditLogs) },
    ],
    ...options,
  });
  running.push(sim);
  return sim;
}

/** A TCP server that accepts connections and never answers: a Cloudflare that hangs. */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}/client/v4`;
}

async function fixtureServer(): Promise<FixtureServer> {
  const server = await startFixtureServer();
  running.push({ stop: () => server.close() });
  return server;
}

function clientFor(baseUrl: string, token: string = DEFAULT_TOKEN, accountId = ACCOUNT_ID): CloudflareClient {
  const clock = new ManualClock(NOW);
  return new CloudflareClient({
    baseUrl,
    accountId,
    token: new Secret(token),
    timeoutMs: 10_000,
    rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock }),
    logger: silentLogger(),
    metrics: new Metrics(),
    clock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 },
  });
}

function value<T>(part: UserDetailPart<T>): T {
  if (!part.ok) throw new Error(`expected the part to be read, got ${part.failure.code}: ${part.failure.message}`);
  return part.value;
}

function failureOf<T>(part: UserDetailPart<T>): Extract<UserDetailPart<T>, { ok: false }>['failure'] {
  if (part.ok) throw new Error('expected the part to fail');
  return part.failure;
}

/** What the simulator serves, read without our client, to compare against what the client made of it. */
async function raw(sim: Simulator, userId: string, part: string): Promise<Json> {
  const url = `${sim.baseUrl}/accounts/${sim.accountId}/access/users/${userId}/${part}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${sim.token}` } });
  return (await res.json()) as Json;
}

function userWithMostDenials(sim: Simulator): Json {
  const denied = new Map<unknown, number>();
  for (const e of sim.eventsBetween(NOW - DAY, NOW + 1))
    if (e['allowed'] === false) denied.set(e['user_email'], (denied.get(e['user_email']) ?? 0) + 1);
  const count = (user: Json): number => denied.get(user['email']) ?? 0;
  return sim.inventory().users.reduce((a, b) => (count(b) > count(a) ? b : a));
}

function allParts(details: UserDetails): readonly UserDetailPart<unknown>[] {
  return [details.failedLogins, details.activeSessions, details.lastSeenIdentity];
}

describe('fetchUserDetails against the simulator', () => {
  it('reads failed logins, active sessions and the last seen identity with spec-valid requests', async () => {
    const sim = await simulator();
    const user = userWithMostDenials(sim);
    const id = String(user['id']);
    const details = await fetchUserDetails(clientFor(sim.baseUrl), id, new AbortController().signal);
    expect(details.userId).toBe(id);

    const failed = value(details.failedLogins);
    const rawFailed = (await raw(sim, id, 'failed_logins'))['result'] as Json[];
    expect(failed.length).toBeGreaterThan(3);
    expect(failed).toHaveLength(rawFailed.length);
    const first = rawFailed[0] ?? {};
    const metadata = first['metadata'] as Json;
    expect(failed[0]).toEqual({
      time: metadata['datetime'],
      timeMs: Date.parse(String(metadata['datetime'])),
      appName: metadata['app_name'],
      aud: metadata['aud'],
      rayId: metadata['ray_id'],
      userEmail: user['email'],
      expiresAtMs: Number(first['expiration']) * 1000,
    });

    const sessions = value(details.activeSessions);
    const rawSessions = (await raw(sim, id, 'active_sessions'))['result'] as Json[];
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions).toHaveLength(rawSessions.length);
    const session = rawSessions[0] ?? {};
    const sessionMeta = session['metadata'] as Json;
    expect(sessions[0]).toEqual({
      name: session['name'],
      nonce: sessionMeta['nonce'],
      issuedAtMs: Number(sessionMeta['iat']) * 1000,
      expiresAtMs: Number(sessionMeta['expires']) * 1000,
      ttlSecs: 86_400,
      apps: Object.entries(sessionMeta['apps'] as Record<string, Json>).map(([key, app]) => ({
        key,
        name: app['name'],
        hostname: app['hostname'],
        type: app['type'],
        uid: app['uid'],
      })),
    });

    const identity = value(details.lastSeenIdentity);
    const rawIdentity = (await raw(sim, id, 'last_seen_identity'))['result'] as Json;
    expect(identity).toMatchObject({
      email: user['email'],
      userUuid: id,
      idpId: (rawIdentity['idp'] as Json)['id'],
      idpType: (rawIdentity['idp'] as Json)['type'],
      ip: rawIdentity['ip'],
      country: (rawIdentity['geo'] as Json)['country'],
      isWarp: rawIdentity['is_warp'],
      isGateway: rawIdentity['is_gateway'],
      issuedAtMs: Number(rawIdentity['iat']) * 1000,
    });
    expect(identity.devicePosture).toHaveLength(Object.keys(rawIdentity['devicePosture'] as Json).length);
    expect(identity.deviceId).toBe(rawIdentity['device_id'] === '' ? null : rawIdentity['device_id']);

    const ours = sim.requestLog().filter((entry) => entry.path.includes('/access/users/'));
    expect(ours.map((entry) => entry.path.split('/').pop()).sort()).toEqual(
      [
        ...['active_sessions', 'failed_logins', 'last_seen_identity'],
        ...['active_sessions', 'failed_logins', 'last_seen_identity'],
      ].sort(),
    );
    for (const entry of ours.slice(0, 3)) {
      expect(validateRequest('GET', `${sim.baseUrl.replace(/\/client\/v4$/, '')}${entry.path}`)).toEqual([]);
      expect(entry.query).toBe('');
    }
  });

  it('reports every part as not found for a user id Cloudflare does not know, without failing', async () => {
    const sim = await simulator();
    const details = await fetchUserDetails(clientFor(sim.baseUrl), USER_ID, new AbortController().signal);
    for (const part of allParts(details)) {
      const failure = failureOf(part);
      expect(failure.reason).toBe('not_found');
      expect(failure.message).not.toContain('account');
    }
    expect(failureOf(details.failedLogins).message).toBe(
      'Cloudflare does not know this user id, so it has no failed logins.',
    );
  });

  it('keeps the parts it could read when one is missing: a user SCIM has just provisioned has no identity yet', async () => {
    const clock = new ManualClock(NOW);
    const sim = await simulator({ clock });
    clock.advance(INVENTORY_CHANGE_OFFSETS_MS.user_added);
    const robin = sim.inventory().users.find((u) => u['email'] === NEW_USER.email);
    const details = await fetchUserDetails(clientFor(sim.baseUrl), String(robin?.['id']), new AbortController().signal);
    expect(value(details.failedLogins)).toEqual([]);
    expect(value(details.activeSessions)).toEqual([]);
    expect(failureOf(details.lastSeenIdentity)).toMatchObject({
      reason: 'not_found',
      message:
        'Cloudflare has no last seen identity for this user: the user has not authenticated recently, or the user id is unknown.',
    });
  });

  it('names the missing permission when the token lacks Access: Audit Logs Read', async () => {
    const sim = await simulator();
    const id = String(sim.inventory().users[0]?.['id']);
    const details = await fetchUserDetails(clientFor(sim.baseUrl, NO_AUDIT_TOKEN), id, new AbortController().signal);
    for (const part of allParts(details)) {
      const failure = failureOf(part);
      expect(failure.reason).toBe('permission_missing');
      expect(failure.code).toBe('SOURCE_PERMISSION_DENIED');
      expect(failure.message).toContain(USER_DETAILS_PERMISSION);
      expect(failure.message).not.toContain(NO_AUDIT_TOKEN);
    }
  });

  it('reports a token that is rejected, and one that does not reach the account, apart', async () => {
    const sim = await simulator();
    const id = String(sim.inventory().users[0]?.['id']);
    const signal = new AbortController().signal;
    const rejected = await fetchUserDetails(
      clientFor(sim.baseUrl, 'notAKnownToken0000000000000000000000000'),
      id,
      signal,
    );
    for (const part of allParts(rejected)) expect(failureOf(part).reason).toBe('token_rejected');
    const elsewhere = await fetchUserDetails(
      clientFor(sim.baseUrl, DEFAULT_TOKEN, 'ffffffffffffffffffffffffffffffff'),
      id,
      signal,
    );
    for (const part of allParts(elsewhere)) expect(failureOf(part).reason).toBe('account_denied');
  });

  it('fails only the part whose endpoint keeps failing, after the client retried it', async () => {
    const sim = await simulator({
      faults: { serverError: { probability: 1, statuses: [503], routes: ['access-user-active-sessions'] } },
    });
    const user = userWithMostDenials(sim);
    const details = await fetchUserDetails(clientFor(sim.baseUrl), String(user['id']), new AbortController().signal);
    expect(value(details.failedLogins).length).toBeGreaterThan(0);
    expect(value(details.lastSeenIdentity).email).toBe(user['email']);
    expect(failureOf(details.activeSessions)).toMatchObject({ reason: 'failed', code: 'SOURCE_UNAVAILABLE' });
    expect(sim.requestLog().filter((e) => e.path.endsWith('/active_sessions'))).toHaveLength(2);
  });

  it('reports every part as timed out when Cloudflare holds the connection open past the deadline', async () => {
    const details = await fetchUserDetails(clientFor(await silentServer()), USER_ID, AbortSignal.timeout(300));
    for (const part of allParts(details)) {
      expect(failureOf(part)).toMatchObject({ reason: 'failed', code: 'SOURCE_TIMEOUT' });
      expect(failureOf(part).message).toMatch(/did not answer .* in time/);
    }
  });

  it('rejects when cancelled instead of reporting the parts as failed', async () => {
    const sim = await simulator({ faults: { slow: { probability: 1, delayMs: 2_000 } } });
    const controller = new AbortController();
    const pending = fetchUserDetails(
      clientFor(sim.baseUrl),
      String(sim.inventory().users[0]?.['id']),
      controller.signal,
    );
    setTimeout(() => controller.abort(new Error('stopped by the operator')), 50);
    await expect(pending).rejects.toThrow('stopped by the operator');
  });
});

describe('fetchUserDetails response checks', () => {
  const envelope = (result: unknown): { status: number; headers: Record<string, string>; body: string } => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ success: true, errors: [], messages: [], result }),
  });

  it('passes unknown fields through, reads null lists as empty and shows the fields an entry lacks as absent', async () => {
    const server = await fixtureServer();
    server.setFallback((request) => {
      if (request.path.endsWith('/failed_logins'))
        return envelope([
          { expiration: 1_773_300_000, metadata: { app_name: 'Wiki', datetime: '2026-03-11T10:00:00Z' }, extra: 1 },
          { expiration: 1_773_300_001 },
        ]);
      if (request.path.endsWith('/active_sessions')) {
        return request.path.includes('/sessions-user/')
          ? envelope([{ name: 'laptop', metadata: { nonce: 'n1' } }])
          : envelope(null);
      }
      return envelope({ email: 'ada.adams@example.com', device_id: '', new_vendor_field: { nested: true } });
    });
    const details = await fetchUserDetails(clientFor(server.url), USER_ID, new AbortController().signal);
    // The description requires none of an entry's fields: what is missing shows as absent.
    expect(value(details.failedLogins)).toEqual([
      {
        time: '2026-03-11T10:00:00Z',
        timeMs: Date.parse('2026-03-11T10:00:00Z'),
        appName: 'Wiki',
        aud: null,
        rayId: null,
        userEmail: null,
        expiresAtMs: 1_773_300_000_000,
      },
      {
        time: null,
        timeMs: null,
        appName: null,
        aud: null,
        rayId: null,
        userEmail: null,
        expiresAtMs: 1_773_300_001_000,
      },
    ]);
    expect(value(details.activeSessions)).toEqual([]);
    const sessions = await fetchUserDetails(clientFor(server.url), 'sessions-user', new AbortController().signal);
    expect(value(sessions.activeSessions)).toEqual([
      { name: 'laptop', nonce: 'n1', issuedAtMs: null, expiresAtMs: null, ttlSecs: null, apps: [] },
    ]);
    expect(value(details.lastSeenIdentity)).toEqual({
      email: 'ada.adams@example.com',
      userUuid: null,
      idpId: null,
      idpType: null,
      ip: null,
      country: null,
      isWarp: null,
      isGateway: null,
      deviceId: null,
      issuedAtMs: null,
      devicePosture: [],
      deviceSessionCount: 0,
    });
    // The id is a path segment of its own, whatever characters it holds.
    await fetchUserDetails(clientFor(server.url), 'a/b?c', new AbortController().signal);
    expect(server.requests.at(-1)?.path).toMatch(
      /\/access\/users\/a%2Fb%3Fc\/(failed_logins|active_sessions|last_seen_identity)$/,
    );
  });
});
