import { z } from 'zod';
import { AppError } from '../core/errors.js';

const pageTokenSchema = z.object({ t: z.number().int(), i: z.string() }).strict();
// A separate shape, so a browsing token sent to a follow (or the reverse) is refused instead of misread.
const followTokenSchema = z.object({ s: z.number().int().min(0) }).strict();

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

/** A follower's position: the last place in the store's storing order it has read past. */
export function encodeFollowToken(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq }), 'utf8').toString('base64url');
}

export function decodeFollowToken(token: string): number {
  try {
    return followTokenSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).s;
  } catch (error) {
    throw new AppError('QUERY_VALUE_INVALID', {
      message: 'The follow token is not one this store issued.',
      hint: 'Start following again without a token (or with start=latest), then keep the token each answer returns.',
      cause: error,
    });
  }
}
