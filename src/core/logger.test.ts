import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { createLogger } from './logger.js';

function loggedLines(
  level: string,
  write: (logger: ReturnType<typeof createLogger>) => void,
): Record<string, unknown>[] {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  write(createLogger({ level, destination }));
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('createLogger', () => {
  const error = new AppError('SOURCE_UNAVAILABLE', { message: 'Cloudflare answered HTTP 520.' });

  it('logs an error with its code and message but without its stack at the usual levels', () => {
    const [line] = loggedLines('info', (logger) => logger.error({ err: error }, 'Dataset collection stopped'));
    expect(line?.['err']).toMatchObject({ message: 'Cloudflare answered HTTP 520.', code: 'SOURCE_UNAVAILABLE' });
    expect(line?.['err']).not.toHaveProperty('stack');
  });

  it('keeps the stack at debug level, for --debug', () => {
    const [line] = loggedLines('debug', (logger) => logger.child({ component: 'x' }).error({ err: error }, 'stopped'));
    expect((line?.['err'] as { stack?: string }).stack).toContain('logger.test.ts');
  });
});
