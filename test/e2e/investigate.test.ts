import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  DEFAULT_PERMISSIONS,
  INVENTORY_CHANGE_OFFSETS_MS,
  NEW_USER,
  PERMISSIONS,
  startSimulator,
  type Simulator,
} from '../../src/simulator/simulator.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess, type CliResult } from '../helpers/cli.js';
import { deniedWithRay } from '../helpers/events.js';
import { setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';

type Json = Record<string, unknown>;

const NOW = Date.parse('2026-04-14T13:30:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SEED = 5;

let setup: CollectorEnv | undefined;
const extra: Simulator[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((sim) => sim.stop()));
  await setup?.cleanup();
  setup = undefined;
});

/** A collector whose store holds a day of access events and an inventory snapshot that includes the SCIM hire. */
async function collected(): Promise<{ env: CollectorEnv; clock: ManualClock }> {
  const clock = new ManualClock(NOW);
  setup = await setUpCollector({
    seed: SEED,
    clock,
    traffic: { kind: 'fixed', fromMs: NOW - 20 * HOUR, toMs: NOW - 10 * MINUTE, count: 3000 },
  });
  // Past the scheduled user_added change, so the snapshot holds a user who has never signed in.
  clock.advance(INVENTORY_CHANGE_OFFSETS_MS.user_added + MINUTE);
  const result = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env, clock });
  expect(result.code, result.stderr).toBe(0);
  return { env: setup, clock };
}

function investigate(
  env: CollectorEnv,
  clock: ManualClock,
  args: readonly string[],
  baseUrl?: string,
): Promise<CliResult> {
  return runInProcess(['investigate', 'user', ...args], {
    env: baseUrl === undefined ? env.env : { ...env.env, CLOUDFLARE_API_BASE_URL: baseUrl },
    clock,
  });
}

/** The inventory user with the most denied logins in the day before `atMs`, and those denials, newest first. */
function riskiest(sim: Simulator, atMs: number): { user: Json; denied: Json[] } {
  const denied = new Map<unknown, Json[]>();
  for (const event of [...sim.eventsBetween(atMs - DAY, atMs + 1)].reverse())
    if (event['allowed'] === false)
      denied.set(event['user_email'], [...(denied.get(event['user_email']) ?? []), event]);
  const count = (user: Json): number => denied.get(user['email'])?.length ?? 0;
  const user = sim.inventory(atMs).users.reduce((a, b) => (count(b) > count(a) ? b : a));
  expect(count(user)).toBeGreaterThan(3);
  return { user, denied: denied.get(user['email']) ?? [] };
}

function expectNoToken(result: CliResult, token: string): void {
  expect(result.stdout).not.toContain(token);
  expect(result.stderr).not.toContain(token);
}

describe('zerotrail investigate user', () => {
  it('prints the inventory facts, live failed logins, sessions and identity, and the latest stored events', async () => {
    const { env, clock } = await collected();
    const { user, denied } = riskiest(env.simulator, clock.now());
    const email = String(user['email']);
    const result = await investigate(env, clock, [email.toUpperCase()]);
    expect(result.code, result.stderr).toBe(0);
    expectNoToken(result, env.simulator.token);
    const out = result.stdout;

    expect(out).toContain(`User ${email} (${String(user['name'])})`);
    expect(out).toMatch(new RegExp(`id +${String(user['id'])}`));
    expect(out).toContain(`source                 ${TEST_SOURCE} (account ${env.simulator.accountId})`);
    expect(out).toContain(`last successful login  ${String(user['last_successful_login'])}`);
    expect(out).toContain(`active devices         ${String(user['active_device_count'])}`);

    expect(out).toContain(
      denied.length > 20
        ? `Failed logins (live): ${denied.length} (the latest 20; --format json lists them all)`
        : `Failed logins (live): ${denied.length}\n`,
    );
    const failedRows = out.slice(out.indexOf('Failed logins (live)')).split('\n\n')[0]?.split('\n') ?? [];
    expect(failedRows).toHaveLength(2 + Math.min(20, denied.length));
    const newest = denied[0] ?? {};
    const newestLine = out.split('\n').find((line) => line.includes(String(newest['ray_id'])));
    expect(newestLine).toContain(new Date(String(newest['created_at'])).toISOString());
    expect(out).toMatch(/Active sessions \(live\): \d+\nISSUED +EXPIRES +APPS/);
    expect(out).toMatch(/Last seen identity \(live\)\n +seen at +\d{4}-/);
    expect(out).toMatch(/WARP \/ Gateway +(yes|no) \/ (yes|no)/);
    // Every simulated user has an example.com address, which the "Employees" group includes.
    expect(out).toMatch(/groups +.*Employees.*\(inferred from inventory group rules\)/);
    expect(out).toContain('Recent access events (stored): latest 10');
    const eventRows = out.slice(out.indexOf('Recent access events')).split('\n').slice(2);
    expect(eventRows.filter((line) => line.includes(email))).toHaveLength(10);
  });

  it('prints JSON with the same facts, finds the user by id, and pairs the live failures with the stored ones', async () => {
    const { env, clock } = await collected();
    const { user, denied } = riskiest(env.simulator, clock.now());
    const result = await investigate(env, clock, [String(user['id']), '--format', 'json', '--source', TEST_SOURCE]);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as Json;
    expect(Object.keys(json)).toEqual([
      'source',
      'account_id',
      'user',
      'failed_logins',
      'active_sessions',
      'last_seen_identity',
      'inferred_groups',
      'recent_access_events',
    ]);
    expect(json['source']).toBe(TEST_SOURCE);
    expect(json['account_id']).toBe(env.simulator.accountId);
    expect(json['user']).toEqual({
      id: user['id'],
      email: user['email'],
      name: user['name'],
      access_seat: user['access_seat'],
      gateway_seat: user['gateway_seat'],
      last_successful_login: user['last_successful_login'],
      active_device_count: user['active_device_count'],
      snapshot_taken_at: new Date(clock.now()).toISOString(),
    });

    const failed = json['failed_logins'] as { ok: boolean; value: Json[] };
    expect(failed.ok).toBe(true);
    expect(failed.value.map((login) => login['ray_id'])).toEqual(denied.map((event) => event['ray_id']));
    expect(Object.keys(failed.value[0] ?? {})).toEqual(['time', 'app', 'aud', 'ray_id', 'user_email', 'expires_at']);

    const sessions = json['active_sessions'] as { ok: boolean; value: Json[] };
    expect(sessions.ok).toBe(true);
    for (const session of sessions.value) {
      expect(Object.keys(session)).toEqual(['name', 'nonce', 'issued_at', 'expires_at', 'ttl_secs', 'apps']);
      expect(Date.parse(String(session['expires_at']))).toBeGreaterThan(clock.now() - 1000);
    }

    const identity = json['last_seen_identity'] as { ok: boolean; value: Json };
    expect(identity.ok).toBe(true);
    expect(identity.value).toMatchObject({ email: user['email'], user_uuid: user['id'] });
    expect(Object.keys(identity.value)).toEqual([
      'email',
      'user_uuid',
      'idp',
      'ip',
      'country',
      'is_warp',
      'is_gateway',
      'device_id',
      'device_session_count',
      'seen_at',
      'device_posture',
    ]);
    expect((json['inferred_groups'] as Json[]).map((group) => group['name'])).toContain('Employees');

    const events = json['recent_access_events'] as Json[];
    expect(events).toHaveLength(10);
    for (const event of events) {
      expect(event).toMatchObject({ dataset: 'access_requests', source: TEST_SOURCE, user: String(user['email']) });
    }
    const times = events.map((event) => Date.parse(String(event['time'])));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // The stored denials of the last day are the ones Cloudflare still lists as failed logins.
    const storedDenials = events.filter((event) => event['outcome'] === 'failure').map((event) => event['ray_id']);
    const live = new Set(failed.value.map((login) => login['ray_id']));
    for (const rayId of storedDenials) expect(live.has(rayId)).toBe(true);
  });

  it('says when the user is not in the inventory, and when there is no inventory yet', async () => {
    const { env, clock } = await collected();
    const unknown = await investigate(env, clock, ['nobody@example.com']);
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(
      'error[USER_NOT_FOUND]: No user in the inventory has the e-mail or id "nobody@example.com".',
    );
    expect(unknown.stderr).toContain('zerotrail collect --once');

    const noSource = await investigate(env, clock, ['nobody@example.com', '--source', 'Elsewhere']);
    expect(noSource.code).toBe(4);
    expect(noSource.stderr).toContain('error[SOURCE_NOT_FOUND]: No data source is named "Elsewhere".');

    const fresh = await setUpCollector({ seed: SEED, clock: new ManualClock(NOW) });
    try {
      const empty = await investigate(fresh, clock, ['ada@example.com']);
      expect(empty.code).toBe(4);
      expect(empty.stderr).toContain('error[USER_NOT_FOUND]: The inventory holds no users yet');
      expect(empty.stderr).toContain('hint: Run zerotrail collect --once');
    } finally {
      await fresh.cleanup();
    }
  });

  it('shows the stored events of an address the inventory does not list, and says it is not there', async () => {
    const { env, clock } = await collected();
    const gone = 'mallory@example.com';
    const store = await SqliteStore.open({ path: join(env.dataDir, 'zerotrail.db') });
    try {
      await store.append(
        [0, 1, 2].map((n) => deniedWithRay(n, NOW - HOUR + n * MINUTE, gone, 'Wiki')),
        { id: 'mallory', value: {} },
      );
    } finally {
      await store.close();
    }
    const text = await investigate(env, clock, ['Mallory@Example.com']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('User Mallory@Example.com: not in the inventory.');
    expect(text.stdout).toContain('Recent events (stored): latest 3');
    // Newest first, as the inventory user's stored events are.
    expect(
      text.stdout
        .split('\n')
        .filter((line) => line.includes(gone))
        .map((line) => /ray\d/.exec(line)?.[0]),
    ).toEqual(['ray2', 'ray1', 'ray0']);
    expect(text.stdout).toContain("zerotrail search 'user:Mallory@Example.com' lists every stored event of it.");

    const json = await investigate(env, clock, [gone, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Json;
    expect(parsed['in_inventory']).toBe(false);
    expect(parsed['recent_events']).toHaveLength(3);
  });

  it('shows a user SCIM has just provisioned: nothing failed, no session, no identity seen yet, no events', async () => {
    const { env, clock } = await collected();
    const result = await investigate(env, clock, [NEW_USER.email]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`User ${NEW_USER.email} (${NEW_USER.name})`);
    expect(result.stdout).toContain('Failed logins (live): none that Cloudflare still keeps.');
    expect(result.stdout).toContain('Active sessions (live): none.');
    expect(result.stdout).toContain(
      'Last seen identity (live): not available. Cloudflare has no last seen identity for this user: the user has not authenticated recently, or the user id is unknown.',
    );
    expect(result.stdout).toContain('Recent access events (stored): none stored for this user yet');

    const json = JSON.parse((await investigate(env, clock, [NEW_USER.email, '--format', 'json'])).stdout) as Json;
    expect(json['last_seen_identity']).toEqual({
      ok: false,
      error: {
        reason: 'not_found',
        code: 'SOURCE_ACCOUNT_NOT_FOUND',
        message:
          'Cloudflare has no last seen identity for this user: the user has not authenticated recently, or the user id is unknown.',
        hint: null,
      },
    });
    expect(json['recent_access_events']).toEqual([]);
  });

  it('names the permission when the token has lost Access: Audit Logs Read, and exits as an authorisation failure', async () => {
    const { env, clock } = await collected();
    const { user } = riskiest(env.simulator, clock.now());
    // The same account and token, now without the permission the per-user endpoints need.
    const limited = await startSimulator({
      seed: SEED,
      clock,
      tokens: [
        {
          value: env.simulator.token,
          permissions: DEFAULT_PERMISSIONS.filter((p) => p !== PERMISSIONS.accessAuditLogs),
        },
      ],
    });
    extra.push(limited);
    const result = await investigate(env, clock, [String(user['email'])], limited.baseUrl);
    expect(result.code).toBe(3);
    expectNoToken(result, env.simulator.token);
    for (const title of ['Failed logins (live)', 'Active sessions (live)', 'Last seen identity (live)'])
      expect(result.stdout).toMatch(
        new RegExp(`${title.replace(/[()]/g, '\\$&')}: not available\\. .*needs Access: Audit Logs Read`),
      );
    // What the store holds is still shown.
    expect(result.stdout).toContain('Recent access events (stored): latest 10');
    expect(result.stderr).toMatch(/^error\[SOURCE_PERMISSION_DENIED\]: .*Access: Audit Logs Read/m);
  });
});
