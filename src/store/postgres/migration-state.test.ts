import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deniedAccess } from '../../../test/helpers/events.js';
import { ensurePostgres, TEST_DATABASE_URL, TestSchemas } from '../../../test/helpers/postgres.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { PostgresStore } from './store.js';

const schemas = new TestSchemas('migstate');
const roles: string[] = [];
const opened: PostgresStore[] = [];
let admin: pg.Client;

beforeAll(async () => {
  await ensurePostgres();
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
});

afterAll(async () => {
  for (const store of opened) await store.close();
  await schemas.dropAll();
  for (const role of roles) {
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
  }
  await admin.end();
});

const schemaOf = (url: string): string => new URL(url).searchParams.get('schema') ?? 'public';

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url, poolSize: 2 });
  opened.push(store);
  return store;
}

/** A new schema, made by the admin role before zerotrail sees it, holding whatever `setup` creates. */
async function schemaWith(setup: string): Promise<string> {
  const url = schemas.url();
  const schema = schemaOf(url);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`SET search_path TO ${schema}`);
  try {
    if (setup !== '') await admin.query(setup);
  } finally {
    await admin.query('RESET search_path');
  }
  return url;
}

/** Every relation in the schema and every row of its schema_migrations, to show a refusal changed nothing. */
async function contents(url: string): Promise<unknown> {
  const schema = schemaOf(url);
  const relations = await admin.query(
    `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  const hasMigrations = relations.rows.some((row: { relname: string }) => row.relname === 'schema_migrations');
  const migrations = hasMigrations ? (await admin.query(`SELECT * FROM ${schema}.schema_migrations`)).rows : [];
  return { relations: relations.rows, migrations };
}

/** A login role granted only USAGE on the schema and SELECT on the tables it holds now; its URL. */
async function selectOnlyRole(url: string): Promise<string> {
  const schema = schemaOf(url);
  const role = `${schema}_reader`;
  const password = randomBytes(12).toString('hex');
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  roles.push(role);
  await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
  await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
  const roleUrl = new URL(url);
  roleUrl.username = role;
  roleUrl.password = password;
  return roleUrl.toString();
}

const latest = Math.max(...MIGRATIONS.map((migration) => migration.version));

describe('PostgresStore.migrate in a schema that holds other tables', () => {
  it.each([
    [
      'Rails',
      `CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
       INSERT INTO schema_migrations VALUES ('20240101000000')`,
    ],
    [
      'golang-migrate',
      `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
       INSERT INTO schema_migrations VALUES (20240101000000, false)`,
    ],
  ])("refuses %s's schema_migrations as another application's and changes nothing", async (_tool, setup) => {
    const url = await schemaWith(setup);
    const before = await contents(url);
    const store = await open(url);
    const attempt = store.migrate();
    await expect(attempt).rejects.toMatchObject({
      code: 'STORE_MIGRATION_FAILED',
      message: expect.stringMatching(
        new RegExp(`schema ${schemaOf(url)} .*another application's tables: found schema_migrations`),
      ) as unknown,
      hint: expect.stringContaining('?schema=NAME') as unknown,
    });
    await expect(attempt).rejects.not.toThrow(/newer than this zerotrail/);
    expect(await contents(url)).toEqual(before);
  });

  it("refuses another application's sources and events and leaves no migrations table behind", async () => {
    const url = await schemaWith('CREATE TABLE sources (id integer); CREATE TABLE events (id integer)');
    const before = await contents(url);
    const store = await open(url);
    await expect(store.migrate()).rejects.toMatchObject({
      code: 'STORE_MIGRATION_FAILED',
      message: expect.stringMatching(/another application's tables: found events, sources/) as unknown,
      hint: expect.stringContaining('empty database') as unknown,
    });
    expect(await contents(url)).toEqual(before);
  });

  it('refuses a table shaped like its own that records migrations zerotrail never had', async () => {
    const url = await schemaWith(
      `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
       INSERT INTO schema_migrations VALUES (1, 'create_widgets', 0)`,
    );
    const before = await contents(url);
    const store = await open(url);
    await expect(store.migrate()).rejects.toThrow(/another application's tables: found schema_migrations/);
    expect(await contents(url)).toEqual(before);
  });

  it('still tells a database a newer zerotrail migrated apart, by its own migrations table', async () => {
    const url = schemas.url();
    await (await open(url)).migrate();
    await admin.query(`INSERT INTO ${schemaOf(url)}.schema_migrations VALUES ($1, 'from_the_future', 0)`, [latest + 1]);
    const store = await open(url);
    await expect(store.migrate()).rejects.toMatchObject({
      code: 'STORE_MIGRATION_FAILED',
      message: expect.stringContaining(`is at schema version ${latest + 1}, newer than`) as unknown,
      hint: expect.stringContaining('Upgrade zerotrail') as unknown,
    });
  });
});

describe('PostgresStore with a role granted SELECT only', () => {
  const event = deniedAccess({ id: 'e1', time: Date.UTC(2024, 0, 15) }, 1);

  it('opens and searches a fully migrated schema', async () => {
    const url = schemas.url();
    const owner = await open(url);
    await owner.migrate();
    await owner.append([event], { id: 'cf/access_requests', value: {} });
    await owner.setSetting('check', 'value');
    const reader = await open(await selectOnlyRole(url));
    await reader.migrate();
    const page = await reader.search({ filter: null, order: 'desc' }, { limit: 10 });
    expect(page.events.map((found) => found.id)).toEqual(['e1']);
    expect(await reader.count({ filter: null })).toBe(1);
    expect(await reader.aggregate({ filter: null, groupBy: 'user', limit: 5 })).toEqual([
      { key: 'alice@example.com', count: 1 },
    ]);
    const day = Date.UTC(2024, 0, 15);
    expect(await reader.histogram({ filter: null, fromMs: day, toMs: day + 86_400_000, bucketMs: 86_400_000 })).toEqual(
      [{ startMs: day, count: 1 }],
    );
    await expect(reader.dashboard({ fromMs: day, toMs: day + 86_400_000, limit: 5 })).resolves.toBeDefined();
    expect(await reader.listSources()).toEqual([]);
    expect(await reader.getSetting('check')).toBe('value');
    expect(await reader.cursor('cf/access_requests')).toEqual({});
  });

  it('says which privilege a write lacks', async () => {
    const url = schemas.url();
    await (await open(url)).migrate();
    const reader = await open(await selectOnlyRole(url));
    await reader.migrate();
    await expect(reader.setSetting('check', 'value')).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
      retryable: false,
      message: expect.stringContaining('may read but not write') as unknown,
      hint: expect.stringContaining('INSERT, UPDATE and DELETE') as unknown,
    });
  });

  it('says which privilege a read lacks', async () => {
    const url = schemas.url();
    await (await open(url)).migrate();
    const reader = await open(await selectOnlyRole(url));
    await reader.migrate();
    await admin.query(`REVOKE SELECT ON ${schemaOf(url)}.events FROM ${schemaOf(url)}_reader`);
    await expect(reader.search({ filter: null, order: 'desc' }, { limit: 10 })).rejects.toMatchObject({
      code: 'STORE_OPEN_FAILED',
      message: expect.stringMatching(/permission denied for table events.*may not read zerotrail's tables/) as unknown,
      hint: expect.stringContaining('SELECT on its tables') as unknown,
    });
  });

  it('names the missing CREATE privilege when migrations are pending, and creates nothing', async () => {
    const url = await schemaWith('');
    const reader = await open(await selectOnlyRole(url));
    const schema = schemaOf(url);
    await expect(reader.migrate()).rejects.toMatchObject({
      code: 'STORE_MIGRATION_FAILED',
      message: expect.stringContaining('permission denied') as unknown,
      hint: expect.stringContaining(`GRANT CREATE ON SCHEMA ${schema}`) as unknown,
    });
    expect(await contents(url)).toEqual({ relations: [], migrations: [] });
  });

  it('names the missing CREATE privilege when its schema does not exist yet', async () => {
    const existing = schemas.url();
    await (await open(existing)).migrate();
    const readerUrl = new URL(await selectOnlyRole(existing));
    readerUrl.searchParams.set('schema', `${schemaOf(existing)}_missing`);
    await expect(PostgresStore.open({ url: readerUrl.toString() })).rejects.toMatchObject({
      code: 'STORE_OPEN_FAILED',
      hint: expect.stringContaining('CREATE on the database') as unknown,
    });
  });
});
