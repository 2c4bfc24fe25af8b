import { stringify } from 'csv-stringify/sync';
import type { NormalizedEvent } from './event.js';
import { visibleText } from './visible-text.js';

/** The columns a person scans first; the same names the query language uses. */
export const EVENT_COLUMNS = [
  'time',
  'outcome',
  'user',
  'src_ip',
  'country',
  'app',
  'idp',
  'activity',
  'ray_id',
  'source',
] as const;

/** One event in the documented export shape: query-language field names, ISO time, OCSF and raw alongside. */
export function eventToRecord(event: NormalizedEvent): Record<string, unknown> {
  return {
    id: event.id,
    time: new Date(event.time).toISOString(),
    source: event.sourceName,
    account_id: event.accountId,
    dataset: event.dataset,
    class_uid: event.classUid,
    activity: event.activity,
    outcome: event.outcome,
    user: event.user,
    src_ip: event.srcIp,
    country: event.country,
    app: event.app,
    app_uid: event.appUid,
    idp: event.idp,
    ray_id: event.rayId,
    ocsf: event.ocsf,
    raw: event.raw,
  };
}

export function csvHeader(): string {
  return stringify([csvColumns()]);
}

/**
 * CSV rows of `events`, one line each. The cells are event data an attacker may choose, read in spreadsheets,
 * SIEM imports and terminals alike: controls, line breaks, bidi and invisible characters are written as
 * `\u001b`-style escapes, as the CLI's table and the web UI show them, and a cell a spreadsheet would run as a
 * formula is neutralised. NDJSON keeps every value exactly.
 */
export function eventsToCsvRows(events: readonly NormalizedEvent[]): string {
  return stringify(
    events.map((event) => {
      const record: Record<string, unknown> = { ...eventToRecord(event), message: event.ocsf['message'] };
      return CSV_COLUMNS.map((column) => neutraliseFormula(visibleText(cellText(record[column], ''))));
    }),
  );
}

// New columns go at the end, so a spreadsheet or script that reads columns by position keeps working. An
// inventory change, SCIM or audit event says what happened only in its OCSF message.
const CSV_COLUMNS = ['id', ...EVENT_COLUMNS, 'account_id', 'dataset', 'app_uid', 'class_uid', 'message'] as const;

function csvColumns(): readonly string[] {
  return CSV_COLUMNS;
}

/**
 * Spreadsheet apps execute cells starting with these characters; event fields are attacker-controlled. A leading
 * tab or carriage return, the other two OWASP names, is escaped before this looks.
 */
function neutraliseFormula(value: string): string {
  return /^[=+\-@]/.test(value) ? `'${value}` : value;
}

/** Flat columns hold strings and numbers; anything else would print as [object Object]. */
export function cellText(value: unknown, empty: string): string {
  if (value === null || value === undefined) return empty;
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
}
