import { StoreError } from '../../core/errors.js';

// Read without the pg driver, so the CLI can name a database it has not opened without loading it.

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where a store connects, with any password left out: safe for messages and logs. */
export interface PostgresTarget {
  readonly host: string;
  readonly database: string;
  readonly schema: string | null;
}

/** Splits the store's own `schema` parameter off a database URL and checks what remains. */
export function parseDatabaseUrl(url: string): { readonly connectionString: string; readonly target: PostgresTarget } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new StoreError('STORE_OPEN_FAILED', {
      message: 'The database URL is not a valid URL.',
      hint: 'Write it as postgres://user@host:5432/database, optionally with ?schema=name.',
      cause: error,
    });
  }
  // A '#' cuts the URL short: in an unencoded password it makes a piece of the password the host, which an error
  // would then print. Nothing of such a URL is shown.
  if (parsed.hash !== '' || url.includes('#')) {
    throw new StoreError('STORE_OPEN_FAILED', {
      message:
        'The database URL holds a "#", which ends a URL: nothing after it is read, and nothing of it is shown here.',
      hint: 'Percent-encode the special characters of the user name and password: # as %23, @ as %40, / as %2F, ? as %3F, % as %25.',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StoreError('STORE_OPEN_FAILED', {
      message: `The database URL must start with postgres:// or postgresql://, not ${parsed.protocol}//.`,
    });
  }
  const schema = parsed.searchParams.get('schema');
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new StoreError('STORE_OPEN_FAILED', {
      message: `The schema "${schema}" in the database URL is not a plain lowercase name.`,
      hint: 'Use letters, digits and underscores, starting with a letter or underscore.',
    });
  }
  parsed.searchParams.delete('schema');
  return {
    connectionString: parsed.toString(),
    target: {
      host: parsed.port === '' ? parsed.hostname : `${parsed.hostname}:${parsed.port}`,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
      schema,
    },
  };
}

/** Where a store connects, for messages: host, database and the schema when the URL names one. */
export function describeTarget(target: PostgresTarget): string {
  return `${target.host}/${target.database}${target.schema === null ? '' : ` (schema ${target.schema})`}`;
}
