import { visibleText } from '../core/visible-text.js';

/** What the UI shows where a value is missing, in every table, panel and list. */
export const MISSING = '—';

/**
 * An event-derived or user-supplied value as the UI shows it: as it is, except that characters that would hide
 * or disguise text are shown as `\u202e`-style escapes. Every value from an event, a user or a URL goes through it.
 */
export function displayText(value: string): string {
  return visibleText(value);
}

/** A note the team wrote (an alert comment or closing note): as displayText, but its line breaks stay. */
export function displayNote(value: string): string {
  return visibleText(value, { keepLineBreaks: true });
}

/**
 * `value` as indented JSON for a reader, with the same escapes as displayText. JSON.stringify escapes C0 controls
 * and lone surrogates inside strings already, so the only line breaks left are the indentation's; the escapes
 * added are valid JSON, so the text still parses to the same value.
 */
export function displayJson(value: unknown): string {
  return visibleText(JSON.stringify(value, null, 2) ?? 'null', { keepLineBreaks: true });
}

// new Date() holds ±8.64e15 ms; a time beyond it (a far relative time in a link) has no calendar form.
const MAX_TIME_MS = 8.64e15;

/**
 * The one way the UI writes a time: `2026-11-25 08:00:05 UTC`, in one fixed zone for everyone so that times in
 * a shared link read the same. `zone: false` leaves out " UTC" where the zone is said once for many times (a
 * "Time (UTC)" column). Text that is not a time is shown as it is; a time no calendar holds never throws.
 */
export function formatTime(time: string | number, options: { readonly zone?: boolean } = {}): string {
  const ms = typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(ms)) return typeof time === 'string' ? displayText(time) : MISSING;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS) return 'out of range';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${options.zone === false ? '' : ' UTC'}`;
}

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`: how far a dataset is behind now. */
export function formatDuration(totalSecs: number): string {
  const secs = Math.max(0, Math.round(totalSecs));
  if (secs < 60) return `${secs} s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins} min`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return mins % 60 === 0 ? `${hours} h` : `${hours} h ${mins % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** `3 min ago` from an ISO time, against the browser's clock. */
export function formatAgo(iso: string, nowMs: number): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return displayText(iso);
  const secs = (nowMs - ms) / 1000;
  return secs < 5 ? 'just now' : `${formatDuration(secs)} ago`;
}

/** Dataset state words of the collector, as a person would say them. */
export function describeState(state: string): string {
  const words: Readonly<Record<string, string>> = {
    ok: 'Healthy',
    retrying: 'Retrying',
    failed: 'Failed',
    backfilling: 'Backfilling',
    not_collected: 'Not collected yet',
  };
  return words[state] ?? displayText(state.replace(/_/g, ' '));
}
