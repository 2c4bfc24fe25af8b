import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { checkedGet, firstError, resultList, trackedSimulators } from '../../test/helpers/simulators.js';
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  INVENTORY_CHANGE_OFFSETS_MS,
  NEW_USER,
  PERMISSIONS,
} from './simulator.js';
import type { Simulator } from './simulator.js';
import { buildOrganisation } from './organisation.js';

type Json = Record<string, unknown>;

const NOW = Date.parse('2026-03-11T15:20:00Z');
const DAY = 86_400_000;
const NO_AUDIT_TOKEN = 'noAuditLogsToken000000000000000000000000';
const OTHER_ACCOUNT = 'ffffffffffffffffffffffffffffffff';
const ORGANISATION = buildOrganisation(11);
const start = trackedSimulators(() => ({
  clock: new ManualClock(NOW),
  seed: 11,
  tokens: [
    { value: DEFAULT_TOKEN, accountIds: [DEFAULT_ACCOUNT_ID, OTHER_ACCOUNT] },
    { value: NO_AUDIT_TOKEN, permissions: DEFAULT_PERMISSIONS.filter((p) => p !== PERMISSIONS.accessAuditLogs) },
  ],
}));

// The trimmed official spec, read directly so the test can tell a documented key from an invented one.
const SPEC = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', '..', 'shared', 'cloudflare', 'openapi-zero-trust.json'), 'utf8'),
) as Json;

function schemaAt(ref: string): Json {
  let node: unknown = SPEC;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Json)[part];
  return node as Json;
}

/** Every key path in `value` that the schema (properties, allOf, additionalProperties, items) does not document. */
function undocumentedKeys(value: unknown, schema: Json, path = ''): string[] {
  const resolved = typeof schema['$ref'] === 'string' ? schemaAt(schema['$ref']) : schema;
  if (Array.isArray(value)) {
    const items = resolved['items'] as Json | undefined;
    return items === undefined ? [] : value.flatMap((item, i) => undocumentedKeys(item, items, `${path}[${i}]`));
  }
  if (value === null || typeof value !== 'object') return [];
  const parts = [resolved, ...((resolved['allOf'] as Json[] | undefined) ?? [])].map((s) =>
    typeof s['$ref'] === 'string' ? schemaAt(s['$ref']) : s,
  );
  const properties = Object.assign({}, ...parts.map((s) => (s['properties'] as Json | undefined) ?? {})) as Json;
  const additional = parts.map((s) => s['additionalProperties']).find((a) => typeof a === 'object') as Json | undefined;
  const example = parts.map((s) => s['example']).find((e) => typeof e === 'object') as Json | undefined;
  const out: string[] = [];
  for (const [key, inner] of Object.entries(value as Json)) {
    const child = properties[key] as Json | undefined;
    if (child !== undefined) out.push(...undocumentedKeys(inner, child, `${path}.${key}`));
    else if (additional !== undefined) out.push(...undocumentedKeys(inner, additional, `${path}.${key}`));
    // An untyped object documented only by its example (failed_logins' metadata): its keys are the example's.
    else if (example === undefined || !(key in example)) out.push(`${path}.${key}`);
  }
  return out;
}

function resultSchema(operation: string): Json {
  const paths = SPEC['paths'] as Json;
  const op = (paths[`/accounts/{account_id}/access/users/{user_id}/${operation}`] as Json)['get'] as Json;
  const responses = op['responses'] as Json;
  const envelope = schemaAt(
    ((((responses['200'] as Json)['content'] as Json)['application/json'] as Json)['schema'] as Json)['$ref'] as string,
  );
  const own = (envelope['allOf'] as Json[])[1] as Json;
  return (own['properties'] as Json)['result'] as Json;
}

function userPath(sim: Simulator, userId: string, part: string, account = sim.accountId): string {
  return `/accounts/${account}/access/users/${userId}/${part}`;
}

function users(sim: Simulator): readonly Json[] {
  return sim.inventory().users;
}

/** The events the access log holds for `email` in [fromMs, toMs], newest first (the simulator's own record). */
function eventsOf(sim: Simulator, email: string, fromMs: number, toMs: number): Json[] {
  return sim
    .eventsBetween(fromMs, toMs + 1)
    .filter((e) => e['user_email'] === email)
    .reverse();
}

/** The user with the most denied logins in the last day: one of the risky accounts the organisation has. */
function riskiestUser(sim: Simulator): Json {
  const denied = new Map<unknown, number>();
  for (const e of sim.eventsBetween(NOW - DAY, NOW + 1))
    if (e['allowed'] === false) denied.set(e['user_email'], (denied.get(e['user_email']) ?? 0) + 1);
  const count = (user: Json): number => denied.get(user['email']) ?? 0;
  const best = users(sim).reduce((a, b) => (count(b) > count(a) ? b : a));
  expect(count(best)).toBeGreaterThan(3);
  return best;
}

const FAILED_ITEM = (): Json => resultSchema('failed_logins')['items'] as Json;

function appByUid(sim: Simulator, uid: unknown): Json {
  const app = sim.inventory().apps.find((a) => a['id'] === uid);
  expect(app, `app ${String(uid)}`).toBeDefined();
  return app ?? {};
}

function secs(createdAt: unknown): number {
  return Math.floor(Date.parse(String(createdAt)) / 1000);
}

describe('per-user Access details', () => {
  it('lists as failed logins exactly the denied events of the user in the access log of the last day', async () => {
    const sim = await start();
    const user = riskiestUser(sim);
    const email = String(user['email']);
    const failed = resultList(await checkedGet(sim, userPath(sim, String(user['id']), 'failed_logins')));
    expect(failed.flatMap((f) => undocumentedKeys(f, FAILED_ITEM()))).toEqual([]);

    const expected = eventsOf(sim, email, NOW - DAY, NOW).filter((e) => e['allowed'] === false);
    expect(failed.map((f) => (f['metadata'] as Json)['ray_id'])).toEqual(expected.map((e) => e['ray_id']));
    failed.forEach((item, i) => {
      const event = expected[i] ?? {};
      const app = appByUid(sim, event['app_uid']);
      expect(item).toEqual({
        expiration: secs(event['created_at']) + 86_400,
        metadata: {
          app_name: app['name'],
          aud: app['aud'],
          datetime: event['created_at'],
          ray_id: event['ray_id'],
          user_email: email,
          user_uuid: user['id'],
        },
      });
    });
    // Denials older than a day have expired from the list.
    const older = eventsOf(sim, email, NOW - 3 * DAY, NOW - DAY - 1).filter((e) => e['allowed'] === false);
    expect(older.length).toBeGreaterThan(0);
    const listed = new Set(failed.map((f) => (f['metadata'] as Json)['ray_id']));
    expect(older.some((e) => listed.has(e['ray_id']))).toBe(false);
  });

  it('builds active sessions from the allowed logins inside one organisation session duration', async () => {
    const sim = await start();
    const all = users(sim);
    let checked = 0;
    let closedByLogout = 0;
    for (const user of all.slice(0, 40)) {
      const sessions = resultList(await checkedGet(sim, userPath(sim, String(user['id']), 'active_sessions')));
      expect(sessions.flatMap((s) => undocumentedKeys(s, resultSchema('active_sessions')['items'] as Json))).toEqual(
        [],
      );
      const events = eventsOf(sim, String(user['email']), NOW - DAY, NOW);
      const logins = events.filter((e) => e['allowed'] === true && e['action'] === 'login');
      if (logins.length === 0) {
        expect(sessions).toEqual([]);
        continue;
      }
      checked++;
      // Per address, oldest first: an allowed login opens a session (or joins the open one), a logout closes it.
      const open = new Map<unknown, { iat: number; auds: Set<unknown> }>();
      for (const e of [...events].reverse()) {
        if (e['action'] === 'logout') {
          if (open.delete(e['ip_address'])) closedByLogout++;
        } else if (e['action'] === 'login' && e['allowed'] === true) {
          const session = open.get(e['ip_address']) ?? { iat: secs(e['created_at']), auds: new Set() };
          session.auds.add(appByUid(sim, e['app_uid'])['aud']);
          open.set(e['ip_address'], session);
        }
      }
      const summary = (iat: unknown, auds: Iterable<unknown>): string =>
        `${String(iat)} ${[...auds].map(String).sort().join(',')}`;
      expect(
        sessions.map((s) =>
          summary((s['metadata'] as Json)['iat'], Object.keys((s['metadata'] as Json)['apps'] as Json)),
        ),
      ).toEqual([...open.values()].sort((a, b) => b.iat - a.iat).map((o) => summary(o.iat, o.auds)));
      for (const session of sessions) {
        const metadata = session['metadata'] as Json;
        // The simulated organisation's session_duration is 24h.
        expect(metadata['ttl']).toBe(86_400);
        expect(metadata['expires']).toBe(Number(metadata['iat']) + 86_400);
        expect(session['expiration']).toBe(metadata['expires']);
        expect(metadata['nonce']).toMatch(/^[A-Za-z0-9]{16}$/);
        expect(session['name']).toBe(metadata['nonce']);
        for (const app of Object.values(metadata['apps'] as Record<string, Json>)) {
          const known = appByUid(sim, app['uid']);
          expect(app).toEqual({
            hostname: String(known['domain']).split('/')[0],
            name: known['name'],
            type: known['type'],
            uid: known['id'],
          });
        }
      }
    }
    expect(closedByLogout).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(10);
  });

  it('reports the identity of the last allowed login, with the device and posture of users on the device client', async () => {
    const sim = await start();
    const inventory = sim.inventory();
    let withDevice = 0;
    let withoutDevice = 0;
    for (const user of users(sim).slice(0, 30)) {
      const id = String(user['id']);
      const reply = await checkedGet(sim, userPath(sim, id, 'last_seen_identity'));
      const login = eventsOf(sim, String(user['email']), NOW - 7 * DAY, NOW).find(
        (e) => e['allowed'] === true && e['action'] === 'login',
      );
      if (login === undefined) {
        expect(reply.status).toBe(404);
        continue;
      }
      expect(reply.status).toBe(200);
      const identity = reply.body['result'] as Json;
      expect(undocumentedKeys(identity, resultSchema('last_seen_identity'))).toEqual([]);
      const idp = sim.inventory().identityProviders.find((p) => p['type'] === login['connection']);
      expect(identity).toMatchObject({
        account_id: sim.accountId,
        email: user['email'],
        user_uuid: id,
        ip: login['ip_address'],
        iat: secs(login['created_at']),
        idp: { id: idp?.['id'], type: login['connection'] },
        version: 2,
      });
      // Logins from the user's usual addresses are placed in the user's country; others elsewhere.
      const usual = ORGANISATION.users.find((u) => u.email === user['email']);
      const country = (identity['geo'] as Json)['country'];
      if (usual?.ips.includes(String(login['ip_address'])) === true) expect(country).toBe(usual.country);
      else expect(country).toMatch(/^[A-Z]{2}$/);
      const devices = inventory.devices.filter((d) => d.userId === id && d.activeRegistrations > 0);
      expect(identity['is_warp']).toBe(devices.length > 0);
      expect(identity['is_gateway']).toBe(devices.length > 0);
      const posture = Object.values(identity['devicePosture'] as Record<string, Json>);
      if (devices.length > 0) {
        withDevice++;
        expect(devices.map((d) => d.id)).toContain(identity['device_id']);
        expect(identity['device_sessions']).toEqual({
          [String(identity['device_id'])]: { last_authenticated: identity['iat'] },
        });
        expect(posture.length).toBeGreaterThanOrEqual(5);
        for (const rule of posture) {
          expect(typeof rule['success']).toBe('boolean');
          expect(Date.parse(String(rule['timestamp'])) / 1000).toBeLessThan(Number(identity['iat']));
        }
        expect(posture.filter((r) => r['type'] === 'warp').every((r) => r['success'] === true)).toBe(true);
      } else {
        withoutDevice++;
        expect(identity['device_id']).toBe('');
        expect(posture).toEqual([]);
      }
    }
    expect(withDevice).toBeGreaterThan(5);
    expect(withoutDevice).toBeGreaterThan(0);
  });

  it('answers the same bytes for the same seed and clock, and other bytes for another seed', async () => {
    const a = await start();
    const b = await start();
    const c = await start({ seed: 12 });
    const user = riskiestUser(a);
    const id = String(user['id']);
    for (const part of ['failed_logins', 'active_sessions', 'last_seen_identity']) {
      const [ra, rb] = await Promise.all([checkedGet(a, userPath(a, id, part)), checkedGet(b, userPath(b, id, part))]);
      expect(rb.body).toEqual(ra.body);
    }
    // Another seed has other user ids: this one is unknown there.
    expect((await checkedGet(c, userPath(c, id, 'failed_logins'))).status).toBe(404);
  });

  it('answers 404 7003 for an unknown user or another account, and 403 10000 without Access: Audit Logs Read', async () => {
    const sim = await start();
    const known = String(users(sim)[0]?.['id']);
    for (const part of ['failed_logins', 'active_sessions', 'last_seen_identity']) {
      const unknown = await checkedGet(sim, userPath(sim, 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415', part));
      expect(unknown.status).toBe(404);
      expect(firstError(unknown)).toEqual({
        code: 7003,
        message: `Could not route to /accounts/${sim.accountId}/access/users/f174e90a-fafe-4643-bbbc-4a0ed4fc8415/${part}, perhaps your object identifier is invalid?`,
      });
      const elsewhere = await checkedGet(sim, userPath(sim, known, part, OTHER_ACCOUNT));
      expect(elsewhere.status).toBe(404);
      expect(firstError(elsewhere)['code']).toBe(7003);
      const refused = await checkedGet(sim, userPath(sim, known, part), { token: NO_AUDIT_TOKEN });
      expect(refused.status).toBe(403);
      expect(firstError(refused)).toEqual({ code: 10000, message: 'Authentication error' });
      // Longer than the documented 36 characters: not a request a client may send, still a 404.
      const tooLong = await checkedGet(sim, userPath(sim, `${known}0`, part), { invalidRequest: true });
      expect(tooLong.status).toBe(404);
    }
  });

  it('has no failures, sessions or identity for a user SCIM has only just provisioned', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    clock.advance(INVENTORY_CHANGE_OFFSETS_MS.user_added);
    const robin = users(sim).find((u) => u['email'] === NEW_USER.email);
    expect(robin).toBeDefined();
    const id = String(robin?.['id']);
    expect(resultList(await checkedGet(sim, userPath(sim, id, 'failed_logins')))).toEqual([]);
    expect(resultList(await checkedGet(sim, userPath(sim, id, 'active_sessions')))).toEqual([]);
    const identity = await checkedGet(sim, userPath(sim, id, 'last_seen_identity'));
    expect(identity.status).toBe(404);
    expect(firstError(identity)['code']).toBe(7003);
  });
});
