import { z } from 'zod';
import { AppError } from '../core/errors.js';

const pageTokenSchema = z.object({ t: z.number().int(), i: z.string() }).strict();

/** Where a search page ends: the time and id of its last event, in search order. */
export type PagePosition = z.infer<typeof pageTokenSchema>;

export function encodePageToken(time: number, id: string): string {
  return Buffer.from(JSON.stringify({ t: time, i: id }), 'utf8').toString('base64url');
}

/** The token comes back from a client, so it is checked like any other input. */
export function decodePageToken(token: string): PagePosition {
  try {
    return pageTokenSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
  } catch (error) {
    throw new AppError('QUERY_VALUE_INVALID', {
      message: 'The page token is not one this store issued.',
      hint: 'Start the search again from the first page.',
      cause: error,
    });
  }
}
