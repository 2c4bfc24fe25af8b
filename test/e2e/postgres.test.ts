import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import {
  expectExactlyOnce,
  setUpCollector,
  simulatorEnv,
  storedRawRecords,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';
import { ensurePostgres, TestSchemas } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOUR_MS = 3_600_000;
const EVENT_COUNT = 1_500;

/**
 * zerotrail pointed at PostgreSQL with ZEROTRAIL_DATABASE_URL: a source added, collected once from the
 * simulator and searched, with nothing written to the data directory's SQLite file; other nodes share the
 * database only with the same secret key.
 */
describe('collecting into PostgreSQL', () => {
  const schemas = new TestSchemas('e2e');
  const key = randomBytes(32).toString('base64');
  const now = Date.now();
  let setup: CollectorEnv;
  let env: Record<string, string>;

  beforeAll(async () => {
    await ensurePostgres();
    setup = await setUpCollector(
      { seed: 11, traffic: { kind: 'fixed', fromMs: now - 30 * HOUR_MS, toMs: now - HOUR_MS, count: EVENT_COUNT } },
      false,
    );
    env = { ...setup.env, ZEROTRAIL_DATABASE_URL: schemas.url(), ZEROTRAIL_SECRET_KEY: key };
  });

  afterAll(async () => {
    await setup.cleanup();
    await schemas.dropAll();
  });

  it('adds a source, collects once and finds every event by search', async () => {
    const added = await runInProcess(
      ['source', 'add', '--name', TEST_SOURCE, '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(added.code, added.stderr).toBe(0);
    const collected = await runInProcess(['collect', '--once', '--backfill-days', '2'], { env });
    expect(collected.code, collected.stderr).toBe(0);

    const expected = setup.simulator.eventsBetween(now - 2 * 24 * HOUR_MS, now + HOUR_MS);
    expect(expected.length).toBe(EVENT_COUNT);
    expectExactlyOnce(await storedRawRecords(env), expected);
    const found = await runInProcess(['search', 'outcome:failure', '--format', 'ndjson', '--limit', '100000'], { env });
    expect(found.code, found.stderr).toBe(0);
    const failures = found.stdout.split('\n').filter((line) => line !== '');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBe(expected.filter((record) => record['allowed'] === false).length);
    expect(existsSync(join(setup.dataDir, 'zerotrail.db'))).toBe(false);
  });

  it('lets another node in with the same key from a key file, and refuses one with another key', async () => {
    const other = makeTempDir('postgres-node');
    try {
      const keyFile = join(other.path, 'shared.key');
      writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
      const nodeEnv = {
        ...simulatorEnv(setup.simulator, join(other.path, 'data')),
        ZEROTRAIL_DATABASE_URL: env['ZEROTRAIL_DATABASE_URL'] ?? '',
      };
      const listed = await runInProcess(['source', 'list', '--format', 'json'], {
        env: { ...nodeEnv, ZEROTRAIL_SECRET_KEY_FILE: keyFile },
      });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain(TEST_SOURCE);

      const refused = await runInProcess(['source', 'list'], {
        env: { ...nodeEnv, ZEROTRAIL_SECRET_KEY: randomBytes(32).toString('base64') },
      });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('SECRET_KEY_INVALID');
      expect(refused.stderr).toContain('differs from the one this database was set up with');
      expect(refused.stderr).toContain('ZEROTRAIL_SECRET_KEY_FILE');
    } finally {
      other.remove();
    }
  });

  it('keeps users in the database, so another node sees them', async () => {
    const added = await runInProcess(['user', 'add', 'ada@example.com', '--role', 'admin'], {
      env,
      input: 'a long enough password\n',
    });
    expect(added.code, added.stderr).toBe(0);
    const other = makeTempDir('postgres-users');
    try {
      const listed = await runInProcess(['user', 'list', '--format', 'json'], {
        env: { ...env, ZEROTRAIL_DATA_DIR: other.path },
      });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('ada@example.com');
      expect(existsSync(join(other.path, 'zerotrail.db'))).toBe(false);
    } finally {
      other.remove();
    }
  });

  it('rejects a database URL that is not PostgreSQL without echoing it', async () => {
    const result = await runInProcess(['source', 'list'], {
      env: { ...env, ZEROTRAIL_DATABASE_URL: 'mysql://root:s3cret@127.0.0.1/zerotrail' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('database_url');
    expect(result.stderr).not.toContain('s3cret');
  });
});
