import { normalizeAccessRequest } from './cloudflare/access-requests.js';
import type { Normalizer } from './schema.js';

/** Normalizer for each dataset, keyed by the dataset id the sources use. */
export const NORMALIZERS = {
  access_requests: normalizeAccessRequest,
} as const satisfies Record<string, Normalizer>;
