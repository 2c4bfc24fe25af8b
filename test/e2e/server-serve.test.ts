import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/collector-env.js';
import { serve } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const HOUR_MS = 3_600_000;
const PASSWORD = 'a-long-enough-admin-passphrase';
const TOKEN = 'zt-Serve-Secret-Token-5ca1ab1e7e57abcd';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** HTTPS with the test's own CA, so the self-signed certificate is verified rather than ignored. */
function call(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('zerotrail serve, user and apikey', () => {
  let simulator: Simulator;
  let dir: { readonly path: string; remove(): void };
  let env: Record<string, string>;
  let ca: Buffer;

  beforeAll(async () => {
    const now = Date.now();
    simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      tokens: [{ value: TOKEN }],
      traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 40 },
    });
    dir = makeTempDir('serve');
    env = simulatorEnv(simulator, dir.path, { ZEROTRAIL_LOG_LEVEL: 'info' });
    // A throwaway self-signed certificate for 127.0.0.1, made fresh for this run.
    ca = selfSignedCertificate(dir.path).cert;
  });
  afterAll(async () => {
    await simulator.stop();
    dir.remove();
  });

  it('adds users from the command line with the password on stdin, enforcing its length, and lists them', async () => {
    const weak = await runInProcess(['user', 'add', 'admin', '--role', 'admin'], { env, input: 'short\n' });
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('error[AUTH_PASSWORD_WEAK]');

    const added = await runInProcess(['user', 'add', 'admin', '--role', 'admin'], { env, input: `${PASSWORD}\n` });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('Added user "admin" with role admin.');
    const again = await runInProcess(['user', 'add', 'Admin', '--role', 'viewer'], { env, input: `${PASSWORD}\n` });
    expect(again.stderr).toContain('error[AUTH_USER_EXISTS]');
    const badRole = await runInProcess(['user', 'add', 'eve', '--role', 'root'], { env, input: `${PASSWORD}\n` });
    expect(badRole.code).toBe(2);

    const analyst = await runInProcess(['user', 'add', 'ana', '--role', 'analyst'], { env, input: `${PASSWORD}-ana` });
    expect(analyst.code, analyst.stderr).toBe(0);
    const listed = await runInProcess(['user', 'list', '--format', 'json'], { env });
    expect(JSON.parse(listed.stdout)).toEqual([
      { name: 'admin', role: 'admin', createdAt: expect.any(String) as string },
      { name: 'ana', role: 'analyst', createdAt: expect.any(String) as string },
    ]);
    expect(listed.stdout).not.toContain('argon2');
    const table = await runInProcess(['user', 'list'], { env });
    expect(table.stdout).toMatch(/ana\s+analyst/);
  });

  it('creates an API key that is printed once, alone on stdout', async () => {
    const created = await runInProcess(['apikey', 'create', '--user', 'ana', '--label', 'nightly export'], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^ztk_[A-Za-z0-9_-]{43}\n$/);
    expect(created.stderr).toContain('not shown again');
    const unknown = await runInProcess(['apikey', 'create', '--user', 'nobody'], { env });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('error[AUTH_USER_UNKNOWN]');

    // Listed by id, owner and prefix, never the key; revoked by id from the command line too.
    const prefix = created.stdout.trim().slice(0, 12);
    const listed = await runInProcess(['apikey', 'list', '--format', 'json'], { env });
    expect(listed.stdout).not.toContain(created.stdout.trim());
    const entry = (JSON.parse(listed.stdout) as { id: number; user: string; label: string; prefix: string }[]).find(
      (key) => key.label === 'nightly export',
    );
    expect(entry).toMatchObject({ user: 'ana', prefix: expect.stringMatching(/^ztk_/) as string });
    expect(prefix.startsWith(entry?.prefix ?? '-')).toBe(true);
    const table = await runInProcess(['apikey', 'list'], { env });
    expect(table.stdout).toMatch(
      new RegExp(`^${entry?.id}\\s+ana\\s+analyst\\s+${entry?.prefix}…\\s+nightly export`, 'm'),
    );
    const revoked = await runInProcess(['apikey', 'revoke', String(entry?.id)], { env });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('revoked; it no longer works');
    const again = await runInProcess(['apikey', 'revoke', String(entry?.id)], { env });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('it may be revoked already');
  });

  it('serves HTTPS on a real socket with the collector: a source added through the API is collected, and Ctrl-C stops both', async () => {
    const key = (await runInProcess(['apikey', 'create', '--user', 'ana'], { env })).stdout.trim();
    const served = serve(
      ['--port', '0', '--tls-cert', join(dir.path, 'cert.pem'), '--tls-key', join(dir.path, 'key.pem')],
      env,
    );
    try {
      const base = await served.url;
      expect(base, served.stderr()).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

      const health = await call(`${base}/api/health`, ca);
      expect(health.status).toBe(200);
      expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
      expect(health.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect((await call(`${base}/api/events`, ca)).status).toBe(401);

      const loggedIn = await call(`${base}/api/login`, ca, {
        method: 'POST',
        body: { name: 'admin', password: PASSWORD },
      });
      expect(loggedIn.status).toBe(200);
      const setCookie = String(loggedIn.headers['set-cookie']);
      expect(setCookie).toMatch(/zt_session=[^;]+;.*HttpOnly/i);
      expect(setCookie).toMatch(/;\s*Secure/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      const cookie = setCookie.split(';')[0] ?? '';
      const { csrfToken } = JSON.parse(loggedIn.body) as { csrfToken: string };

      const added = await call(`${base}/api/sources`, ca, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken },
        body: { apiToken: TOKEN, accountId: simulator.accountId, name: 'Served' },
      });
      expect(added.status, added.body).toBe(201);

      // The collector restarts with the new source and backfills; the analyst's key then finds the events.
      let events: unknown[] = [];
      const deadline = Date.now() + 30_000;
      while (events.length === 0 && Date.now() < deadline) {
        const res = await call(`${base}/api/events?q=dataset:access_requests&limit=5`, ca, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(res.status).toBe(200);
        events = (JSON.parse(res.body) as { events: unknown[] }).events;
        if (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(events.length).toBeGreaterThan(0);
      const viewerDenied = await call(`${base}/api/users`, ca, { headers: { authorization: `Bearer ${key}` } });
      expect(viewerDenied.status).toBe(403);
    } finally {
      served.stop();
    }
    expect(await served.exit).toBe(0);
    expect(served.stderr()).not.toContain(TOKEN);
    expect(served.stderr()).not.toContain(PASSWORD);
  });

  it('stops on SIGTERM as a real process, closing the listening socket', async () => {
    const child = spawnCli(['serve', '--port', '0', '--no-collect'], env);
    let stderr = '';
    const base = await new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const match = /serving the API on (\S+)\/api/.exec(stderr);
        // The start-up lines may arrive in several chunks; the collection line is the last of them.
        if (match?.[1] !== undefined && stderr.includes('Collection is')) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr).toContain('Collection is off (--no-collect).');
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${base}/api/health`)).rejects.toThrow();
  });

  it('refuses a certificate without its key before it starts', async () => {
    const result = await runInProcess(['serve', '--tls-cert', join(dir.path, 'cert.pem')], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tls-key');
  });
});
