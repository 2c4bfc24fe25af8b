import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CATALOGUE, SourceError } from './errors.js';

describe('error catalogue', () => {
  it('is documented code by code in docs/errors.md, with the same retryability', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Map(
      [...doc.matchAll(/^\| ([A-Z_]+) \| (yes|no) \|/gm)].map((match) => [match[1], match[2] === 'yes']),
    );
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE))
      expect(documented.get(code), code).toBe(entry.retryable);
  });

  it('keeps the code, default message, retryability and cause', () => {
    const cause = new Error('socket hang up');
    const error = new SourceError('SOURCE_NETWORK_FAILED', { cause });
    expect(error).toBeInstanceOf(AppError);
    expect(error.name).toBe('SourceError');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(ERROR_CATALOGUE.SOURCE_NETWORK_FAILED.message);
    expect(error.cause).toBe(cause);
    expect(error.status).toBe(502);
  });
});
