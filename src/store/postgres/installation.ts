import pg from 'pg';
import { parseDatabaseUrl } from './database-url.js';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Whether the database (the URL's schema, or the first of the search path) holds no zerotrail installation: it
 * has no migrations table of zerotrail's. Reads only, and creates neither the schema nor a table, so a command
 * about something stored can refuse at once on a mistyped URL or `?schema=`. A database that cannot be reached
 * or read is not known to be empty: false, and opening it then says what is wrong.
 */
export async function postgresInstallationIsNew(url: string): Promise<boolean> {
  const { connectionString, target } = parseDatabaseUrl(url);
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An error event after connecting (the server going away) must not crash the process; the query fails instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const table = target.schema === null ? 'schema_migrations' : `${target.schema}.schema_migrations`;
    // The schema name passed the plain-lowercase check of parseDatabaseUrl; to_regclass is null for a missing schema.
    const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
    return rows[0]?.present !== true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
