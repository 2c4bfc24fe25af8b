/** better-sqlite3's error code (SQLITE_BUSY, SQLITE_CORRUPT, …) of a failure, if it has one. */
export function sqliteCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}
