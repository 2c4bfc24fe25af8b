import { z } from 'zod';
import { AppError, AuthError } from '../../core/errors.js';
import { ROLES } from '../../store/auth-store.js';
import { SESSION_COOKIE, signedIn } from '../auth/authenticate.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { csrfTokenFor, randomToken, sha256 } from '../auth/tokens.js';
import { defineRoute } from './route.js';

// A working day; a stolen cookie stops working by the next one.
export const SESSION_TTL_MS = 12 * 3_600_000;

const loginBody = z.object({
  name: z.string().min(1).max(200),
  password: z.string().min(1).max(1024),
});

// Verifying against this when the name is unknown keeps the answer time the same, so timing does not tell
// which names exist.
let decoyHash: Promise<string> | undefined;

export const LOGIN_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/login',
  summary: 'Sign in with name and password; sets the session cookie and returns the CSRF token',
  access: 'public',
  body: loginBody,
  handler: async ({ body, request, reply, services }) => {
    const nowMs = services.app.clock.now();
    const address = request.ip;
    await services.loginLimiter.attempt(body.name, address, nowMs).catch(async (error: unknown) => {
      await services.audit({
        actor: null,
        action: 'login_failed',
        target: body.name,
        outcome: 'failure',
        ip: address,
        details: { reason: 'rate_limited' },
      });
      throw error;
    });
    let user: Awaited<ReturnType<typeof services.auth.userByName>>;
    let ok: boolean;
    try {
      user = await services.auth.userByName(body.name);
      decoyHash ??= hashPassword(randomToken());
      ok = await verifyPassword(user?.passwordHash ?? (await decoyHash), body.password);
    } catch (error) {
      // The original failure is what the caller sees; a store that failed to judge may fail to take back too.
      await services.loginLimiter.abandoned(body.name, address, nowMs).catch(() => undefined);
      throw error;
    }
    if (user === undefined || !ok) {
      // The attempt already counts as a failure (see LoginLimiter.attempt).
      await services.audit({
        actor: null,
        action: 'login_failed',
        target: body.name,
        outcome: 'failure',
        ip: address,
        details: { reason: user === undefined ? 'unknown_user' : 'wrong_password' },
      });
      throw new AuthError('AUTH_LOGIN_FAILED');
    }
    await services.loginLimiter.succeeded(body.name, address, nowMs);
    // Signing in is rare and already slow (argon2), so it is where expired rows are swept.
    await services.auth.prune(nowMs, nowMs - services.loginLimiter.windowMs);
    const token = randomToken();
    const csrfToken = csrfTokenFor(token);
    await services.auth.createSession({
      tokenHash: sha256(token),
      userId: user.id,
      csrfHash: sha256(csrfToken),
      createdAt: nowMs,
      expiresAt: nowMs + SESSION_TTL_MS,
    });
    await services.audit({
      actor: user.name,
      action: 'login',
      target: user.name,
      outcome: 'success',
      ip: address,
      details: {},
    });
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: services.tls,
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
    return {
      user: { name: user.name, role: user.role },
      csrfToken,
      expiresAt: new Date(nowMs + SESSION_TTL_MS).toISOString(),
    };
  },
});

export const LOGOUT_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/logout',
  summary: 'End the current session',
  access: ROLES,
  handler: async ({ principal, request, reply, services }) => {
    const caller = signedIn(principal);
    // A request judged by its API key may still carry a session cookie: that session is the one to end.
    const cookie = request.cookies[SESSION_COOKIE];
    const sessionHash =
      caller.session?.tokenHash ?? (cookie === undefined || cookie === '' ? undefined : sha256(cookie));
    if (sessionHash === undefined) {
      throw new AppError('HTTP_REQUEST_INVALID', {
        message: 'There is no session to end: this request was signed in with an API key, which logout does not end.',
        hint: 'Revoke the key instead, with DELETE /api/apikeys/{id} or zerotrail apikey revoke.',
      });
    }
    await services.auth.deleteSession(sessionHash);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: services.tls });
    await services.audit({
      actor: caller.name,
      action: 'logout',
      target: caller.name,
      outcome: 'success',
      ip: request.ip,
      details: { via: caller.via },
    });
    return { loggedOut: true };
  },
});

export const ME_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/me',
  summary: 'The signed-in user, and the CSRF token of the session (for a page that reloads)',
  access: ROLES,
  handler: ({ principal, request }) => {
    const caller = signedIn(principal);
    const cookie = request.cookies[SESSION_COOKIE];
    return Promise.resolve({
      user: { name: caller.name, role: caller.role },
      via: caller.via,
      csrfToken: caller.via === 'session' && cookie !== undefined ? csrfTokenFor(cookie) : null,
    });
  },
});
