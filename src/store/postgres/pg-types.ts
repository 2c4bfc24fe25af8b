import pg from 'pg';

const INT8_OID = 20;

// bigint columns hold epoch ms and counts, all far below 2^53; reading them as numbers keeps the rows plain.
// Set per pool, so other users of the pg module in the process keep its defaults.
const parseInt8 = (value: string): number => Number(value);

/** The type parsers every zerotrail pool is created with. */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : (pg.types.getTypeParser as (oid: number, format: string) => unknown)(
          oid,
          format ?? 'text',
        )) as typeof pg.types.getTypeParser,
};
