import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server every PostgreSQL test uses; ZEROTRAIL_TEST_DATABASE_URL points them at another one. */
export const TEST_DATABASE_URL =
  process.env['ZEROTRAIL_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const START_HINT =
  'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
  '(or set ZEROTRAIL_TEST_DATABASE_URL to a server whose user may create schemas).';

async function reachable(): Promise<unknown> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Makes sure the test server answers, starting the machine's local cluster when it does not; fails saying
 * how to start it when that is not possible. Tests never skip for want of a server.
 */
export async function ensurePostgres(): Promise<void> {
  if ((await reachable()) === undefined) return;
  const versions = (() => {
    try {
      return readdirSync('/etc/postgresql');
    } catch {
      return [];
    }
  })();
  for (const version of versions) {
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'pipe' });
    } catch (error) {
      // An already running cluster makes pg_ctlcluster fail too; whether the server answers decides below.
      void error;
    }
  }
  let last: unknown;
  for (let attempt = 0; attempt < 30; attempt += 1) {
    last = await reachable();
    if (last === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new Error(`PostgreSQL at ${TEST_DATABASE_URL} does not answer (${reason}). ${START_HINT}`);
}

/** Fresh schemas on the test server, each named with `prefix`; `dropAll` removes every one this made. */
export class TestSchemas {
  readonly #prefix: string;
  readonly #made: string[] = [];

  constructor(prefix: string) {
    this.#prefix = `zt_${prefix}_${randomBytes(4).toString('hex')}`;
  }

  /** A database URL for a new, empty schema (the store creates it on open). */
  url(): string {
    const schema = `${this.#prefix}_${this.#made.length}`;
    this.#made.push(schema);
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('schema', schema);
    return url.toString();
  }

  async dropAll(): Promise<void> {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      for (const schema of this.#made) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
}
