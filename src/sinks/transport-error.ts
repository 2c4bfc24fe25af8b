import { SinkError } from '../core/errors.js';

// OpenSSL's verification failures (node's `err.code`) and node's own host name mismatch.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/**
 * A connection-level failure as a SinkError. Certificate problems need the operator (a CA file, a host name),
 * so they are permanent for the whole target; anything else on the network may pass on a later try.
 */
export function transportError(target: string, endpoint: string, error: unknown, timedOut: boolean): SinkError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (timedOut) {
    return new SinkError('SINK_TIMEOUT', {
      message: `Notification target ${target} (${endpoint}) did not answer in time.`,
      details: { target, scope: 'notice' },
      cause: error,
    });
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new SinkError('SINK_TLS_FAILED', {
      message: `Notification target ${target} (${endpoint}) failed TLS verification: ${code}.`,
      hint: 'Give the CA that signed its certificate with ca_file, or check that the host name matches the certificate. Verification is never turned off.',
      details: { target, scope: 'target', tlsCode: code },
      cause: error,
    });
  }
  return new SinkError('SINK_UNREACHABLE', {
    message: `Notification target ${target} (${endpoint}) could not be reached${code === '' ? '' : `: ${code}`}.`,
    details: { target, scope: 'notice' },
    cause: error,
  });
}
