import { ParameterError } from './inventory-route.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDate(raw: string, dateOnly: boolean): number {
  if (RFC3339.test(raw)) return Date.parse(raw.toUpperCase());
  // A full date is midnight UTC of that day (API-NOTES.md §2.3–2.4).
  if (dateOnly && FULL_DATE.test(raw)) return Date.parse(`${raw}T00:00:00Z`);
  return NaN;
}

/** An RFC 3339 date-time in milliseconds, or undefined when absent. */
export function dateTime(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ms = parseDate(raw, false);
  if (Number.isNaN(ms)) throw new ParameterError(`${name} must be an RFC 3339 date-time such as 2026-01-01T05:20:00Z`);
  return ms;
}

/** A `YYYY-MM-DD` date (read as UTC midnight) or an RFC 3339 date-time, or undefined when absent. */
export function dateOrDateTime(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ms = parseDate(raw, true);
  if (Number.isNaN(ms)) throw new ParameterError(`${name} must be a date (YYYY-MM-DD) or an RFC 3339 date-time`);
  return ms;
}

/** Every value of a repeatable parameter (`name=a&name=b`), each one of `allowed` when given. */
export function repeated<T extends string>(query: URLSearchParams, name: string, allowed?: readonly T[]): string[] {
  const values = query.getAll(name);
  if (allowed !== undefined) {
    const bad = values.find((v) => !allowed.some((a) => a === v));
    if (bad !== undefined) throw new ParameterError(`${name} must be one of ${allowed.join(', ')}, not ${bad}`);
  }
  return values;
}

/** A boolean written `true` or `false`, or undefined when absent. */
export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new ParameterError(`${name} must be true or false`);
  return raw === 'true';
}
