import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from './database-url.js';

describe('parseDatabaseUrl', () => {
  it('keeps the schema parameter apart and names the target without its user or password', () => {
    const { connectionString, target } = parseDatabaseUrl('postgres://app:s3cret@db.example:5433/zt?schema=logs');
    expect(target).toEqual({ host: 'db.example:5433', database: 'zt', schema: 'logs' });
    expect(connectionString).toBe('postgres://app:s3cret@db.example:5433/zt');
  });

  it('refuses a URL with a "#" without showing any part of it, as an unencoded password would put it there', () => {
    const url = 'postgres://app:Tr0ub@dorSecret#99@127.0.0.1:5432/zt';
    let caught: unknown;
    try {
      parseDatabaseUrl(url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'STORE_OPEN_FAILED' });
    const { message, hint } = caught as { message: string; hint: string };
    expect(`${message} ${hint}`).toContain('%23');
    for (const piece of ['Tr0ub', 'dorSecret', '99@127', 'app:']) expect(`${message} ${hint}`).not.toContain(piece);
  });
});
