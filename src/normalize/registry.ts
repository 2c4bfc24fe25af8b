import { normalizeAccessRequest } from './cloudflare/access-requests.js';
import { normalizeAuditLog } from './cloudflare/audit-logs.js';
import { normalizeScimUpdate } from './cloudflare/scim-updates.js';
import type { Normalizer } from './schema.js';

/** Normalizer for each dataset, keyed by the dataset id the sources use. */
export const NORMALIZERS = {
  access_requests: normalizeAccessRequest,
  scim_updates: normalizeScimUpdate,
  audit_logs: normalizeAuditLog,
} as const satisfies Record<string, Normalizer>;
