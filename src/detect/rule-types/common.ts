import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import type { AlertEntity, EvidenceRef } from '../../store/detection-store.js';
import { countryOf } from '../geolocation.js';
import { networkOf } from '../ip-range.js';
import { fieldGetter, FLAT_FIELDS, isFlatField, RuleProblem, valueText } from '../match.js';

/** Events that arrive later than this behind the newest one of their key are judged without older state. */
export const LATENESS_MS = 6 * 3_600_000;
/** Entries one key keeps at most; the oldest go first. */
export const MAX_TRACKED = 500;
/** Evidence events one firing names at most; the newest are kept. */
export const MAX_EVIDENCE = 200;

/** A grouping field: any condition field, or `src_net` (the /24 or /48 of src_ip). */
export const groupBySchema = z.array(z.string().min(1)).superRefine((fields, ctx) => {
  for (const [i, field] of fields.entries()) {
    if (field === 'src_net') continue;
    try {
      fieldGetter(field, `group_by[${i}]`);
    } catch (error) {
      if (!(error instanceof RuleProblem)) throw error;
      // fieldGetter names what a match block takes; a grouping takes src_net besides.
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `unknown field "${field}"; use src_net (the /24 or /48 of src_ip), one of ${Object.keys(FLAT_FIELDS).join(', ')}, or a path under ocsf. or raw.`,
      });
    }
  }
});

export type Grouping = (event: NormalizedEvent) => { key: string; values: Readonly<Record<string, string>> } | null;

/**
 * The group of a one-field `group_by`. Rules group every event they see and use the values only for the few that
 * fire: an object literal with a computed key, built for each event, took about 3% of the detection thread.
 */
class SingleFieldGroup {
  readonly #field: string;
  readonly key: string;

  constructor(field: string, key: string) {
    this.#field = field;
    this.key = key;
  }

  get values(): Readonly<Record<string, string>> {
    return { [this.#field]: this.key };
  }
}

/** The key of an event under `group_by`, or null when one of the fields is empty (the event is not grouped). */
export function grouping(fields: readonly string[]): Grouping {
  // Every rule groups each event it sees, twice (for its state keys, then to judge it): flat fields are read
  // straight from the event rather than through a one-element array.
  const getters = fields.map((field): ((event: NormalizedEvent) => string | null) => {
    if (field === 'src_net') return (event) => (event.srcIp === null ? null : networkOf(event.srcIp));
    if (isFlatField(field)) {
      const read = FLAT_FIELDS[field];
      return (event) => valueText(read(event))?.toLowerCase() ?? null;
    }
    const get = fieldGetter(field, 'group_by');
    return (event) => valueText(get(event)[0])?.toLowerCase() ?? null;
  });
  if (getters.length === 0) return () => ({ key: '*', values: {} });
  const [onlyField, onlyGetter] = [fields[0], getters[0]];
  if (fields.length === 1 && onlyField !== undefined && onlyGetter !== undefined) {
    return (event) => {
      const value = onlyGetter(event);
      if (value === null || value === '') return null;
      return new SingleFieldGroup(onlyField, value);
    };
  }
  return (event) => {
    const values: Record<string, string> = {};
    let key = '';
    for (let i = 0; i < getters.length; i += 1) {
      const value = getters[i]?.(event) ?? null;
      if (value === null || value === '') return null;
      values[fields[i] ?? ''] = value;
      key = i === 0 ? value : `${key}\u001f${value}`;
    }
    return { key, values };
  };
}

/** Who an alert is about, from the event and the grouping values. */
export function entityOf(event: NormalizedEvent, values: Readonly<Record<string, string>> = {}): AlertEntity {
  return {
    // A change event names its user only inside the entity; a grouping value holding an e-mail is that user.
    user: event.user ?? values['user'] ?? Object.values(values).find((value) => value.includes('@')) ?? null,
    ip: values['src_net'] ?? event.srcIp,
    app: event.app ?? event.appUid,
  };
}

/** Values every summary may use. */
export function eventVars(event: NormalizedEvent): Record<string, string | null> {
  const message = (event.ocsf as { message?: unknown }).message;
  return {
    user: event.user,
    src_ip: event.srcIp,
    country: countryOf(event),
    app: event.app ?? event.appUid,
    idp: event.idp,
    dataset: event.dataset,
    activity: event.activity,
    message: typeof message === 'string' ? message : null,
  };
}

export const COMMON_VARIABLES = ['user', 'src_ip', 'country', 'app', 'idp', 'dataset', 'activity', 'message'] as const;

export function isFlat(field: string): boolean {
  return isFlatField(field);
}

/** One event remembered by a windowed rule: time, id and an optional value (the distinct-counted field). */
export type Entry = readonly [time: number, id: string, value: string | null];

/**
 * Inserts in (time, id) order; false when the id is already there, so a repeated event changes nothing. An event
 * has one time, so only entries of the same time are compared by id; most events come last and cost one step.
 */
export function insertEntry<T extends readonly [time: number, id: string, ...rest: unknown[]]>(
  entries: T[],
  entry: T,
): boolean {
  let at = entries.length;
  while (at > 0) {
    const previous = entries[at - 1];
    if (previous === undefined) break;
    if (previous[0] < entry[0] || (previous[0] === entry[0] && previous[1] < entry[1])) break;
    at -= 1;
  }
  for (let i = at; i < entries.length && entries[i]?.[0] === entry[0]; i += 1)
    if (entries[i]?.[1] === entry[1]) return false;
  for (let i = at - 1; i >= 0 && entries[i]?.[0] === entry[0]; i -= 1) if (entries[i]?.[1] === entry[1]) return false;
  entries.splice(at, 0, entry);
  return true;
}

/** Removes, in place, the entries of a time-ordered list older than `horizon`, then the oldest beyond `max`. */
export function dropOlderThan(entries: (readonly [number, ...unknown[]])[], horizon: number, max: number): void {
  let drop = 0;
  while (drop < entries.length && (entries[drop]?.[0] ?? horizon) < horizon) drop += 1;
  drop = Math.max(drop, entries.length - max);
  if (drop > 0) entries.splice(0, drop);
}

/** Drops, in place, entries older than `keepMs` behind the newest, and the oldest beyond MAX_TRACKED. */
export function pruneEntries(entries: Entry[], keepMs: number): Entry[] {
  const newest = entries[entries.length - 1]?.[0];
  if (newest !== undefined) dropOlderThan(entries, newest - keepMs, MAX_TRACKED);
  return entries;
}

export function evidenceOf(entries: readonly Entry[]): EvidenceRef[] {
  const newest = entries.length > MAX_EVIDENCE ? entries.slice(entries.length - MAX_EVIDENCE) : entries;
  return newest.map(([eventTime, eventId]) => ({ eventId, eventTime }));
}

export function entriesOf(value: unknown): Entry[] {
  return Array.isArray(value) ? (value as Entry[]).slice() : [];
}
