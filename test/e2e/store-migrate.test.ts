import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { expectExactlyOnce, setUpCollector, storedRawRecords, type CollectorEnv } from '../helpers/collector-env.js';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../helpers/postgres.js';
import { TABLES_NOT_COPIED } from '../../src/store/migrate/tables.js';
import { flatString } from '../../src/normalize/schema.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { deniedAccess } from '../helpers/events.js';
import { incompressibleCjk } from '../helpers/wide-text.js';

const HOUR_MS = 3_600_000;
const EVENT_COUNT = 20_000;
const PASSWORD = 'a long enough password';

// SQLite tables not compared row for row: those the copy leaves behind on purpose (the events' second tier, bodies
// and fragments, counted with `events`; the authentication counts per hour and day, which each store adds up
// itself; the state of running collectors), and `events`, counted with its second tier below.
const NOT_COMPARED = new Set(['events', ...Object.keys(TABLES_NOT_COPIED)]);

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function schemaOf(url: string): string {
  return new URL(url).searchParams.get('schema') ?? 'public';
}

async function withPg<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** How many events the copy into `url` has committed so far; -1 before it recorded any. */
async function eventsCopied(url: string): Promise<{ copied: number; done: boolean }> {
  return withPg(async (client) => {
    try {
      const row = (
        await client.query<{ copied: string; done: boolean }>(
          `SELECT copied, done FROM ${schemaOf(url)}.store_import_progress WHERE table_name = 'events'`,
        )
      ).rows[0];
      return row === undefined ? { copied: -1, done: false } : { copied: Number(row.copied), done: row.done };
    } catch {
      // The schema and its tables appear only once the command has migrated it.
      return { copied: -1, done: false };
    }
  });
}

/** Row counts of every SQLite table that has a PostgreSQL table of the same name, plus the events of both tiers. */
async function countsInBoth(dbPath: string, url: string): Promise<{ sqlite: object; postgres: object }> {
  const db = new Database(dbPath, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter(
    (name) => !NOT_COMPARED.has(name),
  );
  const sqlite: Record<string, number> = {};
  for (const table of tables)
    sqlite[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  sqlite['events'] = (
    db.prepare('SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM events_recent) AS n').get() as {
      n: number;
    }
  ).n;
  db.close();
  const postgres = await withPg(async (client) => {
    const counts: Record<string, number> = {};
    for (const table of Object.keys(sqlite)) {
      const row = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schemaOf(url)}.${table}`)).rows[0];
      counts[table] = Number(row?.n ?? -1);
    }
    return counts;
  });
  return { sqlite, postgres };
}

/** Starts `store migrate` as a real process and SIGKILLs it once `shouldKill` says so; resolves how it ended. */
async function migrateAndKill(
  args: readonly string[],
  env: Record<string, string>,
  shouldKill: () => Promise<boolean>,
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const child = spawnCli(args, env);
  child.stdin?.end();
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  let killed = false;
  while (!exited && !killed) {
    if (await shouldKill()) killed = child.kill('SIGKILL');
    else await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const code = await exit;
  return { killed, code, stderr: Buffer.concat(stderr).toString() };
}

/**
 * `zerotrail store migrate` moving a real SQLite installation, collected from the simulator, into PostgreSQL: killed
 * with SIGKILL part way and resumed, it ends with every table's rows, the same search answers in both stores, and a
 * PostgreSQL collector that carries on from the copied cursors. The kills need the built binary (npm test builds).
 */
describe('store migrate from SQLite to PostgreSQL', () => {
  const schemas = new TestSchemas('migrate');
  const now = Date.now();
  let setup: CollectorEnv;
  let dbPath: string;
  let url: string;
  let pgDataDir: { readonly path: string; remove(): void };
  let pgEnv: Record<string, string>;
  let apiKey: string;

  beforeAll(async () => {
    await ensurePostgres();
    setup = await setUpCollector({
      seed: 23,
      traffic: { kind: 'fixed', fromMs: now - 3 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: EVENT_COUNT },
      attacks: { fromMs: now - 2 * 24 * HOUR_MS, toMs: now - 2 * HOUR_MS },
      // The organisation stays as built, so a later collection finds no inventory changes to add.
      inventoryChanges: false,
    });
    dbPath = join(setup.dataDir, 'zerotrail.db');
    const collected = await runInProcess(['collect', '--once', '--backfill-days', '4'], { env: setup.env });
    expect(collected.code, collected.stderr).toBe(0);
    const user = await runInProcess(['user', 'add', 'ada@example.com', '--role', 'admin'], {
      env: setup.env,
      input: `${PASSWORD}\n`,
    });
    expect(user.code, user.stderr).toBe(0);
    const key = await runInProcess(['apikey', 'create', '--user', 'ada@example.com', '--label', 'siem'], {
      env: setup.env,
    });
    expect(key.code, key.stderr).toBe(0);
    apiKey = key.stdout.trim();
    const listed = await runInProcess(['alerts', 'list', '--format', 'json'], { env: setup.env });
    const alerts = JSON.parse(listed.stdout) as { id: string }[];
    expect(alerts.length).toBeGreaterThan(0);
    const first = alerts[0]?.id ?? '';
    expect((await runInProcess(['alerts', 'ack', first, '--comment', 'looking'], { env: setup.env })).code).toBe(0);
    expect((await runInProcess(['alerts', 'comment', first, 'same IP as last week'], { env: setup.env })).code).toBe(0);
    url = schemas.url();
    pgDataDir = makeTempDir('migrate-pg-node');
    pgEnv = {
      ...setup.env,
      ZEROTRAIL_DATA_DIR: pgDataDir.path,
      ZEROTRAIL_DATABASE_URL: url,
      ZEROTRAIL_SECRET_KEY_FILE: join(setup.dataDir, 'secret.key'),
    };
  }, 180_000);

  afterAll(async () => {
    await setup.cleanup();
    pgDataDir.remove();
    await schemas.dropAll();
  });

  it('survives SIGKILLs, copies every table, answers searches alike, and collection goes on from the cursors', async () => {
    const before = sha256(dbPath);
    const sqliteRecords = await storedRawRecords(setup.env);
    const args = ['store', 'migrate', '--from', setup.dataDir, '--to', url, '--chunk-rows', '500'];

    // Killed in the middle of the events, then again at a moment of its own choosing on the resumed run.
    const first = await migrateAndKill(args, setup.env, async () => {
      const progress = await eventsCopied(url);
      return progress.copied >= 2_000 && !progress.done;
    });
    expect(first.killed, first.stderr).toBe(true);
    const atKill = await eventsCopied(url);
    expect(atKill.copied).toBeGreaterThanOrEqual(2_000);
    expect(atKill.done).toBe(false);
    const secondStart = Date.now();
    const delayMs = 300 + Math.floor(Math.random() * 1_500);
    const second = await migrateAndKill(args, setup.env, () => Promise.resolve(Date.now() - secondStart >= delayMs));
    if (!second.killed) expect(second.code, second.stderr).toBe(0);

    const resumed = await runInProcess(args, { env: setup.env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('Resuming the copy started');
    expect(resumed.stdout).toMatch(/^events +[\d,]+ +[\d,]+ +ok$/m);
    expect(resumed.stdout).not.toContain('DIFFERS');
    expect(resumed.stdout).toContain(`ZEROTRAIL_SECRET_KEY_FILE=${join(setup.dataDir, 'secret.key')} zerotrail serve`);
    // Neither the key, nor the source's token, nor the API key is ever printed.
    const keyText = readFileSync(join(setup.dataDir, 'secret.key'), 'utf8').trim();
    for (const secret of [keyText, setup.simulator.token, apiKey]) {
      expect(resumed.stdout + resumed.stderr + first.stderr + second.stderr).not.toContain(secret);
    }

    const counts = await countsInBoth(dbPath, url);
    expect(counts.postgres).toEqual(counts.sqlite);
    expect((counts.sqlite as Record<string, number>)['events']).toBeGreaterThanOrEqual(EVENT_COUNT);
    expect(sha256(dbPath), 'the SQLite file was changed').toBe(before);
    // Numbering goes on after the copied seqs, so an event or notice added later sorts after every copied one.
    const numbering = await withPg(async (client) => {
      const schema = schemaOf(url);
      const row = (
        await client.query<{ events: boolean; notices: boolean }>(
          `SELECT (SELECT last_value FROM ${schema}.event_seq) > (SELECT max(seq) FROM ${schema}.event_ids) AS events,
            (SELECT last_value FROM ${schema}.notify_seq) > (SELECT max(seq) FROM ${schema}.notify_queue) AS notices`,
        )
      ).rows[0];
      return row;
    });
    expect(numbering).toEqual({ events: true, notices: true });

    for (const query of ['outcome:failure', 'dataset:access_requests AND country:DE', 'user:*a* AND NOT app:x']) {
      const fromSqlite = await runInProcess(['search', query, '--format', 'ndjson', '--limit', '100000'], {
        env: setup.env,
      });
      const fromPostgres = await runInProcess(['search', query, '--format', 'ndjson', '--limit', '100000'], {
        env: pgEnv,
      });
      expect(fromSqlite.code, fromSqlite.stderr).toBe(0);
      expect(fromPostgres.code, fromPostgres.stderr).toBe(0);
      expect(fromSqlite.stdout.length).toBeGreaterThan(0);
      expect(fromPostgres.stdout, query).toBe(fromSqlite.stdout);
    }
    const alertsIn = async (env: Record<string, string>): Promise<string> => {
      const result = await runInProcess(['alerts', 'list', '--format', 'json', '--limit', '10000'], { env });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const sqliteAlerts = await alertsIn(setup.env);
    expect(await alertsIn(pgEnv)).toBe(sqliteAlerts);
    const users = await runInProcess(['user', 'list', '--format', 'json'], { env: pgEnv });
    expect(users.stdout).toContain('ada@example.com');

    // A PostgreSQL node carries on from the copied cursors: nothing is fetched again, nothing stored twice.
    const collected = await runInProcess(['collect', '--once', '--database-url', url], {
      env: { ...pgEnv, ZEROTRAIL_DATABASE_URL: '' },
    });
    expect(collected.code, collected.stderr).toBe(0);
    expect(collected.stderr).toContain('Stored 0 new events (0 already stored)');
    // Only the datasets the token may not read have no cursor to go on from.
    expect(collected.stderr).not.toMatch(/Backfilling[^\n]*access_requests/);
    expectExactlyOnce(await storedRawRecords(pgEnv), sqliteRecords);
    expectExactlyOnce(sqliteRecords, setup.simulator.eventsBetween(now - 4 * 24 * HOUR_MS, now + HOUR_MS));
    // The detector continued from the copied offset: no alert was raised again.
    expect(await alertsIn(pgEnv)).toBe(sqliteAlerts);
    // Ids continue after the copied ones: a new user and audit entry get fresh ids.
    const another = await runInProcess(['user', 'add', 'bo@example.com', '--role', 'viewer'], {
      env: pgEnv,
      input: `${PASSWORD}\n`,
    });
    expect(another.code, another.stderr).toBe(0);

    // Run again after it finished: only the counts are checked.
    const again = await runInProcess(args, { env: setup.env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('STORE_MIGRATE_COUNT_MISMATCH');
    expect(again.stderr).toMatch(/users has 1 rows in SQLite and 2 in PostgreSQL/);
  }, 300_000);

  it('copies an installation that never stored a token, which has no secret key to carry over', async () => {
    const fresh = makeTempDir('migrate-keyless');
    try {
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: fresh.path, ZEROTRAIL_SECRET_KEY: '' };
      // A command that sets up an installation without storing a token: a read-only one would create nothing.
      const added = await runInProcess(['user', 'add', 'ana@example.com', '--role', 'viewer'], {
        env,
        input: 'a long enough password\n',
      });
      expect(added.code, added.stderr).toBe(0);
      expect(existsSync(join(fresh.path, 'secret.key'))).toBe(false);
      const result = await runInProcess(['store', 'migrate', '--from', fresh.path, '--to', schemas.url()], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('Nothing was encrypted yet, so there is no key to carry over');
    } finally {
      fresh.remove();
    }
  }, 120_000);

  it('never gives out again, after the copy, the id of a key revoked before it', async () => {
    const revoking = makeTempDir('migrate-revoked-key');
    try {
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: revoking.path, ZEROTRAIL_SECRET_KEY: '' };
      const added = await runInProcess(['user', 'add', 'ana@example.com', '--role', 'analyst'], {
        env,
        input: `${PASSWORD}\n`,
      });
      expect(added.code, added.stderr).toBe(0);
      const listIds = async (on: Record<string, string>): Promise<number[]> => {
        const listed = await runInProcess(['apikey', 'list', '--format', 'json'], { env: on });
        expect(listed.code, listed.stderr).toBe(0);
        return (JSON.parse(listed.stdout) as { id: number }[]).map((key) => key.id);
      };
      for (const label of ['soar', 'soar-2']) {
        const key = await runInProcess(['apikey', 'create', '--user', 'ana@example.com', '--label', label], { env });
        expect(key.code, key.stderr).toBe(0);
      }
      const newest = Math.max(...(await listIds(env)));
      expect((await runInProcess(['apikey', 'revoke', String(newest)], { env })).code).toBe(0);
      const target = schemas.url();
      const copied = await runInProcess(['store', 'migrate', '--from', revoking.path, '--to', target], { env });
      expect(copied.code, copied.stderr).toBe(0);
      const onPostgres = { ...env, ZEROTRAIL_DATABASE_URL: target };
      const key = await runInProcess(['apikey', 'create', '--user', 'ana@example.com', '--label', 'soar-3'], {
        env: onPostgres,
      });
      expect(key.code, key.stderr).toBe(0);
      // A retried revoke of the old id would otherwise take the new key.
      expect(Math.max(...(await listIds(onPostgres)))).toBeGreaterThan(newest);
    } finally {
      revoking.remove();
    }
  }, 120_000);

  it('copies indexed values an older zerotrail kept longer than a PostgreSQL index row, capped as it caps them now', async () => {
    const older = makeTempDir('migrate-wide');
    try {
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: older.path, ZEROTRAIL_SECRET_KEY: '' };
      const added = await runInProcess(['user', 'add', 'ana@example.com', '--role', 'viewer'], {
        env,
        input: `${PASSWORD}\n`,
      });
      expect(added.code, added.stderr).toBe(0);
      // 1,024 varied CJK characters, 3,072 bytes: what flat fields and names could hold before the cap in bytes.
      const wide = incompressibleCjk(1024);
      const store = await SqliteStore.open({ path: join(older.path, 'zerotrail.db') });
      try {
        const time = now - 2 * HOUR_MS;
        const event = deniedAccess(
          {
            time,
            sourceName: 'older',
            user: wide,
            app: wide,
            appUid: wide,
            idp: wide,
            rayId: wide,
            raw: { user_email: wide },
          },
          1,
        );
        await store.append([event], { id: 'older/access_requests', value: {} });
        await store.saveInventorySnapshot(
          {
            sourceName: 'older',
            dataset: 'groups',
            takenAt: time,
            entities: [{ kind: 'group', id: 'g1', name: wide, attributes: { name: wide } }],
          },
          [],
        );
      } finally {
        await store.close();
      }
      const target = schemas.url();
      const result = await runInProcess(['store', 'migrate', '--from', older.path, '--to', target], { env });
      expect(result.code, result.stderr).toBe(0);
      const capped = flatString(wide);
      expect(capped.length).toBeLessThan(wide.length);
      const rows = await withPg(async (client) => ({
        event: (
          await client.query<{ user_name: string; ray_id: string; raw: string }>(
            `SELECT user_name, ray_id, raw FROM ${schemaOf(target)}.events WHERE ray_id = $1`,
            [capped],
          )
        ).rows,
        names: (await client.query<{ name: string }>(`SELECT name FROM ${schemaOf(target)}.inventory_entities`)).rows,
      }));
      expect(rows.event).toEqual([{ user_name: capped, ray_id: capped, raw: JSON.stringify({ user_email: wide }) }]);
      expect(rows.names).toEqual([{ name: capped }]);
    } finally {
      older.remove();
    }
  }, 120_000);

  describe('refuses what it cannot copy, and changes nothing', () => {
    const scratch = makeTempDir('migrate-bad');
    afterAll(() => scratch.remove());

    const migrate = (from: string, to: string, env: Record<string, string> = setup.env) =>
      runInProcess(['store', 'migrate', '--from', from, '--to', to], { env });

    it('a directory that is missing, or holds no zerotrail database', async () => {
      const missing = await migrate(join(scratch.path, 'nope'), schemas.url());
      expect(missing.code).toBe(5);
      expect(missing.stderr).toContain('error[STORE_MIGRATE_SOURCE_INVALID]');
      expect(missing.stderr).toContain('does not exist');
      const empty = join(scratch.path, 'empty');
      mkdirSync(empty);
      const result = await migrate(empty, schemas.url());
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('holds no zerotrail.db, so it is not a zerotrail data directory');
      expect(result.stderr).toContain('hint: Point --from at the directory');
    });

    it('a corrupt database file, left exactly as it was', async () => {
      const dir = join(scratch.path, 'corrupt');
      mkdirSync(dir);
      const file = join(dir, 'zerotrail.db');
      writeFileSync(file, randomBytes(64 * 1024));
      const before = sha256(file);
      const result = await migrate(dir, schemas.url());
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('error[STORE_CORRUPT]');
      expect(sha256(file)).toBe(before);
    });

    it('a SQLite file that is not zerotrail’s', async () => {
      const dir = join(scratch.path, 'foreign');
      mkdirSync(dir);
      const db = new Database(join(dir, 'zerotrail.db'));
      db.exec('CREATE TABLE notes (body TEXT)');
      db.close();
      const result = await migrate(dir, schemas.url());
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('is a SQLite database, but not one zerotrail wrote');
    });

    it('a database an older zerotrail left behind', async () => {
      const dir = join(scratch.path, 'older');
      mkdirSync(dir);
      for (const file of ['zerotrail.db', 'secret.key']) copyFileSync(join(setup.dataDir, file), join(dir, file));
      const db = new Database(join(dir, 'zerotrail.db'));
      const newest = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(newest);
      db.close();
      const result = await migrate(dir, schemas.url());
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('error[STORE_MIGRATE_SOURCE_INVALID]');
      expect(result.stderr).toContain(`without migration ${newest}`);
      expect(result.stderr).toContain(`hint: Upgrade it first by running any command of this zerotrail on it once`);
    });

    it('a database another migration is copying into right now', async () => {
      const target = schemas.url();
      await withPg(async (client) => {
        await client.query(`CREATE SCHEMA ${schemaOf(target)}`);
        await client.query("SELECT pg_advisory_lock(hashtext($1 || '/zerotrail-store-import'))", [schemaOf(target)]);
        const result = await migrate(setup.dataDir, target);
        expect(result.code).toBe(5);
        expect(result.stderr).toContain('error[STORE_BUSY]');
        expect(result.stderr).toContain('Another zerotrail store migrate is copying into');
      });
    });

    it('a PostgreSQL server that does not answer', async () => {
      const result = await migrate(setup.dataDir, 'postgres://zerotrail:s3cret@127.0.0.1:1/zerotrail');
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('error[STORE_OPEN_FAILED]');
      expect(result.stderr).toContain('127.0.0.1:1/zerotrail');
      expect(result.stderr).not.toContain('s3cret');
    });

    it('a key that does not decrypt the stored tokens', async () => {
      const target = schemas.url();
      const result = await migrate(setup.dataDir, target, {
        ...setup.env,
        ZEROTRAIL_SECRET_KEY: randomBytes(32).toString('base64'),
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('error[SECRET_KEY_INVALID]');
      expect(result.stderr).toContain('Nothing was copied');
      const created = await withPg(
        async (client) =>
          (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schemaOf(target)])).rowCount,
      );
      expect(created, 'the target was touched').toBe(0);
    });

    it('a database that holds another installation', async () => {
      const target = schemas.url();
      const otherNode = makeTempDir('migrate-other');
      try {
        const added = await runInProcess(
          [
            'source',
            'add',
            '--name',
            'Elsewhere',
            '--account-id',
            setup.simulator.accountId,
            '--token-env',
            'CF_TOKEN',
          ],
          { env: { ...setup.env, ZEROTRAIL_DATA_DIR: otherNode.path, ZEROTRAIL_DATABASE_URL: target } },
        );
        expect(added.code, added.stderr).toBe(0);
      } finally {
        otherNode.remove();
      }
      const result = await migrate(setup.dataDir, target);
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('error[STORE_MIGRATE_TARGET_NOT_EMPTY]');
      expect(result.stderr).toMatch(/settings, sources already hold rows that were not copied from/);
    });

    it('a database that holds the migration of another SQLite installation', async () => {
      const target = schemas.url();
      const other = makeTempDir('migrate-second');
      try {
        const env = { ...setup.env, ZEROTRAIL_DATA_DIR: other.path };
        const added = await runInProcess(
          ['source', 'add', '--name', 'Second', '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
          { env },
        );
        expect(added.code, added.stderr).toBe(0);
        const moved = await migrate(other.path, target, env);
        expect(moved.code, moved.stderr).toBe(0);
        const result = await migrate(setup.dataDir, target);
        expect(result.code).toBe(5);
        expect(result.stderr).toContain('already holds a migration of another SQLite installation');
        expect(result.stderr).toContain(other.path);
      } finally {
        other.remove();
      }
    });

    it('a data directory a collector is still running on', async () => {
      const dir = join(scratch.path, 'running');
      mkdirSync(dir);
      for (const file of ['zerotrail.db', 'secret.key']) copyFileSync(join(setup.dataDir, file), join(dir, file));
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: dir };
      const collector = spawnCli(['collect'], env);
      collector.stdin?.end();
      const stopped = new Promise((resolve) => collector.on('exit', resolve));
      try {
        let heartbeats = 0;
        for (let attempt = 0; attempt < 200 && heartbeats === 0; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const db = new Database(join(dir, 'zerotrail.db'), { readonly: true });
          heartbeats = (db.prepare('SELECT count(*) AS n FROM collector_nodes').get() as { n: number }).n;
          db.close();
        }
        expect(heartbeats).toBeGreaterThan(0);
        const result = await migrate(dir, schemas.url(), env);
        expect(result.code).toBe(5);
        expect(result.stderr).toContain('error[STORE_MIGRATE_SOURCE_IN_USE]');
        expect(result.stderr).toContain(`A collector is still running on ${dir}`);
      } finally {
        collector.kill('SIGTERM');
        await stopped;
      }
    });
  });
});
