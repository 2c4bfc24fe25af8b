import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../core/errors.js';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { applySecurityHeaders, securityHeaderLines } from './security-headers.js';

/** The one error body of the API. `hint` and `details` appear only when the error carries them. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly requestId: string;
    readonly hint?: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/**
 * Maps AppError to its catalogue status and `{ error: { code, message, requestId } }`; Fastify's own client
 * errors (bad JSON, wrong content type, body too large) to HTTP_REQUEST_INVALID; anything else to a plain 500
 * whose detail goes only to the log.
 */
export function installErrorHandler(server: FastifyInstance): void {
  const methods = new RouteMethods();
  server.addHook('onRoute', (route) => {
    methods.add(route.method, route.url);
  });
  server.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toAppError(error);
    if (mapped === undefined) {
      request.log.error({ err: error, reqId: request.id }, 'Request failed');
      return reply.code(500).send(body('INTERNAL', 'An internal error occurred.', request));
    }
    const { appError, status } = mapped;
    if (status >= 500) request.log.error({ err: appError, reqId: request.id }, 'Request failed');
    const retryAfter = appError.details['retryAfterSecs'];
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    if (isBrowserNavigation(request)) {
      return reply.code(status).type('text/html; charset=utf-8').send(errorPage(appError.message, appError.hint));
    }
    return reply.code(status).send(body(appError.code, appError.message, request, appError));
  });
  server.setNotFoundHandler((request, reply) => {
    const allowed = methods.of(request.url);
    if (allowed.length === 0) {
      return reply.code(404).send(body('HTTP_NOT_FOUND', `No route answers ${request.method} on this path.`, request));
    }
    // RFC 9110 section 15.5.6: a 405 lists what the path does answer. OPTIONS gets the same answer: the API is
    // same-origin and for scripts, so it answers no CORS preflight.
    void reply.header('allow', allowed.join(', '));
    const message = `This path does not answer ${request.method}; it answers ${allowed.join(', ')}.`;
    return reply.code(405).send(body('HTTP_METHOD_NOT_ALLOWED', message, request));
  });
}

/**
 * The methods each registered route path answers, to tell a path answered with another method (405) from one
 * nothing answers (404). A wildcard route (the web UI's files under `/*`) is left out: it matches every path, so
 * it would turn every mistyped API path into a 405.
 */
class RouteMethods {
  readonly #routes: { readonly pattern: RegExp; readonly methods: readonly string[] }[] = [];

  add(method: string | readonly string[], url: string): void {
    if (url.includes('*')) return;
    const segments = url.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment)));
    this.#routes.push({ pattern: new RegExp(`^${segments.join('/')}$`), methods: [method].flat() });
  }

  /** In a fixed order, HEAD with every GET as Fastify answers it; empty when no route has this path. */
  of(url: string): readonly string[] {
    const path = url.split('?', 1)[0] ?? url;
    const found = new Set(this.#routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods));
    if (found.has('GET')) found.add('HEAD');
    return METHOD_ORDER.filter((method) => found.has(method));
  }
}

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Fastify answers a URL it cannot decode before any hook runs, echoing the URL; this gives it the API's
 * error body and headers instead.
 */
export function frameworkErrorHandler(
  tls: boolean,
): (error: unknown, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    applySecurityHeaders(reply, tls);
    const status = (error as Partial<FastifyError>).statusCode ?? 400;
    void reply.code(status).send(body('HTTP_REQUEST_INVALID', 'The URL is not valid.', request));
  };
}

function toAppError(error: unknown): { readonly appError: AppError; readonly status: number } | undefined {
  if (isAppError(error)) return { appError: error, status: statusFor(error) };
  const status = (error as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's messages are fixed texts, but they are replaced anyway: the body never echoes client input.
    const appError = new AppError('HTTP_REQUEST_INVALID', {
      message: CLIENT_ERROR_MESSAGES[status] ?? 'The request is invalid.',
      cause: error,
    });
    return { appError, status };
  }
  return undefined;
}

const CLIENT_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  400: 'The request body is not valid JSON.',
  413: 'The request body is too large.',
  415: 'The request body must be JSON (Content-Type: application/json).',
};

function statusFor(appError: AppError): number {
  // Cloudflare refusing a source's token is not the caller failing to sign in to zerotrail: a 401 here would
  // make the UI sign its user out.
  if ((appError.status === 401 || appError.status === 403) && !appError.code.startsWith('AUTH_')) return 422;
  return appError.status;
}

function body(code: string, message: string, request: FastifyRequest, error?: AppError): ErrorBody {
  return {
    error: {
      code,
      message,
      requestId: request.id,
      ...(error?.hint === undefined ? {} : { hint: error.hint }),
      ...(error === undefined || Object.keys(error.details).length === 0 ? {} : { details: error.details }),
    },
  };
}

// A person who opened an API URL in the browser's address bar, such as the demo's login link a second time: the
// browser asks for HTML first, while the UI and scripts ask for JSON or anything.
function isBrowserNavigation(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return request.method === 'GET' && /^\s*text\/html\b/i.test(accept);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

function errorPage(message: string, hint: string | undefined): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>zerotrail</title></head><body>',
    `<h1>${escapeHtml(message)}</h1>`,
    hint === undefined ? '' : `<p>${escapeHtml(hint)}</p>`,
    '<p><a href="/">Open zerotrail</a></p>',
    '</body></html>',
    '',
  ].join('\n');
}

// What Node.js itself refuses before a request exists (headers or URL over its size limit, a request that is not
// HTTP, a client too slow to send its headers), by the status it is answered with.
const CLIENT_ERRORS: Readonly<
  Record<string, { readonly status: number; readonly reason: string; readonly message: string }>
> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    message:
      'The request line and headers are too large (at most 16 KB); shorten the URL or send the query in fewer parameters.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', message: 'The request was not sent in time.' },
};

/**
 * Fastify's answer to such requests has its own body and none of the security headers. This writes the API's
 * error body and headers instead; there is no request, so no request id but a fresh one to find the log line.
 */
export function clientErrorHandler(tls: boolean): (error: NodeJS.ErrnoException, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const known = CLIENT_ERRORS[error.code ?? ''] ?? {
      status: 400,
      reason: 'Bad Request',
      message: 'The request is not valid HTTP.',
    };
    const payload = JSON.stringify({
      error: { code: 'HTTP_REQUEST_INVALID', message: known.message, requestId: randomUUID() },
    });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${known.status} ${known.reason}\r\n` +
          'content-type: application/json; charset=utf-8\r\n' +
          `content-length: ${Buffer.byteLength(payload)}\r\n` +
          securityHeaderLines(tls) +
          'connection: close\r\n\r\n' +
          payload,
      );
    }
    socket.destroy(error);
  };
}
