import type { FastifyRequest } from 'fastify';
import { AuthError } from '../../core/errors.js';
import type { AuthStore, Role } from '../../store/auth-store.js';
import { API_KEY_PREFIX, sameSecret, sha256 } from './tokens.js';

export const SESSION_COOKIE = 'zt_session';
export const CSRF_HEADER = 'x-csrf-token';
const LAST_USED_PRECISION_MS = 60_000;

/** Who is calling, and how: a browser session (which needs a CSRF token to change state) or an API key. */
export interface Principal {
  readonly userId: number;
  readonly name: string;
  readonly role: Role;
  readonly via: 'session' | 'api_key';
  /** Set for sessions: SHA-256 of the cookie and of the CSRF token bound to it. */
  readonly session?: { readonly tokenHash: string; readonly csrfHash: string };
}

/**
 * Resolves the caller from `Authorization: Bearer <API key>` or the session cookie. A request that sends an
 * Authorization header is judged by it alone, so a bad key never falls back to a cookie.
 */
export async function authenticate(request: FastifyRequest, auth: AuthStore, nowMs: number): Promise<Principal> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const key = match?.[1];
    if (key === undefined || !key.startsWith(API_KEY_PREFIX)) {
      throw new AuthError('AUTH_REQUIRED', { message: 'The Authorization header must be "Bearer <API key>".' });
    }
    const stored = await auth.apiKeyByHash(sha256(key));
    const user = stored === undefined ? undefined : await auth.userById(stored.userId);
    if (stored === undefined || user === undefined) {
      throw new AuthError('AUTH_REQUIRED', { message: 'The API key is not valid.' });
    }
    // A write per request would contend with the collector for the database lock; a minute is precise enough.
    if (stored.lastUsedAt === null || nowMs - stored.lastUsedAt >= LAST_USED_PRECISION_MS) {
      await auth.touchApiKey(stored.id, nowMs);
    }
    return { userId: user.id, name: user.name, role: user.role, via: 'api_key' };
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie === undefined || cookie === '') throw new AuthError('AUTH_REQUIRED');
  const tokenHash = sha256(cookie);
  const session = await auth.session(tokenHash, nowMs);
  const user = session === undefined ? undefined : await auth.userById(session.userId);
  if (session === undefined || user === undefined) {
    throw new AuthError('AUTH_REQUIRED', { message: 'The session has expired or was ended; sign in again.' });
  }
  return {
    userId: user.id,
    name: user.name,
    role: user.role,
    via: 'session',
    session: { tokenHash, csrfHash: session.csrfHash },
  };
}

/** The caller of a route that is not public; the server authenticated it before the handler ran. */
export function signedIn(principal: Principal | null): Principal {
  if (principal === null) throw new AuthError('AUTH_REQUIRED');
  return principal;
}

export function requireRole(principal: Principal, roles: readonly Role[]): void {
  if (!roles.includes(principal.role)) {
    throw new AuthError('AUTH_FORBIDDEN', {
      message: `Your role (${principal.role}) does not allow this; it needs ${roles.join(' or ')}.`,
    });
  }
}

/**
 * Browsers attach cookies to cross-site requests but cannot set this header without CORS, which the server
 * never grants; the header must carry the token bound to the session. API keys are never sent implicitly.
 */
export function requireCsrf(principal: Principal, request: FastifyRequest): void {
  if (principal.session === undefined) return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !sameSecret(sha256(sent), principal.session.csrfHash)) {
    throw new AuthError('AUTH_CSRF_INVALID', {
      hint: 'Send the csrfToken from POST /api/login or GET /api/me in the X-CSRF-Token header.',
    });
  }
}
