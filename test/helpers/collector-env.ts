import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { DATABASE_FILE } from '../../src/app.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { runInProcess } from './cli.js';
import { makeTempDir } from './temp-dir.js';

export const TEST_SOURCE = 'Test Zero Trust';

export interface CollectorEnv {
  readonly simulator: Simulator;
  readonly dataDir: string;
  /** Environment for CLI runs against this simulator; the token travels only in CF_TOKEN. */
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * The environment a zerotrail command needs to collect from `simulator` into `dataDir`; `overrides` add to it or
 * replace its entries (a log level, a backfill, the token variable).
 */
export function simulatorEnv(
  simulator: Pick<Simulator, 'baseUrl'>,
  dataDir: string,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ZEROTRAIL_DATA_DIR: dataDir,
    CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
    // Tests measure correctness, not politeness: lift the budget so runs take seconds.
    ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
    ZEROTRAIL_CF_RATE_SHARE: '1',
    ZEROTRAIL_LOG_LEVEL: 'warn',
    ...overrides,
  };
}

/**
 * A simulator, a fresh data directory and one data source pointing at the simulator: verified, added with
 * --no-verify (which sends the simulator no request), or none.
 */
export async function setUpCollector(
  options: SimulatorOptions,
  addSource: boolean | 'unverified' = true,
): Promise<CollectorEnv> {
  // The simulator enforces the same lifted limit as the collector, so no test waits on a quota window.
  const simulator = await startSimulator({ rateLimit: { requests: 1_000_000, windowSecs: 300 }, ...options });
  const dir = makeTempDir('collector');
  const env = simulatorEnv(simulator, dir.path, { CF_TOKEN: simulator.token });
  if (addSource) {
    await addTestSource({ simulator, env }, simulator.token, addSource === 'unverified' ? ['--no-verify'] : []);
  }
  return {
    simulator,
    dataDir: dir.path,
    env,
    cleanup: async () => {
      await simulator.stop();
      dir.remove();
    },
  };
}

/** `source add` of TEST_SOURCE for the simulator's account with `token`, `extra` flags after it; it must succeed. */
export async function addTestSource(
  setup: Pick<CollectorEnv, 'simulator' | 'env'>,
  token: string,
  extra: readonly string[] = [],
): Promise<void> {
  const added = await runInProcess(
    [
      'source',
      'add',
      '--name',
      TEST_SOURCE,
      '--account-id',
      setup.simulator.accountId,
      '--token-env',
      'CF_TOKEN',
      ...extra,
    ],
    { env: { ...setup.env, CF_TOKEN: token } },
  );
  expect(added.stderr + added.stdout).toContain('Added data source');
  expect(added.code, added.stderr).toBe(0);
}

/** The raw record of every stored event of one dataset, read back through the CLI as an analyst would. */
export async function storedRawRecords(
  env: Record<string, string>,
  dataset = 'access_requests',
): Promise<readonly Record<string, unknown>[]> {
  const result = await runInProcess(
    ['search', `dataset:${dataset}`, '--format', 'ndjson', '--limit', '100000000', '--order', 'asc'],
    { env },
  );
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { raw: Record<string, unknown> }).raw);
}

/** Canonical text of a record for multiset comparison, independent of key order. */
export function canonical(record: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b))));
}

/** Asserts the store holds exactly the expected records: none missing, none extra, none twice. */
export function expectExactlyOnce(
  stored: readonly Record<string, unknown>[],
  expected: readonly Record<string, unknown>[],
): void {
  const storedKeys = stored.map(canonical).sort();
  const expectedKeys = expected.map(canonical).sort();
  const duplicates = storedKeys.filter((key, index) => index > 0 && storedKeys[index - 1] === key);
  expect(duplicates.length, 'events stored twice').toBe(0);
  const expectedSet = new Set(expectedKeys);
  const storedSet = new Set(storedKeys);
  const missing = expectedKeys.filter((key) => !storedSet.has(key));
  const extra = storedKeys.filter((key) => !expectedSet.has(key));
  expect(missing.length, `missing events, e.g. ${missing[0] ?? ''}`).toBe(0);
  expect(extra.length, `unexpected events, e.g. ${extra[0] ?? ''}`).toBe(0);
  expect(storedKeys.length).toBe(expectedKeys.length);
}

/** The node holding the lease of dataset job `id` in the SQLite store of `dataDir`, read as another process would. */
export function leaseHolder(dataDir: string, id: string): string | null {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const row = db.prepare('SELECT node_id FROM leases WHERE id = ?').get(id) as { node_id: string | null } | undefined;
    return row?.node_id ?? null;
  } finally {
    db.close();
  }
}
