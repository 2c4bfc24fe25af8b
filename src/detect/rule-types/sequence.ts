import { z } from 'zod';
import { SEVERITIES } from '../../store/detection-store.js';
import { durationSchema, formatDuration } from '../duration.js';
import { countryOf } from '../geolocation.js';
import { compileMatch } from '../match.js';
import { registerRuleType, type RawFiring } from '../rule.js';
import {
  dropOlderThan,
  entityOf,
  eventVars,
  evidenceOf,
  groupBySchema,
  grouping,
  insertEntry,
  LATENESS_MS,
  MAX_TRACKED,
  type Entry,
} from './common.js';

const paramsSchema = z
  .object({
    group_by: groupBySchema,
    /** The events that must come first, at least `count` of them. */
    first: z.record(z.string(), z.unknown()),
    count: z.number().int().min(1),
    /** The event that completes the sequence. */
    then: z.record(z.string(), z.unknown()),
    window: durationSchema,
    /** Severity when the completing event comes from an address or country the key had not completed from before. */
    escalate_to: z.enum(SEVERITIES).optional(),
  })
  .strict();

interface SequenceState {
  /** First-step events. */
  f: Entry[];
  /** Completing events: time, id, and whether they came from a new address or country ("ip", "country" or null). */
  t: Entry[];
  /** Addresses and countries completing events came from before. */
  ips: string[];
  countries: string[];
}

const MAX_KNOWN = 50;

// The key's state as this batch holds it; its lists are changed in place, not copied for each event.
function stateOf(value: unknown): SequenceState {
  const v = (value ?? {}) as Partial<SequenceState>;
  return { f: v.f ?? [], t: v.t ?? [], ips: v.ips ?? [], countries: v.countries ?? [] };
}

function insert(entries: Entry[], entry: Entry): boolean {
  if (!insertEntry(entries, entry)) return false;
  if (entries.length > MAX_TRACKED) entries.splice(0, entries.length - MAX_TRACKED);
  return true;
}

// Remembers a value among the last MAX_KNOWN; true when it was new.
function remember(values: string[], value: string): boolean {
  if (values.includes(value)) return false;
  values.push(value);
  if (values.length > MAX_KNOWN) values.splice(0, values.length - MAX_KNOWN);
  return true;
}

/**
 * At least `count` events matching `first`, then one matching `then`, for one key within `window` of event time,
 * whatever order they arrive in: a completing event is judged when it arrives, and again when a first-step event
 * that precedes it arrives later (until the state passes the lateness horizon).
 */
export const sequenceRule = registerRuleType({
  params: paramsSchema,
  variables: ['count', 'duration', 'new_from'],
  create(params) {
    const keyOf = grouping(params.group_by);
    const isFirst = compileMatch(params.first, 'params.first');
    const isThen = compileMatch(params.then, 'params.then');
    return {
      stateKeys: (event) => {
        const group = keyOf(event);
        return group === null ? [] : [group.key];
      },
      evaluate(event, store) {
        const group = keyOf(event);
        if (group === null) return [];
        const state = stateOf(store.get(group.key));
        let changed = false;
        let candidates: Entry[] = [];
        if (isFirst(event)) {
          changed = insert(state.f, [event.time, event.id, null]) || changed;
          candidates = state.t.filter((t) => t[0] > event.time && t[0] <= event.time + params.window);
        } else if (isThen(event)) {
          const ip = event.srcIp;
          const country = countryOf(event);
          const newFrom =
            ip !== null && state.ips.length > 0 && !state.ips.includes(ip)
              ? 'ip'
              : country !== null && state.countries.length > 0 && !state.countries.includes(country)
                ? 'country'
                : null;
          const entry: Entry = [event.time, event.id, newFrom];
          if (ip !== null && remember(state.ips, ip)) changed = true;
          if (country !== null && remember(state.countries, country)) changed = true;
          // Every completing event is kept for the window and the lateness horizon, even when no first-step event
          // precedes it yet: a denial that arrives later (a lookback or a backfill) can still come before it in
          // event time, and is paired with it then.
          if (insert(state.t, entry)) {
            changed = true;
            candidates = [entry];
          }
        }
        if (!changed) return [];
        const newest = Math.max(state.f[state.f.length - 1]?.[0] ?? 0, state.t[state.t.length - 1]?.[0] ?? 0);
        const horizon = newest - params.window - LATENESS_MS;
        dropOlderThan(state.f, horizon, MAX_TRACKED);
        dropOlderThan(state.t, horizon, MAX_TRACKED);
        store.set(group.key, state);
        const firings: RawFiring[] = [];
        for (const then of candidates) {
          const before = state.f.filter((e) => e[0] <= then[0] && e[0] >= then[0] - params.window);
          if (before.length < params.count) continue;
          const firstTime = before[0]?.[0] ?? then[0];
          firings.push({
            entityKey: group.key,
            entity: entityOf(event, group.values),
            evidence: evidenceOf([...before, then]),
            vars: {
              ...eventVars(event),
              count: before.length,
              duration: formatDuration(then[0] - firstTime),
              new_from: then[2] === 'ip' ? ' from a new address' : then[2] === 'country' ? ' from a new country' : '',
            },
            ...(then[2] !== null && params.escalate_to !== undefined ? { severity: params.escalate_to } : {}),
            details: { denied: before.length, new_from: then[2] },
          });
        }
        return firings;
      },
    };
  },
});
