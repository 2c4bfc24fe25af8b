import { z } from 'zod';
import { AuthError } from '../../core/errors.js';
import { SESSION_COOKIE } from '../auth/authenticate.js';
import { LOGIN_LINK_PATH } from '../auth/login-links.js';
import { csrfTokenFor, randomToken, sha256 } from '../auth/tokens.js';
import { defineRoute } from './route.js';
import { SESSION_TTL_MS } from './session.js';

// randomToken(): 32 bytes in base64url. Anything else cannot be a link we issued.
const linkQuery = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a login link token') });

/**
 * The one-time link the demo prints. It is opened by pasting it into a browser, so it is a GET that answers
 * 303 to the UI with the session cookie set; it is public because the link itself is the credential, and it
 * works once: a second request with the same token is refused like an unknown one.
 */
export const LOGIN_LINK_ROUTE = defineRoute({
  method: 'GET',
  url: LOGIN_LINK_PATH,
  summary: 'Sign in with a one-time login link (printed by the demo): sets the session cookie and redirects to /',
  access: 'public',
  query: linkQuery,
  status: 303,
  handler: async ({ query, request, reply, services }) => {
    const nowMs = services.app.clock.now();
    const userId = await services.auth.redeemLoginLink(sha256(query.token), nowMs);
    const user = userId === undefined ? undefined : await services.auth.userById(userId);
    if (user === undefined) {
      await services.audit({
        actor: null,
        action: 'login_failed',
        target: null,
        outcome: 'failure',
        ip: request.ip,
        details: { reason: 'login_link_invalid' },
      });
      throw new AuthError('AUTH_LOGIN_LINK_INVALID', {
        message: 'This login link was already used or has expired.',
        hint: 'Sign in with a user name and password, or start the demo again for a new link.',
      });
    }
    await services.auth.prune(nowMs, nowMs - services.loginLimiter.windowMs);
    const token = randomToken();
    await services.auth.createSession({
      tokenHash: sha256(token),
      userId: user.id,
      csrfHash: sha256(csrfTokenFor(token)),
      createdAt: nowMs,
      expiresAt: nowMs + SESSION_TTL_MS,
    });
    await services.audit({
      actor: user.name,
      action: 'login',
      target: user.name,
      outcome: 'success',
      ip: request.ip,
      details: { via: 'login_link' },
    });
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: services.tls,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
    void reply.header('location', '/');
    // The page fetches its CSRF token from /api/me, as after a reload; the body is for scripts that do not follow.
    return { user: { name: user.name, role: user.role }, location: '/' };
  },
});
