import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { App } from '../app.js';
import { FLAT_FIELD_MAX_BYTES } from '../normalize/schema.js';
import type { AuthStore } from '../store/auth-store.js';
import { authenticate, requireCsrf, requireRole } from './auth/authenticate.js';
import { LoginLimiter, type LoginLimits } from './auth/login-limiter.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandler } from './error-handler.js';
import { ALL_ROUTES } from './routes/all-routes.js';
import type { ServerServices } from './routes/route.js';
import { applySecurityHeaders } from './security-headers.js';
import { registerStaticAssets } from './static-assets.js';

export interface BuildServerOptions {
  readonly app: App;
  readonly auth: AuthStore;
  /** PEM certificate and key: the server speaks only HTTPS, and cookies get `Secure`. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly loginLimits?: LoginLimits;
  readonly onSourcesChanged?: () => void;
  /** The built web UI (dist/web), served without authentication; without it only the API answers. */
  readonly webRoot?: string;
}

// The API takes small JSON bodies only; nothing legitimate comes near this.
// A timeline value percent-encoded: up to 1,024 bytes of UTF-8 (FLAT_FIELD_MAX_BYTES), 3 characters each.
const MAX_PATH_PARAM_CHARS = 3 * FLAT_FIELD_MAX_BYTES + 64;
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Builds the HTTP API on an opened installation: cookies, security headers, the error handler and every
 * route of ALL_ROUTES with authentication, role and CSRF checks in front of its handler. Does not listen.
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { app, auth } = options;
  const logger = app.logger.child({ component: 'server' });
  const server = Fastify({
    // Fastify types its instance by the logger's type; the base type keeps FastifyInstance plain for callers.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion picks the overload
    loggerInstance: logger as FastifyBaseLogger,
    // Request lines are logged below without the query string: it may hold user names and addresses.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT_BYTES,
    // A timeline's value is one path segment: an e-mail, an address or an application name can run long.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    frameworkErrors: frameworkErrorHandler(options.tls !== undefined),
    clientErrorHandler: clientErrorHandler(options.tls !== undefined),
    https: options.tls === undefined ? null : { cert: options.tls.cert, key: options.tls.key },
  });
  await server.register(fastifyCookie);
  // JSON only: a cross-site form or text/plain post (no CORS preflight) is refused before any route runs.
  server.removeContentTypeParser('text/plain');
  // Some clients label every request JSON, a DELETE with no body too, which Fastify's JSON parser refuses as an
  // empty JSON body. A DELETE takes no body here, so an empty one is no body at all.
  server.addHook('onRequest', (request, _reply, done) => {
    const { headers } = request;
    const length = headers['content-length'];
    if (request.method === 'DELETE' && headers['transfer-encoding'] === undefined && (length ?? '0') === '0') {
      delete headers['content-type'];
    }
    done();
  });

  const tls = options.tls !== undefined;
  const services: ServerServices = {
    app,
    auth,
    tls,
    loginLimiter: new LoginLimiter(auth, options.loginLimits),
    onSourcesChanged: options.onSourcesChanged ?? (() => undefined),
    audit: (entry) => auth.appendAudit({ ...entry, at: app.clock.now() }),
  };

  server.addHook('onSend', (request, reply, payload, done) => {
    applySecurityHeaders(reply, tls);
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  server.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'Request answered',
    );
    done();
  });
  installErrorHandler(server);

  for (const route of ALL_ROUTES) {
    server.route({
      method: route.method,
      url: route.url,
      handler: async (request, reply) => {
        let principal = null;
        if (route.access !== 'public') {
          principal = await authenticate(request, auth, app.clock.now());
          requireRole(principal, route.access);
          if (route.method !== 'GET') requireCsrf(principal, request);
        }
        const result = await route.handle(
          { params: request.params, query: request.query, body: request.body },
          { principal, request, reply, services },
        );
        void reply.code(route.status);
        return result;
      },
    });
  }
  if (options.webRoot !== undefined) registerStaticAssets(server, options.webRoot);
  return server;
}
