import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOUR_MS = 3_600_000;
const EXIT_STORE = 5;
// The nodes' URL carries a password (the test server trusts local users and ignores it); no message may print it.
const NODE_PASSWORD = 'node-db-password-never-printed';

async function withPg<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL database that a `zerotrail store migrate` has copied into only part way: `collect` and `serve` in each
 * role refuse to start on it, saying which copy to finish and how, and write nothing; the migrate command resumes the
 * copy, after which the same nodes start.
 */
describe('PostgreSQL nodes while a store migrate into their database is unfinished', () => {
  const schemas = new TestSchemas('unfinished');
  const now = Date.now();
  let setup: CollectorEnv;
  let url: string;
  let schema: string;
  let nodeDir: { readonly path: string; remove(): void };
  let nodeEnv: Record<string, string>;

  const count = (table: string): Promise<number> =>
    withPg(async (client) =>
      Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.${table}`)).rows[0]?.n ?? -1),
    );

  beforeAll(async () => {
    await ensurePostgres();
    setup = await setUpCollector({
      seed: 41,
      traffic: { kind: 'fixed', fromMs: now - 2 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: 3_000 },
    });
    const collected = await runInProcess(['collect', '--once', '--backfill-days', '3'], { env: setup.env });
    expect(collected.code, collected.stderr).toBe(0);
    url = schemas.url();
    schema = new URL(url).searchParams.get('schema') ?? '';
    const nodeUrl = new URL(url);
    if (nodeUrl.username !== '') nodeUrl.password = NODE_PASSWORD;
    nodeDir = makeTempDir('unfinished-node');
    nodeEnv = {
      ...setup.env,
      ZEROTRAIL_DATA_DIR: nodeDir.path,
      ZEROTRAIL_DATABASE_URL: nodeUrl.toString(),
      ZEROTRAIL_SECRET_KEY_FILE: join(setup.dataDir, 'secret.key'),
    };
  }, 180_000);

  afterAll(async () => {
    await setup?.cleanup();
    nodeDir?.remove();
    await schemas.dropAll();
  });

  it('refuses collect and serve in every role until the copy is finished, then starts them', async () => {
    const args = ['store', 'migrate', '--from', setup.dataDir, '--to', url, '--chunk-rows', '50'];

    // Stopped with SIGTERM once part of the events is copied: what was copied stays, the import stays open.
    const migrate = spawnCli(args, setup.env);
    migrate.stdin?.end();
    let migrateErr = '';
    migrate.stderr?.on('data', (chunk: Buffer) => (migrateErr += chunk.toString()));
    const migrateExit = new Promise<number | null>((resolve) => migrate.on('exit', (code) => resolve(code)));
    for (let stopped = false; !stopped;) {
      const copied = await withPg(async (client) => {
        try {
          const row = (
            await client.query<{ copied: string; done: boolean }>(
              `SELECT copied, done FROM ${schema}.store_import_progress WHERE table_name = 'events'`,
            )
          ).rows[0];
          return row === undefined || row.done ? 0 : Number(row.copied);
        } catch {
          // The tables appear only once the command has migrated the schema.
          return 0;
        }
      });
      if (copied >= 50) stopped = migrate.kill('SIGTERM');
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // 128 + SIGTERM's number, as a shell reports a program that signal ended.
    expect(await migrateExit, migrateErr).toBe(143);
    expect(migrateErr).toContain('error[STORE_MIGRATE_STOPPED]');
    const open = await withPg(
      async (client) =>
        (await client.query<{ finished_at: string | null }>(`SELECT finished_at FROM ${schema}.store_imports`)).rows,
    );
    expect(open).toEqual([{ finished_at: null }]);

    const requests = setup.simulator.stats.requests;
    const stored = { events: await count('event_ids'), cursors: await count('cursors') };
    for (const command of [
      ['collect', '--once'],
      ['collect'],
      ['serve', '--port', '0'],
      ['serve', '--role', 'api', '--port', '0'],
      ['serve', '--role', 'collector'],
    ]) {
      const refused = await runInProcess(command, { env: nodeEnv });
      const said = `${command.join(' ')}: ${refused.stderr}`;
      expect(refused.code, said).toBe(EXIT_STORE);
      expect(refused.stderr, said).toContain(
        `error[STORE_MIGRATE_UNFINISHED]: The zerotrail store migrate from ${setup.dataDir} into`,
      );
      expect(refused.stderr, said).toMatch(/has not finished: \d+ of \d+ tables copied, last chunk committed \d{4}-/);
      expect(refused.stderr, said).toContain(
        `hint: Finish the copy: run zerotrail store migrate --from ${setup.dataDir} --to '`,
      );
      expect(refused.stderr, said).toContain(`schema=${schema}`);
      expect(refused.stderr, said).not.toContain(NODE_PASSWORD);
      expect(refused.stderr, said).not.toContain('serving the API');
    }
    // Commands that only read still answer, from what was copied, and say it is only part of the history.
    for (const command of [
      ['search', '--limit', '1'],
      ['alerts', 'list'],
      ['source', 'list'],
    ]) {
      const partial = await runInProcess(command, { env: nodeEnv });
      const said = `${command.join(' ')}: ${partial.stderr}`;
      expect(partial.code, said).toBe(0);
      expect(partial.stderr, said).toMatch(
        /^warning: The zerotrail store migrate from .* has not finished: \d+ of \d+ tables copied, .* What this shows is only what was copied so far; run zerotrail store migrate --from /m,
      );
      expect(partial.stderr, said).not.toContain(NODE_PASSWORD);
    }
    // Nothing was asked of Cloudflare and nothing was written.
    expect(setup.simulator.stats.requests).toBe(requests);
    expect({ events: await count('event_ids'), cursors: await count('cursors') }).toEqual(stored);
    expect(await count('collector_nodes')).toBe(0);
    expect(await count('leases')).toBe(0);

    // Only nodes are refused: the migrate command resumes the copy and finishes it.
    const resumed = await runInProcess(args, { env: setup.env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('Resuming the copy started');
    expect(resumed.stdout).not.toContain('DIFFERS');

    const collected = await runInProcess(['collect', '--once'], { env: nodeEnv });
    expect(collected.code, collected.stderr).toBe(0);
    const complete = await runInProcess(['search', '--limit', '1'], { env: nodeEnv });
    expect(complete.stderr).not.toContain('has not finished');
    const api = spawnCli(['serve', '--role', 'api', '--port', '0'], nodeEnv);
    api.stdin?.end();
    let apiErr = '';
    const listening = new Promise<boolean>((resolve) => {
      api.stderr?.on('data', (chunk: Buffer) => {
        apiErr += chunk.toString();
        if (apiErr.includes('Collection is off')) resolve(true);
      });
      api.on('exit', () => resolve(false));
    });
    expect(await listening, apiErr).toBe(true);
    const apiExit = new Promise<number | null>((resolve) => api.on('exit', (code) => resolve(code)));
    api.kill('SIGTERM');
    expect(await apiExit, apiErr).toBe(0);
  }, 240_000);
});
