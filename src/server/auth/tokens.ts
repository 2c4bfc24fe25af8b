import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe: session cookies and API keys. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens are random, so a fast hash is enough to keep the stored value useless to a database thief. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The CSRF token of a session, derived from the session cookie so `GET /api/me` can hand it to a page that
 * reloads; only its hash is stored, bound to the session row.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('zerotrail-csrf').digest('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export const API_KEY_PREFIX = 'ztk_';

export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomToken()}`;
}
