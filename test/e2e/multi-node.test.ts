import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Secret } from '../../src/core/secret.js';
import { loadConfig } from '../../src/config/load.js';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { spawnCli } from '../helpers/cli.js';
import { expectExactlyOnce, simulatorEnv, storedRawRecords } from '../helpers/collector-env.js';
import { ensurePostgres, TestSchemas, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
// Each source is its own simulated account, so every node holds datasets of several accounts when it is killed.
const SOURCES = 30;
const EVENTS_PER_SOURCE = 1_200;
const TOTAL = SOURCES * EVENTS_PER_SOURCE;
const LEASE_TTL_SECS = 3;
const DEADLINE_MS = 240_000;

/**
 * Three collecting nodes share one PostgreSQL schema and thirty sources. One is killed with SIGKILL in the middle
 * of the backfill and another later; the survivor takes over their datasets from the committed cursors once
 * their leases run out, and the store ends with exactly the events the simulators served.
 */
describe('three collector nodes on one database', () => {
  const schemas = new TestSchemas('nodes');
  const key = randomBytes(32).toString('base64');
  const now = Date.now();
  const simulators: Simulator[] = [];
  const dirs: { path: string; remove(): void }[] = [];
  const nodes: ChildProcess[] = [];
  let url: string;
  let db: pg.Client;

  const nodeEnv = (n: number): Record<string, string> => {
    const dir = makeTempDir(`node-${n}`);
    dirs.push(dir);
    const first = simulators[0];
    if (first === undefined) throw new Error('no simulator');
    return {
      ...simulatorEnv(first, dir.path),
      ZEROTRAIL_DATABASE_URL: url,
      ZEROTRAIL_SECRET_KEY: key,
      ZEROTRAIL_COLLECT__LEASE_TTL_SECS: String(LEASE_TTL_SECS),
      // Each node stands for a machine of its own, so a killed node's leases pass on only when they run out.
      ZEROTRAIL_COLLECT__NODE_NAME: `machine-${n}`,
      ZEROTRAIL_COLLECT__BACKFILL_DAYS: '2',
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '2',
      // Small pages make the backfill many commits long, so the kills land in the middle of it.
      ZEROTRAIL_CLOUDFLARE__PAGE_SIZE: '50',
    };
  };

  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const storedEvents = (): Promise<number> =>
    count(`SELECT count(*) AS n FROM events WHERE dataset = 'access_requests'`);
  const holders = async (): Promise<readonly string[]> =>
    (await db.query<{ node_id: string }>(`SELECT DISTINCT node_id FROM leases WHERE node_id IS NOT NULL`)).rows.map(
      (row) => row.node_id,
    );

  beforeAll(async () => {
    await ensurePostgres();
    url = schemas.url();
    for (let n = 0; n < SOURCES; n++) {
      simulators.push(
        await startSimulator({
          seed: 100 + n,
          accountId: `${String(n).padStart(2, '0')}${'a'.repeat(30)}`,
          rateLimit: { requests: 1_000_000, windowSecs: 300 },
          traffic: { kind: 'fixed', fromMs: now - 30 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS_PER_SOURCE },
          faults: { slow: { delayMs: 15 } },
        }),
      );
    }
    const setupDir = makeTempDir('nodes-setup');
    dirs.push(setupDir);
    const env = { ...nodeEnv(-1), ZEROTRAIL_DATA_DIR: setupDir.path };
    const app = await openApp(loadConfig({ env }), { logger: silentLogger(), clock: systemClock, secretKey: key });
    try {
      for (const [n, simulator] of simulators.entries()) {
        const token = new Secret(simulator.token);
        await app.store.saveSource({
          name: `tenant-${String(n).padStart(2, '0')}`,
          type: 'cloudflare_zero_trust',
          accountId: simulator.accountId,
          tokenCiphertext: app.secrets.encrypt(token),
          tokenLastFour: token.lastFour(),
          createdAt: now,
          settings: { api_base_url: simulator.baseUrl },
        });
      }
    } finally {
      await app.close();
    }
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    const schema = new URL(url).searchParams.get('schema') ?? '';
    await db.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) node.kill('SIGKILL');
    await db?.end();
    for (const simulator of simulators) await simulator.stop();
    for (const dir of dirs) dir.remove();
    await schemas.dropAll();
  });

  it('loses and repeats nothing when two of the three nodes are killed', async () => {
    const exits: Promise<number | null>[] = [];
    const stderr: string[] = [];
    for (let n = 0; n < 3; n++) {
      const child = spawnCli(['serve', '--role', 'collector'], nodeEnv(n));
      child.stdin?.end();
      stderr[n] = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr[n] += chunk.toString()));
      exits.push(new Promise((resolve) => child.on('exit', (code) => resolve(code))));
      nodes.push(child);
    }

    // Every node holds some of the datasets, and collection has begun.
    await waitFor('every node to hold leases', async () => (await holders()).length === 3, { timeoutMs: DEADLINE_MS });
    await waitFor('the first events', async () => (await storedEvents()) > 0, { timeoutMs: DEADLINE_MS });
    nodes[0]?.kill('SIGKILL');
    const atFirstKill = await storedEvents();
    expect(atFirstKill, 'the first kill landed after the backfill ended').toBeLessThan(TOTAL);

    await waitFor('more events', async () => (await storedEvents()) > atFirstKill, { timeoutMs: DEADLINE_MS });
    nodes[1]?.kill('SIGKILL');
    expect(await storedEvents(), 'the second kill landed after the backfill ended').toBeLessThan(TOTAL);

    // The survivor takes over every dataset once the dead nodes' leases run out, and catches all of them up.
    await waitFor('all events', async () => (await storedEvents()) >= TOTAL, { timeoutMs: DEADLINE_MS });
    await waitFor('the survivor to hold every lease', async () => (await holders()).length === 1, {
      timeoutMs: DEADLINE_MS,
    });
    const [survivor] = await holders();
    expect(await count(`SELECT count(*) AS n FROM leases WHERE node_id IS DISTINCT FROM '${survivor}'`)).toBe(0);

    nodes[2]?.kill('SIGTERM');
    expect(await exits[2], stderr[2]).toBe(0);
    // A clean stop gives the leases back at once.
    expect(await holders()).toEqual([]);

    const expected = simulators.flatMap((simulator) => simulator.eventsBetween(now - 2 * 24 * HOUR_MS, now + HOUR_MS));
    expect(expected.length).toBe(TOTAL);
    expectExactlyOnce(await storedRawRecords({ ...nodeEnv(3) }), expected);
  }, 360_000);
});
