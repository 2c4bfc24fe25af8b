import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import { createLogger } from '../../../core/logger.js';
import { Metrics } from '../../../core/metrics.js';
import { Secret } from '../../../core/secret.js';
import { DEFAULT_PERMISSIONS, type Simulator } from '../../../simulator/simulator.js';
import { envelope, failure, startFixtureServer, type FixtureServer } from '../../../../test/helpers/fixture-server.js';
import { validateRequest } from '../../../../test/helpers/openapi.js';
import { trackedSimulators } from '../../../../test/helpers/simulators.js';
import type { InventorySource } from '../../source.js';
import { CloudflareClient } from '../client.js';
import { RateBudget } from '../rate-budget.js';
import { CLOUDFLARE_PERMISSIONS } from './catalogue.js';
import { DevicesSource } from './devices.js';
import { GatewaySource } from './gateway.js';
import { LIST_INVENTORIES, ListInventorySource } from './list-inventory.js';
import { OrganizationSource } from './organization.js';

const NOW = Date.parse('2026-04-01T00:00:00Z');
const FULL_TOKEN = 'inventoryFullToken000000000000000000000';
const ZT_ONLY_TOKEN = 'inventoryZeroTrustOnly00000000000000000';
const FIXTURE_ACCOUNT = '0123456789abcdef0123456789abcdef';

const startSim = trackedSimulators(() => ({
  clock: new ManualClock(NOW),
  traffic: { kind: 'fixed', fromMs: NOW - 86_400_000, toMs: NOW, count: 10 },
  tokens: [
    { value: FULL_TOKEN, permissions: [...DEFAULT_PERMISSIONS, CLOUDFLARE_PERMISSIONS.accessAppsAndPolicies] },
    { value: ZT_ONLY_TOKEN, permissions: [CLOUDFLARE_PERMISSIONS.zeroTrust] },
  ],
}));

// spec-2024 documents no query parameters on the page-based Access lists; `page` and `per_page` come from the
// current API reference (API-NOTES §2.5), so only those two may be reported as unknown there.
const UNDOCUMENTED_IN_SPEC_2024 = /^unknown query parameter (page|per_page)$/;

function expectValid(method: string, url: string): void {
  expect({ url, problems: validateRequest(method, url).filter((p) => !UNDOCUMENTED_IN_SPEC_2024.test(p)) }).toEqual({
    url,
    problems: [],
  });
}

interface Harness {
  readonly client: CloudflareClient;
  readonly logs: Record<string, unknown>[];
}

function harness(baseUrl: string, accountId: string, token: string): Harness {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const client = new CloudflareClient({
    baseUrl,
    accountId,
    token: new Secret(token),
    timeoutMs: 5000,
    // The simulator's quota: the budget slows down only when the server reports it nearly used up.
    rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock: systemClock }),
    logger,
    metrics: new Metrics(),
    clock: systemClock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
  });
  return { client, logs };
}

async function simHarness(token = FULL_TOKEN, options: { maxPageSize?: number } = {}) {
  const sim = await startSim(options);
  return { sim, ...harness(sim.baseUrl, sim.accountId, token) };
}

// The whole list in one request, straight from the simulator: what a snapshot must equal.
async function direct(sim: Simulator, path: string): Promise<Record<string, unknown>[]> {
  const separator = path.includes('?') ? '&' : '?';
  const response = await fetch(`${sim.baseUrl}/accounts/${sim.accountId}${path}${separator}per_page=1000`, {
    headers: { authorization: `Bearer ${FULL_TOKEN}` },
  });
  return ((await response.json()) as { result: Record<string, unknown>[] }).result;
}

const signal = (): AbortSignal => new AbortController().signal;

let servers: FixtureServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function fixture(): Promise<{ server: FixtureServer } & Harness> {
  const server = await startFixtureServer();
  servers.push(server);
  return { server, ...harness(`${server.url}/client/v4`, FIXTURE_ACCOUNT, 'fixture-inventory-token') };
}

describe('page-based Access inventories against the simulator', () => {
  for (const spec of Object.values(LIST_INVENTORIES)) {
    it(`reads every ${spec.dataset} item across pages, as the API returns it`, async () => {
      // Pages of 2, so that every list spans several pages.
      const { sim, client } = await simHarness();
      const source = new ListInventorySource(spec, { client, logger: createLogger({ level: 'silent' }), pageSize: 2 });
      expect(source.dataset).toBe(spec.dataset);
      expect(source.kinds).toEqual([spec.kind]);
      const entities = await source.snapshot(signal());
      const requests = sim.requestLog();
      const expected = await direct(sim, spec.path);
      expect(expected.length).toBeGreaterThan(0);
      expect(entities.map((e) => e.attributes)).toEqual(expected);
      expect(new Set(entities.map((e) => e.id)).size).toBe(entities.length);
      for (const entity of entities) {
        expect(entity.kind).toBe(spec.kind);
        expect(entity.id).toBe(entity.attributes['id']);
        expect(entity.name).not.toBe('');
      }
      expect(requests).toHaveLength(Math.ceil(expected.length / 2));
      for (const entry of requests) expectValid(entry.method, `${entry.path}?${entry.query}`);
    });
  }

  it('names users by email', async () => {
    const { sim, client } = await simHarness();
    const source = new ListInventorySource(LIST_INVENTORIES.access_users, {
      client,
      logger: createLogger({ level: 'silent' }),
      pageSize: 1000,
    });
    const [first] = await source.snapshot(signal());
    const [user] = await direct(sim, '/access/users');
    expect(first?.name).toBe(user?.['email']);
  });

  it('throws rather than return a partial list when the token lacks the permission', async () => {
    const { client } = await simHarness(ZT_ONLY_TOKEN);
    const source = new ListInventorySource(LIST_INVENTORIES.groups, {
      client,
      logger: createLogger({ level: 'silent' }),
      pageSize: 100,
    });
    const error = await source.snapshot(signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('SOURCE_PERMISSION_DENIED');
    expect((error as SourceError).message).toContain(CLOUDFLARE_PERMISSIONS.accessOrganizations);
  });
});

describe('OrganizationSource', () => {
  it('reads the organization as one entity keyed by the account id', async () => {
    const { sim, client } = await simHarness();
    const source = new OrganizationSource({ client, logger: createLogger({ level: 'silent' }) });
    const entities = await source.snapshot(signal());
    const response = await fetch(`${sim.baseUrl}/accounts/${sim.accountId}/access/organizations`, {
      headers: { authorization: `Bearer ${FULL_TOKEN}` },
    });
    const organization = ((await response.json()) as { result: Record<string, unknown> }).result;
    expect(entities).toEqual([
      { kind: 'organization', id: sim.accountId, name: organization['name'], attributes: organization },
    ]);
    for (const entry of sim.requestLog()) expectValid(entry.method, `${entry.path}?${entry.query}`);
  });
});

describe('answers the description allows but the simulator never gives', () => {
  it('names an organization without a name by its auth domain, else by the account id', async () => {
    const { server, client } = await fixture();
    server.enqueue({ body: envelope({ auth_domain: 'corp.cloudflareaccess.com' }) }, { body: envelope({}) });
    const source = new OrganizationSource({ client, logger: createLogger({ level: 'silent' }) });
    expect(await source.snapshot(signal())).toEqual([
      {
        kind: 'organization',
        id: FIXTURE_ACCOUNT,
        name: 'corp.cloudflareaccess.com',
        attributes: { auth_domain: 'corp.cloudflareaccess.com' },
      },
    ]);
    expect(await source.snapshot(signal())).toEqual([
      { kind: 'organization', id: FIXTURE_ACCOUNT, name: FIXTURE_ACCOUNT, attributes: {} },
    ]);
  });

  it('reads a list answered with result: null (the collection envelopes declare it nullable) as empty', async () => {
    const { server, client } = await fixture();
    // Gateway's account and configuration are single objects, not lists.
    server.setFallback((request) => ({
      body: envelope(/\/gateway(\/configuration)?$/.test(request.path) ? {} : null),
    }));
    const logger = createLogger({ level: 'silent' });
    for (const spec of Object.values(LIST_INVENTORIES)) {
      expect(await new ListInventorySource(spec, { client, logger, pageSize: 100 }).snapshot(signal())).toEqual([]);
    }
    const gateway = await new GatewaySource({ client, logger, pageSize: 100 }).snapshot(signal());
    expect(gateway.filter((entity) => entity.kind === 'gateway_rule')).toEqual([]);
    expect(await new DevicesSource({ client, logger, pageSize: 100 }).snapshot(signal())).toEqual([]);
  });

  it('refuses a deprecated device list that says it holds more devices than it sent', async () => {
    const { server, client } = await fixture();
    server.setFallback((request) =>
      request.path.endsWith('/devices/physical-devices')
        ? { status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) }
        : {
            body: envelope([{ id: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415', name: 'laptop-1' }], {
              result_info: { page: 1, per_page: 1, count: 1, total_count: 2 },
            }),
          },
    );
    const source = new DevicesSource({ client, logger: createLogger({ level: 'silent' }), pageSize: 100 });
    await expect(source.snapshot(signal())).rejects.toMatchObject({
      code: 'SOURCE_RESPONSE_INVALID',
      message: expect.stringContaining('1 of 2 devices') as string,
    });
  });
});

describe('GatewaySource', () => {
  it('reads the Gateway account, its configuration and every rule', async () => {
    const { sim, client } = await simHarness();
    const source = new GatewaySource({ client, logger: createLogger({ level: 'silent' }), pageSize: 1000 });
    expect(source.kinds).toEqual(['gateway_account', 'gateway_configuration', 'gateway_rule']);
    const entities = await source.snapshot(signal());
    const log = sim.requestLog();
    const rules = await direct(sim, '/gateway/rules');
    expect(entities.filter((e) => e.kind === 'gateway_account')).toMatchObject([
      { id: sim.accountId, name: 'Gateway account', attributes: { provider_name: 'Cloudflare' } },
    ]);
    expect(entities.filter((e) => e.kind === 'gateway_configuration')).toMatchObject([
      {
        id: sim.accountId,
        name: 'Gateway configuration',
        attributes: { settings: { activity_log: { enabled: true } } },
      },
    ]);
    const ruleEntities = entities.filter((e) => e.kind === 'gateway_rule');
    expect(ruleEntities.map((e) => e.attributes)).toEqual(rules);
    expect(ruleEntities.map((e) => e.name)).toEqual(rules.map((r) => r['name']));
    const paths = log.map((entry) => entry.path.replace(`/accounts/${sim.accountId}`, ''));
    expect(paths).toEqual(['/client/v4/gateway', '/client/v4/gateway/configuration', '/client/v4/gateway/rules']);
    for (const entry of log) expectValid(entry.method, `${entry.path}?${entry.query}`);
  });

  it('refuses a rules answer that says it holds more rules than it sent', async () => {
    const { server, client } = await fixture();
    server.enqueue(
      {
        body: envelope({
          id: FIXTURE_ACCOUNT,
          gateway_tag: 'f174e90afafe4643bbbc4a0ed4fc8415',
          provider_name: 'Cloudflare',
        }),
      },
      { body: envelope({ settings: {} }) },
      {
        body: envelope([{ id: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415', name: 'block' }], {
          result_info: { page: 1, per_page: 1, count: 1, total_count: 2 },
        }),
      },
    );
    const source = new GatewaySource({ client, logger: createLogger({ level: 'silent' }), pageSize: 1000 });
    await expect(source.snapshot(signal())).rejects.toMatchObject({ code: 'SOURCE_RESPONSE_INVALID' });
  });
});

describe('DevicesSource', () => {
  it('follows the cursor of physical devices and includes devices whose registrations were revoked', async () => {
    const { sim, client } = await simHarness();
    const source = new DevicesSource({ client, logger: createLogger({ level: 'silent' }), pageSize: 4 });
    const entities = await source.snapshot(signal());
    const log = sim.requestLog();
    const all = await direct(sim, '/devices/physical-devices?active_registrations=include');
    expect(entities.map((e) => e.attributes)).toEqual(all);
    // Some simulated devices have no active registration left; the endpoint's default would hide them.
    const revoked = entities.filter((e) => e.attributes['active_registrations'] === 0);
    expect(revoked.length).toBeGreaterThan(0);
    expect(entities.every((e) => e.kind === 'device' && e.name === e.attributes['name'])).toBe(true);
    expect(log.length).toBe(Math.ceil(all.length / 4));
    for (const entry of log) {
      expect(new URLSearchParams(entry.query).get('active_registrations')).toBe('include');
      expectValid(entry.method, `${entry.path}?${entry.query}`);
    }
  });

  it('keeps a device whose last registration is revoked, so the revocation shows as a change', async () => {
    const { sim, client } = await simHarness();
    const source = new DevicesSource({ client, logger: createLogger({ level: 'silent' }), pageSize: 100 });
    const before = await source.snapshot(signal());
    const active = before.find((e) => e.attributes['active_registrations'] === 1);
    if (active === undefined) throw new Error('no device with an active registration');
    sim.updateInventory((inventory) => ({
      ...inventory,
      devices: inventory.devices.map((d) => (d.id === active.id ? { ...d, activeRegistrations: 0 } : d)),
    }));
    const after = await source.snapshot(signal());
    expect(after.map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
    expect(after.find((e) => e.id === active.id)?.attributes['active_registrations']).toBe(0);
  });

  it('falls back to the deprecated device list when physical devices has no route, warning once', async () => {
    const { server, client, logs } = await fixture();
    const deprecated = [
      {
        id: 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415',
        name: 'laptop-1',
        device_type: 'mac',
        revoked_at: '2026-03-01T00:00:00Z',
      },
      { id: '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09', name: 'phone-2', device_type: 'ios' },
    ];
    server.setFallback((request) =>
      request.path.endsWith('/devices/physical-devices')
        ? { status: 404, body: failure([{ code: 7003, message: 'No route for the URI' }]) }
        : { body: envelope(deprecated) },
    );
    const source = new DevicesSource({ client, logger: loggerOf(logs), pageSize: 100 });
    const first = await source.snapshot(signal());
    const second = await source.snapshot(signal());
    expect(first.map((e) => [e.id, e.name])).toEqual(deprecated.map((d) => [d.id, d.name]));
    expect(first[0]?.attributes).toEqual(deprecated[0]);
    expect(second).toEqual(first);
    expect(server.requests.map((r) => r.path.replace(`/client/v4/accounts/${FIXTURE_ACCOUNT}`, ''))).toEqual([
      '/devices/physical-devices',
      '/devices',
      '/devices',
    ]);
    const warnings = logs.filter((line) => line['level'] === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.['msg']).toContain('deprecated');
    for (const request of server.requests) expect(validateRequest(request.method, request.url)).toEqual([]);
  });

  it('does not fall back when physical devices refuses the token', async () => {
    const { server, client } = await fixture();
    server.setFallback({ status: 403, body: failure([{ code: 10000, message: 'Authentication error' }]) });
    const source = new DevicesSource({ client, logger: createLogger({ level: 'silent' }), pageSize: 100 });
    await expect(source.snapshot(signal())).rejects.toMatchObject({ code: 'SOURCE_PERMISSION_DENIED' });
    expect(server.requests).toHaveLength(1);
  });
});

describe('inventory lifecycle', () => {
  it('stop is idempotent, safe before start, and aborts a snapshot; start makes the source usable again', async () => {
    const { server, client } = await fixture();
    const sources: InventorySource[] = [
      new ListInventorySource(LIST_INVENTORIES.apps, {
        client,
        logger: createLogger({ level: 'silent' }),
        pageSize: 10,
      }),
      new OrganizationSource({ client, logger: createLogger({ level: 'silent' }) }),
      new GatewaySource({ client, logger: createLogger({ level: 'silent' }), pageSize: 10 }),
      new DevicesSource({ client, logger: createLogger({ level: 'silent' }), pageSize: 10 }),
    ];
    for (const source of sources) {
      await source.stop();
      await source.stop();
      await expect(source.snapshot(signal())).rejects.toThrow('stopped');
      await source.start();
    }
    expect(server.requests).toHaveLength(0);
    server.setFallback({ delayMs: 2000, body: envelope([]) });
    const [apps] = sources;
    if (apps === undefined) throw new Error('no source');
    const pending = apps.snapshot(signal());
    setTimeout(() => void apps.stop(), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow('stopped');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

function loggerOf(logs: Record<string, unknown>[]) {
  return createLogger({
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
}
