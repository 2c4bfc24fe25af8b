import type { NormalizedEvent, Rejected } from '../core/event.js';
import { withoutNul } from '../core/flat-text.js';

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

/**
 * Flat fields are indexed, so a hostile upstream value must not blow up an index. The cap is in bytes of UTF-8:
 * PostgreSQL refuses an index row over 2,704 bytes, and 1,024 CJK characters are 3,072. Its widest rows
 * (migration 0011) hold app and idp with the source name, or a key that lower() can widen by half: 1,024 bytes
 * each stays under the limit, and an ASCII value keeps its first 1,024 characters.
 */
export const FLAT_FIELD_MAX_BYTES = 1024;

// Past this depth a nested value is replaced by a marker; the untouched original stays in `raw`.
const MAX_NESTING_DEPTH = 32;
/** OCSF's activity_id for an activity the class does not name. */
export const OTHER_ACTIVITY_ID = 99;

/**
 * The name an OCSF object gets where the schema requires a name or an id and the record gives neither: an
 * explicit unknown keeps the event valid, where an empty object would make a validator refuse it.
 */
export const UNKNOWN_NAME = 'Unknown';

/** Lone UTF-16 surrogates (JSON escapes such as `\ud800` produce them) become U+FFFD. */
export function wellFormed(text: string): string {
  return text.toWellFormed();
}

// OCSF's `email_t` (dictionary.json), as a validator of the schema reads it. A value outside it would make the
// event invalid in an `email_addr` attribute: mappers keep it as the user's name, and the raw record has it.
const OCSF_EMAIL = /^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;

export function isOcsfEmail(text: string): boolean {
  return OCSF_EMAIL.test(text);
}

/** `{ email_addr }` when OCSF takes `email` as an address, `{}` otherwise: for spreading into a user object. */
export function ocsfEmailAddr(email: string): { readonly email_addr?: string } {
  return isOcsfEmail(email) ? { email_addr: wellFormed(email) } : {};
}

/** OCSF's `type_name`, "as defined by the type_uid": activity 99 is Other, whatever the record called it. */
export function ocsfTypeName(className: string, activityId: number, activityName: string): string {
  return `${className}: ${activityId === OTHER_ACTIVITY_ID ? 'Other' : activityName}`;
}

/** Well-formed, without NUL (see withoutNul) and at most `FLAT_FIELD_MAX_BYTES` of UTF-8, cut between characters. */
export function flatString(text: string): string {
  const clean = withoutNul(wellFormed(text));
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair is 4), so most values need no count.
  if (clean.length * 3 <= FLAT_FIELD_MAX_BYTES) return clean;
  return utf8Prefix(clean, FLAT_FIELD_MAX_BYTES);
}

// The longest start of well-formed `text` that is at most `maxBytes` of UTF-8.
function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff;
    const size = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) return text.slice(0, i);
    bytes += size;
    if (pair) i += 1;
  }
  return text;
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
