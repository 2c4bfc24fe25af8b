import type pg from 'pg';
import { StoreError } from '../../core/errors.js';
import type { Migration } from './migrations/migrations.js';
import { describeTarget, type PostgresTarget } from './database-url.js';

// The migrations table as the store creates it (queries.ts, createMigrationsTable). Rails and golang-migrate
// keep a table of the same name with other columns; only this exact shape is taken for zerotrail's.
const OWN_COLUMNS: ReadonlyMap<string, string> = new Map([
  ['version', 'integer'],
  ['name', 'text'],
  ['applied_at', 'bigint'],
]);

// Tables, indexes, sequences and views share one namespace per schema, so any of them blocks a CREATE.
const CREATED_RELATION =
  /\bCREATE\s+(?:UNIQUE\s+|UNLOGGED\s+)?(?:TABLE|INDEX|SEQUENCE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gi;

// Only catalogue reads and a SELECT of the migrations table, so a role granted SELECT alone can run them.
const SQL = {
  whereAmI: 'SELECT current_schema() AS schema, current_user AS role',
  migrationsColumns: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relname = 'schema_migrations' AND a.attnum > 0 AND NOT a.attisdropped`,
  appliedMigrations: 'SELECT version, name FROM schema_migrations ORDER BY version',
  existingRelations: `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]) ORDER BY c.relname`,
};

const NAMED_AT_MOST = 3;

/** What the schema the store works in holds of zerotrail's: the migration versions applied so far. */
export interface MigrationState {
  readonly schema: string;
  readonly role: string;
  readonly applied: readonly number[];
}

/**
 * Reads which of `migrations` the current schema has applied, with SELECT rights alone. Refuses a schema whose
 * `schema_migrations` is not zerotrail's, or that already holds a relation a pending migration would create:
 * another application's tables, which the migrations must neither write into nor trip over.
 */
export async function readMigrationState(
  client: pg.ClientBase,
  target: PostgresTarget,
  migrations: readonly Migration[],
): Promise<MigrationState> {
  const here = (await client.query<{ schema: string | null; role: string }>(SQL.whereAmI)).rows[0];
  const role = here?.role ?? 'this role';
  if (here?.schema === null || here?.schema === undefined) throw noSchema(target, role);
  const { schema } = here;
  const columns = (await client.query<{ name: string; type: string }>(SQL.migrationsColumns)).rows;
  let applied: readonly { version: number; name: string }[] = [];
  if (columns.length > 0) {
    if (!isOwnMigrationsTable(columns)) {
      throw foreignTables(target, schema, ['schema_migrations'], 'whose columns are not the ones zerotrail keeps');
    }
    applied = (await client.query<{ version: number; name: string }>(SQL.appliedMigrations)).rows;
    const byVersion = new Map(migrations.map((migration) => [migration.version, migration.name]));
    const stranger = applied.find((row) => row.version < 1 || (byVersion.get(row.version) ?? row.name) !== row.name);
    if (stranger !== undefined) {
      throw foreignTables(
        target,
        schema,
        ['schema_migrations'],
        `which records a migration ${stranger.version} "${stranger.name}" that zerotrail never had`,
      );
    }
  }
  const versions = applied.map((row) => row.version);
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
  const newest = Math.max(0, ...versions);
  if (newest > latest) throw newerSchema(target, newest, latest);
  const done = new Set(versions);
  const pending = migrations.filter((migration) => !done.has(migration.version));
  if (pending.length > 0) {
    // A relation an applied migration made is zerotrail's own; one only a pending migration makes must not exist yet.
    const own = new Set(migrations.filter((migration) => done.has(migration.version)).flatMap(createdRelations));
    const expected = [...new Set(pending.flatMap(createdRelations))].filter((name) => !own.has(name));
    const found = (await client.query<{ name: string }>(SQL.existingRelations, [expected])).rows.map((row) => row.name);
    if (found.length > 0) throw foreignTables(target, schema, found, 'which zerotrail would create');
  }
  return { schema, role, applied: versions };
}

/** The refusal of a database that a newer zerotrail migrated. */
export function newerSchema(target: PostgresTarget, newest: number, latest: number): StoreError {
  return new StoreError('STORE_MIGRATION_FAILED', {
    message: `${describeTarget(target)} is at schema version ${newest}, newer than this zerotrail understands (${latest}).`,
    hint: 'Upgrade zerotrail to the version that wrote this database; migrations only go forward.',
    details: { databaseVersion: newest, codeVersion: latest },
  });
}

/** What to grant when a role may not do what migrating needs (SQLSTATE 42501). */
export function privilegeHint(state: Pick<MigrationState, 'schema' | 'role'>, need: 'read' | 'create'): string {
  const { schema, role } = state;
  return need === 'read'
    ? `The role ${role} needs USAGE on the schema ${schema} and SELECT on its tables: ` +
        `GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}.`
    : `Migrations are pending, and they need CREATE on the schema ${schema} and ownership of the tables they ` +
        `change, which the role ${role} lacks. Run zerotrail once with the role that owns the schema, which applies ` +
        `them, or grant CREATE (GRANT CREATE ON SCHEMA ${schema} TO ${role}); once migrated, SELECT is enough to search.`;
}

function isOwnMigrationsTable(columns: readonly { name: string; type: string }[]): boolean {
  return columns.length === OWN_COLUMNS.size && columns.every((column) => OWN_COLUMNS.get(column.name) === column.type);
}

function createdRelations(migration: Migration): string[] {
  return [...migration.sql.matchAll(CREATED_RELATION)].flatMap((match) =>
    match[1] === undefined ? [] : [match[1].toLowerCase()],
  );
}

function foreignTables(target: PostgresTarget, schema: string, found: readonly string[], why: string): StoreError {
  const named = found.slice(0, NAMED_AT_MOST).join(', ');
  const more = found.length > NAMED_AT_MOST ? ` and ${found.length - NAMED_AT_MOST} more` : '';
  return new StoreError('STORE_MIGRATION_FAILED', {
    message:
      `The schema ${schema} in ${target.host}/${target.database} holds another application's tables: ` +
      `found ${named}${more}, ${why}. zerotrail changed nothing in it.`,
    hint:
      'Give zerotrail an empty database, or a schema of its own: add ?schema=NAME to the database URL ' +
      '(created if missing).',
    details: { schema, found },
  });
}

function noSchema(target: PostgresTarget, role: string): StoreError {
  return target.schema === null
    ? new StoreError('STORE_MIGRATION_FAILED', {
        message: `${describeTarget(target)} has no schema for zerotrail's tables: the search_path of ${role} names none that exists.`,
        hint: 'Add ?schema=NAME to the database URL (created if missing).',
      })
    : new StoreError('STORE_MIGRATION_FAILED', {
        message: `The role ${role} may not use the schema ${target.schema} in ${target.host}/${target.database}.`,
        hint: privilegeHint({ schema: target.schema, role }, 'read'),
      });
}
