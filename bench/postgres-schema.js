// A PostgreSQL schema of a bench run's own: created empty (a schema left by a killed run with the same process id
// is dropped first), handed to PostgresStore through the URL's `schema` parameter, and dropped at the end.
import pg from 'pg';

export async function openBenchSchema(serverUrl, prefix) {
  const url = new URL(serverUrl);
  url.searchParams.delete('schema');
  const connectionString = url.toString();
  const schema = `${prefix}_${process.pid}`;
  const quoted = pg.escapeIdentifier(schema);
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
  await client.query(`CREATE SCHEMA ${quoted}`);
  // The bench's own statements read the schema's tables by their plain names, as the store does.
  await client.query(`SET search_path TO ${quoted}`);
  url.searchParams.set('schema', schema);
  return {
    schema,
    quoted,
    /** The URL PostgresStore (or a node's ZEROTRAIL_DATABASE_URL) opens the schema with. */
    storeUrl: url.toString(),
    where: `${url.hostname}:${url.port || '5432'}${url.pathname}`,
    query: (text, values) => client.query(text, values),
    async drop() {
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
