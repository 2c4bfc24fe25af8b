import type { NormalizedEvent, Rejected } from '../core/event.js';

/**
 * OCSF schema release the mappers target. 1.9.0 (2026-08-03) is the newest release in the OCSF
 * changelog (github.com/ocsf/ocsf-schema, CHANGELOG.md); consumers read it from `metadata.version`.
 */
export const OCSF_VERSION = '1.9.0';

/** Where a record came from; copied into the event so one store can hold many sources and accounts. */
export interface NormalizeMeta {
  readonly sourceName: string;
  readonly accountId: string;
  readonly dataset: string;
}

/**
 * Maps one raw upstream record to an event. Pure: no I/O, no clock, no randomness, and it never throws;
 * a record it cannot map comes back as `Rejected` with the reason.
 */
export type Normalizer = (raw: unknown, meta: NormalizeMeta) => NormalizedEvent | Rejected;

/** Flat fields are indexed, so a hostile upstream value must not blow up index size. */
export const FLAT_FIELD_MAX_CHARS = 1024;

// Past this depth a nested value is replaced by a marker; the untouched original stays in `raw`.
const MAX_NESTING_DEPTH = 32;

/** Lone UTF-16 surrogates (JSON escapes such as `\ud800` produce them) become U+FFFD. */
export function wellFormed(text: string): string {
  return text.toWellFormed();
}

/** Well-formed and at most `FLAT_FIELD_MAX_CHARS` UTF-16 units, never ending in half a surrogate pair. */
export function flatString(text: string): string {
  const clean = wellFormed(text);
  if (clean.length <= FLAT_FIELD_MAX_CHARS) return clean;
  const cut = clean.slice(0, FLAT_FIELD_MAX_CHARS);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/**
 * A JSON-like value with every string (keys included) made well-formed. Objects are rebuilt with
 * `Object.fromEntries`, so a `__proto__` key stays an own data property and never touches a prototype.
 */
export function sanitizeValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' || typeof value === 'boolean' ? value : null;
  }
  if (depth >= MAX_NESTING_DEPTH) return '[nesting too deep; see raw]';
  if (Array.isArray(value)) return value.map((item: unknown) => sanitizeValue(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [wellFormed(key), sanitizeValue(item, depth + 1)]),
  );
}

/** Own enumerable fields of a plain JSON object, or null when the value is not one. */
export function asRecord(value: unknown): Readonly<Record<string, unknown>> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  return value as Readonly<Record<string, unknown>>;
}
