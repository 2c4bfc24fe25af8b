import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { createLogger, withoutMessages } from './logger.js';

function loggedText(level: string, write: (logger: ReturnType<typeof createLogger>) => void): string {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  write(createLogger({ level, destination }));
  return chunks.join('');
}

function loggedLines(
  level: string,
  write: (logger: ReturnType<typeof createLogger>) => void,
): Record<string, unknown>[] {
  return loggedText(level, write)
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

  it('writes bidi, C1 and invisible characters from data as JSON escapes, each once', () => {
    // What Cloudflare's error text or an event value may carry: a right-to-left override, a C1 CSI, a zero-width
    // space, a line separator, a lone surrogate, an ESC, and text that only spells an escape.
    const hostile = 'admin\u202eexe.txt \u009b31m \u200b \u2028 \ud800 \u001b[2J literal \\u202e';
    const error = new AppError('SOURCE_UNAVAILABLE', { message: hostile });
    const text = loggedText('info', (logger) =>
      logger.child({ jobId: `s\u202e1/access_requests` }).error({ err: error, reason: hostile }, `Stopped \u009b`),
    );
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b\u2028\u202e]|\p{Cs}/u);
    expect(text).toContain('admin\\u202eexe.txt \\u009b31m \\u200b \\u2028 \\ud800 \\u001b[2J literal \\\\u202e');
    const [line] = text.split('\n').map((part) => (part === '' ? {} : (JSON.parse(part) as Record<string, unknown>)));
    // The same values come back from the JSON, the literal backslash included: nothing was escaped twice.
    expect(line).toMatchObject({
      jobId: 's\u202e1/access_requests',
      msg: 'Stopped \u009b',
      reason: hostile,
      err: { message: hostile },
    });
  });

  it('leaves out the records a command shows as lines of its own, in every child', () => {
    const lines = loggedLines('info', (logger) => {
      const quiet = withoutMessages(logger, ['Dataset collection stopped']);
      quiet.child({ component: 'scheduler' }).error({ err: error }, 'Dataset collection stopped');
      quiet.child({ component: 'scheduler' }).error({ err: error }, 'Lease pass failed');
      quiet.error('Dataset collection stopped');
      logger.error({ err: error }, 'Dataset collection stopped');
    });
    expect(lines.map((line) => [line['component'], line['msg']])).toEqual([
      ['scheduler', 'Lease pass failed'],
      [undefined, 'Dataset collection stopped'],
    ]);
  });
});
