import type { FastifyReply } from 'fastify';

/**
 * No inline script or style, no framing, no plugins: a value that slips into the page as markup still cannot run.
 * The UI is served from the same origin, so 'self' is all it needs.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The headers as raw `Name: value` lines, for answers written to the socket before Fastify has a reply. */
export function securityHeaderLines(tls: boolean): string {
  const lines = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`);
  if (tls) lines.push('strict-transport-security: max-age=31536000\r\n');
  return lines.join('');
}

/** Sets the headers on one answer; called for every response, errors and static files included. */
export function applySecurityHeaders(reply: FastifyReply, tls: boolean): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    // Static assets set their own caching; everything else, API answers above all, is never stored.
    if (name !== 'cache-control' || !reply.hasHeader(name)) void reply.header(name, value);
  }
  if (tls) void reply.header('strict-transport-security', 'max-age=31536000');
}
