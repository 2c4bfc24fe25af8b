import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULT_TOKEN, PERMISSIONS, type Inventory } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import {
  addTestSource,
  expectExactlyOnce,
  setUpCollector,
  storedRawRecords,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const ALL_READ_PERMISSIONS = [
  PERMISSIONS.accessAuditLogs,
  PERMISSIONS.zeroTrust,
  PERMISSIONS.accessOrganizations,
  PERMISSIONS.accessAppsAndPolicies,
  PERMISSIONS.accessScimLogs,
  PERMISSIONS.accountSettings,
];
const FULL_TOKEN = 'zt-sim-token-with-every-read-permission-0001';

interface StoredEvent {
  readonly id: string;
  readonly dataset: string;
  readonly activity: string;
  readonly user: string | null;
  readonly app: string | null;
  readonly app_uid: string | null;
  readonly ocsf: Record<string, unknown>;
  readonly raw: Record<string, unknown>;
}

async function search(env: Record<string, string>, query: string, clock?: ManualClock): Promise<StoredEvent[]> {
  const result = await runInProcess(['search', query, '--format', 'ndjson', '--limit', '1000000', '--order', 'asc'], {
    env,
    ...(clock === undefined ? {} : { clock }),
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StoredEvent);
}

/** Stored raw SCIM or audit records whose own time is in [fromMs, toMs). */
async function storedBetween(
  env: Record<string, string>,
  dataset: 'scim_updates' | 'audit_logs',
  fromMs: number,
  toMs: number,
): Promise<Record<string, unknown>[]> {
  const timeOf = (record: Record<string, unknown>): number =>
    Date.parse(
      String(dataset === 'scim_updates' ? record['logged_at'] : (record['action'] as Record<string, unknown>)['time']),
    );
  return (await storedRawRecords(env, dataset)).filter((record) => timeOf(record) >= fromMs && timeOf(record) < toMs);
}

async function inventory(env: Record<string, string>, kind: string): Promise<{ id: string; name: string }[]> {
  const result = await runInProcess(['inventory', kind, '--format', 'json'], { env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { id: string; name: string }[];
}

async function collectOnce(env: Record<string, string>, clock?: ManualClock, backfillDays = 1): Promise<string> {
  const result = await runInProcess(['collect', '--once', '--backfill-days', String(backfillDays)], {
    env,
    ...(clock === undefined ? {} : { clock }),
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stderr;
}

describe('every dataset the token can read', () => {
  let setup: CollectorEnv | undefined;
  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('collects every dataset, following every page, and reports each one healthy', async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 21,
        tokens: [{ value: FULL_TOKEN, permissions: ALL_READ_PERMISSIONS }],
        traffic: { kind: 'fixed', fromMs: now - 2 * DAY_MS, toMs: now - HOUR_MS, count: 1500 },
        adminTraffic: { scimUpdatesPerDay: 400, auditEntriesPerDay: 300 },
        inventoryChanges: false,
        // Small pages make every list span several requests, so a collector that stops after page one fails.
        maxPageSize: 3,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);
    await collectOnce(setup.env, undefined, 3);

    const served = setup.simulator.inventory();
    const ids = (items: readonly Record<string, unknown>[]): string[] => items.map((item) => String(item['id'])).sort();
    expect((await inventory(setup.env, 'users')).map((user) => user.id).sort()).toEqual(ids(served.users));
    expect((await inventory(setup.env, 'identity_providers')).map((idp) => idp.id).sort()).toEqual(
      ids(served.identityProviders),
    );
    expect((await inventory(setup.env, 'groups')).map((group) => group.id).sort()).toEqual(ids(served.groups));
    expect((await inventory(setup.env, 'apps')).map((app) => app.id).sort()).toEqual(ids(served.apps));
    expect((await inventory(setup.env, 'policies')).map((policy) => policy.id).sort()).toEqual(ids(served.policies));
    expect((await inventory(setup.env, 'gateway_rules')).map((rule) => rule.id).sort()).toEqual(
      ids(served.gatewayRules),
    );
    expect((await inventory(setup.env, 'devices')).map((device) => device.id).sort()).toEqual(
      served.devices.map((device) => device.id).sort(),
    );
    expect(await inventory(setup.env, 'organization')).toHaveLength(1);
    expect(await inventory(setup.env, 'gateway')).toHaveLength(1);
    for (const list of [served.users, served.groups, served.apps, served.devices])
      expect(list.length).toBeGreaterThan(3);

    // The collector's backfill starts a moment after `now` and reads up to its own now: compare a window inside.
    const from = now - 3 * DAY_MS + 5 * MINUTE_MS;
    expectExactlyOnce(
      await storedBetween(setup.env, 'scim_updates', from, now),
      setup.simulator.scimUpdatesBetween(from, now),
    );
    expectExactlyOnce(
      await storedBetween(setup.env, 'audit_logs', from, now),
      setup.simulator.auditLogsBetween(from, now, 'v2'),
    );
    expect(setup.simulator.scimUpdatesBetween(from, now).length).toBeGreaterThan(3);
    expect(setup.simulator.auditLogsBetween(from, now, 'v2').length).toBeGreaterThan(3);

    const requests = setup.simulator.requestLog();
    const pagesOf = (suffix: string): number =>
      requests.filter((entry) => entry.status === 200 && entry.path.endsWith(suffix)).length;
    for (const suffix of [
      '/access/users',
      '/access/groups',
      '/access/apps',
      '/access/logs/scim/updates',
      '/logs/audit',
    ]) {
      expect(pagesOf(suffix), suffix).toBeGreaterThan(1);
    }
    expect(
      requests.some((entry) => entry.path.endsWith('/devices/physical-devices') && entry.query.includes('cursor=')),
    ).toBe(true);

    const status = await runInProcess(['source', 'status', '--format', 'json'], { env: setup.env });
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as {
      dataset: string;
      state: string;
      lagSecs: number | null;
      eventsLast24h: number;
    }[];
    expect(rows.map((row) => row.dataset).sort()).toEqual(
      [
        'access_requests',
        'access_users',
        'apps',
        'audit_logs',
        'devices',
        'gateway',
        'groups',
        'identity_providers',
        'organization',
        'policies',
        'scim_updates',
      ].sort(),
    );
    for (const row of rows) expect(row, row.dataset).toMatchObject({ state: 'ok' });
    expect(rows.find((row) => row.dataset === 'access_requests')?.eventsLast24h).toBeGreaterThan(0);
    const table = await runInProcess(['source', 'status', TEST_SOURCE], { env: setup.env });
    expect(table.stdout).toMatch(/audit_logs\s+ok/);
  }, 120_000);

  it('names each missing permission and what it costs, and keeps every readable dataset flowing', async () => {
    const now = Date.now();
    const noZeroTrust = 'zt-sim-token-without-zero-trust-read-0001';
    setup = await setUpCollector({
      seed: 22,
      traffic: { kind: 'fixed', fromMs: now - 6 * HOUR_MS, toMs: now - HOUR_MS, count: 200 },
      inventoryChanges: false,
      tokens: [
        { value: DEFAULT_TOKEN },
        { value: noZeroTrust, permissions: [PERMISSIONS.accessAuditLogs, PERMISSIONS.accessOrganizations] },
      ],
    });

    // The three base permissions: optional datasets are listed with what to add, and the exit code stays 0.
    const tested = await runInProcess(['source', 'test', TEST_SOURCE, '--format', 'json'], { env: setup.env });
    expect(tested.code, tested.stderr).toBe(0);
    const rows = JSON.parse(tested.stdout) as { dataset: string; ok: boolean; permission: string; message: string }[];
    const row = (dataset: string) => rows.find((candidate) => candidate.dataset === dataset);
    for (const dataset of [
      'access_requests',
      'access_users',
      'organization',
      'identity_providers',
      'groups',
      'gateway',
      'devices',
    ]) {
      expect(row(dataset), dataset).toMatchObject({ ok: true });
    }
    expect(row('apps')).toMatchObject({ ok: false, permission: 'Access: Apps and Policies Read' });
    expect(row('policies')).toMatchObject({ ok: false, permission: 'Access: Apps and Policies Read' });
    expect(row('scim_updates')).toMatchObject({ ok: false, permission: 'Access: SCIM Logs Read' });
    expect(row('audit_logs')).toMatchObject({ ok: false, permission: 'Account Settings Read' });
    expect(row('audit_logs')?.message).toContain('Account Settings Read');
    expect(row('audit_logs')?.message).toMatch(/Without it/);
    const table = await runInProcess(['source', 'test', TEST_SOURCE], { env: setup.env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/scim_updates\s+not collected\s+Access: SCIM Logs Read/);

    const stderr = await collectOnce(setup.env);
    expect(stderr).toContain('Not collected (optional');
    expect(stderr).toContain(`${TEST_SOURCE}/audit_logs`);
    // A token made as README says lacks these on purpose: each is named once with what it needs, not as a failure.
    expect(stderr).toMatch(
      new RegExp(
        `${TEST_SOURCE}/audit_logs: not collected \\(optional; looked at again every 60 min\\): .*Account Settings Read`,
      ),
    );
    expect(stderr.match(/scim_updates: not collected/g)).toHaveLength(1);
    expect(stderr).not.toContain('failed: error[SOURCE_PERMISSION_DENIED]');
    // The next start has nothing to backfill that it may read, and does not announce the refused ones again.
    expect(stderr).toMatch(/Backfilling \d+ days? for .*audit_logs/);
    expect(await collectOnce(setup.env)).not.toContain('Backfilling');
    expect((await storedRawRecords(setup.env)).length).toBe(200);
    expect((await inventory(setup.env, 'users')).length).toBeGreaterThan(0);
    expect(await inventory(setup.env, 'apps')).toEqual([]);
    const status = await runInProcess(['source', 'status'], { env: setup.env });
    expect(status.stdout).toMatch(/policies\s+no permission/);
    // source list says the same of the dataset, not that its collection failed.
    const listed = await runInProcess(['source', 'list'], { env: setup.env });
    expect(listed.stdout).toContain('policies: no permission');
    expect(listed.stdout).not.toContain('SOURCE_PERMISSION_DENIED');

    // Without one of the three base permissions the test fails, naming the permission, and collection of the
    // rest goes on while the collector exits non-zero for the missing part.
    const env = { ...setup.env, CF_TOKEN: noZeroTrust };
    const added = await runInProcess(
      ['source', 'add', '--name', 'Partial', '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(added.code).toBe(3);
    expect(added.stderr).toContain('error[SOURCE_PERMISSION_DENIED]');
    expect(added.stderr).toContain('Zero Trust Read');
    expect(added.stdout).toMatch(/gateway\s+MISSING\s+Zero Trust Read/);
    expect((await runInProcess(['source', 'list', '--format', 'json'], { env })).stdout).not.toContain('Partial');

    const forced = await runInProcess(
      [
        'source',
        'add',
        '--name',
        'Partial',
        '--account-id',
        setup.simulator.accountId,
        '--token-env',
        'CF_TOKEN',
        '--no-verify',
      ],
      { env },
    );
    expect(forced.code, forced.stderr).toBe(0);
    const partialTest = await runInProcess(['source', 'test', 'Partial', '--format', 'json'], { env });
    expect(partialTest.code).toBe(3);
    const partialRows = JSON.parse(partialTest.stdout) as { dataset: string; ok: boolean; message: string }[];
    expect(
      partialRows
        .filter((candidate) => !candidate.ok)
        .map((candidate) => candidate.dataset)
        .sort(),
    ).toEqual(['apps', 'audit_logs', 'devices', 'gateway', 'policies', 'scim_updates']);
    expect(partialRows.find((candidate) => candidate.dataset === 'devices')?.message).toContain('Zero Trust Read');

    const collected = await runInProcess(['collect', '--once', '--source', 'Partial', '--backfill-days', '1'], { env });
    expect(collected.code).not.toBe(0);
    expect(collected.stderr).toContain('Partial/gateway');
    expect(collected.stderr).toContain('Zero Trust Read');
    // The same account's access events were already stored through the first source, so they dedupe; the
    // dataset itself ran to the end.
    const partialStatus = await runInProcess(['source', 'status', 'Partial', '--format', 'json'], { env });
    const partialHealth = JSON.parse(partialStatus.stdout) as {
      dataset: string;
      state: string;
      lastErrorCode: string | null;
    }[];
    const health = (dataset: string) => partialHealth.find((candidate) => candidate.dataset === dataset);
    expect(health('access_requests')).toMatchObject({ state: 'ok' });
    expect(health('groups')).toMatchObject({ state: 'ok' });
    expect(health('gateway')).toMatchObject({ state: 'failed', lastErrorCode: 'SOURCE_PERMISSION_DENIED' });
    expect(
      (await runInProcess(['inventory', 'groups', '--source', 'Partial', '--format', 'json'], { env })).stdout,
    ).toContain('"kind": "group"');
  }, 120_000);

  it('lists exactly the datasets each single missing permission costs, and fails only for a base permission', async () => {
    const lacking = (index: number): string => `zt-sim-token-lacking-one-permission-${String(index).padStart(4, '0')}`;
    setup = await setUpCollector(
      {
        seed: 26,
        inventoryChanges: false,
        tokens: ALL_READ_PERMISSIONS.map((missing, index) => ({
          value: lacking(index),
          permissions: ALL_READ_PERMISSIONS.filter((permission) => permission !== missing),
        })),
      },
      false,
    );
    const { CLOUDFLARE_DATASETS } = await import('../../src/sources/cloudflare/datasets/catalogue.js');
    for (const [index, missing] of ALL_READ_PERMISSIONS.entries()) {
      const env = { ...setup.env, CF_TOKEN: lacking(index) };
      const name = `Lacking ${index}`;
      const added = await runInProcess(
        [
          'source',
          'add',
          '--name',
          name,
          '--account-id',
          setup.simulator.accountId,
          '--token-env',
          'CF_TOKEN',
          '--no-verify',
        ],
        { env },
      );
      expect(added.code, added.stderr).toBe(0);
      const tested = await runInProcess(['source', 'test', name, '--format', 'json'], { env });
      const rows = JSON.parse(tested.stdout) as { dataset: string; ok: boolean; permission: string; message: string }[];
      const expectedMissing = Object.entries(CLOUDFLARE_DATASETS)
        .filter(([, info]) => info.permission === missing)
        .map(([dataset]) => dataset);
      const failed = rows.filter((row) => !row.ok);
      // SCIM logs are asked for per identity provider, so they also need the permission that lists them.
      if (missing === PERMISSIONS.accessOrganizations) expectedMissing.push('scim_updates');
      expect(failed.map((row) => row.dataset).sort(), missing).toEqual(expectedMissing.sort());
      for (const row of failed) expect(row.message, `${missing}: ${row.dataset}`).toContain(missing);
      const base = Object.values(CLOUDFLARE_DATASETS).some((info) => info.permission === missing && info.required);
      expect(tested.code, `${missing}: ${tested.stderr}`).toBe(base ? 3 : 0);
    }
  }, 120_000);

  it('turns every kind of inventory change into exactly one change event, and an unchanged snapshot into none', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector(
      {
        seed: 23,
        clock,
        tokens: [{ value: FULL_TOKEN, permissions: ALL_READ_PERMISSIONS }],
        traffic: { kind: 'fixed', fromMs: start - 2 * HOUR_MS, toMs: start - HOUR_MS, count: 50 },
        adminTraffic: { scimUpdatesPerDay: 1, auditEntriesPerDay: 1 },
        inventoryChanges: false,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);
    const changeEvents = async (): Promise<StoredEvent[]> =>
      search(
        setup!.env,
        'dataset:(access_users OR organization OR identity_providers OR groups OR gateway OR devices OR apps OR policies)',
        clock,
      );

    await collectOnce(setup.env, clock);
    expect(await changeEvents()).toEqual([]);
    clock.advance(15 * MINUTE_MS);
    await collectOnce(setup.env, clock);
    expect(await changeEvents(), 'an unchanged snapshot yields no event').toEqual([]);

    const before = setup.simulator.inventory();
    const [group, removedGroup] = before.groups;
    const [rule] = before.gatewayRules;
    const [app] = before.apps;
    const [policy] = before.policies;
    const [user] = before.users;
    const device = before.devices.find((candidate) => candidate.activeRegistrations > 0);
    const [idp] = before.identityProviders;
    if (!group || !removedGroup || !rule || !app || !policy || !user || !device || !idp)
      throw new Error('seed too small');
    const newUser = {
      ...user,
      id: '7b0f5d53-9a1e-4c7e-8f00-00000000aa01',
      email: 'new.hire@example.com',
      name: 'New Hire',
    };
    const newIdp = { ...idp, id: '7b0f5d53-9a1e-4c7e-8f00-00000000aa02', name: 'Backup SSO' };
    setup.simulator.updateInventory((current: Inventory): Inventory => ({
      ...current,
      users: [...current.users, newUser],
      organization: { ...current.organization, session_duration: '720h' },
      identityProviders: [...current.identityProviders, newIdp],
      groups: current.groups
        .filter((candidate) => candidate['id'] !== removedGroup['id'])
        .map((candidate) =>
          candidate['id'] === group['id'] ? { ...candidate, include: [{ everyone: {} }] } : candidate,
        ),
      gatewayRules: current.gatewayRules.map((candidate) =>
        candidate['id'] === rule['id'] ? { ...candidate, enabled: !candidate['enabled'] } : candidate,
      ),
      apps: current.apps.map((candidate) =>
        candidate['id'] === app['id'] ? { ...candidate, session_duration: '720h' } : candidate,
      ),
      policies: current.policies.map((candidate) =>
        candidate['id'] === policy['id'] ? { ...candidate, decision: 'bypass' } : candidate,
      ),
      gatewayConfiguration: {
        ...current.gatewayConfiguration,
        settings: { ...(current.gatewayConfiguration['settings'] as object), activity_log: { enabled: false } },
      },
      devices: current.devices.map((candidate) =>
        candidate.id === device.id ? { ...candidate, activeRegistrations: 0 } : candidate,
      ),
    }));
    clock.advance(15 * MINUTE_MS);
    await collectOnce(setup.env, clock);

    const events = await changeEvents();
    // README's example of a time range relative to now, as the search command reads it.
    const recentConfiguration = await search(setup.env, 'dataset:(gateway OR policies) AND time:[-7d TO now]', clock);
    expect(recentConfiguration.map((event) => `${event.dataset}:${event.activity}`).sort()).toEqual([
      'gateway:disable',
      'gateway:update',
      'policies:update',
    ]);
    expect(await search(setup.env, 'dataset:(gateway OR policies) AND time:[* TO -1h]', clock)).toEqual([]);
    const summary = events.map((event) => `${event.dataset}:${event.activity}`).sort();
    expect(summary).toEqual(
      [
        'access_users:create',
        'apps:update',
        'devices:unenroll',
        'gateway:disable',
        'gateway:update',
        'groups:delete',
        'groups:update',
        'identity_providers:create',
        'organization:update',
        'policies:update',
      ].sort(),
    );
    const messageOf = (dataset: string, activity: string): string => {
      const message = events.find((event) => event.dataset === dataset && event.activity === activity)?.ocsf['message'];
      return typeof message === 'string' ? message : '';
    };
    expect(messageOf('access_users', 'create')).toContain('new.hire@example.com');
    expect(messageOf('identity_providers', 'create')).toContain('Backup SSO');
    expect(messageOf('groups', 'delete')).toContain(String(removedGroup['name']));
    expect(messageOf('organization', 'update')).toContain('720h');
    const gatewayMessages = events.filter((event) => event.dataset === 'gateway').map((event) => event.ocsf['message']);
    expect(JSON.stringify(gatewayMessages)).toContain(String(rule['name']));
    expect(JSON.stringify(gatewayMessages)).toContain('activity_log');
    expect(messageOf('devices', 'unenroll')).toContain('active_registrations');
    for (const event of events) {
      expect(event.raw, event.dataset).toHaveProperty('before');
      expect(event.raw, event.dataset).toHaveProperty('after');
    }
    const widened = events.find((event) => event.dataset === 'groups' && event.activity === 'update');
    expect(JSON.stringify(widened?.ocsf)).toContain('everyone');

    // The stored state follows the change, and the same state snapshotted again adds nothing.
    expect((await inventory(setup.env, 'users')).some((entry) => entry.name === 'new.hire@example.com')).toBe(true);
    expect((await inventory(setup.env, 'groups')).some((entry) => entry.id === removedGroup['id'])).toBe(false);
    clock.advance(15 * MINUTE_MS);
    await collectOnce(setup.env, clock);
    expect((await changeEvents()).length).toBe(events.length);
  }, 120_000);

  it('enriches access events with the application, identity provider, user and groups the inventory knows', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector(
      {
        seed: 24,
        clock,
        tokens: [{ value: FULL_TOKEN, permissions: ALL_READ_PERMISSIONS }],
        traffic: { kind: 'fixed', fromMs: start - HOUR_MS, toMs: start + HOUR_MS, count: 400 },
        inventoryChanges: false,
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);
    await collectOnce(setup.env, clock);
    clock.advance(HOUR_MS);
    await collectOnce(setup.env, clock);

    const served = setup.simulator.inventory();
    const appNames = new Map(served.apps.map((app) => [String(app['id']), String(app['name'])]));
    const userIds = new Map(served.users.map((user) => [String(user['email']), String(user['id'])]));
    const later = (await search(setup.env, 'dataset:access_requests', clock)).filter(
      (event) => (event.ocsf['time'] as number) >= start,
    );
    expect(later.length).toBeGreaterThan(100);
    const kinds = new Set<string>();
    for (const event of later) {
      const enrichments = event.ocsf['enrichments'] as
        { type?: string; data?: Record<string, unknown>; [key: string]: unknown }[] | undefined;
      expect(enrichments?.length, event.id).toBeGreaterThan(0);
      for (const enrichment of enrichments ?? []) {
        kinds.add(String(enrichment.type));
        // Each fact names the inventory snapshot it came from.
        expect(JSON.stringify(enrichment)).toMatch(/20\d\d-\d\d-\d\dT\d\d:\d\d/);
        if (enrichment.type === 'application') {
          expect(enrichment.data?.['name']).toBe(appNames.get(String(event.app_uid)));
        }
        if (enrichment.type === 'user') expect(enrichment.data?.['uid']).toBe(userIds.get(String(event.user)));
      }
    }
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining(['application', 'group_membership', 'identity_provider', 'user']),
    );
  }, 120_000);

  it('keeps SCIM and audit logs complete and unduplicated through 429s, 5xx, resets and truncated JSON', async () => {
    const now = Date.now();
    const routes = ['access-scim-updates', 'audit-logs-v2', 'access-identity-providers'];
    setup = await setUpCollector(
      {
        seed: 25,
        tokens: [{ value: FULL_TOKEN, permissions: ALL_READ_PERMISSIONS }],
        traffic: { kind: 'fixed', fromMs: now - DAY_MS, toMs: now - HOUR_MS, count: 100 },
        adminTraffic: { scimUpdatesPerDay: 600, auditEntriesPerDay: 500 },
        maxPageSize: 50,
        faults: {
          rateLimit: { routes, everyNth: 4, retryAfterSecs: 1, maxTimes: 3 },
          serverError: { routes, everyNth: 3, maxTimes: 3 },
          connectionReset: { routes, everyNth: 5, maxTimes: 2 },
          truncatedJson: { routes, everyNth: 7, maxTimes: 3 },
        },
      },
      false,
    );
    await addTestSource(setup, FULL_TOKEN);
    await collectOnce(setup.env, undefined, 3);
    // A second run over the same window must not add a single copy.
    await collectOnce(setup.env, undefined, 3);
    // The collector's backfill starts a moment after `now` and reads up to its own now: compare a window inside.
    const from = now - 3 * DAY_MS + 5 * MINUTE_MS;
    expectExactlyOnce(
      await storedBetween(setup.env, 'scim_updates', from, now),
      setup.simulator.scimUpdatesBetween(from, now),
    );
    expectExactlyOnce(
      await storedBetween(setup.env, 'audit_logs', from, now),
      setup.simulator.auditLogsBetween(from, now, 'v2'),
    );
    const statuses = setup.simulator.stats.byStatus;
    expect(statuses[429] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(statuses).some((status) => Number(status) >= 500)).toBe(true);
  }, 120_000);
});
