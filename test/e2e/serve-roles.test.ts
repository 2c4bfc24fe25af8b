import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Secret } from '../../src/core/secret.js';
import { loadConfig } from '../../src/config/load.js';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/collector-env.js';
import { ensurePostgres, TestSchemas, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { sleep, waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const EVENTS = 400;
const PASSWORD = 'a long enough password';
const DEADLINE_MS = 120_000;
// One alert per user and hour for every denied login: a rule file only the collector node has.
const DENIED_RULE = `id: roles-denied-login
title: Denied login, per user
type: event
severity: low
technique: T1110
description: Every denied Access login, one alert per user and hour.
match:
  dataset: access_requests
  outcome: failure
params:
  group_by: [user]
summary: '{user} was denied on {app}'
`;

interface Node {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  stderr(): string;
}

function startNode(args: readonly string[], env: Record<string, string>): Node {
  const child = spawnCli(['serve', ...args], env);
  child.stdin?.end();
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => text };
}

/**
 * An API node and a collector node on one PostgreSQL schema: the API node serves sources, searches and alerts from
 * the shared database and never collects (no heartbeat, no lease, not one request to Cloudflare), while the
 * collector node does all of the collecting and detecting.
 */
describe('serve --role api beside serve --role collector on PostgreSQL', () => {
  const schemas = new TestSchemas('roles');
  const key = randomBytes(32).toString('base64');
  const now = Date.now();
  const dirs: { path: string; remove(): void }[] = [];
  const started: Node[] = [];
  let simulator: Simulator;
  let url: string;
  let db: pg.Client;

  const nodeEnv = (name: string): Record<string, string> => {
    const dir = makeTempDir(`roles-${name}`);
    dirs.push(dir);
    return {
      ...simulatorEnv(simulator, dir.path),
      ZEROTRAIL_DATABASE_URL: url,
      ZEROTRAIL_SECRET_KEY: key,
      ZEROTRAIL_COLLECT__LEASE_TTL_SECS: '3',
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
      ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1',
      ZEROTRAIL_LOG_LEVEL: 'info',
    };
  };
  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const nodeIds = async (sql: string): Promise<string[]> =>
    (await db.query<{ node_id: string }>(sql)).rows.map((row) => row.node_id);

  beforeAll(async () => {
    await ensurePostgres();
    url = schemas.url();
    simulator = await startSimulator({
      seed: 7,
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      traffic: { kind: 'fixed', fromMs: now - 6 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
    });
    const env = nodeEnv('setup');
    const app = await openApp(loadConfig({ env }), { logger: silentLogger(), clock: systemClock, secretKey: key });
    try {
      const token = new Secret(simulator.token);
      await app.store.saveSource({
        name: 'Shared',
        type: 'cloudflare_zero_trust',
        accountId: simulator.accountId,
        tokenCiphertext: app.secrets.encrypt(token),
        tokenLastFour: token.lastFour(),
        createdAt: now,
        settings: { api_base_url: simulator.baseUrl },
      });
    } finally {
      await app.close();
    }
    const added = await runInProcess(['user', 'add', 'ana', '--role', 'analyst'], { env, input: `${PASSWORD}\n` });
    expect(added.code, added.stderr).toBe(0);
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(`SET search_path TO ${pg.escapeIdentifier(new URL(url).searchParams.get('schema') ?? '')}`);
  }, 60_000);

  afterAll(async () => {
    for (const node of started) node.child.kill('SIGKILL');
    await db?.end();
    await simulator?.stop();
    for (const dir of dirs) dir.remove();
    await schemas.dropAll();
  });

  it('serves what the collector stores and raises, and takes no part in collecting', async () => {
    const apiEnv = nodeEnv('api');
    const apiKey = (await runInProcess(['apikey', 'create', '--user', 'ana'], { env: apiEnv })).stdout.trim();
    expect(apiKey).toMatch(/^ztk_/);
    const api = startNode(['--role', 'api', '--port', '0'], apiEnv);
    started.push(api);
    await waitFor('the API node to listen', () => api.stderr().includes('Collection is off'), {
      timeoutMs: DEADLINE_MS,
    });
    expect(api.stderr()).toContain('Collection is off (--role api).');
    const base = /serving the API on (\S+)\/api/.exec(api.stderr())?.[1] ?? '';
    const get = async (path: string): Promise<Record<string, unknown>> => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(res.status, path).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };

    // Alone for several collection intervals: the sources are listed, nothing is stored, nothing is asked of
    // Cloudflare, and the node neither heartbeats nor holds a lease.
    const alone = await get('/api/sources');
    const sources = alone['sources'] as { name: string }[];
    expect(sources.map((source) => source.name)).toEqual(['Shared']);
    // The UI says nothing collects, rather than showing the source as collecting.
    expect(alone['collectors']).toBe(0);
    await sleep(3_000);
    expect(simulator.stats.requests).toBe(0);
    expect(await count('SELECT count(*) AS n FROM collector_nodes')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM leases')).toBe(0);
    expect((await get('/api/events?limit=10'))['events']).toEqual([]);

    const collectorDir = nodeEnv('collector');
    const rules = join(collectorDir['ZEROTRAIL_DATA_DIR'] ?? '', 'rules');
    mkdirSync(rules, { recursive: true });
    writeFileSync(join(rules, 'denied.yaml'), DENIED_RULE);
    const collector = startNode(['--role', 'collector'], collectorDir);
    started.push(collector);
    const pid = collector.child.pid ?? -1;
    const expected = simulator.eventsBetween(now - 24 * HOUR_MS, now + HOUR_MS).length;
    expect(expected).toBe(EVENTS);
    await waitFor(
      'every event',
      async () => (await count(`SELECT count(*) AS n FROM events WHERE dataset = 'access_requests'`)) >= EVENTS,
      { timeoutMs: DEADLINE_MS },
    );
    // While it runs, the collector is the one live node and holds every lease; the API node appears nowhere.
    const holders = await nodeIds('SELECT DISTINCT node_id FROM leases WHERE node_id IS NOT NULL');
    const live = await nodeIds('SELECT node_id FROM collector_nodes');
    expect(holders.length).toBe(1);
    expect(live).toEqual(holders);
    expect(holders[0]).toContain(`-${pid}-`);
    expect(holders[0]).not.toContain(`-${api.child.pid ?? -1}-`);
    expect((await get('/api/sources'))['collectors']).toBe(1);

    // A clean stop evaluates what is left and gives the leases back.
    collector.child.kill('SIGTERM');
    expect(await collector.exit, collector.stderr()).toBe(0);
    const requests = simulator.stats.requests;
    expect(requests).toBeGreaterThan(0);

    // The API node answers searches, alerts and source health from the shared database.
    const found = (await get('/api/events?q=dataset:access_requests&limit=1000')) as {
      events: { id: string }[];
      nextPage: string | null;
    };
    expect(found.nextPage).toBeNull();
    expect(found.events.length).toBe(EVENTS);
    const ids = (await db.query<{ id: string }>(`SELECT id FROM events WHERE dataset = 'access_requests'`)).rows;
    expect(new Set(found.events.map((event) => event.id))).toEqual(new Set(ids.map((row) => row.id)));

    const raised = await count(`SELECT count(*) AS n FROM alerts WHERE rule_id = 'roles-denied-login'`);
    expect(raised, collector.stderr()).toBeGreaterThan(0);
    const alerts = (await get('/api/alerts?rule=roles-denied-login&limit=500')) as {
      alerts: { ruleId: string }[];
      total: number;
    };
    expect(alerts.total).toBe(raised);
    expect(alerts.alerts.every((alert) => alert.ruleId === 'roles-denied-login')).toBe(true);

    // Health is cached for a few seconds per node, so the answer from before the collection may stand a while.
    await waitFor(
      'the source health to show the collection',
      async () => {
        const health = (await get('/api/sources'))['sources'] as { datasets: { dataset: string; state: string }[] }[];
        return health[0]?.datasets.find((dataset) => dataset.dataset === 'access_requests')?.state === 'ok';
      },
      { timeoutMs: DEADLINE_MS },
    );

    // With the collector gone, the API node alone still asks nothing of Cloudflare.
    await sleep(2_500);
    expect(simulator.stats.requests).toBe(requests);
    expect(await count('SELECT count(*) AS n FROM collector_nodes')).toBe(0);
    expect((await get('/api/sources'))['collectors']).toBe(0);

    api.child.kill('SIGTERM');
    expect(await api.exit, api.stderr()).toBe(0);
    expect(api.stderr()).not.toContain(key);
  }, 240_000);

  it('refuses role flags that contradict each other before it opens anything', async () => {
    const env = nodeEnv('flags');
    const withPort = await runInProcess(['serve', '--role', 'collector', '--port', '0'], { env });
    expect(withPort.code).toBe(2);
    expect(withPort.stderr).toContain('the collector role runs no HTTP server');
    const noCollect = await runInProcess(['serve', '--role', 'collector', '--no-collect'], { env });
    expect(noCollect.code).toBe(2);
    expect(noCollect.stderr).toContain('the collector role only collects');
  });
});
