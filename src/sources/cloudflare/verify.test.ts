import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../core/clock.js';
import { SourceError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import { startSimulator, type Simulator } from '../../simulator/simulator.js';
import { envelope, failure, startFixtureServer, type FixtureServer } from '../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { CloudflareClient } from './client.js';
import { RateBudget } from './rate-budget.js';
import { probeAccessRequests, verifyToken } from './verify.js';

const ACCOUNT_ID = 'abcdefabcdefabcdefabcdefabcdef12';
const TOKEN_ID = 'ed17574386854bf78a67040be0a770b0';

let server: FixtureServer;
let started: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(started.map((s) => s.close()));
  started = [];
});

async function client(): Promise<CloudflareClient> {
  server = await startFixtureServer();
  started.push(server);
  return new CloudflareClient({
    baseUrl: `${server.url}/client/v4`,
    accountId: ACCOUNT_ID,
    token: new Secret('verify-test-token'),
    timeoutMs: 2000,
    rateBudget: new RateBudget({ requests: 1000, windowSecs: 1, share: 1, clock: systemClock }),
    logger: silentLogger(),
    metrics: new Metrics(),
    clock: systemClock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
  });
}

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const error: unknown = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  if (error instanceof SourceError) return error;
  throw error;
}

function paths(): string[] {
  return server.requests.map((r) => r.path);
}

describe('verifyToken', () => {
  it('accepts an active user token', async () => {
    const c = await client();
    server.enqueue({ body: envelope({ id: TOKEN_ID, status: 'active', expires_on: '2027-01-01T00:00:00Z' }) });
    await expect(verifyToken(c)).resolves.toEqual({
      id: TOKEN_ID,
      status: 'active',
      expiresOn: '2027-01-01T00:00:00Z',
      owner: 'user',
    });
    expect(paths()).toEqual(['/client/v4/user/tokens/verify']);
    for (const r of server.requests) expect(validateRequest(r.method, r.url)).toEqual([]);
  });

  it('falls back to the account endpoint for an account-owned token', async () => {
    const c = await client();
    server.enqueue(
      { status: 401, body: failure([{ code: 1000, message: 'Invalid API Token' }]) },
      { body: envelope({ id: TOKEN_ID, status: 'active' }) },
    );
    await expect(verifyToken(c)).resolves.toEqual({ id: TOKEN_ID, status: 'active', owner: 'account' });
    expect(paths()).toEqual(['/client/v4/user/tokens/verify', `/client/v4/accounts/${ACCOUNT_ID}/tokens/verify`]);
    for (const r of server.requests) expect(validateRequest(r.method, r.url)).toEqual([]);
  });

  it('says to create a new token when neither endpoint accepts it', async () => {
    const c = await client();
    server.setFallback({ status: 401, body: failure([{ code: 1000, message: 'Invalid API Token' }]) });
    const error = await rejection(verifyToken(c));
    expect(error.code).toBe('SOURCE_AUTH_FAILED');
    expect(error.message).toContain('Create a new token');
    expect(server.requests).toHaveLength(2);
  });

  it('reports an expired token as such', async () => {
    const c = await client();
    server.enqueue({ body: envelope({ id: TOKEN_ID, status: 'expired', expires_on: '2026-01-01T00:00:00Z' }) });
    const error = await rejection(verifyToken(c));
    expect(error.code).toBe('SOURCE_AUTH_FAILED');
    expect(error.message).toContain('expired');
    expect(error.message).toContain('2026-01-01T00:00:00Z');
    // Not only the permission of the request that found out: every one the replacement needs.
    expect(error.message).toContain(
      'with the read permissions zerotrail needs: "Access: Audit Logs Read", "Access: Organizations, Identity Providers, and Groups Read" and "Zero Trust Read", and for the optional datasets',
    );
  });

  it('redacts the token from the status it reports, when the answer echoes it', async () => {
    const c = await client();
    server.enqueue({
      body: envelope({ id: TOKEN_ID, status: 'disabled (token verify-test-token)', expires_on: 'verify-test-token' }),
    });
    const error = await rejection(verifyToken(c));
    expect(error.message).toContain('The API token is disabled (token [redacted]) (expires_on [redacted])');
    expect(JSON.stringify([error.message, error.details])).not.toContain('verify-test-token');
  });

  it('does not fall back when the failure is not about the token', async () => {
    const c = await client();
    server.enqueue({ status: 400, body: failure([{ code: 6003, message: 'Invalid request headers' }]) });
    const error = await rejection(verifyToken(c));
    expect(error.code).toBe('SOURCE_TOKEN_INVALID');
    expect(server.requests).toHaveLength(1);
  });
});

describe('verifyToken against a Cloudflare that never answers', () => {
  it('fails with SOURCE_TIMEOUT when the deadline runs out, and rejects with the reason when cancelled', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      const c = new CloudflareClient({
        baseUrl: `http://127.0.0.1:${address.port}/client/v4`,
        accountId: ACCOUNT_ID,
        token: new Secret('verify-test-token'),
        timeoutMs: 30_000,
        rateBudget: new RateBudget({ requests: 1000, windowSecs: 1, share: 1, clock: systemClock }),
        logger: silentLogger(),
        metrics: new Metrics(),
        clock: systemClock,
        retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
      });
      const error = await rejection(verifyToken(c, AbortSignal.timeout(300)));
      expect(error.code).toBe('SOURCE_TIMEOUT');
      expect(error.message).toContain('did not answer the token check in time');

      const controller = new AbortController();
      const cancelled = verifyToken(c, controller.signal);
      setTimeout(() => controller.abort(new Error('stopped by the operator')), 50);
      await expect(cancelled).rejects.toThrow('stopped by the operator');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('probeAccessRequests', () => {
  it('reads one event to prove the permission', async () => {
    const c = await client();
    server.enqueue({ body: envelope([{ created_at: '2026-03-01T11:00:00Z', ray_id: '7d0000000000000a' }]) });
    await expect(probeAccessRequests(c)).resolves.toEqual({ newestEventAt: '2026-03-01T11:00:00Z' });
    expect(Object.fromEntries(server.requests[0]?.query ?? [])).toEqual({ limit: '1', direction: 'desc' });
    for (const r of server.requests) expect(validateRequest(r.method, r.url)).toEqual([]);
  });

  it('names the missing permission and the account', async () => {
    const c = await client();
    server.setFallback({ status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) });
    const error = await rejection(probeAccessRequests(c));
    expect(error.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(error.message).toContain('Access: Audit Logs Read');
    expect(error.message).toContain(ACCOUNT_ID);
  });

  it('points at the Account ID when the account is unknown', async () => {
    const c = await client();
    server.setFallback({ status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) });
    const error = await rejection(probeAccessRequests(c));
    expect(error.code).toBe('SOURCE_ACCOUNT_NOT_FOUND');
    expect(error.message).toContain('Account ID');
  });
});

describe('verifyToken and probeAccessRequests against the simulator', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  async function simClient(token: string, accountId?: string): Promise<CloudflareClient> {
    const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
    sim ??= await startSimulator({
      clock,
      tokens: [
        { value: 'good-token' },
        { value: 'expired-token', status: 'expired' },
        { value: 'no-audit-token', permissions: ['Zero Trust Read'] },
      ],
    });
    return new CloudflareClient({
      baseUrl: sim.baseUrl,
      accountId: accountId ?? sim.accountId,
      token: new Secret(token),
      timeoutMs: 5000,
      rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock }),
      logger: silentLogger(),
      metrics: new Metrics(),
      clock,
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
    });
  }

  it('verifies a good token and proves its permission', async () => {
    const c = await simClient('good-token');
    await expect(verifyToken(c)).resolves.toMatchObject({ status: 'active', owner: 'user' });
    await expect(probeAccessRequests(c)).resolves.toHaveProperty('newestEventAt');
  });

  it('reports an expired token', async () => {
    const c = await simClient('expired-token');
    const error = await rejection(verifyToken(c));
    expect(error.code).toBe('SOURCE_AUTH_FAILED');
    expect(error.message).toContain('expired');
  });

  it('names the permission a token lacks', async () => {
    const c = await simClient('no-audit-token');
    const error = await rejection(probeAccessRequests(c));
    expect(error.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(error.message).toContain('Access: Audit Logs Read');
  });

  it('tells an unknown token and a foreign account apart', async () => {
    const unknown = await rejection(probeAccessRequests(await simClient('never-issued')));
    expect(unknown.code).toBe('SOURCE_AUTH_FAILED');
    const foreign = await rejection(
      probeAccessRequests(await simClient('good-token', '99999999999999999999999999999999')),
    );
    expect(foreign.code).toBe('SOURCE_PERMISSION_DENIED');
    expect(foreign.message).toContain('99999999999999999999999999999999');
    for (const entry of sim?.requestLog() ?? [])
      expect(validateRequest(entry.method, `${entry.path}?${entry.query}`)).toEqual([]);
  });
});
