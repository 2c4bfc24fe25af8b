import { createHash } from 'node:crypto';

// Canonical JSON: object keys sorted, so the same values always serialise to the same bytes.
function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/**
 * Deterministic event identity: the first 32 hex digits (128 bits) of SHA-256 over the canonical JSON
 * of `parts`. Callers pass values already normalised where the upstream may vary the spelling of the
 * same fact (time as epoch ms), and raw values everywhere else; a missing value and null hash alike.
 */
export function eventId(parts: readonly unknown[]): string {
  return createHash('sha256').update(canonicalJson(parts), 'utf8').digest('hex').slice(0, 32);
}
